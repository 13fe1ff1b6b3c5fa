//! What a sweep stores besides the response cache: its manifest, one record per finished (search,
//! seed, sample), the samples that failed, and imported rankings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::metrics::SampleMetrics;
use crate::model::scoring::ScorePaths;
use crate::search::SearchTree;

/// What was run: written once when a sweep starts, checked when it is resumed or merged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepManifest {
    pub name: String,
    /// The config file as given (grid and variants included).
    pub config_text: String,
    /// Command-line overrides of the file (`--set key=value`, `--output DIR`).
    #[serde(default)]
    pub overrides: Vec<String>,
    /// [`crate::sweep::Sweep::hash`]: a resumed or merged store must have the same.
    pub sweep_hash: String,
    /// The grsu version that started the sweep.
    pub code_version: String,
    pub seeds: Vec<u64>,
    pub cells: Vec<CellManifest>,
    pub searches: Vec<SearchManifest>,
    /// The share of the samples this store runs (`--shard i/n`); `None`: all of them.
    #[serde(default)]
    pub shard: Option<crate::sweep::Shard>,
    /// Where the shard came from (`--shard i/n`, or `--shard auto` from Slurm or Kubernetes);
    /// `None` without a shard and in stores written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard_source: Option<crate::sweep::ShardSource>,
    pub created_unix: u64,
}

impl SweepManifest {
    pub fn cell(&self, name: &str) -> Option<&CellManifest> {
        self.cells.iter().find(|cell| cell.name == name)
    }

    pub fn search(&self, key: &str) -> Option<&SearchManifest> {
        self.searches.iter().find(|search| search.key == key)
    }

    /// The records that make a cell's results: of its search, under the sweep's seeds, for the
    /// cell's samples (its `data.limit`), searched at least as deep as the cell reports. Records
    /// of earlier configurations of the folder (other seeds, more samples, a shallower tree that
    /// is being continued) are left out, so a report is what a fresh run of the config gives.
    pub fn cell_records<'a>(
        &self,
        cell: &CellManifest,
        records: impl IntoIterator<Item = &'a SampleRecord>,
    ) -> Vec<&'a SampleRecord> {
        let reads = self.cell_reads(cell);
        records
            .into_iter()
            .filter(|record| reads.reads(record))
            .collect()
    }

    /// Which records a cell reads ([`SweepManifest::cell_records`]), asked one record at a time.
    pub fn cell_reads<'a>(&'a self, cell: &'a CellManifest) -> CellReads<'a> {
        let samples = self
            .search(&cell.search)
            .map(|search| {
                let count = cell.limit.unwrap_or(usize::MAX);
                search
                    .samples
                    .iter()
                    .take(count)
                    .map(|sample| sample.id.as_str())
                    .collect()
            })
            .unwrap_or_default();
        CellReads {
            cell,
            seeds: &self.seeds,
            samples,
        }
    }

    /// The samples a cell reports (its search's, up to its `data.limit`).
    pub fn cell_sample_count(&self, cell: &CellManifest) -> usize {
        self.search(&cell.search).map_or(0, |search| {
            search.samples.len().min(cell.limit.unwrap_or(usize::MAX))
        })
    }
}

/// The records one cell reads: [`SweepManifest::cell_records`] for records met one at a time (a
/// report reading a store record by record).
#[derive(Debug)]
pub struct CellReads<'a> {
    cell: &'a CellManifest,
    seeds: &'a [u64],
    samples: std::collections::HashSet<&'a str>,
}

impl CellReads<'_> {
    /// Whether the cell reads `record`.
    pub fn reads(&self, record: &SampleRecord) -> bool {
        record.search == self.cell.search
            && self.seeds.contains(&record.seed)
            && self.samples.contains(record.sample.as_str())
            && self
                .cell
                .depth
                .is_none_or(|depth| record.searched_depth >= depth)
    }
}

/// One cell of a sweep: the search it reads and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellManifest {
    pub name: String,
    /// Grid and variant values: `(dotted path, value)`.
    pub assignments: Vec<(String, String)>,
    /// The key of its [`SearchManifest`].
    pub search: String,
    /// Truncation depth of the shared search's trees; `None`: whole trees.
    pub depth: Option<u32>,
    /// The cell's `data.limit`: it reports the first this many samples of its search.
    #[serde(default)]
    pub limit: Option<usize>,
    /// Output strategies (kebab-case names).
    pub strategies: Vec<String>,
    /// The cell's whole config as JSON.
    pub config: serde_json::Value,
}

/// One search shared by cells: its models and its samples (with labels, so that imported
/// rankings can be scored from the store alone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchManifest {
    pub key: String,
    /// Model identity per role (what the response cache is keyed by).
    pub models: BTreeMap<String, String>,
    pub samples: Vec<SampleLabels>,
}

