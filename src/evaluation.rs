//! Scoring rankings against a dataset's labels: title matching first, then the metrics.
//!
//! A sample without a prediction counts as a miss on all its labels (so a system cannot look better
//! by skipping hard samples), and the number of such samples is reported, as is the number of
//! predictions for samples the dataset does not have.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::data::Sample;
use crate::matching::TitleMatcher;
use crate::metrics::{Averaging, MetricValues, MetricsAccumulator, SampleMetrics};
use crate::predictions::Prediction;

/// The outcome of scoring a set of predictions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Evaluation {
    pub metrics: MetricValues,
    pub averaging: Averaging,
    /// Samples of the dataset (all of them are evaluated).
    pub samples: usize,
    pub labels: usize,
    /// Samples that had a prediction.
    pub predicted: usize,
    /// Samples without a prediction, counted as misses.
    pub missing: usize,
    /// Predictions whose sample id is not in the dataset (ignored).
    pub unknown: usize,
    /// Predicted titles that matched no catalog item (only with a minimum match score).
    pub unmatched_titles: usize,
}

/// Scores `predictions` on `samples`. Titles are mapped onto `catalog` with `matcher`, a list at a
/// time (so one item is not credited twice).
pub fn evaluate(
    samples: &[Sample],
    catalog: &Catalog,
    matcher: &TitleMatcher,
    predictions: &[Prediction],
    averaging: Averaging,
) -> Evaluation {
    let by_sample: HashMap<&str, &Prediction> = predictions
        .iter()
        .map(|prediction| (prediction.sample.as_str(), prediction))
        .collect();
    let mut accumulator = MetricsAccumulator::default();
    let mut predicted = 0;
    let mut unmatched_titles = 0;
    for sample in samples {
        // Items are compared by catalog title; an unmatched predicted title (None) holds its rank
        // but equals no label.
        let labels: Vec<Option<&str>> = sample
            .labels
            .iter()
            .map(|label| Some(label.as_str()))
            .collect();
        let metrics = match by_sample.get(sample.id.as_str()) {
            Some(prediction) => {
                predicted += 1;
                let ranking: Vec<Option<&str>> = matcher
                    .match_list(&prediction.ranking)
                    .into_iter()
                    .map(|found| found.item.map(|item| catalog.item(item).title.as_str()))
                    .collect();
                unmatched_titles += ranking.iter().filter(|item| item.is_none()).count();
                SampleMetrics::of_ranking(&ranking, &labels)
            }
            None => SampleMetrics::missing(sample.labels.len()),
        };
        accumulator.add(&metrics);
    }
    let known: HashSet<&str> = samples.iter().map(|sample| sample.id.as_str()).collect();
    let unknown = predictions
        .iter()
        .filter(|prediction| !known.contains(prediction.sample.as_str()))
        .count();
    Evaluation {
        metrics: accumulator.finish(averaging),
        averaging,
        samples: samples.len(),
        labels: accumulator.labels(),
        predicted,
        missing: samples.len() - predicted,
        unknown,
        unmatched_titles,
    }
}
