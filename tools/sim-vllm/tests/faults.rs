//! Each fault, as the engine's client sees it, reproducibly for a seed.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use grsu::model::{ChatMessage, ChatRequest, ModelError};
use sim_vllm::{DownMode, DownWindow, FaultConfig, FaultKind};

fn probe() -> ChatRequest {
    let mut request = ChatRequest::new(vec![ChatMessage::user("Is the sky blue?")]);
    request.max_tokens = 8;
    request
}

/// The outcome of a call as a label: `ok` or the error's label (with the status of a 5xx).
fn outcome(result: &Result<grsu::model::ChatResponse, ModelError>) -> String {
    match result {
        Ok(_) => "ok".into(),
        Err(ModelError::Server { status, .. }) => format!("server {status}"),
        Err(error) => error.label().into(),
    }
}

#[tokio::test]
async fn each_scripted_fault_gives_the_error_the_engine_expects() {
    let fleet = common::fleet(|config| {
        config.faults = FaultConfig {
            script: BTreeMap::from([
                (0, FaultKind::ServerError),
                (1, FaultKind::Reset),
                (2, FaultKind::Hang),
                (3, FaultKind::Malformed),
                (4, FaultKind::LatencySpike),
            ]),
            server_error_status: 503,
            latency_spike_ms: 300_000.0, // 300 ms real at time scale 0.001
            ..FaultConfig::default()
        };
    })
    .await;
    let client = common::backend(&fleet[0].url(), Duration::from_millis(250));
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(outcome(&client.chat_once(&probe()).await));
    }
    assert_eq!(seen, ["server 503", "connection", "timeout", "malformed"]);
    // The spike outlasts this client's timeout; a patient client gets the answer late.
    let patient = common::backend(&fleet[0].url(), Duration::from_secs(5));
    let started = Instant::now();
    patient.chat_once(&probe()).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(290));
    assert_eq!(outcome(&client.chat_once(&probe()).await), "ok");
    let faults = fleet[0].stats().faults;
    assert_eq!(
        (
            faults.server_errors,
            faults.resets,
            faults.hangs,
            faults.malformed,
            faults.latency_spikes
        ),
        (1, 1, 1, 1, 1)
    );
    let stats = fleet[0].stats();
    assert_eq!((stats.requests, stats.served), (6, 3));
    fleet.shutdown().await;
}

#[tokio::test]
async fn random_faults_repeat_for_a_seed() {
    let faults = FaultConfig {
        server_error_probability: 0.1,
        server_error_burst: 2,
        reset_probability: 0.1,
        hang_probability: 0.05,
        malformed_probability: 0.1,
        ..FaultConfig::default()
    };
    let mut runs = Vec::new();
    for seed in [7, 7, 8] {
        let fleet = common::fleet(|config| {
            config.faults = faults.clone();
            config.seed = seed;
        })
        .await;
        let client = common::backend(&fleet[0].url(), Duration::from_millis(200));
        let mut seen = Vec::new();
        for _ in 0..60 {
            seen.push(outcome(&client.chat_once(&probe()).await));
        }
        let counted = fleet[0].stats().faults;
        let count = |label: &str| seen.iter().filter(|seen| seen.as_str() == label).count() as u64;
        assert_eq!(counted.server_errors, count("server 500"));
        assert_eq!(counted.resets, count("connection"));
        assert_eq!(counted.hangs, count("timeout"));
        assert_eq!(counted.malformed, count("malformed"));
        runs.push(seen);
        fleet.shutdown().await;
    }
    assert_eq!(runs[0], runs[1]);
    assert_ne!(runs[0], runs[2]);
    for label in ["ok", "server 500", "connection", "malformed"] {
        assert!(
            runs[0].iter().any(|seen| seen == label),
            "no {label} in {:?}",
            runs[0]
        );
    }
}

#[tokio::test]
async fn a_replica_goes_down_and_comes_back() {
    for mode in [DownMode::Refuse, DownMode::Reset] {
        // Real time: down from 0.3 s to 0.7 s after start.
        let fleet = common::fleet(|config| {
            config.capacity.time_scale = 1.0;
            config.capacity.decode_tokens_per_s_per_sequence = 1000.0;
            config.faults = FaultConfig {
                down: vec![DownWindow {
                    from_s: 0.3,
                    until_s: 0.7,
                }],
                down_mode: mode,
                ..FaultConfig::default()
            };
        })
        .await;
        let started = Instant::now();
        let client = common::backend(&fleet[0].url(), Duration::from_secs(2));
        assert_eq!(outcome(&client.chat_once(&probe()).await), "ok");
        tokio::time::sleep_until((started + Duration::from_millis(450)).into()).await;
        assert!(fleet[0].is_down());
        assert_eq!(
            outcome(&client.chat_once(&probe()).await),
            "connection",
            "{mode:?}"
        );
        let connected = tokio::net::TcpStream::connect(fleet[0].address()).await;
        match mode {
            DownMode::Refuse => assert_eq!(
                connected.unwrap_err().kind(),
                std::io::ErrorKind::ConnectionRefused
            ),
            DownMode::Reset => assert!(connected.is_ok()),
        }
        tokio::time::sleep_until((started + Duration::from_millis(850)).into()).await;
        assert!(!fleet[0].is_down());
        assert_eq!(outcome(&client.chat_once(&probe()).await), "ok", "{mode:?}");
        let stats = fleet[0].stats();
        assert_eq!(stats.faults.down_periods, 1);
        assert_eq!(stats.served, 2);
        fleet.shutdown().await;
    }
}

#[tokio::test]
async fn shutdown_closes_the_port() {
    let fleet = common::fleet(|_| {}).await;
    let address = fleet[0].address();
    let client = common::backend(&fleet[0].url(), Duration::from_secs(2));
    client.chat_once(&probe()).await.unwrap();
    fleet.shutdown().await;
    assert!(tokio::net::TcpStream::connect(address).await.is_err());
}
