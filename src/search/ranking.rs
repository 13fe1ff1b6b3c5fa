//! Output strategies: the final ranking of a sample, computed from its finished search tree.
//!
//! The search stores its tree; every output strategy of the paper's tables, and every point of the
//! depth curve (Figure 3), is then a pure function of that tree, so one run serves them all:
//!
//! - [`OutputStrategy::RewardMean`], the paper's efficient candidate ranking: every distinct item
//!   of every node, by its mean score over its occurrences.
//! - [`OutputStrategy::RewardSum`]: by the sum of its scores, i.e. votes weighted by score.
//! - [`OutputStrategy::Vote`]: by the number of lists it appears in (majority voting).
//! - [`OutputStrategy::BestList`]: the list of the node with the highest reward, as it stands
//!   ("no ranking").
//!
//! Ties go to the item seen first, in node id order then list order. On a tree without any score
//! (the search ran without scoring) the two reward strategies fall back to [`OutputStrategy::Vote`]
//! and [`OutputStrategy::BestList`] returns the first node's list. Where only some nodes were scored
//! (a score request failed), only scored occurrences count; for the mean, items never scored follow
//! every scored item in first-seen order.
//!
//! ## Truncation
//!
//! `max_depth = Some(d)` ranks only the nodes of depth ≤ d, and that equals the ranking of the same
//! search run with D = d: (1) the strategies decide what to ask at depth ≤ d from results of depth
//! ≤ d only, and the beam is selected at every depth including the last; (2) requests are named by
//! their place in the tree ([`super::strategy::RequestKey`]) and seeded from that name, so the
//! shorter run gets the same answers; (3) nodes get their ids depth by depth in an order that does
//! not depend on timing (`round`); (4) random beam selection is seeded per depth
//! (`selection`). The tests check it on whole trees.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::tree::{Node, SearchTree};

/// How a sample's final ranking is read from its search tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutputStrategy {
    /// Distinct items by mean score (the paper's efficient candidate ranking).
    RewardMean,
    /// Distinct items by the sum of their scores (score-weighted votes).
    RewardSum,
    /// Distinct items by how many lists hold them.
    Vote,
    /// The best node's list, unranked.
    BestList,
}

impl OutputStrategy {
    pub const ALL: [OutputStrategy; 4] = [
        OutputStrategy::RewardMean,
        OutputStrategy::RewardSum,
        OutputStrategy::Vote,
        OutputStrategy::BestList,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutputStrategy::RewardMean => "reward-mean",
            OutputStrategy::RewardSum => "reward-sum",
            OutputStrategy::Vote => "vote",
            OutputStrategy::BestList => "best-list",
        }
    }
}

impl fmt::Display for OutputStrategy {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A name that is not an output strategy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown output strategy `{0}`: expected reward-mean, reward-sum, vote or best-list")]
pub struct UnknownOutputStrategy(pub String);

impl FromStr for OutputStrategy {
    type Err = UnknownOutputStrategy;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        OutputStrategy::ALL
            .into_iter()
            .find(|strategy| strategy.as_str() == name)
            .ok_or_else(|| UnknownOutputStrategy(name.to_string()))
    }
}

/// The final ranking of `tree` under `strategy`, over the nodes of depth ≤ `max_depth` (all nodes
/// when `None`).
pub fn rank(tree: &SearchTree, strategy: OutputStrategy, max_depth: Option<u32>) -> Vec<String> {
    let nodes: Vec<&Node> = tree
        .nodes()
        .iter()
        .filter(|node| max_depth.is_none_or(|max_depth| node.depth <= max_depth))
        .collect();
    let scored = nodes.iter().any(|node| node.scores.is_some());
    let strategy = match strategy {
        OutputStrategy::RewardMean | OutputStrategy::RewardSum if !scored => OutputStrategy::Vote,
        strategy => strategy,
    };
    if strategy == OutputStrategy::BestList {
        return best_list(&nodes);
    }
    let mut tallies = tally(&nodes);
    // Stable sorts over first-seen order: equal keys stay first seen first.
    match strategy {
        OutputStrategy::RewardMean => tallies.sort_by(|a, b| match (a.mean(), b.mean()) {
            (Some(mean_a), Some(mean_b)) => mean_b.total_cmp(&mean_a),
            (a, b) => b.is_some().cmp(&a.is_some()),
        }),
        OutputStrategy::RewardSum => tallies.sort_by(|a, b| b.score_sum.total_cmp(&a.score_sum)),
        OutputStrategy::Vote => tallies.sort_by_key(|tally| std::cmp::Reverse(tally.count)),
        OutputStrategy::BestList => unreachable!("handled above"),
    }
    tallies
        .into_iter()
        .map(|tally| tally.title.to_string())
        .collect()
}

/// The list of the highest-reward node (ties: lower id); the first node's list without rewards.
fn best_list(nodes: &[&Node]) -> Vec<String> {
    let best = nodes
        .iter()
        .filter_map(|node| node.reward.map(|reward| (node, reward)))
        .fold(
            None,
            |best: Option<(&&Node, f64)>, (node, reward)| match best {
                Some((_, best_reward)) if best_reward >= reward => best,
                _ => Some((node, reward)),
            },
        )
        .map(|(node, _)| *node)
        .or(nodes.first().copied());
    best.map(|node| node.items.clone()).unwrap_or_default()
}

/// What the ranking knows of one distinct item.
struct ItemTally<'tree> {
    title: &'tree str,
    /// Lists holding it (each occurrence counts).
    count: usize,
    /// Occurrences with a score, and the sum of those scores.
    scored_count: usize,
    score_sum: f64,
}

impl ItemTally<'_> {
    fn mean(&self) -> Option<f64> {
        (self.scored_count > 0).then(|| self.score_sum / self.scored_count as f64)
    }
}

