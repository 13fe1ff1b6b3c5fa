//! The two syntheses end to end: read the source, make the examples, write the examples file and
//! its manifest into the output folder.
//!
//! ```text
//! <output>/critique.jsonl           critique examples      (grsu synth critique)
//! <output>/critique.manifest.json   source, teacher, seeds, counts
//! <output>/score.jsonl              scoring examples       (grsu synth score)
//! <output>/score.manifest.json
//! <output>/store/                   the teacher's response cache (sled)
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::config::SynthConfig;
use super::critique_synthesis::{
    plan_critiques, synthesize_critiques, CritiqueContext, CritiqueCounts,
};
use super::example::{write_atomically, ExampleFile, ExampleKind};
use super::manifest::{SeedInfo, SourceInfo, SynthManifest, TeacherInfo, ThisRun, EXAMPLE_FORMAT};
use super::progress::SynthProgress;
use super::score_examples::{score_examples, ScoreCounts};
use super::teacher::teacher_from_config;
use crate::catalog::Catalog;
use crate::config::models::ModelConfigError;
use crate::data::{Dataset, LoadOptions, Sample};
use crate::input_error::InputError;
use crate::model::build::{BuildError, EmbeddedLoader};
use crate::prompts::CRITIQUE_MAX_ATTEMPTS;
use crate::store::{Store, StoreError};

/// A synthesis that could not be done.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// The dataset or catalog cannot be used.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The config's source gives nothing to work on.
    #[error("{path}: no recommendation turns with catalog labels (check [data])")]
    NoSamples { path: PathBuf },
    /// The teacher cannot be set up.
    #[error("[models.teacher]: {0}")]
    Teacher(#[from] BuildError),
    /// The output folder's store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing an output file.
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl SynthError {
    /// Whether the user's input (data, config) is at fault: exit code 2 rather than 1.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            SynthError::Input(_)
                | SynthError::NoSamples { .. }
                | SynthError::Teacher(BuildError::Config(
                    ModelConfigError::Invalid { .. } | ModelConfigError::MissingKey { .. },
                ))
        )
    }
}

/// A finished synthesis.
#[derive(Debug, Clone)]
pub struct SynthOutcome {
    pub examples: PathBuf,
    pub manifest_path: PathBuf,
    pub manifest: SynthManifest,
}

/// The store folder inside an output folder.
pub fn store_path(output: &Path) -> PathBuf {
    output.join("store")
}

/// The examples file and manifest of one kind.
pub fn output_files(output: &Path, kind: ExampleKind) -> (PathBuf, PathBuf) {
    let name = kind_name(kind);
    (
        output.join(format!("{name}.jsonl")),
        output.join(format!("{name}.manifest.json")),
    )
}

/// The name of a kind in file names and in the output hash.
fn kind_name(kind: ExampleKind) -> &'static str {
    match kind {
        ExampleKind::Critique => "critique",
        ExampleKind::Score => "score",
    }
}

/// The catalog and the recommendation turns the config names (after `only_new` and `limit`).
pub fn load_source(config: &SynthConfig) -> Result<(Catalog, Vec<Sample>), SynthError> {
    let data = &config.data;
    let catalog = Catalog::load(&data.catalog, data.catalog_format)?;
    let mut samples = Dataset::load(
        &data.path,
        data.format,
        LoadOptions {
            catalog: Some(&catalog),
            only_new: data.only_new,
        },
    )?
    .samples;
    if let Some(limit) = data.limit {
        samples.truncate(limit);
    }
    if samples.is_empty() {
        return Err(SynthError::NoSamples {
            path: data.path.clone(),
        });
    }
    Ok((catalog, samples))
}

fn source_info(config: &SynthConfig, catalog: &Catalog, samples: &[Sample]) -> SourceInfo {
    SourceInfo {
        format: config.data.format.name().to_string(),
        path: readable(&config.data.path),
        catalog: readable(&config.data.catalog),
        catalog_items: catalog.len(),
        only_new: config.data.only_new,
        limit: config.data.limit,
        histories: samples.len(),
    }
}

const SAMPLING: &str = "SplitMix64 streams seeded by SHA-256(\"grsu-synth\\0\", seed, sample id, \"\\0\", choice path), one per choice: critique/subsets, critique/subset/{rank}, critique/no-label/{j}, score/negatives, score/list/{label position}";

fn create_output(config: &SynthConfig) -> Result<(), SynthError> {
    std::fs::create_dir_all(&config.synth.output).map_err(|source| SynthError::Write {
        path: config.synth.output.clone(),
        source,
    })
}

