//! # grsu
//!
//! The domain library of grsu: a simulated user built like a generative reward model (GRSU) that
//! critiques and scores the item lists of an LLM-based conversational recommender, so that beam
//! search over those lists finds better recommendations.
//!
//! This crate holds the domain, everything that is not an actor: datasets and catalogs, title
//! matching, prompts and parsers, the CRS and the simulated user as policies over a model, search
//! strategies as pure state machines, ranking, metrics and statistics, the model protocol and the
//! model-access layer (backends, endpoint pools, the response cache, roles), config, sweeps, the
//! store schema, reports and instruction-data synthesis. The search and the statistics are
//! synchronous and tested without async code; the model layer does I/O but knows nothing of actors.
//! The actor runtime and the `grsu` binary live in the `grsu-actors` crate, which depends on this
//! one and never the other way round; the embedded candle model (`grsu-embedded`) and the plotting
//! code (`grsu-plot`) are crates of their own.
//!
//! ## Layout
//!
//! - [`crs`]: [`crs::Recommender`], the CRS as a policy over a model: prompts, list parsing,
//!   retries.
//! - [`user`]: [`user::SimulatedUser`], critiques and scores as a policy over a model: validation,
//!   score reading, retries.
//! - [`config`]: the TOML run configuration, parsed, then validated into typed values; the
//!   reference of every key and what changing it on an existing output does.
//! - [`data`]: dataset readers (GRSU conversation JSONL, iEvaLM per-sample JSONL, INSPIRED TSV) that
//!   all yield [`data::Sample`]s, and their load statistics.
//! - [`catalog`]: item catalogs (GRSU `movie2info.json`, iEvaLM `id2info.json`) as one
//!   [`catalog::Catalog`] type.
//! - [`matching`]: mapping free-text titles onto catalog items, compatible with Python rapidfuzz.
//! - [`metrics`]: Recall, NDCG and MRR at k, with the reference implementation's NDCG/MRR bug fixed.
//! - [`report`]: a sweep's tables, statistics and figures, from its store alone.
//! - [`probe`]: on-demand probes of the simulated user (`grsu probe order`: score order and
//!   seed sensitivity), their statistics.
//! - [`jobs`]: the policy job (CRS or simulated user) each search command asks for.
//! - [`explore`]: what `grsu view` shows: the sweep, every sample, one sample's trees, from the
//!   store alone.
//! - [`search`]: search strategies (beam, greedy, Monte Carlo, none) as pure state machines over
//!   a stored search tree, and the output strategies that rank its items.
//! - [`evaluation`]: scoring rankings against labels, after title matching.
//! - [`sweep`]: sweeps: grids and variants of a config expanded into cells that share searches.
//! - [`model`]: the chat-completion protocol and its backends (HTTP, endpoint pool; the embedded
//!   CPU model is the `grsu-embedded` crate, given to [`model::build`] as a loader).
//! - [`predictions`]: the JSON-lines format of external and exported rankings.
//! - [`plot`]: figures for reports (line and grouped bar charts) as SVG and PNG, with embedded
//!   fonts so that they render the same everywhere: the `grsu-plot` crate (`crates/grsu-plot`),
//!   re-exported here. It is a crate of its own so that its font and raster dependencies stay out
//!   of this library's compile.
//! - [`prompts`]: the CRS and simulated-user prompts (Eq. 1–3, training examples) and the CRS answer
//!   parser; pure functions.
//! - [`random`]: the one seeded generator (SplitMix64) behind every random choice, so that the
//!   same seeds give the same outcomes in every run and build; not for cryptography.
//! - [`seeds`]: per-request seeds derived from (run seed, sample, request path, attempt).
//! - [`statistics`]: mean ± std, paired t-test, bootstrap intervals (for reports).
//! - [`store`]: the sled store of a run: response cache, manifest, records, failures, imports.
//! - [`synth`]: instruction-data synthesis for training the simulated user (critique and scoring
//!   examples, a teacher model behind the response cache).
//! - [`input_error`]: the error type for bad input files, naming file, line and field.

pub mod catalog;
pub mod config;
pub mod crs;
pub mod data;
pub mod evaluation;
pub mod explore;
pub mod input_error;
pub mod jobs;
mod json_record;
pub mod matching;
pub mod metrics;
pub mod model;
pub mod predictions;
pub mod probe;
pub mod prompts;
pub mod random;
pub mod report;
pub mod search;
pub mod seeds;
pub mod statistics;
pub mod store;
pub mod sweep;
pub mod synth;
pub mod user;

pub use grsu_plot as plot;
pub use input_error::InputError;
