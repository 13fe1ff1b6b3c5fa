//! Statistics for comparing systems over the same samples: mean and standard deviation over seeds,
//! the paired t-test per sample against a baseline (Table 3's significance markers), the Wilcoxon
//! signed-rank test ([`wilcoxon`]), Holm's adjustment for the several methods tested against one
//! baseline ([`multiple`]), the paired difference with its bootstrap interval and effect size
//! (Cohen's d_z), and bootstrap confidence intervals of a mean.
//!
//! The Student t distribution's tail comes from `statrs` (its regularised incomplete beta); the
//! tests check it against values computed with SciPy. The bootstrap resamples with grsu's own
//! seeded generator ([`crate::random`]), so the same seed gives the same interval in every build.

pub mod multiple;
pub mod normal;
pub mod wilcoxon;

pub use multiple::holm_adjusted;
pub use wilcoxon::{wilcoxon_signed_rank, WilcoxonMethod, WilcoxonTest};

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::random::SplitMix64;

/// The arithmetic mean (0 for no values).
pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

/// The sample standard deviation (n − 1 in the denominator; 0 for fewer than two values).
pub fn sample_std(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let center = mean(values);
    let squares: f64 = values.iter().map(|value| (value - center).powi(2)).sum();
    (squares / (values.len() - 1) as f64).sqrt()
}

/// The outcome of a paired t-test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PairedTTest {
    /// Mean of the differences `a − b`.
    pub mean_difference: f64,
    pub t: f64,
    pub degrees_of_freedom: usize,
    /// Two-sided p-value.
    pub p_value: f64,
}

/// The paired t-test of `a` against `b` (same samples, same order). `None` with fewer than two
/// pairs or different lengths.
pub fn paired_t_test(a: &[f64], b: &[f64]) -> Option<PairedTTest> {
    if a.len() != b.len() || a.len() < 2 {
        return None;
    }
    let differences: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let mean_difference = mean(&differences);
    let spread = sample_std(&differences);
    let degrees_of_freedom = differences.len() - 1;
    let (t, p_value) = if spread == 0.0 {
        if mean_difference == 0.0 {
            (0.0, 1.0)
        } else {
            (f64::INFINITY.copysign(mean_difference), 0.0)
        }
    } else {
        let t = mean_difference / (spread / (differences.len() as f64).sqrt());
        (t, student_t_two_sided_p(t, degrees_of_freedom as f64))
    };
    Some(PairedTTest {
        mean_difference,
        t,
        degrees_of_freedom,
        p_value,
    })
}

/// P(|T| ≥ |t|) for Student's t with `df` degrees of freedom (`df` > 0; NaN otherwise).
pub fn student_t_two_sided_p(t: f64, df: f64) -> f64 {
    if !t.is_finite() {
        return 0.0;
    }
    match StudentsT::new(0.0, 1.0, df) {
        // The upper tail at |t| is I_{df/(df+t²)}(df/2, 1/2) / 2, so doubling it is exact.
        Ok(distribution) => (2.0 * distribution.sf(t.abs())).clamp(0.0, 1.0),
        Err(_) => f64::NAN,
    }
}

/// A percentile bootstrap confidence interval of the mean of `values`: `resamples` resamples with
/// replacement drawn with a seeded generator (the same seed gives the same interval).
pub fn bootstrap_mean_interval(
    values: &[f64],
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> Option<(f64, f64)> {
    if values.is_empty() || resamples == 0 || !(0.0..1.0).contains(&confidence) {
        return None;
    }
    // grsu's SplitMix64: stable across versions of any dependency, so a report's intervals are too.
    let mut random = SplitMix64::new(seed);
    let mut means: Vec<f64> = (0..resamples)
        .map(|_| {
            let sum: f64 = (0..values.len())
                .map(|_| values[random.below_modulo(values.len() as u64) as usize])
                .sum();
            sum / values.len() as f64
        })
        .collect();
    means.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence) / 2.0;
    let index =
        |quantile: f64| ((quantile * (resamples - 1) as f64).round() as usize).min(resamples - 1);
    Some((means[index(tail)], means[index(1.0 - tail)]))
}

/// The paired difference of two methods over the same samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PairedDifference {
    /// Mean over the pairs of `a − b`.
    pub mean: f64,
    /// Percentile bootstrap interval of that mean, resampling pairs (= resampling differences).
    pub interval: Option<(f64, f64)>,
    /// Cohen's d_z: the mean difference over the sample standard deviation (n − 1) of the
    /// differences. `None` with fewer than two pairs or differences that are all equal (0/0 or
    /// ±∞: undefined).
    pub d_z: Option<f64>,
    pub pairs: usize,
}

