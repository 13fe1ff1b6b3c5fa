//! Table 1: the orchestrator's throughput against the fleet's capacity with 1, 2, 4 and 8
//! endpoints, ≥ 1,000 samples in flight; its CPU time and peak memory.
//!
//! What makes the comparison fair:
//!
//! - Every replica is the same simulated GPU (S slots, r decode tokens/s per sequence). For N
//!   replicas the simulated clock runs N times slower (`time_scale` = τ × N), so the fleet's
//!   capacity in *real* requests per second, the rate the orchestrator must sustain on this
//!   machine, is the same for every N; the ratio achieved / capacity is in simulated time and does
//!   not depend on that mapping. The base rate is chosen so that the fleet, not the machine, should
//!   be the bottleneck. A further run with 8 replicas and the clock not slowed (8 times the real
//!   rate) shows where the orchestrator stops keeping up on this machine.
//! - Prefill is instantaneous (P = 10¹² tokens/s), as in every row measured so far, so that
//!   capacity is slot-bound and utilisation (slot-seconds / (S × N × time)) equals achieved /
//!   capacity. The fleet keeps its own clock (sim-vllm's README, capacity model item 6): a slot's
//!   sequences are laid end to end in modelled time, so the timer's lateness and the simulation's
//!   share of the two cores do not take capacity away from the fleet (before they did: a 5 ms
//!   one-token sequence held its slot ~10 % longer than modelled in the `fast` row, and the shortfall
//!   read as the orchestrator's).
//! - grsu may send each endpoint more requests than it has slots (`max_concurrency` = 4 × S), so
//!   requests queue in the server as they do in vLLM, and no slot waits for the client's cap.
//! - Capacity is the capacity model's bound for the workload grsu actually sent in the window (its
//!   measured completion tokens per sequence and sequences per request), so a leaner orchestrator
//!   is not credited with throughput it did not need.
//! - The steady window (10 % to 90 % of the run's served requests) leaves out the start
//!   (connections, the first wave of samples) and the tail (fewer samples left than
//!   `max_in_flight`); the whole run, start and report included, is shown too.

use std::time::Duration;

use clap::Args;
use serde::Serialize;
use sim_vllm::{CapacityConfig, ReplicaStats, Workload};

use crate::bench::{window, Bench};
use crate::child::{check_complete, report_json, run_grsu, ChildRun, Tick};
use crate::grsu_config::{self, ModelsSpec};
use crate::table::{fixed, percent, ratio, thousands, Table};

#[derive(Debug, Clone, Args)]
pub struct ThroughputOptions {
    /// Endpoint counts to measure (the fleet's real-time capacity held constant).
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8")]
    pub replicas: Vec<usize>,
    /// Endpoint counts to measure again with the clock not slowed (N times the real rate).
    #[arg(long, value_delimiter = ',', default_value = "8")]
    pub fast_replicas: Vec<usize>,
    /// Skip the runs of `--fast-replicas`.
    #[arg(long)]
    pub no_fast: bool,
    /// Skip the runs of `--replicas` (the slowed clock): only the `--fast-replicas` rows, to find
    /// the orchestrator's ceiling without five minutes per slowed row.
    #[arg(long)]
    pub no_slowed: bool,
    /// Samples to run (default: every sample of the data, only new items).
    #[arg(long)]
    pub throughput_samples: Option<usize>,
    /// Samples in flight (`[run] max_in_flight`).
    #[arg(long, default_value_t = 1024)]
    pub max_in_flight: usize,
    /// S: sequences running at once per replica.
    #[arg(long, default_value_t = 64)]
    pub slots: usize,
    /// P: prompt tokens prefilled per simulated second per replica.
    #[arg(long, default_value_t = 1e12)]
    pub prefill_tokens_per_s: f64,
    /// r: tokens decoded per simulated second per sequence.
    #[arg(long, default_value_t = 40.0)]
    pub decode_tokens_per_s: f64,
    /// τ: real seconds per simulated second with one replica (N replicas: τ × N).
    #[arg(long, default_value_t = 0.2)]
    pub time_scale: f64,
    /// Requests in flight per endpoint (`[models.*] max_concurrency`); default 4 × S.
    #[arg(long)]
    pub max_concurrency: Option<usize>,
    /// Run each `--fast-replicas` row again with this many samples in flight (default: half of
    /// `--max-in-flight`; 0: not at all), for the memory of one more sample in flight at the same
    /// open connections (Table 1b).
    #[arg(long)]
    pub marginal_in_flight: Option<usize>,
    /// Sampling period of the fleet's statistics, in milliseconds.
    #[arg(long, default_value_t = 100)]
    pub tick_ms: u64,
}

