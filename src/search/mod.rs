//! Search over item lists: the strategies that decide which CRS lists to ask for, critique and
//! score, and the output strategies that turn the resulting tree into a final ranking.
//!
//! Strategies are pure synchronous state machines ([`SearchStrategy`]): they return [`Command`]s
//! and take [`Event`]s, and never call a model, so the algorithms are unit-tested here without
//! async code or actors, and the runtime (the BeamActor) only executes commands. A strategy builds
//! a [`SearchTree`], which is stored per sample; [`rank`] computes every output strategy, at any
//! depth, from it afterwards.
//!
//! ## Layout
//!
//! - [`tree`]: the search tree and its nodes.
//! - [`strategy`]: the command/event protocol, request keys (seed material), search settings.
//! - [`beam_search`]: beam search, and greedy search as its B = 1 case.
//! - [`monte_carlo`]: one round of independent samples.
//! - [`no_search`]: one zero-shot list.
//! - [`ranking`]: output strategies over a finished tree, with depth truncation.
//! - `round` and `selection`: one depth's requests in a timing-independent order, and choosing the
//!   beam.

pub mod beam_search;
pub mod monte_carlo;
pub mod no_search;
pub mod ranking;
mod round;
mod selection;
pub mod strategy;
pub mod tree;

#[cfg(test)]
mod fake_executor;

pub use beam_search::BeamSearch;
pub use monte_carlo::MonteCarlo;
pub use no_search::NoSearch;
pub use ranking::{rank, OutputStrategy};
pub use strategy::{
    Command, Event, RequestKey, RequestKind, SearchParameter, SearchSettings, SearchStrategy,
    SettingsError,
};
pub use tree::{Node, NodeId, SearchTree};
