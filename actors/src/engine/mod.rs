//! The runtime of `grsu run`: the actors of one run and the function that wires them.
//!
//! ```text
//! SweepActor (one per run): admits (seed, sample) pairs, supervises conversations
//!  ├── ConversationActor × in-flight samples: one sample's lifecycle, writes its record
//!  │    └── BeamActor: drives the sample's search strategy (a pure state machine)
//! CrsActor, UserActor: prompts, parsing, retries (a task per request)
//! ModelActor "crs", ModelActor "user": the response cache in front of each role's endpoints
//! ResultsActor: the only writer of records
//! ```
//!
//! No actor awaits a model call inside `handle`: requests run in tasks that answer on reply ports,
//! and concurrency is bounded by `max_in_flight` samples and the endpoint pools' per-endpoint caps.

mod beam_actor;
mod conversation_actor;
mod crs_actor;
mod model_actor;
mod progress;
mod results_actor;
mod sweep_actor;
mod user_actor;

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use grsu::catalog::Catalog;
use grsu::config::RunConfig;
use grsu::data::{Dataset, LoadOptions};
use grsu::matching::TitleMatcher;
use grsu::model::embedded::{default_model_path, EmbeddedBackend};
use grsu::model::http::HttpBackend;
use grsu::model::pool::{EjectionPolicy, EndpointPool, RetryPolicy};
use grsu::model::scoring::ScoringSettings;
use grsu::model::Backend;
use grsu::prompts::ItemView;
use grsu::run_metrics::{cost_table, markdown_table, summarize, RunMetrics};
use grsu::store::{RunManifest, Store};
use ractor::Actor;

use crs_actor::{CrsActor, CrsArguments};
use model_actor::{ModelActor, ModelArguments, ModelTarget};
use progress::Progress;
use results_actor::ResultsActor;
use sweep_actor::{SweepActor, SweepArguments, SweepSummary};
use user_actor::{UserActor, UserArguments};

/// How a run ended.
pub struct RunOutcome {
    pub metrics: RunMetrics,
    pub summary: SweepSummary,
    pub skipped: u64,
    pub model_calls: u64,
    pub output: PathBuf,
    pub wall: Duration,
}

/// The folder of a run's store inside its output folder.
pub fn store_path(output: &Path) -> PathBuf {
    output.join("store")
}

/// Runs (or resumes) the run a config describes.
pub async fn run(config: RunConfig, config_path: &Path) -> anyhow::Result<RunOutcome> {
    let started = Instant::now();
    let config = Arc::new(config);
    let catalog = Arc::new(Catalog::load(
        &config.data.catalog,
        config.data.catalog_format,
    )?);
    let dataset = Dataset::load(
        &config.data.path,
        config.data.format,
        LoadOptions {
            catalog: Some(&catalog),
            only_new: config.data.only_new,
        },
    )?;
    let mut samples = dataset.samples;
    if let Some(limit) = config.data.limit {
        samples.truncate(limit);
    }
    if samples.is_empty() {
        bail!(
            "{}: no samples to run (check [data])",
            config.data.path.display()
        );
    }
    std::fs::create_dir_all(&config.run.output)
        .with_context(|| format!("cannot create {}", config.run.output.display()))?;
    let store = Store::open(&store_path(&config.run.output))?;

    let targets = model_targets(&config).await?;
    let identities: BTreeMap<String, String> = targets
        .iter()
        .map(|(role, target)| (role.clone(), target.identity()))
        .collect();
    check_manifest(&store, &config, config_path, &identities, samples.len())?;

    let mut queue = VecDeque::new();
    let mut skipped = 0;
    for &seed in &config.run.seeds {
        for sample in &samples {
            if store.has_record(seed, &sample.id)? {
                skipped += 1;
            } else {
                queue.push_back((seed, Arc::new(sample.clone())));
            }
        }
    }
    tracing::info!(
        samples = samples.len(),
        seeds = config.run.seeds.len(),
        to_run = queue.len(),
        already_done = skipped,
        output = %config.run.output.display(),
        "starting run `{}`",
        config.run.name
    );
    let progress = Progress::new(queue.len() as u64, skipped);
    let cache = store.response_cache()?;
    let matcher = Arc::new(TitleMatcher::new(&catalog, config.crs.min_match_score));
    let model = |role: &str| ModelArguments {
        role: role.to_string(),
        target: targets[role].clone(),
        cache: cache.clone(),
        progress: progress.clone(),
    };
    let (crs_model, _) = Actor::spawn(None, ModelActor, model("crs")).await?;
    let (user_model, _) = Actor::spawn(None, ModelActor, model("user")).await?;
    let (crs, _) = Actor::spawn(
        None,
        CrsActor,
        CrsArguments {
            model: crs_model.clone(),
            catalog: catalog.clone(),
            matcher,
            list_length: config.crs_list_length(),
            parse_mode: config.crs.list_parse,
            max_tokens: config.crs.max_tokens,
            answer_prefix: config.crs.answer_prefix.clone(),
        },
    )
    .await?;
    let (user, _) = Actor::spawn(
        None,
        UserActor,
        UserArguments {
            model: user_model.clone(),
            catalog: catalog.clone(),
            view: ItemView::from_settings(config.user.attributes, config.user.plot),
            scoring: ScoringSettings {
                mode: config.user.scoring_mode,
                formula: config.user.score_formula,
                top_logprobs: config.user.top_logprobs,
                ..ScoringSettings::default()
            },
            score_context: config.user.score_context,
            critique_max_tokens: config.user.critique_max_tokens,
        },
    )
    .await?;
    let (results, _) = Actor::spawn(None, ResultsActor, store.clone()).await?;

    let (done_sender, done) = tokio::sync::oneshot::channel();
    let summary = if queue.is_empty() {
        SweepSummary::default()
    } else {
        let (stop_sender, stop) = tokio::sync::watch::channel(false);
        let reporter = tokio::spawn(progress.clone().report_until(stop));
        let (sweep, sweep_handle) = Actor::spawn(
            None,
            SweepActor,
            SweepArguments {
                config: config.clone(),
                queue,
                crs: crs.clone(),
                user: user.clone(),
                results: results.clone(),
                progress: progress.clone(),
                done: done_sender,
            },
        )
        .await?;
        let summary = tokio::select! {
            summary = done => summary.context("the sweep stopped without a summary")?,
            _ = tokio::signal::ctrl_c() => {
                sweep.stop(None);
                store.flush()?;
                bail!(
                    "interrupted: finished samples are stored; run `grsu run {}` again to resume",
                    config_path.display()
                );
            }
        };
        let _ = sweep_handle.await;
        let _ = stop_sender.send(true);
        let _ = reporter.await;
        summary
    };
    for actor in [
        crs.get_cell(),
        user.get_cell(),
        results.get_cell(),
        crs_model.get_cell(),
        user_model.get_cell(),
    ] {
        actor.stop(None);
    }
    store.flush()?;

    let records = store.records()?;
    let seeds: Vec<u64> = config.run.seeds.clone();
    let wanted: std::collections::HashSet<(u64, &str)> = seeds
        .iter()
        .flat_map(|&seed| samples.iter().map(move |sample| (seed, sample.id.as_str())))
        .collect();
    let records: Vec<_> = records
        .into_iter()
        .filter(|record| wanted.contains(&(record.seed, record.sample.as_str())))
        .collect();
    let metrics = summarize(&records, &config.output.strategies);
    write_reports(&config.run.output, &metrics)?;
    Ok(RunOutcome {
        metrics,
        summary,
        skipped,
        model_calls: progress.calls(),
        output: config.run.output.clone(),
        wall: started.elapsed(),
    })
}

