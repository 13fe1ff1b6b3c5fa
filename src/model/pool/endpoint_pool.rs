//! [`EndpointPool`]: the replicas of one model role behind a single [`Backend`].
//!
//! The routing rules are in [`super::routing`] and the retry arithmetic in
//! [`super::retry_policy`]; this file adds what needs a runtime: waiting for a free slot, calling
//! the backends, sleeping between attempts and health-checking ejected endpoints.
//!
//! - **Waiting.** A request that finds every admitted endpoint full waits on a [`Notify`]: a slot
//!   that frees up wakes one waiter (which takes it), a re-admitted endpoint wakes them all. No
//!   polling, and no thundering herd when a thousand requests wait.
//! - **Cancellation.** A slot is held by a guard, so a request dropped mid-call (a timeout around
//!   it, a cancelled search) still gives its slot back.
//! - **Health checks.** They are lazy: the first request that finds an ejection ended claims the
//!   endpoint and spawns one task that calls [`Backend::health`]; a pass re-admits it, a failure
//!   ejects it again for longer. Routing never ejects the last admitted endpoint, so requests
//!   keep flowing (and claiming due checks) while others are out; a role whose every endpoint is
//!   dead fails each request after `max_attempts` calls on the endpoint kept, instead of hanging.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use tokio::sync::Notify;
use tracing::{info, warn};

use super::affinity::affinity_hash;
use super::error::PoolError;
use super::retry_policy::RetryPolicy;
use super::routing::{EjectionPolicy, FailureVerdict, RoutingTable};
use super::stats::{EndpointCounters, EndpointStats, PoolStats};
use futures_util::future::BoxFuture;

use crate::model::classify::{ClassifyRequest, ClassifyResponse};
use crate::model::context::RequestContext;
use crate::model::{Backend, ChatRequest, ChatResponse, ModelError};

/// The replicas serving one model role (e.g. every vLLM server of the CRS model), used as one
/// [`Backend`]: bounded concurrency per replica, least-outstanding routing with optional affinity,
/// retries with exponential backoff and jitter, and ejection of failing replicas.
///
/// Cloning is cheap and shares the pool.
#[derive(Clone)]
pub struct EndpointPool {
    shared: Arc<Shared>,
}

struct PoolEndpoint {
    backend: Arc<dyn Backend>,
    /// [`Backend::endpoint`], kept for logs.
    address: String,
}

/// What the pool's requests and health-check tasks share.
struct Shared {
    role: String,
    endpoints: Vec<PoolEndpoint>,
    policy: RetryPolicy,
    state: Mutex<PoolState>,
    /// Signalled whenever a slot frees up or an endpoint's admission changes.
    changed: Notify,
    /// Whether requests are routed by their context's affinity key.
    affinity: std::sync::atomic::AtomicBool,
}

/// Everything under the pool's lock. The lock is never held across an `.await`.
struct PoolState {
    routing: RoutingTable,
    counters: Vec<EndpointCounters>,
    /// Since when no endpoint has answered while calls or health checks failed (`None` after a
    /// success), with the last failure: a role whose every endpoint is dead shows here.
    failing: Option<(std::time::Instant, String)>,
}

impl EndpointPool {
    /// A pool for `role` over `endpoints`, each with the most requests it takes at once.
    ///
    /// Fails when there are no endpoints, an endpoint has capacity 0, or the policy allows no
    /// attempt.
    pub fn new(
        role: String,
        endpoints: Vec<(Arc<dyn Backend>, usize)>,
        policy: RetryPolicy,
        ejection: EjectionPolicy,
    ) -> Result<Self, PoolError> {
        if endpoints.is_empty() {
            return Err(PoolError::NoEndpoints { role });
        }
        if policy.max_attempts == 0 {
            return Err(PoolError::NoAttempts { role });
        }
        if let Some((backend, _)) = endpoints.iter().find(|(_, capacity)| *capacity == 0) {
            return Err(PoolError::ZeroCapacity {
                role,
                endpoint: backend.endpoint(),
            });
        }
        let routing = RoutingTable::new(endpoints.iter().map(|(_, capacity)| *capacity), ejection);
        let state = PoolState {
            routing,
            counters: vec![EndpointCounters::default(); endpoints.len()],
            failing: None,
        };
        let endpoints = endpoints
            .into_iter()
            .map(|(backend, _)| PoolEndpoint {
                address: backend.endpoint(),
                backend,
            })
            .collect();
        Ok(EndpointPool {
            shared: Arc::new(Shared {
                role,
                endpoints,
                policy,
                state: Mutex::new(state),
                changed: Notify::new(),
                affinity: std::sync::atomic::AtomicBool::new(true),
            }),
        })
    }

