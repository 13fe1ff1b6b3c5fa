//! Beam search over item lists (paper §3.3), guided by the simulated user's scores. Greedy search
//! is its B = 1 case ([`SearchSettings::greedy`]), not a separate algorithm.
//!
//! Depth 1 samples N² lists from the conversation alone (N when B = 1) in one CRS call at
//! temperature 1. At every depth the new nodes are scored (one score request per node), the top B
//! by reward are kept (`selection`), and, below depth D, each kept node is expanded into N
//! children: one request for N critiques, then one CRS revision per critique. Without critiquing,
//! one CRS call per kept node samples its N children without feedback. Without scoring, nothing is
//! scored and the beam is a seeded random choice.
//!
//! The search ends after depth D, or earlier if a depth keeps nothing (every call of it failed).

use super::round::{Recommendation, Round};
use super::selection;
use super::strategy::{
    Command, Event, SearchSettings, SearchStrategy, SettingsError, SAMPLING_TEMPERATURE,
};
use super::tree::{NodeId, SearchTree};

#[derive(Debug)]
pub struct BeamSearch {
    settings: SearchSettings,
    tree: SearchTree,
    /// The depth whose nodes the current round creates (0 before start).
    depth: u32,
    round: Round,
    finished: bool,
}

impl BeamSearch {
    pub fn new(settings: SearchSettings) -> Result<Self, SettingsError> {
        settings.validate()?;
        Ok(BeamSearch {
            settings,
            tree: SearchTree::new(),
            depth: 0,
            round: Round::new(settings.scoring),
            finished: false,
        })
    }

    pub fn settings(&self) -> &SearchSettings {
        &self.settings
    }

    /// The depth being built (0 before [`SearchStrategy::start`]).
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// Selects the beam of every finished round and opens the next one, until a round is waiting
    /// for results or the search is over.
    fn progress(&mut self) -> Vec<Command> {
        let mut commands = Vec::new();
        while self.round.is_done() && !self.finished {
            let kept = self.select(self.round.new_nodes());
            for &node in &kept {
                self.tree.set_kept(node, true);
            }
            if self.depth >= self.settings.depth || kept.is_empty() {
                self.finished = true;
                break;
            }
            self.depth += 1;
            self.round = Round::new(self.settings.scoring);
            for &node in &kept {
                commands.push(self.expand(node));
            }
            commands.extend(self.round.advance(&mut self.tree));
        }
        commands
    }

    fn select(&self, candidates: &[NodeId]) -> Vec<NodeId> {
        let width = self.settings.beam_width;
        if self.settings.scoring {
            selection::top_by_reward(&self.tree, candidates, width)
        } else {
            selection::at_random(candidates, width, self.settings.seed, self.depth)
        }
    }

    /// The first request that expands a kept node into its N children.
    fn expand(&mut self, node: NodeId) -> Command {
        let width = self.settings.expand_width;
        if self.settings.critique {
            self.round.critique(&self.tree, node, width)
        } else {
            let recommendation = Recommendation {
                parent: Some(node),
                feedback: None,
                index: 0,
                first_child: 0,
                lists: width,
                temperature: SAMPLING_TEMPERATURE,
            };
            self.round.recommend(&self.tree, recommendation)
        }
    }
}

impl SearchStrategy for BeamSearch {
    fn start(&mut self) -> Vec<Command> {
        if self.depth > 0 {
            return Vec::new();
        }
        self.depth = 1;
        let recommendation = Recommendation {
            parent: None,
            feedback: None,
            index: 0,
            first_child: 0,
            lists: self.settings.first_depth_lists(),
            temperature: SAMPLING_TEMPERATURE,
        };
        let mut commands = vec![self.round.recommend(&self.tree, recommendation)];
        commands.extend(self.progress());
        commands
    }

    fn on_event(&mut self, event: Event) -> Vec<Command> {
        if self.finished || self.depth == 0 {
            return Vec::new();
        }
        let mut commands = self.round.on_event(&mut self.tree, event);
        commands.extend(self.progress());
        commands
    }

    fn is_finished(&self) -> bool {
        self.finished
    }

