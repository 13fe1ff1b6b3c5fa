//! Adjusting p-values for multiple comparisons: Holm's step-down method, as statsmodels'
//! `multipletests(p, method="holm")` computes it.
//!
//! With the m p-values in ascending order p₍₁₎ ≤ … ≤ p₍ₘ₎, the adjusted value of p₍ᵢ₎ is
//! min(1, max over j ≤ i of (m − j + 1) · p₍ⱼ₎). Rejecting where the adjusted value is below α
//! controls the family-wise error rate at α under any dependence between the tests, and rejects
//! everything Bonferroni rejects.

/// Holm-adjusted p-values of `p_values`, in their order. Every value should be a p-value in
/// [0, 1] (callers leave untested or undefined ones out of the family).
pub fn holm_adjusted(p_values: &[f64]) -> Vec<f64> {
    let count = p_values.len();
    let mut order: Vec<usize> = (0..count).collect();
    // Stable, so tied p-values keep their order (their adjusted values are equal in any order).
    order.sort_by(|&i, &j| p_values[i].total_cmp(&p_values[j]));
    let mut adjusted = vec![0.0; count];
    let mut running = 0.0_f64;
    for (position, &index) in order.iter().enumerate() {
        running = running.max((count - position) as f64 * p_values[index]);
        adjusted[index] = running.min(1.0);
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holm_matches_statsmodels() {
        // Reference values from statsmodels 0.15.0:
        //   from statsmodels.stats.multitest import multipletests
        //   multipletests(p, alpha=0.05, method="holm")[1]
        for (p, expected) in [
            (
                vec![0.01, 0.04, 0.03, 0.005, 0.2],
                vec![0.04, 0.09, 0.09, 0.025, 0.2],
            ),
            // Tied p-values.
            (vec![0.03, 0.03, 0.001], vec![0.06, 0.06, 0.003]),
            // A family of one is left as it is.
            (vec![0.5], vec![0.5]),
            // Zero, one, ties and the cap at 1.
            (
                vec![0.02, 0.6, 0.0, 1.0, 0.02, 0.013],
                vec![0.08, 1.0, 0.0, 1.0, 0.08, 0.065],
            ),
            (vec![0.04, 0.01], vec![0.04, 0.02]),
        ] {
            let adjusted = holm_adjusted(&p);
            assert_eq!(adjusted.len(), expected.len());
            for (got, want) in adjusted.iter().zip(&expected) {
                assert!(
                    (got - want).abs() < 1e-15,
                    "{p:?}: {adjusted:?} vs {expected:?}"
                );
            }
        }
        assert!(holm_adjusted(&[]).is_empty());
    }

    #[test]
    fn holm_changes_what_is_significant() {
        // statsmodels' reject at α = 0.05 for [0.01, 0.04, 0.03, 0.005, 0.2]:
        // [True, False, False, True, False]; unadjusted, 0.04 and 0.03 would pass.
        let adjusted = holm_adjusted(&[0.01, 0.04, 0.03, 0.005, 0.2]);
        let rejected: Vec<bool> = adjusted.iter().map(|p| *p < 0.05).collect();
        assert_eq!(rejected, [true, false, false, true, false]);
    }
}
