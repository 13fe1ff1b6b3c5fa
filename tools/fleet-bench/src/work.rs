//! Table 2: model work per sample of our search against the same search done the reference way,
//! for one cell and for the Figure 2 ablation grid, counted at the server.
//!
//! Ours: forced scoring (one decoded token per score), a node's lists in one request with `n`,
//! a stop sequence after the k-th item, and, for the grid, one sweep (cells share searches and
//! the response cache). Reference: generate-mode scoring, one request per list, no stop sequence,
//! and every cell run on its own (its own output folder, hence its own response cache: only the
//! per-sample cache the reference has). Both on a fresh fleet whose prefix cache starts cold; the
//! reference's cells run one after another on the same fleet, as they would on one set of servers.

use clap::Args;
use serde::Serialize;
use sim_vllm::{CapacityConfig, ReplicaStats};

use crate::bench::{modelled_replica_seconds, Bench};
use crate::child::{check_complete, report_json, run_sweep};
use crate::grsu_config::{self, ModelsSpec, PaperConfig};
use crate::table::{fixed, ratio, Table};

#[derive(Debug, Clone, Args)]
pub struct WorkOptions {
    /// Samples of the model-work comparison (the first N, only new items).
    #[arg(long, default_value_t = 20)]
    pub work_samples: usize,
}

/// What one way of running a scope cost, at the server.
#[derive(Debug, Clone, Serialize)]
pub struct WorkRun {
    pub scope: String,
    pub method: String,
    pub grsu_runs: usize,
    pub samples: usize,
    pub stats: ReplicaStats,
    pub modelled_replica_s: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Method {
    Ours,
    Reference,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Ours => "ours",
            Method::Reference => "reference",
        }
    }

    fn apply(self, config: &mut toml::Table) {
        let (mode, batch, stop) = match self {
            Method::Ours => ("forced", true, true),
            Method::Reference => ("generate", false, false),
        };
        grsu_config::set(config, "user.scoring_mode", mode);
        grsu_config::set(config, "crs.batch_lists", batch);
        grsu_config::set(config, "crs.stop_after_list", stop);
    }
}

/// The fleet that counts: one replica (routing does not change the counts), fast.
fn counting_fleet(bench: &Bench) -> sim_vllm::FleetConfig {
    let mut config = bench.fleet_config(1);
    config.capacity.max_running_sequences = 256;
    config.capacity.prefill_tokens_per_s = 1e6;
    config.capacity.time_scale = 0.002;
    config
}

async fn run_scope(
    bench: &Bench,
    options: &WorkOptions,
    scope: &str,
    variants: &[toml::Table],
    method: Method,
) -> anyhow::Result<WorkRun> {
    let fleet = bench.spawn(counting_fleet(bench)).await?;
    let models = ModelsSpec {
        endpoints: fleet.urls(),
        max_concurrency: 256,
        affinity: true,
        timeout_s: 3600.0,
    };
    let label = format!("work-{scope}-{}", method.name());
    let root = bench.folder(&label)?;
    // Ours: one sweep of every cell; the reference: one run per cell.
    let cells: Vec<(String, Vec<toml::Table>)> = match method {
        Method::Ours => vec![("sweep".into(), variants.to_vec())],
        Method::Reference => variants
            .iter()
            .enumerate()
            .map(|(index, variant)| (format!("cell-{index}"), vec![variant.clone()]))
            .collect(),
    };
    for (name, cell_variants) in &cells {
        let folder = root.join(name);
        let mut config = grsu_config::base(
            &format!("{label}-{name}"),
            &folder.join("output"),
            &[0],
            options.work_samples,
            &bench.data,
            Some(options.work_samples),
            &models,
        );
        grsu_config::merge(&mut config, &bench.paper.setting);
        method.apply(&mut config);
        if let [only] = cell_variants.as_slice() {
            // One cell: its overrides applied to the config itself.
            grsu_config::merge(&mut config, &PaperConfig::overrides(only));
            method.apply(&mut config);
        } else {
            config.insert(
                "variant".into(),
                toml::Value::Array(
                    cell_variants
                        .iter()
                        .map(|variant| toml::Value::Table(variant.clone()))
                        .collect(),
                ),
            );
        }
        eprintln!("work: {label} {name}");
        let run = run_sweep(bench, &config, &folder).await?;
        run.check()?;
        check_complete(
            &report_json(&bench.grsu, &folder.join("output"), None)?,
            &label,
        )?;
    }
    let stats = fleet.stats().total;
    fleet.shutdown().await;
    Ok(WorkRun {
        scope: scope.into(),
        method: method.name().into(),
        grsu_runs: cells.len(),
        samples: options.work_samples,
        modelled_replica_s: modelled_replica_seconds(&CapacityConfig::default(), &stats),
        stats,
    })
}