    fn tree(&self) -> &SearchTree {
        &self.tree
    }

    fn into_tree(self: Box<Self>) -> SearchTree {
        self.tree
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::fake_executor::{fnv, run, score_of, Order};
    use crate::search::ranking::{rank, OutputStrategy};
    use crate::search::strategy::{RequestKey, RequestKind};

    /// Requests of one depth: those that create its nodes, and the scores of those nodes.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct DepthCounts {
        recommends: usize,
        lists_asked: u32,
        critiques: usize,
        critiques_asked: u32,
        scores: usize,
    }

    fn counts(tree: &SearchTree, log: &[Command], depth: u32) -> DepthCounts {
        let depth_below = |node: Option<NodeId>| node.map_or(1, |node| tree.node(node).depth + 1);
        let mut counts = DepthCounts::default();
        for command in log {
            match command {
                Command::Recommend { parent, lists, .. } if depth_below(*parent) == depth => {
                    counts.recommends += 1;
                    counts.lists_asked += lists;
                }
                Command::Critique { node, count, .. } if depth_below(Some(*node)) == depth => {
                    counts.critiques += 1;
                    counts.critiques_asked += count;
                }
                Command::Score { node, .. } if tree.node(*node).depth == depth => {
                    counts.scores += 1
                }
                _ => {}
            }
        }
        counts
    }

    fn search_with(
        settings: SearchSettings,
        order: Order,
        fails: impl Fn(&RequestKey) -> bool,
    ) -> (SearchTree, Vec<Command>) {
        let mut search = BeamSearch::new(settings).unwrap();
        let log = run(&mut search, order, fails);
        (Box::new(search).into_tree(), log)
    }

    fn search(settings: SearchSettings) -> (SearchTree, Vec<Command>) {
        search_with(settings, Order::Fifo, |_| false)
    }

    fn kept_ids(tree: &SearchTree, depth: u32) -> Vec<NodeId> {
        tree.nodes_at_depth(depth)
            .filter(|node| node.kept)
            .map(|node| node.id)
            .collect()
    }

    #[test]
    fn beam_2x2_depth_3_asks_4_lists_then_2_critiques_and_4_revisions_per_depth() {
        let (tree, log) = search(SearchSettings::beam(2, 2, 3));
        let first = DepthCounts {
            recommends: 1,
            lists_asked: 4,
            critiques: 0,
            critiques_asked: 0,
            scores: 4,
        };
        let later = DepthCounts {
            recommends: 4,
            lists_asked: 4,
            critiques: 2,
            critiques_asked: 4,
            scores: 4,
        };
        assert_eq!(counts(&tree, &log, 1), first);
        assert_eq!(counts(&tree, &log, 2), later);
        assert_eq!(counts(&tree, &log, 3), later);
        assert_eq!(log.len(), 1 + 4 + 2 * (2 + 4 + 4));
        assert_eq!(tree.len(), 12);
        for depth in 1..=3 {
            assert_eq!(tree.nodes_at_depth(depth).count(), 4);
            assert_eq!(kept_ids(&tree, depth).len(), 2);
        }
    }

    #[test]
    fn paper_beam_4x4_depth_5_makes_16_then_4_times_16_lists() {
        let (tree, log) = search(SearchSettings::paper());
        assert_eq!(
            counts(&tree, &log, 1),
            DepthCounts {
                recommends: 1,
                lists_asked: 16,
                critiques: 0,
                critiques_asked: 0,
                scores: 16,
            }
        );
        for depth in 2..=5 {
            assert_eq!(
                counts(&tree, &log, depth),
                DepthCounts {
                    recommends: 16,
                    lists_asked: 16,
                    critiques: 4,
                    critiques_asked: 16,
                    scores: 16,
                },
                "depth {depth}"
            );
            assert_eq!(kept_ids(&tree, depth).len(), 4);
        }
        assert_eq!(tree.len(), 80);
        for command in &log {
            if let Command::Recommend {
                parent,
                feedback,
                lists,
                temperature,
                ..
            } = command
            {
                assert_eq!(*temperature, SAMPLING_TEMPERATURE);
                assert_eq!(parent.is_some(), feedback.is_some());
                if parent.is_some() {
                    assert_eq!(*lists, 1);
                }
            }
        }
    }

