//! [`Usage`]: what a piece of a sample's search cost, and which distinct requests it asked (the
//! cost the sample would have had alone, against which sharing between cells is measured).

use std::collections::{BTreeMap, HashSet};

use grsu::store::CallCounts;

use super::model_actor::ModelAnswer;

/// Call counts plus the cache keys of the requests behind them.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    pub counts: CallCounts,
    pub requests: Vec<[u8; 32]>,
}

impl Usage {
    /// Adds one answer (a model call or a cache hit).
    pub fn add_answer(&mut self, answer: &ModelAnswer) {
        self.counts.add_answer(&answer.response, answer.cached);
        self.requests.push(answer.key);
    }

    /// Adds the cost of an answer that is not a chat completion (a classification).
    pub fn add_usage(&mut self, usage: &grsu::model::Usage, cached: bool, key: [u8; 32]) {
        self.counts.add_usage(usage, cached);
        self.requests.push(key);
    }

    pub fn add(&mut self, other: Usage) {
        self.counts.add(&other.counts);
        self.requests.extend(other.requests);
    }
}

/// A sample's usage per role, with its distinct requests counted once.
#[derive(Debug, Default)]
pub struct SampleUsage {
    counts: BTreeMap<String, CallCounts>,
    requests: BTreeMap<String, HashSet<[u8; 32]>>,
}

impl SampleUsage {
    pub fn add(&mut self, role: &str, usage: Usage) {
        self.counts
            .entry(role.to_string())
            .or_default()
            .add(&usage.counts);
        self.requests
            .entry(role.to_string())
            .or_default()
            .extend(usage.requests);
    }

    /// The counts per role, `distinct_requests` filled in.
    pub fn finish(self) -> BTreeMap<String, CallCounts> {
        let mut counts = self.counts;
        for (role, requests) in self.requests {
            counts.entry(role).or_default().distinct_requests = requests.len() as u64;
        }
        counts
    }
}
