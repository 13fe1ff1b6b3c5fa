//! How `grsu run` fails, through the binary: dead endpoints stop the run within its bound with the
//! role, the endpoints and the resume line (exit 3); Ctrl-C says at once that it is draining and
//! stops at `[run] drain_timeout_s` (exit 130); a missing API key, a bad dataset of every cell and a misspelt key are bad input
//! (exit 2) naming the cell, the role, the cells, the line; so are an unknown key and a
//! discriminative scorer without a reward endpoint.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use grsu_test_support::{demo_titles, repository_root, write_config, DeterministicServer, Grsu};

const GRSU: Grsu = Grsu::new(env!("CARGO_BIN_EXE_grsu"));

/// A local address nothing listens on.
fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}/v1")
}

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

#[test]
fn a_role_whose_endpoints_are_all_dead_stops_the_run_within_its_bound() {
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("out");
    let dead = dead_url();
    let config = write_config(folder.path(), &dead, &output, 6, "");
    let started = Instant::now();
    let ran = GRSU.output(&[
        "run",
        config.to_str().unwrap(),
        "--set",
        "run.give_up_after_s=2",
    ]);
    let took = started.elapsed();
    let stderr = stderr_of(&ran);
    assert_eq!(ran.status.code(), Some(3), "{stderr}");
    assert!(took < Duration::from_secs(60), "took {took:?}");
    for expected in [
        "every endpoint of the `",
        &dead,
        "failed for",
        &format!("run `grsu run {}", config.display()),
    ] {
        assert!(stderr.contains(expected), "`{expected}` missing:\n{stderr}");
    }
}

#[test]
fn ctrl_c_says_at_once_that_the_run_is_stopping() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let root = repository_root();
    let server = runtime.block_on(DeterministicServer::start(
        demo_titles(&root),
        Duration::from_secs(3),
    ));
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("out");
    let config = write_config(folder.path(), &server.url(), &output, 4, "");
    let mut child = GRSU
        .command()
        // Ctrl-C drains the samples in flight for at most this long (tests/binary/drain.rs).
        .args([
            "run",
            config.to_str().unwrap(),
            "--set",
            "run.drain_timeout_s=1",
        ])
        .env("GRSU_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until requests are in flight (the server answers only after 3 s).
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.traffic().total() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let signalled = Instant::now();
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let took = signalled.elapsed();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        took < Duration::from_secs(5),
        "stopped after {took:?}:\n{stderr}"
    );
    assert!(stderr.contains("draining (Ctrl-C)"), "{stderr}");
    assert!(stderr.contains("to resume"), "{stderr}");
}

#[test]
fn a_missing_api_key_is_bad_input_naming_the_cell_and_the_role() {
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("out");
    let config = write_config(
        folder.path(),
        &dead_url(),
        &output,
        2,
        "[[variant]]\nname = \"keyed\"\nmodels.crs.api_key_env = \"GRSU_TEST_SURELY_UNSET_KEY\"\n",
    );
    let ran = GRSU.output(&["run", config.to_str().unwrap()]);
    let stderr = stderr_of(&ran);
    assert_eq!(ran.status.code(), Some(2), "{stderr}");
    for expected in ["cell `keyed`", "[models.crs]", "GRSU_TEST_SURELY_UNSET_KEY"] {
        assert!(stderr.contains(expected), "`{expected}` missing:\n{stderr}");
    }
}

#[test]
fn a_bad_dataset_read_by_every_cell_says_so_with_its_line() {
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("out");
    let root = repository_root();
    let data = folder.path().join("broken.jsonl");
    let mut lines = std::fs::read_to_string(root.join("data/demo/conversations.jsonl")).unwrap();
    lines.push_str("{\"conv_id\": \"broken\", \"messages\": [\n");
    std::fs::write(&data, lines).unwrap();
    let config = write_config(
        folder.path(),
        &dead_url(),
        &output,
        2,
        "[grid]\n\"search.depth\" = [1, 2]\n\"search.strategy\" = [\"beam\", \"monte-carlo\"]\n",
    );
    let text = std::fs::read_to_string(&config).unwrap().replace(
        &format!("{}/data/demo/conversations.jsonl", root.display()),
        &data.display().to_string(),
    );
    std::fs::write(&config, text).unwrap();
    let ran = GRSU.output(&["run", config.to_str().unwrap()]);
    let stderr = stderr_of(&ran);
    assert_eq!(ran.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("the data of every cell"), "{stderr}");
    assert!(stderr.contains("broken.jsonl"), "{stderr}");
    assert!(
        stderr.contains("broken.jsonl:13:"),
        "the file and line are named:\n{stderr}"
    );
}

#[test]
fn a_misspelt_key_names_its_line_and_column() {
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("out");
    let config = write_config(folder.path(), &dead_url(), &output, 2, "");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("depth = 3", "detph = 3");
    let line = text
        .lines()
        .position(|line| line.starts_with("detph"))
        .unwrap()
        + 1;
    std::fs::write(&config, text).unwrap();
    let ran = GRSU.output(&["run", config.to_str().unwrap()]);
    let stderr = stderr_of(&ran);
    assert_eq!(ran.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unknown field `detph`"), "{stderr}");
    assert!(
        stderr.contains(&format!("line {line}, column 1")),
        "line {line} expected:\n{stderr}"
    );
}

#[test]
fn a_config_with_a_typo_or_another_store_is_refused_with_exit_code_two() {
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("out");
    let config = write_config(
        folder.path(),
        "http://127.0.0.1:9",
        &output,
        1,
        "critque = true",
    );
    let refused = GRSU.output(&["run", config.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2));
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("unknown field `critque`"), "{message}");
}

#[test]
fn a_discriminative_scorer_without_a_reward_endpoint_is_refused_naming_the_key() {
    let folder = tempfile::tempdir().unwrap();
    let refused_config = write_config(
        folder.path(),
        &dead_url(),
        &folder.path().join("refused"),
        1,
        "scorer = \"discriminative\"",
    );
    let refused = GRSU.output(&["run", refused_config.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("[user] scorer"));
}
