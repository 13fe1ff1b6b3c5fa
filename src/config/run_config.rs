//! The run configuration: one TOML file describes a whole run (data, models, search, simulated
//! user, outputs). Every table is read with `deny_unknown_fields` into typed values (model roles
//! as fields of `[models]`, durations, URLs), then validated; errors name the table and the key
//! a rule is about, and keep the error they came from.
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
//! Paths may use `${NAME}` and `${NAME:-default}`; relative ones are resolved against the folder of
//! the config file ([`super::load`]). What identifies a config's results is in
//! [`super::identity`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::ConfigError;
use super::load::{self, ConfigFile, PathResolver};
use super::models::{ModelRoleConfig, ModelsSection};
use super::values::Seconds;
use crate::catalog::CatalogFormat;
use crate::data::DatasetFormat;
use crate::model::role::Role;
use crate::model::scoring::{ScoreFormula, ScoringMode};
use crate::prompts::ListParseMode;
use crate::search::{OutputStrategy, SearchParameter, SettingsError};

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
    /// without one answer (dead or misconfigured servers), instead of grinding on; see
    /// [`RunSection::give_up_after`].
    #[serde(default = "default_give_up_after_s")]
    pub give_up_after_s: Seconds,
    /// On SIGTERM or the first Ctrl-C, how long the samples in flight may go on before the run
    /// stops without them; see [`RunSection::drain_timeout`].
    #[serde(default = "default_drain_timeout_s")]
    pub drain_timeout_s: Seconds,
    /// Threads of the async runtime that drives the samples and their model calls; see
    /// [`default_worker_threads`].
    #[serde(default = "default_worker_threads")]
    pub worker_threads: usize,
}

impl RunSection {
    /// `give_up_after_s` as a duration.
    pub fn give_up_after(&self) -> Duration {
        self.give_up_after_s.duration()
    }

    /// `drain_timeout_s` as a duration.
    pub fn drain_timeout(&self) -> Duration {
        self.drain_timeout_s.duration()
    }
}

fn default_give_up_after_s() -> Seconds {
    Seconds::whole(120)
}

fn default_drain_timeout_s() -> Seconds {
    Seconds::whole(20)
}