impl ThroughputOptions {
    /// The capacity of each replica, at `time_scale`.
    fn capacity(&self, time_scale: f64) -> CapacityConfig {
        CapacityConfig {
            max_running_sequences: self.slots,
            prefill_tokens_per_s: self.prefill_tokens_per_s,
            decode_tokens_per_s_per_sequence: self.decode_tokens_per_s,
            decode_slowdown: 0.0,
            time_scale,
            ..CapacityConfig::default()
        }
    }
}

/// One measured run, as the JSON details keep it.
#[derive(Debug, Clone, Serialize)]
pub struct ThroughputRun {
    pub label: String,
    pub replicas: usize,
    pub slots_total: usize,
    pub time_scale: f64,
    pub samples_done: u64,
    pub max_in_flight: usize,
    pub max_concurrency: usize,
    pub wall_s: f64,
    pub grsu_cpu_s: f64,
    pub grsu_user_s: f64,
    pub grsu_sys_s: f64,
    pub grsu_max_rss_kb: u64,
    /// The fleet's totals over the whole run and over the steady window.
    pub whole: ReplicaStats,
    pub steady: ReplicaStats,
    pub steady_real_s: f64,
    /// Capacity in simulated requests per second (divide by `time_scale` for real ones).
    pub steady_capacity_requests_per_s: f64,
    pub whole_capacity_requests_per_s: f64,
    pub steady_grsu_cpu_s: f64,
    pub steady_sim_cpu_s: f64,
    /// CPU seconds of every process of the machine in the window (grsu, the sim, and others').
    pub steady_machine_busy_s: f64,
    pub sim_cpu_s: f64,
    /// grsu's resident set at the start and the end of the steady window (kB).
    pub steady_rss_kb: (u64, u64),
    /// grsu's resident set against requests served while every sample slot is busy (10 % to
    /// 60 % of the served requests): kB at zero served (intercept) and kB per served request.
    pub rss_fit_kb: (f64, f64),
    /// grsu's open sockets (its HTTP connections), averaged over the same ticks as `rss_fit_kb`.
    pub fit_sockets: f64,
    /// The size of the run's store on disk at the end (bytes).
    pub store_bytes: u64,
    /// (real s, served, running, queued, grsu CPU s, grsu RSS kB) every tick.
    pub timeline: Vec<(f64, u64, usize, usize, f64, u64)>,
}

impl ThroughputRun {
    fn steady_ratio(&self) -> f64 {
        ratio(
            self.steady.served as f64 / self.steady.elapsed_s,
            self.steady_capacity_requests_per_s,
        )
    }
}

fn stats(tick: &Tick) -> &ReplicaStats {
    tick.fleet.as_ref().expect("the fleet is watched")
}

/// The steady window's first and last tick: 10 % and 90 % of the run's served requests.
fn steady_window(ticks: &[Tick]) -> (usize, usize) {
    let last = ticks.len() - 1;
    let total = stats(&ticks[last]).served as f64;
    let start = ticks
        .iter()
        .position(|tick| stats(tick).served as f64 >= 0.1 * total)
        .unwrap_or(0);
    let end = ticks
        .iter()
        .rposition(|tick| stats(tick).served as f64 <= 0.9 * total)
        .unwrap_or(last)
        .max(start + 1)
        .min(last);
    (start, end)
}

