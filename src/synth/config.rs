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
//! The file is read as a run config is ([`crate::config::load`]): paths may use `${NAME}` and
//! `${NAME:-default}`, relative ones are resolved against the folder of the config file, and errors
//! give the line and column of their key.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::identity::short_hash;
use crate::config::load::{self, ConfigFile, PathResolver};
use crate::config::run_config::DataSection;
use crate::config::{ConfigError, ModelRoleConfig, ScoreContext};
use crate::model::role::Role;
use crate::prompts::ItemView;

/// `[models.teacher]`, the one model table of a synthesis config (any other role is an unknown
/// key).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynthModels {
    /// The teacher; absent: the embedded model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teacher: Option<ModelRoleConfig>,
}

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

/// `[critique]`: the item lists and the teacher requests of critique synthesis. Every key is
/// optional (absent: the default of [`CritiqueSection::default`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CritiqueSection {
    /// Items per list (k); subsets of the labels have fewer than k items.
    pub list_length: usize,
    /// At most this many label subsets per history (a seeded sample when there are more); the
    /// paper's "every subset" is 2^n − 1 lists for n labels.
    pub max_subsets_per_history: usize,
    /// Lists without any label item, per history (the paper: one).
    pub lists_without_labels: usize,
    pub attributes: bool,
    pub plot: bool,
    /// The teacher's sampling temperature (0: greedy; a retry after an invalid answer then samples
    /// at 1).
    pub temperature: f32,
    /// The teacher's length limit; a critique cut by it is invalid and asked again.
    pub max_tokens: u32,
    /// Stop sequences of the teacher requests (none by default); `["\n\n"]` keeps a small
    /// teacher that never stops to its first paragraph.
    pub stop: Vec<String>,
}

impl Default for CritiqueSection {
    /// The paper's: lists of 10, up to 64 label subsets and one list without labels per history.
    fn default() -> Self {
        CritiqueSection {
            list_length: 10,
            max_subsets_per_history: 64,
            lists_without_labels: 1,
            attributes: true,
            plot: false,
            temperature: 1.0,
            max_tokens: 256,
            stop: Vec::new(),
        }
    }
}

/// `[score]`: the scoring examples. Every key is optional (absent: the default of
/// [`ScoreSection::default`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScoreSection {
    /// Negatives (answered No) per label item (answered Yes).
    pub negatives_per_positive: usize,
    /// The prompt layout, as the run's `[user] score_context`.
    pub score_context: ScoreContext,
    /// Items of the list shown with `list` context.
    pub list_length: usize,
    pub attributes: bool,
    pub plot: bool,
}

impl Default for ScoreSection {
    /// The paper's: one negative per label item, each item asked about alone.
    fn default() -> Self {
        ScoreSection {
            negatives_per_positive: 1,
            score_context: ScoreContext::default(),
            list_length: 10,
            attributes: true,
            plot: false,
        }
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
    pub models: SynthModels,
    #[serde(default)]
    pub critique: CritiqueSection,
    #[serde(default)]
    pub score: ScoreSection,
}

impl SynthConfig {
    /// Reads, resolves paths (`${NAME}`, then relative ones against the config's folder), and
    /// validates; errors name the file, the key and where it is written.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        ConfigFile::read(path)?.build(Self::from_file)
    }

    /// Parses a config's text as if read from `path` (relative paths resolve against its folder).
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        ConfigFile::from_text(path, text).build(Self::from_file)
    }

    fn from_file(file: &ConfigFile) -> Result<Self, ConfigError> {
        let label = file.label();
        let mut config: SynthConfig = load::deserialize(file.document()?, &label)?;
        let paths = PathResolver::new(file.path(), &label);
        paths.resolve("synth", "output", &mut config.synth.output)?;
        paths.resolve_data(&mut config.data)?;
        if let Some(teacher) = config.models.teacher.as_mut() {
            paths.resolve_embedded_model(Role::Teacher, teacher)?;
        }
        config.validate(&label)?;
        Ok(config)
    }

    fn validate(&self, label: &str) -> Result<(), ConfigError> {
        let invalid = |table: &'static str, key: &'static str, problem: String| {
            ConfigError::invalid(label, table, key, problem)
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
        self.data.check_files(label)?;
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
        if let Some(teacher) = &self.models.teacher {
            teacher.validate_in(Role::Teacher, label)?;
        }
        Ok(())
    }

    /// The teacher's settings (the embedded model when `[models.teacher]` is absent).
    pub fn teacher(&self) -> &ModelRoleConfig {
        self.models
            .teacher
            .as_ref()
            .unwrap_or_else(|| ModelRoleConfig::embedded_default())
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
        short_hash(&value)
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
        assert!(
            zero.starts_with(
                "/configs/synth.toml: [critique] max_subsets_per_history: must be at least 1 (at line "
            ),
            "{zero}"
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
            role.contains("unknown field `user`, expected `teacher`") && role.contains("(at line"),
            "{role}"
        );
        let no_model = parse("[models.teacher]\nendpoints = [\"http://gpu:8000/v1\"]")
            .unwrap_err()
            .to_string();
        assert!(
            no_model.contains("[models.teacher] model: required when `endpoints` are given"),
            "{no_model}"
        );
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