/// The paired difference of `a` and `b` (same samples, same order) with a percentile bootstrap
/// interval of its mean (`resamples` resamples of the pairs at `confidence`, seeded by `seed`, as
/// [`bootstrap_mean_interval`] draws them) and Cohen's d_z. `None` without pairs or with
/// different lengths.
pub fn paired_difference(
    a: &[f64],
    b: &[f64],
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> Option<PairedDifference> {
    if a.len() != b.len() || a.is_empty() {
        return None;
    }
    let differences: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let center = mean(&differences);
    let spread = sample_std(&differences);
    let d_z = (differences.len() >= 2 && spread > 0.0).then(|| center / spread);
    Some(PairedDifference {
        mean: center,
        interval: bootstrap_mean_interval(&differences, resamples, confidence, seed),
        d_z,
        pairs: differences.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values computed with SciPy 1.x: stats.ttest_rel(a, b), stats.t.sf(t, df) * 2,
    // numpy.std(a, ddof=1).
    const A: [f64; 10] = [0.5, 0.0, 1.0, 0.25, 0.75, 0.0, 1.0, 0.5, 0.33, 0.0];
    const B: [f64; 10] = [0.25, 0.0, 1.0, 0.0, 0.5, 0.0, 0.5, 0.5, 0.0, 0.1];

    #[test]
    fn paired_t_test_matches_scipy() {
        let test = paired_t_test(&A, &B).unwrap();
        assert!((test.t - 2.417_331_303_969_633_4).abs() < 1e-12, "{test:?}");
        assert!(
            (test.p_value - 0.038_779_982_541_423_1).abs() < 1e-10,
            "{test:?}"
        );
        assert_eq!(test.degrees_of_freedom, 9);
        assert!(paired_t_test(&A, &B[..3]).is_none());
        let same = paired_t_test(&A, &A).unwrap();
        assert_eq!((same.t, same.p_value), (0.0, 1.0));
    }

    #[test]
    fn paired_t_tests_match_scipy_with_ties_and_small_n() {
        // SciPy 1.17.1, stats.ttest_rel(a, b): (t, p).
        let cases: [(&[f64], &[f64], f64, f64); 4] = [
            (
                &[0.62, 0.40, 0.91, 0.35, 0.72, 0.18, 0.88, 0.51, 0.66, 0.27],
                &[0.50, 0.45, 0.60, 0.28, 0.50, 0.32, 0.48, 0.42, 0.48, 0.29],
                2.249_899_012_114_007_7,
                0.051_011_676_693_479_9,
            ),
            (
                &[1.0, 1.0, 0.5, 1.0, 0.25, 0.75, 1.0, 0.0],
                &[0.0, 0.5, 0.0, 0.5, 0.0, 0.0, 0.5, 0.25],
                3.638_034_375_544_994_4,
                0.008_308_738_602_296_983,
            ),
            // Two pairs: one degree of freedom.
            (&[0.5, 1.0], &[0.25, 0.5], 3.0, 0.204_832_764_699_133_45),
            // Constant non-zero differences: t = ∞, p = 0 (SciPy: inf, 0.0).
            (&[0.5, 0.75, 1.0], &[0.25, 0.5, 0.75], f64::INFINITY, 0.0),
        ];
        for (a, b, t, p) in cases {
            let test = paired_t_test(a, b).unwrap();
            assert!(test.t == t || (test.t - t).abs() < 1e-12, "{a:?}: {test:?}");
            assert!((test.p_value - p).abs() < 1e-12, "{a:?}: {test:?}");
        }
        // One pair: SciPy gives NaN; grsu gives no test (and so no marker).
        assert!(paired_t_test(&[0.5], &[0.25]).is_none());
    }

    #[test]
    fn the_paired_difference_matches_numpy_and_an_independent_bootstrap() {
        // numpy: d = a − b; d.mean(), d.mean() / d.std(ddof=1). The interval: a Python
        // re-implementation of SplitMix64 and of the percentile rule (2,000 resamples of the
        // differences, draws `next() % n`, sorted means at round(0.025 · 1999) and
        // round(0.975 · 1999)), seed 0x6772_7375 (the report's).
        let seed = 0x6772_7375;
        let a = [0.62, 0.40, 0.91, 0.35, 0.72, 0.18, 0.88, 0.51, 0.66, 0.27];
        let b = [0.50, 0.45, 0.60, 0.28, 0.50, 0.32, 0.48, 0.42, 0.48, 0.29];
        let difference = paired_difference(&a, &b, 2000, 0.95, seed).unwrap();
        assert!((difference.mean - 0.118).abs() < 1e-12, "{difference:?}");
        assert!((difference.d_z.unwrap() - 0.711_480_538_364_303_1).abs() < 1e-12);
        let (low, high) = difference.interval.unwrap();
        assert!(
            (low - 0.023).abs() < 1e-12 && (high - 0.218).abs() < 1e-12,
            "{low} {high}"
        );
        assert_eq!(difference.pairs, 10);
        // Recall-like 0/1 values with ties and zero differences.
        let a: Vec<f64> = (0..20).map(|i| f64::from(u8::from(i % 3 == 0))).collect();
        let b: Vec<f64> = (0..20).map(|i| f64::from(u8::from(i % 5 == 0))).collect();
        let difference = paired_difference(&a, &b, 2000, 0.95, seed).unwrap();
        assert!((difference.mean - 0.15).abs() < 1e-12);
        assert!((difference.d_z.unwrap() - 0.255_474_412_755_013_65).abs() < 1e-12);
        let (low, high) = difference.interval.unwrap();
        assert!(
            (low + 0.1).abs() < 1e-12 && (high - 0.4).abs() < 1e-12,
            "{low} {high}"
        );
        // It is the bootstrap of the differences.
        let differences: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x - y).collect();
        assert_eq!(
            difference.interval,
            bootstrap_mean_interval(&differences, 2000, 0.95, seed)
        );
        // One pair: the difference, a point interval, no d_z; all equal: 0, no d_z.
        let one = paired_difference(&[0.5], &[0.25], 2000, 0.95, seed).unwrap();
        assert_eq!(
            (one.mean, one.interval, one.d_z),
            (0.25, Some((0.25, 0.25)), None)
        );
        let same = paired_difference(&a, &a, 2000, 0.95, seed).unwrap();
        assert_eq!(
            (same.mean, same.interval, same.d_z),
            (0.0, Some((0.0, 0.0)), None)
        );
        // Two pairs: d = [0.25, 0.5], d_z = 0.375 / 0.176777 = 2.12132 (numpy).
        let two = paired_difference(&[0.5, 1.0], &[0.25, 0.5], 2000, 0.95, seed).unwrap();
        assert!((two.d_z.unwrap() - 2.121_320_343_559_642_4).abs() < 1e-12);
        assert!(paired_difference(&[], &[], 10, 0.95, seed).is_none());
        assert!(paired_difference(&a, &b[..3], 10, 0.95, seed).is_none());
    }

    #[test]
    fn t_distribution_tails_match_scipy() {
        for (t, df, expected) in [
            (2.0, 5.0, 0.101_939_478_829_858_35),
            (0.5, 1.0, 0.704_832_764_699_133_5),
            (3.5, 30.0, 0.001_476_807_437_644_253_2),
            (-2.0, 5.0, 0.101_939_478_829_858_35),
        ] {
            let p = student_t_two_sided_p(t, df);
            assert!(
                (p - expected).abs() < 1e-10,
                "t = {t}, df = {df}: {p} vs {expected}"
            );
        }
    }

    #[test]
    fn mean_and_std_match_numpy() {
        assert!((mean(&A) - 0.433).abs() < 1e-12);
        assert!((sample_std(&A) - 0.388_588_614_232_469_65).abs() < 1e-12);
        assert_eq!(sample_std(&[1.0]), 0.0);
    }

    #[test]
    fn bootstrap_intervals_are_seeded_and_sensible() {
        let constant = bootstrap_mean_interval(&[0.4; 20], 500, 0.95, 1).unwrap();
        assert!(
            (constant.0 - 0.4).abs() < 1e-12 && (constant.1 - 0.4).abs() < 1e-12,
            "{constant:?}"
        );
        let values: Vec<f64> = (0..400).map(|index| (index % 10) as f64 / 10.0).collect();
        let (low, high) = bootstrap_mean_interval(&values, 2000, 0.95, 7).unwrap();
        assert_eq!(
            bootstrap_mean_interval(&values, 2000, 0.95, 7).unwrap(),
            (low, high)
        );
        // Normal approximation: mean ± 1.96 sd / sqrt(n).
        let half_width = 1.96 * sample_std(&values) / (values.len() as f64).sqrt();
        assert!(low < mean(&values) && mean(&values) < high);
        assert!(
            ((high - low) / 2.0 - half_width).abs() < 0.2 * half_width,
            "{low} {high} vs ±{half_width}"
        );
        assert!(bootstrap_mean_interval(&[], 10, 0.95, 1).is_none());
    }
}
