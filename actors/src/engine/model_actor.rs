//! [`ModelActor`]: one model role (the CRS, or the simulated user) behind the response cache.
//!
//! It never awaits a model call inside `handle`: each request runs in its own task that answers on
//! the reply port, so hundreds of requests are in flight at once; concurrency per endpoint is
//! bounded by the endpoint pool, not by the mailbox. Identical requests in flight at the same time
//! (the same item scored at two nodes of a sample) are sent once: later askers wait for the first
//! answer and receive it as a cache hit.

use std::collections::HashMap;
use std::sync::Arc;

use grsu::model::pool::EndpointPool;
use grsu::model::{Backend, ChatRequest, ChatResponse, ModelError};
use grsu::store::{Origin, ResponseCache};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use super::progress::Progress;

/// Where a role's requests go.
#[derive(Clone)]
pub enum ModelTarget {
    /// Replicas behind an endpoint pool; with `affinity`, requests of one sample stick to one
    /// replica.
    Pool { pool: EndpointPool, affinity: bool },
    /// One backend (the embedded model).
    Single(Arc<dyn Backend>),
}

impl ModelTarget {
    pub fn identity(&self) -> String {
        match self {
            ModelTarget::Pool { pool, .. } => pool.identity(),
            ModelTarget::Single(backend) => backend.identity(),
        }
    }

    /// Classifies on the role's endpoints (a discriminative reward model).
    pub async fn classify(
        &self,
        request: &grsu::model::classify::ClassifyRequest,
        affinity: &str,
    ) -> Result<grsu::model::classify::ClassifyResponse, ModelError> {
        match self {
            ModelTarget::Pool {
                pool,
                affinity: true,
            } => pool.classify_with_affinity(request, Some(affinity)).await,
            ModelTarget::Pool { pool, .. } => pool.classify_with_affinity(request, None).await,
            ModelTarget::Single(backend) => backend.classify(request).await,
        }
    }

    async fn chat(
        &self,
        request: &ChatRequest,
        affinity: &str,
    ) -> Result<ChatResponse, ModelError> {
        match self {
            ModelTarget::Pool {
                pool,
                affinity: true,
            } => pool.chat_with_affinity(request, Some(affinity)).await,
            ModelTarget::Pool { pool, .. } => pool.chat_with_affinity(request, None).await,
            ModelTarget::Single(backend) => backend.chat(request).await,
        }
    }
}

/// An answer and whether it came from the cache.
#[derive(Debug, Clone)]
pub struct ModelAnswer {
    pub response: ChatResponse,
    /// Answered from the cache, or by the same request of another asker in flight.
    pub cached: bool,
    /// Answered from the cache by an entry the asking unit itself paid for in an earlier run.
    pub own: bool,
    /// The request's cache key (counts distinct requests).
    pub key: [u8; 32],
}

/// Messages of the [`ModelActor`].
pub enum ModelMessage {
    /// Answer one request, from the cache when it holds it.
    Chat {
        request: ChatRequest,
        /// The sample the request belongs to: its requests share a prompt prefix, so they go to
        /// the same replica.
        affinity: String,
        /// The unit of work asking (see [`grsu::store::Origin`]): its own earlier answers count
        /// as its calls, not as cache hits.
        origin: Origin,
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
    pub role: String,
    pub target: ModelTarget,
    pub cache: ResponseCache,
    pub progress: Arc<Progress>,
}

/// The state of a [`ModelActor`].
pub struct ModelState {
    role: String,
    identity: String,
    target: ModelTarget,
    cache: ResponseCache,
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
            identity: arguments.target.identity(),
            role: arguments.role,
            target: arguments.target,
            cache: arguments.cache,
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
                affinity,
                origin,
                reply,
            } => {
                let key = ResponseCache::key(&state.identity, &request);
                if let Some(waiting) = state.in_flight.get_mut(&key) {
                    waiting.push(reply);
                    return Ok(());
                }
                state.in_flight.insert(key, vec![reply]);
                let (role, identity, target, cache, progress) = (
                    state.role.clone(),
                    state.identity.clone(),
                    state.target.clone(),
                    state.cache.clone(),
                    state.progress.clone(),
                );
                tokio::spawn(async move {
                    let answer = answer(
                        &role, &identity, &target, &cache, &progress, &request, &affinity, origin,
                    )
                    .await;
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
                                .record_call(&state.role, true, &first.response);
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

#[allow(clippy::too_many_arguments)]
async fn answer(
    role: &str,
    identity: &str,
    target: &ModelTarget,
    cache: &ResponseCache,
    progress: &Progress,
    request: &ChatRequest,
    affinity: &str,
    origin: Origin,
) -> Result<ModelAnswer, ModelError> {
    let cache_error = |error: grsu::store::StoreError| ModelError::Cache {
        message: error.to_string(),
    };
    if let Some((response, paid_by)) = cache
        .get_with_origin(identity, request)
        .map_err(cache_error)?
    {
        progress.record_call(role, true, &response);
        return Ok(ModelAnswer {
            response,
            cached: true,
            own: paid_by == Some(origin),
            key: ResponseCache::key(identity, request),
        });
    }
    let response = match target.chat(request, affinity).await {
        Ok(response) => response,
        Err(error) => {
            progress.record_error(role);
            return Err(error);
        }
    };
    cache
        .put_from(identity, request, &response, origin)
        .await
        .map_err(cache_error)?;
    progress.record_call(role, false, &response);
    Ok(ModelAnswer {
        response,
        cached: false,
        own: false,
        key: ResponseCache::key(identity, request),
    })
}

/// Asks a model actor and waits for the answer.
pub async fn ask(
    model: &ActorRef<ModelMessage>,
    request: ChatRequest,
    affinity: &str,
    origin: Origin,
) -> Result<ModelAnswer, ModelError> {
    let affinity = affinity.to_string();
    match model
        .call(
            |reply| ModelMessage::Chat {
                request,
                affinity,
                origin,
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
