//! Running the `grsu` binary as a child process, exactly as a user runs it, while sampling the
//! fleet's statistics and the child's CPU time; its own resource usage (CPU, peak RSS) comes from
//! `wait4` when it exits.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use sim_vllm::{Fleet, ReplicaStats};

/// One sample of the run's state, `t` real seconds after the child started.
#[derive(Debug, Clone)]
pub struct Tick {
    pub t: f64,
    /// The fleet's totals (absent when no fleet is watched).
    pub fleet: Option<ReplicaStats>,
    /// The child's user + system CPU seconds so far (from /proc).
    pub child_cpu_s: Option<f64>,
    /// The child's resident set size now (kB, from /proc).
    pub child_rss_kb: Option<u64>,
    /// The child's open sockets now (from /proc/<pid>/fd): its HTTP connections, mostly.
    pub child_sockets: Option<u64>,
    /// This process's (the fleet simulation's) user + system CPU seconds so far.
    pub own_cpu_s: f64,
    /// CPU seconds every process of the machine has used since boot (from /proc/stat).
    pub machine_busy_s: f64,
}

/// What a finished child did.
#[derive(Debug, Clone)]
pub struct ChildRun {
    pub command: String,
    pub exit_code: i32,
    pub wall_s: f64,
    pub user_s: f64,
    pub sys_s: f64,
    /// Peak resident set size (kB).
    pub max_rss_kb: u64,
    pub ticks: Vec<Tick>,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

impl ChildRun {
    pub fn cpu_s(&self) -> f64 {
        self.user_s + self.sys_s
    }

    /// Fails with the tail of stderr unless the child exited 0.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.exit_code != 0 {
            let stderr = std::fs::read_to_string(&self.stderr).unwrap_or_default();
            let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!(
                "`{}` exited with {} (stdout in {}):\n{}",
                self.command,
                self.exit_code,
                self.stdout.display(),
                tail.join("\n")
            );
        }
        Ok(())
    }
}

fn clock_ticks_per_s() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

/// User + system CPU seconds of a process, from `/proc/<pid>/stat` (fields 14 and 15).
pub fn proc_cpu_s(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count fields after its end.
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / clock_ticks_per_s())
}

/// CPU seconds the whole machine has been busy since boot: the `cpu` line of /proc/stat less idle
/// and iowait.
pub fn machine_busy_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|line| line.starts_with("cpu ")) else {
        return f64::NAN;
    };
    let values: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|value| value.parse().ok())
        .collect();
    if values.len() < 5 {
        return f64::NAN;
    }
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let busy: f64 = values.iter().take(8).sum::<f64>() - values[3] - values[4];
    busy / clock_ticks_per_s()
}

