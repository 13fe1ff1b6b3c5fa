//! What a run stores besides the response cache: its manifest and one record per finished sample.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::metrics::SampleMetrics;
use crate::search::SearchTree;

/// What was run: written once when a run starts, checked when it is resumed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunManifest {
    pub name: String,
    /// The whole config as JSON.
    pub config: serde_json::Value,
    /// [`crate::config::RunConfig::results_hash`]: a resumed run must have the same.
    pub results_hash: String,
    /// The grsu version that started the run.
    pub code_version: String,
    /// Model identity per role (what the response cache is keyed by).
    pub models: BTreeMap<String, String>,
    /// Samples per seed.
    pub samples: usize,
    pub created_unix: u64,
}

/// Model calls of one role for one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CallCounts {
    /// Requests answered by a model (not from the cache).
    pub calls: u64,
    /// Requests answered from the response cache.
    pub cache_hits: u64,
    /// Tokens of the requests answered by a model.
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Tokens that cache hits would have cost.
    pub cached_prompt_tokens: u64,
    pub cached_completion_tokens: u64,
    /// Answers that were invalid (unparseable lists, cut critiques, no Yes/No) and asked again.
    pub invalid_answers: u64,
}

impl CallCounts {
    pub fn add(&mut self, other: &CallCounts) {
        self.calls += other.calls;
        self.cache_hits += other.cache_hits;
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.cached_prompt_tokens += other.cached_prompt_tokens;
        self.cached_completion_tokens += other.cached_completion_tokens;
        self.invalid_answers += other.invalid_answers;
    }
}

/// The result of one sample under one seed: the whole search tree (every output strategy and
/// depth truncation can be recomputed from it), the predictions and metrics per output strategy,
/// and what it cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleRecord {
    pub seed: u64,
    pub sample: String,
    pub labels: Vec<String>,
    pub tree: SearchTree,
    /// Ranking per output strategy (by its kebab-case name).
    pub predictions: BTreeMap<String, Vec<String>>,
    pub metrics: BTreeMap<String, SampleMetrics>,
    /// Calls per model role.
    pub calls: BTreeMap<String, CallCounts>,
    /// Items whose score could not be read after every attempt (scored 0).
    pub unscored_items: u64,
    pub wall_ms: u64,
}

/// The store key of a record: seed first, so a seed's records are contiguous.
pub fn record_key(seed: u64, sample: &str) -> String {
    format!("{seed:020}/{sample}")
}
