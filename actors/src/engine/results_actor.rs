//! [`ResultsActor`]: the only writer of sample records (and of failures). A record is written and flushed before
//! the write is acknowledged, so a sample counted as finished survives `kill -9`.

use grsu::store::{FailureRecord, SampleRecord, Store};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

/// Messages of the [`ResultsActor`].
pub enum ResultsMessage {
    /// Store a finished sample's record; answered once it is on disk.
    Write {
        record: Box<SampleRecord>,
        reply: RpcReplyPort<Result<(), String>>,
    },
    /// Remember a failed sample (for `grsu status`); best effort.
    Failure(FailureRecord),
}

/// The store being written.
pub struct ResultsState {
    store: Store,
}

/// The single writer of records.
pub struct ResultsActor;

impl Actor for ResultsActor {
    type Msg = ResultsMessage;
    type State = ResultsState;
    type Arguments = Store;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        store: Store,
    ) -> Result<ResultsState, ActorProcessingErr> {
        Ok(ResultsState { store })
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: ResultsMessage,
        state: &mut ResultsState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            ResultsMessage::Write { record, reply } => {
                // A local write and flush, not a model call: serialising writers is the point of
                // this actor.
                let written = state
                    .store
                    .put_record(&record)
                    .await
                    .map_err(|error| error.to_string());
                let _ = reply.send(written);
            }
            ResultsMessage::Failure(failure) => {
                if let Err(error) = state.store.put_failure(&failure) {
                    tracing::warn!(error = %error, "cannot record a failed sample");
                }
            }
        }
        Ok(())
    }
}