/// One thread: a request then costs no hand-over between threads (waking a parked worker, stealing
/// its task), which was 11–14 % of grsu's CPU per request on the 2-core machine, at the same
/// throughput (Table 1's setting at 8 endpoints: 72 → 63 µs; the slowed clock: 113 → 100 µs);
/// one thread then serves 12,000–15,000 requests per second, more than a fleet of a dozen GPUs
/// asks. More threads for a fleet that needs more.
fn default_worker_threads() -> usize {
    1
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

impl DataSection {
    /// Checks that `path` and `catalog` are files, naming the first missing one as an error of
    /// the config `label`.
    pub fn check_files(&self, label: &str) -> Result<(), ConfigError> {
        for (key, file) in [("path", &self.path), ("catalog", &self.catalog)] {
            if !file.is_file() {
                return Err(ConfigError::invalid(
                    label,
                    "data",
                    key,
                    format!("no such file: {}", file.display()),
                ));
            }
        }
        Ok(())
    }
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

/// `[search]`; every key is optional (absent: the default of [`SearchSection::default`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchSection {
    pub strategy: StrategyName,
    pub beam_width: u32,
    pub expand_width: u32,
    pub depth: u32,
    /// Items per list (k).
    pub list_length: usize,
    /// Lists sampled by Monte Carlo search.
    pub samples: u32,
    /// Items asked of a zero-shot CRS (`none`), long enough for @50 metrics.
    pub zero_shot_length: usize,
}

impl Default for SearchSection {
    /// The paper's beam search: B = N = 4, D = 5, lists of 10.
    fn default() -> Self {
        SearchSection {
            strategy: StrategyName::Beam,
            beam_width: 4,
            expand_width: 4,
            depth: 5,
            list_length: 10,
            samples: 80,
            zero_shot_length: 50,
        }
    }
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

/// `[user]`; every key is optional (absent: the default of [`UserSection::default`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UserSection {
    pub critique: bool,
    pub attributes: bool,
    pub plot: bool,
    pub scoring: bool,
    pub scorer: Scorer,
    /// With the discriminative scorer: the class whose probability is the score.
    pub positive_class: usize,
    pub scoring_mode: ScoringMode,
    pub score_formula: ScoreFormula,
    pub score_context: ScoreContext,
    pub top_logprobs: u32,
    pub critique_max_tokens: u32,
}

impl Default for UserSection {
    /// The method: critiques and generative scoring with item attributes.
    fn default() -> Self {
        UserSection {
            critique: true,
            attributes: true,
            plot: false,
            scoring: true,
            scorer: Scorer::default(),
            positive_class: 1,
            scoring_mode: ScoringMode::default(),
            score_formula: ScoreFormula::default(),
            score_context: ScoreContext::default(),
            top_logprobs: 20,
            critique_max_tokens: 256,
        }
    }
}

/// `[crs]`; every key is optional (absent: the default of [`CrsSection::default`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CrsSection {
    pub list_parse: ListParseMode,
    /// Tokens a CRS answer may take; absent: enough for its list (512, or 40 per item for longer
    /// lists such as the zero-shot 50).
    pub max_tokens: Option<u32>,
    /// Titles matching no catalog item at least this well (0–100) are dropped; absent: the
    /// reference's match-everything behaviour.
    pub min_match_score: Option<f64>,
    /// Pre-fills the CRS's answer (vLLM's `continue_final_message`), e.g. `"1. **"`, so that small
    /// models keep the list format; the answer is parsed with the pre-fill in front. Absent: no
    /// pre-fill (OpenAI's API does not support it).
    pub answer_prefix: Option<String>,
    /// Ask for a node's lists in one request with `n` choices (vLLM shares the prompt's prefill);
    /// `false`: one request per list, as the reference implementation does.
    pub batch_lists: bool,
    /// End an answer after its k-th item (a stop sequence); `false`: let the model finish, as the
    /// reference implementation does.
    pub stop_after_list: bool,
}

impl Default for CrsSection {
    fn default() -> Self {
        CrsSection {
            list_parse: ListParseMode::default(),
            max_tokens: None,
            min_match_score: None,
            answer_prefix: None,
            batch_lists: true,
            stop_after_list: true,
        }
    }
}

/// `[output]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputSection {
    pub strategies: Vec<OutputStrategy>,
}

