//! Table 4: search against no search on the simulated world, from `grsu report --format json`
//! (mean ± std over seeds, paired t-test per sample against no search).

use clap::Args;
use serde::Serialize;

use crate::bench::Bench;
use crate::child::{check_complete, report_json, run_sweep};
use crate::grsu_config::{self, ModelsSpec};
use crate::table::{fixed, Table};

#[derive(Debug, Clone, Args)]
pub struct QualityOptions {
    /// Samples of the quality comparison.
    #[arg(long, default_value_t = 50)]
    pub quality_samples: usize,
    /// Seeds of the quality comparison.
    #[arg(long, value_delimiter = ',', default_value = "0,1")]
    pub quality_seeds: Vec<u64>,
}

const COLUMNS: [&str; 4] = ["Recall@10", "Recall@50", "NDCG@10", "NDCG@50"];

#[derive(Debug, Clone, Serialize)]
pub struct QualityRun {
    pub report: serde_json::Value,
    pub wall_s: f64,
}

pub async fn run(bench: &Bench, options: &QualityOptions) -> anyhow::Result<String> {
    let mut fleet_config = bench.fleet_config(2);
    fleet_config.capacity.max_running_sequences = 128;
    fleet_config.capacity.time_scale = 0.002;
    let fleet = bench.spawn(fleet_config).await?;
    let folder = bench.folder("quality")?;
    let mut config = grsu_config::base(
        "quality",
        &folder.join("output"),
        &options.quality_seeds,
        options.quality_samples,
        &bench.data,
        Some(options.quality_samples),
        &ModelsSpec {
            endpoints: fleet.urls(),
            max_concurrency: 128,
            affinity: true,
            timeout_s: 3600.0,
        },
    );
    grsu_config::merge(&mut config, &bench.paper.setting);
    grsu_config::set(&mut config, "user.scoring_mode", "forced");
    grsu_config::set(
        &mut config,
        "output.strategies",
        toml::Value::Array(vec!["reward-mean".into()]),
    );
    let mut none = toml::Table::new();
    grsu_config::set(&mut none, "name", "none");
    grsu_config::set(&mut none, "search.strategy", "none");
    // A list of 50 numbered bold titles is ~600 tokens; a cut answer is invalid (every attempt).
    // The default budget (40 tokens per item) fits it too; the figures in the notes used 1024.
    grsu_config::set(&mut none, "crs.max_tokens", 1024);
    let mut beam = toml::Table::new();
    grsu_config::set(&mut beam, "name", "beam");
    config.insert(
        "variant".into(),
        toml::Value::Array(vec![toml::Value::Table(none), toml::Value::Table(beam)]),
    );
    eprintln!("quality: none against beam");
    let run = run_sweep(bench, &config, &folder).await?;
    fleet.shutdown().await;
    run.check()?;
    let report = report_json(&bench.grsu, &folder.join("output"), Some("none"))?;
    check_complete(&report, "quality")?;

    let mut headers = vec!["method", "samples"];
    headers.extend(COLUMNS);
    headers.extend([
        "p (R@10)",
        "p (R@50)",
        "p (N@10)",
        "p (N@50)",
        "calls / sample",
    ]);
    let mut table = Table::new(
        "Table 4: search against no search on the simulated world",
        &headers,
    );
    for method in report["methods"].as_array().into_iter().flatten() {
        let column = |label: &str| {
            method["columns"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|column| column["column"] == label)
                .cloned()
                .unwrap_or_default()
        };
        let samples = method["samples"].as_u64().unwrap_or(0);
        let seeds = method["seeds"].as_array().map_or(1, Vec::len).max(1) as f64;
        let mut cells = vec![
            method["name"].as_str().unwrap_or("?").to_string(),
            samples.to_string(),
        ];
        for label in COLUMNS {
            let summary = column(label);
            let marker = match summary["significance"].as_str() {
                Some("better") => "*",
                Some("worse") => "†",
                _ => "",
            };
            cells.push(format!(
                "{} ± {}{marker}",
                fixed(summary["mean"].as_f64().unwrap_or(f64::NAN), 3),
                fixed(summary["std"].as_f64().unwrap_or(f64::NAN), 3)
            ));
        }
        for label in COLUMNS {
            cells.push(match column(label)["p_value"].as_f64() {
                Some(p) if p < 1e-4 => format!("{p:.1e}"),
                Some(p) => fixed(p, 4),
                None => "(baseline)".into(),
            });
        }
        let calls = method["cost"]["calls"].as_f64().unwrap_or(f64::NAN);
        cells.push(fixed(calls / (samples as f64 * seeds), 0));
        table.row(cells);
    }
    table.note(format!(
        "One sweep, variants `none` (zero-shot list of 50, search.strategy = none, crs.max_tokens = 1024, set explicitly; the default budget, 40 tokens per item, is 2,000 for 50) and `beam` (the paper setting of {}: B = N = 4, D = 5, k = 10, forced scoring, item context), output strategy reward-mean; the first {} ReDial test samples (only new items), seeds {:?}; simulated world of sim-vllm with its default behaviour.",
        bench.paper.file.display(),
        options.quality_samples,
        options.quality_seeds
    ));
    table.note("Mean ± std over seeds (each seed averaged over samples); `*` significantly better, `†` significantly worse than `none` (paired t-test per sample, each sample averaged over seeds, p < 0.05), as `grsu report --baseline none` computes. Calls / sample: model calls (not cache hits) per sample and seed.");
    let markdown = bench.write_result(
        "quality",
        std::slice::from_ref(&table),
        &QualityRun {
            report,
            wall_s: run.wall_s,
        },
    )?;
    Ok(markdown)
}
