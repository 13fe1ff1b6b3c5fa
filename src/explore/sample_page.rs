//! One sample opened: its conversation, its labels, and per search and seed the tree (every list
//! with its items' scores, the critique that produced it, whether the beam kept it, where it is
//! drawn, and the model requests behind it) and each method's final ranking with its hits and
//! metrics.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use super::samples::SampleRow;
use super::tree_layout::{layout, TreeLayout};
use crate::data::Turn;
use crate::metrics::SampleMetrics;
use crate::report::method_scores::{MethodScores, MethodSource};
use crate::report::summary::TABLE_COLUMNS;
use crate::search::strategy::ROOT_PATH;
use crate::search::{rank, OutputStrategy};
use crate::store::{ModelRequests, SampleRecord, SweepManifest};

/// Items of a final ranking shown (the metrics go to @50).
pub const RANKING_SHOWN: usize = 50;

/// One list of a tree.
#[derive(Debug, Clone, Serialize)]
pub struct PageNode {
    pub id: usize,
    pub parent: Option<usize>,
    pub depth: u32,
    pub path: String,
    pub items: Vec<String>,
    /// Index-aligned with `items`: whether the item is one of the sample's labels.
    pub hits: Vec<bool>,
    pub scores: Option<Vec<f64>>,
    pub reward: Option<f64>,
    pub critique: Option<String>,
    pub kept: bool,
    /// The requests behind the node: the recommendation that produced its list (asked on its
    /// parent), its critique and its scores, each as `(request key, model requests)`.
    pub requests: Vec<(String, ModelRequests)>,
}

/// One method's final ranking of this sample.
#[derive(Debug, Clone, Serialize)]
pub struct PageRanking {
    pub method: String,
    pub strategy: String,
    /// The first [`RANKING_SHOWN`] items.
    pub items: Vec<String>,
    pub hits: Vec<bool>,
    /// Ranked items in all.
    pub length: usize,
    /// The sample's metrics for the report's columns: (label, value).
    pub metrics: Vec<(String, f64)>,
}

/// One search of the sample under one seed.
#[derive(Debug, Clone, Serialize)]
pub struct PageSearch {
    pub search: String,
    pub seed: u64,
    /// The cells reading this search.
    pub cells: Vec<String>,
    pub searched_depth: u32,
    pub wall_ms: u64,
    pub calls: BTreeMap<String, crate::store::CallCounts>,
    pub unscored_items: u64,
    pub nodes: Vec<PageNode>,
    pub layout: TreeLayout,
    pub rankings: Vec<PageRanking>,
}

/// The whole page.
#[derive(Debug, Clone, Serialize)]
pub struct SamplePage {
    pub index: usize,
    pub id: String,
    pub labels: Vec<String>,
    pub history: Vec<Turn>,
    pub searches: Vec<PageSearch>,
}

/// The page of one sample from its records.
pub fn sample_page(
    manifest: &SweepManifest,
    methods: &[MethodScores],
    index: usize,
    row: &SampleRow,
    records: &[Arc<SampleRecord>],
) -> SamplePage {
    let mut records: Vec<&Arc<SampleRecord>> = records.iter().collect();
    // Searches in manifest order, then seeds.
    let search_order = |key: &str| {
        manifest
            .searches
            .iter()
            .position(|search| search.key == key)
    };
    records.sort_by_key(|record| (search_order(&record.search), record.seed));
    let history = records
        .iter()
        .find(|record| !record.history.is_empty())
        .map(|record| record.history.clone())
        .unwrap_or_default();
    SamplePage {
        index,
        id: row.id.clone(),
        labels: row.labels.clone(),
        history,
        searches: records
            .into_iter()
            .map(|record| page_search(manifest, methods, record))
            .collect(),
    }
}

fn page_search(
    manifest: &SweepManifest,
    methods: &[MethodScores],
    record: &SampleRecord,
) -> PageSearch {
    let is_label = |item: &String| record.labels.contains(item);
    let nodes = record.tree.nodes();
    let page_nodes = nodes
        .iter()
        .map(|node| {
            let produced_at = node
                .parent
                .and_then(|parent| nodes.get(parent.0))
                .map_or(ROOT_PATH, |parent| parent.path.as_str());
            // The recommendation that produced the list was asked on its parent: one request
            // per list (its index is the list's child index) or one for all of them.
            let child_index = node.path.rsplit('.').next().unwrap_or_default();
            let own_list = format!("recommend/{produced_at}/{child_index}");
            let has_own_list = record.requests.contains_key(&own_list);
            let requests = record
                .requests
                .iter()
                .filter(|(key, _)| {
                    let mut parts = key.splitn(3, '/');
                    match (parts.next(), parts.next()) {
                        (Some("recommend"), Some(node_path)) => {
                            node_path == produced_at && (!has_own_list || **key == own_list)
                        }
                        (Some(_), Some(node_path)) => node_path == node.path,
                        _ => false,
                    }
                })
                .map(|(key, requests)| (key.clone(), requests.clone()))
                .collect();
            PageNode {
                id: node.id.0,
                parent: node.parent.map(|parent| parent.0),
                depth: node.depth,
                path: node.path.clone(),
                hits: node.items.iter().map(is_label).collect(),
                items: node.items.clone(),
                scores: node.scores.clone(),
                reward: node.reward,
                critique: node.critique.clone(),
                kept: node.kept,
                requests,
            }
        })
        .collect();
    let cells: Vec<String> = manifest
        .cells
        .iter()
        .filter(|cell| cell.search == record.search)
        .map(|cell| cell.name.clone())
        .collect();
    let rankings = methods
        .iter()
        .filter_map(|method| match &method.source {
            MethodSource::Cell {
                search,
                strategy,
                depth,
                ..
            } if *search == record.search => {
                let parsed: OutputStrategy =
                    serde_json::from_value(serde_json::Value::String(strategy.clone())).ok()?;
                let ranking = rank(&record.tree, parsed, *depth);
                let metrics = SampleMetrics::of_ranking(&ranking, &record.labels).mean();
                Some(PageRanking {
                    method: method.name.clone(),
                    strategy: strategy.clone(),
                    hits: ranking.iter().take(RANKING_SHOWN).map(is_label).collect(),
                    length: ranking.len(),
                    items: ranking.into_iter().take(RANKING_SHOWN).collect(),
                    metrics: TABLE_COLUMNS
                        .iter()
                        .map(|column| {
                            (
                                column.label(),
                                metrics.get(column.metric, column.k).unwrap_or(0.0),
                            )
                        })
                        .collect(),
                })
            }
            _ => None,
        })
        .collect();
    PageSearch {
        search: record.search.clone(),
        seed: record.seed,
        cells,
        searched_depth: record.searched_depth,
        wall_ms: record.wall_ms,
        calls: record.calls.clone(),
        unscored_items: record.unscored_items,
        layout: layout(&record.tree),
        nodes: page_nodes,
        rankings,
    }
}
