//! The synthesis configuration (`grsu synth critique|score --config C`): one TOML file describes
//! the training source, the teacher model, and how the two kinds of examples are made. Every table
//! is read with `deny_unknown_fields`, then validated; errors name the file, table and key.
//!
//! ```toml
//! [synth]
//! name = "redial-valid"
//! seed = 0                       # every list, negative and teacher request derives from it
//! output = "results/synth/redial-valid"   # critique.jsonl, score.jsonl, manifests, store/
//! max_in_flight = 16             # teacher requests in flight at once
//!
//! [data]                         # as in a run config
//! format = "ievalm"
//! path = "train_data_processed.jsonl"
//! catalog = "id2info.json"
//! only_new = true
//! limit = 100                    # optional: the first N recommendation turns
//!
//! [models.teacher]               # no endpoints: the embedded model
//! endpoints = ["http://gpu-01:8000/v1"]
//! model = "Llama-3.3-70B-Instruct"
//!
//! [critique]
//! list_length = 10               # k: items per list
//! max_subsets_per_history = 64   # the paper takes every subset of the labels of size < k
//! lists_without_labels = 1       # lists of negatives only, per history (the paper: 1)
//! attributes = true              # item attributes in the prompts (must match the run's [user])
//! plot = false
//! temperature = 1.0              # teacher sampling
//! max_tokens = 256               # a critique cut by this limit is rejected and asked again
//! stop = []                      # teacher stop sequences, e.g. ["\n\n"] for a small teacher
//!
//! [score]
//! negatives_per_positive = 1     # sampled negatives per label item (the paper: 1)
//! score_context = "item"         # item | list, as the run's [user] score_context
//! list_length = 10               # the list shown with `list` context
//! attributes = true
//! plot = false
//! ```
//!
//! Relative paths are resolved against the folder of the config file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::run_config::DataSection;
use crate::config::{ConfigError, ModelRoleConfig, ModelsSection, ScoreContext};
use crate::prompts::ItemView;

/// The only model role a synthesis config may name.
pub const TEACHER_ROLE: &str = "teacher";

/// `[synth]`: name, seed, output folder, concurrency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynthSection {
    pub name: String,
    #[serde(default)]
    pub seed: u64,
    /// Output folder: the example files, their manifests, and the store (response cache).
    pub output: PathBuf,
    /// Teacher requests in flight at once.
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: usize,
}

fn default_max_in_flight() -> usize {
    16
}

/// `[critique]`: the item lists and the teacher requests of critique synthesis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CritiqueSection {
    /// Items per list (k); subsets of the labels have fewer than k items.
    #[serde(default = "default_list_length")]
    pub list_length: usize,
    /// At most this many label subsets per history (a seeded sample when there are more); the
    /// paper's "every subset" is 2^n − 1 lists for n labels.
    #[serde(default = "default_max_subsets")]
    pub max_subsets_per_history: usize,
    /// Lists without any label item, per history (the paper: one).
    #[serde(default = "default_one")]
    pub lists_without_labels: usize,
    #[serde(default = "default_true")]
    pub attributes: bool,
    #[serde(default)]
    pub plot: bool,
    /// The teacher's sampling temperature (0: greedy; a retry after an invalid answer then samples
    /// at 1).
    #[serde(default = "default_temperature")]
    pub temperature: f32,
    /// The teacher's length limit; a critique cut by it is invalid and asked again.
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
    /// Stop sequences of the teacher requests (none by default); `["\n\n"]` keeps a small
    /// teacher that never stops to its first paragraph.
    #[serde(default)]
    pub stop: Vec<String>,
}

/// `[score]`: the scoring examples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreSection {
    /// Negatives (answered No) per label item (answered Yes).
    #[serde(default = "default_one")]
    pub negatives_per_positive: usize,
    /// The prompt layout, as the run's `[user] score_context`.
    #[serde(default)]
    pub score_context: ScoreContext,
    /// Items of the list shown with `list` context.
    #[serde(default = "default_list_length")]
    pub list_length: usize,
    #[serde(default = "default_true")]
    pub attributes: bool,
    #[serde(default)]
    pub plot: bool,
}

fn default_list_length() -> usize {
    10
}
fn default_max_subsets() -> usize {
    64
}
fn default_one() -> usize {
    1
}
fn default_true() -> bool {
    true
}
fn default_temperature() -> f32 {
    1.0
}
fn default_max_tokens() -> u32 {
    256
}

impl Default for CritiqueSection {
    fn default() -> Self {
        toml::from_str("").expect("defaults")
    }
}

impl Default for ScoreSection {
    fn default() -> Self {
        toml::from_str("").expect("defaults")
    }
}

impl CritiqueSection {
    /// How items are shown in the critique prompts.
    pub fn view(&self) -> ItemView {
        ItemView::from_settings(self.attributes, self.plot)
    }
}

