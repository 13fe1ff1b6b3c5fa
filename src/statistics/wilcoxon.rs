//! The Wilcoxon signed-rank test of paired samples, two-sided, computed as SciPy's
//! `scipy.stats.wilcoxon(a, b)` does with its defaults (checked against SciPy 1.17.1:
//! `zero_method="wilcox"`, `correction=False`, `method="auto"`):
//!
//! - zero differences are dropped before ranking (`zero_method="wilcox"`); the others are ranked
//!   by absolute value, ties getting their average rank;
//! - the statistic is min(R+, R−), the smaller of the rank sums of the positive and the negative
//!   differences;
//! - the p-value comes from
//!   - the **exact** null distribution of R+ when there are at most 50 pairs, no ties and no zero
//!     difference;
//!   - an **exact permutation** distribution (every one of the 2^n sign flips of the differences,
//!     ranks as they are, ties included) when there are at most 13 pairs with ties or zero
//!     differences (SciPy's `PermutationMethod()`, deterministic below 2^14 flips);
//!   - otherwise (more than 50 pairs, or more than 13 with ties or zeros) the **normal
//!     approximation** z = (R+ − n(n+1)/4) / σ with the tie correction
//!     σ² = (n(n+1)(2n+1) − Σ(t³ − t)/2) / 24 over the non-zero differences and no continuity
//!     correction; p = 2 Φ(−|z|).
//!
//! "Pairs" in these thresholds counts every pair, zero differences included, as SciPy does; `n`
//! in the formulas counts the non-zero ones.
//!
//! Where SciPy has no answer, grsu decides: when every difference is zero (all-equal samples)
//! the test reports p = 1 (no evidence of a difference; SciPy gives 1 for up to 13 pairs and NaN
//! beyond); a single pair gives p = 1, as SciPy does; no pairs give no test.

use serde::{Deserialize, Serialize};

use super::normal::normal_two_sided_p;

/// How the p-value of a Wilcoxon test was computed (SciPy's `method="auto"` choice).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WilcoxonMethod {
    /// The exact null distribution (≤ 50 pairs, no ties, no zero differences).
    Exact,
    /// Every sign flip of the differences (≤ 13 pairs with ties or zero differences).
    Permutation,
    /// The normal approximation with tie correction, without continuity correction.
    Normal,
}

/// The outcome of a two-sided Wilcoxon signed-rank test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WilcoxonTest {
    /// min(R+, R−) over the non-zero differences (SciPy's `statistic`).
    pub statistic: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Pairs with a non-zero difference: the ones ranked.
    pub nonzero: usize,
    /// Pairs with a zero difference, dropped.
    pub zeros: usize,
    /// Whether two non-zero differences have the same absolute value.
    pub ties: bool,
    pub method: WilcoxonMethod,
    /// The normal approximation's z, (R+ − n(n+1)/4) / σ (with [`WilcoxonMethod::Normal`] only).
    #[serde(default)]
    pub z: Option<f64>,
}

/// SciPy's `auto` threshold: above it, the normal approximation.
const EXACT_MAX_PAIRS: usize = 50;
/// SciPy's permutation test is exhaustive (and so deterministic) up to 2^13 sign flips.
const PERMUTATION_MAX_PAIRS: usize = 13;

