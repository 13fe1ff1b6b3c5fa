//! No search: one zero-shot CRS answer, the baseline of Table 3's first rows (zero-shot LLMs as
//! CRS) and of the "no search" ablation.
//!
//! The executor asks this call for a long list (50 items, for the @50 metrics); the strategy only
//! records it. It is scored when scoring is on, which the output strategies do not need (one list
//! ranks as itself) but which lets reports show the simulated user's opinion of zero-shot answers.

use super::round::{root_round_strategy, Recommendation, RootRound};

/// The temperature of the zero-shot call: the model's most likely answer, as the reference's first
/// CRS attempt (the executor's retries of invalid answers may sample).
pub const ZERO_SHOT_TEMPERATURE: f32 = 0.0;

#[derive(Debug)]
pub struct NoSearch {
    search: RootRound,
}

impl NoSearch {
    /// One list, scored when `scoring` is on.
    pub fn new(scoring: bool) -> Self {
        let call = Recommendation {
            parent: None,
            feedback: None,
            index: 0,
            first_child: 0,
            lists: 1,
            temperature: ZERO_SHOT_TEMPERATURE,
        };
        NoSearch {
            search: RootRound::new(vec![call], scoring),
        }
    }
}

root_round_strategy!(NoSearch);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::fake_executor::{run, Order};
    use crate::search::strategy::{Command, SearchStrategy};

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