/// A sample id and its labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleLabels {
    pub id: String,
    pub labels: Vec<String>,
}

/// A sample that could not be finished, kept until a later run finishes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureRecord {
    pub search: String,
    pub seed: u64,
    pub sample: String,
    pub error: String,
}

/// External rankings (e.g. a CRSLab baseline) imported into a store to be reported alongside.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportedRankings {
    pub name: String,
    /// The predictions file it came from.
    pub source: String,
    /// Ranking per sample id, titles mapped onto the catalog.
    pub rankings: BTreeMap<String, Vec<String>>,
    /// Predicted titles that matched no catalog item.
    pub unmatched_titles: usize,
    /// Predictions for samples the sweep does not have (ignored).
    pub unknown_samples: usize,
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
    /// Different requests the sample asked (what it would have paid alone, with only its own
    /// cache): the baseline against which sharing between cells is measured.
    #[serde(default)]
    pub distinct_requests: u64,
    /// The simulated user's scoring answers by where P(Yes) and P(No) were read: the Yes/No token
    /// ids the request named (`[models.user] yes_no_token_ids`), the top alternatives, or neither
    /// (unreadable, asked again). Absent in records written before it was counted.
    #[serde(default, skip_serializing_if = "ScorePaths::is_empty")]
    pub score_paths: ScorePaths,
}

impl CallCounts {
    pub fn add(&mut self, other: &CallCounts) {
        // Counts come from stored records and token counts from servers: they saturate rather
        // than overflow.
        self.calls = self.calls.saturating_add(other.calls);
        self.cache_hits = self.cache_hits.saturating_add(other.cache_hits);
        self.prompt_tokens = self.prompt_tokens.saturating_add(other.prompt_tokens);
        self.completion_tokens = self
            .completion_tokens
            .saturating_add(other.completion_tokens);
        self.cached_prompt_tokens = self
            .cached_prompt_tokens
            .saturating_add(other.cached_prompt_tokens);
        self.cached_completion_tokens = self
            .cached_completion_tokens
            .saturating_add(other.cached_completion_tokens);
        self.invalid_answers = self.invalid_answers.saturating_add(other.invalid_answers);
        self.distinct_requests = self
            .distinct_requests
            .saturating_add(other.distinct_requests);
        self.score_paths.add(&other.score_paths);
    }

    /// Adds one answer: a model call, or a cache hit (which cost nothing now).
    pub fn add_answer(&mut self, response: &crate::model::ChatResponse, cached: bool) {
        self.add_usage(&response.usage, cached);
    }

    /// Adds one answer's token counts: a model call, or a cache hit.
    pub fn add_usage(&mut self, usage: &crate::model::Usage, cached: bool) {
        if cached {
            self.cache_hits = self.cache_hits.saturating_add(1);
            self.cached_prompt_tokens = self
                .cached_prompt_tokens
                .saturating_add(usage.prompt_tokens);
            self.cached_completion_tokens = self
                .cached_completion_tokens
                .saturating_add(usage.completion_tokens);
        } else {
            self.calls = self.calls.saturating_add(1);
            self.prompt_tokens = self.prompt_tokens.saturating_add(usage.prompt_tokens);
            self.completion_tokens = self
                .completion_tokens
                .saturating_add(usage.completion_tokens);
        }
    }
}

/// The result of one sample under one seed: the whole search tree (every output strategy and
/// depth truncation can be recomputed from it), the predictions and metrics per output strategy,
/// and what it cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleRecord {
    /// The key of the search (see [`crate::sweep::SharedSearch`]).
    pub search: String,
    pub seed: u64,
    pub sample: String,
    pub labels: Vec<String>,
    /// The conversation before the recommendation (what the explorer shows as a chat); empty in
    /// stores written before it was kept.
    #[serde(default)]
    pub history: Vec<crate::data::Turn>,
    pub tree: SearchTree,
    /// The depth setting the tree was searched with (beam and greedy search; the tree can be
    /// shallower when a depth kept nothing). A later run that needs a deeper tree continues it;
    /// 0 in stores written before this was recorded (such records are searched again, from the
    /// response cache).
    #[serde(default)]
    pub searched_depth: u32,
    /// Ranking per output strategy (by its kebab-case name).
    pub predictions: BTreeMap<String, Vec<String>>,
    pub metrics: BTreeMap<String, SampleMetrics>,
    /// Calls per model role.
    pub calls: BTreeMap<String, CallCounts>,
    /// Items whose score could not be read after every attempt (scored 0).
    pub unscored_items: u64,
    /// For each request of the search (`kind/node/index`, e.g. `recommend/d1.3/0`: the lists
    /// below node `d1.3`; `critique/d2.3.0/0`; `score/d2.3.0/0`), the model requests that
    /// answered it, attempts included: their response-cache keys, so that a node leads to the raw
    /// answers it came from ([`crate::store::ResponseCache::get_by_prefix`]).
    #[serde(default)]
    pub requests: BTreeMap<String, ModelRequests>,
    pub wall_ms: u64,
}

