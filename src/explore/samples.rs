//! The sample table: one row per sample of the sweep, with its labels, what its searches cost, and
//! each method's Recall@10 and NDCG@10 (averaged over the seeds that have it, as the paired test
//! pairs them). Values are index-aligned with [`SamplesTable::methods`] × [`SAMPLE_METRICS`], so
//! that thousands of rows stay a small document.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::report::method_scores::{MethodScores, MethodSource};
use crate::store::{SampleRecord, SweepManifest};

/// The metrics of the table: (label, metric, k).
pub const SAMPLE_METRICS: [(&str, &str, usize); 2] =
    [("Recall@10", "recall", 10), ("NDCG@10", "ndcg", 10)];

/// A method as the table names it.
#[derive(Debug, Clone, Serialize)]
pub struct TableMethod {
    pub name: String,
    /// The cell it belongs to (`None` for imported rankings).
    pub cell: Option<String>,
    pub strategy: Option<String>,
}

/// One sample.
#[derive(Debug, Clone, Serialize)]
pub struct SampleRow {
    pub id: String,
    pub labels: Vec<String>,
    /// Seeds with a record.
    pub seeds: usize,
    /// Wall time of its searches (every search and seed), in milliseconds.
    pub wall_ms: u64,
    /// Model calls of its searches (cache hits not counted).
    pub calls: u64,
    /// Per method, per metric of [`SAMPLE_METRICS`]: `None` where the method has no result.
    pub values: Vec<Option<f64>>,
}

/// The whole table.
#[derive(Debug, Clone, Serialize)]
pub struct SamplesTable {
    pub methods: Vec<TableMethod>,
    pub metrics: Vec<String>,
    pub rows: Vec<SampleRow>,
}

/// The table of every sample of `manifest`'s searches, in the order the searches list them.
pub fn samples_table(
    manifest: &SweepManifest,
    methods: &[MethodScores],
    records: &BTreeMap<String, Vec<Arc<SampleRecord>>>,
) -> SamplesTable {
    let mut order: Vec<(&str, &[String])> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for search in &manifest.searches {
        for sample in &search.samples {
            if seen.insert(sample.id.as_str()) {
                order.push((sample.id.as_str(), sample.labels.as_slice()));
            }
        }
    }
    // Per method, per sample: the seed-averaged metric values.
    let averaged: Vec<BTreeMap<&str, Vec<f64>>> = methods
        .iter()
        .map(|method| {
            let mut sums: BTreeMap<&str, (Vec<f64>, usize)> = BTreeMap::new();
            for samples in method.samples.values() {
                for (sample, metrics) in samples {
                    let mean = metrics.mean();
                    let entry = sums
                        .entry(sample.as_str())
                        .or_insert_with(|| (vec![0.0; SAMPLE_METRICS.len()], 0));
                    for (sum, (_, metric, k)) in entry.0.iter_mut().zip(SAMPLE_METRICS) {
                        *sum += mean.get(metric, k).unwrap_or(0.0);
                    }
                    entry.1 += 1;
                }
            }
            sums.into_iter()
                .map(|(sample, (values, count))| {
                    (
                        sample,
                        values.into_iter().map(|sum| sum / count as f64).collect(),
                    )
                })
                .collect()
        })
        .collect();
    let rows = order
        .into_iter()
        .filter(|(id, _)| records.contains_key(*id) || averaged.iter().any(|m| m.contains_key(id)))
        .map(|(id, labels)| {
            let of_sample = records.get(id).map_or(&[][..], Vec::as_slice);
            let mut seeds: Vec<u64> = of_sample.iter().map(|record| record.seed).collect();
            seeds.sort_unstable();
            seeds.dedup();
            SampleRow {
                id: id.to_string(),
                labels: labels.to_vec(),
                seeds: seeds.len(),
                wall_ms: of_sample.iter().map(|record| record.wall_ms).sum(),
                calls: of_sample
                    .iter()
                    .flat_map(|record| record.calls.values())
                    .map(|counts| counts.calls)
                    .sum(),
                values: averaged
                    .iter()
                    .flat_map(|method| match method.get(id) {
                        Some(values) => values.iter().copied().map(Some).collect::<Vec<_>>(),
                        None => vec![None; SAMPLE_METRICS.len()],
                    })
                    .collect(),
            }
        })
        .collect();
    SamplesTable {
        methods: methods
            .iter()
            .map(|method| match &method.source {
                MethodSource::Cell { cell, strategy, .. } => TableMethod {
                    name: method.name.clone(),
                    cell: Some(cell.clone()),
                    strategy: Some(strategy.clone()),
                },
                MethodSource::Imported { .. } => TableMethod {
                    name: method.name.clone(),
                    cell: None,
                    strategy: None,
                },
            })
            .collect(),
        metrics: SAMPLE_METRICS
            .iter()
            .map(|(label, _, _)| label.to_string())
            .collect(),
        rows,
    }
}
