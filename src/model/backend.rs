//! The [`Backend`] trait: anything that answers chat-completion requests.

use async_trait::async_trait;

use super::{ChatRequest, ChatResponse, ModelError};

/// A chat-completion server or model.
#[async_trait]
pub trait Backend: Send + Sync {
    /// The model's identity for the response cache: what determines the answers (model id and
    /// weights), never the endpoint URL or an API key.
    fn identity(&self) -> String;

    /// Where requests go, for logs and statistics (a URL, or `embedded`).
    fn endpoint(&self) -> String {
        self.identity()
    }

    /// Whether the backend can serve now (an HTTP backend asks `/v1/models`).
    async fn health(&self) -> Result<(), ModelError> {
        Ok(())
    }

    /// Answers one request. Implementations return exactly `request.n` choices or an error.
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError>;
}
