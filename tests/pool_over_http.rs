//! The endpoint pool over real HTTP: replicas that answer 5xx bursts, hang, reset connections or
//! send malformed bodies. Every request still gets exactly one valid answer.

use std::sync::Arc;
use std::time::Duration;

use grsu::model::http::{HttpBackend, HttpEndpoint};
use grsu::model::pool::{EjectionPolicy, EndpointPool, RetryPolicy};
use grsu::model::{Backend, ChatMessage, ChatRequest};
use grsu_test_support::{shared_fixtures, Reply, ScriptedServer};

fn valid_body() -> Option<String> {
    shared_fixtures().map(|fixtures| {
        std::fs::read_to_string(fixtures.join("openai/vllm_chat_n2_logprobs.json")).unwrap()
    })
}

fn endpoint(server: &ScriptedServer) -> Arc<dyn Backend> {
    Arc::new(
        HttpBackend::new(HttpEndpoint {
            url: server.url(),
            model: "grsu-user".into(),
            api_key: None,
            timeout: Duration::from_millis(400),
            ca_file: None,
        })
        .unwrap(),
    )
}

fn pool(servers: &[&ScriptedServer]) -> EndpointPool {
    EndpointPool::new(
        "user".into(),
        servers.iter().map(|server| (endpoint(server), 3)).collect(),
        RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(80),
            jitter: 0.5,
        },
        EjectionPolicy {
            eject_after: 3,
            base_ejection: Duration::from_millis(150),
            max_ejection: Duration::from_secs(1),
        },
    )
    .unwrap()
}

fn request(index: u64) -> ChatRequest {
    let mut request = ChatRequest::new(vec![ChatMessage::user(format!("question {index}"))]);
    request.n = 2;
    request.seed = Some(index);
    request.logprobs = true;
    request
}

async fn ask_all(pool: &EndpointPool, count: u64) -> usize {
    let tasks: Vec<_> = (0..count)
        .map(|index| {
            let pool = pool.clone();
            tokio::spawn(async move {
                pool.chat_with_affinity(&request(index), Some(&format!("sample-{}", index % 5)))
                    .await
            })
        })
        .collect();
    let mut answered = 0;
    for task in tasks {
        let response = task.await.unwrap().expect("every request is answered");
        assert_eq!(response.choices.len(), 2);
        answered += 1;
    }
    answered
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_faulty_replica_is_routed_around_and_nothing_is_lost() {
    let Some(body) = valid_body() else { return };
    let malformed = Reply::Body(200, "{\"choices\": [".into());
    let faulty = ScriptedServer::start(
        vec![
            Reply::Body(500, "boom".into()),
            Reply::Body(502, "bad gateway".into()),
            Reply::Body(503, "unavailable".into()),
            Reply::Hang,
            Reply::Reset,
            malformed.clone(),
            Reply::Body(500, "boom".into()),
            Reply::Hang,
            Reply::Reset,
            malformed,
        ],
        Some(Reply::Body(200, body.clone())),
    )
    .await;
    let healthy = ScriptedServer::start(vec![], Some(Reply::Body(200, body))).await;
    let pool = pool(&[&faulty, &healthy]);
    assert_eq!(ask_all(&pool, 40).await, 40);
    let stats = pool.stats();
    let faulty_stats = &stats.endpoints[0].counters;
    let failures: u64 = faulty_stats.failures.values().sum();
    assert!(failures >= 3, "the faults were seen: {faulty_stats:?}");
    assert!(stats
        .endpoints
        .iter()
        .all(|endpoint| endpoint.outstanding == 0));
    assert!(stats
        .endpoints
        .iter()
        .all(|endpoint| endpoint.counters.max_outstanding <= 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_dies_and_comes_back_is_readmitted() {
    let Some(body) = valid_body() else { return };
    let flaky = ScriptedServer::start(vec![], Some(Reply::Reset)).await;
    let steady = ScriptedServer::start(vec![], Some(Reply::Body(200, body.clone()))).await;
    let pool = pool(&[&flaky, &steady]);
    assert_eq!(ask_all(&pool, 20).await, 20);
    assert!(
        pool.stats().endpoints[0].counters.ejections >= 1,
        "{:?}",
        pool.stats()
    );
    // The replica comes back: after its ejection ends, a health check re-admits it.
    flaky.set_fallback(Some(Reply::Body(200, body)));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(ask_all(&pool, 30).await, 30);
    let counters = &pool.stats().endpoints[0].counters;
    assert!(
        counters.readmissions >= 1 && counters.successes >= 1,
        "{counters:?}"
    );
}
