//! The config reference: every key of a run config with its type, default, meaning, and what
//! changing it does to an existing output folder.
//!
//! This is what users read (`grsu config reference`, `docs/config.md`), and [`OnChange`] states the
//! rule the engine applies when a config with changed values is run on an existing output: whether
//! the stored records are reused, extended, or a new search runs. The tests below keep [`KEYS`]
//! equal to the config types: a key added to [`RunConfig`] without an entry here, an entry for a
//! key that does not exist, or a documented default that is not the real one fails them.

use super::RunConfig;
use OnChange::{Extended, Rerun, Reused};

/// What changing a key does to an existing output folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnChange {
    /// The results do not depend on the key.
    Reused,
    /// The stored results are kept and only what the new value adds is run.
    Extended,
    /// The key is part of the search's identity: a new search runs.
    Rerun,
}

impl OnChange {
    pub const ALL: [OnChange; 3] = [OnChange::Reused, OnChange::Extended, OnChange::Rerun];

    pub fn as_str(&self) -> &'static str {
        match self {
            OnChange::Reused => "reused",
            OnChange::Extended => "extended",
            OnChange::Rerun => "rerun",
        }
    }

    pub fn meaning(&self) -> &'static str {
        match self {
            OnChange::Reused => {
                "does not change results: an existing output folder keeps its records"
            }
            OnChange::Extended => {
                "the stored results are kept and only what the new value adds is run (deeper trees \
                 are continued, shallower ones truncated, new seeds or samples run, output \
                 strategies are recomputed from the stored trees)"
            }
            OnChange::Rerun => {
                "part of the search's identity: a new search runs in the same folder (requests \
                 equal to earlier ones are answered from the response cache), equal to a fresh run"
            }
        }
    }
}

/// One leaf key of a run config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigKey {
    /// The dotted TOML path; model roles are written `models.<role>.`.
    pub path: &'static str,
    /// A short type: `string`, `integer`, `float`, `bool`, `path`, a list, or the enum's values.
    pub kind: &'static str,
    /// The default as TOML text, `(required)`, `(none)` for an absent option, or `(computed: …)`.
    pub default: &'static str,
    pub meaning: &'static str,
    pub on_change: OnChange,
}

const fn key(
    path: &'static str,
    kind: &'static str,
    default: &'static str,
    on_change: OnChange,
    meaning: &'static str,
) -> ConfigKey {
    ConfigKey {
        path,
        kind,
        default,
        meaning,
        on_change,
    }
}

