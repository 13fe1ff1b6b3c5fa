//! The statistics the diagnostics are made of, as pure functions of numbers: ROC AUC and average
//! precision of scores against binary labels, calibration over equal-width bins (expected
//! calibration error, Brier score, the reliability curve), Spearman's rank correlation, and
//! histograms.
//!
//! Each follows the definition of the library a reader would check it with, so that the numbers
//! can be compared: AUC as scikit-learn's `roc_auc_score` (the Mann–Whitney statistic; a tie
//! between a label and another item counts one half), average precision as scikit-learn's
//! `average_precision_score` (precision at each distinct score threshold, weighted by the recall
//! it adds; tied scores are one threshold), calibration bins as scikit-learn's `calibration_curve`
//! with `strategy="uniform"` (bin `i` of 10 holds the scores in `(i/10, (i+1)/10]`, the first also
//! 0), Spearman's ρ as SciPy's `spearmanr` (Pearson's correlation of average ranks). Where a
//! statistic is undefined (no label item, no other item, a constant variable) it is
//! [`Stat::Undefined`] with the reason, never NaN.

use serde::{Deserialize, Serialize};

/// A number, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stat {
    Value(f64),
    Undefined(String),
}

impl Stat {
    pub fn undefined(reason: impl Into<String>) -> Stat {
        Stat::Undefined(reason.into())
    }

    /// The value, if there is one.
    pub fn value(&self) -> Option<f64> {
        match self {
            Stat::Value(value) => Some(*value),
            Stat::Undefined(_) => None,
        }
    }

    /// `numerator / denominator`, undefined with `reason` when the denominator is 0.
    pub fn ratio(numerator: f64, denominator: f64, reason: &str) -> Stat {
        if denominator > 0.0 {
            Stat::Value(numerator / denominator)
        } else {
            Stat::undefined(reason)
        }
    }

    /// The mean of `values`, undefined with `reason` when there are none.
    pub fn mean_of(values: &[f64], reason: &str) -> Stat {
        Stat::ratio(values.iter().sum(), values.len() as f64, reason)
    }
}

/// Why AUC and average precision need both kinds of items.
const NO_LABEL: &str = "no label item was scored";
const NO_OTHER: &str = "no item other than the labels was scored";

/// The ROC AUC of `scores` for telling the items with `labels[i] = true` from the others: the
/// share of (label, other) pairs in which the label scores higher, ties counting one half.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Stat {
    let positives = labels.iter().filter(|&&label| label).count();
    let negatives = labels.len() - positives;
    if positives == 0 {
        return Stat::undefined(NO_LABEL);
    }
    if negatives == 0 {
        return Stat::undefined(NO_OTHER);
    }
    let ranks = average_ranks(scores);
    let positive_rank_sum: f64 = ranks
        .iter()
        .zip(labels)
        .filter(|(_, &label)| label)
        .map(|(rank, _)| rank)
        .sum();
    let (p, n) = (positives as f64, negatives as f64);
    Stat::Value((positive_rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// Average precision: Σ over distinct score thresholds, from the highest, of (recall gained) ×
/// (precision at that threshold).
pub fn average_precision(scores: &[f64], labels: &[bool]) -> Stat {
    let positives = labels.iter().filter(|&&label| label).count();
    if positives == 0 {
        return Stat::undefined(NO_LABEL);
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut true_positives, mut seen) = (0usize, 0usize);
    let mut previous_recall = 0.0;
    let mut sum = 0.0;
    let mut at = 0;
    while at < order.len() {
        // Every item tied with this score is one threshold.
        let score = scores[order[at]];
        while at < order.len() && scores[order[at]] == score {
            true_positives += usize::from(labels[order[at]]);
            seen += 1;
            at += 1;
        }
        let recall = true_positives as f64 / positives as f64;
        sum += (recall - previous_recall) * true_positives as f64 / seen as f64;
        previous_recall = recall;
    }
    Stat::Value(sum)
}

/// One calibration bin: the scores in `(low, high]` (the first bin also holds `low`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    pub low: f64,
    pub high: f64,
    pub count: usize,
    /// Mean score of the bin; `None` when it is empty.
    pub mean_score: Option<f64>,
    /// Share of label items in the bin; `None` when it is empty.
    pub label_share: Option<f64>,
}

/// Calibration of scores in [0, 1] against labels over `bins` equal-width bins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub bins: Vec<CalibrationBin>,
    /// Σ over bins of (its share of the scores) × |mean score − share of labels|.
    pub ece: Stat,
    /// Mean of (score − label)², label 1 or 0.
    pub brier: Stat,
}

