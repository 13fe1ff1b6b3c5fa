//! One round of a search: the requests that create the nodes of one depth (critiques, then
//! recommendations), then the scoring of those nodes.
//!
//! Results arrive in any order, but node ids must not depend on that order, or the same search
//! would store different trees. So the lists of a round are held back until every recommendation
//! of the round is answered, and then added to the tree in a canonical order: by parent id, then by
//! child index. This costs a little latency (scoring waits for the slowest recommendation of the
//! depth) that the beam would pay anyway, since it selects only once every node of the depth is
//! scored.

use std::collections::{BTreeMap, HashMap};

use super::strategy::{Command, Event, RequestKey, RequestKind, ROOT_PATH, SAMPLING_TEMPERATURE};
use super::tree::{NodeId, SearchTree};

/// A CRS call of a round.
#[derive(Debug, Clone)]
pub(crate) struct Recommendation {
    /// The node to revise; `None` samples from the conversation alone.
    pub parent: Option<NodeId>,
    pub feedback: Option<String>,
    /// The request's number among the recommendations on `parent` (part of its request key).
    pub index: u32,
    /// The child index of its first list below `parent`; further lists follow on.
    pub first_child: usize,
    pub lists: u32,
    pub temperature: f32,
}

/// A request of the round that has not been answered yet.
#[derive(Debug)]
enum Pending {
    Critique {
        node: NodeId,
        count: u32,
    },
    Recommend {
        parent: Option<NodeId>,
        feedback: Option<String>,
        first_child: usize,
        lists: u32,
    },
    Score {
        node: NodeId,
    },
}

/// The lists of one answered recommendation, waiting to become nodes.
#[derive(Debug)]
struct Arrival {
    feedback: Option<String>,
    lists: Vec<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Critiques and recommendations are outstanding.
    Expanding,
    /// The round's nodes are in the tree; scores are outstanding.
    Scoring,
    Done,
}

#[derive(Debug)]
pub(crate) struct Round {
    scoring: bool,
    phase: Phase,
    pending: HashMap<RequestKey, Pending>,
    /// Keyed by (parent, first child index): the canonical node order.
    arrivals: BTreeMap<(Option<NodeId>, usize), Arrival>,
    new_nodes: Vec<NodeId>,
}

impl Round {
    /// A round whose new nodes are scored when `scoring` is on.
    pub(crate) fn new(scoring: bool) -> Self {
        Round {
            scoring,
            phase: Phase::Expanding,
            pending: HashMap::new(),
            arrivals: BTreeMap::new(),
            new_nodes: Vec::new(),
        }
    }

    /// Registers a recommendation and returns its command.
    pub(crate) fn recommend(
        &mut self,
        tree: &SearchTree,
        recommendation: Recommendation,
    ) -> Command {
        let Recommendation {
            parent,
            feedback,
            index,
            first_child,
            lists,
            temperature,
        } = recommendation;
        let node_path = parent.map_or(ROOT_PATH, |parent| tree.node(parent).path.as_str());
        let request = RequestKey::new(RequestKind::Recommend, node_path, index);
        self.pending.insert(
            request.clone(),
            Pending::Recommend {
                parent,
                feedback: feedback.clone(),
                first_child,
                lists,
            },
        );
        Command::Recommend {
            request,
            parent,
            feedback,
            lists,
            temperature,
        }
    }

    /// Registers `count` critiques of `node`; each critique answered becomes one recommendation of
    /// one list revising the node.
    pub(crate) fn critique(&mut self, tree: &SearchTree, node: NodeId, count: u32) -> Command {
        let request = RequestKey::new(RequestKind::Critique, tree.node(node).path.as_str(), 0);
        self.pending
            .insert(request.clone(), Pending::Critique { node, count });
        Command::Critique {
            request,
            node,
            count,
        }
    }

    /// Takes in one result and returns the commands it unlocks. Results of unknown or answered
    /// requests, and results of the wrong kind, are ignored; a score list that does not have one
    /// finite score per item counts as a failed score.
    pub(crate) fn on_event(&mut self, tree: &mut SearchTree, event: Event) -> Vec<Command> {
        let Some(pending) = self.pending.remove(event.request()) else {
            return Vec::new();
        };
        let mut commands = Vec::new();
        match (pending, event) {
            (Pending::Critique { node, count }, Event::Critiqued { critiques, .. }) => {
                for (index, critique) in critiques.into_iter().take(count as usize).enumerate() {
                    let recommendation = Recommendation {
                        parent: Some(node),
                        feedback: Some(critique),
                        index: index as u32,
                        first_child: index,
                        lists: 1,
                        temperature: SAMPLING_TEMPERATURE,
                    };
                    commands.push(self.recommend(tree, recommendation));
                }
            }
            (
                Pending::Recommend {
                    parent,
                    feedback,
                    first_child,
                    lists: asked,
                },
                Event::Recommended { mut lists, .. },
            ) => {
                lists.truncate(asked as usize);
                self.arrivals
                    .insert((parent, first_child), Arrival { feedback, lists });
            }
            (Pending::Score { node }, Event::Scored { scores, .. }) => {
                let fits = scores.len() == tree.node(node).items.len()
                    && scores.iter().all(|score| score.is_finite());
                if fits {
                    tree.set_scores(node, scores);
                }
            }
            _ => {}
        }
        commands.extend(self.advance(tree));
        commands
    }