/// Every leaf key of [`RunConfig`], in the order of its sections and fields.
pub const KEYS: &[ConfigKey] = &[
    // [run]
    key(
        "run.name",
        "string",
        "(required)",
        Reused,
        "A label for the run in reports and status; must not be empty.",
    ),
    key(
        "run.seeds",
        "list of integers",
        "[0]",
        Extended,
        "The seeds of the search's sampling: every sample runs once per seed and reports give the \
         mean ± std over seeds. At least one.",
    ),
    key(
        "run.output",
        "path",
        "(required)",
        Reused,
        "The output folder: response cache and records (`store`), manifest, reports, figures.",
    ),
    key(
        "run.max_in_flight",
        "integer",
        "64",
        Reused,
        "Samples in flight at once across the whole run (admission control); at least 1.",
    ),
    key(
        "run.give_up_after_s",
        "float",
        "120.0",
        Reused,
        "Seconds every endpoint of a model role may fail without one answer before the run stops \
         (exit code 3) with the role, its endpoints and the last error, instead of grinding on; \
         finished samples stay stored and the same command resumes.",
    ),
    key(
        "run.drain_timeout_s",
        "float",
        "20.0",
        Reused,
        "On SIGTERM (Slurm's preemption, time limit or `scancel`; Kubernetes' pod termination) or \
         the first Ctrl-C, the run admits no more samples and lets those in flight finish for at \
         most this many seconds, then stores what finished and exits (143 after SIGTERM, 130 \
         after Ctrl-C) with the command that resumes it; a second signal stops at once. Keep it \
         below the engine's grace period (Slurm's `--signal=B:TERM@60` lead time or KillWait, \
         Kubernetes' `terminationGracePeriodSeconds`).",
    ),
    key(
        "run.worker_threads",
        "integer",
        "1",
        Reused,
        "Threads of the async runtime that drives the samples, their prompts, title matching and \
         model calls (the store's flushes and sled have their own). One avoids handing requests \
         between threads (a tenth to a sixth of grsu's CPU per request) and serves ~15,000 \
         requests per second per core; raise it when `grsu` shows a whole core busy and the \
         fleet's slots are idle. At least 1.",
    ),
    // [data]
    key(
        "data.format",
        r#""grsu" | "ievalm" | "inspired-tsv""#,
        "(required)",
        Rerun,
        "The layout of the dataset file: one conversation per line (grsu), one sample per line as \
         in iEvaLM's processed ReDial (ievalm), or the INSPIRED release, one utterance per row \
         (inspired-tsv).",
    ),
    key(
        "data.path",
        "path",
        "(required)",
        Rerun,
        "The dataset file; it must exist.",
    ),
    key(
        "data.catalog",
        "path",
        "(required)",
        Rerun,
        "The catalog of items (titles and attributes, JSON); it must exist.",
    ),
    key(
        "data.catalog_format",
        r#""auto" | "movie2info" | "id2info""#,
        r#""auto""#,
        Rerun,
        "The catalog layout: title → attributes (movie2info), id → {name, attributes} (id2info), \
         or auto: id2info when every entry has a name, else movie2info.",
    ),
    key(
        "data.only_new",
        "bool",
        "true",
        Rerun,
        "Drop samples one of whose labels was mentioned earlier in the conversation (the paper's \
         protocol); a dropped turn stays in the history of later samples.",
    ),
    key(
        "data.limit",
        "integer",
        "(none)",
        Extended,
        "Run only the first N samples; absent: all of them.",
    ),
    key(
        "data.per_conversation",
        "integer",
        "(none)",
        Rerun,
        "At most this many samples of each conversation (its first ones), applied before `limit`: \
         a few samples spread over many conversations. At least 1; absent: every sample.",
    ),
    // [models.<role>]
    key(
        "models.<role>.endpoints",
        "list of strings",
        "[]",
        Reused,
        "OpenAI-compatible base URLs (http:// or https://) serving the role; empty: the embedded \
         CPU model.",
    ),
    key(
        "models.<role>.model",
        "string",
        "(none)",
        Rerun,
        "The model id to request (vLLM's `--served-model-name`); required when endpoints are \
         given.",
    ),
    key(
        "models.<role>.max_concurrency",
        "integer",
        "32",
        Reused,
        "Requests in flight per endpoint, at least 1 (vLLM queues without bound, so the client \
         caps).",
    ),
    key(
        "models.<role>.api_key_env",
        "string",
        "(none)",
        Reused,
        "The environment variable holding the API key, if the endpoints need one; the key itself \
         is never logged or stored (where a server's answer quotes it, it is replaced by \
         `[redacted]` before the answer is shown, logged or stored).",
    ),
    key(
        "models.<role>.timeout_s",
        "float",
        "600.0",
        Reused,
        "Whole-request timeout in seconds; must be positive.",
    ),
    key(
        "models.<role>.ca_file",
        "path",
        "(none)",
        Reused,
        "A PEM file of root certificates trusted besides the public web roots, for https \
         endpoints whose certificate a private CA signed; read when the config is loaded. A \
         certificate that no trusted root signed fails the TLS handshake before anything is sent; \
         there is no way to accept an invalid one.",
    ),
    key(
        "models.<role>.embedded_model",
        "path",
        "(none)",
        Rerun,
        "A GGUF file for the embedded model instead of the default one; used when the role has no \
         endpoints.",
    ),
    key(
        "models.<role>.affinity",
        "bool",
        "true",
        Reused,
        "Send a sample's requests to one endpoint, whose prefix cache then holds the sample's \
         shared prompt prefixes; false: least-outstanding routing alone.",
    ),
    key(
        "models.<role>.yes_no_token_ids",
        r#""off" | "auto" | [yes_id, no_id] | [[yes ids], [no ids]]"#,
        r#""off""#,
        Rerun,
        "`[models.user]` only: the Yes/No token ids the scoring requests name in vLLM's \
         `logprob_token_ids`, whose log-probabilities then come back at the answer position, so \
         that P(Yes) and P(No) are exact even when neither is among the top `[user] \
         top_logprobs`. `\"auto\"`: ask the first endpoint's `/tokenize` once for ` Yes`, `Yes`, \
         ` No`, `No` (those that are one token); a server without it leaves scoring as with \
         `\"off\"`. An answer where the ids did not come back (a server that ignores the \
         parameter) is read from its top alternatives; the report counts the scores of each \
         path. Changes the requests.",
    ),
    key(
        "models.<role>.scoring_priority",
        "integer",
        "(none)",
        Reused,
        "`[models.user]` only: the `priority` sent with every scoring request, for vLLM servers \
         started with `--scheduling-policy priority` (lower is served first; vLLM's default is \
         0, and a server without that policy refuses any other value). Scoring requests are \
         short and every depth of a search waits for them, so a negative value lets them pass \
         the queued CRS lists and critiques. Not part of the request's identity: answers are \
         the same, only their order of service changes. `grsu doctor` sends one request with it \
         and fails the endpoint if the server refuses it. Absent: no priority is sent.",
    ),
    // [search]
    key(
        "search.strategy",
        r#""beam" | "greedy" | "monte-carlo" | "none""#,
        r#""beam""#,
        Rerun,
        "The search method: beam search, greedy search (beam search with B = 1), Monte Carlo \
         sampling (one round of independent scored lists), or none (one zero-shot CRS answer).",
    ),
    key(
        "search.beam_width",
        "integer",
        "4",
        Rerun,
        "Beam width B: the lists kept at each depth (greedy search uses 1). Beam search needs \
         1 ≤ B ≤ N.",
    ),
    key(
        "search.expand_width",
        "integer",
        "4",
        Rerun,
        "Expansion width N: the lists sampled from each kept list (N² from the root when B > 1); \
         at least B.",
    ),
    key(
        "search.depth",
        "integer",
        "5",
        Extended,
        "Depth D of the search, at least 1. Beam and greedy searches continue or truncate stored \
         trees, while for monte-carlo and none the depth is unused.",
    ),
    key(
        "search.list_length",
        "integer",
        "10",
        Rerun,
        "Items per recommended list (k); at least 1.",
    ),
    key(
        "search.samples",
        "integer",
        "80",
        Rerun,
        "Lists sampled by Monte Carlo search; at least 1 with monte-carlo, unused otherwise.",
    ),
    key(
        "search.zero_shot_length",
        "integer",
        "50",
        Rerun,
        "Items asked of the CRS without search (strategy none), enough for @50 metrics.",
    ),
    // [user]
    key(
        "user.critique",
        "bool",
        "true",
        Rerun,
        "The simulated user critiques each kept list and the CRS answers with new lists; \
         false: children are re-sampled without feedback.",
    ),
    key(
        "user.attributes",
        "bool",
        "true",
        Rerun,
        "Show item attributes (genre, stars, director, writer) in the critique and scoring \
         prompts; false: titles only.",
    ),
    key(
        "user.plot",
        "bool",
        "false",
        Rerun,
        "Also show each item's plot; no effect when attributes is false.",
    ),
    key(
        "user.scoring",
        "bool",
        "true",
        Rerun,
        "Score items with the simulated user; false: kept lists are selected at random and the \
         final ranking is by votes.",
    ),
    key(
        "user.scorer",
        r#""generative" | "discriminative""#,
        r#""generative""#,
        Rerun,
        "What scores an item: the simulated user's probability of \"Yes\" (generative), or a \
         classification model's probability of `positive_class` for the same prompt \
         (discriminative; needs `[models.reward]` endpoints serving vLLM's `/classify`).",
    ),
    key(
        "user.positive_class",
        "integer",
        "1",
        Rerun,
        "With the discriminative scorer: the class whose probability is the score.",
    ),
    key(
        "user.scoring_mode",
        r#""generate" | "forced""#,
        r#""generate""#,
        Rerun,
        "How the answer token is obtained: the model generates the answer line (generate), or the \
         line \"Accept the recommendation (Yes/No)?\" is pre-filled and one token is generated \
         (forced).",
    ),
    key(
        "user.score_formula",
        r#""reference" | "normalized""#,
        r#""reference""#,
        Rerun,
        "The score from P(Yes) and P(No): P(Yes) when the answer is Yes, 1 − P(No) when it is No \
         (reference), or P(Yes) / (P(Yes) + P(No)) (normalized).",
    ),
    key(
        "user.score_context",
        r#""item" | "list""#,
        r#""item""#,
        Rerun,
        "Where the scored item is asked about: a prompt holding only that item, so that scores \
         are shared across a sample's nodes (item), or the whole list, then the question about \
         one item (list, the paper's Eq. 2).",
    ),
    key(
        "user.top_logprobs",
        "integer",
        "20",
        Rerun,
        "Top log-probabilities asked for at the answer token; at least 2, to see both Yes and No.",
    ),
    key(
        "user.critique_max_tokens",
        "integer",
        "256",
        Rerun,
        "Tokens a critique may take.",
    ),
    // [crs]
    key(
        "crs.list_parse",
        r#""strict" | "tolerant""#,
        r#""strict""#,
        Rerun,
        "How titles are read out of a CRS answer: the first bold span of each line that has one \
         (strict), or numbered lines, bold or not, else bold spans in prose, cleaned and \
         de-duplicated (tolerant).",
    ),
    key(
        "crs.max_tokens",
        "integer",
        "(computed: 40 per item asked, at least 512)",
        Rerun,
        "Tokens a CRS answer may take; absent: enough for the list asked for.",
    ),
    key(
        "crs.min_match_score",
        "float",
        "(none)",
        Rerun,
        "Titles matching no catalog item at least this well (0–100) are dropped; absent: every \
         title is matched to its nearest item.",
    ),
    key(
        "crs.answer_prefix",
        "string",
        "(none)",
        Rerun,
        "Pre-fills the CRS's answer (vLLM's `continue_final_message`), e.g. `\"1. **\"`, so that \
         small models keep the list format; the answer is parsed with the pre-fill in front. \
         Absent: no pre-fill (OpenAI's API does not support it).",
    ),
    key(
        "crs.batch_lists",
        "bool",
        "true",
        Rerun,
        "Ask for a node's lists in one request with `n` choices (the server shares the prompt's \
         prefill); false: one request per list.",
    ),
    key(
        "crs.stop_after_list",
        "bool",
        "true",
        Rerun,
        "End an answer after its k-th item (a stop sequence); false: let the model finish.",
    ),
    // [output]
    key(
        "output.strategies",
        r#"list of "reward-mean" | "reward-sum" | "vote" | "best-list""#,
        r#"["reward-mean", "reward-sum", "vote", "best-list"]"#,
        Extended,
        "How each sample's final ranking is read from its search tree, one result per strategy: \
         distinct items by mean score (reward-mean), by sum of scores (reward-sum), by how many \
         lists hold them (vote), or the best node's list (best-list). At least one.",
    ),
];

