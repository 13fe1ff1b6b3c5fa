//! `kill -9` of `grsu run` at several moments, then a final run: the predictions equal those of an
//! uninterrupted run, no record is duplicated, and only calls in flight at a kill are asked again.

use std::process::Stdio;
use std::time::Duration;

use grsu_test_support::{
    demo_titles, predictions, repository_root, write_config, DeterministicServer, Grsu,
};

const GRSU: Grsu = Grsu::new(env!("CARGO_BIN_EXE_grsu"));

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_runs_resume_to_the_uninterrupted_result() {
    let root = repository_root();
    let delay = Duration::from_millis(15);
    let samples = 6;
    let folder = tempfile::tempdir().unwrap();

    // The uninterrupted run, against its own server.
    let reference_server = DeterministicServer::start(demo_titles(&root), delay).await;
    let reference_output = folder.path().join("reference");
    let reference_folder = folder.path().join("reference-config");
    std::fs::create_dir_all(&reference_folder).unwrap();
    let reference_config = write_config(
        &reference_folder,
        &reference_server.url(),
        &reference_output,
        samples,
        "",
    );
    let finished = tokio::task::spawn_blocking(move || {
        GRSU.output(&["run", reference_config.to_str().unwrap()])
    })
    .await
    .unwrap();
    assert!(
        finished.status.success(),
        "{}",
        String::from_utf8_lossy(&finished.stderr)
    );
    let expected = predictions(&GRSU.export(&reference_output));
    assert_eq!(expected.len(), samples);
    let uninterrupted_calls = reference_server.traffic().total();

    // The same run killed with SIGKILL three times, then finished.
    let server = DeterministicServer::start(demo_titles(&root), delay).await;
    let output = folder.path().join("killed");
    let config = write_config(folder.path(), &server.url(), &output, samples, "");
    let mut kills = 0;
    for wait_ms in [350u64, 600, 900] {
        let mut child = GRSU
            .command()
            .args(["run", config.to_str().unwrap()])
            .env("GRSU_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(wait_ms)).await;
        if kills == 0 && child.try_wait().unwrap().is_none() {
            // While the sweep holds its store, `grsu status` shows its progress snapshot.
            let status = GRSU.output(&["status", output.to_str().unwrap()]);
            let text = String::from_utf8_lossy(&status.stdout);
            assert!(
                status.status.success(),
                "{}",
                String::from_utf8_lossy(&status.stderr)
            );
            assert!(text.contains("a sweep is running"), "{text}");
            assert!(text.contains(&format!("pid {}", child.id())), "{text}");
        }
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
    }
    assert!(
        kills >= 1,
        "the run finished before any kill: make the server slower"
    );
    let last = tokio::task::spawn_blocking({
        let config = config.clone();
        move || GRSU.output(&["run", config.to_str().unwrap()])
    })
    .await
    .unwrap();
    assert!(
        last.status.success(),
        "{}",
        String::from_utf8_lossy(&last.stderr)
    );

    let records = GRSU.export(&output);
    let mut ids: Vec<&str> = records
        .iter()
        .map(|record| record["sample"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), records.len(), "a record was duplicated");
    assert_eq!(
        predictions(&records),
        expected,
        "predictions differ from the uninterrupted run"
    );

    let traffic = server.traffic();
    let repeated = traffic.repeated_finished_calls();
    eprintln!(
        "kills: {kills}; calls: {} (uninterrupted: {uninterrupted_calls}); repeated finished calls: {repeated}",
        traffic.total()
    );
    // Only calls in flight when a process was killed can be asked again: at most the endpoints'
    // concurrency (4 per role, 2 roles) per kill.
    assert!(
        repeated <= kills * 8,
        "{repeated} repeated finished calls after {kills} kills"
    );
}
