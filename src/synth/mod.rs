//! Instruction-data synthesis for training the simulated user (paper, section 3.2.2; DESIGN §1.8).
//!
//! Two kinds of examples, both in exactly the message layout the engine sends at inference, so the
//! fine-tuned model reads at inference the instructions it was trained on:
//! - **critique**: for each recommendation turn of a training source, lists made of every subset of
//!   its label items with fewer than k items (capped per history), padded with negatives sampled
//!   from the catalog minus the labels, plus a list with no label item; a teacher model critiques
//!   each list knowing the ground-truth preference (the label items with their attributes); the
//!   example keeps the conversation, the list and d^c, drops the preference, and takes the
//!   teacher's critique as the answer;
//! - **score**: per label item the engine's scoring prompt answered
//!   `Accept the recommendation (Yes/No)? Yes`, and per sampled negative the same answered `No`.
//!
//! Everything random is drawn from streams seeded by (seed, sample, choice) and every teacher
//! request carries a seed, so a config gives the same files on every run, and a rerun (after a
//! crash, or to add samples) answers finished teacher calls from the response cache.
//!
//! ## Layout
//!
//! - [`config`]: [`SynthConfig`], the TOML of `grsu synth critique|score --config C`.
//! - [`sampling`]: seeded streams, negatives.
//! - [`subsets`]: label subsets in a fixed order, by rank, and the cap.
//! - [`lists`]: the item lists of one history.
//! - [`teacher`]: [`Teacher`], the teacher model behind the response cache (the library's
//!   cached backend, built like any role).
//! - [`critique_synthesis`]: teacher requests, validation and retries, critique examples in order.
//! - [`score_examples`]: the scoring examples of one history.
//! - [`example`]: [`TrainingExample`], its JSON line, the examples file.
//! - [`manifest`]: [`SynthManifest`], written beside each examples file.
//! - [`progress`]: [`SynthProgress`], counters for a progress bar.
//! - [`synthesis`]: both syntheses end to end over an output folder.

pub mod config;
pub mod critique_synthesis;
pub mod example;
pub mod lists;
pub mod manifest;
pub mod progress;
pub mod sampling;
pub mod score_examples;
pub mod subsets;
pub mod synthesis;
pub mod teacher;

pub use config::SynthConfig;
pub use critique_synthesis::{synthesize_critiques, CritiqueContext, CritiqueCounts};
pub use example::{ExampleKind, TrainingExample};
pub use manifest::SynthManifest;
pub use progress::{ProgressSnapshot, SynthProgress};
pub use score_examples::ScoreCounts;
pub use synthesis::{plan_critique, run_critique, run_score, SynthError, SynthOutcome};
pub use teacher::Teacher;
