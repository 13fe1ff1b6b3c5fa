//! The statistics of one report column for one method: mean ± std over seeds (each seed's value is
//! the average over its samples), a bootstrap 95 % interval of the mean over samples (each sample
//! averaged over seeds), and a paired t-test per sample against the baseline; and what the method
//! cost, with the invalid answers of each model role per request (how often a model had to be
//! asked again: a small CRS that rarely returns a parseable list shows it here).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::method_scores::{MethodScores, MethodSource};
use crate::metrics::SampleMetrics;
use crate::statistics::{bootstrap_mean_interval, mean, paired_t_test, sample_std};
use crate::store::CallCounts;

/// A report column: a metric at a cutoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// `recall`, `ndcg` or `mrr`.
    pub metric: &'static str,
    pub k: usize,
}

impl Column {
    pub fn label(&self) -> String {
        let metric = match self.metric {
            "recall" => "Recall",
            "ndcg" => "NDCG",
            _ => "MRR",
        };
        format!("{metric}@{}", self.k)
    }

    fn value(&self, metrics: &SampleMetrics) -> f64 {
        metrics.mean().get(self.metric, self.k).unwrap_or(0.0)
    }
}

/// The columns of the paper's Table 3: Recall, NDCG and MRR at 10 and 50.
pub const TABLE_COLUMNS: [Column; 6] = [
    Column {
        metric: "recall",
        k: 10,
    },
    Column {
        metric: "recall",
        k: 50,
    },
    Column {
        metric: "ndcg",
        k: 10,
    },
    Column {
        metric: "ndcg",
        k: 50,
    },
    Column {
        metric: "mrr",
        k: 10,
    },
    Column {
        metric: "mrr",
        k: 50,
    },
];

/// Significance against the baseline, from the paired t-test (p < 0.05).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Significance {
    Better,
    Worse,
    NotSignificant,
}

impl Significance {
    /// The marker printed after a value: `*` significantly better, `†` significantly worse.
    pub fn marker(&self) -> &'static str {
        match self {
            Significance::Better => "*",
            Significance::Worse => "†",
            Significance::NotSignificant => "",
        }
    }
}

/// One method's statistics for one column.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ColumnSummary {
    pub column: String,
    /// Mean over seeds of the per-seed averages.
    pub mean: f64,
    /// Sample standard deviation over seeds (0 with one seed).
    pub std: f64,
    /// Per-seed averages.
    pub per_seed: BTreeMap<u64, f64>,
    /// Bootstrap 95 % interval of the mean over samples (each averaged over seeds).
    pub interval: Option<(f64, f64)>,
    /// Paired t-test per sample against the baseline (absent for the baseline itself).
    pub p_value: Option<f64>,
    pub t: Option<f64>,
    /// Samples paired with the baseline.
    pub paired_samples: usize,
    pub significance: Significance,
}

/// What a method cost.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CostSummary {
    pub calls: u64,
    pub cache_hits: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub distinct_requests: u64,
    pub wall_ms: u64,
    /// Invalid answers per model role (roles that answered nothing are left out).
    #[serde(default)]
    pub invalid_answers: BTreeMap<String, InvalidAnswers>,
}

/// What the invalid-answer figures mean (printed under the tables that show them).
pub const INVALID_ANSWERS_NOTE: &str = "invalid answers per request of each model role \
     (requests: its model calls and cache hits): answers that could not be parsed (CRS lists), \
     were cut (critiques) or had no Yes/No (scores), each asked again";

/// The invalid answers of one model role: answers that could not be used and were asked again.
/// A request can give several (one per choice when it asks for several), so the rate can pass 1.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct InvalidAnswers {
    pub invalid_answers: u64,
    /// Requests the role answered: model calls and cache hits.
    pub requests: u64,
    /// `invalid_answers / requests` (0 without requests).
    pub per_request: f64,
}

impl InvalidAnswers {
    pub fn of(counts: &CallCounts) -> Self {
        let requests = counts.calls + counts.cache_hits;
        InvalidAnswers {
            invalid_answers: counts.invalid_answers,
            requests,
            per_request: if requests == 0 {
                0.0
            } else {
                counts.invalid_answers as f64 / requests as f64
            },
        }
    }
}

/// The invalid answers of each role of `counts` that answered or refused anything.
pub fn invalid_answers_per_role(
    counts: &BTreeMap<String, CallCounts>,
) -> BTreeMap<String, InvalidAnswers> {
    counts
        .iter()
        .map(|(role, counts)| (role.clone(), InvalidAnswers::of(counts)))
        .filter(|(_, invalid)| invalid.requests > 0 || invalid.invalid_answers > 0)
        .collect()
}

