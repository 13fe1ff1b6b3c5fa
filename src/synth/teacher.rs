//! [`Teacher`]: the model that writes the critiques of critique synthesis (the paper: Llama-3.3-70B-
//! Instruct), behind the response cache.
//!
//! Built from a `[models.teacher]` table as the engine builds a role: an endpoint pool over its
//! HTTP endpoints (bounded concurrency per replica, retries, ejection; the requests of one history
//! share its prompt prefix, so they carry the history as affinity and go to one replica's prefix
//! cache), or the embedded model when the table has no endpoints. Every answer is stored in the
//! response cache before it is used, so a synthesis killed at any point and started again replays
//! its finished calls and pays only for the rest.

use std::sync::Arc;

use crate::config::models::ModelConfigError;
use crate::config::ModelRoleConfig;
use crate::model::embedded::EmbeddedBackend;
use crate::model::pool::{EndpointPool, PoolError};
use crate::model::{Backend, ChatRequest, ChatResponse, ModelError};
use crate::store::ResponseCache;

/// Why a teacher could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TeacherError {
    /// The `[models.teacher]` settings are unusable (a bad URL, a missing API key).
    #[error(transparent)]
    Config(#[from] ModelConfigError),
    /// The pool cannot work as configured.
    #[error(transparent)]
    Pool(#[from] PoolError),
    /// The embedded model could not be loaded, or an HTTP client not built.
    #[error("{0}")]
    Model(#[from] ModelError),
}

#[derive(Clone)]
enum Target {
    Pool(EndpointPool),
    Single(Arc<dyn Backend>),
}

/// An answer and whether it came from the cache.
#[derive(Debug, Clone)]
pub struct TeacherAnswer {
    pub response: ChatResponse,
    pub cached: bool,
}

/// The teacher model behind the response cache.
#[derive(Clone)]
pub struct Teacher {
    target: Target,
    identity: String,
    cache: ResponseCache,
}

impl Teacher {
    /// A teacher answering with one backend (the embedded model, a test double).
    pub fn single(backend: Arc<dyn Backend>, cache: ResponseCache) -> Self {
        Teacher {
            identity: backend.identity(),
            target: Target::Single(backend),
            cache,
        }
    }

    /// The teacher a `[models.teacher]` table describes. Loading the embedded model takes a few
    /// seconds and runs on the blocking pool.
    pub async fn from_config(
        settings: &ModelRoleConfig,
        cache: ResponseCache,
    ) -> Result<Self, TeacherError> {
        const ROLE: &str = "teacher";
        if settings.is_embedded() {
            let path = settings.embedded_model_path();
            let loaded = tokio::task::spawn_blocking(move || EmbeddedBackend::load(&path))
                .await
                .map_err(|error| ModelError::Embedded {
                    message: format!("loading the embedded model failed: {error}"),
                })??;
            return Ok(Teacher::single(Arc::new(loaded), cache));
        }
        let pool = settings.endpoint_pool(ROLE)?;
        Ok(Teacher {
            identity: pool.identity(),
            target: Target::Pool(pool),
            cache,
        })
    }

    /// The model's identity (the cache key's first part; never an URL or a key).
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Answers `request`, from the cache when it holds it; `affinity` keeps related requests on
    /// one replica. Errors are not cached: a failed call is asked again by the next run.
    pub async fn ask(
        &self,
        request: &ChatRequest,
        affinity: &str,
    ) -> Result<TeacherAnswer, ModelError> {
        let cache_error = |error: crate::store::StoreError| ModelError::Cache {
            message: error.to_string(),
        };
        if let Some(response) = self
            .cache
            .get(&self.identity, request)
            .map_err(cache_error)?
        {
            return Ok(TeacherAnswer {
                response,
                cached: true,
            });
        }
        let response = match &self.target {
            Target::Pool(pool) => pool.chat_with_affinity(request, Some(affinity)).await?,
            Target::Single(backend) => backend.chat(request).await?,
        };
        self.cache
            .put(&self.identity, request, &response)
            .await
            .map_err(cache_error)?;
        Ok(TeacherAnswer {
            response,
            cached: false,
        })
    }
}
