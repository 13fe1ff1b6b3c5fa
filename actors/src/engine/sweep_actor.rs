//! [`SweepActor`]: one per `grsu run`. It admits (seed, sample) pairs up to `max_in_flight` at a
//! time, one [`ConversationActor`] each (linked, so a crashed conversation is reported to it, not
//! fatal to the run), and reports the summary when the queue is empty and nothing is in flight.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use grsu::config::{RunConfig, StrategyName};
use grsu::data::Sample;
use grsu::search::{BeamSearch, MonteCarlo, NoSearch, SearchStrategy};
use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef, SupervisionEvent};
use tokio::sync::oneshot;

use super::conversation_actor::{ConversationActor, ConversationArguments};
use super::crs_actor::CrsMessage;
use super::progress::Progress;
use super::results_actor::ResultsMessage;
use super::user_actor::UserMessage;

/// What the sweep reports when it is done.
#[derive(Debug, Default)]
pub struct SweepSummary {
    pub finished: u64,
    pub failed: Vec<(u64, String, String)>,
}

/// Messages of the [`SweepActor`].
pub enum SweepMessage {
    /// Start conversations while there is room.
    Admit,
    /// A sample's record is stored.
    SampleFinished { seed: u64, sample: String },
    /// A sample could not be finished (it is retried by the next run).
    SampleFailed {
        seed: u64,
        sample: String,
        error: String,
    },
}

/// What a [`SweepActor`] is started with.
pub struct SweepArguments {
    pub config: Arc<RunConfig>,
    pub queue: VecDeque<(u64, Arc<Sample>)>,
    pub crs: ActorRef<CrsMessage>,
    pub user: ActorRef<UserMessage>,
    pub results: ActorRef<ResultsMessage>,
    pub progress: Arc<Progress>,
    pub done: oneshot::Sender<SweepSummary>,
}

/// The admission state.
pub struct SweepState {
    arguments: SweepArguments,
    done: Option<oneshot::Sender<SweepSummary>>,
    in_flight: HashMap<ActorId, (u64, String)>,
    summary: SweepSummary,
}

/// The run's supervisor.
pub struct SweepActor;

/// The strategy state machine of one sample under the config.
pub fn strategy_for(config: &RunConfig, seed: u64) -> Box<dyn SearchStrategy> {
    let scoring = config.user.scoring;
    match config.search.strategy {
        StrategyName::Beam | StrategyName::Greedy => {
            Box::new(BeamSearch::new(config.search_settings(seed)).expect("validated settings"))
        }
        StrategyName::MonteCarlo => {
            Box::new(MonteCarlo::new(config.search.samples, scoring).expect("validated settings"))
        }
        StrategyName::None => Box::new(NoSearch::new(scoring)),
    }
}

impl Actor for SweepActor {
    type Msg = SweepMessage;
    type State = SweepState;
    type Arguments = SweepArguments;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        mut arguments: SweepArguments,
    ) -> Result<SweepState, ActorProcessingErr> {
        let (placeholder, _) = oneshot::channel();
        let done = std::mem::replace(&mut arguments.done, placeholder);
        myself.cast(SweepMessage::Admit)?;
        Ok(SweepState {
            arguments,
            done: Some(done),
            in_flight: HashMap::new(),
            summary: SweepSummary::default(),
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: SweepMessage,
        state: &mut SweepState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            SweepMessage::Admit => {}
            SweepMessage::SampleFinished { seed, sample } => {
                state
                    .in_flight
                    .retain(|_, running| running != &(seed, sample.clone()));
                state.summary.finished += 1;
                state
                    .arguments
                    .progress
                    .done
                    .fetch_add(1, Ordering::Relaxed);
            }
            SweepMessage::SampleFailed {
                seed,
                sample,
                error,
            } => {
                state
                    .in_flight
                    .retain(|_, running| running != &(seed, sample.clone()));
                tracing::warn!(seed, sample = %sample, error = %error, "sample failed; a later run retries it");
                state
                    .arguments
                    .progress
                    .failed
                    .fetch_add(1, Ordering::Relaxed);
                state.summary.failed.push((seed, sample, error));
            }
        }
        self.admit(&myself, state).await?;
        if state.in_flight.is_empty() && state.arguments.queue.is_empty() {
            if let Some(done) = state.done.take() {
                let _ = done.send(std::mem::take(&mut state.summary));
            }
            myself.stop(None);
        }
        Ok(())
    }

    // The default stops the supervisor when a child stops; a conversation that crashed is one
    // failed sample, not a failed run.
    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut SweepState,
    ) -> Result<(), ActorProcessingErr> {
        if let SupervisionEvent::ActorFailed(child, error) = event {
            if let Some((seed, sample)) = state.in_flight.get(&child.get_id()).cloned() {
                myself.cast(SweepMessage::SampleFailed {
                    seed,
                    sample,
                    error: format!("conversation crashed: {error}"),
                })?;
            }
        }
        Ok(())
    }
}

impl SweepActor {
    async fn admit(
        &self,
        myself: &ActorRef<SweepMessage>,
        state: &mut SweepState,
    ) -> Result<(), ActorProcessingErr> {
        while state.in_flight.len() < state.arguments.config.run.max_in_flight {
            let Some((seed, sample)) = state.arguments.queue.pop_front() else {
                break;
            };
            let arguments = ConversationArguments {
                sample: sample.clone(),
                seed,
                strategy: strategy_for(&state.arguments.config, seed),
                outputs: state.arguments.config.output.strategies.clone(),
                crs: state.arguments.crs.clone(),
                user: state.arguments.user.clone(),
                results: state.arguments.results.clone(),
                sweep: myself.clone(),
            };
            let (conversation, _) =
                Actor::spawn_linked(None, ConversationActor, arguments, myself.get_cell()).await?;
            state
                .in_flight
                .insert(conversation.get_id(), (seed, sample.id.clone()));
        }
        Ok(())
    }
}