/// The top-level tables in document order, with the text above each one's key table.
const SECTIONS: [(&str, &str, &str); 7] = [
    ("run", "[run]", "The run as a whole."),
    ("data", "[data]", "The dataset and the catalog of items."),
    (
        "models",
        "[models.\\<role>]",
        "Where each model role is served. The roles are `crs` (the recommender), `user` (the \
         simulated user's scoring), `critique` (its critiques; defaults to the `user` model) and \
         `reward` (the discriminative scorer's classification model). A role without endpoints \
         uses the embedded CPU model.",
    ),
    ("search", "[search]", "The search over recommended lists."),
    (
        "user",
        "[user]",
        "The simulated user: critiques and scores.",
    ),
    (
        "crs",
        "[crs]",
        "The recommender's requests and how its answers are read.",
    ),
    (
        "output",
        "[output]",
        "How the final rankings are read from the search trees.",
    ),
];

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The config reference as a Markdown document.
pub fn markdown() -> String {
    let mut text = String::from("# Config reference\n\n");
    text.push_str(
        "A run config is a TOML file; unknown keys are refused, naming the key. Paths may use \
         `${NAME}` and `${NAME:-default}` for environment variables (a sweep's manifest records \
         such a path as written, not the variable's value), and relative paths resolve against \
         the folder of the config file.\n\n",
    );
    text.push_str(
        "The *on change* column says what changing a key does when the config is run again on an \
         existing output folder:\n\n",
    );
    for on_change in OnChange::ALL {
        text.push_str(&format!(
            "- **{}**: {}.\n",
            on_change.as_str(),
            on_change.meaning()
        ));
    }
    for (section, title, about) in SECTIONS {
        text.push_str(&format!("\n## {title}\n\n{about}\n\n"));
        text.push_str("| key | type | default | on change | meaning |\n");
        text.push_str("| --- | --- | --- | --- | --- |\n");
        for entry in KEYS.iter().filter(|entry| top_level(entry.path) == section) {
            let name = entry.path.rsplit('.').next().unwrap_or(entry.path);
            text.push_str(&format!(
                "| `{name}` | {} | {} | {} | {} |\n",
                cell(&kind_text(entry.kind)),
                cell(&if entry.default.starts_with('(') {
                    entry.default.to_string()
                } else {
                    format!("`{}`", entry.default)
                }),
                entry.on_change.as_str(),
                cell(entry.meaning),
            ));
        }
    }
    text
}

