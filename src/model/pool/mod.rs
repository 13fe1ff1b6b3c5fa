//! Endpoint pools: several replicas of one model role (e.g. every vLLM server of the CRS model)
//! used as one [`Backend`](crate::model::Backend).
//!
//! A beam search sends thousands of requests per sample, more than one server should take at once,
//! and a run lasts long enough for some replica to restart or fail under it. The pool keeps every
//! replica within its capacity, balances the load, keeps related requests on one replica for its
//! prefix cache, retries what a retry can cure and takes failing replicas out of rotation until
//! they pass a health check. Because the pool is itself a `Backend`, the response cache and every
//! caller wrap it exactly as they wrap a single server.
//!
//! ## Layout
//!
//! - [`retry_policy`]: [`RetryPolicy`], the pure backoff-with-jitter arithmetic.
//! - [`affinity`]: stable hashing of affinity keys and rendezvous weights.
//! - [`routing`]: [`RoutingTable`], the pure choice of endpoint, capacity and ejection rules, and
//!   [`EjectionPolicy`].
//! - [`endpoint_pool`]: [`EndpointPool`], which waits for slots, calls, retries and health-checks.
//! - [`stats`]: [`PoolStats`], the per-endpoint counters.
//! - [`error`]: [`PoolError`], for pools that cannot work as configured.

pub mod affinity;
pub mod endpoint_pool;
pub mod error;
pub mod retry_policy;
pub mod routing;
pub mod stats;

#[cfg(test)]
mod tests;

pub use endpoint_pool::EndpointPool;
pub use error::PoolError;
pub use retry_policy::RetryPolicy;
pub use routing::{EjectionPolicy, RoutingTable};
pub use stats::{EndpointCounters, EndpointStats, PoolStats};
