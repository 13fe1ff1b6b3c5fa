//! [`Usage`]: what a piece of a sample's search cost, and which distinct requests it asked (the
//! cost the sample would have had alone, against which sharing between cells is measured).
//!
//! Whether an answer was a call of the sample or a cache hit is decided once per sample, when its
//! pieces are added up: the first time the sample meets a request, it is the sample's call if a
//! model answered it now or if the sample itself paid for it in an earlier run (an interrupted
//! run resumed, a tree continued deeper); it is a cache hit only when another unit paid for it
//! (sharing between cells). Meeting the same request again within the sample is a cache hit.

use std::collections::{BTreeMap, HashMap, HashSet};

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

    /// The response-cache keys of the answers, in order, each once, as the first 8 bytes that
    /// [`crate::store::key_prefix`] writes in hex (kept as bytes while a sample runs: a
    /// thousand samples in flight hold hundreds of keys each).
    pub fn key_prefixes(&self) -> Vec<[u8; 8]> {
        let mut keys: Vec<[u8; 8]> = Vec::new();
        for answer in &self.answers {
            let key: [u8; 8] = answer.key[..8].try_into().expect("8 of 32 bytes");
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
    answers: BTreeMap<String, RoleAnswers>,
}

/// The answers of one role to one sample, counted as they come: only what is still undecided
/// is kept (a thousand samples in flight each meet hundreds of requests).
#[derive(Debug, Default)]
struct RoleAnswers {
    /// The requests met, by the first 16 bytes of their cache key (two requests of one sample
    /// sharing them is a 2^-100 event).
    met: HashSet<u128>,
    /// The first answer of each request met so far only as a cache hit paid for by another
    /// unit: a call of the sample after all if a later answer of it is the sample's.
    unpaid_first: HashMap<u128, super::Usage>,
    /// Everything decided so far.
    counts: CallCounts,
}

impl RoleAnswers {
    /// A request is one call of the sample if any of its answers was paid for by the sample
    /// (its first answer is then the call), and every other answer is a cache hit: the order in
    /// which concurrent answers arrive does not matter.
    fn add(&mut self, answer: &Answered) {
        let key = u128::from_le_bytes(answer.key[..16].try_into().expect("16 of 32 bytes"));
        let paid = !answer.cached || answer.own;
        if self.met.insert(key) {
            if paid {
                self.counts.add_usage(&answer.usage, false);
            } else {
                self.unpaid_first.insert(key, answer.usage);
            }
            return;
        }
        self.counts.add_usage(&answer.usage, true);
        if paid {
            if let Some(first) = self.unpaid_first.remove(&key) {
                self.counts.add_usage(&first, false);
            }
        }
    }

    fn finish(mut self) -> CallCounts {
        for first in self.unpaid_first.values() {
            self.counts.add_usage(first, true);
        }
        self.counts.distinct_requests = self.met.len() as u64;
        self.counts
    }
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
        let answers = self.answers.entry(role.to_string()).or_default();
        for answer in &usage.answers {
            answers.add(answer);
        }
    }

    /// The counts per role, `distinct_requests` filled in (see [`RoleAnswers::add`]).
    pub fn finish(self) -> BTreeMap<String, CallCounts> {
        let mut counts: BTreeMap<String, CallCounts> = BTreeMap::new();
        for (role, answers) in self.answers {
            counts.insert(role, answers.finish());
        }
        for (role, invalid) in self.invalid_answers {
            counts.entry(role).or_default().invalid_answers = invalid;
        }
        for (role, paths) in self.score_paths {
            counts.entry(role).or_default().score_paths = paths;
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::scoring::ScorePath;

    fn answer(key: u8, cached: bool, own: bool, prompt_tokens: u64) -> Answered {
        Answered {
            key: [key; 32],
            cached,
            own,
            usage: super::super::Usage {
                prompt_tokens,
                completion_tokens: 1,
            },
        }
    }

    #[test]
    fn a_request_is_the_samples_call_if_any_answer_of_it_was_paid_by_the_sample_in_any_order() {
        let usage = Usage {
            answers: vec![
                // Request 1: first met as another unit's cache entry, then answered by a model:
                // one call (the first answer's tokens) and one hit.
                answer(1, true, false, 10),
                answer(1, false, false, 20),
                // Request 2: only another unit's entry, twice: two hits, no call.
                answer(2, true, false, 30),
                answer(2, true, false, 40),
                // Request 3: the sample's own entry from an earlier run: a call.
                answer(3, true, true, 50),
                // Request 4: a model call, then joined by a repeat: a call and a hit.
                answer(4, false, false, 60),
                answer(4, true, false, 70),
            ],
            ..Usage::default()
        };
        assert_eq!(
            usage.key_prefixes(),
            vec![[1; 8], [2; 8], [3; 8], [4; 8]],
            "each key once, in order"
        );
        let mut sample = SampleUsage::default();
        sample.add("user", usage);
        let user = sample.finish()["user"];
        assert_eq!(user.distinct_requests, 4);
        assert_eq!((user.calls, user.cache_hits), (3, 4));
        assert_eq!(user.prompt_tokens, 10 + 50 + 60);
        assert_eq!(user.cached_prompt_tokens, 20 + 30 + 40 + 70);
        assert_eq!(user.completion_tokens + user.cached_completion_tokens, 7);
    }

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
