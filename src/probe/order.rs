//! The statistics of `grsu probe order`: stored lists (a search tree's scored nodes) re-scored
//! under another presentation — their items reversed or shuffled (list-context scoring) or asked
//! again with another request seed (item-context scoring) — against their stored scores.
//!
//! Each probed list gives a [`ListProbe`]: the stored scores and the new ones, both in the
//! stored item order, and the order the items were presented in. [`summarise`] reports, per
//! condition:
//!
//! - the mean absolute difference of the scores, over every item of every list (each item counts
//!   once);
//! - Spearman's ρ between stored and new scores ([`crate::report::diagnostics::measures::spearman`],
//!   SciPy's `spearmanr`: Pearson's correlation of average ranks), per list and averaged over the
//!   lists where it is defined (a list of one item, or one whose scores are all equal before or
//!   after, has none), and pooled over every item of every list;
//! - the share of lists whose top item changes (the highest-scored item; ties go to the item
//!   earlier in the stored list, before and after alike);
//! - with a changed order, the mean score by position before (the stored list) and after (the
//!   presented list: the score of the item shown at that position), the position-bias profile.
//!
//! Where a statistic is undefined it is [`Stat::Undefined`] with the reason, never NaN.

use serde::{Deserialize, Serialize};

use crate::random::SplitMix64;
use crate::report::diagnostics::measures::{spearman, Stat};

/// Scores this close are the same answer: a stored score read back from the store's JSON can
/// differ from the same answer read now in the last bit.
pub const SAME_SCORE_TOLERANCE: f64 = 1e-12;

/// One probed list.
#[derive(Debug, Clone, PartialEq)]
pub struct ListProbe {
    /// The stored scores, in the stored item order.
    pub original: Vec<f64>,
    /// The new scores, mapped back to the stored item order.
    pub rescored: Vec<f64>,
    /// The order the items were presented in: `presented[p]` is the stored index of the item
    /// shown at position `p` (the identity when only the seed changed).
    pub presented: Vec<usize>,
}

impl ListProbe {
    /// A probe from the scores the model gave the presented list (`by_position[p]` is the score
    /// of the item at position `p`), mapped back to the stored order.
    ///
    /// # Panics
    /// If the lengths differ or `presented` is not a permutation of `0..original.len()`.
    pub fn from_presented(
        original: Vec<f64>,
        presented: Vec<usize>,
        by_position: &[f64],
    ) -> ListProbe {
        assert_eq!(original.len(), presented.len());
        assert_eq!(original.len(), by_position.len());
        let mut rescored = vec![f64::NAN; original.len()];
        for (position, &index) in presented.iter().enumerate() {
            assert!(rescored[index].is_nan(), "not a permutation: {presented:?}");
            rescored[index] = by_position[position];
        }
        ListProbe {
            original,
            rescored,
            presented,
        }
    }

    /// Whether every item got its stored score again, up to [`SAME_SCORE_TOLERANCE`].
    pub fn identical(&self) -> bool {
        self.original
            .iter()
            .zip(&self.rescored)
            .all(|(a, b)| (a - b).abs() <= SAME_SCORE_TOLERANCE)
    }
}

/// The items of a list of `length` in reverse order.
pub fn reversed(length: usize) -> Vec<usize> {
    (0..length).rev().collect()
}

/// A seeded shuffle of `0..length`; for two or more items never the identity (it draws again,
/// and falls back to a rotation by one).
pub fn shuffled(length: usize, seed: u64) -> Vec<usize> {
    let identity: Vec<usize> = (0..length).collect();
    if length < 2 {
        return identity;
    }
    let mut random = SplitMix64::new(seed);
    for _ in 0..16 {
        let mut order = identity.clone();
        random.shuffle(&mut order);
        if order != identity {
            return order;
        }
    }
    (1..length).chain([0]).collect()
}

/// The mean absolute difference of paired values; `None` without any.
pub fn mean_absolute_difference(x: &[f64], y: &[f64]) -> Option<f64> {
    assert_eq!(x.len(), y.len());
    (!x.is_empty())
        .then(|| x.iter().zip(y).map(|(a, b)| (a - b).abs()).sum::<f64>() / x.len() as f64)
}

/// The index of the highest score, the earliest on ties; `None` for no scores.
pub fn top_index(scores: &[f64]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (index, &score) in scores.iter().enumerate() {
        if best.is_none_or(|best| score > scores[best]) {
            best = Some(index);
        }
    }
    best
}

/// Spearman's ρ of stored against new scores, with the reasons this probe gives when undefined.
pub fn rank_correlation(original: &[f64], rescored: &[f64]) -> Stat {
    let constant = |values: &[f64]| values.windows(2).all(|pair| pair[0] == pair[1]);
    if original.len() < 2 {
        Stat::undefined("fewer than two items")
    } else if constant(original) {
        Stat::undefined("the stored scores are all equal")
    } else if constant(rescored) {
        Stat::undefined("the new scores are all equal")
    } else {
        spearman(original, rescored)
    }
}

