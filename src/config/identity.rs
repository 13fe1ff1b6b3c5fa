//! What identifies the results of a run config: [`SearchIdentity`], every key that decides a
//! search's records (the *rerun* keys of [`super::reference`]), and [`ResultsIdentity`], that and
//! the keys whose change extends stored results (seeds, the sample limit, the depth of beam and
//! greedy search, the output strategies). The keys that do not change results (the run's name and
//! output folder, concurrency, timeouts, endpoints, API keys, affinity) are in neither.
//!
//! Both are built field by field from the config with exhaustive patterns, so a key added to a
//! config type does not compile until it is placed here, in the identity or consciously out of
//! it; the tests below keep that placement equal to the *on change* rule of every key in
//! [`super::reference::KEYS`].

use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::models::ModelRoleConfig;
use super::run_config::{
    CrsSection, DataSection, OutputSection, RunConfig, RunSection, SearchSection, StrategyName,
    UserSection,
};
use crate::catalog::CatalogFormat;
use crate::data::DatasetFormat;
use crate::model::role::Role;
use crate::model::token_ids::YesNoTokenIdsSetting;
use crate::search::OutputStrategy;

/// Every key that decides the records of a search: a store's records are those of a search with
/// an equal identity (and equal data files, see [`crate::sweep::search_key`]).
#[derive(Debug, Clone, Serialize)]
pub struct SearchIdentity<'a> {
    pub data: DataIdentity<'a>,
    pub models: ModelsIdentity<'a>,
    pub search: SearchSectionIdentity,
    /// Every key of `[user]` changes the simulated user's requests or how its answers are read.
    pub user: &'a UserSection,
    /// Every key of `[crs]` changes the CRS's requests or how its answers are read.
    pub crs: &'a CrsSection,
}

/// `[data]` without `limit` (more or fewer samples of the same search).
#[derive(Debug, Clone, Serialize)]
pub struct DataIdentity<'a> {
    pub format: &'a DatasetFormat,
    pub path: &'a Path,
    pub catalog: &'a Path,
    pub catalog_format: &'a CatalogFormat,
    pub only_new: bool,
    pub per_conversation: Option<usize>,
}

/// The `[models.<role>]` tables the config has, each by what answers (not where it is served).
#[derive(Debug, Clone, Serialize)]
pub struct ModelsIdentity<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crs: Option<ModelIdentity<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<ModelIdentity<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub critique: Option<ModelIdentity<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reward: Option<ModelIdentity<'a>>,
}

/// The model that answers a role: its id on the servers, or the embedded model's file.
#[derive(Debug, Clone, Serialize)]
pub struct ModelIdentity<'a> {
    pub model: Option<&'a str>,
    pub embedded_model: Option<&'a Path>,
    /// Left out when off, so that configs without it keep their identity.
    #[serde(skip_serializing_if = "YesNoTokenIdsSetting::is_off")]
    pub yes_no_token_ids: &'a YesNoTokenIdsSetting,
}

/// `[search]`, with the depth only where the search's trees cannot be continued or truncated.
#[derive(Debug, Clone, Serialize)]
pub struct SearchSectionIdentity {
    pub strategy: StrategyName,
    pub beam_width: u32,
    pub expand_width: u32,
    /// `None` for beam and greedy search: a store serves every depth of their trees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depth: Option<u32>,
    pub list_length: usize,
    pub samples: u32,
    pub zero_shot_length: usize,
}

/// Everything that determines the results of a config: its search and the keys that extend a
/// search's stored results. Written with the extended keys' dotted paths.
#[derive(Debug, Clone, Serialize)]
pub struct ResultsIdentity<'a> {
    pub search: SearchIdentity<'a>,
    #[serde(rename = "run.seeds")]
    pub seeds: &'a [u64],
    #[serde(rename = "data.limit")]
    pub limit: Option<usize>,
    #[serde(rename = "search.depth")]
    pub depth: u32,
    #[serde(rename = "output.strategies")]
    pub strategies: &'a [OutputStrategy],
}