/// The resident set size of a process (kB), from `/proc/<pid>/status`.
pub fn proc_rss_kb(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// The open sockets of a process, from the links in `/proc/<pid>/fd`.
pub fn proc_sockets(pid: &str) -> Option<u64> {
    let entries = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    Some(
        entries
            .filter_map(Result::ok)
            .filter(|entry| {
                std::fs::read_link(entry.path())
                    .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"))
            })
            .count() as u64,
    )
}

/// This process's user + system CPU seconds.
pub fn own_cpu_s() -> f64 {
    proc_cpu_s("self").unwrap_or(0.0)
}

fn seconds(time: libc::timeval) -> f64 {
    time.tv_sec as f64 + time.tv_usec as f64 / 1e6
}

/// Runs `grsu <arguments>` with stdout and stderr into `<logs>/<label>.{out,err}`, sampling every
/// `every` (the fleet's totals when `fleet` is given), until it exits; kills it (SIGKILL) after
/// `limit`, and then fails.
pub async fn run_grsu(
    grsu: &Path,
    arguments: &[&str],
    logs: &Path,
    label: &str,
    fleet: Option<&Fleet>,
    every: Duration,
    limit: Duration,
) -> anyhow::Result<ChildRun> {
    std::fs::create_dir_all(logs)?;
    let stdout = logs.join(format!("{label}.out"));
    let stderr = logs.join(format!("{label}.err"));
    let command = format!("{} {}", grsu.display(), arguments.join(" "));
    let child = Command::new(grsu)
        .args(arguments)
        .stdin(Stdio::null())
        .stdout(File::create(&stdout)?)
        .stderr(File::create(&stderr)?)
        .spawn()
        .with_context(|| format!("starting {}", grsu.display()))?;
    let started = Instant::now();
    let pid = child.id();
    // The child is reaped by wait4 below (which also gives its resource usage), not by `child`.
    drop(child);
    let waiter = tokio::task::spawn_blocking(move || {
        let mut status = 0;
        // SAFETY: rusage is plain data; zeroed is a valid value for it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: pid is our child; status and usage are valid for writes.
        let reaped = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
        (reaped, status, usage)
    });
    tokio::pin!(waiter);
    let pid_text = pid.to_string();
    let mut ticks = Vec::new();
    let sample = |ticks: &mut Vec<Tick>| {
        ticks.push(Tick {
            t: started.elapsed().as_secs_f64(),
            fleet: fleet.map(|fleet| fleet.stats().total),
            child_cpu_s: proc_cpu_s(&pid_text),
            child_rss_kb: proc_rss_kb(&pid_text),
            child_sockets: proc_sockets(&pid_text),
            own_cpu_s: own_cpu_s(),
            machine_busy_s: machine_busy_s(),
        })
    };
    sample(&mut ticks);
    let mut killed = false;
    let (reaped, status, usage) = loop {
        tokio::select! {
            done = &mut waiter => break done?,
            () = tokio::time::sleep(every) => sample(&mut ticks),
        }
        if !killed && started.elapsed() > limit {
            // SAFETY: kill has no memory-safety preconditions; the pid is our unreaped child.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            killed = true;
        }
    };
    if killed {
        bail!(
            "`{command}` ran longer than {} s and was killed (logs: {})",
            limit.as_secs(),
            stderr.display()
        );
    }
    let wall_s = started.elapsed().as_secs_f64();
    // The last sample, after the exit: the fleet's final totals (the child's CPU is in `usage`).
    sample(&mut ticks);
    if reaped != pid as libc::pid_t {
        bail!("wait4 on {pid} failed: {}", std::io::Error::last_os_error());
    }
    let exit_code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    Ok(ChildRun {
        command,
        exit_code,
        wall_s,
        user_s: seconds(usage.ru_utime),
        sys_s: seconds(usage.ru_stime),
        max_rss_kb: usage.ru_maxrss as u64,
        ticks,
        stdout,
        stderr,
    })
}

/// Runs `grsu <arguments>` to the end and returns its stdout; fails with its stderr.
pub fn grsu_output(grsu: &Path, arguments: &[&str]) -> anyhow::Result<String> {
    let output = Command::new(grsu)
        .args(arguments)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("starting {}", grsu.display()))?;
    if !output.status.success() {
        bail!(
            "`{} {}` failed ({}): {}",
            grsu.display(),
            arguments.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8(output.stdout)?)
}

/// `grsu report <output> --format json --no-files [--baseline B]`, parsed.
pub fn report_json(
    grsu: &Path,
    output: &Path,
    baseline: Option<&str>,
) -> anyhow::Result<serde_json::Value> {
    let output = output.display().to_string();
    let mut arguments = vec!["report", output.as_str(), "--format", "json", "--no-files"];
    if let Some(baseline) = baseline {
        arguments.extend(["--baseline", baseline]);
    }
    let text = grsu_output(grsu, &arguments)?;
    serde_json::from_str(&text).context("parsing grsu report --format json")
}

/// Fails unless every cell of a report finished every unit without errors.
pub fn check_complete(report: &serde_json::Value, what: &str) -> anyhow::Result<()> {
    for cell in report["cells"].as_array().into_iter().flatten() {
        let (done, total) = (cell["done"].as_u64(), cell["total"].as_u64());
        if done != total || cell["errors"].as_u64() != Some(0) {
            bail!(
                "{what}: cell {} finished {done:?} of {total:?} ({} errors; last: {})",
                cell["cell"],
                cell["errors"],
                cell["last_error"]
            );
        }
    }
    Ok(())
}

/// Writes `config` into `folder` and runs `grsu run` on it (1 s samples of the child, the bench's
/// run timeout); the run is returned unchecked.
pub async fn run_sweep(
    bench: &crate::bench::Bench,
    config: &toml::Table,
    folder: &Path,
) -> anyhow::Result<ChildRun> {
    let path = crate::grsu_config::write(config, folder, "config.toml")?;
    let path = path.display().to_string();
    run_grsu(
        &bench.grsu,
        &["run", &path],
        folder,
        "run",
        None,
        Duration::from_secs(1),
        bench.run_timeout,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_cpu_time_is_readable() {
        let before = own_cpu_s();
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(x != 1);
        assert!(own_cpu_s() >= before);
        assert!(proc_cpu_s("no-such-process").is_none());
        assert!(machine_busy_s() > 0.0);
        assert!(proc_rss_kb("self").unwrap_or(0) > 0);
    }
}
