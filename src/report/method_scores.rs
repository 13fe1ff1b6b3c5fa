//! The per-sample metrics of every method of a store: each output strategy of each cell (ranked
//! from the stored trees, truncated at the cell's depth) and each imported ranking set.
//!
//! Everything is recomputed from the records, never read from files written earlier, so a report
//! regenerated from the store alone is the same report.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::metrics::SampleMetrics;
use crate::search::{rank, OutputStrategy};
use crate::store::{CallCounts, SampleRecord, StoreError, SweepManifest};

/// Where a method's rankings come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum MethodSource {
    /// An output strategy of a cell.
    Cell {
        cell: String,
        strategy: String,
        search: String,
        depth: Option<u32>,
    },
    /// Rankings imported with `grsu import`.
    Imported { source: String },
}

/// One method's metrics per (seed, sample), and what its search cost.
#[derive(Debug, Clone)]
pub struct MethodScores {
    pub name: String,
    pub source: MethodSource,
    /// Per seed, per sample id.
    pub samples: BTreeMap<u64, BTreeMap<String, SampleMetrics>>,
    /// Calls per role, summed over the search's records (shared searches report the same cost).
    pub cost: BTreeMap<String, CallCounts>,
    pub wall_ms: u64,
}

/// The records of a store grouped by search key, borrowed from the one list read from the store
/// (a paper sweep's records are hundreds of MiB in memory: never held twice).
pub type RecordsBySearch<'a> = BTreeMap<String, Vec<&'a SampleRecord>>;

/// Every method of the store, in manifest order (cells, each strategy in order), then imports.
pub fn method_scores(
    manifest: &SweepManifest,
    records: &RecordsBySearch<'_>,
    imports: &[crate::store::ImportedRankings],
) -> Result<Vec<MethodScores>, StoreError> {
    let mut methods = Vec::new();
    for cell in &manifest.cells {
        let of_search: Vec<&SampleRecord> = manifest.cell_records(
            cell,
            records.get(&cell.search).into_iter().flatten().copied(),
        );
        let mut cost: BTreeMap<String, CallCounts> = BTreeMap::new();
        for record in &of_search {
            for (role, counts) in &record.calls {
                cost.entry(role.clone()).or_default().add(counts);
            }
        }
        let wall_ms = of_search.iter().map(|record| record.wall_ms).sum();
        for strategy_name in &cell.strategies {
            let strategy: OutputStrategy = serde_json::from_value(serde_json::Value::String(
                strategy_name.clone(),
            ))
            .map_err(|error| StoreError::Corrupt {
                tree: "manifest",
                message: format!("cell `{}`: {error}", cell.name),
            })?;
            let mut samples: BTreeMap<u64, BTreeMap<String, SampleMetrics>> = BTreeMap::new();
            for record in &of_search {
                let ranking = rank(&record.tree, strategy, cell.depth);
                samples.entry(record.seed).or_default().insert(
                    record.sample.clone(),
                    SampleMetrics::of_ranking(&ranking, &record.labels),
                );
            }
            let name = if cell.strategies.len() > 1 {
                format!("{} · {strategy_name}", cell.name)
            } else {
                cell.name.clone()
            };
            methods.push(MethodScores {
                name,
                source: MethodSource::Cell {
                    cell: cell.name.clone(),
                    strategy: strategy_name.clone(),
                    search: cell.search.clone(),
                    depth: cell.depth,
                },
                samples,
                cost: cost.clone(),
                wall_ms,
            });
        }
    }
    let labels = sample_labels(manifest);
    for imported in imports {
        // An imported method is scored on every sample of the sweep: a sample it has no ranking
        // for counts as a miss (so skipping hard samples cannot help it).
        let scores = labels
            .iter()
            .map(|(sample, labels)| {
                let metrics = match imported.rankings.get(*sample) {
                    Some(ranking) => SampleMetrics::of_ranking(ranking, labels),
                    None => SampleMetrics::missing(labels.len()),
                };
                (sample.to_string(), metrics)
            })
            .collect();
        methods.push(MethodScores {
            name: imported.name.clone(),
            source: MethodSource::Imported {
                source: imported.source.clone(),
            },
            // External rankings have no seeds: they count as one run, paired with every seed's
            // average of the other method.
            samples: BTreeMap::from([(0, scores)]),
            cost: BTreeMap::new(),
            wall_ms: 0,
        });
    }
    Ok(methods)
}

/// The labels of every sample of the sweep (the first search that has the sample).
pub fn sample_labels(manifest: &SweepManifest) -> BTreeMap<&str, &[String]> {
    let mut labels = BTreeMap::new();
    for search in &manifest.searches {
        for sample in &search.samples {
            labels
                .entry(sample.id.as_str())
                .or_insert(sample.labels.as_slice());
        }
    }
    labels
}