/// The bytes of the files under `folder`.
fn folder_size(folder: &std::path::Path) -> u64 {
    std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => folder_size(&entry.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Least-squares line of grsu's RSS (kB) against served requests, over the ticks between 10 % and
/// 60 % of the run's served requests: the part of the run where `max_in_flight` samples are in
/// flight (the tail starts when fewer samples than that are left, about 65 % into a 2,924-sample
/// run). RSS grows there with the responses the store has written (sled keeps its pages in
/// memory), not with the samples in flight, which stay constant: the slope is memory per stored
/// response, the intercept the memory of the in-flight samples and the fixed cost.
fn rss_fit(ticks: &[Tick]) -> (f64, f64) {
    let points: Vec<(f64, f64)> = fit_window(ticks)
        .filter_map(|tick| {
            let rss = tick.child_rss_kb? as f64;
            (rss > 0.0).then_some((stats(tick).served as f64, rss))
        })
        .collect();
    least_squares(&points)
}

/// The ticks [`rss_fit`] fits: every sample slot busy, 10 % to 60 % of the served requests.
fn fit_window(ticks: &[Tick]) -> impl Iterator<Item = &Tick> {
    let total = stats(&ticks[ticks.len() - 1]).served as f64;
    ticks.iter().filter(move |tick| {
        let served = stats(tick).served as f64;
        served >= 0.1 * total && served <= 0.6 * total
    })
}

/// grsu's mean open sockets over the ticks of [`fit_window`].
fn mean_sockets(ticks: &[Tick]) -> f64 {
    let counts: Vec<f64> = fit_window(ticks)
        .filter_map(|tick| tick.child_sockets.map(|count| count as f64))
        .collect();
    counts.iter().sum::<f64>() / counts.len() as f64
}

/// (intercept, slope) of the least-squares line through `points`; NaN with fewer than 2 distinct x.
fn least_squares(points: &[(f64, f64)]) -> (f64, f64) {
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    if points.len() < 2 || sxx == 0.0 {
        return (f64::NAN, f64::NAN);
    }
    let slope = sxy / sxx;
    (mean_y - slope * mean_x, slope)
}

async fn measure(
    bench: &Bench,
    options: &ThroughputOptions,
    replicas: usize,
    time_scale: f64,
    samples: Option<usize>,
    max_in_flight: usize,
    label: &str,
) -> anyhow::Result<ThroughputRun> {
    let capacity = options.capacity(time_scale);
    let mut fleet_config = bench.fleet_config(replicas);
    fleet_config.capacity = capacity.clone();
    let fleet = bench.spawn(fleet_config).await?;
    let folder = bench.folder(label)?;
    let max_concurrency = options.max_concurrency.unwrap_or(4 * options.slots);
    let mut config = grsu_config::base(
        label,
        &folder.join("output"),
        &[0],
        max_in_flight,
        &bench.data,
        samples,
        &ModelsSpec {
            endpoints: fleet.urls(),
            max_concurrency,
            affinity: true,
            timeout_s: 3600.0,
        },
    );
    // A cheap search: many short requests per sample.
    grsu_config::set(&mut config, "search.strategy", "beam");
    grsu_config::set(&mut config, "search.beam_width", 2);
    grsu_config::set(&mut config, "search.expand_width", 2);
    grsu_config::set(&mut config, "search.depth", 2);
    grsu_config::set(&mut config, "search.list_length", 10);
    grsu_config::set(&mut config, "user.scoring_mode", "forced");
    grsu_config::set(&mut config, "user.score_context", "item");
    grsu_config::set(
        &mut config,
        "output.strategies",
        toml::Value::Array(vec!["reward-mean".into()]),
    );
    let path = grsu_config::write(&config, &folder, "config.toml")?;
    let path_text = path.display().to_string();
    fleet.reset_stats();
    let sim_cpu_before = crate::child::own_cpu_s();
    let run: ChildRun = run_grsu(
        &bench.grsu,
        &["run", &path_text],
        &folder,
        "run",
        Some(&fleet),
        Duration::from_millis(options.tick_ms),
        bench.run_timeout,
    )
    .await?;
    let sim_cpu_s = crate::child::own_cpu_s() - sim_cpu_before;
    fleet.shutdown().await;
    run.check()?;
    let report = report_json(&bench.grsu, &folder.join("output"), None)?;
    check_complete(&report, label)?;
    let samples_done: u64 = report["cells"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|cell| cell["done"].as_u64())
        .sum();

    let ticks = &run.ticks;
    let (start, end) = steady_window(ticks);
    let steady = window(stats(&ticks[end]), stats(&ticks[start]));
    let whole = stats(&ticks[ticks.len() - 1]).clone();
    let capacity_of = |stats: &ReplicaStats| {
        capacity
            .capacity(&Workload::measured(stats))
            .times(replicas)
            .requests_per_s
    };
    let cpu = |tick: &Tick| tick.child_cpu_s.unwrap_or(f64::NAN);
    Ok(ThroughputRun {
        label: label.into(),
        replicas,
        slots_total: options.slots * replicas,
        time_scale,
        samples_done,
        max_in_flight,
        max_concurrency,
        wall_s: run.wall_s,
        grsu_cpu_s: run.cpu_s(),
        grsu_user_s: run.user_s,
        grsu_sys_s: run.sys_s,
        grsu_max_rss_kb: run.max_rss_kb,
        steady_real_s: ticks[end].t - ticks[start].t,
        steady_capacity_requests_per_s: capacity_of(&steady),
        whole_capacity_requests_per_s: capacity_of(&whole),
        steady_grsu_cpu_s: cpu(&ticks[end]) - cpu(&ticks[start]),
        steady_sim_cpu_s: ticks[end].own_cpu_s - ticks[start].own_cpu_s,
        steady_machine_busy_s: ticks[end].machine_busy_s - ticks[start].machine_busy_s,
        sim_cpu_s,
        steady_rss_kb: (
            ticks[start].child_rss_kb.unwrap_or(0),
            ticks[end].child_rss_kb.unwrap_or(0),
        ),
        rss_fit_kb: rss_fit(ticks),
        fit_sockets: mean_sockets(ticks),
        store_bytes: folder_size(&folder.join("output").join("store")),
        timeline: ticks
            .iter()
            .map(|tick| {
                let stats = stats(tick);
                (
                    tick.t,
                    stats.served,
                    stats.running,
                    stats.queued,
                    cpu(tick),
                    tick.child_rss_kb.unwrap_or(0),
                )
            })
            .collect(),
        whole,
        steady,
    })
}

pub async fn run(bench: &Bench, options: &ThroughputOptions) -> anyhow::Result<String> {
    // The fixed cost of the orchestrator (catalog, dataset, title matcher, store): a run with 8
    // samples, 8 in flight, on one endpoint.
    eprintln!("throughput: baseline memory (8 samples, 8 in flight)");
    let baseline = measure(
        bench,
        options,
        1,
        options.time_scale,
        Some(8),
        8,
        "throughput-baseline",
    )
    .await?;
    let mut plan: Vec<(usize, f64, String)> = Vec::new();
    if !options.no_slowed {
        plan.extend(
            options
                .replicas
                .iter()
                .map(|&n| (n, options.time_scale * n as f64, format!("throughput-{n}"))),
        );
    }
    if !options.no_fast {
        plan.extend(
            options
                .fast_replicas
                .iter()
                .map(|&n| (n, options.time_scale, format!("throughput-{n}-fast"))),
        );
    }
    let mut runs = Vec::new();
    for (replicas, time_scale, label) in plan {
        eprintln!(
            "throughput: {replicas} endpoint(s), time_scale {time_scale}, {} in flight",
            options.max_in_flight
        );
        let run = measure(
            bench,
            options,
            replicas,
            time_scale,
            options.throughput_samples,
            options.max_in_flight,
            &label,
        )
        .await?;
        eprintln!(
            "  {:.1} s, steady {:.1} % of capacity, grsu {:.1} CPU s",
            run.wall_s,
            100.0 * run.steady_ratio(),
            run.grsu_cpu_s
        );
        runs.push(run);
    }
    // The same fast rows with fewer samples in flight: the fleet keeps every connection busy
    // in both (each sample has tens of requests to send), so the difference of the two
    // intercepts is the memory of the samples themselves, apart from the connections'.
    let marginal_in_flight = options
        .marginal_in_flight
        .unwrap_or(options.max_in_flight / 2);
    let mut marginal = Vec::new();
    if !options.no_fast && marginal_in_flight > 0 && marginal_in_flight < options.max_in_flight {
        for &replicas in &options.fast_replicas {
            let label = format!("throughput-{replicas}-fast-{marginal_in_flight}");
            eprintln!(
                "throughput: {replicas} endpoint(s), time_scale {}, {marginal_in_flight} in flight (memory per sample)",
                options.time_scale
            );
            let run = measure(
                bench,
                options,
                replicas,
                options.time_scale,
                options.throughput_samples,
                marginal_in_flight,
                &label,
            )
            .await?;
            let full = runs
                .iter()
                .find(|run| run.replicas == replicas && run.time_scale == options.time_scale)
                .cloned();
            if let Some(full) = full {
                marginal.push((full, run));
            }
        }
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let mut table = Table::new(
        "Table 1: orchestrator throughput against fleet capacity",
        &[
            "endpoints",
            "time_scale",
            "fleet capacity, real req/s",
            "samples",
            "requests",
            "achieved / capacity (steady)",
            "utilisation (steady)",
            "achieved / capacity (whole run)",
            "achieved real req/s (steady)",
            "wall s",
            "grsu CPU s (user + sys)",
            "grsu CPU ms / sample",
            "grsu CPU µs / request (steady)",
            "grsu cores (steady)",
            "grsu peak RSS MiB",
            "KiB / in-flight sample",
            "KiB / stored response",
            "store on disk MiB",
            "machine busy (steady): grsu + sim / others",
        ],
    );
    for run in &runs {
        let whole_rate = run.whole.served as f64 / run.whole.elapsed_s;
        let others = run.steady_machine_busy_s - run.steady_grsu_cpu_s - run.steady_sim_cpu_s;
        table.row(vec![
            run.replicas.to_string(),
            fixed(run.time_scale, 2),
            fixed(run.steady_capacity_requests_per_s / run.time_scale, 0),
            thousands(run.samples_done),
            thousands(run.whole.served),
            percent(run.steady_ratio()),
            percent(run.steady.utilisation),
            percent(ratio(whole_rate, run.whole_capacity_requests_per_s)),
            fixed(run.steady.served as f64 / run.steady_real_s, 0),
            fixed(run.wall_s, 1),
            format!(
                "{} ({} + {})",
                fixed(run.grsu_cpu_s, 1),
                fixed(run.grsu_user_s, 1),
                fixed(run.grsu_sys_s, 1)
            ),
            fixed(1000.0 * run.grsu_cpu_s / run.samples_done as f64, 1),
            fixed(1e6 * run.steady_grsu_cpu_s / run.steady.served as f64, 0),
            fixed(run.steady_grsu_cpu_s / run.steady_real_s, 2),
            fixed(run.grsu_max_rss_kb as f64 / 1024.0, 0),
            fixed(
                (run.rss_fit_kb.0 - baseline.grsu_max_rss_kb as f64) / run.max_in_flight as f64,
                0,
            ),
            fixed(run.rss_fit_kb.1, 2),
            fixed(run.store_bytes as f64 / 1024.0 / 1024.0, 0),
            format!(
                "{} / {}",
                percent(ratio(
                    run.steady_grsu_cpu_s + run.steady_sim_cpu_s,
                    cpus * run.steady_real_s
                )),
                percent(ratio(others.max(0.0), cpus * run.steady_real_s)),
            ),
        ]);
    }
    table.note(format!(
        "Every replica: S = {} sequences, r = {} decode tokens/s per sequence, prefill instantaneous (P = {:e} tokens/s; see below), β = 0; N replicas run at time_scale = {} × N, so the fleet's capacity in real requests per second is the same for every N (the `fast` rows: time_scale {} with N replicas, N times the real rate). max_concurrency {} per endpoint (4 × S: requests queue in the server, as in vLLM); per-sample affinity on; both roles on the same replicas.",
        options.slots,
        options.decode_tokens_per_s,
        options.prefill_tokens_per_s,
        options.time_scale,
        options.time_scale,
        options.max_concurrency.unwrap_or(4 * options.slots),
    ));
    table.note(format!(
        "Search: beam B = N = 2, D = 2, k = 10, forced scoring, item context, output reward-mean; max_in_flight = {}; ReDial test, only new items; one seed.",
        options.max_in_flight
    ));
    table.note("Capacity: the capacity model's bound `FleetConfig::capacity(Workload::measured(window))` for the requests grsu actually sent in the window; slot-bound here, so utilisation (slot-seconds / (S × N × window), from the sim's stats) measures the same thing from the other side. Steady window: from 10 % to 90 % of the run's served requests; whole run: from grsu's start to its exit (data loading and the final report included).");
    table.note(format!(
        "grsu CPU and peak RSS: wait4's rusage of the child; CPU in the window from /proc/<pid>/stat. Memory: grsu's RSS grows through the run with the responses its store has written (sled keeps its pages in memory; see the store's size on disk), while the samples in flight stay at max_in_flight; a least-squares line of RSS against served requests, between 10 % and 60 % of them (every sample slot busy), gives KiB per stored response (slope) and KiB per in-flight sample ((intercept − {:.0} MiB, the peak of an 8-sample run with 8 in flight) / max_in_flight). Machine busy: CPU seconds / ({} CPUs × window) of grsu and the fleet simulation (this process) together, and of every other process on the machine (from /proc/stat).",
        baseline.grsu_max_rss_kb as f64 / 1024.0,
        cpus
    ));
    table.note("Why prefill is instantaneous: so that capacity is slot-bound (utilisation and achieved / capacity measure the same thing) and these rows compare with the earlier ones. The fleet keeps its own clock: slot time and prefills are laid end to end in modelled time, so neither tokio's millisecond timer nor the simulation's share of the CPUs takes capacity away (before, a 5 ms one-token sequence held its slot ~10 % longer than modelled in the `fast` row). Prefill work is counted in Table 2, not here.");
    let mut memory = Table::new(
        "Table 1b: memory of one more sample in flight, at the same open connections",
        &[
            "endpoints",
            "time_scale",
            "in flight",
            "open sockets (mean)",
            "RSS intercept MiB",
            "KiB / stored response",
            "KiB / in-flight sample (difference of the intercepts)",
            "KiB / in-flight sample (Table 1's way)",
        ],
    );
    for (full, fewer) in &marginal {
        let per_sample = (full.rss_fit_kb.0 - fewer.rss_fit_kb.0)
            / (full.max_in_flight as f64 - fewer.max_in_flight as f64);
        for run in [fewer, full] {
            memory.row(vec![
                run.replicas.to_string(),
                fixed(run.time_scale, 2),
                thousands(run.max_in_flight as u64),
                fixed(run.fit_sockets, 0),
                fixed(run.rss_fit_kb.0 / 1024.0, 0),
                fixed(run.rss_fit_kb.1, 2),
                if std::ptr::eq(run, full) {
                    fixed(per_sample, 0)
                } else {
                    String::new()
                },
                fixed(
                    (run.rss_fit_kb.0 - baseline.grsu_max_rss_kb as f64) / run.max_in_flight as f64,
                    0,
                ),
            ]);
        }
    }
    memory.note("Table 1's KiB per in-flight sample divides everything above the 8-sample run by the samples in flight, the HTTP connections included: with 256 requests per endpoint and role allowed at once, grsu holds up to 4,096 connections here (a socket each, and a read buffer while a request is on it), however many samples are in flight. Runs with fewer samples in flight keep the same connections busy (each sample has tens of requests to send), so the difference of their RSS intercepts over the difference of their samples in flight is the memory of a sample itself.");
    let mut tables = vec![table];
    if !marginal.is_empty() {
        tables.push(memory);
    }
    let markdown = bench.write_result(
        "throughput",
        &tables,
        &serde_json::json!({
            "options": format!("{options:?}"),
            "baseline": baseline,
            "runs": runs,
            "marginal_runs": marginal.iter().map(|(_, fewer)| fewer).collect::<Vec<_>>(),
        }),
    )?;
    Ok(markdown)
}

#[cfg(test)]
mod tests {
    use super::least_squares;

    #[test]
    fn least_squares_finds_the_line() {
        let (intercept, slope) = least_squares(&[(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)]);
        assert!((intercept - 1.0).abs() < 1e-12 && (slope - 2.0).abs() < 1e-12);
        assert!(least_squares(&[(1.0, 1.0)]).0.is_nan());
    }
}
