//! [`SweepActor`]: one per `grsu run`. It admits units of work (a sample of one shared search
//! under one seed, every cell of the sweep in one queue) up to `max_in_flight` at a time, one
//! [`SampleActor`] each (linked, so a crashed conversation is reported to it, not fatal to
//! the run), records failures, and reports the summary when the queue is empty and nothing is in
//! flight.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use grsu::config::RunConfig;
use grsu::data::Sample;
use grsu::store::FailureRecord;
use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef, SupervisionEvent};
use tokio::sync::oneshot;

use super::crs_actor::CrsMessage;
use super::progress::Progress;
use super::results_actor::ResultsMessage;
use super::sample_actor::{SampleActor, SampleArguments};
use super::user_actor::UserMessage;

/// What the sweep reports when it is done.
#[derive(Debug, Default)]
pub struct SweepSummary {
    pub finished: u64,
    /// Units that failed, with their errors.
    pub failed: Vec<(UnitId, String)>,
}

/// Names one unit of work: a sample of a shared search under a seed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnitId {
    /// Index of the search in [`SweepArguments::searches`].
    pub search: usize,
    pub seed: u64,
    pub sample: String,
}

/// A shared search and the actors that serve its requests.
pub struct SearchRuntime {
    pub key: String,
    pub config: Arc<RunConfig>,
    pub crs: ActorRef<CrsMessage>,
    pub user: ActorRef<UserMessage>,
}

/// Messages of the [`SweepActor`].
pub enum SweepMessage {
    /// Start conversations while there is room.
    Admit,
    /// Admit nothing more (SIGTERM or Ctrl-C): the units not yet started are dropped, those in
    /// flight go on; the summary is sent when the last of them is done.
    Drain,
    /// A unit's record is stored.
    SampleFinished { unit: UnitId },
    /// A unit could not be finished (it is retried by the next run).
    SampleFailed { unit: UnitId, error: String },
}

/// What a [`SweepActor`] is started with.
pub struct SweepArguments {
    pub max_in_flight: usize,
    pub searches: Vec<SearchRuntime>,
    /// (search index, seed, sample), in admission order.
    pub queue: VecDeque<(usize, u64, Arc<Sample>)>,
    pub results: ActorRef<ResultsMessage>,
    pub progress: Arc<Progress>,
    pub done: oneshot::Sender<SweepSummary>,
}

/// The admission state.
pub struct SweepState {
    arguments: SweepArguments,
    done: Option<oneshot::Sender<SweepSummary>>,
    in_flight: InFlight,
    summary: SweepSummary,
}

/// The samples running, by their actor (to name a crashed one) and by their unit (to forget a
/// finished one in constant time: a sweep holds `max_in_flight` of them, a thousand or more,
/// and finishes hundreds a second).
#[derive(Default)]
struct InFlight {
    by_actor: HashMap<ActorId, UnitId>,
    by_unit: HashMap<UnitId, ActorId>,
}

impl InFlight {
    fn start(&mut self, actor: ActorId, unit: UnitId) {
        self.by_unit.insert(unit.clone(), actor);
        self.by_actor.insert(actor, unit);
    }

    fn finish(&mut self, unit: &UnitId) {
        if let Some(actor) = self.by_unit.remove(unit) {
            self.by_actor.remove(&actor);
        }
    }

    fn unit_of(&self, actor: &ActorId) -> Option<&UnitId> {
        self.by_actor.get(actor)
    }

    fn len(&self) -> usize {
        self.by_actor.len()
    }

    fn is_empty(&self) -> bool {
        self.by_actor.is_empty()
    }
}

/// The run's supervisor.
pub struct SweepActor;

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
            in_flight: InFlight::default(),
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
            SweepMessage::Drain => state.arguments.queue.clear(),
            SweepMessage::SampleFinished { unit } => {
                state.in_flight.finish(&unit);
                state.summary.finished += 1;
                state
                    .arguments
                    .progress
                    .done
                    .fetch_add(1, Ordering::Relaxed);
            }
            SweepMessage::SampleFailed { unit, error } => {
                state.in_flight.finish(&unit);
                let search = &state.arguments.searches[unit.search];
                tracing::warn!(search = %search.key, seed = unit.seed, sample = %unit.sample, error = %error, "sample failed; a later run retries it");
                let failure = FailureRecord {
                    search: search.key.clone(),
                    seed: unit.seed,
                    sample: unit.sample.clone(),
                    error: error.clone(),
                };
                let _ = state
                    .arguments
                    .results
                    .cast(ResultsMessage::Failure(failure));
                state
                    .arguments
                    .progress
                    .failed
                    .fetch_add(1, Ordering::Relaxed);
                state.summary.failed.push((unit, error));
            }
        }
        self.admit(&myself, state).await?;
        state
            .arguments
            .progress
            .samples_in_flight
            .store(state.in_flight.len() as u64, Ordering::Relaxed);
        if state.in_flight.is_empty() && state.arguments.queue.is_empty() {
            if let Some(done) = state.done.take() {
                let _ = done.send(std::mem::take(&mut state.summary));
            }
            myself.stop(None);
        }
        Ok(())
    }

    // The default stops the supervisor when a child stops; a sample that crashed is one
    // failed sample, not a failed run.
    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut SweepState,
    ) -> Result<(), ActorProcessingErr> {
        if let SupervisionEvent::ActorFailed(child, error) = event {
            if let Some(unit) = state.in_flight.unit_of(&child.get_id()).cloned() {
                myself.cast(SweepMessage::SampleFailed {
                    unit,
                    error: format!("sample crashed: {error}"),
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
        while state.in_flight.len() < state.arguments.max_in_flight {
            let Some((search_index, seed, sample)) = state.arguments.queue.pop_front() else {
                break;
            };
            let search = &state.arguments.searches[search_index];
            let unit = UnitId {
                search: search_index,
                seed,
                sample: sample.id.clone(),
            };
            let strategy = search.config.search_strategy(seed)?;
            let arguments = SampleArguments {
                unit: unit.clone(),
                search_key: search.key.clone(),
                searched_depth: search.config.search.depth,
                sample,
                strategy,
                outputs: search.config.output.strategies.clone(),
                crs: search.crs.clone(),
                user: search.user.clone(),
                results: state.arguments.results.clone(),
                sweep: myself.clone(),
            };
            let (sample, _) =
                Actor::spawn_linked(None, SampleActor, arguments, myself.get_cell()).await?;
            state.in_flight.start(sample.get_id(), unit);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(sample: &str) -> UnitId {
        UnitId {
            search: 0,
            seed: 7,
            sample: sample.into(),
        }
    }

    #[test]
    fn a_finished_unit_is_forgotten_under_both_keys_and_the_others_stay() {
        let mut in_flight = InFlight::default();
        for (number, sample) in ["a", "b", "c"].into_iter().enumerate() {
            in_flight.start(ActorId::Local(number as u64), unit(sample));
        }
        in_flight.finish(&unit("b"));
        assert_eq!(in_flight.len(), 2);
        assert_eq!(in_flight.unit_of(&ActorId::Local(1)), None);
        assert_eq!(in_flight.unit_of(&ActorId::Local(2)), Some(&unit("c")));
        // A unit reported twice (finished, then failed by its supervisor) is forgotten once.
        in_flight.finish(&unit("b"));
        in_flight.finish(&unit("a"));
        assert_eq!(in_flight.len(), 1);
        in_flight.finish(&unit("c"));
        assert!(in_flight.is_empty());
        assert!(in_flight.by_unit.is_empty());
    }
}
