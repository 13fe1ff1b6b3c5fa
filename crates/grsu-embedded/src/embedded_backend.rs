//! [`EmbeddedBackend`]: the embedded model behind the asynchronous [`Backend`] trait.
//!
//! Inference is CPU-bound and takes seconds, so each request runs on tokio's blocking thread pool
//! instead of stalling the async workers. The model sits behind a mutex because it has one KV
//! cache: concurrent requests queue up and run one after another.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::embedded_error;
use crate::embedded_model::EmbeddedModel;
use grsu::model::{Backend, ChatRequest, ChatResponse, ModelError};

/// A [`Backend`] answering with an [`EmbeddedModel`]; clones share the model.
#[derive(Debug, Clone)]
pub struct EmbeddedBackend {
    model: Arc<Mutex<EmbeddedModel>>,
    identity: String,
}

impl EmbeddedBackend {
    /// Wraps a loaded model.
    pub fn new(model: EmbeddedModel) -> Self {
        let identity = model.identity().to_owned();
        EmbeddedBackend {
            model: Arc::new(Mutex::new(model)),
            identity,
        }
    }

    /// Loads the GGUF model at `path`.
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        EmbeddedModel::load(path).map(Self::new)
    }

    /// The shared model, for synchronous use.
    pub fn model(&self) -> &Arc<Mutex<EmbeddedModel>> {
        &self.model
    }
}

#[async_trait]
impl Backend for EmbeddedBackend {
    fn identity(&self) -> String {
        self.identity.clone()
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let model = Arc::clone(&self.model);
        let request = request.clone();
        tokio::task::spawn_blocking(move || {
            // A panic in an earlier request leaves no half-updated state behind: every request
            // restarts the KV cache, so a poisoned lock is safe to take over.
            let mut model = model
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            model.complete(&request)
        })
        .await
        .map_err(|e| embedded_error(format!("the embedded model's worker failed: {e}")))?
    }
}
