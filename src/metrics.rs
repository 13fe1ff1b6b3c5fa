//! Ranking metrics: Recall, NDCG and MRR at k, as the paper reports them.
//!
//! Per label with 0-based rank r in the ranking: hit = r < k; NDCG term = 1 / log2(r + 2); MRR term
//! = 1 / (r + 1); all three are 0 when the label is outside the top k. Terms are averaged over the
//! labels of a sample, then over samples (the reference's averaging, [`Averaging::PerSample`]), or
//! over all labels at once ([`Averaging::PerLabel`]).
//!
//! The reference computes the NDCG and MRR terms from the rank within the top 50 for every k (a
//! stale variable), so a label at rank 20 adds to its NDCG@10 and MRR@10. Here each k uses its own
//! cut-off.

use serde::{Deserialize, Serialize};

/// The cut-offs the paper reports.
pub const CUTOFFS: [usize; 5] = [1, 5, 10, 20, 50];

/// How label terms are averaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Averaging {
    /// Over the labels of a sample, then over samples (the reference).
    #[default]
    PerSample,
    /// Over all labels of all samples.
    PerLabel,
}

/// Recall, NDCG and MRR at each of [`CUTOFFS`], index-aligned with it.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct MetricValues {
    pub recall: [f64; CUTOFFS.len()],
    pub ndcg: [f64; CUTOFFS.len()],
    pub mrr: [f64; CUTOFFS.len()],
}

impl MetricValues {
    /// The value of `metric` (`recall`, `ndcg`, `mrr`) at `k`, if k is one of [`CUTOFFS`].
    pub fn get(&self, metric: &str, k: usize) -> Option<f64> {
        let position = CUTOFFS.iter().position(|&cutoff| cutoff == k)?;
        match metric {
            "recall" => Some(self.recall[position]),
            "ndcg" => Some(self.ndcg[position]),
            "mrr" => Some(self.mrr[position]),
            _ => None,
        }
    }

    fn add_scaled(&mut self, other: &MetricValues, scale: f64) {
        for position in 0..CUTOFFS.len() {
            self.recall[position] += other.recall[position] * scale;
            self.ndcg[position] += other.ndcg[position] * scale;
            self.mrr[position] += other.mrr[position] * scale;
        }
    }
}

/// The metric terms of one label found at 0-based `rank` (or not found).
pub fn label_terms(rank: Option<usize>) -> MetricValues {
    let mut values = MetricValues::default();
    if let Some(rank) = rank {
        for (position, &k) in CUTOFFS.iter().enumerate() {
            if rank < k {
                values.recall[position] = 1.0;
                values.ndcg[position] = 1.0 / ((rank + 2) as f64).log2();
                values.mrr[position] = 1.0 / (rank + 1) as f64;
            }
        }
    }
    values
}

/// The metrics of one sample: its labels' terms summed (`sum`) and their count.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct SampleMetrics {
    pub sum: MetricValues,
    pub labels: usize,
}

impl SampleMetrics {
    /// Scores a ranking (item identities in rank order, the first occurrence counting) against the
    /// labels of a sample.
    pub fn of_ranking<T: PartialEq>(ranking: &[T], labels: &[T]) -> Self {
        let mut sum = MetricValues::default();
        for label in labels {
            let rank = ranking.iter().position(|item| item == label);
            sum.add_scaled(&label_terms(rank), 1.0);
        }
        SampleMetrics {
            sum,
            labels: labels.len(),
        }
    }

    /// A sample with no prediction: every label is a miss.
    pub fn missing(labels: usize) -> Self {
        SampleMetrics {
            sum: MetricValues::default(),
            labels,
        }
    }

    /// The mean over this sample's labels (0 for a sample without labels).
    pub fn mean(&self) -> MetricValues {
        let mut mean = MetricValues::default();
        if self.labels > 0 {
            mean.add_scaled(&self.sum, 1.0 / self.labels as f64);
        }
        mean
    }
}

/// Averages sample metrics over a dataset.
#[derive(Debug, Clone, Default)]
pub struct MetricsAccumulator {
    per_sample_sum: MetricValues,
    per_label_sum: MetricValues,
    samples: usize,
    labels: usize,
}

