//! [`BeamActor`]: drives one sample's search strategy (a pure state machine from the library):
//! executes its commands concurrently through the CRS and user actors and feeds the results back
//! as events, until the strategy is finished. Then it hands the tree to its conversation.

use std::collections::BTreeMap;
use std::sync::Arc;

use grsu::data::Sample;
use grsu::model::ModelError;
use grsu::search::{Command, Event, SearchStrategy, SearchTree};
use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::conversation_actor::ConversationMessage;
use super::crs_actor::{CrsMessage, RecommendJob, RecommendOutcome};
use super::usage::{SampleUsage, Usage};
use super::user_actor::{CritiqueJob, CritiqueOutcome, ScoreJob, ScoreOutcome, UserMessage};

/// What a finished search hands to its conversation.
pub struct SearchOutcome {
    pub tree: SearchTree,
    pub calls: BTreeMap<String, grsu::store::CallCounts>,
    pub unscored_items: u64,
    /// The model requests behind each request of the search (see [`grsu::store::ModelRequests`]).
    pub requests: BTreeMap<String, grsu::store::ModelRequests>,
    /// The first model error (an unreachable endpoint, a rejected request): the sample is not
    /// recorded, so a later run retries it.
    pub failure: Option<ModelError>,
}

/// Messages of the [`BeamActor`].
pub enum BeamMessage {
    /// Issue the strategy's first commands.
    Start,
    /// A command finished.
    Completed {
        event: Event,
        role: &'static str,
        usage: Box<Usage>,
        unscored: u64,
        error: Option<ModelError>,
    },
}

/// What a [`BeamActor`] is started with.
pub struct BeamArguments {
    pub strategy: Box<dyn SearchStrategy>,
    pub sample: Arc<Sample>,
    pub run_seed: u64,
    pub crs: ActorRef<CrsMessage>,
    pub user: ActorRef<UserMessage>,
    pub owner: ActorRef<ConversationMessage>,
}

/// The search in progress.
pub struct BeamState {
    strategy: Option<Box<dyn SearchStrategy>>,
    sample: Arc<Sample>,
    run_seed: u64,
    crs: ActorRef<CrsMessage>,
    user: ActorRef<UserMessage>,
    owner: ActorRef<ConversationMessage>,
    outstanding: usize,
    usage: SampleUsage,
    requests: BTreeMap<String, grsu::store::ModelRequests>,
    unscored: u64,
    failure: Option<ModelError>,
}

/// The driver of one sample's search.
pub struct BeamActor;