/// The bin of `score` among `bins` equal-width bins of [0, 1], as `calibration_curve` assigns
/// it (`searchsorted` of the inner edges, left side): `(i/bins, (i+1)/bins]`, 0 in the first,
/// scores outside [0, 1] in the end bins.
pub fn bin_of(score: f64, bins: usize) -> usize {
    // NumPy's `linspace(0, 1, bins + 1)` edges: index × (1 / bins), e.g. 3 × 0.1 =
    // 0.30000000000000004, so that a score on an edge falls where scikit-learn puts it.
    let step = 1.0 / bins as f64;
    (1..bins).filter(|&edge| edge as f64 * step < score).count()
}

pub fn calibration(scores: &[f64], labels: &[bool], bins: usize) -> Calibration {
    let mut count = vec![0usize; bins];
    let mut score_sum = vec![0.0; bins];
    let mut label_sum = vec![0.0; bins];
    for (&score, &label) in scores.iter().zip(labels) {
        let bin = bin_of(score, bins);
        count[bin] += 1;
        score_sum[bin] += score;
        label_sum[bin] += f64::from(u8::from(label));
    }
    let total = scores.len() as f64;
    let bins_out: Vec<CalibrationBin> = (0..bins)
        .map(|bin| {
            let n = count[bin] as f64;
            CalibrationBin {
                low: bin as f64 / bins as f64,
                high: (bin + 1) as f64 / bins as f64,
                count: count[bin],
                mean_score: (count[bin] > 0).then(|| score_sum[bin] / n),
                label_share: (count[bin] > 0).then(|| label_sum[bin] / n),
            }
        })
        .collect();
    let ece: f64 = bins_out
        .iter()
        .filter_map(|bin| {
            Some(bin.count as f64 / total * (bin.mean_score? - bin.label_share?).abs())
        })
        .sum();
    let squared: f64 = scores
        .iter()
        .zip(labels)
        .map(|(&score, &label)| (score - f64::from(u8::from(label))).powi(2))
        .sum();
    let reason = "no item was scored";
    Calibration {
        bins: bins_out,
        ece: Stat::ratio(ece * total, total, reason),
        brier: Stat::ratio(squared, total, reason),
    }
}

/// 1-based ranks of `values`, tied values sharing the mean of their ranks.
pub fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start;
        while end + 1 < order.len() && values[order[end + 1]] == values[order[start]] {
            end += 1;
        }
        // Positions start..=end (0-based) hold ranks start + 1 ..= end + 1.
        let rank = (start + end) as f64 / 2.0 + 1.0;
        for &index in &order[start..=end] {
            ranks[index] = rank;
        }
        start = end + 1;
    }
    ranks
}