/// Every distinct item of `nodes`, in first-seen order, with its counts and scores.
fn tally<'tree>(nodes: &[&'tree Node]) -> Vec<ItemTally<'tree>> {
    let mut tallies: Vec<ItemTally<'tree>> = Vec::new();
    let mut position: HashMap<&'tree str, usize> = HashMap::new();
    for node in nodes {
        for (index, title) in node.items.iter().enumerate() {
            let slot = *position.entry(title.as_str()).or_insert_with(|| {
                tallies.push(ItemTally {
                    title,
                    count: 0,
                    scored_count: 0,
                    score_sum: 0.0,
                });
                tallies.len() - 1
            });
            let tally = &mut tallies[slot];
            tally.count += 1;
            if let Some(score) = node.scores.as_ref().and_then(|scores| scores.get(index)) {
                tally.scored_count += 1;
                tally.score_sum += score;
            }
        }
    }
    tallies
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::tree::NodeId;

    fn titles(names: &str) -> Vec<String> {
        names.split(' ').map(str::to_string).collect()
    }

    /// Depth 1: `A B C` (0.25 0.75 0.5) and `B D A` (0.5 1 0.5, the best reward, 2/3);
    /// depth 2 below the second: `E C D` (0.875 0.5 0) and `D F` (0.25 0.375).
    ///
    /// Per item: A 2× sum 0.75 mean 0.375; B 2× 1.25 0.625; C 2× 1 0.5; D 3× 1.25 0.4167;
    /// E 1× 0.875 0.875; F 1× 0.375 0.375.
    fn hand_tree(scored: bool) -> SearchTree {
        let mut tree = SearchTree::new();
        let lists = [
            (None, "A B C", vec![0.25, 0.75, 0.5]),
            (None, "B D A", vec![0.5, 1.0, 0.5]),
            (Some(NodeId(1)), "E C D", vec![0.875, 0.5, 0.0]),
            (Some(NodeId(1)), "D F", vec![0.25, 0.375]),
        ];
        for (index, (parent, items, scores)) in lists.into_iter().enumerate() {
            let node = tree.add_node(parent, index, titles(items), None);
            if scored {
                tree.set_scores(node, scores);
            }
        }
        tree
    }

    fn ranked(tree: &SearchTree, strategy: OutputStrategy, depth: Option<u32>) -> String {
        rank(tree, strategy, depth).join(" ")
    }

    #[test]
    fn reward_mean_ranks_by_mean_score_first_seen_first_on_ties() {
        let tree = hand_tree(true);
        // A and F tie at 0.375: A was seen first.
        assert_eq!(
            ranked(&tree, OutputStrategy::RewardMean, None),
            "E B C D A F"
        );
        // Depth 1 only: D 1, B 0.625, C 0.5, A 0.375.
        assert_eq!(
            ranked(&tree, OutputStrategy::RewardMean, Some(1)),
            "D B C A"
        );
    }

    #[test]
    fn reward_sum_vote_and_best_list_on_a_hand_computed_tree() {
        let tree = hand_tree(true);
        // B and D tie at 1.25: B was seen first.
        assert_eq!(
            ranked(&tree, OutputStrategy::RewardSum, None),
            "B D C E A F"
        );
        assert_eq!(ranked(&tree, OutputStrategy::Vote, None), "D A B C E F");
        assert_eq!(ranked(&tree, OutputStrategy::Vote, Some(1)), "A B C D");
        assert_eq!(ranked(&tree, OutputStrategy::BestList, None), "B D A");
        assert_eq!(ranked(&tree, OutputStrategy::BestList, Some(1)), "B D A");
        assert_eq!(ranked(&tree, OutputStrategy::BestList, Some(0)), "");
    }

    #[test]
    fn best_list_takes_the_lower_id_on_equal_rewards() {
        let mut tree = SearchTree::new();
        for (index, items) in ["X Y", "Z W", "V U"].into_iter().enumerate() {
            let node = tree.add_node(None, index, titles(items), None);
            tree.set_scores(node, vec![0.5, if index == 0 { 0.0 } else { 0.5 }]);
        }
        assert_eq!(ranked(&tree, OutputStrategy::BestList, None), "Z W");
    }

    #[test]
    fn without_scores_reward_strategies_fall_back_to_votes() {
        let tree = hand_tree(false);
        let votes = ranked(&tree, OutputStrategy::Vote, None);
        assert_eq!(votes, "D A B C E F");
        assert_eq!(ranked(&tree, OutputStrategy::RewardMean, None), votes);
        assert_eq!(ranked(&tree, OutputStrategy::RewardSum, None), votes);
        assert_eq!(ranked(&tree, OutputStrategy::BestList, None), "A B C");
    }

    #[test]
    fn items_never_scored_follow_the_scored_ones_in_the_mean_ranking() {
        let mut tree = SearchTree::new();
        tree.add_node(None, 0, titles("N A"), None);
        let scored = tree.add_node(None, 1, titles("A B"), None);
        tree.set_scores(scored, vec![0.25, 0.75]);
        assert_eq!(ranked(&tree, OutputStrategy::RewardMean, None), "B A N");
    }

    #[test]
    fn names_parse_and_serialize_in_kebab_case() {
        for strategy in OutputStrategy::ALL {
            assert_eq!(strategy.as_str().parse::<OutputStrategy>(), Ok(strategy));
            let json = serde_json::to_string(&strategy).unwrap();
            assert_eq!(json, format!("\"{strategy}\""));
        }
        assert_eq!(
            "best-list".parse::<OutputStrategy>(),
            Ok(OutputStrategy::BestList)
        );
        let error = "mean".parse::<OutputStrategy>().unwrap_err();
        assert!(error.to_string().contains("reward-mean"), "{error}");
    }
}
