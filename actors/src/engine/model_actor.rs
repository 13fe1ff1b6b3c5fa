//! [`ModelActor`]: one model role (the CRS, or the simulated user) behind the library's
//! [`CachedBackend`], the one front of the response cache.
//!
//! What it adds to the cached backend is what needs one place per role in a run: identical
//! requests in flight at the same time (the same item scored at two nodes of a sample, the same
//! request of two cells) are sent once, and later askers receive the first answer as a cache
//! hit; and the run's progress counters. It never awaits a model call inside `handle`: each
//! request runs in its own task that answers on the reply port, so hundreds of requests are in
//! flight at once; concurrency per endpoint is bounded by the endpoint pool, not by the mailbox.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use grsu::model::ask::Ask;
use grsu::model::cached::{CachedAnswer, CachedBackend};
use grsu::model::context::RequestContext;
use grsu::model::role::Role;
use grsu::model::{ChatRequest, ChatResponse, ModelError};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use super::progress::Progress;

/// An answer and where it came from.
pub type ModelAnswer = CachedAnswer<ChatResponse>;

/// Messages of the [`ModelActor`].
pub enum ModelMessage {
    /// Answer one request, from the cache when it holds it.
    Chat {
        request: ChatRequest,
        /// The role, the sample's affinity key (its requests share a prompt prefix, so they go
        /// to the same replica) and the unit paying for the answer.
        context: RequestContext,
        reply: RpcReplyPort<Result<ModelAnswer, ModelError>>,
    },
    /// A request sent by this actor was answered (internal).
    Answered {
        key: [u8; 32],
        answer: Result<ModelAnswer, ModelError>,
    },
}

/// What a [`ModelActor`] is started with.
pub struct ModelArguments {
    /// The side counted in the progress (`crs` or `user`).
    pub side: Role,
    pub backend: CachedBackend,
    pub progress: Arc<Progress>,
}

/// The state of a [`ModelActor`].
pub struct ModelState {
    side: Role,
    backend: CachedBackend,
    progress: Arc<Progress>,
    /// Requests in flight, by cache key, with everyone waiting for their answer.
    in_flight: HashMap<[u8; 32], Vec<RpcReplyPort<Result<ModelAnswer, ModelError>>>>,
}

/// One model role.
pub struct ModelActor;

impl Actor for ModelActor {
    type Msg = ModelMessage;
    type State = ModelState;
    type Arguments = ModelArguments;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        arguments: ModelArguments,
    ) -> Result<ModelState, ActorProcessingErr> {
        Ok(ModelState {
            side: arguments.side,
            backend: arguments.backend,
            progress: arguments.progress,
            in_flight: HashMap::new(),
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: ModelMessage,
        state: &mut ModelState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            ModelMessage::Chat {
                request,
                context,
                reply,
            } => {
                let key = state.backend.key(&request);
                if let Some(waiting) = state.in_flight.get_mut(&key) {
                    waiting.push(reply);
                    return Ok(());
                }
                state.in_flight.insert(key, vec![reply]);
                let (side, backend, progress) =
                    (state.side, state.backend.clone(), state.progress.clone());
                progress.calls_in_flight.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move {
                    let answer = backend.chat(&request, &context).await;
                    progress.calls_in_flight.fetch_sub(1, Ordering::Relaxed);
                    match &answer {
                        Ok(answer) => {
                            progress.record_call(side.as_str(), answer.cached, &answer.response)
                        }
                        Err(_) => progress.record_error(side.as_str()),
                    }
                    let _ = myself.cast(ModelMessage::Answered { key, answer });
                });
            }
            ModelMessage::Answered { key, answer } => {
                for (index, reply) in state
                    .in_flight
                    .remove(&key)
                    .unwrap_or_default()
                    .into_iter()
                    .enumerate()
                {
                    let shared = match (&answer, index) {
                        (Ok(first), 1..) => {
                            state
                                .progress
                                .record_call(state.side.as_str(), true, &first.response);
                            Ok(ModelAnswer {
                                response: first.response.clone(),
                                cached: true,
                                own: false,
                                key,
                            })
                        }
                        _ => answer.clone(),
                    };
                    // An asker may have gone (a sample abandoned at shutdown): nothing to do then.
                    let _ = reply.send(shared);
                }
            }
        }
        Ok(())
    }
}

/// A model actor as the library's policies see it: something to [`Ask`].
pub struct ModelHandle(pub ActorRef<ModelMessage>);

#[async_trait::async_trait]
impl Ask for ModelHandle {
    async fn ask(
        &self,
        request: ChatRequest,
        context: RequestContext,
    ) -> Result<ModelAnswer, ModelError> {
        ask(&self.0, request, context).await
    }
}

/// Asks a model actor and waits for the answer.
pub async fn ask(
    model: &ActorRef<ModelMessage>,
    request: ChatRequest,
    context: RequestContext,
) -> Result<ModelAnswer, ModelError> {
    match model
        .call(
            |reply| ModelMessage::Chat {
                request,
                context,
                reply,
            },
            None,
        )
        .await
    {
        Ok(ractor::rpc::CallResult::Success(answer)) => answer,
        Ok(_) => Err(ModelError::Connection {
            endpoint: "model actor".into(),
            message: "no answer".into(),
        }),
        Err(error) => Err(ModelError::Connection {
            endpoint: "model actor".into(),
            message: error.to_string(),
        }),
    }
}
