//! [`SampleActor`]: one (search, seed, sample) from admission to its stored record. It drives the
//! sample's search strategy (a pure state machine from the library): executes its commands
//! concurrently through the CRS and user actors, each in its own task, and feeds the results back
//! as events until the strategy is finished; then has the results actor write the record
//! (flushed) and tells the sweep.
//!
//! One actor per sample, so that nothing races between a search and the owner of its record: the
//! finished tree, its costs and its record live in one state.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use grsu::data::Sample;
use grsu::model::ModelError;
use grsu::search::{Command, Event, OutputStrategy, SearchStrategy};
use grsu::store::{ModelRequests, SampleRecord};
use ractor::{Actor, ActorProcessingErr, ActorRef};

use grsu::crs::RecommendOutcome;
use grsu::jobs::{job_of, Job};
use grsu::model::usage::{SampleUsage, Usage};
use grsu::user::{CritiqueOutcome, ScoreOutcome};

use super::crs_actor::CrsMessage;
use super::results_actor::ResultsMessage;
use super::sweep_actor::{SweepMessage, UnitId};
use super::user_actor::UserMessage;

/// Messages of the [`SampleActor`].
pub enum SampleMessage {
    /// Issue the strategy's first commands.
    Start,
    /// A command finished (sent by the task that ran it).
    Completed {
        event: Event,
        role: &'static str,
        usage: Box<Usage>,
        unscored: u64,
        error: Option<ModelError>,
    },
}

