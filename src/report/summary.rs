//! The statistics of one report column for one method: mean ± std over seeds (each seed's value is
//! the average over its samples), a bootstrap 95 % interval of the mean over samples (each sample
//! averaged over seeds), and against the baseline, per sample (each averaged over seeds): the
//! paired t-test, its p-value Holm-adjusted over the methods tested in the column (the markers use
//! it), the Wilcoxon signed-rank test, and the mean paired difference with a paired bootstrap
//! 95 % interval and Cohen's d_z; and what the method cost, with the invalid answers of each model
//! role per request (how often a model had to be asked again: a small CRS that rarely returns a
//! parseable list shows it here).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::method_scores::{MethodScores, MethodSource};
use crate::metrics::SampleMetrics;
use crate::statistics::{
    bootstrap_mean_interval, holm_adjusted, mean, paired_difference, paired_t_test, sample_std,
    wilcoxon_signed_rank, PairedDifference, WilcoxonTest,
};
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

/// Significance against the baseline, from the paired t-test's Holm-adjusted p-value (< 0.05; the
/// family: every method tested against the baseline in the same column).
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
    /// Paired t-test per sample against the baseline (absent for the baseline itself): the raw
    /// two-sided p-value.
    pub p_value: Option<f64>,
    pub t: Option<f64>,
    /// Samples paired with the baseline.
    pub paired_samples: usize,
    /// From `p_holm` (< 0.05) and the sign of the mean difference.
    pub significance: Significance,
    /// The t-test's p-value Holm-adjusted over the column's family: every method of the report
    /// with a t-test against the baseline in this column (`holm_family` of them).
    #[serde(default)]
    pub p_holm: Option<f64>,
    /// Methods in the Holm family of this column (0 when this method has no t-test).
    #[serde(default)]
    pub holm_family: usize,
    /// The Wilcoxon signed-rank test against the baseline, on the same pairs (SciPy's defaults).
    #[serde(default)]
    pub wilcoxon: Option<WilcoxonTest>,
    /// The paired difference to the baseline (this method − the baseline, per sample): its mean,
    /// a paired bootstrap 95 % interval of it and Cohen's d_z.
    #[serde(default)]
    pub difference: Option<PairedDifference>,
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
        // Counts read back from a store may be anything: they saturate rather than overflow.
        let requests = counts.calls.saturating_add(counts.cache_hits);
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

/// `Better` or `Worse` when `p` < 0.05, by the sign of the mean difference.
fn significance(p: f64, mean_difference: f64) -> Significance {
    if p < SIGNIFICANCE_LEVEL {
        if mean_difference > 0.0 {
            Significance::Better
        } else {
            Significance::Worse
        }
    } else {
        Significance::NotSignificant
    }
}

/// Summarises every method, testing each against `baseline` (when given) and adjusting the
/// t-tests' p-values for the comparisons made in each column
/// ([`adjust_for_multiple_comparisons`]).
pub fn summarize_methods(
    methods: &[MethodScores],
    baseline: Option<&MethodScores>,
    columns: &[Column],
) -> Vec<MethodSummary> {
    let mut summaries: Vec<MethodSummary> = methods
        .iter()
        .map(|method| summarize_method(method, baseline, columns))
        .collect();
    adjust_for_multiple_comparisons(&mut summaries);
    summaries
}

/// Holm's adjustment of the t-tests against the baseline, per column: the family of a column is
/// every method with a t-test in it (the baseline has none, nor has a method with fewer than two
/// samples paired with it). Sets `p_holm`, `holm_family` and the significance markers from the
/// adjusted p-values; the raw ones stay in `p_value`.
pub fn adjust_for_multiple_comparisons(methods: &mut [MethodSummary]) {
    let columns = methods.iter().map(|m| m.columns.len()).max().unwrap_or(0);
    for column in 0..columns {
        let family: Vec<(usize, f64)> = methods
            .iter()
            .enumerate()
            .filter_map(|(index, method)| {
                let p = method.columns.get(column)?.p_value?;
                p.is_finite().then_some((index, p))
            })
            .collect();
        let raw: Vec<f64> = family.iter().map(|(_, p)| *p).collect();
        for (&(index, _), adjusted) in family.iter().zip(holm_adjusted(&raw)) {
            let summary = &mut methods[index].columns[column];
            let mean_difference = summary.difference.map_or(0.0, |d| d.mean);
            summary.p_holm = Some(adjusted);
            summary.holm_family = family.len();
            summary.significance = significance(adjusted, mean_difference);
        }
    }
}

