//! Tests of [`EndpointPool`] against scripted fake backends, in paused Tokio time so that backoffs
//! and ejections take no real time.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::task::JoinSet;

use super::{EjectionPolicy, EndpointPool, PoolError, RetryPolicy};
use crate::model::{
    Backend, ChatMessage, ChatRequest, ChatResponse, Choice, FinishReason, ModelError, Usage,
};

/// What a fake backend's call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    ServerError,
    Timeout,
    ConnectionError,
    Rejected,
}

/// A backend whose calls follow a script (then a default outcome), take `call_time`, and answer
/// with the backend's name, and which records how many calls it had in flight at once.
struct FakeBackend {
    name: String,
    call_time: Duration,
    script: Mutex<VecDeque<Outcome>>,
    otherwise: Outcome,
    health_script: Mutex<VecDeque<bool>>,
    healthy_otherwise: bool,
    calls: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    health_checks: AtomicUsize,
}

impl FakeBackend {
    fn new(name: &str, otherwise: Outcome) -> Self {
        FakeBackend {
            name: name.to_string(),
            call_time: Duration::from_millis(10),
            script: Mutex::new(VecDeque::new()),
            otherwise,
            health_script: Mutex::new(VecDeque::new()),
            healthy_otherwise: true,
            calls: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            health_checks: AtomicUsize::new(0),
        }
    }

    /// These outcomes first, in the order calls complete.
    fn with_script(self, script: &[Outcome]) -> Self {
        *self.script.lock().unwrap() = script.iter().copied().collect();
        self
    }

    fn with_call_time(mut self, call_time: Duration) -> Self {
        self.call_time = call_time;
        self
    }

    fn unhealthy(mut self) -> Self {
        self.healthy_otherwise = false;
        self
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Backend for FakeBackend {
    fn identity(&self) -> String {
        "fake-model".to_string()
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.name)
    }

    async fn chat(&self, _request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let in_flight = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(in_flight, Ordering::SeqCst);
        tokio::time::sleep(self.call_time).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let outcome = self
            .script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(self.otherwise);
        let endpoint = self.endpoint();
        let message = format!("call {call}");
        match outcome {
            Outcome::Ok => Ok(ChatResponse {
                model: "fake-model".into(),
                choices: vec![Choice {
                    text: self.name.clone(),
                    finish_reason: FinishReason::Stop,
                    logprobs: None,
                }],
                usage: Usage::default(),
            }),
            Outcome::ServerError => Err(ModelError::Server {
                endpoint,
                status: 503,
                message,
            }),
            Outcome::Timeout => Err(ModelError::Timeout {
                endpoint,
                seconds: 30.0,
            }),
            Outcome::ConnectionError => Err(ModelError::Connection { endpoint, message }),
            Outcome::Rejected => Err(ModelError::Rejected {
                endpoint,
                status: 400,
                message,
            }),
        }
    }

    async fn health(&self) -> Result<(), ModelError> {
        self.health_checks.fetch_add(1, Ordering::SeqCst);
        let healthy = self
            .health_script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(self.healthy_otherwise);
        if healthy {
            Ok(())
        } else {
            Err(ModelError::Connection {
                endpoint: self.endpoint(),
                message: "health check refused".into(),
            })
        }
    }
}

fn request() -> ChatRequest {
    ChatRequest::new(vec![ChatMessage::user("Recommend me a movie.")])
}

fn fast_policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(1),
        jitter: 0.5,
    }
}

fn ejection(eject_after: u32) -> EjectionPolicy {
    EjectionPolicy {
        eject_after,
        base_ejection: Duration::from_secs(5),
        max_ejection: Duration::from_secs(60),
    }
}

fn pool_of(
    backends: &[Arc<FakeBackend>],
    capacity: usize,
    policy: RetryPolicy,
    ejection: EjectionPolicy,
) -> EndpointPool {
    let endpoints = backends
        .iter()
        .map(|backend| (Arc::clone(backend) as Arc<dyn Backend>, capacity))
        .collect();
    EndpointPool::new("crs".into(), endpoints, policy, ejection).unwrap()
}

fn answered_by(response: &ChatResponse) -> &str {
    &response.choices[0].text
}

