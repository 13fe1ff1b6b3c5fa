//! # grsu-actors
//!
//! The runtime of grsu as a library: the ractor actors that run a sweep
//! ([`engine::run`]`(sweep, shard, shutdown)`), and the OpenAI-compatible server over the embedded
//! model ([`serve`]). The `grsu` binary (`src/main.rs`, `src/cli/`) is a thin layer over it:
//! argument parsing, the Ctrl-C future it passes as `shutdown`, and exit codes. Tests can run a
//! sweep in process through [`engine::run`] with a shutdown future of their own.
//!
//! ## Layout
//!
//! - [`engine`]: the actors of a run and the function that wires them (module docs draw the
//!   supervision tree).
//! - [`serve`]: `grsu serve`, the embedded model behind an HTTP endpoint.
//! - [`view`]: `grsu view`, the explorer of a sweep (a read-only local server, or static files).

pub mod engine;
pub mod serve;
pub mod view;
