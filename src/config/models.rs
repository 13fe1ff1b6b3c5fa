//! `[models.<role>]`: where a model role is served.
//!
//! ```toml
//! [models.user]
//! endpoints = ["http://gpu-01:8000/v1", "http://gpu-02:8000/v1"]  # absent: the embedded model
//! model = "grsu-user"            # vLLM's --served-model-name
//! max_concurrency = 64           # requests in flight per endpoint
//! api_key_env = "OPENAI_API_KEY" # optional; the key itself never appears in a config or a store
//! timeout_s = 600
//! ca_file = "/etc/ssl/private-ca.pem"  # optional; a private CA for https endpoints
//! scoring_priority = -1          # optional, [models.user] only: vLLM `--scheduling-policy priority`
//! ```

use std::path::PathBuf;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::values::{EndpointUrl, Seconds};
use super::ConfigError;
use crate::model::http::{HttpBackend, HttpEndpoint};
use crate::model::pool::{EjectionPolicy, EndpointPool, RetryPolicy};
use crate::model::role::Role;
use crate::model::token_ids::YesNoTokenIdsSetting;
use crate::model::Backend;

/// The endpoints of one model role. Every key is optional (absent: the default below); the
/// endpoint URLs and the timeout are checked as they are read ([`EndpointUrl`], [`Seconds`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelRoleConfig {
    /// OpenAI-compatible base URLs; empty means the embedded CPU model.
    pub endpoints: Vec<EndpointUrl>,
    /// The model id to request; required with endpoints.
    pub model: Option<String>,
    /// Requests in flight per endpoint (vLLM queues without bound, so the client must cap).
    pub max_concurrency: usize,
    /// The environment variable holding the API key, if the endpoints need one.
    pub api_key_env: Option<String>,
    /// Whole-request timeout in seconds (TOML: a positive number); see [`ModelRoleConfig::timeout`].
    pub timeout_s: Seconds,
    /// A PEM file of root certificates trusted besides the public web roots, for `https://`
    /// endpoints whose certificate a private CA signed.
    pub ca_file: Option<PathBuf>,
    /// A GGUF file for the embedded model instead of the default one.
    pub embedded_model: Option<PathBuf>,
    /// Send a sample's requests to one replica (its prompts share prefixes that vLLM caches);
    /// `false`: least-outstanding routing alone (what a plain load balancer does).
    pub affinity: bool,
    /// `[models.user]` only: the Yes/No token ids scoring requests name in vLLM's
    /// `logprob_token_ids`, for exact P(Yes) and P(No) ([`YesNoTokenIdsSetting`]).
    pub yes_no_token_ids: YesNoTokenIdsSetting,
    /// `[models.user]` only: vLLM's request `priority` for scoring requests (lower is served
    /// first; servers started with `--scheduling-policy priority`). `None`: no priority is sent.
    pub scoring_priority: Option<i32>,
}

impl Default for ModelRoleConfig {
    /// The embedded model, and the defaults of a role with endpoints.
    fn default() -> Self {
        ModelRoleConfig {
            endpoints: Vec::new(),
            model: None,
            max_concurrency: 32,
            api_key_env: None,
            timeout_s: Seconds::whole(600),
            ca_file: None,
            embedded_model: None,
            affinity: true,
            yes_no_token_ids: YesNoTokenIdsSetting::Off,
            scoring_priority: None,
        }
    }
}

/// The `[models.<role>]` tables of a run config: one optional table per role, so that a misspelt
/// role (`[models.crss]`) is an unknown key when the config is read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelsSection {
    /// The recommender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crs: Option<ModelRoleConfig>,
    /// The simulated user's scoring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<ModelRoleConfig>,
    /// The simulated user's critiques; absent: the `user` model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critique: Option<ModelRoleConfig>,
    /// The discriminative scorer's classification model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward: Option<ModelRoleConfig>,
}

impl ModelsSection {
    /// The table of `role`, if the config has one (never for the teacher, which is synthesis's).
    pub fn get(&self, role: Role) -> Option<&ModelRoleConfig> {
        match role {
            Role::Crs => self.crs.as_ref(),
            Role::User => self.user.as_ref(),
            Role::Critique => self.critique.as_ref(),
            Role::Reward => self.reward.as_ref(),
            Role::Teacher => None,
        }
    }

    /// [`ModelsSection::get`], mutably.
    pub fn get_mut(&mut self, role: Role) -> Option<&mut ModelRoleConfig> {
        match role {
            Role::Crs => self.crs.as_mut(),
            Role::User => self.user.as_mut(),
            Role::Critique => self.critique.as_mut(),
            Role::Reward => self.reward.as_mut(),
            Role::Teacher => None,
        }
    }

