//! The protocol between a search strategy and the executor that runs its model calls.
//!
//! A strategy never calls a model: it returns [`Command`]s (recommend, critique, score) and is fed
//! [`Event`]s (their results). The executor (the BeamActor) runs the commands it is given
//! concurrently, in any order, and feeds each result back as it arrives; the strategy answers with
//! further commands. The algorithms are thereby plain synchronous code, testable without async.
//!
//! Every command carries a [`RequestKey`] whose [`RequestKey::path`] is unique within a sample and
//! depends only on the position of the request in the search, never on timing. The executor
//! derives each request's seed from (run seed, sample id, this path, attempt), so a search is a
//! deterministic function of its inputs, and two searches that share a prefix (say depth 3 and
//! depth 5) share their requests, hence the response cache.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::tree::{NodeId, SearchTree};

/// The temperature at which the search samples CRS lists: the search needs distinct lists.
pub const SAMPLING_TEMPERATURE: f32 = 1.0;

/// The kind of model call a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequestKind {
    Recommend,
    Critique,
    Score,
}

impl RequestKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Recommend => "recommend",
            RequestKind::Critique => "critique",
            RequestKind::Score => "score",
        }
    }
}

/// Names one request of a search: its kind, the path of the node it concerns ([`ROOT_PATH`] for
/// the conversation alone; the parent for a recommendation, the node itself for a critique or a
/// score), and an index among the requests of that kind on that node.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RequestKey {
    pub kind: RequestKind,
    pub node: String,
    pub index: u32,
}

/// The node path of requests made on the conversation alone.
pub const ROOT_PATH: &str = "root";

impl RequestKey {
    pub fn new(kind: RequestKind, node: impl Into<String>, index: u32) -> Self {
        RequestKey {
            kind,
            node: node.into(),
            index,
        }
    }

    /// `kind/node/index`, e.g. `recommend/d1.3/2`: unique within a sample and stable across runs.
    pub fn path(&self) -> String {
        format!("{}/{}/{}", self.kind.as_str(), self.node, self.index)
    }
}

impl fmt::Display for RequestKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.path())
    }
}

/// A model call the strategy asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Ask the CRS for `lists` item lists in one call (vLLM `n`): from the conversation alone when
    /// `parent` is `None`, otherwise revising the parent's list, with `feedback` as the user's
    /// critique when there is one.
    Recommend {
        request: RequestKey,
        parent: Option<NodeId>,
        feedback: Option<String>,
        lists: u32,
        temperature: f32,
    },
    /// Ask the simulated user for `count` critiques of a node's list, in one request with
    /// `n = count`.
    Critique {
        request: RequestKey,
        node: NodeId,
        count: u32,
    },
    /// Ask the simulated user to score every item of a node's list.
    Score { request: RequestKey, node: NodeId },
}

impl Command {
    pub fn request(&self) -> &RequestKey {
        match self {
            Command::Recommend { request, .. }
            | Command::Critique { request, .. }
            | Command::Score { request, .. } => request,
        }
    }
}

/// The result of a command, matched to it by its request key.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The valid lists of a recommendation: fewer than asked when some answers stayed invalid
    /// after retries.
    Recommended {
        request: RequestKey,
        lists: Vec<Vec<String>>,
    },
    /// The critiques of a node: fewer than asked when some stayed invalid after retries.
    Critiqued {
        request: RequestKey,
        critiques: Vec<String>,
    },
    /// One score per item of the node, in list order.
    Scored {
        request: RequestKey,
        scores: Vec<f64>,
    },
    /// The executor gave up on the request; the strategy carries on without its result.
    Failed { request: RequestKey },
}

impl Event {
    pub fn request(&self) -> &RequestKey {
        match self {
            Event::Recommended { request, .. }
            | Event::Critiqued { request, .. }
            | Event::Scored { request, .. }
            | Event::Failed { request } => request,
        }
    }
}

/// A search over item lists, as a state machine.
///
/// The executor calls [`start`](SearchStrategy::start) once, runs the commands, and feeds each
/// result to [`on_event`](SearchStrategy::on_event) as it arrives, running the commands returned,
/// until [`is_finished`](SearchStrategy::is_finished). Commands returned together may run
/// concurrently and their events may come back in any order: the resulting tree does not depend on
/// that order. Every command must be answered by exactly one event (a [`Event::Failed`] when the
/// executor gives up), or the strategy never finishes. Events for unknown or already answered
/// requests are ignored.
pub trait SearchStrategy: Send {
    fn start(&mut self) -> Vec<Command>;
    fn on_event(&mut self, event: Event) -> Vec<Command>;
    fn is_finished(&self) -> bool;
    fn tree(&self) -> &SearchTree;
    fn into_tree(self: Box<Self>) -> SearchTree;
}

