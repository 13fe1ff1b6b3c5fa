//! Counters of a pool's endpoints, so that a run can report how its replicas behaved: which one
//! failed, how often, how close each came to its capacity.
//!
//! The counters live with the routing table under the pool's lock; [`PoolStats`] is a copy taken
//! at one instant, safe to log or serialise while requests go on.

use std::collections::BTreeMap;

use serde::Serialize;

/// What happened on one endpoint since the pool was made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EndpointCounters {
    /// Calls sent to the endpoint, retries included.
    pub requests: u64,
    /// Calls that returned a response.
    pub successes: u64,
    /// Failed calls by [`ModelError::label`](crate::model::ModelError::label).
    pub failures: BTreeMap<&'static str, u64>,
    /// Calls that were a retry of a request that had failed before (on any endpoint).
    pub retries: u64,
    /// Times the endpoint was ejected, after failed calls or failed health checks.
    pub ejections: u64,
    /// Health checks that failed.
    pub failed_health_checks: u64,
    /// Times the endpoint was re-admitted after a passing health check.
    pub readmissions: u64,
    /// The most calls in flight on the endpoint at once.
    pub max_outstanding: usize,
}

/// One endpoint's counters and current state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointStats {
    /// Where the endpoint is ([`Backend::endpoint`](crate::model::Backend::endpoint)).
    pub endpoint: String,
    pub capacity: usize,
    /// Calls in flight now.
    pub outstanding: usize,
    /// Whether the endpoint is ejected now.
    pub ejected: bool,
    #[serde(flatten)]
    pub counters: EndpointCounters,
}

/// A snapshot of a pool's endpoints, in the pool's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolStats {
    /// The model role the pool serves.
    pub role: String,
    pub endpoints: Vec<EndpointStats>,
}
