//! No search: one zero-shot CRS answer, the baseline of Table 3's first rows (zero-shot LLMs as
//! CRS) and of the "no search" ablation.
//!
//! The executor asks this call for a long list (50 items, for the @50 metrics); the strategy only
//! records it. It is scored when scoring is on, which the output strategies do not need (one list
//! ranks as itself) but which lets reports show the simulated user's opinion of zero-shot answers.

use super::round::{Recommendation, Round};
use super::strategy::{Command, Event, SearchStrategy};
use super::tree::SearchTree;

/// The temperature of the zero-shot call: the model's most likely answer, as the reference's first
/// CRS attempt (the executor's retries of invalid answers may sample).
pub const ZERO_SHOT_TEMPERATURE: f32 = 0.0;

#[derive(Debug)]
pub struct NoSearch {
    tree: SearchTree,
    round: Round,
    started: bool,
}

impl NoSearch {
    /// One list, scored when `scoring` is on.
    pub fn new(scoring: bool) -> Self {
        NoSearch {
            tree: SearchTree::new(),
            round: Round::new(scoring),
            started: false,
        }
    }
}

impl SearchStrategy for NoSearch {
    fn start(&mut self) -> Vec<Command> {
        if self.started {
            return Vec::new();
        }
        self.started = true;
        let recommendation = Recommendation {
            parent: None,
            feedback: None,
            index: 0,
            first_child: 0,
            lists: 1,
            temperature: ZERO_SHOT_TEMPERATURE,
        };
        vec![self.round.recommend(&self.tree, recommendation)]
    }

    fn on_event(&mut self, event: Event) -> Vec<Command> {
        if !self.started {
            return Vec::new();
        }
        self.round.on_event(&mut self.tree, event)
    }

    fn is_finished(&self) -> bool {
        self.started && self.round.is_done()
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
    use crate::search::fake_executor::{run, Order};

    #[test]
    fn one_zero_shot_list_scored_only_with_scoring() {
        for scoring in [false, true] {
            let mut search = NoSearch::new(scoring);
            let log = run(&mut search, Order::Fifo, |_| false);
            assert!(matches!(
                log[0],
                Command::Recommend {
                    parent: None,
                    lists: 1,
                    temperature: ZERO_SHOT_TEMPERATURE,
                    ..
                }
            ));
            assert_eq!(log.len(), 1 + usize::from(scoring));
            assert_eq!(search.tree().len(), 1);
            assert_eq!(search.tree().nodes()[0].reward.is_some(), scoring);
        }
    }

    #[test]
    fn a_failed_call_finishes_with_an_empty_tree() {
        let mut search = NoSearch::new(true);
        run(&mut search, Order::Fifo, |_| true);
        assert!(search.is_finished());
        assert!(search.tree().is_empty());
    }
}
