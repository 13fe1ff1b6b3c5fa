//! The run configuration: one TOML file describes a whole run (data, models, search, simulated
//! user, outputs). Every table is read with `deny_unknown_fields`, then validated; errors name the
//! table and key.
//!
//! ```toml
//! [run]
//! name = "demo"
//! seeds = [0]
//! output = "results/demo"
//! max_in_flight = 8            # samples in flight at once
//!
//! [data]
//! format = "grsu"              # grsu | ievalm | inspired-tsv
//! path = "data/demo/conversations.jsonl"
//! catalog = "data/demo/movie2info.json"
//! only_new = true
//! limit = 12                   # optional: the first N samples
//!
//! [models.crs]                 # no endpoints: the embedded model
//! [models.user]
//!
//! [search]
//! strategy = "beam"            # beam | greedy | monte-carlo | none
//! beam_width = 2
//! expand_width = 2
//! depth = 2
//! list_length = 10
//!
//! [user]
//! critique = true              # false: children re-sampled without feedback
//! attributes = true            # item attributes in the critique and scoring prompts
//! scoring = true               # false: random selection, ranking by votes
//! scoring_mode = "generate"    # generate | forced
//! score_formula = "reference"  # reference | normalized
//! score_context = "item"       # item | list
//!
//! [output]
//! strategies = ["reward-mean", "reward-sum", "vote", "best-list"]
//! ```
//!
//! Relative paths are resolved against the folder of the config file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::models::{ModelRoleConfig, ModelsSection};
use crate::catalog::CatalogFormat;
use crate::data::DatasetFormat;
use crate::model::scoring::{ScoreFormula, ScoringMode};
use crate::prompts::ListParseMode;
use crate::search::OutputStrategy;

/// A config that cannot be used, naming the file and the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config {path}: {message}")]
    Read { path: String, message: String },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: [{table}] {key}: {problem}")]
    Invalid {
        path: String,
        table: &'static str,
        key: &'static str,
        problem: String,
    },
}