impl Actor for BeamActor {
    type Msg = BeamMessage;
    type State = BeamState;
    type Arguments = BeamArguments;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        arguments: BeamArguments,
    ) -> Result<BeamState, ActorProcessingErr> {
        Ok(BeamState {
            strategy: Some(arguments.strategy),
            sample: arguments.sample,
            run_seed: arguments.run_seed,
            crs: arguments.crs,
            user: arguments.user,
            owner: arguments.owner,
            outstanding: 0,
            usage: SampleUsage::default(),
            requests: BTreeMap::new(),
            unscored: 0,
            failure: None,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: BeamMessage,
        state: &mut BeamState,
    ) -> Result<(), ActorProcessingErr> {
        let Some(strategy) = state.strategy.as_mut() else {
            return Ok(());
        };
        let commands = match message {
            BeamMessage::Start => strategy.start(),
            BeamMessage::Completed {
                event,
                role,
                usage,
                unscored,
                error,
            } => {
                state.outstanding -= 1;
                tracing::debug!(sample = %state.sample.id, request = %event.request(), outstanding = state.outstanding, "search event");
                state.requests.insert(
                    event.request().path(),
                    grsu::store::ModelRequests {
                        role: role.to_string(),
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
                tracing::debug!(sample = %state.sample.id, request = %command.request(), "search command");
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
            let tree = state
                .strategy
                .take()
                .map(|strategy| strategy.into_tree())
                .unwrap_or_default();
            let outcome = SearchOutcome {
                tree,
                calls: std::mem::take(&mut state.usage).finish(),
                requests: std::mem::take(&mut state.requests),
                unscored_items: state.unscored,
                failure: state.failure.take(),
            };
            state
                .owner
                .cast(ConversationMessage::SearchDone(Box::new(outcome)))?;
            myself.stop(None);
        }
        Ok(())
    }
}

/// Runs one command in its own task; the result comes back as a [`BeamMessage::Completed`].
fn execute(command: Command, state: &BeamState, myself: ActorRef<BeamMessage>) {
    let (sample, run_seed, crs, user) = (
        state.sample.clone(),
        state.run_seed,
        state.crs.clone(),
        state.user.clone(),
    );
    let tree_items = |node| {
        state
            .strategy
            .as_ref()
            .map(|strategy| strategy.tree().node(node).items.clone())
            .unwrap_or_default()
    };
    match command {
        Command::Recommend {
            request,
            parent,
            feedback,
            lists,
            temperature,
        } => {
            let previous = parent.map(tree_items);
            tokio::spawn(async move {
                let job = RecommendJob {
                    sample,
                    run_seed,
                    key: request.clone(),
                    previous,
                    feedback,
                    lists,
                    temperature,
                };
                let outcome = crs
                    .call(|reply| CrsMessage::Recommend { job, reply }, None)
                    .await
                    .ok()
                    .and_then(|result| result.success_or(()).ok())
                    .unwrap_or_else(|| RecommendOutcome {
                        lists: Err(gone("crs")),
                        usage: Usage::default(),
                    });
                let (event, error) = match outcome.lists {
                    Ok(lists) => (Event::Recommended { request, lists }, None),
                    Err(error) => (Event::Failed { request }, Some(error)),
                };
                let _ = myself.cast(BeamMessage::Completed {
                    event,
                    role: "crs",
                    usage: Box::new(outcome.usage),
                    unscored: 0,
                    error,
                });
            });
        }
        Command::Critique {
            request,
            node,
            count,
        } => {
            let items = tree_items(node);
            tokio::spawn(async move {
                let job = CritiqueJob {
                    sample,
                    run_seed,
                    key: request.clone(),
                    items,
                    count,
                };
                let outcome = user
                    .call(|reply| UserMessage::Critique { job, reply }, None)
                    .await
                    .ok()
                    .and_then(|result| result.success_or(()).ok())
                    .unwrap_or_else(|| CritiqueOutcome {
                        critiques: Err(gone("user")),
                        usage: Usage::default(),
                    });
                let (event, error) = match outcome.critiques {
                    Ok(critiques) => (Event::Critiqued { request, critiques }, None),
                    Err(error) => (Event::Failed { request }, Some(error)),
                };
                let _ = myself.cast(BeamMessage::Completed {
                    event,
                    role: "user",
                    usage: Box::new(outcome.usage),
                    unscored: 0,
                    error,
                });
            });
        }
        Command::Score { request, node } => {
            let items = tree_items(node);
            tokio::spawn(async move {
                let job = ScoreJob {
                    sample,
                    run_seed,
                    key: request.clone(),
                    items,
                };
                let outcome = user
                    .call(|reply| UserMessage::Score { job, reply }, None)
                    .await
                    .ok()
                    .and_then(|result| result.success_or(()).ok())
                    .unwrap_or_else(|| ScoreOutcome {
                        scores: Err(gone("user")),
                        unscored: 0,
                        usage: Usage::default(),
                    });
                let (event, error) = match outcome.scores {
                    Ok(scores) => (Event::Scored { request, scores }, None),
                    Err(error) => (Event::Failed { request }, Some(error)),
                };
                let unscored = outcome.unscored;
                let _ = myself.cast(BeamMessage::Completed {
                    event,
                    role: "user",
                    usage: Box::new(outcome.usage),
                    unscored,
                    error,
                });
            });
        }
    }
}

fn gone(role: &str) -> ModelError {
    ModelError::Connection {
        endpoint: format!("{role} actor"),
        message: "the actor stopped before answering".into(),
    }
}
