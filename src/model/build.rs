//! [`BackendBuilder`]: from a role's `[models.<role>]` table to a ready backend, for every caller
//! (the engine's roles, the synthesis teacher, tests). A role with endpoints becomes an
//! [`EndpointPool`] over HTTP backends; a role without becomes the embedded model, loaded once per
//! GGUF file however many roles and cells use it. Roles and cells whose settings are equal share
//! one backend, so per-endpoint concurrency caps hold across them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::embedded::EmbeddedBackend;
use super::pool::EndpointPool;
use super::role::Role;
use super::{Backend, ModelError};
use crate::config::models::ModelConfigError;
use crate::config::ModelRoleConfig;

/// Why a role's backend could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The settings are unusable (a bad URL, a missing API key).
    #[error(transparent)]
    Config(#[from] ModelConfigError),
    /// The embedded model could not be loaded.
    #[error("[models.{role}] has no endpoints, so the embedded model is used, but it cannot be loaded ({source}); run `grsu model fetch` to get it")]
    Embedded {
        role: Role,
        #[source]
        source: ModelError,
    },
}

/// A built backend and the key of the settings it was built from (equal keys, one backend).
#[derive(Clone)]
pub struct BuiltBackend {
    pub key: String,
    pub backend: Arc<dyn Backend>,
    /// The pool behind it, for a role with endpoints (watched for dead endpoints).
    pub pool: Option<EndpointPool>,
}

/// Builds backends, sharing what equal settings can share.
#[derive(Default)]
pub struct BackendBuilder {
    embedded: BTreeMap<PathBuf, Arc<dyn Backend>>,
    built: BTreeMap<String, BuiltBackend>,
}

impl BackendBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// The backend of `role` with `settings`. Loading the embedded model takes a few seconds and
    /// runs on the blocking pool.
    pub async fn build(
        &mut self,
        role: Role,
        settings: &ModelRoleConfig,
    ) -> Result<BuiltBackend, BuildError> {
        let key = serde_json::to_string(settings).expect("settings serialise");
        if let Some(built) = self.built.get(&key) {
            return Ok(built.clone());
        }
        let built = if settings.is_embedded() {
            BuiltBackend {
                key: key.clone(),
                backend: self.embedded(role, settings.embedded_model_path()).await?,
                pool: None,
            }
        } else {
            let pool = settings.endpoint_pool(role.as_str())?;
            BuiltBackend {
                key: key.clone(),
                backend: Arc::new(pool.clone()),
                pool: Some(pool),
            }
        };
        self.built.insert(key, built.clone());
        Ok(built)
    }

    async fn embedded(
        &mut self,
        role: Role,
        path: PathBuf,
    ) -> Result<Arc<dyn Backend>, BuildError> {
        if let Some(backend) = self.embedded.get(&path) {
            return Ok(backend.clone());
        }
        let loaded = tokio::task::spawn_blocking({
            let path = path.clone();
            move || EmbeddedBackend::load(&path)
        })
        .await
        .map_err(|error| ModelError::Embedded {
            message: format!("loading the embedded model failed: {error}"),
        })
        .and_then(|loaded| loaded)
        .map_err(|source| BuildError::Embedded { role, source })?;
        let backend: Arc<dyn Backend> = Arc::new(loaded);
        self.embedded.insert(path, backend.clone());
        Ok(backend)
    }

    /// Every endpoint pool built so far.
    pub fn pools(&self) -> Vec<EndpointPool> {
        self.built
            .values()
            .filter_map(|built| built.pool.clone())
            .collect()
    }
}
