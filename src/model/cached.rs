//! [`CachedBackend`]: the one front of the response cache. Every caller that asks a model (the
//! engine's model actors, the discriminative scorer, the synthesis teacher, tests) asks through
//! it, so the cache is written in one place: answers come from the cache when it holds them, else
//! from the backend (in the request's context, so a pool routes by its affinity key) and are
//! stored, flushed, before they are returned. Errors are never cached: a failed call is asked
//! again.
//!
//! It says where each answer came from, which the accounting needs: a cache hit, and whether the
//! entry was paid for by the asking unit itself in an earlier run (see
//! [`crate::store::ResponseCache`]).

use std::sync::Arc;

use super::classify::{ClassifyRequest, ClassifyResponse};
use super::context::RequestContext;
use super::{Backend, ChatRequest, ChatResponse, ModelError};
use crate::store::{ResponseCache, StoreError};

/// An answer and where it came from.
#[derive(Debug, Clone)]
pub struct CachedAnswer<T> {
    pub response: T,
    /// Answered from the cache.
    pub cached: bool,
    /// Answered from the cache by an entry the context's origin paid for in an earlier run.
    pub own: bool,
    /// The request's cache key.
    pub key: [u8; 32],
}

#[cfg(test)]
impl CachedAnswer<ChatResponse> {
    /// A fresh (not cached) answer of one choice with `text` and no logprobs, from `model`: what
    /// the policies' scripted test models answer.
    pub(crate) fn of_text(model: &str, text: &str) -> Self {
        CachedAnswer {
            response: ChatResponse {
                model: model.into(),
                choices: vec![crate::model::Choice {
                    text: text.into(),
                    finish_reason: crate::model::FinishReason::Stop,
                    logprobs: None,
                }],
                usage: Default::default(),
            },
            cached: false,
            own: false,
            key: [0; 32],
        }
    }
}

/// A backend behind the response cache. Cheap to clone.
#[derive(Clone)]
pub struct CachedBackend {
    backend: Arc<dyn Backend>,
    identity: String,
    cache: ResponseCache,
}

fn store_error(error: StoreError) -> ModelError {
    ModelError::Cache {
        message: error.to_string(),
    }
}

impl CachedBackend {
    pub fn new(backend: impl Backend + 'static, cache: ResponseCache) -> Self {
        Self::shared(Arc::new(backend), cache)
    }

    /// In front of a backend that others use too (one loaded embedded model, one pool).
    pub fn shared(backend: Arc<dyn Backend>, cache: ResponseCache) -> Self {
        CachedBackend {
            identity: backend.identity(),
            backend,
            cache,
        }
    }

    /// The cache it fronts.
    pub fn cache(&self) -> &ResponseCache {
        &self.cache
    }

    /// The model's identity (the first part of every cache key).
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The backend behind the cache.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// The cache key `request` has here.
    pub fn key(&self, request: &ChatRequest) -> [u8; 32] {
        ResponseCache::key(&self.identity, request)
    }

    /// Answers `request`, from the cache when it holds it.
    pub async fn chat(
        &self,
        request: &ChatRequest,
        context: &RequestContext,
    ) -> Result<CachedAnswer<ChatResponse>, ModelError> {
        self.chat_keyed(request, self.key(request), context).await
    }

    /// [`CachedBackend::chat`] for a request whose key the caller already computed with
    /// [`CachedBackend::key`] (the engine's model actor keys every request to share identical
    /// ones in flight; the key is a serialisation and a hash of the whole prompt).
    pub async fn chat_keyed(
        &self,
        request: &ChatRequest,
        key: [u8; 32],
        context: &RequestContext,
    ) -> Result<CachedAnswer<ChatResponse>, ModelError> {
        debug_assert_eq!(key, self.key(request), "a key of another request");
        if let Some((response, paid_by)) =
            self.cache.get_with_origin_keyed(key).map_err(store_error)?
        {
            return Ok(CachedAnswer {
                response,
                cached: true,
                own: paid_by.is_some() && paid_by == context.origin,
                key,
            });
        }
        let response = self.backend.chat_in(request, context).await?;
        self.cache
            .put_keyed(key, &response, context.origin)
            .await
            .map_err(store_error)?;
        Ok(CachedAnswer {
            response,
            cached: false,
            own: false,
            key,
        })
    }

    /// Classifies, from the cache when it holds the answer.
    pub async fn classify(
        &self,
        request: &ClassifyRequest,
        context: &RequestContext,
    ) -> Result<CachedAnswer<ClassifyResponse>, ModelError> {
        let key = ResponseCache::classify_key(&self.identity, request);
        if let Some(response) = self
            .cache
            .get_classified(&self.identity, request)
            .map_err(store_error)?
        {
            return Ok(CachedAnswer {
                response,
                cached: true,
                own: false,
                key,
            });
        }
        let response = self.backend.classify_in(request, context).await?;
        self.cache
            .put_classified(&self.identity, request, &response)
            .map_err(store_error)?;
        Ok(CachedAnswer {
            response,
            cached: false,
            own: false,
            key,
        })
    }
}