impl Default for OutputSection {
    /// Every output strategy.
    fn default() -> Self {
        OutputSection {
            strategies: OutputStrategy::ALL.to_vec(),
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

impl RunConfig {
    /// Reads, resolves paths (`${NAME}`, then relative ones against the config's folder), and
    /// validates; errors name the file, the key and where it is written.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::from_file(&ConfigFile::read(path)?)
    }

    /// Parses a config's text as if read from `path` (relative paths resolve against its folder).
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        Self::from_file(&ConfigFile::from_text(path, text))
    }

    fn from_file(config_file: &ConfigFile) -> Result<Self, ConfigError> {
        config_file.build(|file| {
            let document = file.document()?;
            for grid_table in crate::sweep::GRID_TABLES {
                if document.contains_key(grid_table) {
                    return Err(ConfigError::parse(
                        file.label(),
                        format!(
                            "[{grid_table}] describes several cells; load the file as a sweep (grsu run does)"
                        ),
                    ));
                }
            }
            Self::from_document(document, file.path(), file.label())
        })
    }

    /// Deserialises one cell's document (a config file with its grid values applied), resolves
    /// its paths against the folder of `path`, and validates. `label` names the cell in errors.
    pub fn from_document(
        document: toml::Table,
        path: &Path,
        label: String,
    ) -> Result<Self, ConfigError> {
        let mut config: RunConfig = load::deserialize(document, &label)?;
        let paths = PathResolver::new(path, &label);
        paths.resolve("run", "output", &mut config.run.output)?;
        paths.resolve_data(&mut config.data)?;
        for role in Role::RUN {
            if let Some(settings) = config.models.get_mut(role) {
                paths.resolve_embedded_model(role, settings)?;
            }
        }
        config.validate(&label)?;
        Ok(config)
    }

    fn validate(&self, label: &str) -> Result<(), ConfigError> {
        let invalid = |table: &'static str, key: &'static str, problem: String| {
            ConfigError::invalid(label, table, key, problem)
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
        if self.run.worker_threads == 0 {
            return Err(invalid(
                "run",
                "worker_threads",
                "must be at least 1".into(),
            ));
        }
        self.data.check_files(label)?;
        let search = &self.search;
        if search.list_length == 0 {
            return Err(invalid(
                "search",
                "list_length",
                "must be at least 1".into(),
            ));
        }
        if self.depth_is_shared() {
            self.search_settings(0).validate().map_err(|error| {
                invalid("search", search_key_of(&error), error.reason.clone()).with_source(error)
            })?;
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
        for (role, settings) in self.models.iter() {
            settings.validate_in(role, label)?;
        }
        if self.user.scorer == Scorer::Discriminative && self.role(Role::Reward).is_embedded() {
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

    /// The settings of a role: its `[models.<role>]` table; without one, `critique` falls back to
    /// `user` and any other role is the embedded model with the default settings.
    pub fn role(&self, role: Role) -> &ModelRoleConfig {
        match self.models.get(role) {
            Some(settings) => settings,
            None if role == Role::Critique => self.role(Role::User),
            None => ModelRoleConfig::embedded_default(),
        }
    }

    /// The roles this run calls, in the documented order (the reward model only with the
    /// discriminative scorer).
    pub fn roles_used(&self) -> Vec<Role> {
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
    /// A validated config always has one; the error names the setting of an edited config that
    /// broke a rule of its strategy.
    pub fn search_strategy(
        &self,
        seed: u64,
    ) -> Result<Box<dyn crate::search::SearchStrategy>, SettingsError> {
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
}

/// The `[search]` key a search-settings rule is about.
fn search_key_of(error: &SettingsError) -> &'static str {
    match error.parameter {
        SearchParameter::BeamWidth => "beam_width",
        SearchParameter::ExpandWidth => "expand_width",
        SearchParameter::Depth => "depth",
        SearchParameter::Samples => "samples",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Loads a valid config (the demo data, a B = N = 2, D = 2 beam search) whose `[search]`
    /// table is `search` (lines 11 to 13), with `extra` from line 15 on.
    fn load(search: &str, extra: &str) -> Result<RunConfig, ConfigError> {
        load_with_run("", search, extra)
    }

    /// [`load`] with `run` added to the `[run]` table, on line 4 (the blank line before `[data]`
    /// when `run` is empty).
    fn load_with_run(run: &str, search: &str, extra: &str) -> Result<RunConfig, ConfigError> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let text = format!(
            "[run]\nname = \"t\"\noutput = \"out\"\n{run}\n[data]\nformat = \"grsu\"\npath = \"{}\"\ncatalog = \"{}\"\n\n[search]\n{search}\n\n{extra}",
            root.join("data/demo/conversations.jsonl").display(),
            root.join("data/demo/movie2info.json").display(),
        );
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("run.toml");
        std::fs::write(&path, text).unwrap();
        RunConfig::load(&path)
    }

    const SEARCH: &str = "beam_width = 2\nexpand_width = 2\ndepth = 2";

    fn key_of(error: &ConfigError) -> (&'static str, &'static str) {
        match error {
            ConfigError::Invalid { table, key, .. } => (table, key),
            other => panic!("not a key's error: {other}"),
        }
    }

    #[test]
    fn search_rules_are_reported_under_the_key_they_are_about() {
        assert!(load(SEARCH, "").is_ok());
        for (key, value, line) in [
            ("beam_width", "0", 11),
            ("expand_width", "1", 12),
            ("depth", "0", 13),
        ] {
            let search = SEARCH.replace(&format!("{key} = 2"), &format!("{key} = {value}"));
            let error = load(&search, "").unwrap_err();
            assert_eq!(key_of(&error), ("search", key), "{error}");
            let message = error.to_string();
            assert!(
                message.contains(&format!("[search] {key}: "))
                    && message.contains(&format!("(at line {line}, column 1)")),
                "{message}"
            );
            assert!(
                std::error::Error::source(&error).is_some(),
                "the search rule is kept as the source: {message}"
            );
        }
        // Greedy search is B = 1: a zero expansion width is the expansion width's fault.
        let greedy = load("strategy = \"greedy\"\nexpand_width = 0", "").unwrap_err();
        assert_eq!(key_of(&greedy), ("search", "expand_width"), "{greedy}");
        let monte_carlo = load("strategy = \"monte-carlo\"\nsamples = 0", "").unwrap_err();
        assert_eq!(key_of(&monte_carlo), ("search", "samples"), "{monte_carlo}");
    }

    #[test]
    fn worker_threads_default_to_one_and_zero_is_refused_at_its_line() {
        assert_eq!(load(SEARCH, "").unwrap().run.worker_threads, 1);
        let two = load_with_run("worker_threads = 2\n", SEARCH, "").unwrap();
        assert_eq!(two.run.worker_threads, 2);
        let error = load_with_run("worker_threads = 0\n", SEARCH, "").unwrap_err();
        assert_eq!(key_of(&error), ("run", "worker_threads"), "{error}");
        let message = error.to_string();
        assert!(
            message.contains("[run] worker_threads: must be at least 1")
                && message.contains("(at line 4, column 1)"),
            "{message}"
        );
    }

    #[test]
    fn model_roles_are_typed_and_a_misspelt_role_is_named_with_its_line() {
        let config = load(
            SEARCH,
            "[models.crs]\nendpoints = [\"http://gpu:8000/v1\"]\nmodel = \"m\"\ntimeout_s = 2.5\n[models.user]\nmodel = \"u\"\n",
        )
        .unwrap();
        assert_eq!(
            config.role(Role::Crs).timeout(),
            Duration::from_millis(2500)
        );
        assert_eq!(config.role(Role::Crs).endpoints[0].url().port(), Some(8000));
        // Without its own table, critique is the user model; the reward model is embedded.
        assert_eq!(config.role(Role::Critique), config.role(Role::User));
        assert!(config.role(Role::Reward).is_embedded());
        assert_eq!(config.roles_used(), [Role::Crs, Role::User, Role::Critique]);
        assert_eq!(config.run.give_up_after(), Duration::from_secs(120));
        assert_eq!(config.run.drain_timeout(), Duration::from_secs(20));

        let typo = load(SEARCH, "[models.crss]\nmodel = \"m\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            typo.contains("unknown field `crss`") && typo.contains("(at line 15, column 1)"),
            "{typo}"
        );
        let url = load(
            SEARCH,
            "[models.user]\nendpoints = [\"gpu-01:8000\"]\nmodel = \"m\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            url.contains("`gpu-01:8000` is not an http(s) URL")
                && url.contains("models.user.endpoints")
                && url.contains("(at line 16, column 1)"),
            "{url}"
        );
        let timeout = load(SEARCH, "[models.crs]\ntimeout_s = -1\n")
            .unwrap_err()
            .to_string();
        assert!(
            timeout.contains("positive number of seconds")
                && timeout.contains("models.crs.timeout_s"),
            "{timeout}"
        );
        let no_model = load(
            SEARCH,
            "[models.reward]\nendpoints = [\"http://gpu:8000/v1\"]\n",
        )
        .unwrap_err();
        assert_eq!(key_of(&no_model), ("models.reward", "model"), "{no_model}");
        assert!(
            no_model.to_string().contains("(at line 15, column 1)"),
            "{no_model}"
        );
    }

    #[test]
    fn defaults_are_one_table_deep() {
        let parsed: UserSection = toml::from_str("").unwrap();
        assert_eq!(parsed, UserSection::default());
        let parsed: CrsSection = toml::from_str("").unwrap();
        assert_eq!(parsed, CrsSection::default());
        let parsed: SearchSection = toml::from_str("depth = 3").unwrap();
        assert_eq!(parsed.beam_width, SearchSection::default().beam_width);
        assert_eq!(parsed.depth, 3);
    }
}
