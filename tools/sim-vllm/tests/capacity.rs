//! The capacity model and the prefix cache, seen from a client.

mod common;

use std::time::{Duration, Instant};

use grsu::model::{Backend, ChatMessage, ChatRequest};
use sim_vllm::Workload;

/// A short request answered `Yes.` (2 completion tokens).
fn probe(text: &str) -> ChatRequest {
    let mut request = ChatRequest::new(vec![ChatMessage::user(text)]);
    request.max_tokens = 16;
    request
}

#[tokio::test]
async fn two_slots_run_six_requests_in_three_rounds() {
    // One service = 2 completion tokens at 2 tokens/s = 1 simulated second = 0.2 s real; prefill
    // is negligible.
    let fleet = common::fleet(|config| {
        config.capacity.max_running_sequences = 2;
        config.capacity.prefill_tokens_per_s = 1e6;
        config.capacity.decode_tokens_per_s_per_sequence = 2.0;
        config.capacity.time_scale = 0.2;
    })
    .await;
    let client = common::backend(&fleet[0].url(), Duration::from_secs(10));
    // Connections are opened first, so that connection set-up does not count.
    client.chat(&probe("warm up")).await.unwrap();
    fleet[0].reset_stats();
    let started = Instant::now();
    let requests: Vec<_> = (0..6)
        .map(|index| {
            let client = client.clone();
            tokio::spawn(async move { client.chat(&probe(&format!("request {index}"))).await })
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.unwrap().unwrap().choices[0].text, "Yes.");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let stats = fleet[0].stats();
    assert_eq!(stats.max_running, 2, "{stats:?}");
    // The first two take slots at once; the other four queue.
    assert_eq!(stats.max_queue_length, 4);
    assert_eq!(
        (stats.served, stats.sequences, stats.completion_tokens),
        (6, 6, 12)
    );
    // Three rounds of 0.2 s (one at a time would take 1.2 s, all at once 0.2 s).
    assert!(
        (0.58..1.1).contains(&elapsed),
        "{elapsed} s for 3 service times of 0.2 s"
    );
    // Six slot-seconds of work; the slots were full all the time.
    assert!((stats.slot_s - 6.0).abs() < 0.6, "{}", stats.slot_s);
    assert!(stats.utilisation > 0.8, "{}", stats.utilisation);
    // The theoretical capacity of this workload: 2 requests per simulated second.
    let workload = Workload::measured(&stats);
    assert!((workload.completion_tokens_per_sequence - 2.0).abs() < 1e-9);
    let capacity = fleet.config().capacity(&workload);
    assert!((capacity.requests_per_s - 2.0).abs() < 0.01, "{capacity:?}");
    fleet.shutdown().await;
}

#[tokio::test]
async fn n_choices_are_sequences_of_their_own() {
    let fleet = common::fleet(|config| {
        config.capacity.max_running_sequences = 4;
        config.capacity.prefill_tokens_per_s = 1e6;
        config.capacity.decode_tokens_per_s_per_sequence = 2.0;
        config.capacity.time_scale = 0.2;
    })
    .await;
    let client = common::backend(&fleet[0].url(), Duration::from_secs(10));
    let mut request = probe("how many?");
    request.n = 8;
    request.temperature = 1.0;
    request.seed = Some(3);
    let started = Instant::now();
    let response = client.chat_once(&request).await.unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(response.choices.len(), 8);
    let stats = fleet[0].stats();
    assert_eq!((stats.sequences, stats.max_running), (8, 4));
    // 8 sequences of 0.2 s on 4 slots: two rounds.
    assert!((0.39..0.75).contains(&elapsed), "{elapsed}");
    fleet.shutdown().await;
}

#[tokio::test]
async fn prefix_cache_hits_repeated_prefixes_and_not_a_cold_start() {
    let fleet = common::fleet(|_| {}).await;
    let client = common::backend(&fleet[0].url(), Duration::from_secs(10));
    let shared =
        "## Conversation\n\n".to_string() + &"User: a long shared history line.\n".repeat(20);
    client
        .chat(&probe(&format!("{shared}\n\n## One")))
        .await
        .unwrap();
    let cold = fleet[0].stats();
    assert_eq!(cold.cached_tokens, 0);
    assert_eq!(cold.prefix_cache_hit_rate, 0.0);
    client
        .chat(&probe(&format!("{shared}\n\n## Two")))
        .await
        .unwrap();
    let warm = fleet[0].stats();
    assert!(warm.cached_tokens >= 100, "{warm:?}");
    assert!(
        warm.prefix_cache_hit_rate > 0.3,
        "{}",
        warm.prefix_cache_hit_rate
    );
    // A cleared cache is cold again.
    fleet[0].clear_prefix_cache();
    client
        .chat(&probe(&format!("{shared}\n\n## Three")))
        .await
        .unwrap();
    assert_eq!(fleet[0].stats().cached_tokens, warm.cached_tokens);
    fleet.shutdown().await;
}