    /// Routes by affinity keys (`true`, the default) or by least-outstanding alone (what a plain
    /// load balancer does; `[models.<role>] affinity = false`).
    pub fn with_affinity(self, affinity: bool) -> Self {
        self.shared
            .affinity
            .store(affinity, std::sync::atomic::Ordering::Relaxed);
        self
    }

    fn routing_key<'a>(&self, context: &'a RequestContext) -> Option<&'a str> {
        context.affinity.as_deref().filter(|_| {
            self.shared
                .affinity
                .load(std::sync::atomic::Ordering::Relaxed)
        })
    }

    /// The model role the pool serves.
    pub fn role(&self) -> &str {
        &self.shared.role
    }

    /// The retry policy of every request.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.shared.policy
    }

    /// How long the pool has gone without an answer while its calls or health checks failed, and
    /// the last failure; `None` when the last call (or check) of any endpoint succeeded.
    pub fn failing_for(&self) -> Option<(std::time::Duration, String)> {
        let state = self.shared.state();
        state
            .failing
            .as_ref()
            .map(|(since, error)| (now().saturating_duration_since(*since), error.clone()))
    }

    /// Where the pool's endpoints are, in its order.
    pub fn endpoints(&self) -> Vec<String> {
        self.shared
            .endpoints
            .iter()
            .map(|endpoint| endpoint.address.clone())
            .collect()
    }

    /// A snapshot of every endpoint's counters and state.
    pub fn stats(&self) -> PoolStats {
        let state = self.shared.state();
        let endpoints = self
            .shared
            .endpoints
            .iter()
            .enumerate()
            .map(|(i, endpoint)| EndpointStats {
                endpoint: endpoint.address.clone(),
                capacity: state.routing.capacity(i),
                outstanding: state.routing.outstanding(i),
                ejected: !state.routing.is_admitted(i),
                counters: state.counters[i].clone(),
            })
            .collect();
        PoolStats {
            role: self.shared.role.clone(),
            endpoints,
        }
    }

    /// Answers `request` on some endpoint, preferring the one that `affinity` maps to (requests
    /// sharing a prompt prefix should share a key, so that they share a prefix cache).
    ///
    /// Retryable errors are retried after a backoff, possibly on another endpoint, up to the
    /// policy's `max_attempts`; then the last error is returned. Other errors return at once.
    pub async fn chat_with_affinity(
        &self,
        request: &ChatRequest,
        affinity: Option<&str>,
    ) -> Result<ChatResponse, ModelError> {
        self.call_with_affinity(affinity, |backend| backend.chat(request))
            .await
    }

    /// Classifies texts on some endpoint, with the same routing and retries as
    /// [`chat_with_affinity`](Self::chat_with_affinity).
    pub async fn classify_with_affinity(
        &self,
        request: &ClassifyRequest,
        affinity: Option<&str>,
    ) -> Result<ClassifyResponse, ModelError> {
        self.call_with_affinity(affinity, |backend| backend.classify(request))
            .await
    }

    /// One call (`call` on the chosen endpoint's backend) with slots, retries and ejection.
    async fn call_with_affinity<'a, T>(
        &'a self,
        affinity: Option<&str>,
        call: impl Fn(&'a dyn Backend) -> BoxFuture<'a, Result<T, ModelError>>,
    ) -> Result<T, ModelError> {
        let affinity_hash = affinity.map(affinity_hash);
        let policy = &self.shared.policy;
        let mut attempts_made = 0u32;
        let mut failed_on = None;
        loop {
            let slot = self.acquire(affinity_hash, failed_on).await;
            attempts_made += 1;
            let index = slot.index;
            let endpoint = &self.shared.endpoints[index];
            let error = match call(endpoint.backend.as_ref()).await {
                Ok(answer) => {
                    slot.succeeded();
                    return Ok(answer);
                }
                Err(error) => error,
            };
            slot.failed(&error);
            failed_on = Some(index);
            if !policy.should_retry(&error, attempts_made) {
                return Err(error);
            }
            let delay = policy.delay(attempts_made, rand::random::<f64>());
            warn!(
                role = %self.shared.role,
                endpoint = %endpoint.address,
                attempt = attempts_made,
                max_attempts = policy.max_attempts,
                delay_ms = delay.as_millis() as u64,
                error_kind = error.label(),
                error = %error,
                "retrying model request"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// Waits until an admitted endpoint has a free slot and takes it (one endpoint is always
    /// admitted, so this waits only for slots), spawning the health checks that are due. A retry
    /// (`failed_on`, where its last attempt failed) goes elsewhere when it can.
    async fn acquire(&self, affinity_hash: Option<u64>, failed_on: Option<usize>) -> Slot<'_> {
        let shared = &*self.shared;
        loop {
            // Registered before looking at the state, so that no signal is missed in between.
            let changed = shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();

            {
                let mut state = shared.state();
                for i in state.routing.claim_due_probes(now()) {
                    self.spawn_health_check(i);
                }
                let chosen = match failed_on {
                    Some(failed_on) => state.routing.choose_for_retry(affinity_hash, failed_on),
                    None => state.routing.choose(affinity_hash),
                };
                if let Some(index) = chosen {
                    state.routing.start(index);
                    let outstanding = state.routing.outstanding(index);
                    let counters = &mut state.counters[index];
                    counters.requests += 1;
                    if failed_on.is_some() {
                        counters.retries += 1;
                    }
                    counters.max_outstanding = counters.max_outstanding.max(outstanding);
                    return Slot {
                        shared,
                        index,
                        settled: false,
                    };
                }
            }
            changed.await;
        }
    }

    fn spawn_health_check(&self, index: usize) {
        let shared = Arc::clone(&self.shared);
        tokio::spawn(async move { shared.check_health(index).await });
    }
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, PoolState> {
        // The state stays consistent between statements, so a panic elsewhere poisons nothing.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Health-checks ejected endpoint `index`: re-admits it, or ejects it again for longer.
    async fn check_health(&self, index: usize) {
        let endpoint = &self.endpoints[index];
        let result = endpoint.backend.health().await;
        {
            let mut state = self.state();
            match result {
                Ok(()) => {
                    state.failing = None;
                    state.routing.readmit(index);
                    state.counters[index].readmissions += 1;
                    info!(
                        role = %self.role,
                        endpoint = %endpoint.address,
                        "readmitting endpoint after a passing health check"
                    );
                }
                Err(error) => {
                    let ejected_for = state.routing.on_probe_failure(index, now());
                    let counters = &mut state.counters[index];
                    counters.failed_health_checks += 1;
                    counters.ejections += 1;
                    warn!(
                        role = %self.role,
                        endpoint = %endpoint.address,
                        ejected_for_ms = ejected_for.as_millis() as u64,
                        error_kind = error.label(),
                        error = %error,
                        "health check failed, ejecting endpoint again"
                    );
                    note_failure(&mut state, &endpoint.address, &error);
                }
            }
        }
        self.changed.notify_waiters();
    }
}

/// Starts (or continues) the pool's failing streak.
fn note_failure(state: &mut PoolState, endpoint: &str, error: &ModelError) {
    let since = state.failing.as_ref().map_or_else(now, |(since, _)| *since);
    state.failing = Some((since, format!("{endpoint}: {error}")));
}

/// The pool's clock: Tokio's, so that tests with paused time control ejections too.
fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

/// A request's hold on one slot of an endpoint. Settling it reports the outcome to routing;
/// dropping it unsettled (a cancelled request) just frees the slot.
///
/// A settled or dropped slot frees one slot, so it wakes one waiter (`notify_one`; a waiter that
/// drops its wake-up passes it on), not all of them: with a thousand requests waiting, waking
/// everyone on every answer cost two thirds of the orchestrator's CPU. A re-admitted endpoint
/// frees many slots at once and wakes every waiter.
struct Slot<'a> {
    shared: &'a Shared,
    index: usize,
    settled: bool,
}

impl Slot<'_> {
    fn succeeded(mut self) {
        self.settled = true;
        {
            let mut state = self.shared.state();
            state.routing.on_success(self.index);
            state.counters[self.index].successes += 1;
            state.failing = None;
        }
        self.shared.changed.notify_one();
    }

    /// Records a failed call. Only retryable errors count against the endpoint's health: a
    /// rejected request is the request's fault, not the server's.
    fn failed(mut self, error: &ModelError) {
        self.settled = true;
        {
            let mut state = self.shared.state();
            *state.counters[self.index]
                .failures
                .entry(error.label())
                .or_insert(0) += 1;
            if error.is_retryable() {
                note_failure(
                    &mut state,
                    &self.shared.endpoints[self.index].address,
                    error,
                );
            }
            if !error.is_retryable() {
                state.routing.release(self.index);
            } else {
                let address = &self.shared.endpoints[self.index].address;
                match state.routing.on_failure(self.index, now()) {
                    FailureVerdict::Counted => {}
                    FailureVerdict::Ejected(ejected_for) => {
                        state.counters[self.index].ejections += 1;
                        warn!(
                            role = %self.shared.role,
                            endpoint = %address,
                            ejected_for_ms = ejected_for.as_millis() as u64,
                            error_kind = error.label(),
                            error = %error,
                            "ejecting endpoint after consecutive failures"
                        );
                    }
                    FailureVerdict::KeptAsLast {
                        consecutive_failures,
                    } => warn!(
                        role = %self.shared.role,
                        endpoint = %address,
                        consecutive_failures,
                        error_kind = error.label(),
                        error = %error,
                        "endpoint keeps failing but is the role's last admitted one: kept"
                    ),
                }
            }
        }
        self.shared.changed.notify_one();
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.shared.state().routing.release(self.index);
            self.shared.changed.notify_one();
        }
    }
}