/// The compact form of the tables: `crs 2.60, user 0.10` (invalid answers per request per role),
/// `-` without any role.
pub fn format_invalid_answers(invalid: &BTreeMap<String, InvalidAnswers>) -> String {
    if invalid.is_empty() {
        return "-".into();
    }
    invalid
        .iter()
        .map(|(role, invalid)| format!("{role} {:.2}", invalid.per_request))
        .collect::<Vec<_>>()
        .join(", ")
}

impl CostSummary {
    pub fn of(counts: &BTreeMap<String, CallCounts>, wall_ms: u64) -> Self {
        let mut total = CallCounts::default();
        for role in counts.values() {
            total.add(role);
        }
        CostSummary {
            calls: total.calls,
            cache_hits: total.cache_hits,
            prompt_tokens: total.prompt_tokens,
            completion_tokens: total.completion_tokens,
            distinct_requests: total.distinct_requests,
            wall_ms,
            invalid_answers: invalid_answers_per_role(counts),
        }
    }
}

/// One row of the report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MethodSummary {
    pub name: String,
    pub source: MethodSource,
    pub seeds: Vec<u64>,
    /// Samples with a result in at least one seed.
    pub samples: usize,
    pub columns: Vec<ColumnSummary>,
    pub cost: CostSummary,
    /// A cell's method: its variant, the cell's name without its `search.depth` grid part (cells
    /// that differ only in depth are one variant, one line of the depth figure); `None` for an
    /// import.
    #[serde(default)]
    pub variant: Option<String>,
}

/// Bootstrap settings: fixed, so a report is reproducible.
const BOOTSTRAP_RESAMPLES: usize = 2000;
const BOOTSTRAP_SEED: u64 = 0x6772_7375;
const SIGNIFICANCE_LEVEL: f64 = 0.05;

/// Each sample's value averaged over the seeds that have it.
fn seed_averaged(method: &MethodScores, column: Column) -> BTreeMap<&str, f64> {
    let mut sums: BTreeMap<&str, (f64, usize)> = BTreeMap::new();
    for samples in method.samples.values() {
        for (sample, metrics) in samples {
            let entry = sums.entry(sample.as_str()).or_default();
            entry.0 += column.value(metrics);
            entry.1 += 1;
        }
    }
    sums.into_iter()
        .map(|(sample, (sum, count))| (sample, sum / count as f64))
        .collect()
}

