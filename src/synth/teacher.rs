//! The teacher: the model that writes the critiques of critique synthesis (the paper:
//! Llama-3.3-70B-Instruct), behind the response cache.
//!
//! It is built from a `[models.teacher]` table by the same builder as the engine's roles (an
//! endpoint pool over its HTTP endpoints, or the embedded model without endpoints, loaded by the
//! caller's [`EmbeddedLoader`]) and asked
//! through the same cached backend, with the history as affinity (the requests of one history
//! share its prompt prefix, so they go to one replica's prefix cache). Every answer is stored in
//! the response cache before it is used, so a synthesis killed at any point and started again
//! replays its finished calls and pays only for the rest.

use std::sync::Arc;

use crate::config::ModelRoleConfig;
use crate::model::build::{BackendBuilder, BuildError, EmbeddedLoader};
use crate::model::cached::CachedBackend;
use crate::model::context::RequestContext;
use crate::model::role::Role;
use crate::store::ResponseCache;

/// The teacher model behind the response cache.
pub type Teacher = CachedBackend;

/// The teacher a `[models.teacher]` table describes. Without endpoints it is the embedded model,
/// loaded by `loader` (a few seconds, on the blocking pool); without a loader, such a table is
/// [`BuildError::NoEmbedded`].
pub async fn teacher_from_config(
    settings: &ModelRoleConfig,
    cache: ResponseCache,
    loader: Option<Arc<dyn EmbeddedLoader>>,
) -> Result<Teacher, BuildError> {
    let built = BackendBuilder::with_loader(loader)
        .build(Role::Teacher, settings)
        .await?;
    Ok(CachedBackend::shared(built.backend, cache))
}

/// The context of a teacher request about one history.
pub fn teacher_context(history: &str) -> RequestContext {
    RequestContext::new(Role::Teacher).with_affinity(history)
}
