//! [`BackendBuilder`]: from a role's `[models.<role>]` table to a ready backend, for every caller
//! (the engine's roles, the synthesis teacher, tests). A role with endpoints becomes an
//! [`EndpointPool`] over HTTP backends; a role without becomes the embedded model, loaded once per
//! GGUF file however many roles and cells use it. Roles and cells whose settings are equal share
//! one backend, so per-endpoint concurrency caps hold across them.
//!
//! The embedded model is not part of this library (it is the `grsu-embedded` crate, so that the
//! library does not compile candle): the builder loads it through the [`EmbeddedLoader`] its
//! caller gives it (`BackendBuilder::new(grsu_embedded::loader())` in the engine, the CLI and the
//! tests). A builder made with [`BackendBuilder::without_embedded`] builds roles with endpoints
//! only, and reports a role without as [`BuildError::NoEmbedded`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    /// The role needs the embedded model and the builder has no loader for it.
    #[error("[models.{role}] has no endpoints, so it needs the embedded model, which is not available in this build (give it endpoints, or build its backend with grsu-embedded's loader)")]
    NoEmbedded { role: Role },
}

/// Loads the embedded model from a GGUF file into a backend. The `grsu-embedded` crate has the
/// implementation (`grsu_embedded::loader()`); any `Fn(&Path) -> Result<Arc<dyn Backend>, _>`
/// is one too, for tests. Loading is blocking work of a few seconds: the builder runs it on the
/// blocking pool.
pub trait EmbeddedLoader: Send + Sync {
    /// The model in the GGUF file at `path`, ready to answer.
    fn load(&self, path: &Path) -> Result<Arc<dyn Backend>, ModelError>;
}

impl<F> EmbeddedLoader for F
where
    F: Fn(&Path) -> Result<Arc<dyn Backend>, ModelError> + Send + Sync,
{
    fn load(&self, path: &Path) -> Result<Arc<dyn Backend>, ModelError> {
        self(path)
    }
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
pub struct BackendBuilder {
    loader: Option<Arc<dyn EmbeddedLoader>>,
    embedded: BTreeMap<PathBuf, Arc<dyn Backend>>,
    built: BTreeMap<String, BuiltBackend>,
}

impl BackendBuilder {
    /// A builder that loads the embedded model, for roles without endpoints, with `loader`.
    pub fn new(loader: Arc<dyn EmbeddedLoader>) -> Self {
        Self::with_loader(Some(loader))
    }

    /// A builder for roles with endpoints only: a role without is [`BuildError::NoEmbedded`].
    pub fn without_embedded() -> Self {
        Self::with_loader(None)
    }

    /// [`BackendBuilder::new`] with a loader, else [`BackendBuilder::without_embedded`].
    pub fn with_loader(loader: Option<Arc<dyn EmbeddedLoader>>) -> Self {
        BackendBuilder {
            loader,
            embedded: BTreeMap::new(),
            built: BTreeMap::new(),
        }
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
        let loader = self.loader.clone().ok_or(BuildError::NoEmbedded { role })?;
        let backend = tokio::task::spawn_blocking({
            let path = path.clone();
            move || loader.load(&path)
        })
        .await
        .map_err(|error| ModelError::Embedded {
            message: format!("loading the embedded model failed: {error}"),
        })
        .and_then(|loaded| loaded)
        .map_err(|source| BuildError::Embedded { role, source })?;
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::model::{ChatRequest, ChatResponse};

    struct Silent;

    #[async_trait]
    impl Backend for Silent {
        fn identity(&self) -> String {
            "silent".into()
        }

        async fn chat(&self, _request: &ChatRequest) -> Result<ChatResponse, ModelError> {
            Err(ModelError::Embedded {
                message: "silent".into(),
            })
        }
    }

    fn settings(toml: &str) -> ModelRoleConfig {
        toml::from_str(toml).unwrap()
    }

    #[tokio::test]
    async fn the_embedded_model_is_loaded_once_per_file_through_the_callers_loader() {
        let loads = Arc::new(AtomicUsize::new(0));
        let counted = loads.clone();
        let loader = move |_path: &Path| -> Result<Arc<dyn Backend>, ModelError> {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok(Arc::new(Silent))
        };
        let mut builder = BackendBuilder::new(Arc::new(loader));
        let crs = builder
            .build(Role::Crs, &settings("embedded_model = \"a.gguf\""))
            .await
            .unwrap();
        // Other settings (a different key), the same file: the loaded model is shared.
        let user = builder
            .build(
                Role::User,
                &settings("embedded_model = \"a.gguf\"\nmax_concurrency = 3"),
            )
            .await
            .unwrap();
        assert_ne!(crs.key, user.key);
        assert!(Arc::ptr_eq(&crs.backend, &user.backend));
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        builder
            .build(Role::User, &settings("embedded_model = \"b.gguf\""))
            .await
            .unwrap();
        assert_eq!(loads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn without_a_loader_a_role_without_endpoints_is_an_error_naming_it() {
        let error = BackendBuilder::without_embedded()
            .build(Role::Teacher, &settings(""))
            .await
            .err()
            .unwrap();
        assert!(matches!(
            error,
            BuildError::NoEmbedded {
                role: Role::Teacher
            }
        ));
        let message = error.to_string();
        assert!(
            message.contains("[models.teacher]") && message.contains("not available"),
            "{message}"
        );
    }
}