/// Per-sample columns of a run.
fn per_sample(run: &WorkRun) -> [f64; 6] {
    let samples = run.samples as f64;
    let stats = &run.stats;
    [
        stats.served as f64 / samples,
        stats.sequences as f64 / samples,
        stats.prompt_tokens as f64 / samples,
        (stats.prompt_tokens - stats.cached_tokens) as f64 / samples,
        stats.completion_tokens as f64 / samples,
        run.modelled_replica_s / samples,
    ]
}

pub async fn run(bench: &Bench, options: &WorkOptions) -> anyhow::Result<String> {
    let grid = bench.paper.variants.clone();
    let single: Vec<toml::Table> = grid.iter().take(1).cloned().collect();
    let mut runs = Vec::new();
    for (scope, variants) in [("single cell (GRSU)", &single), ("Figure 2 grid", &grid)] {
        for method in [Method::Ours, Method::Reference] {
            let key = if variants.len() == 1 {
                "single"
            } else {
                "grid"
            };
            let mut run = run_scope(bench, options, key, variants, method).await?;
            run.scope = scope.into();
            runs.push(run);
        }
    }
    let mut table = Table::new(
        "Table 2: model work per sample, ours against the reference way (counted at the server)",
        &[
            "scope",
            "method",
            "grsu runs",
            "requests",
            "sequences",
            "prompt tokens",
            "uncached prompt tokens",
            "completion tokens",
            "modelled replica-s",
            "rejected",
        ],
    );
    for pair in runs.chunks(2) {
        for run in pair {
            let values = per_sample(run);
            let mut cells = vec![
                run.scope.clone(),
                run.method.clone(),
                run.grsu_runs.to_string(),
            ];
            cells.extend(values[..5].iter().map(|value| fixed(*value, 0)));
            cells.push(fixed(values[5], 3));
            cells.push(run.stats.rejected.to_string());
            table.row(cells);
        }
        if let [ours, reference] = pair {
            let (ours, reference) = (per_sample(ours), per_sample(reference));
            let mut cells = vec![
                pair[0].scope.clone(),
                "ratio ours / reference".into(),
                "".into(),
            ];
            cells.extend(
                ours.iter()
                    .zip(reference)
                    .map(|(ours, reference)| format!("×{}", fixed(ratio(*ours, reference), 2))),
            );
            cells.push("".into());
            table.row(cells);
        }
    }
    let names: Vec<&str> = bench.paper.variants.iter().map(PaperConfig::name).collect();
    table.note(format!(
        "Paper setting from {} (B = N = 4, D = 5, k = 10, item-context scoring, reference score formula), the first {} ReDial test samples (only new items), seed 0. Grid: its variants {}.",
        bench.paper.file.display(),
        options.work_samples,
        names.join(", ")
    ));
    table.note("Ours: forced scoring, lists of a node in one request with n, stop sequence after the k-th item, the grid as one sweep (shared searches and response cache). Reference: scoring_mode = generate, batch_lists = false, stop_after_list = false, every cell a separate `grsu run` in its own output folder (only the per-sample cache within a run); critiques are one request with n = N in both.");
    table.note("Per sample of the data (the grid's numbers are for all its cells together). Counted by the simulated server: requests served, sequences (choices), prompt tokens, prompt tokens not served by the prefix cache (fresh fleet, cold cache, one replica), completion tokens. Modelled replica-s: seconds a saturated default replica (S = 64, P = 8,000 prompt tokens/s, r = 40 tokens/s per sequence) needs for this work by the sim's capacity model, i.e. prefill and decode together.");
    let markdown = bench.write_result("work", std::slice::from_ref(&table), &runs)?;
    Ok(markdown)
}