impl ConfigError {
    /// The error with the line and column of its key in `text` (the config file), where the key
    /// is written there.
    pub fn located(self, text: &str) -> Self {
        use super::locate::{key_in_message, locate, locate_anywhere};
        match self {
            ConfigError::Invalid {
                path,
                table,
                key,
                problem,
            } => {
                let problem = match locate(text, table, key) {
                    Some(location) => format!("{problem} (at {location})"),
                    None => problem,
                };
                ConfigError::Invalid {
                    path,
                    table,
                    key,
                    problem,
                }
            }
            ConfigError::Parse { path, message } if !message.contains(" line ") => {
                // The deserialiser's messages span lines ("…\nin `search`\n"): one line here.
                let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
                let location = key_in_message(&message).and_then(|key| locate_anywhere(text, key));
                let message = match location {
                    Some(location) => format!("{message} (at {location})"),
                    None => message,
                };
                ConfigError::Parse { path, message }
            }
            other => other,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSection {
    pub name: String,
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    /// Output folder (store, metrics, exports).
    pub output: PathBuf,
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: usize,
    /// Stop the run when every endpoint of a model role has failed for this many seconds
    /// without one answer (dead or misconfigured servers), instead of grinding on.
    #[serde(default = "default_give_up_after_s")]
    pub give_up_after_s: f64,
}

fn default_give_up_after_s() -> f64 {
    120.0
}

fn default_seeds() -> Vec<u64> {
    vec![0]
}
fn default_max_in_flight() -> usize {
    64
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    pub format: DatasetFormat,
    pub path: PathBuf,
    pub catalog: PathBuf,
    #[serde(default)]
    pub catalog_format: CatalogFormat,
    #[serde(default = "default_true")]
    pub only_new: bool,
    #[serde(default)]
    pub limit: Option<usize>,
    /// At most this many samples of each conversation (its first ones), applied before
    /// `limit`: a few samples spread over many conversations.
    #[serde(default)]
    pub per_conversation: Option<usize>,
}

fn default_true() -> bool {
    true
}

/// The search method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyName {
    Beam,
    Greedy,
    MonteCarlo,
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchSection {
    #[serde(default = "default_strategy")]
    pub strategy: StrategyName,
    #[serde(default = "default_width")]
    pub beam_width: u32,
    #[serde(default = "default_width")]
    pub expand_width: u32,
    #[serde(default = "default_depth")]
    pub depth: u32,
    /// Items per list (k).
    #[serde(default = "default_list_length")]
    pub list_length: usize,
    /// Lists sampled by Monte Carlo search.
    #[serde(default = "default_samples")]
    pub samples: u32,
    /// Items asked of a zero-shot CRS (`none`), long enough for @50 metrics.
    #[serde(default = "default_zero_shot_length")]
    pub zero_shot_length: usize,
}

fn default_strategy() -> StrategyName {
    StrategyName::Beam
}
fn default_width() -> u32 {
    4
}
fn default_depth() -> u32 {
    5
}
fn default_list_length() -> usize {
    10
}
fn default_samples() -> u32 {
    80
}
fn default_zero_shot_length() -> usize {
    50
}

/// Where the scored item is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScoreContext {
    /// A prompt holding only that item (the reference; scores are shared across the nodes of a sample).
    #[default]
    Item,
    /// The whole list in the context, then the question about one item (the paper's Eq. 2).
    List,
}

/// What scores an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scorer {
    /// The simulated user's probability of "Yes" (the method).
    #[default]
    Generative,
    /// A classification model's probability of the positive class for the same prompt
    /// (`[models.reward]`, vLLM's `/classify`): Table 4's discriminative scoring.
    Discriminative,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSection {
    #[serde(default = "default_true")]
    pub critique: bool,
    #[serde(default = "default_true")]
    pub attributes: bool,
    #[serde(default)]
    pub plot: bool,
    #[serde(default = "default_true")]
    pub scoring: bool,
    #[serde(default)]
    pub scorer: Scorer,
    /// With the discriminative scorer: the class whose probability is the score.
    #[serde(default = "default_positive_class")]
    pub positive_class: usize,
    #[serde(default)]
    pub scoring_mode: ScoringMode,
    #[serde(default)]
    pub score_formula: ScoreFormula,
    #[serde(default)]
    pub score_context: ScoreContext,
    #[serde(default = "default_top_logprobs")]
    pub top_logprobs: u32,
    #[serde(default = "default_critique_tokens")]
    pub critique_max_tokens: u32,
}

fn default_positive_class() -> usize {
    1
}

fn default_top_logprobs() -> u32 {
    20
}
fn default_critique_tokens() -> u32 {
    256
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrsSection {
    #[serde(default)]
    pub list_parse: ListParseMode,
    /// Tokens a CRS answer may take; absent: enough for its list (512, or 40 per item for longer
    /// lists such as the zero-shot 50).
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// Titles matching no catalog item at least this well (0–100) are dropped; absent: the
    /// reference's match-everything behaviour.
    #[serde(default)]
    pub min_match_score: Option<f64>,
    /// Pre-fills the CRS's answer (vLLM's `continue_final_message`), e.g. `"1. **"`, so that small
    /// models keep the list format; the answer is parsed with the pre-fill in front. Absent: no
    /// pre-fill (OpenAI's API does not support it).
    #[serde(default)]
    pub answer_prefix: Option<String>,
    /// Ask for a node's lists in one request with `n` choices (vLLM shares the prompt's prefill);
    /// `false`: one request per list, as the reference implementation does.
    #[serde(default = "default_true")]
    pub batch_lists: bool,
    /// End an answer after its k-th item (a stop sequence); `false`: let the model finish, as the
    /// reference implementation does.
    #[serde(default = "default_true")]
    pub stop_after_list: bool,
}

impl Default for CrsSection {
    fn default() -> Self {
        toml::from_str("").expect("defaults")
    }
}

impl Default for UserSection {
    fn default() -> Self {
        toml::from_str("").expect("defaults")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSection {
    #[serde(default = "default_outputs")]
    pub strategies: Vec<OutputStrategy>,
}

fn default_outputs() -> Vec<OutputStrategy> {
    OutputStrategy::ALL.to_vec()
}

impl Default for OutputSection {
    fn default() -> Self {
        OutputSection {
            strategies: default_outputs(),
        }
    }
}

/// A whole run configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    pub run: RunSection,
    pub data: DataSection,
    #[serde(default)]
    pub models: ModelsSection,
    pub search: SearchSection,
    #[serde(default)]
    pub user: UserSection,
    #[serde(default)]
    pub crs: CrsSection,
    #[serde(default)]
    pub output: OutputSection,
}

/// The model roles of a run: the CRS, the simulated user (scoring), the simulated user's
/// critiquing, which is the `user` model unless `[models.critique]` names another (Table 4 varies
/// them separately), and the discriminative reward model of `scorer = "discriminative"`.
pub const ROLES: [&str; 4] = ["crs", "user", "critique", "reward"];

impl RunConfig {
    /// Reads, resolves relative paths against the config's folder, and validates.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.display().to_string(),
            message: error.to_string(),
        })?;
        let document: toml::Table = toml::from_str(&text).map_err(|error| ConfigError::Parse {
            path: path.display().to_string(),
            message: error.to_string(),
        })?;
        for grid_table in crate::sweep::GRID_TABLES {
            if document.contains_key(grid_table) {
                return Err(ConfigError::Parse {
                    path: path.display().to_string(),
                    message: format!(
                        "[{grid_table}] describes several cells; load the file as a sweep (grsu run does)"
                    ),
                });
            }
        }
        Self::from_document(document, path, path.display().to_string())
    }

    /// Deserialises one cell's document (a config file with its grid values applied), resolves
    /// relative paths against the folder of `path`, and validates. `label` names the cell in errors.
    pub fn from_document(
        document: toml::Table,
        path: &Path,
        label: String,
    ) -> Result<Self, ConfigError> {
        let mut config: RunConfig =
            RunConfig::deserialize(toml::Value::Table(document)).map_err(|error| {
                ConfigError::Parse {
                    path: label.clone(),
                    message: error.to_string(),
                }
            })?;
        let base = path.parent().unwrap_or(Path::new("."));
        for (table, key, relative) in [
            ("run", "output", &mut config.run.output),
            ("data", "path", &mut config.data.path),
            ("data", "catalog", &mut config.data.catalog),
        ] {
            *relative = super::env_paths::expand_env_path(relative).map_err(|problem| {
                ConfigError::Invalid {
                    path: label.clone(),
                    table,
                    key,
                    problem,
                }
            })?;
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
        config.validate(&label)?;
        Ok(config)
    }

    fn validate(&self, label: &str) -> Result<(), ConfigError> {
        let invalid =
            |table: &'static str, key: &'static str, problem: String| ConfigError::Invalid {
                path: label.to_string(),
                table,
                key,
                problem,
            };
        if self.data.per_conversation == Some(0) {
            return Err(invalid(
                "data",
                "per_conversation",
                "must be at least 1 (leave it out for every sample)".into(),
            ));
        }
        if self.run.name.trim().is_empty() {
            return Err(invalid("run", "name", "must not be empty".into()));
        }
        if self.run.seeds.is_empty() {
            return Err(invalid("run", "seeds", "give at least one seed".into()));
        }
        if self.run.max_in_flight == 0 {
            return Err(invalid("run", "max_in_flight", "must be at least 1".into()));
        }
        if !(self.run.give_up_after_s.is_finite() && self.run.give_up_after_s > 0.0) {
            return Err(invalid(
                "run",
                "give_up_after_s",
                format!(
                    "must be a positive number of seconds, not {}",
                    self.run.give_up_after_s
                ),
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
        let search = &self.search;
        if search.list_length == 0 {
            return Err(invalid(
                "search",
                "list_length",
                "must be at least 1".into(),
            ));
        }
        if matches!(search.strategy, StrategyName::Beam | StrategyName::Greedy) {
            let settings = self.search_settings(0);
            settings
                .validate()
                .map_err(|error| invalid("search", "beam_width", error.to_string()))?;
        }
        if search.strategy == StrategyName::MonteCarlo && search.samples == 0 {
            return Err(invalid("search", "samples", "must be at least 1".into()));
        }
        if self.user.top_logprobs < 2 {
            return Err(invalid(
                "user",
                "top_logprobs",
                "at least 2 are needed to see both Yes and No".into(),
            ));
        }
        for (role, settings) in &self.models {
            if !ROLES.contains(&role.as_str()) {
                return Err(invalid(
                    "models",
                    "role",
                    format!("unknown role `{role}`; expected crs, user, critique or reward"),
                ));
            }
            settings
                .validate(role)
                .map_err(|error| invalid("models", "endpoints", error.to_string()))?;
        }
        if self.user.scorer == Scorer::Discriminative && self.role("reward").is_embedded() {
            return Err(invalid(
                "user",
                "scorer",
                "the discriminative scorer needs [models.reward] endpoints serving a classification model"
                    .into(),
            ));
        }
        if self.output.strategies.is_empty() {
            return Err(invalid(
                "output",
                "strategies",
                "give at least one output strategy".into(),
            ));
        }
        Ok(())
    }

    /// The settings of a role (the embedded model when the role is absent; `critique` falls back
    /// to `user`).
    pub fn role(&self, role: &str) -> ModelRoleConfig {
        match self.models.get(role) {
            Some(settings) => settings.clone(),
            None if role == "critique" => self.role("user"),
            None => toml::from_str("").expect("defaults"),
        }
    }

    /// The roles this run calls (the reward model only with the discriminative scorer).
    pub fn roles_used(&self) -> Vec<&'static str> {
        ROLES
            .into_iter()
            .filter(|role| *role != "reward" || self.user.scorer == Scorer::Discriminative)
            .collect()
    }

    /// The roles this run calls, typed (see [`RunConfig::roles_used`]).
    pub fn run_roles(&self) -> Vec<crate::model::role::Role> {
        use crate::model::role::Role;
        Role::RUN
            .into_iter()
            .filter(|role| *role != Role::Reward || self.user.scorer == Scorer::Discriminative)
            .collect()
    }

    /// The search settings for one seed.
    pub fn search_settings(&self, seed: u64) -> crate::search::SearchSettings {
        let search = &self.search;
        let beam_width = if search.strategy == StrategyName::Greedy {
            1
        } else {
            search.beam_width
        };
        crate::search::SearchSettings {
            beam_width,
            expand_width: search.expand_width,
            depth: search.depth,
            critique: self.user.critique,
            scoring: self.user.scoring,
            seed,
        }
    }

    /// The search strategy of one sample under one seed: the state machine the engine drives.
    pub fn search_strategy(
        &self,
        seed: u64,
    ) -> Result<Box<dyn crate::search::SearchStrategy>, crate::search::SettingsError> {
        use crate::search::{BeamSearch, MonteCarlo, NoSearch};
        let scoring = self.user.scoring;
        Ok(match self.search.strategy {
            StrategyName::Beam | StrategyName::Greedy => {
                Box::new(BeamSearch::new(self.search_settings(seed))?)
            }
            StrategyName::MonteCarlo => Box::new(MonteCarlo::new(self.search.samples, scoring)?),
            StrategyName::None => Box::new(NoSearch::new(scoring)),
        })
    }

    /// The token budget of a CRS answer: `[crs] max_tokens`, else enough for the list asked for.
    pub fn crs_max_tokens(&self) -> u32 {
        self.crs
            .max_tokens
            .unwrap_or_else(|| (40 * self.crs_list_length() as u32).max(512))
    }

    /// The items a CRS call asks for: k, or the zero-shot length without search.
    pub fn crs_list_length(&self) -> usize {
        if self.search.strategy == StrategyName::None {
            self.search.zero_shot_length
        } else {
            self.search.list_length
        }
    }

    /// A hash of everything that determines the results (not the run's name, output folder or
    /// concurrency), so a store can refuse to be resumed with another config.
    pub fn results_hash(&self) -> String {
        let mut value = serde_json::to_value(self).expect("a config serialises");
        if let Some(run) = value.get_mut("run").and_then(|run| run.as_object_mut()) {
            run.remove("name");
            run.remove("output");
            run.remove("max_in_flight");
            run.remove("give_up_after_s");
        }
        if let Some(models) = value
            .get_mut("models")
            .and_then(|models| models.as_object_mut())
        {
            for role in models.values_mut() {
                if let Some(role) = role.as_object_mut() {
                    // Endpoints and capacity change where answers come from, not what they are.
                    role.remove("endpoints");
                    role.remove("max_concurrency");
                    role.remove("timeout_s");
                    role.remove("api_key_env");
                    role.remove("affinity");
                }
            }
        }
        let digest = Sha256::digest(serde_json::to_vec(&value).expect("JSON"));
        digest
            .iter()
            .take(8)
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}
