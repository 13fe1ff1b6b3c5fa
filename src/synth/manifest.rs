//! The manifest written beside an examples file: where the examples came from (source, teacher,
//! seeds, settings) and how many of each kind were made or left out.
//!
//! Everything but `this_run` is a function of the config and the teacher's answers, so two runs of
//! one config agree on it; `this_run` tells what the last run paid (calls made, calls replayed
//! from the cache, wall time).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::example::ExampleKind;

/// The training source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceInfo {
    pub format: String,
    pub path: PathBuf,
    pub catalog: PathBuf,
    pub catalog_items: usize,
    pub only_new: bool,
    pub limit: Option<usize>,
    /// Recommendation turns used (after `only_new` and `limit`).
    pub histories: usize,
}

/// The teacher of critique synthesis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeacherInfo {
    /// The model's identity (`openai:<model>` or the embedded model's file identity).
    pub identity: String,
    /// Endpoints it was served from (none: the embedded model); never an API key.
    pub endpoints: usize,
    pub temperature: f32,
    pub max_tokens: u32,
    pub max_attempts: u32,
}

/// How the randomness was derived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedInfo {
    pub seed: u64,
    /// How the lists and negatives were drawn.
    pub sampling: String,
    /// How the teacher requests were seeded (critique only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<String>,
}

/// What the last run paid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ThisRun {
    pub teacher_calls: u64,
    pub cache_hits: u64,
    pub tokens: u64,
    pub wall_s: f64,
}

/// The manifest of one examples file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthManifest {
    pub kind: ExampleKind,
    pub name: String,
    /// The examples file, beside the manifest.
    pub examples: String,
    /// `messages` (chat, user then assistant) with `meta`; see the README's training section.
    pub format: String,
    /// A hash of what determines the examples (data, seed, this kind's settings, teacher model).
    pub output_hash: String,
    pub code_version: String,
    pub source: SourceInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teacher: Option<TeacherInfo>,
    pub seeds: SeedInfo,
    /// The `[critique]` or `[score]` table as used.
    pub settings: serde_json::Value,
    /// Examples of each kind, lists capped, failures (`CritiqueCounts` or `ScoreCounts`).
    pub counts: serde_json::Value,
    pub this_run: ThisRun,
}

/// The `format` line of every manifest.
pub const EXAMPLE_FORMAT: &str = "JSON lines {\"messages\": [{\"role\": \"user\", ...}, {\"role\": \"assistant\", ...}], \"meta\": {...}}: the engine's prompt as the user message (the engine sends no system message), the target as the assistant message";