/// Refuses to resume a store made by a different config; writes the manifest of a new run.
fn check_manifest(
    store: &Store,
    config: &RunConfig,
    config_path: &Path,
    models: &BTreeMap<String, String>,
    samples: usize,
) -> anyhow::Result<()> {
    let hash = config.results_hash();
    match store.manifest()? {
        Some(manifest) if manifest.results_hash != hash => bail!(
            "{} holds a run of another configuration (results hash {} there, {} in {}); choose another [run] output",
            config.run.output.display(),
            manifest.results_hash,
            hash,
            config_path.display()
        ),
        Some(manifest) if &manifest.models != models => bail!(
            "{} was run with other models ({:?}); now {:?}: choose another [run] output",
            config.run.output.display(),
            manifest.models,
            models
        ),
        Some(_) => Ok(()),
        None => {
            let manifest = RunManifest {
                name: config.run.name.clone(),
                config: serde_json::to_value(config)?,
                results_hash: hash,
                code_version: env!("CARGO_PKG_VERSION").to_string(),
                models: models.clone(),
                samples,
                created_unix: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs()),
            };
            Ok(store.put_manifest(&manifest)?)
        }
    }
}

/// The backends of the two roles: an endpoint pool where endpoints are configured, else the
/// embedded model (loaded once, shared by both roles).
async fn model_targets(config: &RunConfig) -> anyhow::Result<BTreeMap<String, ModelTarget>> {
    let mut embedded: BTreeMap<PathBuf, Arc<dyn Backend>> = BTreeMap::new();
    let mut targets = BTreeMap::new();
    for role in grsu::config::run_config::ROLES {
        let settings = config.role(role);
        let target = if settings.is_embedded() {
            let path = settings
                .embedded_model
                .clone()
                .unwrap_or_else(default_model_path);
            let backend = match embedded.get(&path) {
                Some(backend) => backend.clone(),
                None => {
                    let loaded = tokio::task::spawn_blocking({
                        let path = path.clone();
                        move || EmbeddedBackend::load(&path)
                    })
                    .await?
                    .with_context(|| format!("[models.{role}] has no endpoints, so the embedded model is used; run `grsu model fetch` to get it"))?;
                    let backend: Arc<dyn Backend> = Arc::new(loaded);
                    embedded.insert(path, backend.clone());
                    backend
                }
            };
            ModelTarget::Single(backend)
        } else {
            let endpoints = settings
                .http_endpoints(role)?
                .into_iter()
                .map(|endpoint| {
                    Ok((
                        Arc::new(HttpBackend::new(endpoint)?) as Arc<dyn Backend>,
                        settings.max_concurrency,
                    ))
                })
                .collect::<Result<Vec<_>, grsu::model::ModelError>>()?;
            ModelTarget::Pool(EndpointPool::new(
                role.to_string(),
                endpoints,
                RetryPolicy::default(),
                EjectionPolicy::default(),
            )?)
        };
        targets.insert(role.to_string(), target);
    }
    Ok(targets)
}

/// Writes `metrics.json` and `metrics.md` into the output folder.
pub fn write_reports(output: &Path, metrics: &RunMetrics) -> anyhow::Result<()> {
    std::fs::write(
        output.join("metrics.json"),
        serde_json::to_vec_pretty(metrics)?,
    )?;
    let markdown = format!(
        "# Metrics\n\n{}\n## Reward-mean ranking by search depth\n\n{}\n## Cost\n\n{}",
        markdown_table(&metrics.rows),
        markdown_table(&metrics.depth_curve),
        cost_table(metrics)
    );
    std::fs::write(output.join("metrics.md"), markdown)?;
    Ok(())
}
