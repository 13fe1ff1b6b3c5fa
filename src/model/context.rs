//! [`RequestContext`]: what travels with a request besides its body: the role asking, the
//! routing hint (the per-sample affinity key: requests of one conversation share a prompt prefix,
//! so a pool sends them to one replica's prefix cache) and the unit of work that pays for the
//! answer (the origin the response cache records). None of it is part of the request's identity:
//! the cache key is the model and the body alone.

use super::role::Role;
use crate::store::Origin;

/// The context of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    pub role: Role,
    /// Requests with the same key go to the same replica where a pool can (`None`: any).
    pub affinity: Option<String>,
    /// The unit of work (search, seed, sample) asking; see [`crate::store::origin_of`].
    pub origin: Option<Origin>,
}

impl RequestContext {
    /// A request of `role` with no routing hint and no origin.
    pub fn new(role: Role) -> Self {
        RequestContext {
            role,
            affinity: None,
            origin: None,
        }
    }

    /// Routed with `affinity` (e.g. the sample id).
    pub fn with_affinity(mut self, affinity: impl Into<String>) -> Self {
        self.affinity = Some(affinity.into());
        self
    }

    /// A request of one unit of work (search, seed, sample): the sample is the affinity key and
    /// the unit the origin of what it pays for.
    pub fn of_unit(role: Role, sample: &str, origin: Origin) -> Self {
        RequestContext::new(role)
            .with_affinity(sample)
            .with_origin(origin)
    }

    /// Paid for by the unit `origin`.
    pub fn with_origin(mut self, origin: Origin) -> Self {
        self.origin = Some(origin);
        self
    }
}