    #[test]
    fn greedy_search_samples_n_lists_at_depth_one_and_keeps_one() {
        for (expand_width, lists) in [(4, 20), (16, 80)] {
            let (tree, log) = search(SearchSettings::greedy(expand_width, 5));
            assert_eq!(tree.len(), lists);
            assert_eq!(counts(&tree, &log, 1).lists_asked, expand_width);
            for depth in 1..=5 {
                assert_eq!(kept_ids(&tree, depth).len(), 1);
            }
        }
    }

    #[test]
    fn kept_nodes_are_the_top_b_by_reward_and_parent_the_next_depth() {
        for settings in [SearchSettings::beam(2, 2, 3), SearchSettings::paper()] {
            let (tree, _) = search(settings);
            let mut kept_differs_from_first_ids = false;
            for depth in 1..=settings.depth {
                let mut ranked: Vec<&crate::search::Node> = tree.nodes_at_depth(depth).collect();
                for node in &ranked {
                    let expected: f64 = node.items.iter().map(|title| score_of(title)).sum::<f64>()
                        / node.items.len() as f64;
                    assert!((node.reward.unwrap() - expected).abs() < 1e-12);
                }
                let first_ids: Vec<NodeId> = ranked
                    .iter()
                    .take(settings.beam_width as usize)
                    .map(|node| node.id)
                    .collect();
                ranked.sort_by(|a, b| {
                    b.reward
                        .unwrap()
                        .total_cmp(&a.reward.unwrap())
                        .then(a.id.cmp(&b.id))
                });
                let mut top: Vec<NodeId> = ranked
                    .iter()
                    .take(settings.beam_width as usize)
                    .map(|node| node.id)
                    .collect();
                top.sort();
                assert_eq!(kept_ids(&tree, depth), top, "depth {depth}");
                kept_differs_from_first_ids |= top != first_ids;
                for node in tree.nodes_at_depth(depth + 1) {
                    assert!(top.contains(&node.parent.unwrap()));
                }
            }
            assert!(kept_differs_from_first_ids, "the fake rewards must matter");
        }
    }

    #[test]
    fn without_critique_children_are_resampled_without_feedback() {
        let settings = SearchSettings {
            critique: false,
            ..SearchSettings::beam(2, 2, 3)
        };
        let (tree, log) = search(settings);
        assert!(!log
            .iter()
            .any(|command| matches!(command, Command::Critique { .. })));
        for depth in 2..=3 {
            assert_eq!(
                counts(&tree, &log, depth),
                DepthCounts {
                    recommends: 2,
                    lists_asked: 4,
                    critiques: 0,
                    critiques_asked: 0,
                    scores: 4,
                }
            );
        }
        for command in &log {
            if let Command::Recommend { feedback, .. } = command {
                assert_eq!(*feedback, None);
            }
        }
        assert_eq!(tree.len(), 12);
        assert!(tree.nodes().iter().all(|node| node.critique.is_none()));
    }

    #[test]
    fn without_scoring_the_beam_is_a_seeded_random_choice() {
        let unscored = |seed| SearchSettings {
            scoring: false,
            seed,
            ..SearchSettings::paper()
        };
        let (tree, log) = search(unscored(0));
        assert!(!log
            .iter()
            .any(|command| matches!(command, Command::Score { .. })));
        assert!(tree.nodes().iter().all(|node| node.reward.is_none()));
        assert_eq!(tree.len(), 80);
        for depth in 1..=5 {
            assert_eq!(kept_ids(&tree, depth).len(), 4);
        }
        assert_eq!(search(unscored(0)).0, tree, "same seed, same search");
        let kept = |tree: &SearchTree| (1..=5).map(|d| kept_ids(tree, d)).collect::<Vec<_>>();
        assert!(
            (1..10).any(|seed| kept(&search(unscored(seed)).0) != kept(&tree)),
            "another seed should select differently"
        );
    }

