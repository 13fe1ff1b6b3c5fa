//! Errors in setting up an endpoint pool. Errors of the calls themselves stay
//! [`ModelError`](crate::model::ModelError)s, so that a pool can stand wherever a backend can.

/// A pool that cannot work as configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// A role needs at least one endpoint.
    #[error("the endpoint pool for {role} has no endpoints")]
    NoEndpoints { role: String },
    /// An endpoint that takes no requests can only make callers wait forever.
    #[error("endpoint {endpoint} of the {role} pool has capacity 0")]
    ZeroCapacity { role: String, endpoint: String },
    /// Every request is tried at least once.
    #[error("the {role} pool's retry policy allows no attempts (max_attempts is 0)")]
    NoAttempts { role: String },
}
