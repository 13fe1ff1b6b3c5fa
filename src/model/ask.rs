//! [`Ask`]: how a policy (the CRS, the simulated user) asks a model. The library's
//! [`CachedBackend`] answers directly; the engine answers through its model actors, which add
//! in-flight de-duplication and progress counters. The policies are written once against this
//! trait, so the engine, synthesis and tests run the same attempt loops.
//!
//! [`Ask::admit`] is the other half: a policy takes an [`Admission`] before it builds a request.
//! With a thousand samples in flight, each scoring a node's ten items, tens of thousands of
//! requests wait for the few thousand places the servers give at once; built eagerly, each would
//! hold its prompt (and its serialised body) the whole time, several hundred KiB per sample. A
//! policy that asks for admission first builds its prompt only when a place is near, and holds
//! nothing but a small future until then.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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

    /// Waits for a place among the requests this model admits at once; hold it while building
    /// the request, asking, and retrying. Unbounded (at once) unless the asker sets a bound.
    async fn admit(&self) -> Admission {
        Admission::unbounded()
    }
}

/// A place among a model's admitted requests, given back when dropped.
#[must_use = "the place is given back as soon as the admission is dropped"]
pub struct Admission {
    _place: Option<OwnedSemaphorePermit>,
}

impl Admission {
    /// An admission that bounds nothing.
    pub fn unbounded() -> Self {
        Admission { _place: None }
    }
}

/// How many requests of one model are admitted at once: a little more than the model's
/// backend serves at once, so that a request is ready whenever a place frees up.
#[derive(Clone)]
pub struct AdmissionGate(Option<Arc<Semaphore>>);

impl AdmissionGate {
    /// A gate for a backend serving `capacity` requests at once (`None`: no bound), admitting a
    /// quarter more than that.
    pub fn for_capacity(capacity: Option<usize>) -> Self {
        AdmissionGate(capacity.map(|capacity| {
            let admitted = capacity.saturating_add(capacity.div_ceil(4)).max(1);
            Arc::new(Semaphore::new(admitted.min(Semaphore::MAX_PERMITS)))
        }))
    }

    /// Waits for a place.
    pub async fn admit(&self) -> Admission {
        match &self.0 {
            None => Admission::unbounded(),
            Some(gate) => Admission {
                _place: Some(
                    gate.clone()
                        .acquire_owned()
                        .await
                        .expect("an admission gate is never closed"),
                ),
            },
        }
    }

    /// Places free now (`None`: no bound).
    #[cfg(test)]
    fn available(&self) -> Option<usize> {
        self.0.as_ref().map(|gate| gate.available_permits())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_gate_admits_a_quarter_more_than_the_capacity_and_frees_places_on_drop() {
        let gate = AdmissionGate::for_capacity(Some(8));
        assert_eq!(gate.available(), Some(10));
        let held: Vec<Admission> =
            futures_util::future::join_all((0..10).map(|_| gate.admit())).await;
        assert_eq!(gate.available(), Some(0));
        let waiting = tokio::spawn({
            let gate = gate.clone();
            async move { gate.admit().await }
        });
        tokio::task::yield_now().await;
        assert!(
            !waiting.is_finished(),
            "an eleventh request waits for a place"
        );
        drop(held);
        let _admitted = tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("a dropped admission frees its place")
            .unwrap();
        assert_eq!(gate.available(), Some(9));
    }

    #[tokio::test]
    async fn no_capacity_means_no_bound_and_a_tiny_one_still_admits() {
        let unbounded = AdmissionGate::for_capacity(None);
        assert_eq!(unbounded.available(), None);
        let _many: Vec<Admission> =
            futures_util::future::join_all((0..100_000).map(|_| unbounded.admit())).await;
        assert_eq!(AdmissionGate::for_capacity(Some(1)).available(), Some(2));
        assert_eq!(AdmissionGate::for_capacity(Some(0)).available(), Some(1));
    }
}
