//! The [`Backend`] trait: anything that answers chat-completion requests.

use async_trait::async_trait;

use super::classify::{ClassifyRequest, ClassifyResponse};
use super::context::RequestContext;
use super::{ChatRequest, ChatResponse, ModelError};

/// A chat-completion server or model.
#[async_trait]
pub trait Backend: Send + Sync {
    /// The model's identity for the response cache: what determines the answers (model id and
    /// weights), never the endpoint URL or an API key.
    fn identity(&self) -> String;

    /// Answers one request. Implementations return exactly `request.n` choices or an error.
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError>;

    /// Classifies texts (a discriminative reward model). Chat-only backends refuse.
    async fn classify(&self, _request: &ClassifyRequest) -> Result<ClassifyResponse, ModelError> {
        Err(ModelError::Rejected {
            endpoint: self.endpoint(),
            status: 400,
            message: "this backend serves chat completions only, not classification".into(),
        })
    }

    /// Answers one request in its context. Only backends that route (an endpoint pool, by the
    /// context's affinity key) read the context; the others answer as [`Backend::chat`] does, so
    /// single-endpoint backends and test doubles implement `chat` alone.
    async fn chat_in(
        &self,
        request: &ChatRequest,
        _context: &RequestContext,
    ) -> Result<ChatResponse, ModelError> {
        self.chat(request).await
    }

    /// Classifies in a request's context (see [`Backend::chat_in`]).
    async fn classify_in(
        &self,
        request: &ClassifyRequest,
        _context: &RequestContext,
    ) -> Result<ClassifyResponse, ModelError> {
        self.classify(request).await
    }

    /// Whether the backend can take requests now. An endpoint pool calls it before re-admitting
    /// an endpoint it ejected after repeated failures; an HTTP backend asks the server (`GET
    /// /health` or `/v1/models`). Backends with nothing to check are always healthy.
    async fn health(&self) -> Result<(), ModelError> {
        Ok(())
    }

    /// The most requests it serves at once (an endpoint pool: the sum of its endpoints'
    /// `max_concurrency`); `None` when it sets no bound. The engine admits about this many
    /// requests at a time and builds the rest only when one of them is answered, so that the
    /// samples in flight do not each hold their queued prompts (see [`crate::model::ask::Admission`]).
    fn capacity(&self) -> Option<usize> {
        None
    }

    /// Where the backend is, for logs and statistics (a URL for an HTTP backend). Unlike
    /// [`Backend::identity`] it may differ between replicas that serve the same model.
    fn endpoint(&self) -> String {
        self.identity()
    }
}