/// A kind as Markdown: enum values in code, plain types as words.
fn kind_text(kind: &str) -> String {
    match kind.strip_prefix("list of ") {
        Some(values) if values.starts_with('"') => format!("list of `{values}`"),
        _ if kind.starts_with('"') => format!("`{kind}`"),
        _ => kind.to_string(),
    }
}

fn top_level(path: &str) -> &str {
    path.split('.').next().unwrap_or(path)
}

/// The leaf paths of a config as serialised (objects recurse; arrays, scalars and nulls are
/// leaves), with every `models.<name>.` written `models.<role>.`, each path once, in order.
pub fn leaf_paths_of(config: &RunConfig) -> Vec<String> {
    leaf_paths(&serde_json::to_value(config).expect("a config serialises"))
}

/// The leaf paths of a serialised config, or of a part of one with the same shape (an identity
/// of [`super::identity`]), as in [`leaf_paths_of`].
pub fn leaf_paths(value: &serde_json::Value) -> Vec<String> {
    fn walk(prefix: &str, value: &serde_json::Value, paths: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(fields) => {
                for (name, field) in fields {
                    let name = if prefix == "models" { "<role>" } else { name };
                    let path = if prefix.is_empty() {
                        name.to_string()
                    } else {
                        format!("{prefix}.{name}")
                    };
                    walk(&path, field, paths);
                }
            }
            _ if !paths.iter().any(|known| known == prefix) => paths.push(prefix.to_string()),
            _ => {}
        }
    }
    let mut paths = Vec::new();
    walk("", value, &mut paths);
    paths
}

