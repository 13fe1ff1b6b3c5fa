//! [`ModelActor`]: one model role (the CRS, or the simulated user) behind the library's
//! [`CachedBackend`], the one front of the response cache.
//!
//! What it adds to the cached backend is what needs one place per role in a run: identical
//! requests in flight at the same time (the same item scored at two nodes of a sample, the same
//! request of two cells) are sent once, and later askers receive the first answer as a cache
//! hit; and the run's progress counters. It never awaits a model call inside `handle`: each
//! request runs in its own task that answers on the reply port, so hundreds of requests are in
//! flight at once; concurrency per endpoint is bounded by the endpoint pool, not by the mailbox.
//! That task also answers the askers who joined it (the table of requests in flight is shared
//! with the tasks under a lock held for a lookup), rather than sending the answer back through
//! the mailbox: one hop between threads less per request.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use grsu::model::ask::{Admission, AdmissionGate, Ask};
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
    in_flight: Arc<Mutex<InFlight>>,
}

type Reply = RpcReplyPort<Result<ModelAnswer, ModelError>>;

/// Requests in flight, by cache key, with everyone else waiting for their answer. The lock is
/// held for a lookup or an insertion, never across an `.await`.
type InFlight = HashMap<[u8; 32], Vec<Reply>>;

/// Takes the table's lock; nothing between its statements can leave it inconsistent, so a
/// panic elsewhere poisons nothing.
fn lock(in_flight: &Mutex<InFlight>) -> MutexGuard<'_, InFlight> {
    in_flight.lock().unwrap_or_else(PoisonError::into_inner)
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
            in_flight: Arc::default(),
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: ModelMessage,
        state: &mut ModelState,
    ) -> Result<(), ActorProcessingErr> {
        let ModelMessage::Chat {
            request,
            context,
            reply,
        } = message;
        let key = state.backend.key(&request);
        match lock(&state.in_flight).entry(key) {
            Entry::Occupied(mut waiting) => {
                waiting.get_mut().push(reply);
                return Ok(());
            }
            Entry::Vacant(slot) => {
                slot.insert(Vec::new());
            }
        }
        let (side, backend, progress, in_flight) = (
            state.side,
            state.backend.clone(),
            state.progress.clone(),
            state.in_flight.clone(),
        );
        progress.calls_in_flight.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let answer = backend.chat_keyed(&request, key, &context).await;
            progress.calls_in_flight.fetch_sub(1, Ordering::Relaxed);
            match &answer {
                Ok(answer) => progress.record_call(side.as_str(), answer.cached, &answer.response),
                Err(_) => progress.record_error(side.as_str()),
            }
            // Whoever asks from now on asks anew (and finds the answer in the cache).
            let joined = lock(&in_flight).remove(&key).unwrap_or_default();
            for other in joined {
                let shared = match &answer {
                    Ok(first) => {
                        progress.record_call(side.as_str(), true, &first.response);
                        Ok(ModelAnswer {
                            response: first.response.clone(),
                            cached: true,
                            own: false,
                            key,
                        })
                    }
                    Err(error) => Err(error.clone()),
                };
                // An asker may have gone (a sample abandoned at shutdown): nothing to do then.
                let _ = other.send(shared);
            }
            let _ = reply.send(answer);
        });
        Ok(())
    }
}

/// A model actor as the library's policies see it: something to [`Ask`], with the gate that
/// admits about as many requests at once as the role's endpoints serve (shared by every search
/// asking the same model actor).
#[derive(Clone)]
pub struct ModelHandle {
    actor: ActorRef<ModelMessage>,
    admission: AdmissionGate,
}

impl ModelHandle {
    pub fn new(actor: ActorRef<ModelMessage>, admission: AdmissionGate) -> Self {
        ModelHandle { actor, admission }
    }
}

#[async_trait::async_trait]
impl Ask for ModelHandle {
    async fn ask(
        &self,
        request: ChatRequest,
        context: RequestContext,
    ) -> Result<ModelAnswer, ModelError> {
        ask(&self.actor, request, context).await
    }

    async fn admit(&self) -> Admission {
        self.admission.admit().await
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