/// What a finished search of one sample gives, before it is a record.
#[derive(Debug, Clone)]
pub struct FinishedSearch {
    pub search: String,
    pub seed: u64,
    pub searched_depth: u32,
    pub tree: SearchTree,
    pub calls: BTreeMap<String, CallCounts>,
    pub requests: BTreeMap<String, ModelRequests>,
    pub unscored_items: u64,
    pub wall_ms: u64,
}

impl SampleRecord {
    /// The record of a finished search: its tree ranked by every output strategy of the search
    /// and scored against the sample's labels.
    pub fn of_search(
        finished: FinishedSearch,
        sample: &crate::data::Sample,
        outputs: &[crate::search::OutputStrategy],
    ) -> SampleRecord {
        let mut predictions = BTreeMap::new();
        let mut metrics = BTreeMap::new();
        for strategy in outputs {
            let ranking = crate::search::rank(&finished.tree, *strategy, None);
            metrics.insert(
                strategy.as_str().to_string(),
                SampleMetrics::of_ranking(&ranking, &sample.labels),
            );
            predictions.insert(strategy.as_str().to_string(), ranking);
        }
        SampleRecord {
            search: finished.search,
            seed: finished.seed,
            sample: sample.id.clone(),
            labels: sample.labels.clone(),
            history: sample.history.clone(),
            tree: finished.tree,
            searched_depth: finished.searched_depth,
            predictions,
            metrics,
            calls: finished.calls,
            unscored_items: finished.unscored_items,
            requests: finished.requests,
            wall_ms: finished.wall_ms,
        }
    }

    /// Drops what a report does not read once the record's raw answers are read: the request
    /// keys, the conversation, the stored rankings and metrics (a report ranks the tree again
    /// at each cell's depth). In a paper sweep the keys alone are a third of a record in memory.
    pub fn shed_what_reports_do_not_read(&mut self) {
        self.requests = BTreeMap::new();
        self.history = Vec::new();
        self.predictions = BTreeMap::new();
        self.metrics = BTreeMap::new();
    }
}

/// The model requests behind one request of a search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelRequests {
    /// The model role that answered (`crs`, `user`).
    pub role: String,
    /// The response-cache keys, as [`key_prefix`]es, in the order they were asked.
    pub keys: Vec<String>,
}

/// The first 8 bytes of a response-cache key, in hex: enough to find the entry (a prefix scan),
/// a quarter of the key's size in every record.
pub fn key_prefix(key: &[u8; 32]) -> String {
    hex_prefix(key[..8].try_into().expect("8 of 32 bytes"))
}

/// A [`key_prefix`] from the first 8 bytes of a key.
pub fn hex_prefix(prefix: &[u8; 8]) -> String {
    // By table, into one string: a record names every request of its sample.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(16);
    for byte in prefix {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    hex
}

/// The store key of a record: search, then seed, so the records of a search (and of a seed) are
/// contiguous.
pub fn record_key(search: &str, seed: u64, sample: &str) -> String {
    format!("{search}/{seed:020}/{sample}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_prefix_is_its_first_eight_bytes_in_lower_case_hex() {
        let mut key = [0u8; 32];
        for (index, byte) in key.iter_mut().enumerate() {
            *byte = (index as u8).wrapping_mul(37).wrapping_add(0xf0);
        }
        let expected: String = key[..8].iter().map(|byte| format!("{byte:02x}")).collect();
        assert_eq!(key_prefix(&key), expected);
        assert_eq!(
            hex_prefix(&[0, 0x0f, 0xf0, 0xff, 1, 0x10, 0xab, 0x9c]),
            "000ff0ff0110ab9c"
        );
    }

    #[test]
    fn counts_from_stored_records_and_servers_saturate() {
        let huge = CallCounts {
            calls: u64::MAX,
            prompt_tokens: u64::MAX,
            score_paths: ScorePaths {
                token_ids: u64::MAX,
                ..ScorePaths::default()
            },
            ..CallCounts::default()
        };
        let mut total = huge;
        total.add(&huge);
        assert_eq!(total.calls, u64::MAX);
        assert_eq!(total.prompt_tokens, u64::MAX);
        assert_eq!(total.score_paths.token_ids, u64::MAX);
        let usage = crate::model::Usage {
            prompt_tokens: u64::MAX,
            completion_tokens: u64::MAX,
        };
        total.add_usage(&usage, false);
        total.add_usage(&usage, true);
        assert_eq!(total.prompt_tokens, u64::MAX);
        assert_eq!(total.cached_completion_tokens, u64::MAX);
    }
}
