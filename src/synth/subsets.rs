//! The label subsets of a history (the paper, section 4.1: "all possible subsets of ground-truth
//! items with lengths less than 10"), enumerated in one fixed order and capped.
//!
//! Order: by size, then lexicographically by label position (labels in order of mention). With n
//! labels and lists of k there are Σ_{s=1}^{min(n, k−1)} C(n, s) subsets, which explodes with n;
//! over the cap, a seeded uniform sample of that many ranks is kept (in the same order), so a
//! capped history keeps the paper's mix of subset sizes in expectation instead of only its
//! singletons. Subsets are reached by rank (the combinatorial number system), never by listing
//! all of them.

use crate::random::SplitMix64;

/// Labels beyond this many take no part in subsets (counts stay within `u128`). ReDial's turns
/// have at most 9.
pub const MAX_SUBSET_LABELS: usize = 64;

/// C(n, s), exactly (n ≤ [`MAX_SUBSET_LABELS`]).
pub fn binomial(n: usize, s: usize) -> u128 {
    if s > n {
        return 0;
    }
    let s = s.min(n - s);
    (0..s).fold(1u128, |value, i| value * (n - i) as u128 / (i as u128 + 1))
}

/// The number of non-empty subsets of `labels` labels with fewer than `list_length` items.
pub fn subset_count(labels: usize, list_length: usize) -> u128 {
    let n = labels.min(MAX_SUBSET_LABELS);
    let largest = n.min(list_length.saturating_sub(1));
    (1..=largest).map(|size| binomial(n, size)).sum()
}

/// The subset of rank `rank` in the order above, as ascending label positions.
pub fn subset_at(labels: usize, list_length: usize, mut rank: u128) -> Vec<usize> {
    let n = labels.min(MAX_SUBSET_LABELS);
    let largest = n.min(list_length.saturating_sub(1));
    let mut size = 1;
    while size <= largest && rank >= binomial(n, size) {
        rank -= binomial(n, size);
        size += 1;
    }
    assert!(size <= largest, "rank beyond the last subset");
    let mut subset = Vec::with_capacity(size);
    let mut candidate = 0;
    while subset.len() < size {
        let remaining = size - subset.len() - 1;
        let with_candidate = binomial(n - candidate - 1, remaining);
        if rank < with_candidate {
            subset.push(candidate);
        } else {
            rank -= with_candidate;
        }
        candidate += 1;
    }
    subset
}

/// One subset of a history's labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subset {
    /// Its rank in the enumeration order: it names the subset whatever the cap keeps.
    pub rank: u128,
    /// Label positions, ascending.
    pub labels: Vec<usize>,
}

/// The subsets a history keeps and how many it had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptSubsets {
    /// The kept subsets, in the enumeration order.
    pub subsets: Vec<Subset>,
    /// Subsets before the cap.
    pub total: u128,
}

impl KeptSubsets {
    /// Subsets left out by the cap.
    pub fn capped(&self) -> u128 {
        self.total - self.subsets.len() as u128
    }
}

/// Every subset when there are at most `cap`, else a uniform sample of `cap` of them drawn with
/// `rng`; either way in the enumeration order.
pub fn kept_subsets(
    labels: usize,
    list_length: usize,
    cap: usize,
    rng: &mut SplitMix64,
) -> KeptSubsets {
    let total = subset_count(labels, list_length);
    let ranks = rng.distinct_below(total, cap);
    KeptSubsets {
        subsets: ranks
            .into_iter()
            .map(|rank| Subset {
                rank,
                labels: subset_at(labels, list_length, rank),
            })
            .collect(),
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::sampling::choice_rng;

    #[test]
    fn counts_follow_the_papers_rule() {
        assert_eq!(subset_count(1, 10), 1);
        assert_eq!(subset_count(3, 10), 7);
        assert_eq!(subset_count(9, 10), 511);
        // Subsets of k or more labels are not lists of k with a negative: left out.
        assert_eq!(subset_count(10, 10), 1022);
        assert_eq!(subset_count(4, 3), 4 + 6);
        assert_eq!(subset_count(0, 10), 0);
        assert_eq!(binomial(64, 32), 1_832_624_140_942_590_534);
    }

    #[test]
    fn enumeration_is_by_size_then_lexicographic() {
        let all: Vec<Vec<usize>> = (0..subset_count(3, 10))
            .map(|rank| subset_at(3, 10, rank))
            .collect();
        assert_eq!(
            all,
            vec![
                vec![0],
                vec![1],
                vec![2],
                vec![0, 1],
                vec![0, 2],
                vec![1, 2],
                vec![0, 1, 2]
            ]
        );
        // Every subset once, for a bigger case.
        let mut seen = std::collections::BTreeSet::new();
        for rank in 0..subset_count(6, 4) {
            let subset = subset_at(6, 4, rank);
            assert!(!subset.is_empty() && subset.len() < 4);
            assert!(subset.windows(2).all(|pair| pair[0] < pair[1]));
            assert!(seen.insert(subset));
        }
        assert_eq!(seen.len() as u128, subset_count(6, 4));
    }

    #[test]
    fn the_cap_keeps_a_seeded_sample_in_order() {
        let mut rng = choice_rng(0, "s", "critique/subsets");
        let all = kept_subsets(3, 10, 64, &mut rng);
        assert_eq!((all.subsets.len(), all.total, all.capped()), (7, 7, 0));
        let capped = kept_subsets(5, 10, 8, &mut choice_rng(0, "s", "p"));
        assert_eq!(
            (capped.subsets.len(), capped.total, capped.capped()),
            (8, 31, 23)
        );
        let again = kept_subsets(5, 10, 8, &mut choice_rng(0, "s", "p"));
        assert_eq!(capped, again);
        let other = kept_subsets(5, 10, 8, &mut choice_rng(1, "s", "p"));
        assert_ne!(capped.subsets, other.subsets);
        let sizes: Vec<usize> = capped.subsets.iter().map(|s| s.labels.len()).collect();
        assert!(sizes.windows(2).all(|pair| pair[0] <= pair[1]), "{sizes:?}");
    }
}
