//! Progress of a run: samples done and failed, calls and tokens per model role; shown as a
//! progress bar on a terminal and as plain log lines otherwise, and written to
//! `<output>/progress.json` (what `grsu status` shows while the store is held by the running sweep).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use grsu::model::ChatResponse;

#[derive(Debug, Default, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct RoleCounters {
    pub calls: u64,
    pub cache_hits: u64,
    pub errors: u64,
    pub tokens: u64,
}

/// Shared counters, updated by the actors.
pub struct Progress {
    pub total: u64,
    pub done: AtomicU64,
    pub failed: AtomicU64,
    pub skipped: u64,
    /// Samples admitted and not yet finished or failed (kept by the sweep actor).
    pub samples_in_flight: AtomicU64,
    /// Model calls sent and not yet answered (kept by the model actors).
    pub calls_in_flight: AtomicU64,
    roles: Mutex<BTreeMap<String, RoleCounters>>,
    started: Instant,
    snapshot_path: Option<std::path::PathBuf>,
}

/// What `progress.json` holds.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct ProgressSnapshot {
    pub pid: u32,
    pub updated_unix: u64,
    pub elapsed_s: f64,
    pub total: u64,
    pub done: u64,
    pub failed: u64,
    pub skipped: u64,
    pub roles: BTreeMap<String, RoleCounters>,
    /// Written by the run's last snapshot: the run has stopped (finished or interrupted).
    #[serde(default)]
    pub finished: bool,
}

impl Progress {
    /// Counters for `total` units to run (`skipped` were already stored); a snapshot is written
    /// to `snapshot_path` while the run reports.
    pub fn new(total: u64, skipped: u64, snapshot_path: Option<std::path::PathBuf>) -> Arc<Self> {
        Arc::new(Progress {
            total,
            done: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            skipped,
            samples_in_flight: AtomicU64::new(0),
            calls_in_flight: AtomicU64::new(0),
            roles: Mutex::new(BTreeMap::new()),
            started: Instant::now(),
            snapshot_path,
        })
    }

    /// The counters now.
    pub fn snapshot(&self) -> ProgressSnapshot {
        ProgressSnapshot {
            pid: std::process::id(),
            updated_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_secs()),
            elapsed_s: self.started.elapsed().as_secs_f64(),
            total: self.total,
            done: self.done.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            skipped: self.skipped,
            roles: self
                .roles
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone(),
            finished: false,
        }
    }

    /// Writes the snapshot (to a temporary file renamed over the old one: readers never see half
    /// a file). Best effort: progress reporting never stops a run.
    fn write_snapshot(&self, finished: bool) {
        let Some(path) = &self.snapshot_path else {
            return;
        };
        let partial = path.with_extension("json.partial");
        let snapshot = ProgressSnapshot {
            finished,
            ..self.snapshot()
        };
        let written = serde_json::to_vec_pretty(&snapshot)
            .map_err(std::io::Error::other)
            .and_then(|bytes| std::fs::write(&partial, bytes))
            .and_then(|_| std::fs::rename(&partial, path));
        if let Err(error) = written {
            tracing::debug!(error = %error, "cannot write the progress snapshot");
        }
    }

    pub fn record_call(&self, role: &str, cached: bool, response: &ChatResponse) {
        let mut roles = self
            .roles
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Looked up before inserting: the role's name is copied once per run, not per call.
        if !roles.contains_key(role) {
            roles.insert(role.to_string(), Default::default());
        }
        let counters = roles.get_mut(role).expect("inserted above");
        if cached {
            counters.cache_hits += 1;
        } else {
            counters.calls += 1;
            // Token counts are the server's word: summed without overflowing.
            counters.tokens = counters.tokens.saturating_add(
                response
                    .usage
                    .prompt_tokens
                    .saturating_add(response.usage.completion_tokens),
            );
        }
    }

    pub fn record_error(&self, role: &str) {
        let mut roles = self
            .roles
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        roles.entry(role.to_string()).or_default().errors += 1;
    }

    /// Model calls made (not from the cache), all roles together.
    pub fn calls(&self) -> u64 {
        let roles = self
            .roles
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        roles.values().map(|counters| counters.calls).sum()
    }

    /// One line: rates per role.
    pub fn line(&self) -> String {
        let seconds = self.started.elapsed().as_secs_f64().max(1e-3);
        let roles = self
            .roles
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let parts: Vec<String> = roles
            .iter()
            .map(|(role, counters)| {
                format!(
                    "{role}: {:.1} calls/s {:.0} tok/s ({} cached, {} errors)",
                    counters.calls as f64 / seconds,
                    counters.tokens as f64 / seconds,
                    counters.cache_hits,
                    counters.errors
                )
            })
            .collect();
        parts.join(" | ")
    }

    /// The time left at the rate so far; "estimating" until the first unit is finished (a rate
    /// of nothing says nothing).
    pub fn eta(&self) -> String {
        let finished = self.done.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed);
        if finished == 0 {
            return "estimating".into();
        }
        let left = self.total.saturating_sub(finished);
        let seconds = self.started.elapsed().as_secs_f64() / finished as f64 * left as f64;
        let seconds = seconds.round() as u64;
        match seconds {
            0..60 => format!("{seconds}s"),
            60..3600 => format!("{}m{:02}s", seconds / 60, seconds % 60),
            _ => format!("{}h{:02}m", seconds / 3600, seconds % 3600 / 60),
        }
    }

    /// Shows progress until `stop` resolves: a bar on a terminal, a log line every 10 s otherwise.
    pub async fn report_until(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let terminal = std::io::stderr().is_terminal();
        let bar = terminal.then(|| {
            let bar = indicatif::ProgressBar::new(self.total);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} samples, {msg}")
                    .expect("a valid template"),
            );
            bar
        });
        // The snapshot is written every half second (what `grsu view` follows); without a
        // terminal a log line goes out every 10 s.
        let period = Duration::from_millis(500);
        let log_every = 20;
        let mut tick: u64 = 0;
        loop {
            let done = self.done.load(Ordering::Relaxed);
            let failed = self.failed.load(Ordering::Relaxed);
            match &bar {
                Some(bar) => {
                    bar.set_position(done + failed);
                    bar.set_message(format!(
                        "eta {} | {failed} failed | {}",
                        self.eta(),
                        self.line()
                    ));
                }
                None if tick.is_multiple_of(log_every) => {
                    tracing::info!(done, failed, total = self.total, skipped = self.skipped, eta = %self.eta(), rates = %self.line(), "progress")
                }
                None => {}
            }
            tick += 1;
            self.write_snapshot(false);
            tokio::select! {
                _ = tokio::time::sleep(period) => {}
                _ = stop.changed() => break,
            }
        }
        self.write_snapshot(true);
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
    }
}
