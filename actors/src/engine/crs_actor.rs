//! [`CrsActor`]: the conversational recommender of one shared search. The policy (prompts, list
//! parsing, retries) is the library's [`Recommender`]; the actor gives it the search's model
//! actor to ask and runs each request in its own task, so a search's requests are in flight
//! together.

use std::sync::Arc;

use grsu::crs::{RecommendJob, RecommendOutcome, Recommender};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use super::model_actor::ModelHandle;

/// Messages of the [`CrsActor`].
pub enum CrsMessage {
    /// Ask for `job.lists` item lists (a recommendation, or a revision with feedback).
    Recommend {
        job: RecommendJob,
        reply: RpcReplyPort<RecommendOutcome>,
    },
}

/// What a [`CrsActor`] is started with.
pub struct CrsArguments {
    pub recommender: Recommender,
    /// The CRS model of the search.
    pub model: ModelHandle,
}

/// The shared policy and model of every recommendation task.
pub struct CrsState {
    recommender: Arc<Recommender>,
    model: Arc<ModelHandle>,
}

/// The conversational recommender.
pub struct CrsActor;

impl Actor for CrsActor {
    type Msg = CrsMessage;
    type State = CrsState;
    type Arguments = CrsArguments;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        arguments: CrsArguments,
    ) -> Result<CrsState, ActorProcessingErr> {
        Ok(CrsState {
            recommender: Arc::new(arguments.recommender),
            model: Arc::new(arguments.model),
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: CrsMessage,
        state: &mut CrsState,
    ) -> Result<(), ActorProcessingErr> {
        let CrsMessage::Recommend { job, reply } = message;
        let (recommender, model) = (state.recommender.clone(), state.model.clone());
        tokio::spawn(async move {
            let _ = reply.send(recommender.recommend(model.as_ref(), job).await);
        });
        Ok(())
    }
}
