//! [`ConversationActor`]: owns one (search, seed, sample) from admission to its stored record. It starts
//! a [`BeamActor`] for the search, turns the finished tree into predictions and metrics for every
//! output strategy, has the results actor write the record (flushed), and tells the sweep.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use grsu::data::Sample;
use grsu::metrics::SampleMetrics;
use grsu::search::{rank, OutputStrategy, SearchStrategy};
use grsu::store::SampleRecord;
use ractor::{Actor, ActorProcessingErr, ActorRef, SupervisionEvent};

use super::beam_actor::{BeamActor, BeamArguments, BeamMessage, SearchOutcome};
use super::crs_actor::CrsMessage;
use super::results_actor::ResultsMessage;
use super::sweep_actor::{SweepMessage, UnitId};
use super::user_actor::UserMessage;

/// Messages of the [`ConversationActor`].
pub enum ConversationMessage {
    /// The search of this sample finished (or failed).
    SearchDone(Box<SearchOutcome>),
}

/// What a [`ConversationActor`] is started with.
pub struct ConversationArguments {
    pub unit: UnitId,
    /// The key of the shared search (stored in the record).
    pub search_key: String,
    /// The depth setting of the search (stored in the record).
    pub searched_depth: u32,
    pub sample: Arc<Sample>,
    pub strategy: Box<dyn SearchStrategy>,
    pub outputs: Vec<OutputStrategy>,
    pub crs: ActorRef<CrsMessage>,
    pub user: ActorRef<UserMessage>,
    pub results: ActorRef<ResultsMessage>,
    pub sweep: ActorRef<SweepMessage>,
}

/// One sample in flight.
pub struct ConversationState {
    unit: UnitId,
    search_key: String,
    searched_depth: u32,
    sample: Arc<Sample>,
    outputs: Vec<OutputStrategy>,
    results: ActorRef<ResultsMessage>,
    sweep: ActorRef<SweepMessage>,
    started: Instant,
}

/// The lifecycle of one sample.
pub struct ConversationActor;

impl Actor for ConversationActor {
    type Msg = ConversationMessage;
    type State = ConversationState;
    type Arguments = ConversationArguments;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        arguments: ConversationArguments,
    ) -> Result<ConversationState, ActorProcessingErr> {
        let beam_arguments = BeamArguments {
            strategy: arguments.strategy,
            sample: arguments.sample.clone(),
            run_seed: arguments.unit.seed,
            crs: arguments.crs,
            user: arguments.user,
            owner: myself.clone(),
        };
        let (beam, _) =
            Actor::spawn_linked(None, BeamActor, beam_arguments, myself.get_cell()).await?;
        beam.cast(BeamMessage::Start)?;
        Ok(ConversationState {
            unit: arguments.unit,
            search_key: arguments.search_key,
            searched_depth: arguments.searched_depth,
            sample: arguments.sample,
            outputs: arguments.outputs,
            results: arguments.results,
            sweep: arguments.sweep,
            started: Instant::now(),
        })
    }

    // The default stops this actor as soon as its beam stops, which can be before the beam's
    // `SearchDone` is handled (supervision events come first): a normal stop is expected, and a
    // crashed beam is a failed sample.
    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut ConversationState,
    ) -> Result<(), ActorProcessingErr> {
        if let SupervisionEvent::ActorFailed(_, error) = event {
            state.sweep.cast(SweepMessage::SampleFailed {
                unit: state.unit.clone(),
                error: format!("search crashed: {error}"),
            })?;
            myself.stop(None);
        }
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: ConversationMessage,
        state: &mut ConversationState,
    ) -> Result<(), ActorProcessingErr> {
        let ConversationMessage::SearchDone(outcome) = message;
        let outcome = *outcome;
        if let Some(error) = outcome.failure {
            state.sweep.cast(SweepMessage::SampleFailed {
                unit: state.unit.clone(),
                error: error.to_string(),
            })?;
            myself.stop(None);
            return Ok(());
        }
        let mut predictions = BTreeMap::new();
        let mut metrics = BTreeMap::new();
        for strategy in &state.outputs {
            let ranking = rank(&outcome.tree, *strategy, None);
            metrics.insert(
                strategy.as_str().to_string(),
                SampleMetrics::of_ranking(&ranking, &state.sample.labels),
            );
            predictions.insert(strategy.as_str().to_string(), ranking);
        }
        let record = SampleRecord {
            search: state.search_key.clone(),
            seed: state.unit.seed,
            sample: state.sample.id.clone(),
            labels: state.sample.labels.clone(),
            tree: outcome.tree,
            searched_depth: state.searched_depth,
            predictions,
            metrics,
            calls: outcome.calls,
            unscored_items: outcome.unscored_items,
            requests: outcome.requests,
            wall_ms: state.started.elapsed().as_millis() as u64,
        };
        let written = state
            .results
            .call(
                |reply| ResultsMessage::Write {
                    record: Box::new(record),
                    reply,
                },
                None,
            )
            .await;
        let message = match written {
            Ok(ractor::rpc::CallResult::Success(Ok(()))) => SweepMessage::SampleFinished {
                unit: state.unit.clone(),
            },
            Ok(ractor::rpc::CallResult::Success(Err(error))) => SweepMessage::SampleFailed {
                unit: state.unit.clone(),
                error: format!("store: {error}"),
            },
            _ => SweepMessage::SampleFailed {
                unit: state.unit.clone(),
                error: "the results actor did not answer".into(),
            },
        };
        state.sweep.cast(message)?;
        myself.stop(None);
        Ok(())
    }
}