impl MetricsAccumulator {
    pub fn add(&mut self, sample: &SampleMetrics) {
        self.per_sample_sum.add_scaled(&sample.mean(), 1.0);
        self.per_label_sum.add_scaled(&sample.sum, 1.0);
        self.samples += 1;
        self.labels += sample.labels;
    }

    pub fn samples(&self) -> usize {
        self.samples
    }

    pub fn labels(&self) -> usize {
        self.labels
    }

    /// The averaged metrics (all 0 when nothing was added).
    pub fn finish(&self, averaging: Averaging) -> MetricValues {
        let (sum, count) = match averaging {
            Averaging::PerSample => (&self.per_sample_sum, self.samples),
            Averaging::PerLabel => (&self.per_label_sum, self.labels),
        };
        let mut mean = MetricValues::default();
        if count > 0 {
            mean.add_scaled(sum, 1.0 / count as f64);
        }
        mean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn label_at_rank_twenty_counts_only_from_k_twenty_one() {
        // The reference's stale-variable bug credits this label in NDCG@10 and MRR@10.
        let values = label_terms(Some(20));
        assert_eq!(values.get("recall", 10), Some(0.0));
        assert_eq!(values.get("ndcg", 10), Some(0.0));
        assert_eq!(values.get("mrr", 10), Some(0.0));
        assert_eq!(values.get("ndcg", 20), Some(0.0));
        assert_eq!(values.get("recall", 50), Some(1.0));
        assert!(close(values.get("ndcg", 50).unwrap(), 1.0 / 22f64.log2()));
        assert!(close(values.get("mrr", 50).unwrap(), 1.0 / 21.0));
    }

    #[test]
    fn terms_by_hand() {
        let top = label_terms(Some(0));
        assert_eq!(top.recall, [1.0; 5]);
        assert_eq!(top.ndcg, [1.0; 5]);
        assert_eq!(top.mrr, [1.0; 5]);
        let third = label_terms(Some(2));
        assert_eq!(third.recall, [0.0, 1.0, 1.0, 1.0, 1.0]);
        assert!(close(third.ndcg[1], 0.5));
        assert!(close(third.mrr[1], 1.0 / 3.0));
        assert_eq!(label_terms(None), MetricValues::default());
    }

    #[test]
    fn per_sample_and_per_label_averages_differ_as_by_hand() {
        // Sample A: labels a (rank 0) and z (absent) -> recall@1 = 0.5 for the sample.
        // Sample B: label c at rank 1 -> recall@1 = 0, recall@5 = 1, mrr@5 = 0.5.
        let a = SampleMetrics::of_ranking(&["a", "b"], &["a", "z"]);
        let b = SampleMetrics::of_ranking(&["x", "c"], &["c"]);
        let mut accumulator = MetricsAccumulator::default();
        accumulator.add(&a);
        accumulator.add(&b);
        let per_sample = accumulator.finish(Averaging::PerSample);
        let per_label = accumulator.finish(Averaging::PerLabel);
        assert!(close(per_sample.recall[0], (0.5 + 0.0) / 2.0));
        assert!(close(per_label.recall[0], 1.0 / 3.0));
        assert!(close(per_sample.recall[1], (0.5 + 1.0) / 2.0));
        assert!(close(per_label.recall[1], 2.0 / 3.0));
        assert!(close(per_sample.mrr[1], (0.5 + 0.5) / 2.0));
        assert!(close(per_label.mrr[1], 1.5 / 3.0));
        assert!(close(per_sample.ndcg[1], (0.5 + 1.0 / 3f64.log2()) / 2.0));
    }

    #[test]
    fn first_occurrence_counts_and_missing_samples_are_zero() {
        let repeated = SampleMetrics::of_ranking(&["b", "a", "a"], &["a"]);
        assert!(close(repeated.mean().mrr[4], 0.5));
        let mut accumulator = MetricsAccumulator::default();
        accumulator.add(&SampleMetrics::of_ranking(&["a"], &["a"]));
        accumulator.add(&SampleMetrics::missing(2));
        assert!(close(
            accumulator.finish(Averaging::PerSample).recall[0],
            0.5
        ));
        assert!(close(
            accumulator.finish(Averaging::PerLabel).recall[0],
            1.0 / 3.0
        ));
        assert_eq!(
            MetricsAccumulator::default().finish(Averaging::PerSample),
            MetricValues::default()
        );
    }
}
