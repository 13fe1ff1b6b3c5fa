//! The prompts behind a stored search, rebuilt by replaying it.
//!
//! A store keeps the answers of every request (the response cache) but not the requests: each
//! repeats the conversation, so keeping them would multiply the store's size. They are rebuilt
//! instead by running the sample's search again, with the run's own search strategy, CRS and
//! simulated-user policies, against an [`Ask`] that answers every request from the response
//! cache by the request's own cache key and records it. A request rebuilt this way is the request
//! that was sent: its key (a hash of the model identity and the whole request) found the answer
//! the run stored. A request whose key is not in the cache (prompts changed by a later grsu, a
//! store copied without its responses) stops the replay with [`ReplayError::NotCached`] rather
//! than show a prompt that was never sent.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::catalog::Catalog;
use crate::config::RunConfig;
use crate::crs::Recommender;
use crate::data::Sample;
use crate::jobs::{job_of, Job};
use crate::model::ask::Ask;
use crate::model::cached::CachedAnswer;
use crate::model::context::RequestContext;
use crate::model::{ChatRequest, ChatResponse, ModelError};
use crate::search::{Command, Event};
use crate::store::{key_prefix, origin_of, ResponseCache, SampleRecord};
use crate::user::SimulatedUser;

/// Why a search could not be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("the record holds no conversation (written by an older grsu)")]
    NoConversation,
    #[error("the search uses a discriminative scorer, whose inputs are not chat prompts")]
    Discriminative,
    #[error("the search's config does not make a search strategy: {0}")]
    Strategy(String),
    #[error("no model identity for role `{0}` in the sweep's manifest")]
    NoIdentity(String),
    #[error(
        "request {request} ({role}) is not in the response cache: the prompts of this grsu differ \
         from those of the run, or the store lacks its responses"
    )]
    NotCached { request: String, role: String },
    #[error("the response cache cannot be read: {0}")]
    Cache(String),
}

/// Answers from the cache only, recording each request by its key prefix.
struct ReplayAsk<'a> {
    cache: &'a ResponseCache,
    /// Model identity per role name (the manifest's).
    identities: &'a BTreeMap<String, String>,
    recorded: Mutex<BTreeMap<String, ChatRequest>>,
    missing: Mutex<Option<ReplayError>>,
    /// The request being replayed (named in a [`ReplayError::NotCached`]).
    current: Mutex<String>,
}

#[async_trait]
impl Ask for ReplayAsk<'_> {
    async fn ask(
        &self,
        request: ChatRequest,
        context: RequestContext,
    ) -> Result<CachedAnswer<ChatResponse>, ModelError> {
        let role = context.role.as_str();
        let Some(identity) = self.identities.get(role) else {
            self.fail(ReplayError::NoIdentity(role.to_string()));
            return Err(not_cached());
        };
        let key = ResponseCache::key(identity, &request);
        match self.cache.peek(identity, &request) {
            Ok(Some(response)) => {
                self.recorded
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .insert(key_prefix(&key), request);
                Ok(CachedAnswer {
                    response,
                    cached: true,
                    own: true,
                    key,
                })
            }
            Ok(None) => {
                let current = self
                    .current
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .clone();
                self.fail(ReplayError::NotCached {
                    request: current,
                    role: role.to_string(),
                });
                Err(not_cached())
            }
            Err(error) => {
                self.fail(ReplayError::Cache(error.to_string()));
                Err(not_cached())
            }
        }
    }
}

impl ReplayAsk<'_> {
    fn fail(&self, error: ReplayError) {
        self.missing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get_or_insert(error);
    }
}

fn not_cached() -> ModelError {
    ModelError::Cache {
        message: "not in the response cache (replay)".into(),
    }
}

/// The requests behind `record`, by response-cache key prefix (the keys its
/// [`SampleRecord::requests`] name), rebuilt by replaying its search under `config` (the search's
/// config, at the depth the record was searched to) over `catalog`, with the model identities
/// `identities` (role → identity, from the sweep's manifest).
pub async fn replay_requests(
    config: &RunConfig,
    catalog: Arc<Catalog>,
    record: &SampleRecord,
    identities: &BTreeMap<String, String>,
    cache: &ResponseCache,
) -> Result<BTreeMap<String, ChatRequest>, ReplayError> {
    if record.history.is_empty() {
        return Err(ReplayError::NoConversation);
    }
    if config.user.scorer == crate::config::Scorer::Discriminative {
        return Err(ReplayError::Discriminative);
    }
    let mut config = config.clone();
    if record.searched_depth > 0 {
        config.search.depth = record.searched_depth;
    }
    let mut strategy = config
        .search_strategy(record.seed)
        .map_err(|error| ReplayError::Strategy(error.to_string()))?;
    let recommender = Recommender::for_config(&config, catalog.clone());
    let user = SimulatedUser::for_config(&config, catalog, None);
    let sample = Arc::new(Sample {
        id: record.sample.clone(),
        conversation: String::new(),
        turn: String::new(),
        history: record.history.clone(),
        labels: record.labels.clone(),
    });
    let origin = origin_of(&record.search, record.seed, &record.sample);
    let ask = ReplayAsk {
        cache,
        identities,
        recorded: Mutex::default(),
        missing: Mutex::default(),
        current: Mutex::default(),
    };
    // One command at a time: the tree does not depend on the order of events, and every answer
    // comes from the cache.
    let mut commands: VecDeque<Command> = strategy.start().into();
    while let Some(command) = commands.pop_front() {
        *ask.current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = command.request().path();
        let request = command.request().clone();
        let event = match job_of(command, &sample, record.seed, origin, strategy.tree()) {
            Job::Recommend(job) => match recommender.recommend(&ask, job).await.lists {
                Ok(lists) => Event::Recommended { request, lists },
                Err(_) => Event::Failed { request },
            },
            Job::Critique(job) => match user.critique(&ask, job).await.critiques {
                Ok(critiques) => Event::Critiqued { request, critiques },
                Err(_) => Event::Failed { request },
            },
            Job::Score(job) => match user.score(&ask, job).await.scores {
                Ok(scores) => Event::Scored { request, scores },
                Err(_) => Event::Failed { request },
            },
        };
        if let Some(error) = ask
            .missing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
        {
            return Err(error);
        }
        commands.extend(strategy.on_event(event));
    }
    Ok(ask
        .recorded
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner()))
}