/// What a [`SampleActor`] is started with.
pub struct SampleArguments {
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

/// What a sample knows of its place in the run.
pub struct SampleContext {
    unit: UnitId,
    search_key: String,
    searched_depth: u32,
    sample: Arc<Sample>,
    outputs: Vec<OutputStrategy>,
    crs: ActorRef<CrsMessage>,
    user: ActorRef<UserMessage>,
    results: ActorRef<ResultsMessage>,
    sweep: ActorRef<SweepMessage>,
}

/// The cache keys behind one request of a sample's search, as bytes while the sample runs
/// (hex strings in its record: a thousand samples in flight hold hundreds of keys each).
#[derive(Debug)]
struct RequestKeys {
    role: &'static str,
    keys: Vec<[u8; 8]>,
}

impl RequestKeys {
    fn into_record(self) -> ModelRequests {
        ModelRequests {
            role: self.role.to_string(),
            keys: self.keys.iter().map(grsu::store::hex_prefix).collect(),
        }
    }
}

/// One sample in flight.
pub struct SampleState {
    arguments: SampleContext,
    /// Taken when the search finishes.
    strategy: Option<Box<dyn SearchStrategy>>,
    outstanding: usize,
    usage: SampleUsage,
    /// The cache keys behind each request of the search so far (the record's `requests`).
    requests: BTreeMap<String, RequestKeys>,
    unscored: u64,
    /// The first model error (an unreachable endpoint, a rejected request): the sample is not
    /// recorded, so a later run retries it.
    failure: Option<ModelError>,
    started: Instant,
}

/// The lifecycle of one sample.
pub struct SampleActor;

impl Actor for SampleActor {
    type Msg = SampleMessage;
    type State = SampleState;
    type Arguments = SampleArguments;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        arguments: SampleArguments,
    ) -> Result<SampleState, ActorProcessingErr> {
        myself.cast(SampleMessage::Start)?;
        let SampleArguments {
            unit,
            search_key,
            searched_depth,
            sample,
            strategy,
            outputs,
            crs,
            user,
            results,
            sweep,
        } = arguments;
        Ok(SampleState {
            arguments: SampleContext {
                unit,
                search_key,
                searched_depth,
                sample,
                outputs,
                crs,
                user,
                results,
                sweep,
            },
            strategy: Some(strategy),
            outstanding: 0,
            usage: SampleUsage::default(),
            requests: BTreeMap::new(),
            unscored: 0,
            failure: None,
            started: Instant::now(),
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: SampleMessage,
        state: &mut SampleState,
    ) -> Result<(), ActorProcessingErr> {
        let Some(strategy) = state.strategy.as_mut() else {
            return Ok(());
        };
        let commands = match message {
            SampleMessage::Start => strategy.start(),
            SampleMessage::Completed {
                event,
                role,
                usage,
                unscored,
                error,
            } => {
                state.outstanding -= 1;
                tracing::debug!(sample = %state.arguments.sample.id, request = %event.request(), outstanding = state.outstanding, "search event");
                state.requests.insert(
                    event.request().path(),
                    RequestKeys {
                        role,
                        keys: usage.key_prefixes(),
                    },
                );
                state.usage.add(role, *usage);
                state.unscored += unscored;
                if state.failure.is_none() {
                    state.failure = error;
                }
                strategy.on_event(event)
            }
        };
        // After a model error the sample will not be recorded: stop spending calls on it.
        if state.failure.is_none() {
            for command in commands {
                tracing::debug!(sample = %state.arguments.sample.id, request = %command.request(), "search command");
                state.outstanding += 1;
                execute(command, state, myself.clone());
            }
        }
        let finished = state.outstanding == 0
            && (state.failure.is_some()
                || state
                    .strategy
                    .as_ref()
                    .is_some_and(|strategy| strategy.is_finished()));
        if finished {
            let message = finish(state).await;
            state.arguments.sweep.cast(message)?;
            myself.stop(None);
        }
        Ok(())
    }
}

/// Stores the finished sample's record (or says why there is none): the sweep's message.
async fn finish(state: &mut SampleState) -> SweepMessage {
    let unit = state.arguments.unit.clone();
    if let Some(error) = state.failure.take() {
        return SweepMessage::SampleFailed {
            unit,
            error: error.to_string(),
        };
    }
    let tree = state
        .strategy
        .take()
        .map(|strategy| strategy.into_tree())
        .unwrap_or_default();
    let arguments = &state.arguments;
    let record = SampleRecord::of_search(
        grsu::store::FinishedSearch {
            search: arguments.search_key.clone(),
            seed: unit.seed,
            searched_depth: arguments.searched_depth,
            tree,
            calls: std::mem::take(&mut state.usage).finish(),
            requests: std::mem::take(&mut state.requests)
                .into_iter()
                .map(|(path, keys)| (path, keys.into_record()))
                .collect(),
            unscored_items: state.unscored,
            wall_ms: state.started.elapsed().as_millis() as u64,
        },
        &arguments.sample,
        &arguments.outputs,
    );
    let written = arguments
        .results
        .call(
            |reply| ResultsMessage::Write {
                record: Box::new(record),
                reply,
            },
            None,
        )
        .await;
    match written {
        Ok(ractor::rpc::CallResult::Success(Ok(()))) => SweepMessage::SampleFinished { unit },
        Ok(ractor::rpc::CallResult::Success(Err(error))) => SweepMessage::SampleFailed {
            unit,
            error: format!("store: {error}"),
        },
        _ => SweepMessage::SampleFailed {
            unit,
            error: "the results actor did not answer".into(),
        },
    }
}

/// Runs one command in its own task; the result comes back as a [`SampleMessage::Completed`].
fn execute(command: Command, state: &SampleState, myself: ActorRef<SampleMessage>) {
    let (sample, run_seed) = (state.arguments.sample.clone(), state.arguments.unit.seed);
    let origin = grsu::store::origin_of(&state.arguments.search_key, run_seed, &sample.id);
    let (crs, user) = (state.arguments.crs.clone(), state.arguments.user.clone());
    let Some(strategy) = state.strategy.as_ref() else {
        return;
    };
    let request = command.request().clone();
    match job_of(command, &sample, run_seed, origin, strategy.tree()) {
        Job::Recommend(job) => {
            tokio::spawn(async move {
                let outcome = ask_actor(&crs, |reply| CrsMessage::Recommend { job, reply })
                    .await
                    .unwrap_or_else(|| RecommendOutcome {
                        lists: Err(gone("crs")),
                        usage: Usage::default(),
                    });
                let (event, error) = match outcome.lists {
                    Ok(lists) => (Event::Recommended { request, lists }, None),
                    Err(error) => (Event::Failed { request }, Some(error)),
                };
                completed(&myself, event, "crs", outcome.usage, 0, error);
            });
        }
        Job::Critique(job) => {
            tokio::spawn(async move {
                let outcome = ask_actor(&user, |reply| UserMessage::Critique { job, reply })
                    .await
                    .unwrap_or_else(|| CritiqueOutcome {
                        critiques: Err(gone("user")),
                        usage: Usage::default(),
                    });
                let (event, error) = match outcome.critiques {
                    Ok(critiques) => (Event::Critiqued { request, critiques }, None),
                    Err(error) => (Event::Failed { request }, Some(error)),
                };
                completed(&myself, event, "user", outcome.usage, 0, error);
            });
        }
        Job::Score(job) => {
            tokio::spawn(async move {
                let outcome = ask_actor(&user, |reply| UserMessage::Score { job, reply })
                    .await
                    .unwrap_or_else(|| ScoreOutcome {
                        scores: Err(gone("user")),
                        unscored: 0,
                        usage: Usage::default(),
                    });
                let (event, error) = match outcome.scores {
                    Ok(scores) => (Event::Scored { request, scores }, None),
                    Err(error) => (Event::Failed { request }, Some(error)),
                };
                completed(
                    &myself,
                    event,
                    "user",
                    outcome.usage,
                    outcome.unscored,
                    error,
                );
            });
        }
    }
}

/// Asks an actor and waits; `None` when it stopped before answering.
async fn ask_actor<M, T>(
    actor: &ActorRef<M>,
    message: impl FnOnce(ractor::RpcReplyPort<T>) -> M,
) -> Option<T>
where
    M: ractor::Message,
    T: Send + 'static,
{
    actor
        .call(message, None)
        .await
        .ok()
        .and_then(|result| result.success_or(()).ok())
}

fn completed(
    myself: &ActorRef<SampleMessage>,
    event: Event,
    role: &'static str,
    usage: Usage,
    unscored: u64,
    error: Option<ModelError>,
) {
    // The sample may have stopped (a run shutting down): nothing to do then.
    let _ = myself.cast(SampleMessage::Completed {
        event,
        role,
        usage: Box::new(usage),
        unscored,
        error,
    });
}

fn gone(role: &str) -> ModelError {
    ModelError::Connection {
        endpoint: format!("{role} actor"),
        message: "the actor stopped before answering".into(),
    }
}