/// The parameters of beam search (and of greedy search, its B = 1 case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchSettings {
    /// B: nodes kept at each depth.
    pub beam_width: u32,
    /// N: children of each kept node (and depth-1 lists: N² when B > 1, N when B = 1).
    pub expand_width: u32,
    /// D: rounds of the search, depth 1 included.
    pub depth: u32,
    /// Whether children revise their parent with a critique; `false` re-samples them without
    /// feedback (the "no critiquing" ablation).
    pub critique: bool,
    /// Whether nodes are scored; `false` selects the beam at random with `seed`, and rankings fall
    /// back to votes (the "majority voting" ablation).
    pub scoring: bool,
    /// Seeds the random selection when `scoring` is off.
    pub seed: u64,
}

impl SearchSettings {
    /// Beam search with critiquing and scoring.
    pub fn beam(beam_width: u32, expand_width: u32, depth: u32) -> Self {
        SearchSettings {
            beam_width,
            expand_width,
            depth,
            critique: true,
            scoring: true,
            seed: 0,
        }
    }

    /// The paper's beam search: B = N = 4, D = 5 (80 lists).
    pub fn paper() -> Self {
        SearchSettings::beam(4, 4, 5)
    }

    /// Greedy search: beam search with B = 1, so depth 1 samples N lists (not N²). The paper's
    /// "small" greedy search is N = 4, D = 5 (20 lists), its "large" one N = 16, D = 5 (80 lists).
    pub fn greedy(expand_width: u32, depth: u32) -> Self {
        SearchSettings::beam(1, expand_width, depth)
    }

    /// Checks N ≥ B ≥ 1 and D ≥ 1; the error names the parameter that breaks the rule.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.beam_width == 0 {
            return Err(SettingsError::new(
                SearchParameter::BeamWidth,
                "beam width B must be at least 1",
            ));
        }
        if self.expand_width < self.beam_width {
            return Err(SettingsError::new(
                SearchParameter::ExpandWidth,
                format!(
                    "expansion width N = {} must be at least the beam width B = {}: the search \
                     keeps B of the lists it expands",
                    self.expand_width, self.beam_width
                ),
            ));
        }
        if self.depth == 0 {
            return Err(SettingsError::new(
                SearchParameter::Depth,
                "search depth D must be at least 1",
            ));
        }
        Ok(())
    }

    /// Lists sampled from the root: N² when B > 1, N when B = 1.
    pub fn first_depth_lists(&self) -> u32 {
        if self.beam_width > 1 {
            self.expand_width * self.expand_width
        } else {
            self.expand_width
        }
    }

    /// Lists a search with these settings makes when every call succeeds.
    pub fn total_lists(&self) -> u32 {
        self.first_depth_lists() + (self.depth - 1) * self.beam_width * self.expand_width
    }
}

/// A parameter of a search strategy, as a [`SettingsError`] names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchParameter {
    /// B.
    BeamWidth,
    /// N.
    ExpandWidth,
    /// D.
    Depth,
    /// The lists of Monte Carlo search.
    Samples,
}

/// Search parameters that make no sense: the parameter that breaks a rule, and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid search settings: {reason}")]
pub struct SettingsError {
    pub parameter: SearchParameter,
    pub reason: String,
}

impl SettingsError {
    pub fn new(parameter: SearchParameter, reason: impl Into<String>) -> Self {
        SettingsError {
            parameter,
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_paths_are_readable_and_distinct_by_kind_node_and_index() {
        let key = RequestKey::new(RequestKind::Recommend, "d1.3", 2);
        assert_eq!(key.path(), "recommend/d1.3/2");
        assert_ne!(
            key.path(),
            RequestKey::new(RequestKind::Critique, "d1.3", 2).path()
        );
        assert_eq!(
            RequestKey::new(RequestKind::Score, ROOT_PATH, 0).to_string(),
            "score/root/0"
        );
    }

    #[test]
    fn settings_validation_names_the_broken_rule() {
        assert!(SearchSettings::paper().validate().is_ok());
        assert!(SearchSettings::greedy(4, 5).validate().is_ok());
        let no_beam = SearchSettings::beam(0, 4, 5).validate().unwrap_err();
        assert!(no_beam.to_string().contains("beam width B"), "{no_beam}");
        let narrow = SearchSettings::beam(4, 2, 5).validate().unwrap_err();
        assert!(narrow.to_string().contains("N = 2"), "{narrow}");
        assert!(narrow.to_string().contains("B = 4"), "{narrow}");
        let flat = SearchSettings::beam(2, 2, 0).validate().unwrap_err();
        assert!(flat.to_string().contains("depth D"), "{flat}");
        assert_eq!(
            [no_beam.parameter, narrow.parameter, flat.parameter],
            [
                SearchParameter::BeamWidth,
                SearchParameter::ExpandWidth,
                SearchParameter::Depth
            ]
        );
    }

    #[test]
    fn list_totals_match_the_paper() {
        assert_eq!(SearchSettings::paper().total_lists(), 80);
        assert_eq!(SearchSettings::greedy(4, 5).total_lists(), 20);
        assert_eq!(SearchSettings::greedy(16, 5).total_lists(), 80);
        assert_eq!(SearchSettings::beam(2, 2, 3).total_lists(), 4 + 2 * 4);
    }
}