/// Summarises `method` over `columns`, testing against `baseline` when given (and not itself).
pub fn summarize_method(
    method: &MethodScores,
    baseline: Option<&MethodScores>,
    columns: &[Column],
) -> MethodSummary {
    let summaries = columns
        .iter()
        .map(|&column| {
            let per_seed: BTreeMap<u64, f64> = method
                .samples
                .iter()
                .map(|(&seed, samples)| {
                    let values: Vec<f64> = samples.values().map(|m| column.value(m)).collect();
                    (seed, mean(&values))
                })
                .collect();
            let seed_values: Vec<f64> = per_seed.values().copied().collect();
            let averaged = seed_averaged(method, column);
            let sample_values: Vec<f64> = averaged.values().copied().collect();
            let interval =
                bootstrap_mean_interval(&sample_values, BOOTSTRAP_RESAMPLES, 0.95, BOOTSTRAP_SEED);
            let mut summary = ColumnSummary {
                column: column.label(),
                mean: mean(&seed_values),
                std: sample_std(&seed_values),
                per_seed,
                interval,
                p_value: None,
                t: None,
                paired_samples: 0,
                significance: Significance::NotSignificant,
            };
            if let Some(baseline) = baseline.filter(|baseline| baseline.name != method.name) {
                let reference = seed_averaged(baseline, column);
                let (ours, theirs): (Vec<f64>, Vec<f64>) = averaged
                    .iter()
                    .filter_map(|(sample, value)| Some((*value, *reference.get(sample)?)))
                    .unzip();
                summary.paired_samples = ours.len();
                if let Some(test) = paired_t_test(&ours, &theirs) {
                    summary.p_value = Some(test.p_value);
                    summary.t = Some(test.t);
                    if test.p_value < SIGNIFICANCE_LEVEL {
                        summary.significance = if test.mean_difference > 0.0 {
                            Significance::Better
                        } else {
                            Significance::Worse
                        };
                    }
                }
            }
            summary
        })
        .collect();
    let mut sample_ids: Vec<&String> = method.samples.values().flat_map(|s| s.keys()).collect();
    sample_ids.sort_unstable();
    sample_ids.dedup();
    MethodSummary {
        name: method.name.clone(),
        source: method.source.clone(),
        seeds: method.samples.keys().copied().collect(),
        samples: sample_ids.len(),
        columns: summaries,
        cost: CostSummary::of(&method.cost, method.wall_ms),
        variant: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::label_terms;

    fn hit_at(rank: Option<usize>) -> SampleMetrics {
        SampleMetrics {
            sum: label_terms(rank),
            labels: 1,
        }
    }

    fn method(name: &str, seeds: &[(u64, &[Option<usize>])]) -> MethodScores {
        MethodScores {
            name: name.into(),
            source: MethodSource::Imported {
                source: "test".into(),
            },
            samples: seeds
                .iter()
                .map(|(seed, ranks)| {
                    (
                        *seed,
                        ranks
                            .iter()
                            .enumerate()
                            .map(|(index, rank)| (format!("s{index}"), hit_at(*rank)))
                            .collect(),
                    )
                })
                .collect(),
            cost: BTreeMap::new(),
            wall_ms: 0,
        }
    }

    #[test]
    fn mean_and_std_are_over_seed_averages() {
        // Seed 0: Recall@10 = 2/4 = 0.5; seed 1: 1/4 = 0.25.
        let ours = method(
            "ours",
            &[
                (0, &[Some(0), Some(3), None, None]),
                (1, &[Some(0), None, None, Some(60)]),
            ],
        );
        let summary = summarize_method(
            &ours,
            None,
            &[Column {
                metric: "recall",
                k: 10,
            }],
        );
        let column = &summary.columns[0];
        assert!((column.mean - 0.375).abs() < 1e-12);
        // std of [0.5, 0.25] with n − 1: 0.17677...
        assert!((column.std - 0.176_776_695_296_636_9).abs() < 1e-12);
        assert_eq!(column.per_seed[&1], 0.25);
        assert_eq!(summary.samples, 4);
        assert!(column.p_value.is_none());
    }

    #[test]
    fn the_paired_test_marks_a_significant_improvement_and_a_significant_loss() {
        let strong: Vec<Option<usize>> = (0..30).map(|i| (i % 5 != 0).then_some(0)).collect();
        let weak: Vec<Option<usize>> = (0..30).map(|i| (i % 5 == 0).then_some(0)).collect();
        let good = method("good", &[(0, &strong)]);
        let bad = method("bad", &[(0, &weak)]);
        let columns = [Column {
            metric: "recall",
            k: 10,
        }];
        let better = summarize_method(&good, Some(&bad), &columns);
        assert_eq!(better.columns[0].significance, Significance::Better);
        assert_eq!(better.columns[0].paired_samples, 30);
        assert!(better.columns[0].p_value.unwrap() < 0.001);
        let worse = summarize_method(&bad, Some(&good), &columns);
        assert_eq!(worse.columns[0].significance, Significance::Worse);
        let itself = summarize_method(&good, Some(&good), &columns);
        assert!(itself.columns[0].p_value.is_none());
    }

    #[test]
    fn the_paired_test_matches_an_independent_computation() {
        // Per-sample Recall@1 values a = [1,0,1,1,0,1], b = [0,0,1,0,0,1]; differences
        // [1,0,0,1,0,0]: mean 1/3, sd 0.516398, t = 1.58114, df 5, p = 0.174688 (SciPy
        // stats.ttest_rel).
        let a = method(
            "a",
            &[(0, &[Some(0), None, Some(0), Some(0), None, Some(0)])],
        );
        let b = method("b", &[(0, &[None, None, Some(0), None, None, Some(0)])]);
        let summary = summarize_method(
            &a,
            Some(&b),
            &[Column {
                metric: "recall",
                k: 1,
            }],
        );
        let column = &summary.columns[0];
        assert!((column.t.unwrap() - 1.581_138_830_084_19).abs() < 1e-9);
        assert!((column.p_value.unwrap() - 0.174_687_814_264_119).abs() < 1e-6);
        assert_eq!(column.significance, Significance::NotSignificant);
    }

    #[test]
    fn the_interval_contains_the_mean_and_is_reproducible() {
        let ranks: Vec<Option<usize>> = (0..50).map(|i| (i % 3 == 0).then_some(i % 12)).collect();
        let ours = method("ours", &[(0, &ranks)]);
        let columns = [Column {
            metric: "ndcg",
            k: 10,
        }];
        let first = summarize_method(&ours, None, &columns);
        let again = summarize_method(&ours, None, &columns);
        let (low, high) = first.columns[0].interval.unwrap();
        assert!(low < first.columns[0].mean && first.columns[0].mean < high);
        assert_eq!(first.columns[0].interval, again.columns[0].interval);
    }
}
