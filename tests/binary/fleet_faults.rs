//! Faults, through the binary, against a simulated vLLM fleet (`sim-vllm`): replicas that return
//! bursts of 5xx, hang, reset connections, send malformed bodies and spike in latency, one that
//! dies mid-run and comes back, and an orchestrator killed with SIGKILL again and again. Every run
//! finishes with every sample recorded once and the predictions of an undisturbed run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use grsu::catalog::CatalogFormat;
use grsu::data::DatasetFormat;
use grsu_test_support::{predictions, repository_root, Grsu};
use serde_json::Value;
use sim_vllm::{DownWindow, FaultConfig, Fleet, FleetConfig, World};

const GRSU: Grsu = Grsu::new(env!("CARGO_BIN_EXE_grsu"));

const SAMPLES: usize = 4;

async fn fleet(replicas: usize, faults: FaultConfig, down: Option<(usize, DownWindow)>) -> Fleet {
    let root = repository_root();
    let world = World::load(
        &root.join("data/demo/movie2info.json"),
        CatalogFormat::Auto,
        Some((
            &root.join("data/demo/conversations.jsonl"),
            DatasetFormat::Grsu,
        )),
    )
    .unwrap();
    let mut config = FleetConfig::new(Arc::new(world));
    config.replicas = replicas;
    // 1 simulated second = 2 ms: requests take a few milliseconds, windows are short.
    config.capacity.time_scale = 0.002;
    config.faults = faults;
    config.seed = 11;
    if let Some((replica, window)) = down {
        let mut faults = config.faults.clone();
        faults.down.push(window);
        config.replica_faults.insert(replica, faults);
    }
    sim_vllm::spawn_fleet(config).await.unwrap()
}

fn write_config(folder: &Path, urls: &[String], output: &Path) -> PathBuf {
    let root = repository_root();
    let endpoints = urls
        .iter()
        .map(|url| format!("\"{url}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let config = format!(
        r#"
[run]
name = "faults"
seeds = [0]
output = "{output}"
max_in_flight = 4

[data]
format = "grsu"
path = "{root}/data/demo/conversations.jsonl"
catalog = "{root}/data/demo/movie2info.json"
limit = {SAMPLES}

[models.crs]
endpoints = [{endpoints}]
model = "sim"
max_concurrency = 8
timeout_s = 1.0

[models.user]
endpoints = [{endpoints}]
model = "sim"
max_concurrency = 8
timeout_s = 1.0

[search]
beam_width = 2
expand_width = 2
depth = 2
list_length = 5

[user]
scoring_mode = "forced"

[output]
strategies = ["reward-mean", "best-list"]
"#,
        output = output.display(),
        root = root.display(),
    );
    let path = folder.join("config.toml");
    std::fs::write(&path, config).unwrap();
    path
}

fn faulty() -> FaultConfig {
    FaultConfig {
        latency_spike_probability: 0.05,
        latency_spike_ms: 100_000.0, // 200 ms real
        server_error_probability: 0.03,
        server_error_burst: 3,
        server_error_status: 503,
        reset_probability: 0.03,
        hang_probability: 0.02,
        malformed_probability: 0.03,
        ..FaultConfig::none()
    }
}

async fn run_to_end(config: &Path) -> std::process::Output {
    let config = config.to_path_buf();
    tokio::task::spawn_blocking(move || GRSU.output(&["run", config.to_str().unwrap()]))
        .await
        .unwrap()
}

/// Every record once; its predictions by sample.
fn checked_predictions(output: &Path) -> BTreeMap<String, Value> {
    let records = GRSU.export(output);
    let mut units: Vec<String> = records
        .iter()
        .map(|record| {
            format!(
                "{}/{}/{}",
                record["search"], record["seed"], record["sample"]
            )
        })
        .collect();
    units.sort();
    units.dedup();
    assert_eq!(units.len(), records.len(), "a record was duplicated");
    assert_eq!(records.len(), SAMPLES, "a sample was lost");
    predictions(&records)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_and_kills_leave_the_predictions_of_an_undisturbed_run() {
    let folder = tempfile::tempdir().unwrap();

    // Undisturbed.
    let clean = fleet(1, FaultConfig::none(), None).await;
    let clean_output = folder.path().join("clean");
    std::fs::create_dir_all(folder.path().join("a")).unwrap();
    let config = write_config(&folder.path().join("a"), &clean.urls(), &clean_output);
    let finished = run_to_end(&config).await;
    assert!(
        finished.status.success(),
        "{}",
        String::from_utf8_lossy(&finished.stderr)
    );
    let expected = checked_predictions(&clean_output);

    // Three faulty replicas; replica 1 is dead from 0.1 s to 0.8 s of the run, then comes back.
    let down = DownWindow {
        from_s: 50.0,
        until_s: 400.0,
    };
    let broken = fleet(3, faulty(), Some((1, down))).await;
    let broken_output = folder.path().join("broken");
    std::fs::create_dir_all(folder.path().join("b")).unwrap();
    let config = write_config(&folder.path().join("b"), &broken.urls(), &broken_output);
    let finished = run_to_end(&config).await;
    assert!(
        finished.status.success(),
        "{}",
        String::from_utf8_lossy(&finished.stderr)
    );
    assert_eq!(checked_predictions(&broken_output), expected);
    let faults = broken.stats().total.faults;
    assert!(
        faults.server_errors > 0
            && faults.resets > 0
            && faults.malformed > 0
            && faults.hangs + faults.latency_spikes > 0,
        "faults were injected: {faults:?}"
    );
    assert!(
        broken.stats().replicas[1].faults.down_periods > 0,
        "replica 1 went down"
    );
    eprintln!("faults injected: {faults:?}");

    // The orchestrator killed with SIGKILL in a loop on the faulty fleet, then run to the end.
    let killed = fleet(3, faulty(), None).await;
    let killed_output = folder.path().join("killed");
    std::fs::create_dir_all(folder.path().join("c")).unwrap();
    let config = write_config(&folder.path().join("c"), &killed.urls(), &killed_output);
    let mut kills = 0;
    for wait_ms in [150u64, 250, 350, 450, 550, 650] {
        let mut child = GRSU
            .command()
            .args(["run", config.to_str().unwrap()])
            .env("GRSU_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(wait_ms)).await;
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            kills += 1;
        }
        child.wait().unwrap();
    }
    assert!(
        kills >= 2,
        "only {kills} kills landed: the run is too fast to test"
    );
    eprintln!("{kills} kills");
    let finished = run_to_end(&config).await;
    assert!(
        finished.status.success(),
        "{}",
        String::from_utf8_lossy(&finished.stderr)
    );
    assert_eq!(checked_predictions(&killed_output), expected);
}