impl ScoreSection {
    /// How items are shown in the scoring prompts.
    pub fn view(&self) -> ItemView {
        ItemView::from_settings(self.attributes, self.plot)
    }
}

/// A whole synthesis configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynthConfig {
    pub synth: SynthSection,
    pub data: DataSection,
    #[serde(default)]
    pub models: ModelsSection,
    #[serde(default)]
    pub critique: CritiqueSection,
    #[serde(default)]
    pub score: ScoreSection,
}

impl SynthConfig {
    /// Reads, resolves relative paths against the config's folder, and validates.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.display().to_string(),
            message: error.to_string(),
        })?;
        Self::parse(&text, path)
    }

    /// Parses a config's text as if read from `path` (relative paths resolve against its folder).
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let mut config: SynthConfig = toml::from_str(text).map_err(|error| ConfigError::Parse {
            path: path.display().to_string(),
            message: error.to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        for relative in [
            &mut config.synth.output,
            &mut config.data.path,
            &mut config.data.catalog,
        ] {
            if relative.is_relative() {
                *relative = base.join(&*relative);
            }
        }
        for role in config.models.values_mut() {
            if let Some(model) = role
                .embedded_model
                .as_mut()
                .filter(|model| model.is_relative())
            {
                *model = base.join(&*model);
            }
        }
        config.validate(path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid =
            |table: &'static str, key: &'static str, problem: String| ConfigError::Invalid {
                path: path.display().to_string(),
                table,
                key,
                problem,
            };
        if self.synth.name.trim().is_empty() {
            return Err(invalid("synth", "name", "must not be empty".into()));
        }
        if self.synth.max_in_flight == 0 {
            return Err(invalid(
                "synth",
                "max_in_flight",
                "must be at least 1".into(),
            ));
        }
        for (key, file) in [("path", &self.data.path), ("catalog", &self.data.catalog)] {
            if !file.is_file() {
                return Err(invalid(
                    "data",
                    key,
                    format!("no such file: {}", file.display()),
                ));
            }
        }
        if self.data.limit == Some(0) {
            return Err(invalid(
                "data",
                "limit",
                "must be at least 1 (leave it out for all samples)".into(),
            ));
        }
        let critique = &self.critique;
        if critique.list_length < 2 {
            return Err(invalid(
                "critique",
                "list_length",
                format!(
                    "must be at least 2 (a list holds fewer than k labels and at least one negative), not {}",
                    critique.list_length
                ),
            ));
        }
        if critique.max_subsets_per_history == 0 {
            return Err(invalid(
                "critique",
                "max_subsets_per_history",
                "must be at least 1".into(),
            ));
        }
        if !(critique.temperature.is_finite() && (0.0..=2.0).contains(&critique.temperature)) {
            return Err(invalid(
                "critique",
                "temperature",
                format!("must be between 0 and 2, not {}", critique.temperature),
            ));
        }
        if critique.max_tokens == 0 {
            return Err(invalid(
                "critique",
                "max_tokens",
                "must be at least 1".into(),
            ));
        }
        if critique.stop.iter().any(String::is_empty) {
            return Err(invalid(
                "critique",
                "stop",
                "an empty stop sequence would stop at once".into(),
            ));
        }
        if critique.plot && !critique.attributes {
            return Err(invalid(
                "critique",
                "plot",
                "the plot is shown with the attributes only: set attributes = true".into(),
            ));
        }
        let score = &self.score;
        if score.negatives_per_positive == 0 {
            return Err(invalid(
                "score",
                "negatives_per_positive",
                "must be at least 1".into(),
            ));
        }
        if score.score_context == ScoreContext::List
            && score.list_length < 1 + score.negatives_per_positive
        {
            return Err(invalid(
                "score",
                "list_length",
                format!(
                    "a list must hold the label and its {} negatives: at least {}",
                    score.negatives_per_positive,
                    1 + score.negatives_per_positive
                ),
            ));
        }
        if score.plot && !score.attributes {
            return Err(invalid(
                "score",
                "plot",
                "the plot is shown with the attributes only: set attributes = true".into(),
            ));
        }
        for (role, settings) in &self.models {
            if role != TEACHER_ROLE {
                return Err(invalid(
                    "models",
                    "role",
                    format!("unknown role `{role}`; a synthesis config has only `teacher`"),
                ));
            }
            settings
                .validate(role)
                .map_err(|error| invalid("models", "endpoints", error.to_string()))?;
        }
        Ok(())
    }

    /// The teacher's settings (the embedded model when `[models.teacher]` is absent).
    pub fn teacher(&self) -> ModelRoleConfig {
        self.models
            .get(TEACHER_ROLE)
            .cloned()
            .unwrap_or_else(|| toml::from_str("").expect("defaults"))
    }

    /// A hash of what determines one kind of output (`critique` or `score`): the data, the seed
    /// and that kind's table (and, for critiques, the teacher's model, not its endpoints).
    pub fn output_hash(&self, kind: &str) -> String {
        let mut value = serde_json::json!({
            "kind": kind,
            "seed": self.synth.seed,
            "data": self.data,
        });
        match kind {
            "critique" => {
                value["critique"] = serde_json::to_value(&self.critique).expect("JSON");
                let teacher = self.teacher();
                value["teacher"] = serde_json::json!({
                    "model": teacher.model,
                    "embedded_model": teacher.embedded_model,
                });
            }
            _ => value["score"] = serde_json::to_value(&self.score).expect("JSON"),
        }
        let digest = Sha256::digest(serde_json::to_vec(&value).expect("JSON"));
        digest
            .iter()
            .take(8)
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo_data() -> String {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        format!(
            "[data]\nformat = \"grsu\"\npath = \"{}\"\ncatalog = \"{}\"\n",
            root.join("data/demo/conversations.jsonl").display(),
            root.join("data/demo/movie2info.json").display()
        )
    }

    fn parse(extra: &str) -> Result<SynthConfig, ConfigError> {
        let text = format!(
            "[synth]\nname = \"t\"\noutput = \"out\"\n{}\n{extra}",
            demo_data()
        );
        SynthConfig::parse(&text, Path::new("/configs/synth.toml"))
    }

    #[test]
    fn defaults_are_the_papers_and_paths_resolve_against_the_config() {
        let config = parse("").unwrap();
        assert_eq!(config.critique.list_length, 10);
        assert_eq!(config.critique.lists_without_labels, 1);
        assert_eq!(config.score.negatives_per_positive, 1);
        assert_eq!(config.score.score_context, ScoreContext::Item);
        assert_eq!(config.critique.view(), ItemView::Attributes);
        assert!(config.teacher().is_embedded());
        assert_eq!(config.synth.output, Path::new("/configs/out"));
        assert!(config.data.only_new);
    }

    #[test]
    fn errors_name_the_file_table_and_key() {
        let typo = parse("[critique]\nmax_subset = 3").unwrap_err().to_string();
        assert!(
            typo.contains("/configs/synth.toml") && typo.contains("unknown field `max_subset`"),
            "{typo}"
        );
        let zero = parse("[critique]\nmax_subsets_per_history = 0")
            .unwrap_err()
            .to_string();
        assert_eq!(
            zero,
            "/configs/synth.toml: [critique] max_subsets_per_history: must be at least 1"
        );
        let short = parse("[critique]\nlist_length = 1")
            .unwrap_err()
            .to_string();
        assert!(
            short.contains("[critique] list_length: must be at least 2"),
            "{short}"
        );
        let role = parse("[models.user]\n").unwrap_err().to_string();
        assert!(
            role.contains("[models] role: unknown role `user`"),
            "{role}"
        );
        let no_model = parse("[models.teacher]\nendpoints = [\"http://gpu:8000/v1\"]")
            .unwrap_err()
            .to_string();
        assert!(no_model.contains("`model` is required"), "{no_model}");
        let list =
            parse("[score]\nscore_context = \"list\"\nnegatives_per_positive = 3\nlist_length = 3")
                .unwrap_err()
                .to_string();
        assert!(list.contains("[score] list_length"), "{list}");
        let context = parse("[score]\nscore_context = \"node\"")
            .unwrap_err()
            .to_string();
        assert!(context.contains("unknown variant `node`"), "{context}");
        let missing = SynthConfig::parse(
            "[synth]\nname = \"t\"\noutput = \"o\"\n[data]\nformat = \"grsu\"\npath = \"nope.jsonl\"\ncatalog = \"nope.json\"",
            Path::new("/configs/synth.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            missing.contains("[data] path: no such file: /configs/nope.jsonl"),
            "{missing}"
        );
        let limit = parse("").map(|_| ()).and_then(|_| {
            SynthConfig::parse(
                &format!(
                    "[synth]\nname = \"t\"\noutput = \"o\"\n{}limit = 0\n",
                    demo_data()
                ),
                Path::new("/configs/synth.toml"),
            )
            .map(|_| ())
        });
        assert!(limit.unwrap_err().to_string().contains("[data] limit"));
        let temperature = parse("[critique]\ntemperature = -1.0")
            .unwrap_err()
            .to_string();
        assert!(
            temperature.contains("[critique] temperature"),
            "{temperature}"
        );
    }

    #[test]
    fn the_output_hash_follows_what_changes_each_kind() {
        let base = parse("").unwrap();
        let critique_only = parse("[critique]\nmax_subsets_per_history = 3").unwrap();
        assert_ne!(
            base.output_hash("critique"),
            critique_only.output_hash("critique")
        );
        assert_eq!(
            base.output_hash("score"),
            critique_only.output_hash("score")
        );
        let more_concurrency = parse("").map(|mut config| {
            config.synth.max_in_flight = 99;
            config
        });
        assert_eq!(
            base.output_hash("critique"),
            more_concurrency.unwrap().output_hash("critique")
        );
    }
}
