//! [`CachedBackend`]: the response cache in front of a backend.

use async_trait::async_trait;

use super::{Backend, ChatRequest, ChatResponse, ModelError};
use crate::store::ResponseCache;

/// Answers from the cache when it can, else asks the inner backend and stores the answer. Errors
/// are never cached: a failed call is asked again.
pub struct CachedBackend<B> {
    inner: B,
    cache: ResponseCache,
}

impl<B: Backend> CachedBackend<B> {
    pub fn new(inner: B, cache: ResponseCache) -> Self {
        CachedBackend { inner, cache }
    }

    pub fn cache(&self) -> &ResponseCache {
        &self.cache
    }

    pub fn inner(&self) -> &B {
        &self.inner
    }
}

fn store_error(error: crate::store::StoreError) -> ModelError {
    ModelError::Cache {
        message: error.to_string(),
    }
}

#[async_trait]
impl<B: Backend> Backend for CachedBackend<B> {
    fn identity(&self) -> String {
        self.inner.identity()
    }

    fn endpoint(&self) -> String {
        self.inner.endpoint()
    }

    async fn health(&self) -> Result<(), ModelError> {
        self.inner.health().await
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let identity = self.inner.identity();
        if let Some(response) = self.cache.get(&identity, request).map_err(store_error)? {
            return Ok(response);
        }
        let response = self.inner.chat(request).await?;
        self.cache
            .put(&identity, request, &response)
            .await
            .map_err(store_error)?;
        Ok(response)
    }
}
