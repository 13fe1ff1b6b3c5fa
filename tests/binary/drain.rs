//! SIGTERM and Ctrl-C drain `grsu run`: it says at once that it drains and how many calls are in
//! flight, admits no more samples, lets those in flight finish up to `[run] drain_timeout_s`,
//! stores them, and exits with 143 (SIGTERM) or 130 (Ctrl-C) and the command that resumes it; the
//! resumed run asks no finished call again. A second signal stops it at once. The runs go through
//! the binary against the in-process deterministic server, the signals through `kill`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use grsu_test_support::{demo_titles, repository_root, write_config, DeterministicServer, Grsu};

const GRSU: Grsu = Grsu::new(env!("CARGO_BIN_EXE_grsu"));

/// A `grsu run` in the background with its stderr read line by line.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(config: &Path, set: &[&str]) -> Running {
        let mut command = GRSU.command();
        command
            .args(["run", config.to_str().unwrap()])
            .env("GRSU_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for assignment in set {
            command.args(["--set", assignment]);
        }
        Running::spawn(command)
    }

    fn spawn(mut command: std::process::Command) -> Running {
        let mut child = command.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    fn signal(&self, name: &str) {
        let sent = std::process::Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{name}");
    }

    /// The first stderr line containing `text`, waiting up to `within`.
    fn wait_for(&mut self, text: &str, within: Duration) -> String {
        let until = Instant::now() + within;
        loop {
            if let Some(line) = self.seen.iter().find(|line| line.contains(text)) {
                return line.clone();
            }
            let left = until.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!(
                    "no `{text}` on stderr within {within:?}:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Waits for the exit (at most `within`): its code and how long it took.
    fn exit(&mut self, within: Duration) -> (Option<i32>, Duration) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.seen.push(line);
                }
                return (status.code(), started.elapsed());
            }
            if started.elapsed() > within {
                let _ = self.child.kill();
                panic!("no exit within {within:?}:\n{}", self.seen.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stderr(&self) -> String {
        self.seen.join("\n")
    }
}

/// Waits until the run has written its progress snapshot with some model calls in it.
fn wait_until_working(output: &Path) {
    let until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < until {
        if let Ok(text) = std::fs::read_to_string(output.join("progress.json")) {
            let snapshot: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            let calls: u64 = snapshot["roles"]
                .as_object()
                .map(|roles| {
                    roles
                        .values()
                        .map(|role| role["calls"].as_u64().unwrap_or(0))
                        .sum()
                })
                .unwrap_or(0);
            if calls >= 4 {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the run made no calls within 30 s");
}

/// The number before `word` in `line` ("3 samples" → 3).
fn number_before(line: &str, word: &str) -> u64 {
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| *w == word)
        .unwrap_or_else(|| panic!("no `{word}` in {line}"));
    words[at - 1]
        .parse()
        .unwrap_or_else(|_| panic!("no number before `{word}` in {line}"))
}

fn run_to_the_end(config: &Path) {
    let finished = GRSU.output(&["run", config.to_str().unwrap()]);
    assert!(
        finished.status.success(),
        "{}",
        String::from_utf8_lossy(&finished.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_the_samples_in_flight_and_the_resumed_run_repeats_no_call() {
    let root = repository_root();
    let server = DeterministicServer::start(demo_titles(&root), Duration::from_millis(20)).await;
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("drained");
    let samples = 8;
    let config = write_config(folder.path(), &server.url(), &output, samples, "");
    let (output_, config_) = (output.clone(), config.clone());
    let (drain_line, code, took, stderr) = tokio::task::spawn_blocking(move || {
        let mut run = Running::start(&config_, &["run.max_in_flight=2"]);
        wait_until_working(&output_);
        let signalled = Instant::now();
        // Twice at once, as Slurm's scancel does (to the job's shell, which forwards it, and to
        // grsu): one signal, a drain.
        run.signal("TERM");
        run.signal("TERM");
        let line = run.wait_for("draining (SIGTERM)", Duration::from_secs(5));
        let said_after = signalled.elapsed();
        let (code, _) = run.exit(Duration::from_secs(60));
        assert!(
            said_after < Duration::from_secs(2),
            "the drain was said after {said_after:?}"
        );
        (line, code, signalled.elapsed(), run.stderr())
    })
    .await
    .unwrap();
    assert_eq!(code, Some(143), "{stderr}");
    eprintln!("stderr of the drained run:\n{stderr}");
    let in_flight = number_before(&drain_line, "samples");
    let calls_in_flight = number_before(&drain_line, "model");
    assert!(in_flight >= 1 && calls_in_flight >= 1, "{drain_line}");
    assert!(
        stderr.contains("every sample in flight finished before the deadline"),
        "{stderr}"
    );
    assert!(stderr.contains("to resume"), "{stderr}");
    assert!(
        stderr.contains("--set run.max_in_flight=2"),
        "the resume line keeps the overrides: {stderr}"
    );
    let stored = GRSU.export(&output);
    let finished_line = stderr
        .lines()
        .find(|line| line.contains("samples finished in this run"))
        .unwrap();
    let finished = number_before(finished_line, "samples");
    assert_eq!(stored.len() as u64, finished, "{stderr}");
    assert!(
        finished >= in_flight,
        "the samples in flight were not stored: {stderr}"
    );
    assert!(
        (stored.len() as u64) < samples as u64,
        "the drain admitted every sample: make the server slower"
    );
    let before = server.traffic();

    run_to_the_end(&config);
    let records = GRSU.export(&output);
    assert_eq!(records.len(), samples);
    let traffic = server.traffic();
    eprintln!(
        "drain figures: SIGTERM with {in_flight} samples and {calls_in_flight} model calls in flight; \
         {finished} samples finished and stored, exit code 143 after {took:?}; calls before resume {}, \
         after {}; repeated finished calls after resume: {}",
        before.total(),
        traffic.total(),
        traffic.repeated_finished_calls()
    );
    assert_eq!(traffic.repeated_finished_calls(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_drains_until_the_deadline_and_a_second_signal_stops_at_once() {
    let root = repository_root();
    let server = DeterministicServer::start(demo_titles(&root), Duration::from_millis(150)).await;
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("interrupted");
    let config = write_config(folder.path(), &server.url(), &output, 6, "");
    let (output_, config_) = (output.clone(), config.clone());
    tokio::task::spawn_blocking(move || {
        // Ctrl-C with a short deadline: the samples in flight cannot finish in it.
        let mut run = Running::start(&config_, &["run.drain_timeout_s=0.5"]);
        wait_until_working(&output_);
        run.signal("INT");
        run.wait_for("draining (Ctrl-C)", Duration::from_secs(5));
        let (code, took) = run.exit(Duration::from_secs(30));
        let stderr = run.stderr();
        assert_eq!(code, Some(130), "{stderr}");
        assert!(took < Duration::from_secs(5), "{took:?}: {stderr}");
        assert!(
            stderr.contains("still in flight at the 0.5 s deadline"),
            "{stderr}"
        );
        assert!(stderr.contains("to resume"), "{stderr}");

        // SIGTERM, then a second signal while draining (a long deadline): it exits at once.
        let mut run = Running::start(&config_, &["run.drain_timeout_s=60"]);
        std::thread::sleep(Duration::from_millis(300));
        wait_until_working(&output_);
        run.signal("TERM");
        run.wait_for("draining (SIGTERM)", Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(600));
        let second = Instant::now();
        run.signal("INT");
        let (code, _) = run.exit(Duration::from_secs(30));
        let took = second.elapsed();
        let stderr = run.stderr();
        assert_eq!(code, Some(143), "{stderr}");
        assert!(
            took < Duration::from_secs(3),
            "the second signal took {took:?}: {stderr}"
        );
        assert!(stderr.contains("stopped at once"), "{stderr}");
        eprintln!("second signal: exit 143 after {took:?}");
    })
    .await
    .unwrap();
    // Nothing finished was lost: the resumed run asks again at most the calls in flight at the
    // two stops (4 per endpoint and role: 8 each).
    run_to_the_end(&config);
    assert_eq!(GRSU.export(&output).len(), 6);
    let repeated = server.traffic().repeated_finished_calls();
    eprintln!("repeated finished calls after two abandoned stops: {repeated}");
    assert!(repeated <= 16, "{repeated}");
}

/// `deploy/slurm/sweep.sbatch` run by bash as Slurm would run a task (SIGTERM to the shell only,
/// as `--signal=B:TERM@60` sends it): it passes the signal on to `grsu run --shard auto`, which
/// drains into its shard, and exits with grsu's code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_slurm_task_script_passes_sigterm_on_and_exits_with_the_drain_code() {
    let root = repository_root();
    let server = DeterministicServer::start(demo_titles(&root), Duration::from_millis(20)).await;
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("sweep");
    let config = write_config(folder.path(), &server.url(), &output, 8, "");
    let shard = output.join("shards/1-of-2");
    let (folder_, shard_) = (folder.path().to_path_buf(), shard.clone());
    tokio::task::spawn_blocking(move || {
        let mut command = std::process::Command::new("bash");
        command
            .arg(root.join("deploy/slurm/sweep.sbatch"))
            .env("GRSU_CONFIG", &config)
            .env("GRSU_OUTPUT", &output)
            .env("GRSU_BIN", env!("CARGO_BIN_EXE_grsu"))
            .env("GRSU_WORKDIR", &folder_)
            .env("GRSU_SKIP_DOCTOR", "1")
            .env("GRSU_RUN_ARGS", "--set run.max_in_flight=2")
            .env("GRSU_LOG", "warn")
            .env("SLURM_ARRAY_TASK_ID", "1")
            .env("SLURM_ARRAY_TASK_MIN", "0")
            .env("SLURM_ARRAY_TASK_MAX", "1")
            .env_remove("JOB_COMPLETION_INDEX")
            .env_remove("GRSU_SHARD")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut task = Running::spawn(command);
        wait_until_working(&shard_);
        task.signal("TERM");
        task.wait_for("draining (SIGTERM)", Duration::from_secs(5));
        let (code, _) = task.exit(Duration::from_secs(60));
        let stderr = task.stderr();
        assert_eq!(code, Some(143), "{stderr}");
        assert!(stderr.contains("--shard 1/2"), "{stderr}");
    })
    .await
    .unwrap();
    let stored = GRSU.export(&shard).len();
    assert!(
        (1..4).contains(&stored),
        "{stored} samples of shard 1/2 stored"
    );
}
