//! Probes of the simulated user that cost model calls and are run on demand, never by a sweep
//! (`grsu probe ...`): how much its scores depend on things that should not matter.
//!
//! - [`order`]: the order of the items in the scoring prompt (list-context scoring) and the
//!   request seed (test-retest stability); the statistics of `grsu probe order`.

pub mod order;
