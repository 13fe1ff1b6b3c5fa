//! `grsu status`: per cell, how far a sweep is (finished units of its search out of seeds ×
//! samples), what it has cost, and the samples that failed. Read from the store alone, so it can
//! be run while a sweep is running elsewhere on a copy, or after it stopped. The invalid answers
//! per request of each role are there too, so that a model that keeps answering unusably (and is
//! asked again) shows while a sweep is still young.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::summary::{format_invalid_answers, invalid_answers_per_role, InvalidAnswers};
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
    /// Invalid answers per model role of the search's finished samples.
    #[serde(default)]
    pub invalid_answers: BTreeMap<String, InvalidAnswers>,
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
            let mut per_role: BTreeMap<String, CallCounts> = BTreeMap::new();
            let mut done = 0;
            for record in manifest.cell_records(cell, records) {
                done += 1;
                for (role, counts) in &record.calls {
                    cost.add(counts);
                    per_role.entry(role.clone()).or_default().add(counts);
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
                invalid_answers: invalid_answers_per_role(&per_role),
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
        "| cell | search | done | calls | cache hits | prompt tokens | completion tokens | invalid / request | errors |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for cell in status {
        table.push_str(&format!(
            "| {} | {} | {}/{} | {} | {} | {} | {} | {} | {} |\n",
            cell.cell,
            cell.search,
            cell.done,
            cell.total,
            cell.calls,
            cell.cache_hits,
            cell.prompt_tokens,
            cell.completion_tokens,
            format_invalid_answers(&cell.invalid_answers),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn record(sample: &str, crs: (u64, u64, u64), user: (u64, u64, u64)) -> SampleRecord {
        let counts = |(calls, cache_hits, invalid_answers)| CallCounts {
            calls,
            cache_hits,
            invalid_answers,
            ..CallCounts::default()
        };
        // From JSON, so that fields added to records later (with their defaults) need no edit.
        serde_json::from_value(serde_json::json!({
            "search": "s0",
            "seed": 0,
            "sample": sample,
            "labels": ["a"],
            "tree": crate::search::SearchTree::new(),
            "searched_depth": 2,
            "predictions": {},
            "metrics": {},
            "calls": {"crs": counts(crs), "user": counts(user)},
            "unscored_items": 0,
            "wall_ms": 0,
        }))
        .expect("a record")
    }

    #[test]
    fn invalid_answers_are_counted_per_role_over_the_cells_records() {
        let manifest: SweepManifest = serde_json::from_value(serde_json::json!({
            "name": "demo",
            "config_text": "",
            "sweep_hash": "hash",
            "code_version": "test",
            "seeds": [0],
            "cells": [{
                "name": "GRSU",
                "assignments": [],
                "search": "s0",
                "depth": 2,
                "strategies": ["reward-mean"],
                "config": null,
            }],
            "searches": [{
                "key": "s0",
                "models": {},
                "samples": [
                    {"id": "c:1", "labels": ["a"]},
                    {"id": "c:2", "labels": ["a"]},
                    {"id": "c:3", "labels": ["a"]},
                ],
            }],
            "created_unix": 0,
        }))
        .expect("a manifest");
        // CRS: 13 invalid answers in 5 requests; user: 4 in 30 calls + 10 cache hits.
        let records = [
            record("c:1", (3, 0, 9), (20, 4, 1)),
            record("c:2", (2, 0, 4), (10, 6, 3)),
        ];
        let status = cell_status(&manifest, &records, &[]);
        let cell = &status[0];
        assert_eq!((cell.done, cell.total), (2, 3));
        assert_eq!(cell.invalid_answers["crs"].invalid_answers, 13);
        assert_eq!(cell.invalid_answers["crs"].requests, 5);
        assert_eq!(cell.invalid_answers["user"].requests, 40);
        let table = status_table(&status);
        println!("{table}");
        assert!(
            table.contains("| GRSU | s0 | 2/3 | 35 | 10 | 0 | 0 | crs 2.60, user 0.10 | 0 |"),
            "{table}"
        );
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json[0]["invalid_answers"]["crs"]["per_request"], 2.6);
    }
}