    /// The tables the config has, with their roles, in the documented order.
    pub fn iter(&self) -> impl Iterator<Item = (Role, &ModelRoleConfig)> {
        Role::RUN
            .into_iter()
            .filter_map(|role| self.get(role).map(|settings| (role, settings)))
    }
}

/// The TOML table of a role (`models.crs`), as errors and the locator name it.
pub fn table_of(role: Role) -> &'static str {
    match role {
        Role::Crs => "models.crs",
        Role::User => "models.user",
        Role::Critique => "models.critique",
        Role::Reward => "models.reward",
        Role::Teacher => "models.teacher",
    }
}

/// A problem with a model role's settings.
#[derive(Debug, thiserror::Error)]
pub enum ModelConfigError {
    #[error("[models.{role}] {key}: {problem}")]
    Invalid {
        role: String,
        /// The key of `[models.<role>]` the problem is about.
        key: &'static str,
        problem: String,
    },
    #[error("[models.{role}]: environment variable {variable} (api_key_env) is not set")]
    MissingKey { role: String, variable: String },
}

impl ModelConfigError {
    /// The key of `[models.<role>]` the problem is about.
    pub fn key(&self) -> &'static str {
        match self {
            ModelConfigError::Invalid { key, .. } => key,
            ModelConfigError::MissingKey { .. } => "api_key_env",
        }
    }

    /// What is wrong, without the role.
    pub fn problem(&self) -> String {
        match self {
            ModelConfigError::Invalid { problem, .. } => problem.clone(),
            ModelConfigError::MissingKey { variable, .. } => {
                format!("environment variable {variable} is not set")
            }
        }
    }
}