/// The first 16 hex digits of the SHA-256 of `value` as JSON.
pub fn short_hash(value: &impl Serialize) -> String {
    let json =
        serde_json::to_vec(value).expect("identities serialise: their maps have string keys");
    Sha256::digest(json)
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

impl RunConfig {
    /// Whether the strategy's trees can be truncated to give a shallower search (and continued to
    /// give a deeper one): beam and greedy search.
    pub fn depth_is_shared(&self) -> bool {
        matches!(
            self.search.strategy,
            StrategyName::Beam | StrategyName::Greedy
        )
    }

    /// The keys that decide this config's search records (see [`SearchIdentity`]).
    pub fn search_identity(&self) -> SearchIdentity<'_> {
        let RunConfig {
            // The run's keys are the sweep's: its name, folder, concurrency and patience do not
            // change results, and records are kept per seed.
            run:
                RunSection {
                    name: _,
                    seeds: _,
                    output: _,
                    max_in_flight: _,
                    give_up_after_s: _,
                    drain_timeout_s: _,
                    worker_threads: _,
                },
            data:
                DataSection {
                    format,
                    path,
                    catalog,
                    catalog_format,
                    only_new,
                    limit: _,
                    per_conversation,
                },
            models,
            search:
                SearchSection {
                    strategy,
                    beam_width,
                    expand_width,
                    depth,
                    list_length,
                    samples,
                    zero_shot_length,
                },
            user,
            crs,
            // Every output strategy is computed from the stored trees.
            output: OutputSection { strategies: _ },
        } = self;
        // Every key of these sections is part of the identity; one that is not must be taken
        // out here (and is `Reused` in the reference).
        let UserSection {
            critique: _,
            attributes: _,
            plot: _,
            scoring: _,
            scorer: _,
            positive_class: _,
            scoring_mode: _,
            score_formula: _,
            score_context: _,
            top_logprobs: _,
            critique_max_tokens: _,
        } = user;
        let CrsSection {
            list_parse: _,
            max_tokens: _,
            min_match_score: _,
            answer_prefix: _,
            batch_lists: _,
            stop_after_list: _,
        } = crs;
        let role = |role: Role| models.get(role).map(model_identity);
        SearchIdentity {
            data: DataIdentity {
                format,
                path,
                catalog,
                catalog_format,
                only_new: *only_new,
                per_conversation: *per_conversation,
            },
            models: ModelsIdentity {
                crs: role(Role::Crs),
                user: role(Role::User),
                critique: role(Role::Critique),
                reward: role(Role::Reward),
            },
            search: SearchSectionIdentity {
                strategy: *strategy,
                beam_width: *beam_width,
                expand_width: *expand_width,
                depth: (!self.depth_is_shared()).then_some(*depth),
                list_length: *list_length,
                samples: *samples,
                zero_shot_length: *zero_shot_length,
            },
            user,
            crs,
        }
    }

    /// Everything that determines this config's results (see [`ResultsIdentity`]).
    pub fn results_identity(&self) -> ResultsIdentity<'_> {
        ResultsIdentity {
            search: self.search_identity(),
            seeds: &self.run.seeds,
            limit: self.data.limit,
            depth: self.search.depth,
            strategies: &self.output.strategies,
        }
    }

    /// A hash of everything that determines the results (not the run's name, output folder,
    /// concurrency or where the models are served): [`RunConfig::results_identity`].
    pub fn results_hash(&self) -> String {
        short_hash(&self.results_identity())
    }
}

/// A role's identity: what answers, not where or how fast.
fn model_identity(settings: &ModelRoleConfig) -> ModelIdentity<'_> {
    let ModelRoleConfig {
        endpoints: _,
        model,
        max_concurrency: _,
        api_key_env: _,
        timeout_s: _,
        ca_file: _,
        embedded_model,
        affinity: _,
        yes_no_token_ids,
        scoring_priority: _,
    } = settings;
    ModelIdentity {
        model: model.as_deref(),
        embedded_model: embedded_model.as_deref(),
        yes_no_token_ids,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde::Deserialize;

    use super::*;
    use crate::config::reference::{leaf_paths, OnChange, FULL_CONFIG, KEYS};

    fn parse(text: &str) -> RunConfig {
        RunConfig::deserialize(toml::from_str::<toml::Value>(text).expect("TOML"))
            .expect("a config")
    }

    fn keys_with(rule: impl Fn(OnChange) -> bool) -> BTreeSet<String> {
        KEYS.iter()
            .filter(|key| rule(key.on_change))
            .map(|key| key.path.to_string())
            .collect()
    }

    fn paths(value: &impl Serialize) -> BTreeSet<String> {
        leaf_paths(&serde_json::to_value(value).unwrap())
            .into_iter()
            .collect()
    }

    #[test]
    fn the_search_identity_holds_exactly_the_rerun_keys() {
        let config = parse(FULL_CONFIG);
        assert!(config.depth_is_shared());
        assert_eq!(
            paths(&config.search_identity()),
            keys_with(|rule| rule == OnChange::Rerun)
        );
        // Without a tree to continue, the depth is part of the search.
        let mut monte_carlo = config.clone();
        monte_carlo.search.strategy = StrategyName::MonteCarlo;
        let mut expected = keys_with(|rule| rule == OnChange::Rerun);
        expected.insert("search.depth".into());
        assert_eq!(paths(&monte_carlo.search_identity()), expected);
    }

    #[test]
    fn the_results_identity_holds_every_key_that_is_not_reused() {
        let config = parse(FULL_CONFIG);
        let value = serde_json::to_value(config.results_identity()).unwrap();
        let mut found: BTreeSet<String> = leaf_paths(&value["search"]).into_iter().collect();
        found.extend(
            value
                .as_object()
                .unwrap()
                .keys()
                .filter(|key| *key != "search")
                .cloned(),
        );
        assert_eq!(found, keys_with(|rule| rule != OnChange::Reused));
    }

    #[test]
    fn reused_keys_leave_the_hashes_alone_and_others_change_them() {
        let config = parse(FULL_CONFIG);
        let mut reused = config.clone();
        reused.run.name = "renamed".into();
        reused.run.max_in_flight = 1;
        let crs = reused.models.crs.as_mut().unwrap();
        crs.endpoints.clear();
        crs.max_concurrency = 1;
        crs.affinity = false;
        assert_eq!(config.results_hash(), reused.results_hash());
        let mut deeper = config.clone();
        deeper.search.depth += 1;
        assert_ne!(config.results_hash(), deeper.results_hash());
        assert_eq!(
            short_hash(&config.search_identity()),
            short_hash(&deeper.search_identity())
        );
        let mut other_model = config.clone();
        other_model.models.crs.as_mut().unwrap().model = Some("other".into());
        assert_ne!(
            short_hash(&config.search_identity()),
            short_hash(&other_model.search_identity())
        );
    }
}