#[async_trait]
impl Backend for EndpointPool {
    /// The first endpoint's identity: every endpoint of a role serves the same model.
    fn identity(&self) -> String {
        self.shared.endpoints[0].backend.identity()
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        self.chat_with_affinity(request, None).await
    }

    /// The endpoints' capacities together: what the pool has outstanding at most.
    fn capacity(&self) -> Option<usize> {
        let state = self.shared.state();
        Some(
            (0..self.shared.endpoints.len())
                .map(|i| state.routing.capacity(i))
                .sum(),
        )
    }

    async fn classify(&self, request: &ClassifyRequest) -> Result<ClassifyResponse, ModelError> {
        self.classify_with_affinity(request, None).await
    }

    /// Routed by the context's affinity key, unless the pool was made without affinity.
    async fn chat_in(
        &self,
        request: &ChatRequest,
        context: &RequestContext,
    ) -> Result<ChatResponse, ModelError> {
        self.chat_with_affinity(request, self.routing_key(context))
            .await
    }

    async fn classify_in(
        &self,
        request: &ClassifyRequest,
        context: &RequestContext,
    ) -> Result<ClassifyResponse, ModelError> {
        self.classify_with_affinity(request, self.routing_key(context))
            .await
    }

    /// Healthy when any endpoint is; otherwise the last endpoint's error.
    async fn health(&self) -> Result<(), ModelError> {
        let mut last_error = None;
        for endpoint in &self.shared.endpoints {
            match endpoint.backend.health().await {
                Ok(()) => return Ok(()),
                Err(error) => last_error = Some(error),
            }
        }
        last_error.map_or(Ok(()), Err)
    }

    fn endpoint(&self) -> String {
        let addresses: Vec<&str> = self
            .shared
            .endpoints
            .iter()
            .map(|endpoint| endpoint.address.as_str())
            .collect();
        format!("{} pool [{}]", self.shared.role, addresses.join(", "))
    }
}
