//! [`UserActor`]: the simulated user of one shared search, critiques (Eq. 3) and item scores
//! (Eq. 2). The policy (prompts, validation, score reading, retries) is the library's
//! [`SimulatedUser`]; the actor gives it the search's model actors to ask (the scoring model and
//! the critiquing model, which may differ) and runs each request in its own task.

use std::sync::Arc;

use grsu::user::{CritiqueJob, CritiqueOutcome, ScoreJob, ScoreOutcome, SimulatedUser};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use super::model_actor::ModelHandle;

/// Messages of the [`UserActor`].
pub enum UserMessage {
    /// Write `job.count` critiques of a node's list.
    Critique {
        job: CritiqueJob,
        reply: RpcReplyPort<CritiqueOutcome>,
    },
    /// Score every item of a node's list.
    Score {
        job: ScoreJob,
        reply: RpcReplyPort<ScoreOutcome>,
    },
}

/// What a [`UserActor`] is started with.
pub struct UserArguments {
    pub user: SimulatedUser,
    /// The scoring model (`[models.user]`).
    pub model: ModelHandle,
    /// The critiquing model (`[models.critique]`, the scoring model unless set).
    pub critique_model: ModelHandle,
}

/// The shared policy and models of every task.
pub struct UserState {
    user: Arc<SimulatedUser>,
    model: Arc<ModelHandle>,
    critique_model: Arc<ModelHandle>,
}

/// The simulated user.
pub struct UserActor;

impl Actor for UserActor {
    type Msg = UserMessage;
    type State = UserState;
    type Arguments = UserArguments;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        arguments: UserArguments,
    ) -> Result<UserState, ActorProcessingErr> {
        Ok(UserState {
            user: Arc::new(arguments.user),
            model: Arc::new(arguments.model),
            critique_model: Arc::new(arguments.critique_model),
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: UserMessage,
        state: &mut UserState,
    ) -> Result<(), ActorProcessingErr> {
        let user = state.user.clone();
        match message {
            UserMessage::Critique { job, reply } => {
                let model = state.critique_model.clone();
                tokio::spawn(async move {
                    let _ = reply.send(user.critique(model.as_ref(), job).await);
                });
            }
            UserMessage::Score { job, reply } => {
                let model = state.model.clone();
                tokio::spawn(async move {
                    let _ = reply.send(user.score(model.as_ref(), job).await);
                });
            }
        }
        Ok(())
    }
}
