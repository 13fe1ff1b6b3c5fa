//! `[models.<role>]`: where a model role is served.
//!
//! ```toml
//! [models.user]
//! endpoints = ["http://gpu-01:8000/v1", "http://gpu-02:8000/v1"]  # absent: the embedded model
//! model = "grsu-user"            # vLLM's --served-model-name
//! max_concurrency = 64           # requests in flight per endpoint
//! api_key_env = "OPENAI_API_KEY" # optional; the key itself never appears in a config or a store
//! timeout_s = 600
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use std::sync::Arc;

use crate::model::http::{HttpBackend, HttpEndpoint};
use crate::model::pool::{EjectionPolicy, EndpointPool, RetryPolicy};
use crate::model::Backend;

/// The endpoints of one model role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelRoleConfig {
    /// OpenAI-compatible base URLs; empty means the embedded CPU model.
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// The model id to request; required with endpoints.
    #[serde(default)]
    pub model: Option<String>,
    /// Requests in flight per endpoint (vLLM queues without bound, so the client must cap).
    #[serde(default = "default_max_concurrency")]
    pub max_concurrency: usize,
    /// The environment variable holding the API key, if the endpoints need one.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Whole-request timeout in seconds.
    #[serde(default = "default_timeout_s")]
    pub timeout_s: f64,
    /// A GGUF file for the embedded model instead of the default one.
    #[serde(default)]
    pub embedded_model: Option<PathBuf>,
    /// Send a sample's requests to one replica (its prompts share prefixes that vLLM caches);
    /// `false`: least-outstanding routing alone (what a plain load balancer does).
    #[serde(default = "default_affinity")]
    pub affinity: bool,
}

fn default_affinity() -> bool {
    true
}

fn default_max_concurrency() -> usize {
    32
}

fn default_timeout_s() -> f64 {
    600.0
}

/// All `[models.*]` tables, by role name.
pub type ModelsSection = BTreeMap<String, ModelRoleConfig>;

/// A problem with a model role's settings.
#[derive(Debug, thiserror::Error)]
pub enum ModelConfigError {
    #[error("[models.{role}]: {problem}")]
    Invalid { role: String, problem: String },
    #[error("[models.{role}]: environment variable {variable} (api_key_env) is not set")]
    MissingKey { role: String, variable: String },
}

impl ModelRoleConfig {
    /// Whether this role runs on the embedded model.
    pub fn is_embedded(&self) -> bool {
        self.endpoints.is_empty()
    }

    /// Checks the values, naming the role and key of any problem.
    pub fn validate(&self, role: &str) -> Result<(), ModelConfigError> {
        let invalid = |problem: String| ModelConfigError::Invalid {
            role: role.to_string(),
            problem,
        };
        if !self.endpoints.is_empty() && self.model.as_deref().is_none_or(str::is_empty) {
            return Err(invalid(
                "`model` is required when `endpoints` are given".into(),
            ));
        }
        for endpoint in &self.endpoints {
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                return Err(invalid(format!(
                    "endpoint `{endpoint}` is not an http(s) URL"
                )));
            }
        }
        if self.max_concurrency == 0 {
            return Err(invalid("`max_concurrency` must be at least 1".into()));
        }
        if !(self.timeout_s.is_finite() && self.timeout_s > 0.0) {
            return Err(invalid(format!(
                "`timeout_s` must be a positive number of seconds, not {}",
                self.timeout_s
            )));
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
                url: url.clone(),
                model: self.model.clone().unwrap_or_default(),
                api_key: api_key.clone(),
                timeout: Duration::from_secs_f64(self.timeout_s),
            })
            .collect())
    }

    /// The endpoint pool of this role: an HTTP backend per endpoint, each capped at
    /// `max_concurrency`, with the default retry and ejection policies.
    pub fn endpoint_pool(&self, role: &str) -> Result<EndpointPool, ModelConfigError> {
        let invalid = |problem: String| ModelConfigError::Invalid {
            role: role.to_string(),
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
            .unwrap_or_else(crate::model::embedded::default_model_path)
    }
}

/// Reads only the `[models.*]` tables of a config file (and ignores its other sections), for tools
/// such as `grsu doctor` that need no more.
pub fn read_models_section(path: &Path) -> Result<(ModelsSection, Option<String>), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let document: toml::Table = text
        .parse()
        .map_err(|error| format!("{}: {error}", path.display()))?;
    let models = match document.get("models") {
        Some(value) => value
            .clone()
            .try_into::<ModelsSection>()
            .map_err(|error| format!("{}: [models]: {error}", path.display()))?,
        None => ModelsSection::new(),
    };
    let scoring_mode = document
        .get("user")
        .and_then(|user| user.get("scoring_mode"))
        .and_then(|mode| mode.as_str())
        .map(str::to_string);
    Ok((models, scoring_mode))
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
        assert!(no_model
            .validate("crs")
            .unwrap_err()
            .to_string()
            .contains("[models.crs]: `model` is required"));
        let bad_url: ModelRoleConfig =
            toml::from_str("endpoints = [\"gpu-01:8000\"]\nmodel = \"m\"").unwrap();
        assert!(bad_url.validate("user").is_err());
        let embedded: ModelRoleConfig = toml::from_str("").unwrap();
        assert!(embedded.is_embedded() && embedded.validate("user").is_ok());
        let keyed: ModelRoleConfig = toml::from_str("endpoints = [\"https://api.example.com/v1\"]\nmodel = \"m\"\napi_key_env = \"GRSU_TEST_SURELY_UNSET_KEY\"").unwrap();
        assert!(matches!(
            keyed.http_endpoints("crs"),
            Err(ModelConfigError::MissingKey { .. })
        ));
    }
}