/// Summarises `method` over `columns`, testing against `baseline` when given (and not itself).
/// Its t-tests are a family of one: [`summarize_methods`] adjusts them for the other methods.
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
                p_holm: None,
                holm_family: 0,
                wilcoxon: None,
                difference: None,
            };
            if let Some(baseline) = baseline.filter(|baseline| baseline.name != method.name) {
                let reference = seed_averaged(baseline, column);
                let (ours, theirs): (Vec<f64>, Vec<f64>) = averaged
                    .iter()
                    .filter_map(|(sample, value)| Some((*value, *reference.get(sample)?)))
                    .unzip();
                summary.paired_samples = ours.len();
                summary.wilcoxon = wilcoxon_signed_rank(&ours, &theirs);
                summary.difference =
                    paired_difference(&ours, &theirs, BOOTSTRAP_RESAMPLES, 0.95, BOOTSTRAP_SEED);
                if let Some(test) = paired_t_test(&ours, &theirs) {
                    summary.p_value = Some(test.p_value);
                    summary.t = Some(test.t);
                    // A family of one until `adjust_for_multiple_comparisons` sees the others.
                    summary.p_holm = Some(test.p_value);
                    summary.holm_family = 1;
                    summary.significance = significance(test.p_value, test.mean_difference);
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

    #[test]
    fn invalid_answers_of_stored_counts_do_not_overflow() {
        let counts = CallCounts {
            calls: u64::MAX,
            cache_hits: 2,
            invalid_answers: 1,
            ..CallCounts::default()
        };
        assert_eq!(InvalidAnswers::of(&counts).requests, u64::MAX);
    }

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

    /// Per-sample Recall@10 of 24 samples as ranks: a hit (rank 0) where `hit(i)`.
    fn hits(name: &str, hit: impl Fn(usize) -> bool) -> MethodScores {
        let ranks: Vec<Option<usize>> = (0..24).map(|i| hit(i).then_some(0)).collect();
        method(name, &[(0, &ranks)])
    }

    #[test]
    fn holm_over_the_methods_tested_sets_the_markers() {
        // Computed with SciPy 1.17.1 and statsmodels 0.15.0 on the per-sample values (1 = hit):
        //   base = [i % 4 == 0], strong = [i % 4 != 3],
        //   border = [i % 4 == 0 or i in (1, 5, 9, 13)], worse = [0] * 24, noise = [(i % 4 == 0 and i != 0) or i == 1], i in range(24);
        //   stats.ttest_rel(m, base).pvalue, stats.wilcoxon(m, base),
        //   multipletests([p_strong, p_border, p_worse, p_noise], method="holm")[1],
        //   d = m − base: d.mean(), d.mean() / d.std(ddof=1).
        let base = hits("base", |i| i % 4 == 0);
        let methods = [
            base.clone(),
            hits("strong", |i| i % 4 != 3),
            hits("border", |i| i % 4 == 0 || [1, 5, 9, 13].contains(&i)),
            hits("worse", |_| false),
            hits("noise", |i| (i % 4 == 0 && i != 0) || i == 1),
        ];
        let columns = [Column {
            metric: "recall",
            k: 10,
        }];
        let summaries = summarize_methods(&methods, Some(&base), &columns);
        let column = |index: usize| &summaries[index].columns[0];
        // (raw p, Holm p, Wilcoxon W, Wilcoxon p, mean difference, d_z, marker)
        let expected = [
            (
                7.744_988_642_298_07e-5,
                3.097_995_456_919_228e-4,
                0.0,
                5.320_055_051_392_492e-4,
                0.5,
                Some(0.978_945_010_372_560_8),
                Significance::Better,
            ),
            // Raw p < 0.05, but not after Holm: no marker.
            (
                0.042_765_957_390_130_914,
                0.085_531_914_780_261_83,
                0.0,
                0.045_500_263_896_358_39,
                1.0 / 6.0,
                Some(0.437_797_517_885_456_5),
                Significance::NotSignificant,
            ),
            (
                0.010_922_496_295_950_357,
                0.032_767_488_887_851_07,
                0.0,
                0.014_305_878_435_429_648,
                -0.25,
                Some(-0.565_194_165_260_439),
                Significance::Worse,
            ),
            (
                1.0,
                1.0,
                1.5,
                1.0,
                0.0,
                Some(0.0),
                Significance::NotSignificant,
            ),
        ];
        for (index, (p, holm, w, p_w, delta, d_z, marker)) in expected.into_iter().enumerate() {
            let column = column(index + 1);
            let name = &summaries[index + 1].name;
            assert!(
                (column.p_value.unwrap() - p).abs() < 1e-12,
                "{name}: {column:?}"
            );
            assert!(
                (column.p_holm.unwrap() - holm).abs() < 1e-12,
                "{name}: {column:?}"
            );
            assert_eq!(column.holm_family, 4);
            let wilcoxon = column.wilcoxon.unwrap();
            assert_eq!(wilcoxon.statistic, w, "{name}");
            assert!(
                (wilcoxon.p_value - p_w).abs() < 1e-12,
                "{name}: {wilcoxon:?}"
            );
            let difference = column.difference.unwrap();
            assert!((difference.mean - delta).abs() < 1e-12, "{name}");
            match (difference.d_z, d_z) {
                (Some(got), Some(want)) => assert!((got - want).abs() < 1e-12, "{name}"),
                (got, want) => assert_eq!(got, want, "{name}"),
            }
            assert_eq!(column.significance, marker, "{name}");
        }
        // Alone (a family of one), `border` keeps its marker: the adjustment is what removes it.
        let alone = summarize_method(&methods[2], Some(&base), &columns);
        assert_eq!(alone.columns[0].significance, Significance::Better);
        assert_eq!(alone.columns[0].p_holm, alone.columns[0].p_value);
        // The paired bootstrap interval: a Python re-implementation of SplitMix64 resampling the
        // differences in sample-id order (s0, s1, s10, …), 2,000 resamples, seed 0x6772_7375.
        let interval = |index: usize| column(index).difference.unwrap().interval.unwrap();
        let (low, high) = interval(2);
        assert!((low - 1.0 / 24.0).abs() < 1e-12 && (high - 1.0 / 3.0).abs() < 1e-12);
        let (low, high) = interval(3);
        assert!((low + 11.0 / 24.0).abs() < 1e-12 && (high + 1.0 / 12.0).abs() < 1e-12);
        // The baseline is in no family and has no paired statistics.
        let baseline = column(0);
        assert_eq!(baseline.p_holm, None);
        assert_eq!(baseline.holm_family, 0);
        assert!(baseline.wilcoxon.is_none() && baseline.difference.is_none());
    }

    #[test]
    fn one_paired_sample_gives_a_wilcoxon_test_and_a_difference_but_no_t_test() {
        let a = method("a", &[(0, &[Some(0), None])]);
        let b = method("b", &[(0, &[None])]);
        let summaries = summarize_methods(
            &[b.clone(), a],
            Some(&b),
            &[Column {
                metric: "recall",
                k: 10,
            }],
        );
        let column = &summaries[1].columns[0];
        assert_eq!(column.paired_samples, 1);
        assert_eq!(
            (column.p_value, column.p_holm, column.holm_family),
            (None, None, 0)
        );
        // SciPy: stats.wilcoxon([1.0], [0.0]) gives statistic 0, p 1.
        let wilcoxon = column.wilcoxon.unwrap();
        assert_eq!((wilcoxon.statistic, wilcoxon.p_value), (0.0, 1.0));
        let difference = column.difference.unwrap();
        assert_eq!((difference.mean, difference.d_z), (1.0, None));
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