#[tokio::test(start_paused = true)]
async fn capacity_is_never_exceeded_by_50_concurrent_requests() {
    let backends: Vec<Arc<FakeBackend>> = ["a", "b", "c"]
        .iter()
        .map(|name| Arc::new(FakeBackend::new(name, Outcome::Ok)))
        .collect();
    let pool = pool_of(&backends, 2, fast_policy(6), ejection(3));
    let mut requests = JoinSet::new();
    for _ in 0..50 {
        let pool = pool.clone();
        requests.spawn(async move { pool.chat(&request()).await });
    }
    let mut answered = 0;
    while let Some(result) = requests.join_next().await {
        result.unwrap().unwrap();
        answered += 1;
    }
    assert_eq!(answered, 50);
    assert_eq!(backends.iter().map(|b| b.calls()).sum::<usize>(), 50);
    for backend in &backends {
        assert_eq!(
            backend.max_in_flight(),
            2,
            "{} was saturated, never over",
            backend.name
        );
    }
    for endpoint in pool.stats().endpoints {
        assert_eq!(endpoint.outstanding, 0);
        assert_eq!(endpoint.counters.max_outstanding, 2);
        assert_eq!(endpoint.counters.retries, 0);
    }
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_server_errors_ejects_the_endpoint_until_its_health_check_passes() {
    use Outcome::ServerError;
    let flaky = Arc::new(FakeBackend::new("flaky", Outcome::Ok).with_script(&[
        ServerError,
        ServerError,
        ServerError,
    ]));
    let steady = Arc::new(FakeBackend::new("steady", Outcome::Ok));
    let backends = [Arc::clone(&flaky), Arc::clone(&steady)];
    let pool = pool_of(&backends, 2, fast_policy(6), ejection(3));

    let mut requests = JoinSet::new();
    for _ in 0..10 {
        let pool = pool.clone();
        requests.spawn(async move { pool.chat(&request()).await });
    }
    while let Some(result) = requests.join_next().await {
        result
            .unwrap()
            .expect("every request succeeds despite the burst");
    }
    let stats = pool.stats();
    let flaky_stats = &stats.endpoints[0];
    assert!(flaky_stats.ejected);
    assert_eq!(flaky_stats.counters.ejections, 1);
    assert_eq!(
        flaky_stats.counters.failures,
        BTreeMap::from([("server", 3)])
    );
    assert_eq!(
        stats
            .endpoints
            .iter()
            .map(|e| e.counters.retries)
            .sum::<u64>(),
        3
    );

    // While ejected, requests go elsewhere and no health check is due yet.
    let response = pool.chat(&request()).await.unwrap();
    assert_eq!(answered_by(&response), "steady");
    assert_eq!(flaky.health_checks.load(Ordering::SeqCst), 0);

    // Once the ejection has ended, the next request triggers the health check.
    tokio::time::sleep(Duration::from_secs(6)).await;
    pool.chat(&request()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(flaky.health_checks.load(Ordering::SeqCst), 1);
    let flaky_stats = pool.stats().endpoints[0].clone();
    assert!(!flaky_stats.ejected);
    assert_eq!(flaky_stats.counters.readmissions, 1);

    let response = pool.chat(&request()).await.unwrap();
    assert_eq!(
        answered_by(&response),
        "flaky",
        "re-admitted and idle, index 0 wins"
    );
}

#[tokio::test(start_paused = true)]
async fn a_rejected_request_returns_at_once_without_retry() {
    let backend = Arc::new(FakeBackend::new("a", Outcome::Rejected));
    let other = Arc::new(FakeBackend::new("b", Outcome::Ok));
    let pool = pool_of(
        &[Arc::clone(&backend), Arc::clone(&other)],
        2,
        fast_policy(6),
        ejection(1),
    );
    let error = pool.chat(&request()).await.unwrap_err();
    assert!(
        matches!(error, ModelError::Rejected { status: 400, .. }),
        "{error}"
    );
    assert_eq!(backend.calls(), 1);
    assert_eq!(other.calls(), 0);
    let stats = pool.stats();
    assert!(
        !stats.endpoints[0].ejected,
        "a 4xx says nothing about the server"
    );
    assert_eq!(
        stats.endpoints[0].counters.failures,
        BTreeMap::from([("rejected", 1)])
    );
}

#[tokio::test(start_paused = true)]
async fn an_always_failing_endpoint_gives_the_last_error_after_max_attempts() {
    use Outcome::{ConnectionError, Timeout};
    let backend = Arc::new(
        FakeBackend::new("a", Outcome::ServerError).with_script(&[Timeout, ConnectionError]),
    );
    let pool = pool_of(&[Arc::clone(&backend)], 1, fast_policy(4), ejection(3));
    let error = pool.chat(&request()).await.unwrap_err();
    match error {
        ModelError::Server { message, .. } => assert_eq!(message, "call 4"),
        other => panic!("expected the fourth call's server error, got {other}"),
    }
    assert_eq!(backend.calls(), 4);
    let counters = &pool.stats().endpoints[0].counters;
    assert_eq!(
        counters.failures,
        BTreeMap::from([("connection", 1), ("server", 2), ("timeout", 1)])
    );
    assert_eq!(counters.retries, 3);
    assert_eq!(
        counters.ejections, 0,
        "the role's only endpoint is kept: ejecting it would only stall the retries"
    );
    assert_eq!(backend.health_checks.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn requests_with_one_affinity_key_land_on_one_endpoint_under_light_load() {
    let backends: Vec<Arc<FakeBackend>> = ["a", "b", "c", "d"]
        .iter()
        .map(|name| Arc::new(FakeBackend::new(name, Outcome::Ok)))
        .collect();
    let pool = pool_of(&backends, 4, fast_policy(6), ejection(3));
    let mut used = BTreeSet::new();
    for key in 0..12 {
        let key = format!("sample-{key}");
        let mut endpoints = BTreeSet::new();
        for _ in 0..5 {
            let response = pool
                .chat_with_affinity(&request(), Some(&key))
                .await
                .unwrap();
            endpoints.insert(answered_by(&response).to_string());
        }
        assert_eq!(endpoints.len(), 1, "{key} went to {endpoints:?}");
        used.extend(endpoints);
    }
    assert!(used.len() >= 3, "keys spread over the endpoints: {used:?}");
}

#[tokio::test(start_paused = true)]
async fn a_retry_leaves_the_endpoint_that_failed_even_when_affinity_prefers_it() {
    let probe = [
        Arc::new(FakeBackend::new("a", Outcome::Ok)),
        Arc::new(FakeBackend::new("b", Outcome::Ok)),
    ];
    let key = Some("sample-42");
    let probe_pool = pool_of(&probe, 4, fast_policy(6), ejection(100));
    let preferred = answered_by(
        &probe_pool
            .chat_with_affinity(&request(), key)
            .await
            .unwrap(),
    )
    .to_string();
    let other = if preferred == "a" { "b" } else { "a" };
    let failing = Arc::new(FakeBackend::new(&preferred, Outcome::ServerError));
    let steady = Arc::new(FakeBackend::new(other, Outcome::Ok));
    let backends = if preferred == "a" {
        [Arc::clone(&failing), Arc::clone(&steady)]
    } else {
        [Arc::clone(&steady), Arc::clone(&failing)]
    };
    let pool = pool_of(&backends, 4, fast_policy(6), ejection(100));
    for _ in 0..5 {
        let response = pool.chat_with_affinity(&request(), key).await.unwrap();
        assert_eq!(answered_by(&response), other);
    }
    assert_eq!(
        (failing.calls(), steady.calls()),
        (5, 5),
        "each request tries its preferred endpoint once, then goes elsewhere"
    );
}

#[tokio::test(start_paused = true)]
async fn a_role_whose_every_endpoint_is_dead_fails_after_its_attempts_instead_of_hanging() {
    let backends = [
        Arc::new(FakeBackend::new("a", Outcome::ServerError).unhealthy()),
        Arc::new(FakeBackend::new("b", Outcome::ServerError).unhealthy()),
    ];
    let pool = pool_of(&backends, 2, fast_policy(5), ejection(1));
    let result = tokio::time::timeout(Duration::from_secs(3600), pool.chat(&request()))
        .await
        .expect("no hang");
    match result.unwrap_err() {
        ModelError::Server { message, .. } => assert_eq!(message, "call 4"),
        other => panic!("expected the last call's server error, got {other}"),
    }
    assert_eq!(
        (backends[0].calls(), backends[1].calls()),
        (1, 4),
        "a is ejected at its first failure; b, the last admitted, takes the other four"
    );
    let stats = pool.stats();
    assert!(stats.endpoints[0].ejected);
    assert!(!stats.endpoints[1].ejected, "the last admitted one is kept");
}

#[tokio::test(start_paused = true)]
async fn bursts_on_every_endpoint_at_once_keep_one_admitted_and_stall_no_request() {
    use Outcome::ServerError;
    let backends: Vec<Arc<FakeBackend>> = ["a", "b", "c"]
        .into_iter()
        .map(|name| {
            Arc::new(FakeBackend::new(name, Outcome::Ok).with_script(&[
                ServerError,
                ServerError,
                ServerError,
            ]))
        })
        .collect();
    let pool = pool_of(&backends, 2, fast_policy(6), ejection(3));
    let started = tokio::time::Instant::now();
    let mut requests = JoinSet::new();
    for _ in 0..12 {
        let pool = pool.clone();
        requests.spawn(async move { pool.chat(&request()).await });
    }
    while let Some(result) = requests.join_next().await {
        result.unwrap().expect("every request succeeds");
    }
    let stats = pool.stats();
    let ejected = stats.endpoints.iter().filter(|e| e.ejected).count();
    assert_eq!(
        ejected, 2,
        "every endpoint failed three times in a row, one is kept"
    );
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(5),
        "no request waited for an ejection to end: {elapsed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_request_gives_its_slot_back() {
    let backend =
        Arc::new(FakeBackend::new("a", Outcome::Ok).with_call_time(Duration::from_secs(10)));
    let pool = pool_of(&[Arc::clone(&backend)], 1, fast_policy(3), ejection(3));
    let cancelled = tokio::time::timeout(Duration::from_secs(1), pool.chat(&request())).await;
    assert!(cancelled.is_err());
    assert_eq!(pool.stats().endpoints[0].outstanding, 0);
    let response = pool.chat(&request()).await.unwrap();
    assert_eq!(answered_by(&response), "a");
}

#[tokio::test]
async fn the_pool_is_a_backend_with_its_first_endpoints_identity() {
    let backends = [
        Arc::new(FakeBackend::new("a", Outcome::Ok)),
        Arc::new(FakeBackend::new("b", Outcome::Ok)),
    ];
    let pool = pool_of(&backends, 1, fast_policy(3), ejection(3));
    let backend: Arc<dyn Backend> = Arc::new(pool);
    assert_eq!(backend.identity(), "fake-model");
    assert_eq!(backend.endpoint(), "crs pool [http://a, http://b]");
    backend.health().await.unwrap();
}

#[test]
fn pools_that_cannot_work_are_refused() {
    let no_endpoints = EndpointPool::new("crs".into(), Vec::new(), fast_policy(3), ejection(3));
    assert_eq!(
        no_endpoints.err(),
        Some(PoolError::NoEndpoints { role: "crs".into() })
    );
    let backend: Arc<dyn Backend> = Arc::new(FakeBackend::new("a", Outcome::Ok));
    let zero = EndpointPool::new(
        "crs".into(),
        vec![(Arc::clone(&backend), 0)],
        fast_policy(3),
        ejection(3),
    );
    assert!(matches!(zero.err(), Some(PoolError::ZeroCapacity { .. })));
    let no_attempts = EndpointPool::new(
        "crs".into(),
        vec![(backend, 1)],
        fast_policy(0),
        ejection(3),
    );
    assert!(matches!(
        no_attempts.err(),
        Some(PoolError::NoAttempts { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn a_role_whose_every_endpoint_fails_says_for_how_long_and_a_success_clears_it() {
    let dead = Arc::new(FakeBackend::new("dead", Outcome::ConnectionError).unhealthy());
    let pool = pool_of(&[Arc::clone(&dead)], 2, fast_policy(2), ejection(1));
    assert!(pool.failing_for().is_none(), "nothing failed yet");
    assert!(pool.chat(&request()).await.is_err());
    let (first, error) = pool.failing_for().expect("failing");
    assert!(error.contains("dead"), "{error}");
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(pool.chat(&request()).await.is_err());
    let (later, _) = pool.failing_for().expect("still failing");
    assert!(
        later >= first + Duration::from_secs(30),
        "{first:?} then {later:?}"
    );

    let steady = Arc::new(FakeBackend::new("steady", Outcome::Ok));
    let mixed = pool_of(&[dead, steady], 2, fast_policy(4), ejection(1));
    for _ in 0..4 {
        mixed
            .chat(&request())
            .await
            .expect("the steady endpoint answers");
    }
    assert!(
        mixed.failing_for().is_none(),
        "one live endpoint keeps the role alive"
    );
}

#[test]
fn a_pool_serves_at_once_what_its_endpoints_serve_together() {
    let endpoints: Vec<(Arc<dyn Backend>, usize)> = [("a", 3), ("b", 5), ("c", 1)]
        .into_iter()
        .map(|(name, capacity)| {
            (
                Arc::new(FakeBackend::new(name, Outcome::Ok)) as Arc<dyn Backend>,
                capacity,
            )
        })
        .collect();
    let pool = EndpointPool::new("user".into(), endpoints, fast_policy(3), ejection(3)).unwrap();
    assert_eq!(pool.capacity(), Some(9));
    let single: Arc<dyn Backend> = Arc::new(FakeBackend::new("a", Outcome::Ok));
    assert_eq!(single.capacity(), None, "a bare backend sets no bound");
}