    /// Moves the round on when nothing it waits for is outstanding: adds the arrived lists to the
    /// tree and asks for their scores, or finishes. Strategies call it after registering a round's
    /// first requests, in case there are none.
    pub(crate) fn advance(&mut self, tree: &mut SearchTree) -> Vec<Command> {
        let mut commands = Vec::new();
        if !self.pending.is_empty() {
            return commands;
        }
        if self.phase == Phase::Expanding {
            for ((parent, first_child), arrival) in std::mem::take(&mut self.arrivals) {
                for (offset, items) in arrival.lists.into_iter().enumerate() {
                    let node = tree.add_node(
                        parent,
                        first_child + offset,
                        items,
                        arrival.feedback.clone(),
                    );
                    self.new_nodes.push(node);
                }
            }
            self.phase = Phase::Scoring;
            if self.scoring {
                for &node in &self.new_nodes {
                    let request =
                        RequestKey::new(RequestKind::Score, tree.node(node).path.as_str(), 0);
                    self.pending
                        .insert(request.clone(), Pending::Score { node });
                    commands.push(Command::Score { request, node });
                }
            }
        }
        if self.pending.is_empty() {
            self.phase = Phase::Done;
        }
        commands
    }

    /// Whether every request of the round is answered and its nodes are in the tree.
    pub(crate) fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// The nodes this round added, in id order.
    pub(crate) fn new_nodes(&self) -> &[NodeId] {
        &self.new_nodes
    }
}

/// A search of one round from the conversation alone (no search, Monte Carlo): its CRS calls are
/// fixed when it is built, asked for on start, and the search is over once the round is done.
#[derive(Debug)]
pub(crate) struct RootRound {
    calls: Vec<Recommendation>,
    tree: SearchTree,
    round: Round,
    started: bool,
}

impl RootRound {
    /// The round of `calls` (recommendations of the root), its nodes scored when `scoring` is on.
    pub(crate) fn new(calls: Vec<Recommendation>, scoring: bool) -> Self {
        RootRound {
            calls,
            tree: SearchTree::new(),
            round: Round::new(scoring),
            started: false,
        }
    }

    pub(crate) fn start(&mut self) -> Vec<Command> {
        if self.started {
            return Vec::new();
        }
        self.started = true;
        let mut commands: Vec<Command> = std::mem::take(&mut self.calls)
            .into_iter()
            .map(|call| self.round.recommend(&self.tree, call))
            .collect();
        commands.extend(self.round.advance(&mut self.tree));
        commands
    }

    pub(crate) fn on_event(&mut self, event: Event) -> Vec<Command> {
        if !self.started {
            return Vec::new();
        }
        self.round.on_event(&mut self.tree, event)
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.started && self.round.is_done()
    }

    pub(crate) fn tree(&self) -> &SearchTree {
        &self.tree
    }

    pub(crate) fn into_tree(self) -> SearchTree {
        self.tree
    }
}

/// Implements [`SearchStrategy`](super::strategy::SearchStrategy) for a strategy whose field
/// `search`, a [`RootRound`], does all of its work (no search, Monte Carlo).
macro_rules! root_round_strategy {
    ($strategy:ty) => {
        impl $crate::search::strategy::SearchStrategy for $strategy {
            fn start(&mut self) -> Vec<$crate::search::strategy::Command> {
                self.search.start()
            }

            fn on_event(
                &mut self,
                event: $crate::search::strategy::Event,
            ) -> Vec<$crate::search::strategy::Command> {
                self.search.on_event(event)
            }

            fn is_finished(&self) -> bool {
                self.search.is_finished()
            }

            fn tree(&self) -> &$crate::search::tree::SearchTree {
                self.search.tree()
            }

            fn into_tree(self: Box<Self>) -> $crate::search::tree::SearchTree {
                self.search.into_tree()
            }
        }
    };
}
pub(crate) use root_round_strategy;