/// A config with every key written and every role present, for the tests of the config types.
#[cfg(test)]
pub(crate) const FULL_CONFIG: &str = r#"
        [run]
        name = "full"
        seeds = [0, 1]
        output = "out"
        max_in_flight = 8
        give_up_after_s = 30
        drain_timeout_s = 5
        worker_threads = 2
        [data]
        format = "grsu"
        path = "conversations.jsonl"
        catalog = "catalog.json"
        catalog_format = "movie2info"
        only_new = false
        limit = 3
        per_conversation = 2
        [models.crs]
        endpoints = ["http://a:8000/v1"]
        model = "m"
        max_concurrency = 4
        api_key_env = "KEY"
        timeout_s = 30.0
        ca_file = "ca.pem"
        embedded_model = "model.gguf"
        affinity = false
        [models.user]
        embedded_model = "user.gguf"
        yes_no_token_ids = [[9642, 7566], [2822, 2360]]
        [models.critique]
        model = "c"
        [models.reward]
        api_key_env = "KEY"
        [search]
        [user]
        [crs]
        max_tokens = 100
        min_match_score = 80.0
        answer_prefix = "1. **"
        [output]
"#;

#[cfg(test)]
mod tests {
    #[test]
    fn docs_config_md_is_the_generated_reference() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/config.md");
        let written = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            written == markdown(),
            "{} differs from the config reference: run `grsu config reference > docs/config.md`",
            path.display()
        );
    }

    use std::collections::BTreeSet;

    use serde::Deserialize;

    use super::*;

    const MINIMAL: &str = r#"
        [run]
        name = "minimal"
        output = "out"
        [data]
        format = "grsu"
        path = "conversations.jsonl"
        catalog = "catalog.json"
        [models.crs]
        [search]
    "#;

    fn parse(text: &str) -> RunConfig {
        RunConfig::deserialize(toml::from_str::<toml::Value>(text).expect("TOML"))
            .expect("a config")
    }

    fn at<'a>(value: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
        path.replace("<role>", "crs")
            .split('.')
            .try_fold(value, |value, name| value.get(name))
    }

    #[test]
    fn every_key_of_the_config_types_is_documented_and_nothing_else() {
        let config = parse(FULL_CONFIG);
        assert_eq!(config.models.iter().count(), 4, "every role is present");
        let found: BTreeSet<String> = leaf_paths_of(&config).into_iter().collect();
        let documented: BTreeSet<String> = KEYS.iter().map(|key| key.path.to_string()).collect();
        let undocumented: Vec<&String> = found.difference(&documented).collect();
        let unknown: Vec<&String> = documented.difference(&found).collect();
        assert!(
            undocumented.is_empty() && unknown.is_empty(),
            "keys of the config types without an entry in KEYS (a new key needs one): \
             {undocumented:?}; entries in KEYS that are no key of the config: {unknown:?}"
        );
    }

    #[test]
    fn documented_defaults_are_the_defaults() {
        let config = serde_json::to_value(parse(MINIMAL)).expect("JSON");
        for key in KEYS.iter().filter(|key| !key.default.starts_with('(')) {
            let document: toml::Table = toml::from_str(&format!("x = {}", key.default))
                .unwrap_or_else(|error| {
                    panic!("{}: the default is no TOML value: {error}", key.path)
                });
            let documented = serde_json::to_value(&document["x"]).expect("JSON");
            let actual =
                at(&config, key.path).unwrap_or_else(|| panic!("{}: no such key", key.path));
            assert_eq!(
                actual, &documented,
                "{}: the documented default is not the default",
                key.path
            );
        }
        for key in KEYS.iter().filter(|key| key.default == "(none)") {
            assert_eq!(
                at(&config, key.path),
                Some(&serde_json::Value::Null),
                "{}",
                key.path
            );
        }
    }

    #[test]
    fn enum_values_are_the_ones_the_config_accepts() {
        for key in KEYS.iter().filter(|key| key.kind.contains('"')) {
            let (table, name) = key.path.rsplit_once('.').expect("a dotted path");
            for value in key.kind.split('"').skip(1).step_by(2) {
                let value = toml::Value::String(value.to_string());
                let value = if key.kind.starts_with("list of") {
                    toml::Value::Array(vec![value])
                } else {
                    value
                };
                let mut document: toml::Table = toml::from_str(MINIMAL).expect("TOML");
                let mut section = &mut document;
                for part in table.replace("<role>", "crs").split('.') {
                    section = section
                        .entry(part)
                        .or_insert_with(|| toml::Table::new().into())
                        .as_table_mut()
                        .expect("a table");
                }
                section.insert(name.to_string(), value.clone());
                let config = RunConfig::deserialize(toml::Value::Table(document));
                assert!(
                    config.is_ok(),
                    "{}: {value} is refused: {:?}",
                    key.path,
                    config.err()
                );
            }
        }
    }

    #[test]
    fn no_key_is_listed_twice() {
        let mut seen = BTreeSet::new();
        for key in KEYS {
            assert!(seen.insert(key.path), "{} is listed twice", key.path);
        }
    }

    #[test]
    fn the_markdown_has_a_row_per_key_and_a_table_per_section() {
        let text = markdown();
        let rows = text.lines().filter(|line| line.starts_with("| `")).count();
        assert_eq!(rows, KEYS.len());
        for key in KEYS {
            assert!(SECTIONS
                .iter()
                .any(|(section, ..)| *section == top_level(key.path)));
        }
        assert!(text.contains(r"## [models.\<role>]") && text.contains(r#""beam" \| "greedy""#));
    }
}
