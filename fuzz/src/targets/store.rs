//! The store's record and manifest decoding (`serde_json::from_slice`, as the store decodes its
//! trees), followed by what `grsu status` computes from them.

use std::collections::BTreeMap;

use grsu::metrics::SampleMetrics;
use grsu::report::status::{cell_status, status_table};
use grsu::search::ranking::{rank, OutputStrategy};
use grsu::search::SearchTree;
use grsu::store::{
    CallCounts, CellManifest, FailureRecord, ImportedRankings, ModelRequests, SampleLabels,
    SampleRecord, SearchManifest, SweepManifest,
};
use grsu::sweep::Shard;

use crate::seeds::SeedFiles;
use crate::{Structure, Target, Verdict};

fn titles(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| name.to_string()).collect()
}

/// A record as a beam search of depth 2 writes it.
fn sample_record(sample: &str) -> SampleRecord {
    let mut tree = SearchTree::new();
    let first = tree.add_node(None, 0, titles(&["Heat (1995)", "Ronin (1998)"]), None);
    let second = tree.add_node(None, 1, titles(&["Thief (1981)", "Heat (1995)"]), None);
    tree.set_scores(first, vec![0.8, 0.4]);
    tree.set_scores(second, vec![0.1, 0.9]);
    tree.set_kept(first, true);
    let child = tree.add_node(
        Some(first),
        0,
        titles(&["Collateral (2004)", "Heat (1995)"]),
        Some("something newer".into()),
    );
    tree.set_scores(child, vec![0.7, 0.6]);
    tree.set_kept(child, true);
    let labels = titles(&["Heat (1995)"]);
    let ranking = titles(&["Heat (1995)", "Collateral (2004)", "Ronin (1998)"]);
    let mut calls = BTreeMap::new();
    calls.insert(
        "crs".to_string(),
        CallCounts {
            calls: 3,
            prompt_tokens: 900,
            completion_tokens: 120,
            distinct_requests: 3,
            ..CallCounts::default()
        },
    );
    calls.insert(
        "user".to_string(),
        CallCounts {
            calls: 6,
            cache_hits: 2,
            prompt_tokens: 2400,
            completion_tokens: 6,
            invalid_answers: 1,
            ..CallCounts::default()
        },
    );
    let mut requests = BTreeMap::new();
    requests.insert(
        "recommend/root/0".to_string(),
        ModelRequests {
            role: "crs".into(),
            keys: vec!["0123456789abcdef".into()],
        },
    );
    SampleRecord {
        search: "search-0".into(),
        seed: 0,
        sample: sample.into(),
        labels: labels.clone(),
        history: Vec::new(),
        tree,
        searched_depth: 2,
        predictions: BTreeMap::from([("reward-mean".to_string(), ranking.clone())]),
        metrics: BTreeMap::from([(
            "reward-mean".to_string(),
            SampleMetrics::of_ranking(&ranking, &labels),
        )]),
        calls,
        unscored_items: 0,
        requests,
        wall_ms: 1234,
    }
}

/// A manifest of a two-cell sweep (a grid over the search strategy).
fn manifest(files: &SeedFiles) -> SweepManifest {
    let config_text =
        std::fs::read_to_string(files.repository_file("config/demo_grid.toml")).unwrap_or_default();
    let cell = |name: &str, depth: Option<u32>| CellManifest {
        name: name.into(),
        assignments: vec![(
            "search.strategy".into(),
            name.trim_start_matches("strategy=").into(),
        )],
        search: "search-0".into(),
        depth,
        limit: Some(2),
        strategies: vec!["reward-mean".into()],
        config: serde_json::json!({"run": {"name": "demo_grid"}, "search": {"depth": depth}}),
    };
    SweepManifest {
        name: "demo_grid".into(),
        config_text,
        overrides: vec!["--set search.depth=2".into()],
        sweep_hash: "0123456789abcdef".into(),
        code_version: "0.1.0".into(),
        seeds: vec![0, 1],
        cells: vec![
            cell("strategy=beam", Some(2)),
            cell("strategy=greedy", None),
        ],
        searches: vec![SearchManifest {
            key: "search-0".into(),
            models: BTreeMap::from([("crs".to_string(), "embedded:smollm2".to_string())]),
            samples: vec![
                SampleLabels {
                    id: "demo-01:1".into(),
                    labels: titles(&["Casino (1995)"]),
                },
                SampleLabels {
                    id: "demo-02:3".into(),
                    labels: titles(&["Heat (1995)"]),
                },
            ],
        }],
        shard: Some(Shard { index: 1, count: 2 }),
        shard_source: Some(grsu::sweep::ShardSource::Explicit),
        created_unix: 1_790_000_000,
    }
}

