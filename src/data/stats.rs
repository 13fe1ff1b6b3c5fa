//! What a dataset load counted: the figures `grsu data stats` prints.

use serde::{Deserialize, Serialize};

/// Counts of one dataset load (with its catalog and only-new setting).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetStats {
    /// Distinct conversations in the file.
    pub conversations: usize,
    /// Conversations that gave at least one sample.
    pub conversations_with_samples: usize,
    pub samples: usize,
    /// Labels summed over samples.
    pub labels: usize,
    /// Recommender turns with at least one catalog label and some history, before only-new.
    pub recommendation_turns: usize,
    /// Samples dropped because a label had been mentioned before (0 without only-new).
    pub dropped_not_new: usize,
    /// Item mentions in recommender turns, before any filtering.
    pub label_mentions: usize,
    /// Item mentions in recommender turns whose title is not in the catalog; `None` without one.
    pub labels_not_in_catalog: Option<usize>,
    /// Mean number of history turns per sample.
    pub mean_history_turns: f64,
    pub only_new: bool,
}