fn write_manifest(path: &Path, manifest: &SynthManifest) -> Result<(), SynthError> {
    let mut text = serde_json::to_vec_pretty(manifest).expect("a manifest serialises");
    text.push(b'\n');
    write_atomically(path, &text).map_err(|source| SynthError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// What the manifest of one kind records of its own; the rest every kind records the same way.
struct KindRecord {
    teacher: Option<TeacherInfo>,
    /// How the teacher's requests are seeded (none without a teacher).
    requests: Option<String>,
    settings: serde_json::Value,
    counts: serde_json::Value,
    this_run: ThisRun,
}

/// Writes the manifest of a finished synthesis of `kind` from `catalog` and `samples`, and returns
/// the outcome.
fn finish_synthesis(
    config: &SynthConfig,
    kind: ExampleKind,
    catalog: &Catalog,
    samples: &[Sample],
    own: KindRecord,
) -> Result<SynthOutcome, SynthError> {
    let (examples_path, manifest_path) = output_files(&config.synth.output, kind);
    let manifest = SynthManifest {
        kind,
        name: config.synth.name.clone(),
        examples: file_name(&examples_path),
        format: EXAMPLE_FORMAT.to_string(),
        output_hash: config.output_hash(kind_name(kind)),
        code_version: env!("CARGO_PKG_VERSION").to_string(),
        source: source_info(config, catalog, samples),
        teacher: own.teacher,
        seeds: SeedInfo {
            seed: config.synth.seed,
            sampling: SAMPLING.to_string(),
            requests: own.requests,
        },
        settings: own.settings,
        counts: own.counts,
        this_run: own.this_run,
    };
    write_manifest(&manifest_path, &manifest)?;
    Ok(SynthOutcome {
        examples: examples_path,
        manifest_path,
        manifest,
    })
}

/// `grsu synth critique --plan`: the lists a critique synthesis would make (no teacher, no file).
pub fn plan_critique(config: &SynthConfig) -> Result<CritiqueCounts, SynthError> {
    let (catalog, samples) = load_source(config)?;
    Ok(plan_critiques(
        &samples,
        &catalog,
        &config.critique,
        config.synth.seed,
    ))
}

/// `grsu synth critique`: critique examples from the teacher, resumable through the store's
/// response cache. An embedded teacher (no endpoints) is loaded by `loader` (the CLI passes
/// `grsu_embedded::loader()`).
pub async fn run_critique(
    config: &SynthConfig,
    progress: &SynthProgress,
    loader: Option<Arc<dyn EmbeddedLoader>>,
) -> Result<SynthOutcome, SynthError> {
    let started = Instant::now();
    let (catalog, samples) = load_source(config)?;
    create_output(config)?;
    let store = Store::open(&store_path(&config.synth.output))?;
    let teacher_settings = config.teacher();
    let teacher = teacher_from_config(teacher_settings, store.response_cache()?, loader).await?;
    tracing::info!(
        histories = samples.len(),
        teacher = teacher.identity(),
        output = %config.synth.output.display(),
        "critique synthesis `{}`",
        config.synth.name
    );
    let (examples_path, _) = output_files(&config.synth.output, ExampleKind::Critique);
    let write_error = |source| SynthError::Write {
        path: examples_path.clone(),
        source,
    };
    let mut file = ExampleFile::create(&examples_path).map_err(write_error)?;
    let context = CritiqueContext {
        catalog: &catalog,
        settings: &config.critique,
        seed: config.synth.seed,
        max_in_flight: config.synth.max_in_flight,
        teacher: &teacher,
        progress,
    };
    let counts = synthesize_critiques(&samples, &context, |example| file.write(example))
        .await
        .map_err(write_error)?;
    file.finish().map_err(write_error)?;
    store.flush()?;
    let snapshot = progress.snapshot();
    let own = KindRecord {
        teacher: Some(TeacherInfo {
            identity: teacher.identity().to_string(),
            endpoints: teacher_settings.endpoints.len(),
            temperature: config.critique.temperature,
            max_tokens: config.critique.max_tokens,
            max_attempts: CRITIQUE_MAX_ATTEMPTS,
        }),
        requests: Some(
            "request_seed(seed, sample id, list path, attempt): SHA-256, below 2^31".into(),
        ),
        settings: serde_json::to_value(&config.critique).expect("JSON"),
        counts: serde_json::to_value(counts).expect("JSON"),
        this_run: ThisRun {
            teacher_calls: snapshot.teacher_calls,
            cache_hits: snapshot.cache_hits,
            tokens: snapshot.tokens,
            wall_s: started.elapsed().as_secs_f64(),
        },
    };
    finish_synthesis(config, ExampleKind::Critique, &catalog, &samples, own)
}

/// `grsu synth score`: scoring examples (no model involved).
pub fn run_score(
    config: &SynthConfig,
    progress: &SynthProgress,
) -> Result<SynthOutcome, SynthError> {
    let started = Instant::now();
    let (catalog, samples) = load_source(config)?;
    create_output(config)?;
    SynthProgress::add(&progress.total, samples.len() as u64);
    let (examples_path, _) = output_files(&config.synth.output, ExampleKind::Score);
    let write_error = |source| SynthError::Write {
        path: examples_path.clone(),
        source,
    };
    let mut file = ExampleFile::create(&examples_path).map_err(write_error)?;
    let mut counts = ScoreCounts::default();
    for sample in &samples {
        for example in score_examples(
            sample,
            &catalog,
            &config.score,
            config.synth.seed,
            &mut counts,
        ) {
            file.write(&example).map_err(write_error)?;
        }
        SynthProgress::add(&progress.done, 1);
    }
    file.finish().map_err(write_error)?;
    let own = KindRecord {
        teacher: None,
        requests: None,
        settings: serde_json::to_value(&config.score).expect("JSON"),
        counts: serde_json::to_value(counts).expect("JSON"),
        this_run: ThisRun {
            teacher_calls: 0,
            cache_hits: 0,
            tokens: 0,
            wall_s: started.elapsed().as_secs_f64(),
        },
    };
    finish_synthesis(config, ExampleKind::Score, &catalog, &samples, own)
}

/// The absolute path without `..` steps when it can be had, else the path as given.
fn readable(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}
