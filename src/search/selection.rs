//! Choosing the beam: the B nodes of a depth that the search keeps and expands.
//!
//! With scoring, the B nodes of highest reward (ties: lower id first); a node whose scoring failed
//! is never kept, since nothing says it is good. Without scoring (the "majority voting" ablation),
//! B nodes chosen at random.
//!
//! The random choice is seeded by (seed, depth), not drawn from one stream that runs through the
//! search, so the choice at depth d is the same whether the search goes on to depth 5 or stops at
//! d: truncating a tree then still equals the shorter search. The generator is grsu's SplitMix64
//! ([`crate::random`]), so that stored trees stay reproducible whatever version of `rand` the build
//! pulls in.

use super::tree::{NodeId, SearchTree};
use crate::random::SplitMix64;

/// The `width` scored candidates of highest reward, ties to the lower id, returned in id order.
pub(crate) fn top_by_reward(tree: &SearchTree, candidates: &[NodeId], width: u32) -> Vec<NodeId> {
    let mut scored: Vec<(NodeId, f64)> = candidates
        .iter()
        .filter_map(|&id| tree.node(id).reward.map(|reward| (id, reward)))
        .collect();
    scored.sort_by(|(id_a, reward_a), (id_b, reward_b)| {
        reward_b.total_cmp(reward_a).then(id_a.cmp(id_b))
    });
    let mut kept: Vec<NodeId> = scored
        .into_iter()
        .take(width as usize)
        .map(|(id, _)| id)
        .collect();
    kept.sort();
    kept
}

/// `width` candidates chosen uniformly at random from `seed` and `depth`, returned in id order.
pub(crate) fn at_random(candidates: &[NodeId], width: u32, seed: u64, depth: u32) -> Vec<NodeId> {
    let mut random = SplitMix64::new(seed ^ u64::from(depth).wrapping_mul(0xA076_1D64_78BD_642F));
    let mut pool = candidates.to_vec();
    let width = (width as usize).min(pool.len());
    // Partial Fisher–Yates: the first `width` places hold a uniform random subset.
    for place in 0..width {
        let remaining = (pool.len() - place) as u64;
        let pick = place + random.below_multiply_shift(remaining) as usize;
        pool.swap(place, pick);
    }
    pool.truncate(width);
    pool.sort();
    pool
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(raw: &[usize]) -> Vec<NodeId> {
        raw.iter().map(|&id| NodeId(id)).collect()
    }

    #[test]
    fn top_by_reward_breaks_ties_by_id_and_skips_unscored_nodes() {
        let mut tree = SearchTree::new();
        for (index, scores) in [Some(0.5), Some(0.9), None, Some(0.5), Some(0.1)]
            .into_iter()
            .enumerate()
        {
            let node = tree.add_node(None, index, vec!["A".into()], None);
            if let Some(score) = scores {
                tree.set_scores(node, vec![score]);
            }
        }
        let all = ids(&[0, 1, 2, 3, 4]);
        assert_eq!(top_by_reward(&tree, &all, 2), ids(&[0, 1]));
        assert_eq!(top_by_reward(&tree, &all, 3), ids(&[0, 1, 3]));
        assert_eq!(top_by_reward(&tree, &all, 5), ids(&[0, 1, 3, 4]));
    }

    #[test]
    fn random_choice_is_a_seeded_subset() {
        let all = ids(&(0..16).collect::<Vec<_>>());
        let chosen = at_random(&all, 4, 7, 2);
        assert_eq!(chosen.len(), 4);
        assert!(chosen.windows(2).all(|pair| pair[0] < pair[1]));
        assert_eq!(chosen, at_random(&all, 4, 7, 2));
        let differs = (0..20).any(|seed| at_random(&all, 4, seed, 2) != chosen);
        assert!(differs, "the seed must matter");
        assert_eq!(at_random(&all[..3], 4, 7, 2), ids(&[0, 1, 2]));
    }
}