    #[test]
    fn truncating_a_tree_equals_the_shorter_search() {
        let variants = [
            SearchSettings::paper(),
            SearchSettings::beam(2, 2, 3),
            SearchSettings {
                critique: false,
                ..SearchSettings::paper()
            },
            SearchSettings {
                scoring: false,
                seed: 3,
                ..SearchSettings::paper()
            },
        ];
        for settings in variants {
            let (full, _) = search(settings);
            for depth in 1..=settings.depth {
                let (shorter, _) = search(SearchSettings { depth, ..settings });
                assert_eq!(
                    full.truncated(depth),
                    shorter,
                    "{settings:?} at depth {depth}"
                );
                for strategy in OutputStrategy::ALL {
                    assert_eq!(
                        rank(&full, strategy, Some(depth)),
                        rank(&shorter, strategy, None)
                    );
                }
            }
        }
    }

    #[test]
    fn events_in_any_order_build_the_same_tree() {
        for settings in [
            SearchSettings::paper(),
            SearchSettings {
                scoring: false,
                ..SearchSettings::beam(2, 2, 3)
            },
        ] {
            let (expected, _) = search(settings);
            for order in [
                Order::Lifo,
                Order::Shuffled(1),
                Order::Shuffled(2),
                Order::Shuffled(3),
            ] {
                let (tree, _) = search_with(settings, order, |_| false);
                assert_eq!(tree, expected, "{order:?}");
            }
        }
    }

    #[test]
    fn failed_requests_do_not_stall_the_search() {
        // Some of every kind fail: the search finishes with what it got.
        let (tree, log) = search_with(SearchSettings::paper(), Order::Shuffled(5), |request| {
            fnv(&request.path()).is_multiple_of(5)
        });
        assert!(tree.len() < 80 && tree.len() > 16, "{} nodes", tree.len());
        assert!(tree
            .nodes()
            .iter()
            .filter(|node| node.kept)
            .all(|node| node.reward.is_some()));
        assert!(log
            .iter()
            .any(|command| fnv(&command.request().path()).is_multiple_of(5)));

        // Everything fails: nothing to search.
        let (tree, log) = search_with(SearchSettings::paper(), Order::Fifo, |_| true);
        assert!(tree.is_empty());
        assert_eq!(log.len(), 1);

        // No score comes back: nothing can be kept, so depth 1 is the last.
        let (tree, _) = search_with(SearchSettings::paper(), Order::Fifo, |request| {
            request.kind == RequestKind::Score
        });
        assert_eq!(tree.len(), 16);
        assert!(tree.nodes().iter().all(|node| !node.kept));

        // No critique comes back: the kept nodes have no children.
        let (tree, _) = search_with(SearchSettings::paper(), Order::Fifo, |request| {
            request.kind == RequestKind::Critique
        });
        assert_eq!(tree.len(), 16);
        assert_eq!(kept_ids(&tree, 1).len(), 4);
    }

    #[test]
    fn unknown_and_repeated_events_are_ignored() {
        let mut search = BeamSearch::new(SearchSettings::beam(2, 2, 2)).unwrap();
        assert!(search
            .on_event(Event::Failed {
                request: RequestKey::new(RequestKind::Recommend, "root", 0),
            })
            .is_empty());
        let commands = search.start();
        assert_eq!(commands.len(), 1);
        assert!(search.start().is_empty(), "start twice asks nothing more");
        let request = commands[0].request().clone();
        let answer = Event::Recommended {
            request: request.clone(),
            lists: vec![vec!["A".into()], vec!["B".into()], vec!["C".into()]],
        };
        let scores = search.on_event(answer.clone());
        assert_eq!(scores.len(), 3, "fewer lists than asked are fine");
        assert!(search.on_event(answer).is_empty());
        assert_eq!(search.tree().len(), 3);
        let stranger = Event::Failed {
            request: RequestKey::new(RequestKind::Score, "d9.9", 0),
        };
        assert!(search.on_event(stranger).is_empty());
        assert!(!search.is_finished());
    }

    #[test]
    fn invalid_settings_are_refused() {
        let error = BeamSearch::new(SearchSettings::beam(4, 2, 5)).unwrap_err();
        assert!(error.to_string().contains("at least the beam width"));
    }
}