impl ModelRoleConfig {
    /// The embedded model with the default settings: the settings of a role without a table.
    pub fn embedded_default() -> &'static ModelRoleConfig {
        static EMBEDDED: LazyLock<ModelRoleConfig> = LazyLock::new(ModelRoleConfig::default);
        &EMBEDDED
    }

    /// Whether this role runs on the embedded model.
    pub fn is_embedded(&self) -> bool {
        self.endpoints.is_empty()
    }

    /// The whole-request timeout (`timeout_s`).
    pub fn timeout(&self) -> Duration {
        self.timeout_s.duration()
    }

    /// [`ModelRoleConfig::validate`] for `role`, as an error of the config `label` under the
    /// role's table (`[models.<role>]`) with the role's error as its source.
    pub fn validate_in(&self, role: Role, label: &str) -> Result<(), ConfigError> {
        self.validate(role.as_str()).map_err(|error| {
            ConfigError::invalid(label, table_of(role), error.key(), error.problem())
                .with_source(error)
        })
    }

    /// Checks what the types do not (URLs and the timeout are checked as they are read), naming
    /// the role and key of any problem.
    pub fn validate(&self, role: &str) -> Result<(), ModelConfigError> {
        let invalid = |key: &'static str, problem: String| ModelConfigError::Invalid {
            role: role.to_string(),
            key,
            problem,
        };
        if !self.endpoints.is_empty() && self.model.as_deref().is_none_or(str::is_empty) {
            return Err(invalid(
                "model",
                "required when `endpoints` are given".into(),
            ));
        }
        if self.max_concurrency == 0 {
            return Err(invalid("max_concurrency", "must be at least 1".into()));
        }
        if let Some(path) = &self.ca_file {
            crate::model::http::root_certificates(path)
                .map_err(|problem| invalid("ca_file", problem))?;
        }
        if let Some(problem) = self.yes_no_token_ids.problem() {
            return Err(invalid("yes_no_token_ids", problem));
        }
        if role != "user" && !self.yes_no_token_ids.is_off() {
            return Err(invalid(
                "yes_no_token_ids",
                "only the simulated user's scores read Yes/No token ids: set it in [models.user]"
                    .into(),
            ));
        }
        if role != "user" && self.scoring_priority.is_some() {
            return Err(invalid(
                "scoring_priority",
                "only the simulated user scores: set it in [models.user]".into(),
            ));
        }
        Ok(())
    }

    /// The HTTP endpoints of this role, with the API key read from the environment.
    pub fn http_endpoints(&self, role: &str) -> Result<Vec<HttpEndpoint>, ModelConfigError> {
        self.validate(role)?;
        let api_key = match &self.api_key_env {
            Some(variable) => {
                Some(
                    std::env::var(variable).map_err(|_| ModelConfigError::MissingKey {
                        role: role.to_string(),
                        variable: variable.clone(),
                    })?,
                )
            }
            None => None,
        };
        Ok(self
            .endpoints
            .iter()
            .map(|url| HttpEndpoint {
                url: url.as_str().to_string(),
                model: self.model.clone().unwrap_or_default(),
                api_key: api_key.clone(),
                timeout: self.timeout(),
                ca_file: self.ca_file.clone(),
            })
            .collect())
    }

    /// The endpoint pool of this role: an HTTP backend per endpoint, each capped at
    /// `max_concurrency`, with the default retry and ejection policies.
    pub fn endpoint_pool(&self, role: &str) -> Result<EndpointPool, ModelConfigError> {
        let invalid = |problem: String| ModelConfigError::Invalid {
            role: role.to_string(),
            key: "endpoints",
            problem,
        };
        let endpoints = self
            .http_endpoints(role)?
            .into_iter()
            .map(|endpoint| {
                Ok((
                    Arc::new(
                        HttpBackend::new(endpoint).map_err(|error| invalid(error.to_string()))?,
                    ) as Arc<dyn Backend>,
                    self.max_concurrency,
                ))
            })
            .collect::<Result<Vec<_>, ModelConfigError>>()?;
        EndpointPool::new(
            role.to_string(),
            endpoints,
            RetryPolicy::default(),
            EjectionPolicy::default(),
        )
        .map(|pool| pool.with_affinity(self.affinity))
        .map_err(|error| invalid(error.to_string()))
    }

    /// The GGUF file of the embedded model this role uses.
    pub fn embedded_model_path(&self) -> PathBuf {
        self.embedded_model
            .clone()
            .unwrap_or_else(crate::model::embedded_path::default_model_path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let typo: Result<ModelRoleConfig, _> =
            toml::from_str("endpoint = [\"http://x\"]\nmodel = \"m\"");
        assert!(typo
            .unwrap_err()
            .to_string()
            .contains("unknown field `endpoint`"));
        let no_model: ModelRoleConfig =
            toml::from_str("endpoints = [\"http://x:8000/v1\"]").unwrap();
        let error = no_model.validate("crs").unwrap_err();
        assert_eq!(error.key(), "model");
        assert_eq!(
            error.to_string(),
            "[models.crs] model: required when `endpoints` are given"
        );
        let bad_url =
            toml::from_str::<ModelRoleConfig>("endpoints = [\"gpu-01:8000\"]\nmodel = \"m\"")
                .unwrap_err()
                .to_string();
        assert!(
            bad_url.contains("`gpu-01:8000` is not an http(s) URL"),
            "{bad_url}"
        );
        let bad_timeout = toml::from_str::<ModelRoleConfig>("timeout_s = 0")
            .unwrap_err()
            .to_string();
        assert!(
            bad_timeout.contains("positive number of seconds"),
            "{bad_timeout}"
        );
        let priority: ModelRoleConfig = toml::from_str(
            "endpoints = [\"http://x:8000/v1\"]\nmodel = \"m\"\nscoring_priority = -1",
        )
        .unwrap();
        assert!(priority.validate("user").is_ok());
        let error = priority.validate("crs").unwrap_err();
        assert_eq!(error.key(), "scoring_priority");
        let embedded: ModelRoleConfig = toml::from_str("").unwrap();
        assert!(embedded.is_embedded() && embedded.validate("user").is_ok());
        assert_eq!(&embedded, ModelRoleConfig::embedded_default());
        assert_eq!(embedded.timeout(), Duration::from_secs(600));
        let keyed: ModelRoleConfig = toml::from_str("endpoints = [\"https://api.example.com/v1\"]\nmodel = \"m\"\napi_key_env = \"GRSU_TEST_SURELY_UNSET_KEY\"\ntimeout_s = 2.5").unwrap();
        assert_eq!(keyed.timeout(), Duration::from_millis(2500));
        assert!(matches!(
            keyed.http_endpoints("crs"),
            Err(ModelConfigError::MissingKey { .. })
        ));
    }

    #[test]
    fn roles_are_the_fields_of_the_models_table() {
        let models: ModelsSection =
            toml::from_str("[crs]\nmodel = \"c\"\n[critique]\nmodel = \"k\"").unwrap();
        let roles: Vec<Role> = models.iter().map(|(role, _)| role).collect();
        assert_eq!(roles, [Role::Crs, Role::Critique]);
        assert_eq!(
            models.get(Role::Critique).unwrap().model.as_deref(),
            Some("k")
        );
        assert!(models.get(Role::Teacher).is_none());
        let typo = toml::from_str::<ModelsSection>("[crss]\nmodel = \"c\"")
            .unwrap_err()
            .to_string();
        assert!(typo.contains("unknown field `crss`"), "{typo}");
        // Absent roles are not written out (the manifest records the tables the config has).
        let written = serde_json::to_value(&models).unwrap();
        assert_eq!(
            written.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["crs", "critique"]
        );
    }
}