/// Spearman's rank correlation of paired values: Pearson's correlation of their average ranks.
pub fn spearman(x: &[f64], y: &[f64]) -> Stat {
    if x.len() < 2 {
        return Stat::undefined("fewer than two nodes");
    }
    let (rx, ry) = (average_ranks(x), average_ranks(y));
    let n = x.len() as f64;
    let (mx, my) = (rx.iter().sum::<f64>() / n, ry.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in rx.iter().zip(&ry) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    if sxx == 0.0 {
        return Stat::undefined("the reward is the same for every node");
    }
    if syy == 0.0 {
        return Stat::undefined("the recall of the labels is the same for every node");
    }
    Stat::Value(sxy / (sxx * syy).sqrt())
}

/// Counts of `values` in `bins` equal-width bins of [0, 1], binned as [`bin_of`] bins.
pub fn histogram(values: &[f64], bins: usize) -> Vec<usize> {
    let mut counts = vec![0; bins];
    for &value in values {
        counts[bin_of(value, bins)] += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(stat: &Stat) -> f64 {
        stat.value()
            .unwrap_or_else(|| panic!("undefined: {stat:?}"))
    }

    fn close(actual: f64, expected: f64) {
        assert!(
            (actual - expected).abs() < 1e-12,
            "{actual} is not {expected}"
        );
    }

    // Expected values were computed with scikit-learn 1.9.1 and SciPy 1.17.1 (NumPy arrays of
    // these numbers, Python 3), e.g. `roc_auc_score(y, s)`, `average_precision_score(y, s)`,
    // `brier_score_loss(y, s)`, `calibration_curve(y, s, n_bins=10, strategy="uniform")` with the
    // ECE as Σ count/N · |prob_pred − prob_true| over its non-empty bins (counts from
    // `np.searchsorted(np.linspace(0, 1, 11)[1:-1], s)`), and `scipy.stats.spearmanr(x, y)`.
    const SCORES: [f64; 12] = [
        0.91, 0.15, 0.42, 0.42, 0.77, 0.05, 0.63, 0.42, 0.88, 0.30, 0.55, 0.20,
    ];
    const LABELS: [bool; 12] = [
        true, false, true, false, true, false, false, false, true, false, true, false,
    ];

    #[test]
    fn auc_and_average_precision_are_scikit_learns() {
        // roc_auc_score(y, s) = 0.9142857142857141 (the tie at 0.42 between a label and two
        // others counts one half each).
        close(value(&roc_auc(&SCORES, &LABELS)), 0.914_285_714_285_714_1);
        // average_precision_score(y, s) = 0.885
        close(value(&average_precision(&SCORES, &LABELS)), 0.885);
    }

    #[test]
    fn ties_get_half_credit_and_constant_scores_give_one_half() {
        // roc_auc_score([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5]) = 0.5;
        // average_precision_score(same) = 0.5 (one threshold: precision 2/4 at recall 1).
        let tied = [0.5; 4];
        let labels = [true, false, true, false];
        close(value(&roc_auc(&tied, &labels)), 0.5);
        close(value(&average_precision(&tied, &labels)), 0.5);
        // roc_auc_score([1, 0, 0], [0.7, 0.7, 0.2]) = 0.75;
        // average_precision_score(same) = 0.5
        let scores = [0.7, 0.7, 0.2];
        let labels = [true, false, false];
        close(value(&roc_auc(&scores, &labels)), 0.75);
        close(value(&average_precision(&scores, &labels)), 0.5);
    }

    #[test]
    fn auc_without_a_label_or_without_another_item_is_undefined_not_nan() {
        let scores = [0.2, 0.4];
        assert_eq!(
            roc_auc(&scores, &[false, false]),
            Stat::undefined("no label item was scored")
        );
        assert_eq!(
            roc_auc(&scores, &[true, true]),
            Stat::undefined("no item other than the labels was scored")
        );
        assert!(average_precision(&scores, &[false, false])
            .value()
            .is_none());
        // Only labels: every threshold has precision 1.
        close(value(&average_precision(&scores, &[true, true])), 1.0);
        let json = serde_json::to_string(&roc_auc(&scores, &[false, false])).unwrap();
        assert_eq!(json, r#"{"undefined":"no label item was scored"}"#);
        assert_eq!(
            serde_json::to_string(&Stat::Value(0.5)).unwrap(),
            r#"{"value":0.5}"#
        );
    }

    #[test]
    fn calibration_is_scikit_learns_binning_with_its_ece_and_brier() {
        let calibration = calibration(&SCORES, &LABELS, 10);
        // brier_score_loss(y, s) = 0.12658333333333333
        close(value(&calibration.brier), 0.126_583_333_333_333_33);
        // ECE from calibration_curve's bins = 0.20666666666666667
        close(value(&calibration.ece), 0.206_666_666_666_666_67);
        let counts: Vec<usize> = calibration.bins.iter().map(|bin| bin.count).collect();
        // np.bincount(np.searchsorted(edges[1:-1], s), minlength=10)
        assert_eq!(counts, [1, 2, 1, 0, 3, 1, 1, 1, 1, 1]);
        let fourth = &calibration.bins[4];
        close(fourth.mean_score.unwrap(), 0.42);
        close(fourth.label_share.unwrap(), 1.0 / 3.0);
        assert_eq!(calibration.bins[3].mean_score, None);
        // 0.30 is in the third bin: NumPy's edge is 3 × 0.1 = 0.30000000000000004.
        close(calibration.bins[2].mean_score.unwrap(), 0.30);
        // Edges: 0 and 0.1 go to the first bin, 0.1000001 to the second, 1 to the last.
        assert_eq!(bin_of(0.0, 10), 0);
        assert_eq!(bin_of(0.1, 10), 0);
        assert_eq!(bin_of(0.100_000_1, 10), 1);
        assert_eq!(bin_of(1.0, 10), 9);
        let empty = super::calibration(&[], &[], 10);
        assert!(empty.ece.value().is_none() && empty.brier.value().is_none());
    }

    #[test]
    fn spearman_is_scipys_with_average_ranks_for_ties() {
        // spearmanr([0.3, 0.5, 0.5, 0.1, 0.9, 0.7], [0.0, 0.5, 0.0, 0.0, 1.0, 0.5])
        //   .statistic = 0.8610584002420806
        let reward = [0.3, 0.5, 0.5, 0.1, 0.9, 0.7];
        let recall = [0.0, 0.5, 0.0, 0.0, 1.0, 0.5];
        close(value(&spearman(&reward, &recall)), 0.861_058_400_242_080_6);
        assert_eq!(average_ranks(&[0.5, 0.1, 0.5]), vec![2.5, 1.0, 2.5]);
        assert!(spearman(&reward, &[0.0; 6]).value().is_none());
        assert!(spearman(&[0.4; 6], &recall).value().is_none());
        assert!(spearman(&[0.4], &[0.0]).value().is_none());
    }

    #[test]
    fn histograms_bin_as_calibration_does() {
        assert_eq!(
            histogram(&[0.0, 0.05, 0.1, 0.15, 0.95, 1.0], 10),
            [3, 1, 0, 0, 0, 0, 0, 0, 0, 2]
        );
    }
}
