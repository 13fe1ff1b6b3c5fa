//! The metrics table of a run, computed from its stored records alone: per output strategy and
//! seed, the dataset averages; the reward-mean depth curve from truncated trees; the cost.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::metrics::{Averaging, MetricValues, MetricsAccumulator, SampleMetrics, CUTOFFS};
use crate::search::{rank, OutputStrategy};
use crate::store::{CallCounts, SampleRecord};

/// One row: an output strategy (possibly truncated at a depth) under one seed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricsRow {
    pub strategy: String,
    pub seed: u64,
    /// `None`: the whole tree.
    pub depth: Option<u32>,
    pub samples: usize,
    pub metrics: MetricValues,
}

/// A run's metrics and cost.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunMetrics {
    pub rows: Vec<MetricsRow>,
    /// Reward-mean ranking of trees truncated at each depth.
    pub depth_curve: Vec<MetricsRow>,
    /// Calls per model role, summed over records.
    pub cost: BTreeMap<String, CallCounts>,
    pub records: usize,
    pub wall_ms: u64,
}

/// Summarises `records` for the given output strategies.
pub fn summarize(records: &[SampleRecord], strategies: &[OutputStrategy]) -> RunMetrics {
    let mut seeds: Vec<u64> = records.iter().map(|record| record.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    let mut rows = Vec::new();
    let mut depth_curve = Vec::new();
    for &seed in &seeds {
        let of_seed: Vec<&SampleRecord> = records
            .iter()
            .filter(|record| record.seed == seed)
            .collect();
        for strategy in strategies {
            let mut accumulator = MetricsAccumulator::default();
            for record in &of_seed {
                let metrics = record
                    .metrics
                    .get(strategy.as_str())
                    .copied()
                    .unwrap_or_else(|| {
                        SampleMetrics::of_ranking(
                            &rank(&record.tree, *strategy, None),
                            &record.labels,
                        )
                    });
                accumulator.add(&metrics);
            }
            rows.push(MetricsRow {
                strategy: strategy.as_str().to_string(),
                seed,
                depth: None,
                samples: accumulator.samples(),
                metrics: accumulator.finish(Averaging::PerSample),
            });
        }
        let max_depth = of_seed
            .iter()
            .map(|record| record.tree.max_depth())
            .max()
            .unwrap_or(0);
        for depth in 1..=max_depth {
            let mut accumulator = MetricsAccumulator::default();
            for record in &of_seed {
                let ranking = rank(&record.tree, OutputStrategy::RewardMean, Some(depth));
                accumulator.add(&SampleMetrics::of_ranking(&ranking, &record.labels));
            }
            depth_curve.push(MetricsRow {
                strategy: OutputStrategy::RewardMean.as_str().to_string(),
                seed,
                depth: Some(depth),
                samples: accumulator.samples(),
                metrics: accumulator.finish(Averaging::PerSample),
            });
        }
    }
    let mut cost: BTreeMap<String, CallCounts> = BTreeMap::new();
    for record in records {
        for (role, counts) in &record.calls {
            cost.entry(role.clone()).or_default().add(counts);
        }
    }
    RunMetrics {
        rows,
        depth_curve,
        cost,
        records: records.len(),
        wall_ms: records.iter().map(|record| record.wall_ms).sum(),
    }
}

/// The metrics as a Markdown table (Recall/NDCG/MRR at 1, 5, 10, 20, 50).
pub fn markdown_table(rows: &[MetricsRow]) -> String {
    let mut header = String::from("| strategy | seed | depth | samples |");
    let mut rule = String::from("|---|---|---|---|");
    for metric in ["Recall", "NDCG", "MRR"] {
        for k in CUTOFFS {
            header.push_str(&format!(" {metric}@{k} |"));
            rule.push_str("---|");
        }
    }
    let mut table = format!("{header}\n{rule}\n");
    for row in rows {
        table.push_str(&format!(
            "| {} | {} | {} | {} |",
            row.strategy,
            row.seed,
            row.depth
                .map_or("all".to_string(), |depth| depth.to_string()),
            row.samples
        ));
        for values in [row.metrics.recall, row.metrics.ndcg, row.metrics.mrr] {
            for value in values {
                table.push_str(&format!(" {value:.4} |"));
            }
        }
        table.push('\n');
    }
    table
}

/// The cost per role as a Markdown table.
pub fn cost_table(metrics: &RunMetrics) -> String {
    let mut table = String::from(
        "| role | calls | cache hits | prompt tokens | completion tokens | invalid answers | calls/sample | prompt tok/sample | completion tok/sample |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    let samples = metrics.records.max(1) as f64;
    for (role, counts) in &metrics.cost {
        table.push_str(&format!(
            "| {role} | {} | {} | {} | {} | {} | {:.1} | {:.0} | {:.0} |\n",
            counts.calls,
            counts.cache_hits,
            counts.prompt_tokens,
            counts.completion_tokens,
            counts.invalid_answers,
            counts.calls as f64 / samples,
            counts.prompt_tokens as f64 / samples,
            counts.completion_tokens as f64 / samples
        ));
    }
    table
}
