//! The `sim-vllm` binary: starts a fleet, prints where it listens, stops on SIGTERM with its
//! statistics.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use grsu::model::{Backend, ChatMessage, ChatRequest};

#[tokio::test]
async fn binary_starts_a_fleet_and_reports_on_exit() {
    let folder = common::demo_folder();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sim-vllm"))
        .args([
            "--replicas",
            "2",
            "--base-port",
            "0",
            "--time-scale",
            "0.001",
        ])
        .arg("--catalog")
        .arg(folder.join("movie2info.json"))
        .arg("--data")
        .arg(folder.join("conversations.jsonl"))
        .args(["--served-model-name", "sim", "grsu-user"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut urls = Vec::new();
    for _ in 0..2 {
        let line = lines.next().expect("a line per replica").unwrap();
        let replica: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(replica["models"][1], "grsu-user");
        urls.push(replica["url"].as_str().unwrap().to_string());
    }
    assert_ne!(urls[0], urls[1]);
    for url in &urls {
        let client = common::backend(url, Duration::from_secs(5));
        assert!(client
            .list_models()
            .await
            .unwrap()
            .contains(&"sim".to_string()));
        let response = client
            .chat(&ChatRequest::new(vec![ChatMessage::user("hello")]))
            .await
            .unwrap();
        assert_eq!(response.choices.len(), 1);
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let last = lines.next().expect("the statistics line").unwrap();
    let stats: serde_json::Value = serde_json::from_str(&last).unwrap();
    assert_eq!(stats["stats"]["total"]["served"], 2);
    assert_eq!(stats["stats"]["replicas"].as_array().unwrap().len(), 2);
    assert!(child.wait().unwrap().success());
}

#[test]
fn bad_flags_exit_with_status_2() {
    let folder = common::demo_folder();
    let output = Command::new(env!("CARGO_BIN_EXE_sim-vllm"))
        .arg("--catalog")
        .arg(folder.join("movie2info.json"))
        .args(["--reset-probability", "2"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("reset_probability"));
}
