//! Scoring quality: how well the simulated user's item scores tell the label items from the other
//! items it scored (ROC AUC, average precision), their distributions, their calibration against
//! the labels (expected calibration error, Brier score, reliability bins), the answers that were
//! unreadable, and in list-context scoring the mean score by position in the list.
//!
//! Observations are (sample, item) pairs: an item scored in several nodes of a sample's tree (and,
//! when seeds are pooled, in several seeds' trees) counts once, with the **mean of its scores**.
//! With item context its scores are one cached answer, so the mean is that score; with list
//! context each list asks again and the mean averages the list contexts. Labels are only the items
//! the human recommender named in the dataset's turn, so the "other" items include items the user
//! would have liked: AUC and precision are lower bounds of how well the scores rank what the user
//! wants, and calibration is measured against that incomplete ground truth.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::measures::{average_precision, calibration, histogram, roc_auc, CalibrationBin, Stat};
use super::View;
use crate::model::scoring::ScorePaths;

/// Bins of the score histograms.
pub const HISTOGRAM_BINS: usize = 20;
/// Bins of the calibration (expected calibration error and reliability diagram).
pub const CALIBRATION_BINS: usize = 10;

/// Mean score at one position of the scored lists (list context).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PositionScore {
    /// 1-based position in the list.
    pub position: usize,
    pub scores: usize,
    pub mean: f64,
}

/// The scoring diagnostics of a set of records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoringDiagnostics {
    /// `item` or `list` (`[user] score_context`), `unknown` when the cell's config is unreadable.
    pub context: String,
    /// Scores in the scored nodes (every occurrence).
    pub scores: usize,
    /// (sample, item) pairs, each once.
    pub pairs: usize,
    /// Of which label items.
    pub label_pairs: usize,
    pub auc: Stat,
    pub average_precision: Stat,
    pub mean_label_score: Stat,
    pub mean_other_score: Stat,
    /// Counts per bin of [0, 1] ([`HISTOGRAM_BINS`] equal-width bins) of the label pairs' scores
    /// and of the other pairs'.
    pub histogram_labels: Vec<usize>,
    pub histogram_others: Vec<usize>,
    pub calibration: Vec<CalibrationBin>,
    pub ece: Stat,
    pub brier: Stat,
    /// Invalid scoring answers (no readable Yes/No, each asked again or given up) per score.
    pub invalid_answers_per_score: Stat,
    /// Share of scores left unreadable after every attempt (scored 0).
    pub unreadable_share: Stat,
    /// List context: the mean score at each position of the lists; empty otherwise.
    pub position_bias: Vec<PositionScore>,
    /// The simulated user's scoring answers by where P(Yes) and P(No) were read (exactly from
    /// the Yes/No token ids, from the top logprobs, or unreadable), summed over the records'
    /// `calls.user` (each record's whole search); all zero in records written before they were
    /// counted.
    #[serde(default)]
    pub score_paths: ScorePaths,
}

/// Why the invalid and unreadable shares are missing when raw answers were not read.
pub const NO_ANSWERS: &str = "the raw answers could not be read";

pub fn scoring(
    views: &[View],
    context: Option<&str>,
    no_answers: Option<&str>,
) -> ScoringDiagnostics {
    let mut pairs: BTreeMap<(&str, &str), (f64, usize, bool)> = BTreeMap::new();
    let mut scores = 0;
    let mut positions: BTreeMap<usize, (f64, usize)> = BTreeMap::new();
    for view in views {
        for node in view.tree.nodes() {
            let Some(node_scores) = &node.scores else {
                continue;
            };
            for (position, (item, &score)) in node.items.iter().zip(node_scores).enumerate() {
                scores += 1;
                let is_label = view.record.labels.contains(item);
                let entry = pairs
                    .entry((view.record.sample.as_str(), item.as_str()))
                    .or_insert((0.0, 0, is_label));
                entry.0 += score;
                entry.1 += 1;
                let at = positions.entry(position + 1).or_insert((0.0, 0));
                at.0 += score;
                at.1 += 1;
            }
        }
    }
    let (mut values, mut labels) = (Vec::new(), Vec::new());
    for (sum, count, is_label) in pairs.values() {
        values.push(sum / *count as f64);
        labels.push(*is_label);
    }
    let group = |label: bool| -> Vec<f64> {
        values
            .iter()
            .zip(&labels)
            .filter(|(_, &l)| l == label)
            .map(|(&v, _)| v)
            .collect()
    };
    let (label_values, other_values) = (group(true), group(false));
    let calibrated = calibration(&values, &labels, CALIBRATION_BINS);
    let (auc, average_precision) = if scores == 0 {
        let reason = "nothing was scored";
        (Stat::undefined(reason), Stat::undefined(reason))
    } else {
        (
            roc_auc(&values, &labels),
            average_precision(&values, &labels),
        )
    };
    let mut score_paths = ScorePaths::default();
    for view in views {
        if let Some(user) = view.record.calls.get("user") {
            score_paths.add(&user.score_paths);
        }
    }
    let (mut answers, mut readable, mut items) = (0usize, 0usize, 0usize);
    let mut read = true;
    for view in views {
        match view.answers {
            Some(record) => {
                for score in record.scores.iter().filter(|s| s.depth <= view.depth) {
                    answers += score.answers;
                    readable += score.readable.min(score.items);
                    items += score.items;
                }
            }
            None => read = false,
        }
    }
    let (invalid_answers_per_score, unreadable_share) = match (read, no_answers) {
        (true, None) => (
            Stat::ratio(
                answers.saturating_sub(readable) as f64,
                items as f64,
                "nothing was scored",
            ),
            Stat::ratio(
                items.saturating_sub(readable) as f64,
                items as f64,
                "nothing was scored",
            ),
        ),
        (_, reason) => {
            let reason = reason.unwrap_or(NO_ANSWERS);
            (Stat::undefined(reason), Stat::undefined(reason))
        }
    };
    let position_bias = if context == Some("list") {
        positions
            .into_iter()
            .map(|(position, (sum, count))| PositionScore {
                position,
                scores: count,
                mean: sum / count as f64,
            })
            .collect()
    } else {
        Vec::new()
    };
    ScoringDiagnostics {
        context: context.unwrap_or("unknown").to_string(),
        scores,
        pairs: values.len(),
        label_pairs: label_values.len(),
        auc,
        average_precision,
        mean_label_score: Stat::mean_of(&label_values, "no label item was scored"),
        mean_other_score: Stat::mean_of(&other_values, "no other item was scored"),
        histogram_labels: histogram(&label_values, HISTOGRAM_BINS),
        histogram_others: histogram(&other_values, HISTOGRAM_BINS),
        calibration: calibrated.bins,
        ece: calibrated.ece,
        brier: calibrated.brier,
        invalid_answers_per_score,
        unreadable_share,
        position_bias,
        score_paths,
    }
}
