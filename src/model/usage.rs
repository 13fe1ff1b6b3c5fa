//! [`Usage`]: what a piece of a sample's search cost, and which distinct requests it asked (the
//! cost the sample would have had alone, against which sharing between cells is measured).
//!
//! Whether an answer was a call of the sample or a cache hit is decided once per sample, when its
//! pieces are added up: the first time the sample meets a request, it is the sample's call if a
//! model answered it now or if the sample itself paid for it in an earlier run (an interrupted
//! run resumed, a tree continued deeper); it is a cache hit only when another unit paid for it
//! (sharing between cells). Meeting the same request again within the sample is a cache hit.

use std::collections::{BTreeMap, HashSet};

use super::cached::CachedAnswer;
use super::scoring::ScorePaths;
use super::ChatResponse;
use crate::store::CallCounts;

/// One answer a piece of the search received.
#[derive(Debug, Clone)]
struct Answered {
    key: [u8; 32],
    /// Answered from the cache or by a request already in flight.
    cached: bool,
    /// Answered from the cache by an entry this same unit paid for in an earlier run.
    own: bool,
    usage: super::Usage,
}

/// The answers of a piece of work, and its invalid answers.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    answers: Vec<Answered>,
    /// Answers that were invalid (unparseable lists, cut critiques, no Yes/No) and asked again.
    pub invalid_answers: u64,
    /// The scoring answers by where their P(Yes) and P(No) were read.
    pub score_paths: ScorePaths,
}

impl Usage {
    /// Adds one answer (a model call or a cache hit).
    pub fn add_answer(&mut self, answer: &CachedAnswer<ChatResponse>) {
        self.answers.push(Answered {
            key: answer.key,
            cached: answer.cached,
            own: answer.own,
            usage: answer.response.usage,
        });
    }

    /// Adds the cost of an answer that is not a chat completion (a classification).
    pub fn add_usage(&mut self, usage: &super::Usage, cached: bool, key: [u8; 32]) {
        self.answers.push(Answered {
            key,
            cached,
            own: false,
            usage: *usage,
        });
    }

    /// The response-cache keys of the answers, in order, each once (as
    /// [`crate::store::key_prefix`]).
    pub fn key_prefixes(&self) -> Vec<String> {
        let mut keys: Vec<String> = Vec::new();
        for answer in &self.answers {
            let key = crate::store::key_prefix(&answer.key);
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        keys
    }

    pub fn add(&mut self, other: Usage) {
        self.answers.extend(other.answers);
        self.invalid_answers += other.invalid_answers;
        self.score_paths.add(&other.score_paths);
    }
}

/// A sample's usage per role, with its distinct requests counted once.
#[derive(Debug, Default)]
pub struct SampleUsage {
    invalid_answers: BTreeMap<String, u64>,
    score_paths: BTreeMap<String, ScorePaths>,
    answers: BTreeMap<String, Vec<Answered>>,
}

impl SampleUsage {
    pub fn add(&mut self, role: &str, usage: Usage) {
        *self.invalid_answers.entry(role.to_string()).or_default() += usage.invalid_answers;
        if !usage.score_paths.is_empty() {
            self.score_paths
                .entry(role.to_string())
                .or_default()
                .add(&usage.score_paths);
        }
        self.answers
            .entry(role.to_string())
            .or_default()
            .extend(usage.answers);
    }

    /// The counts per role, `distinct_requests` filled in. Decided when the sample is done, so
    /// that the order in which concurrent answers arrived does not matter: a request is one call
    /// of the sample if any of its answers was paid for by the sample, and its other answers
    /// are cache hits.
    pub fn finish(self) -> BTreeMap<String, CallCounts> {
        let mut counts: BTreeMap<String, CallCounts> = BTreeMap::new();
        for (role, invalid) in self.invalid_answers {
            counts.entry(role).or_default().invalid_answers = invalid;
        }
        for (role, paths) in self.score_paths {
            counts.entry(role).or_default().score_paths = paths;
        }
        for (role, answers) in self.answers {
            let role_counts = counts.entry(role).or_default();
            let paid: HashSet<[u8; 32]> = answers
                .iter()
                .filter(|answer| !answer.cached || answer.own)
                .map(|answer| answer.key)
                .collect();
            let mut counted: HashSet<[u8; 32]> = HashSet::new();
            for answer in &answers {
                let first = counted.insert(answer.key);
                role_counts.add_usage(&answer.usage, !(first && paid.contains(&answer.key)));
            }
            role_counts.distinct_requests = counted.len() as u64;
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::scoring::ScorePath;

    #[test]
    fn score_paths_add_up_per_role_into_the_call_counts() {
        let mut first = Usage::default();
        first.score_paths.count(ScorePath::TokenIds);
        first.score_paths.count(ScorePath::TokenIds);
        first.score_paths.count(ScorePath::Unreadable);
        let mut second = Usage::default();
        second.score_paths.count(ScorePath::TopLogprobs);
        first.add(second);
        let mut sample = SampleUsage::default();
        sample.add("user", first);
        sample.add("crs", Usage::default());
        let counts = sample.finish();
        let user = counts["user"].score_paths;
        assert_eq!(
            (user.token_ids, user.top_logprobs, user.unreadable),
            (2, 1, 1)
        );
        assert!(counts
            .get("crs")
            .is_none_or(|crs| crs.score_paths.is_empty()));
        // Records without the counts read as zero, and zero counts are not written.
        let written = serde_json::to_value(counts["user"]).unwrap();
        assert_eq!(written["score_paths"]["token_ids"], 2);
        let old: CallCounts = serde_json::from_value(serde_json::json!({
            "calls": 1, "cache_hits": 0, "prompt_tokens": 5, "completion_tokens": 1,
            "cached_prompt_tokens": 0, "cached_completion_tokens": 0, "invalid_answers": 0
        }))
        .unwrap();
        assert!(old.score_paths.is_empty());
        assert!(serde_json::to_value(old)
            .unwrap()
            .get("score_paths")
            .is_none());
    }
}
