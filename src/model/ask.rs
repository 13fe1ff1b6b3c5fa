//! [`Ask`]: how a policy (the CRS, the simulated user) asks a model. The library's
//! [`CachedBackend`] answers directly; the engine answers through its model actors, which add
//! in-flight de-duplication and progress counters. The policies are written once against this
//! trait, so the engine, synthesis and tests run the same attempt loops.

use async_trait::async_trait;

use super::cached::{CachedAnswer, CachedBackend};
use super::context::RequestContext;
use super::{ChatRequest, ChatResponse, ModelError};

/// Something that answers chat requests in a context, saying where each answer came from.
#[async_trait]
pub trait Ask: Send + Sync {
    async fn ask(
        &self,
        request: ChatRequest,
        context: RequestContext,
    ) -> Result<CachedAnswer<ChatResponse>, ModelError>;
}

#[async_trait]
impl Ask for CachedBackend {
    async fn ask(
        &self,
        request: ChatRequest,
        context: RequestContext,
    ) -> Result<CachedAnswer<ChatResponse>, ModelError> {
        self.chat(&request, &context).await
    }
}
