//! Search: does the reward guide it, and where is recall lost?
//!
//! - The mean reward of the nodes the beam kept, per depth (and of all scored nodes, beside it).
//! - Spearman's ρ between a node's reward and its recall of the labels (the share of the sample's
//!   labels in its list), over every scored node of the cell, all samples pooled: a reward that
//!   guides the search ranks the nodes holding labels higher.
//! - The oracle: the best Recall@k any ranking of the items the search saw could reach, the
//!   recall of a ranking that puts the seen labels first (min(k, |labels ∩ seen|) / |labels| per
//!   sample), beside what each output strategy of the cell reached. 1 − oracle is the **search
//!   loss** (labels never seen), oracle − achieved the **ranking loss** (labels seen but ranked
//!   below k).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::measures::{spearman, Stat};
use super::View;
use crate::metrics::SampleMetrics;
use crate::search::{rank, OutputStrategy};

/// The cut-offs of the oracle.
pub const ORACLE_CUTOFFS: [usize; 2] = [10, 50];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DepthReward {
    pub depth: u32,
    pub kept_nodes: usize,
    pub kept_mean_reward: Stat,
    pub scored_nodes: usize,
    pub mean_reward: Stat,
}

/// What an output strategy reached against the oracle, at one cut-off (means over records).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OracleGap {
    pub strategy: String,
    pub k: usize,
    pub achieved: f64,
    pub oracle: f64,
    /// 1 − oracle.
    pub search_loss: f64,
    /// oracle − achieved.
    pub ranking_loss: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchDiagnostics {
    pub by_depth: Vec<DepthReward>,
    /// Scored nodes the correlation is over.
    pub scored_nodes: usize,
    pub reward_recall_spearman: Stat,
    pub oracle: Vec<OracleGap>,
}

fn recall(items: &[String], labels: &[String]) -> f64 {
    if labels.is_empty() {
        return 0.0;
    }
    labels.iter().filter(|label| items.contains(label)).count() as f64 / labels.len() as f64
}

pub fn search(views: &[View], strategies: &[String]) -> SearchDiagnostics {
    let deepest = views
        .iter()
        .map(|view| view.tree.max_depth())
        .max()
        .unwrap_or(0);
    let by_depth = (1..=deepest)
        .map(|depth| {
            let rewards = |kept_only: bool| -> Vec<f64> {
                views
                    .iter()
                    .flat_map(|view| view.tree.nodes_at_depth(depth))
                    .filter(|node| node.kept || !kept_only)
                    .filter_map(|node| node.reward)
                    .collect()
            };
            let (kept, all) = (rewards(true), rewards(false));
            DepthReward {
                depth,
                kept_nodes: kept.len(),
                kept_mean_reward: Stat::mean_of(&kept, "no kept node was scored"),
                scored_nodes: all.len(),
                mean_reward: Stat::mean_of(&all, "no node was scored"),
            }
        })
        .collect();
    let (mut rewards, mut recalls) = (Vec::new(), Vec::new());
    for view in views {
        for node in view.tree.nodes() {
            if let Some(reward) = node.reward {
                rewards.push(reward);
                recalls.push(recall(&node.items, &view.record.labels));
            }
        }
    }
    let reward_recall_spearman = if rewards.is_empty() {
        Stat::undefined("no node was scored")
    } else {
        spearman(&rewards, &recalls)
    };
    let records = views.len().max(1) as f64;
    // Per record: the labels it saw (for the oracle), and its labels' count.
    let seen: Vec<usize> = views
        .iter()
        .map(|view| {
            let items: BTreeSet<&str> = view
                .tree
                .nodes()
                .iter()
                .flat_map(|node| node.items.iter().map(String::as_str))
                .collect();
            view.record
                .labels
                .iter()
                .filter(|label| items.contains(label.as_str()))
                .count()
        })
        .collect();
    let mut oracle = Vec::new();
    for name in strategies {
        let Ok(strategy) = name.parse::<OutputStrategy>() else {
            continue;
        };
        let metrics: Vec<Option<SampleMetrics>> = views
            .iter()
            .map(|view| {
                (!view.record.labels.is_empty()).then(|| {
                    SampleMetrics::of_ranking(
                        &rank(&view.tree, strategy, None),
                        &view.record.labels,
                    )
                })
            })
            .collect();
        for k in ORACLE_CUTOFFS {
            let (mut achieved, mut best) = (0.0, 0.0);
            for ((view, metrics), &found) in views.iter().zip(&metrics).zip(&seen) {
                let Some(metrics) = metrics else {
                    continue;
                };
                achieved += metrics.mean().get("recall", k).unwrap_or(0.0);
                best += found.min(k) as f64 / view.record.labels.len() as f64;
            }
            let (achieved, best) = (achieved / records, best / records);
            oracle.push(OracleGap {
                strategy: name.clone(),
                k,
                achieved,
                oracle: best,
                search_loss: 1.0 - best,
                ranking_loss: best - achieved,
            });
        }
    }
    SearchDiagnostics {
        by_depth,
        scored_nodes: rewards.len(),
        reward_recall_spearman,
        oracle,
    }
}