/// The mean score at one position of the lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PositionMean {
    /// 1-based.
    pub position: usize,
    /// Lists long enough to have it.
    pub lists: usize,
    /// The mean stored score of the item at this position of the stored list.
    pub before: f64,
    /// The mean new score of the item at this position of the presented list.
    pub after: f64,
}

/// What one condition did to the scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionSummary {
    pub lists: usize,
    pub items: usize,
    /// Over every item of every list.
    pub mean_abs_diff: Stat,
    /// Spearman's ρ per list, averaged over the lists where it is defined.
    pub spearman_mean: Stat,
    /// The lists whose ρ is defined.
    pub spearman_lists: usize,
    /// Spearman's ρ over every item of every list.
    pub spearman_pooled: Stat,
    /// Lists whose top item changed.
    pub top_changed: usize,
    /// `top_changed / lists`.
    pub top_changed_share: Stat,
    /// Lists whose every item got its stored score again (up to [`SAME_SCORE_TOLERANCE`]).
    pub identical_lists: usize,
    /// Mean score by position before and after; empty when the order did not change.
    pub positions: Vec<PositionMean>,
}

/// The statistics of `lists` under one condition; `positions`: whether to report the mean score
/// by position (the order changed).
pub fn summarise(lists: &[ListProbe], positions: bool) -> ConditionSummary {
    let original: Vec<f64> = lists
        .iter()
        .flat_map(|list| list.original.clone())
        .collect();
    let rescored: Vec<f64> = lists
        .iter()
        .flat_map(|list| list.rescored.clone())
        .collect();
    let rhos: Vec<f64> = lists
        .iter()
        .filter_map(|list| rank_correlation(&list.original, &list.rescored).value())
        .collect();
    let top_changed = lists
        .iter()
        .filter(|list| top_index(&list.original) != top_index(&list.rescored))
        .count();
    let mut profile = Vec::new();
    if positions {
        let longest = lists
            .iter()
            .map(|list| list.original.len())
            .max()
            .unwrap_or(0);
        for position in 0..longest {
            let at: Vec<&ListProbe> = lists
                .iter()
                .filter(|list| list.original.len() > position)
                .collect();
            let count = at.len() as f64;
            profile.push(PositionMean {
                position: position + 1,
                lists: at.len(),
                before: at.iter().map(|list| list.original[position]).sum::<f64>() / count,
                after: at
                    .iter()
                    .map(|list| list.rescored[list.presented[position]])
                    .sum::<f64>()
                    / count,
            });
        }
    }
    ConditionSummary {
        lists: lists.len(),
        items: original.len(),
        mean_abs_diff: mean_absolute_difference(&original, &rescored)
            .map_or_else(|| Stat::undefined("no item was probed"), Stat::Value),
        spearman_mean: Stat::mean_of(
            &rhos,
            "no list has a defined rank correlation (one item, or equal scores)",
        ),
        spearman_lists: rhos.len(),
        spearman_pooled: rank_correlation(&original, &rescored),
        top_changed,
        top_changed_share: Stat::ratio(top_changed as f64, lists.len() as f64, "no list"),
        identical_lists: lists.iter().filter(|list| list.identical()).count(),
        positions: profile,
    }
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

    fn unmoved(original: &[f64], rescored: &[f64]) -> ListProbe {
        ListProbe {
            original: original.to_vec(),
            rescored: rescored.to_vec(),
            presented: (0..original.len()).collect(),
        }
    }

    // Expected values from SciPy 1.17.1 and NumPy (Python 3): `spearmanr(a, b).statistic` per
    // list = 1.0, -1.0, 0.8720815992723809 and nan (constant input); their mean over the
    // defined ones 0.290693866424127; `spearmanr` of the concatenated lists
    // 0.6762744619555777; `np.mean(np.abs(A - B))` 0.12142857142857141.
    const LISTS: [(&[f64], &[f64]); 4] = [
        (&[0.9, 0.5, 0.3, 0.1], &[0.8, 0.6, 0.3, 0.2]),
        (&[0.2, 0.7, 0.4], &[0.6, 0.3, 0.4]),
        (&[0.5, 0.5, 0.2, 0.9, 0.1], &[0.4, 0.6, 0.2, 0.9, 0.3]),
        (&[0.5, 0.5], &[0.4, 0.6]),
    ];

    #[test]
    fn statistics_are_scipys() {
        let lists: Vec<ListProbe> = LISTS.iter().map(|(a, b)| unmoved(a, b)).collect();
        close(value(&rank_correlation(LISTS[0].0, LISTS[0].1)), 1.0);
        close(value(&rank_correlation(LISTS[1].0, LISTS[1].1)), -1.0);
        close(
            value(&rank_correlation(LISTS[2].0, LISTS[2].1)),
            0.872_081_599_272_380_9,
        );
        assert_eq!(
            rank_correlation(LISTS[3].0, LISTS[3].1),
            Stat::undefined("the stored scores are all equal")
        );
        let summary = summarise(&lists, false);
        assert_eq!((summary.lists, summary.items), (4, 14));
        close(value(&summary.spearman_mean), 0.290_693_866_424_127);
        assert_eq!(summary.spearman_lists, 3);
        close(value(&summary.spearman_pooled), 0.676_274_461_955_577_7);
        close(value(&summary.mean_abs_diff), 0.121_428_571_428_571_41);
        // Top items: 0 → 0, 1 → 0, 3 → 3, 0 (a tie, the earlier) → 1.
        assert_eq!(summary.top_changed, 2);
        close(value(&summary.top_changed_share), 0.5);
        assert_eq!(summary.identical_lists, 0);
        assert!(summary.positions.is_empty());
    }

    #[test]
    fn scores_are_mapped_back_and_positions_profiled() {
        // Reversed: the model scored the items shown as [3, 2, 1, 0] 0.2, 0.3, 0.6, 0.8.
        let first =
            ListProbe::from_presented(vec![0.9, 0.5, 0.3, 0.1], reversed(4), &[0.2, 0.3, 0.6, 0.8]);
        assert_eq!(first.rescored, vec![0.8, 0.6, 0.3, 0.2]);
        let second =
            ListProbe::from_presented(vec![0.2, 0.7, 0.4], vec![2, 0, 1], &[0.4, 0.6, 0.3]);
        assert_eq!(second.rescored, vec![0.6, 0.3, 0.4]);
        let summary = summarise(&[first, second], true);
        let profile: Vec<(usize, usize, f64, f64)> = summary
            .positions
            .iter()
            .map(|at| (at.position, at.lists, at.before, at.after))
            .collect();
        let expected = [
            (1, 2, (0.9 + 0.2) / 2.0, (0.2 + 0.4) / 2.0),
            (2, 2, (0.5 + 0.7) / 2.0, (0.3 + 0.6) / 2.0),
            (3, 2, (0.3 + 0.4) / 2.0, (0.6 + 0.3) / 2.0),
            (4, 1, 0.1, 0.8),
        ];
        assert_eq!(profile.len(), expected.len());
        for (got, want) in profile.iter().zip(&expected) {
            assert_eq!((got.0, got.1), (want.0, want.1));
            close(got.2, want.2);
            close(got.3, want.3);
        }
    }

    #[test]
    fn unchanged_scores_give_zero_and_one() {
        let list = unmoved(&[0.3, 0.8, 0.1], &[0.3, 0.8, 0.1]);
        let summary = summarise(&[list], false);
        close(value(&summary.mean_abs_diff), 0.0);
        close(value(&summary.spearman_mean), 1.0);
        close(value(&summary.spearman_pooled), 1.0);
        assert_eq!((summary.top_changed, summary.identical_lists), (0, 1));
        // The last bit of a score read back from JSON is the same answer.
        let noisy = unmoved(&[0.3, 0.8], &[0.3 + 5e-17, 0.8]);
        assert!(noisy.identical());
        assert!(!unmoved(&[0.3, 0.8], &[0.3001, 0.8]).identical());
    }

    #[test]
    fn degenerate_inputs_are_undefined_not_nan() {
        let summary = summarise(&[], true);
        assert!(summary.mean_abs_diff.value().is_none());
        assert!(summary.spearman_mean.value().is_none());
        assert!(summary.spearman_pooled.value().is_none());
        assert!(summary.top_changed_share.value().is_none());
        assert!(summary.positions.is_empty());
        let one = summarise(&[unmoved(&[0.4], &[0.6])], true);
        assert_eq!(one.spearman_pooled, Stat::undefined("fewer than two items"));
        close(value(&one.mean_abs_diff), 0.2);
        assert_eq!(one.top_changed, 0);
        assert_eq!(
            rank_correlation(&[0.1, 0.2], &[0.5, 0.5]),
            Stat::undefined("the new scores are all equal")
        );
    }

    #[test]
    fn shuffles_are_seeded_permutations_and_never_the_identity() {
        for length in 2..8 {
            for seed in 0..50 {
                let order = shuffled(length, seed);
                assert_eq!(order, shuffled(length, seed));
                let mut sorted = order.clone();
                sorted.sort_unstable();
                assert_eq!(sorted, (0..length).collect::<Vec<_>>());
                assert_ne!(order, sorted, "length {length}, seed {seed}");
            }
        }
        assert_eq!(shuffled(1, 3), vec![0]);
        assert_eq!(reversed(3), vec![2, 1, 0]);
        assert_eq!(top_index(&[]), None);
        assert_eq!(top_index(&[0.2, 0.9, 0.9]), Some(1));
    }
}
