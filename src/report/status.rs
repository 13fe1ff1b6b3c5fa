//! `grsu status`: per cell, how far a sweep is (finished units of its search out of seeds ×
//! samples), what it has cost, and the samples that failed. Read from the store alone, so it can
//! be run while a sweep is running elsewhere on a copy, or after it stopped.

use serde::{Deserialize, Serialize};

use crate::store::{CallCounts, FailureRecord, SampleRecord, SweepManifest};

/// The state of one cell.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CellStatus {
    pub cell: String,
    /// The shared search the cell reads (cells with the same key share their work).
    pub search: String,
    pub done: usize,
    pub total: usize,
    /// Model calls, cache hits and tokens of the search's finished samples.
    pub calls: u64,
    pub cache_hits: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Samples whose last attempt failed and that are not finished yet.
    pub errors: usize,
    pub last_error: Option<String>,
}

/// The status of every cell, in manifest order.
pub fn cell_status(
    manifest: &SweepManifest,
    records: &[SampleRecord],
    failures: &[FailureRecord],
) -> Vec<CellStatus> {
    manifest
        .cells
        .iter()
        .map(|cell| {
            let samples = (0..manifest.cell_sample_count(cell))
                .filter(|&position| manifest.shard.is_none_or(|shard| shard.owns(position)))
                .count();
            let mut cost = CallCounts::default();
            let mut done = 0;
            for record in manifest.cell_records(cell, records) {
                done += 1;
                for counts in record.calls.values() {
                    cost.add(counts);
                }
            }
            let failed: Vec<&FailureRecord> = failures
                .iter()
                .filter(|failure| failure.search == cell.search)
                .collect();
            CellStatus {
                cell: cell.name.clone(),
                search: cell.search.clone(),
                done,
                total: samples * manifest.seeds.len(),
                calls: cost.calls,
                cache_hits: cost.cache_hits,
                prompt_tokens: cost.prompt_tokens,
                completion_tokens: cost.completion_tokens,
                errors: failed.len(),
                last_error: failed.last().map(|failure| {
                    format!(
                        "seed {} sample {}: {}",
                        failure.seed, failure.sample, failure.error
                    )
                }),
            }
        })
        .collect()
}

/// The status as a Markdown table.
pub fn status_table(status: &[CellStatus]) -> String {
    let mut table = String::from(
        "| cell | search | done | calls | cache hits | prompt tokens | completion tokens | errors |\n|---|---|---|---|---|---|---|---|\n",
    );
    for cell in status {
        table.push_str(&format!(
            "| {} | {} | {}/{} | {} | {} | {} | {} | {} |\n",
            cell.cell,
            cell.search,
            cell.done,
            cell.total,
            cell.calls,
            cell.cache_hits,
            cell.prompt_tokens,
            cell.completion_tokens,
            cell.errors
        ));
    }
    for cell in status.iter().filter(|cell| cell.last_error.is_some()) {
        table.push_str(&format!(
            "\n{}: last error: {}",
            cell.cell,
            cell.last_error.as_deref().unwrap_or_default()
        ));
    }
    table
}