/// The Wilcoxon signed-rank test of `a` against `b` (same samples, same order), on the
/// differences `a − b`. `None` without pairs, with different lengths or a non-finite difference.
pub fn wilcoxon_signed_rank(a: &[f64], b: &[f64]) -> Option<WilcoxonTest> {
    if a.len() != b.len() || a.is_empty() {
        return None;
    }
    let differences: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    if differences.iter().any(|d| !d.is_finite()) {
        return None;
    }
    let pairs = differences.len();
    let nonzero: Vec<f64> = differences.iter().copied().filter(|d| *d != 0.0).collect();
    let zeros = pairs - nonzero.len();
    let ranks = doubled_average_ranks(&nonzero);
    let ties = ranks.tie_term > 0;
    let r_plus2: u64 = nonzero
        .iter()
        .zip(&ranks.doubled)
        .filter(|(d, _)| **d > 0.0)
        .map(|(_, rank)| rank)
        .sum();
    let total2 = (nonzero.len() * (nonzero.len() + 1)) as u64;
    let r_minus2 = total2 - r_plus2;
    let statistic = r_plus2.min(r_minus2) as f64 / 2.0;
    let method = if pairs > EXACT_MAX_PAIRS {
        WilcoxonMethod::Normal
    } else if !ties && zeros == 0 {
        WilcoxonMethod::Exact
    } else if pairs <= PERMUTATION_MAX_PAIRS {
        WilcoxonMethod::Permutation
    } else {
        WilcoxonMethod::Normal
    };
    let mut test = WilcoxonTest {
        statistic,
        p_value: 1.0,
        nonzero: nonzero.len(),
        zeros,
        ties,
        method,
        z: None,
    };
    if nonzero.is_empty() {
        // All-equal samples: grsu's choice, p = 1 (SciPy: 1 up to 13 pairs, NaN beyond).
        return Some(test);
    }
    test.p_value = match method {
        // Without ties the doubled ranks are 2, 4, …, 2n, so the exact null distribution and
        // the distribution over sign flips are one computation.
        WilcoxonMethod::Exact | WilcoxonMethod::Permutation => {
            sign_flip_p_value(&ranks.doubled, r_plus2)
        }
        WilcoxonMethod::Normal => {
            let n = nonzero.len() as f64;
            let mean = n * (n + 1.0) / 4.0;
            let variance = (n * (n + 1.0) * (2.0 * n + 1.0) - ranks.tie_term as f64 / 2.0) / 24.0;
            let z = (r_plus2 as f64 / 2.0 - mean) / variance.sqrt();
            test.z = Some(z);
            normal_two_sided_p(z)
        }
    };
    Some(test)
}

/// Average ranks of the absolute values, doubled so that they are integers, and Σ (t³ − t) over
/// the groups of tied absolute values.
struct DoubledRanks {
    doubled: Vec<u64>,
    tie_term: u64,
}

fn doubled_average_ranks(values: &[f64]) -> DoubledRanks {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[i].abs().total_cmp(&values[j].abs()));
    let mut doubled = vec![0; values.len()];
    let mut tie_term = 0;
    let mut start = 0;
    while start < order.len() {
        let magnitude = values[order[start]].abs();
        let end = start
            + order[start..]
                .iter()
                .take_while(|&&index| values[index].abs() == magnitude)
                .count();
        let count = (end - start) as u64;
        // Ranks start + 1 ..= end; their average doubled is start + 1 + end.
        let rank = (start + 1 + end) as u64;
        for &index in &order[start..end] {
            doubled[index] = rank;
        }
        tie_term += count * count * count - count;
        start = end;
    }
    DoubledRanks { doubled, tie_term }
}

