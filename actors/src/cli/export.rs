//! `grsu export <output>`: the per-sample records of a run as JSON lines.
//!
//! A line is the stored record (`grsu::store::SampleRecord`) with its metrics written for reading
//! rather than for adding up: per output strategy the cut-offs themselves and, index-aligned with
//! them, the sample's Recall, NDCG and MRR (its labels' terms averaged over its labels, as the
//! report averages them) and its label count:
//! `"metrics": {"reward-mean": {"k": [1, 5, 10, 20, 50], "recall": [..], "ndcg": [..], "mrr":
//! [..], "labels": 2}}`. The store keeps the sums it has always kept; only this JSON differs.

use std::io::Write;
use std::path::PathBuf;

use super::output_store::open_output_store_to_read_through;
use super::CliFailure;
use clap::Args;
use grsu::metrics::{SampleMetrics, CUTOFFS};
use grsu::store::SampleRecord;
use serde_json::{json, Value};

#[derive(Debug, Args)]
pub struct ExportArguments {
    /// The run's output folder (its `[run] output`).
    output: PathBuf,
    /// Write here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Leave the search trees out (predictions, metrics and costs only).
    #[arg(long)]
    no_trees: bool,
}

pub fn run(arguments: ExportArguments) -> Result<(), CliFailure> {
    let store = open_output_store_to_read_through(&arguments.output)?;
    let records = store
        .records()
        .map_err(|error| CliFailure::Other(error.into()))?;
    let mut out: Box<dyn Write> = match &arguments.out {
        Some(file) => Box::new(std::io::BufWriter::new(std::fs::File::create(file)?)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    for record in &records {
        writeln!(out, "{}", exported(record, !arguments.no_trees)?)?;
    }
    out.flush()?;
    eprintln!("{} records", records.len());
    Ok(())
}

/// One line of the export: the record, its metrics with their cut-offs named, its tree unless
/// `with_tree` is false.
fn exported(record: &SampleRecord, with_tree: bool) -> Result<Value, serde_json::Error> {
    let mut value = serde_json::to_value(record)?;
    if let Some(object) = value.as_object_mut() {
        if !with_tree {
            object.remove("tree");
        }
        let metrics: serde_json::Map<String, Value> = record
            .metrics
            .iter()
            .map(|(strategy, metrics)| (strategy.clone(), named_metrics(metrics)))
            .collect();
        object.insert("metrics".into(), Value::Object(metrics));
    }
    Ok(value)
}

/// A sample's metrics with their cut-offs: `{"k": [1, 5, ...], "recall": [...], ...}`.
fn named_metrics(metrics: &SampleMetrics) -> Value {
    let mean = metrics.mean();
    json!({
        "k": CUTOFFS,
        "recall": mean.recall,
        "ndcg": mean.ndcg,
        "mrr": mean.mrr,
        "labels": metrics.labels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_name_their_cut_offs_and_are_averaged_over_labels() {
        // Labels a (rank 2) and z (not ranked): Recall@5 = 1/2, NDCG@5 = 1/2 · 1/log2(4).
        // From JSON, so that fields added to records later (with their defaults) need no edit.
        let record: SampleRecord = serde_json::from_value(json!({
            "search": "s",
            "seed": 0,
            "sample": "c:1",
            "labels": ["a", "z"],
            "tree": grsu::search::SearchTree::new(),
            "searched_depth": 1,
            "predictions": {"reward-mean": ["x", "y", "a"]},
            "metrics": {
                "reward-mean": SampleMetrics::of_ranking(&["x", "y", "a"], &["a", "z"]),
            },
            "calls": {},
            "unscored_items": 0,
            "wall_ms": 7,
        }))
        .unwrap();
        let line = exported(&record, false).unwrap();
        let metrics = &line["metrics"]["reward-mean"];
        assert_eq!(metrics["k"], json!([1, 5, 10, 20, 50]));
        assert_eq!(metrics["recall"], json!([0.0, 0.5, 0.5, 0.5, 0.5]));
        assert_eq!(metrics["ndcg"][1], json!(0.25));
        assert_eq!(metrics["mrr"][1], json!(0.5 / 3.0));
        assert_eq!(metrics["labels"], 2);
        assert!(metrics.get("sum").is_none());
        assert!(line.get("tree").is_none());
        assert_eq!(line["wall_ms"], 7);
        assert!(exported(&record, true).unwrap().get("tree").is_some());
    }
}
