//! Statistics for comparing systems over the same samples: mean and standard deviation over seeds,
//! the paired t-test per sample against a baseline (Table 3's significance markers), and bootstrap
//! confidence intervals of a mean.
//!
//! The Student t distribution's tail comes from `statrs` (its regularised incomplete beta); the
//! tests check it against values computed with SciPy. The bootstrap resamples with grsu's own
//! seeded generator ([`crate::random`]), so the same seed gives the same interval in every build.

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