/// 2 · min(P(R+ ≤ observed), P(R+ ≥ observed)), capped at 1, over the 2^n equally likely sign
/// assignments of the ranked differences (R+ in doubled ranks, so every sum is an integer and
/// equal sums compare equal). Counts are exact: 2^n fits a `u64` up to n = 63, far above the 50
/// pairs this is used for.
fn sign_flip_p_value(doubled_ranks: &[u64], observed: u64) -> f64 {
    let total: u64 = doubled_ranks.iter().sum();
    let mut ways = vec![0u64; total as usize + 1];
    ways[0] = 1;
    let mut reached = 0;
    for &rank in doubled_ranks {
        let rank = rank as usize;
        for sum in (0..=reached).rev() {
            if ways[sum] > 0 {
                ways[sum + rank] += ways[sum];
            }
        }
        reached += rank;
    }
    let flips = (1u64 << doubled_ranks.len()) as f64;
    let observed = observed as usize;
    let at_most: u64 = ways[..=observed].iter().sum();
    let at_least: u64 = ways[observed..].iter().sum();
    (2.0 * at_most.min(at_least) as f64 / flips).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values from SciPy 1.17.1, `scipy.stats.wilcoxon(a, b)` with every default
    // (zero_method="wilcox", correction=False, method="auto"), printed with repr():
    //
    //   from scipy import stats
    //   r = stats.wilcoxon(a, b); r.statistic, r.pvalue
    //
    // `expected` is (statistic, p-value, method SciPy's "auto" picks).
    fn check(name: &str, a: &[f64], b: &[f64], expected: (f64, f64, WilcoxonMethod)) {
        let test = wilcoxon_signed_rank(a, b).unwrap_or_else(|| panic!("{name}: no test"));
        assert_eq!(test.statistic, expected.0, "{name}: {test:?}");
        assert!(
            (test.p_value - expected.1).abs() < 1e-12,
            "{name}: p {} vs SciPy {}",
            test.p_value,
            expected.1
        );
        assert_eq!(test.method, expected.2, "{name}");
        // Swapping the samples changes no two-sided result.
        let swapped = wilcoxon_signed_rank(b, a).unwrap();
        assert_eq!(swapped.statistic, test.statistic, "{name}");
        assert!((swapped.p_value - test.p_value).abs() < 1e-15, "{name}");
    }

    /// a_i = ((i·37 + 5) mod 101) / 101, b_i = ((i·59 + 13) mod 97) / 97 · shift: distinct
    /// absolute differences, none zero, for the n used here (the same expression in Python).
    fn generated(n: usize, shift: f64) -> (Vec<f64>, Vec<f64>) {
        let a = (0..n)
            .map(|i| ((i * 37 + 5) % 101) as f64 / 101.0)
            .collect();
        let b = (0..n)
            .map(|i| ((i * 59 + 13) % 97) as f64 / 97.0 * shift)
            .collect();
        (a, b)
    }

    #[test]
    fn the_exact_distribution_matches_scipy() {
        // Ten distinct differences, no zero: the exact distribution.
        let a = [0.62, 0.40, 0.91, 0.35, 0.72, 0.18, 0.88, 0.51, 0.66, 0.27];
        let b = [0.50, 0.45, 0.60, 0.28, 0.50, 0.32, 0.48, 0.42, 0.48, 0.29];
        check("exact10", &a, &b, (9.0, 0.064453125, WilcoxonMethod::Exact));
        // W at the distribution's centre: p = 2 · 0.5… capped at 1.
        let (a, b) = generated(30, 1.0);
        check("gen30", &a, &b, (232.0, 1.0, WilcoxonMethod::Exact));
        // 50 pairs is still exact; 51 is not.
        let (a, b) = generated(50, 1.0);
        check(
            "gen50",
            &a,
            &b,
            (613.0, 0.81837027658068, WilcoxonMethod::Exact),
        );
        let (a, b) = generated(40, 0.7);
        check(
            "gen40 shifted",
            &a,
            &b,
            (243.0, 0.02407598106947262, WilcoxonMethod::Exact),
        );
        // A single pair: p = 1.
        check("one", &[0.5], &[0.25], (0.0, 1.0, WilcoxonMethod::Exact));
    }

    #[test]
    fn ties_and_zeros_use_the_permutation_distribution_up_to_13_pairs() {
        // Differences [1, 0, 0, 1, 0, 0, 0.5, 0, 1, -0.5]: five zeros dropped, ties.
        let a = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.5, 0.5, 1.0, 0.0];
        let b = [0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.5, 0.0, 0.5];
        check(
            "tiezero10",
            &a,
            &b,
            (1.5, 0.1875, WilcoxonMethod::Permutation),
        );
        let test = wilcoxon_signed_rank(&a, &b).unwrap();
        assert_eq!((test.nonzero, test.zeros, test.ties), (5, 5, true));
        // Ties, no zero.
        let a = [1.0, 1.0, 0.5, 1.0, 0.25, 0.75, 1.0, 0.0];
        let b = [0.0, 0.5, 0.0, 0.5, 0.0, 0.0, 0.5, 0.25];
        check(
            "ties8",
            &a,
            &b,
            (1.5, 0.0234375, WilcoxonMethod::Permutation),
        );
        // Zeros, no tie.
        let a = [0.3, 0.5, 0.9, 0.2, 0.7, 0.1];
        let b = [0.3, 0.1, 0.2, 0.2, 0.1, 0.0];
        check("zeros6", &a, &b, (0.0, 0.125, WilcoxonMethod::Permutation));
        // 13 pairs with ties and zeros: still the permutation distribution.
        let (a, b) = quarters(13);
        check(
            "quarter13",
            &a,
            &b,
            (13.5, 0.34375, WilcoxonMethod::Permutation),
        );
    }

    /// a_i = ((7i) mod 5) / 4, b_i = ((3i) mod 4) / 4: ties and zero differences.
    fn quarters(n: usize) -> (Vec<f64>, Vec<f64>) {
        (
            (0..n).map(|i| ((i * 7) % 5) as f64 / 4.0).collect(),
            (0..n).map(|i| ((i * 3) % 4) as f64 / 4.0).collect(),
        )
    }

    #[test]
    fn the_normal_approximation_matches_scipy_with_ties_and_without() {
        // 14 pairs with ties and zeros: the normal approximation, tie-corrected.
        let (a, b) = quarters(14);
        check(
            "quarter14",
            &a,
            &b,
            (20.0, 0.44100439543635783, WilcoxonMethod::Normal),
        );
        // Recall-like 0/1 values over 20 samples: 13 zeros, heavy ties.
        let a: Vec<f64> = (0..20).map(|i| f64::from(u8::from(i % 3 == 0))).collect();
        let b: Vec<f64> = (0..20).map(|i| f64::from(u8::from(i % 5 == 0))).collect();
        check(
            "recall20",
            &a,
            &b,
            (8.0, 0.25683925795785656, WilcoxonMethod::Normal),
        );
        // More than 50 pairs without ties.
        let (a, b) = generated(51, 1.0);
        check(
            "gen51",
            &a,
            &b,
            (630.0, 0.7570747669212832, WilcoxonMethod::Normal),
        );
        let (a, b) = generated(60, 1.0);
        check(
            "gen60",
            &a,
            &b,
            (895.0, 0.8829488560906199, WilcoxonMethod::Normal),
        );
        let (a, b) = generated(80, 0.7);
        check(
            "gen80 shifted",
            &a,
            &b,
            (987.0, 0.0023969977646286452, WilcoxonMethod::Normal),
        );
        // SciPy's `method="asymptotic"` reports z = −|z|: −3.0360497926887335 here.
        let z = wilcoxon_signed_rank(&a, &b).unwrap().z.unwrap();
        assert!((z.abs() - 3.036_049_792_688_733_5).abs() < 1e-12, "{z}");
        let z = wilcoxon_signed_rank(&quarters(14).0, &quarters(14).1)
            .unwrap()
            .z
            .unwrap();
        assert!((z.abs() - 0.770_498_245_406_271_2).abs() < 1e-12, "{z}");
    }

    #[test]
    fn all_equal_samples_give_p_one_and_no_pairs_no_test() {
        // SciPy: statistic 0, p 1.0 for these 5 pairs (permutation); NaN for 20 pairs, where
        // grsu reports 1 as well.
        let same = [0.2, 0.4, 0.4, 1.0, 0.0];
        let test = wilcoxon_signed_rank(&same, &same).unwrap();
        assert_eq!((test.statistic, test.p_value), (0.0, 1.0));
        assert_eq!((test.nonzero, test.zeros), (0, 5));
        let many: Vec<f64> = (0..20).map(|i| i as f64 / 20.0).collect();
        let test = wilcoxon_signed_rank(&many, &many).unwrap();
        assert_eq!((test.p_value, test.method), (1.0, WilcoxonMethod::Normal));
        assert!(wilcoxon_signed_rank(&[], &[]).is_none());
        assert!(wilcoxon_signed_rank(&[1.0], &[1.0, 2.0]).is_none());
        assert!(wilcoxon_signed_rank(&[f64::NAN], &[1.0]).is_none());
    }

    #[test]
    fn average_ranks_are_doubled_integers() {
        // |values| = [1, 0.5, 1, 2, 0.5]: ranks [3.5, 1.5, 3.5, 5, 1.5].
        let ranks = doubled_average_ranks(&[1.0, -0.5, -1.0, 2.0, 0.5]);
        assert_eq!(ranks.doubled, vec![7, 3, 7, 10, 3]);
        assert_eq!(ranks.tie_term, 6 + 6);
    }
}
