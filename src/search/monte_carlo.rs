//! Monte Carlo search (a baseline of the paper): one round of independent samples from the
//! conversation alone, all scored; the output strategies then rank their items as for beam search.
//!
//! The samples are asked for in CRS calls of at most [`MAX_LISTS_PER_REQUEST`] lists each, so that
//! one call stays within what a server answers promptly and a failed call loses a few lists, not
//! all. The first call has the same request key and size as beam search's depth-1 call with
//! N = 4, so both share its lists (and its cache entry) on the same sample: paired comparisons.

use super::round::{root_round_strategy, Recommendation, RootRound};
use super::strategy::{SearchParameter, SettingsError, SAMPLING_TEMPERATURE};

/// The most lists one CRS call of Monte Carlo search asks for.
pub const MAX_LISTS_PER_REQUEST: u32 = 16;

#[derive(Debug)]
pub struct MonteCarlo {
    samples: u32,
    search: RootRound,
}

impl MonteCarlo {
    /// `samples` lists from the root, scored when `scoring` is on.
    pub fn new(samples: u32, scoring: bool) -> Result<Self, SettingsError> {
        if samples == 0 {
            return Err(SettingsError::new(
                SearchParameter::Samples,
                "Monte Carlo search needs at least 1 sample",
            ));
        }
        let mut calls = Vec::new();
        let mut first_child = 0;
        for index in 0.. {
            let lists = (samples - first_child).min(MAX_LISTS_PER_REQUEST);
            if lists == 0 {
                break;
            }
            calls.push(Recommendation {
                parent: None,
                feedback: None,
                index,
                first_child: first_child as usize,
                lists,
                temperature: SAMPLING_TEMPERATURE,
            });
            first_child += lists;
        }
        Ok(MonteCarlo {
            samples,
            search: RootRound::new(calls, scoring),
        })
    }

    /// The paper's Monte Carlo baseline: 80 scored samples, as many lists as its beam search.
    pub fn paper() -> Self {
        MonteCarlo::new(80, true).expect("80 samples are valid")
    }

    pub fn samples(&self) -> u32 {
        self.samples
    }
}

root_round_strategy!(MonteCarlo);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::fake_executor::{run, Order};
    use crate::search::strategy::{Command, RequestKind, SearchStrategy};

    #[test]
    fn eighty_samples_come_from_five_calls_of_sixteen_all_scored() {
        let mut search = MonteCarlo::paper();
        let log = run(&mut search, Order::Shuffled(9), |_| false);
        let recommends: Vec<(u32, u32)> = log
            .iter()
            .filter_map(|command| match command {
                Command::Recommend {
                    request,
                    parent: None,
                    lists,
                    ..
                } => Some((request.index, *lists)),
                _ => None,
            })
            .collect();
        assert_eq!(
            recommends,
            vec![(0, 16), (1, 16), (2, 16), (3, 16), (4, 16)]
        );
        let scores = log
            .iter()
            .filter(|command| matches!(command, Command::Score { .. }))
            .count();
        assert_eq!(scores, 80);
        let tree = search.tree();
        assert_eq!(tree.len(), 80);
        assert_eq!(tree.max_depth(), 1);
        assert!(tree.nodes().iter().all(|node| node.reward.is_some()));
        let paths: Vec<&str> = tree.nodes().iter().map(|node| node.path.as_str()).collect();
        let expected: Vec<String> = (0..80).map(|index| format!("d1.{index}")).collect();
        assert_eq!(paths, expected);
    }

    #[test]
    fn a_remainder_gets_its_own_call_and_failures_lose_only_their_lists() {
        let mut search = MonteCarlo::new(20, true).unwrap();
        let log = run(&mut search, Order::Fifo, |request| {
            request.kind == RequestKind::Recommend && request.index == 0
        });
        assert!(matches!(log[1], Command::Recommend { lists: 4, .. }));
        assert_eq!(search.tree().len(), 4);
        assert_eq!(search.tree().nodes()[0].path, "d1.16");
        assert!(MonteCarlo::new(0, true).is_err());
    }
}