/// `SampleRecord` (and the failure and import records) decoding, then the record's tree and what
/// `grsu status` adds up from records.
pub struct Record;

impl Target for Record {
    fn name(&self) -> &'static str {
        "store-record"
    }

    fn structure(&self) -> Structure {
        Structure::Json
    }

    fn seeds(&self, _files: &SeedFiles) -> Vec<Vec<u8>> {
        let failure = FailureRecord {
            search: "search-0".into(),
            seed: 1,
            sample: "demo-01:1".into(),
            error: "model error: timeout".into(),
        };
        let imported = ImportedRankings {
            name: "kbrd".into(),
            source: "kbrd.jsonl".into(),
            rankings: BTreeMap::from([("demo-01:1".to_string(), titles(&["Heat (1995)"]))]),
            unmatched_titles: 1,
            unknown_samples: 0,
        };
        [
            serde_json::to_vec(&sample_record("demo-01:1")),
            serde_json::to_vec(&failure),
            serde_json::to_vec(&imported),
        ]
        .into_iter()
        .filter_map(Result::ok)
        .collect()
    }

    fn run(&self, input: &[u8]) -> Verdict {
        let _ = serde_json::from_slice::<FailureRecord>(input);
        let _ = serde_json::from_slice::<ImportedRankings>(input);
        let Ok(record) = serde_json::from_slice::<SampleRecord>(input) else {
            return Verdict::Rejected;
        };
        let tree = &record.tree;
        let _ = tree.truncated(record.searched_depth);
        let _ = tree.max_depth();
        for node in tree.nodes() {
            let _ = tree.get(node.id);
            let _ = tree.children(node.id).count();
        }
        // What a report recomputes from a stored tree, and how the explorer draws it.
        for strategy in OutputStrategy::ALL {
            let _ = rank(tree, strategy, None);
            let _ = rank(tree, strategy, Some(1));
        }
        let _ = grsu::explore::tree_layout::layout(tree);
        static MANIFEST: std::sync::OnceLock<SweepManifest> = std::sync::OnceLock::new();
        let manifest = MANIFEST.get_or_init(|| manifest(&SeedFiles::locate()));
        // The same record twice: its counts are added up.
        let records = [record.clone(), record];
        let status = cell_status(manifest, &records, &[]);
        let _ = status_table(&status);
        Verdict::Accepted
    }
}

/// `SweepManifest` decoding, then `grsu status` over it.
pub struct Manifest;

impl Target for Manifest {
    fn name(&self) -> &'static str {
        "store-manifest"
    }

    fn structure(&self) -> Structure {
        Structure::Json
    }

    fn seeds(&self, files: &SeedFiles) -> Vec<Vec<u8>> {
        let mut unsharded = manifest(files);
        unsharded.shard = None;
        unsharded.shard_source = None;
        [
            serde_json::to_vec(&manifest(files)),
            serde_json::to_vec(&unsharded),
        ]
        .into_iter()
        .filter_map(Result::ok)
        .collect()
    }

    fn run(&self, input: &[u8]) -> Verdict {
        let Ok(manifest) = serde_json::from_slice::<SweepManifest>(input) else {
            return Verdict::Rejected;
        };
        if let Some(shard) = manifest.shard {
            let _ = shard.to_string();
        }
        static RECORDS: std::sync::OnceLock<Vec<SampleRecord>> = std::sync::OnceLock::new();
        let records =
            RECORDS.get_or_init(|| vec![sample_record("demo-01:1"), sample_record("demo-02:3")]);
        let status = cell_status(&manifest, records, &[]);
        let _ = status_table(&status);
        for cell in &manifest.cells {
            let _ = manifest.cell_records(cell, records);
        }
        Verdict::Accepted
    }
}
