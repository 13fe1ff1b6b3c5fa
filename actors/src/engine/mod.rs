//! The runtime of `grsu run`: the actors of one run and the function that wires them
//! ([`run`]`(sweep, shard, shutdown)`).
//!
//! ```text
//! run() ──────────────────── stops the run on: the sweep's summary, `shutdown`, a dead role
//!  │                         (every endpoint failing for give_up_after_s), a dead actor
//!  ├── SupervisorActor: parent of the long-lived actors; one of them failing or stopping by
//!  │    │               itself stops the run with an error naming it
//!  │    ├── ModelActor per distinct (role, model settings): the response cache in front of the
//!  │    │   endpoints, in-flight de-duplication
//!  │    ├── CrsActor, UserActor per shared search: prompts, parsing, retries (a task per request)
//!  │    └── ResultsActor: the only writer of records
//!  └── SweepActor: admits (search, seed, sample) units of every cell up to max_in_flight
//!       └── SampleActor × in-flight units (linked: a crash is one failed sample): drives the
//!           sample's search strategy (a pure state machine) and writes its record
//! ```
//!
//! No actor awaits a model call inside `handle`: requests run in tasks that answer on reply ports,
//! and concurrency is bounded by `max_in_flight` samples and the endpoint pools' per-endpoint caps.

mod crs_actor;
mod model_actor;
pub mod progress;
mod results_actor;
mod sample_actor;
mod supervisor_actor;
mod sweep_actor;
mod user_actor;

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use grsu::catalog::Catalog;
use grsu::config::{RunConfig, Scorer};
use grsu::crs::Recommender;
use grsu::data::{Dataset, LoadOptions, Sample};
use grsu::model::ask::AdmissionGate;
use grsu::model::build::{BackendBuilder, BuiltBackend};
use grsu::model::cached::CachedBackend;
use grsu::model::pool::EndpointPool;
use grsu::model::role::Role;
use grsu::report::{Report, ReportOptions};
use grsu::store::{CellManifest, SampleLabels, SearchManifest, Store, SweepManifest};
use grsu::sweep::{Shard, ShardSource, Sweep};
use grsu::user::{RewardScorer, SimulatedUser};
use ractor::{Actor, ActorCell, ActorRef};

use crs_actor::{CrsActor, CrsArguments};
use model_actor::{ModelActor, ModelArguments, ModelHandle};
use progress::Progress;
use results_actor::ResultsActor;
use supervisor_actor::{SupervisorActor, SupervisorArguments, SupervisorMessage};
use sweep_actor::{SearchRuntime, SweepActor, SweepArguments, SweepSummary};
use user_actor::{UserActor, UserArguments};

/// How a run ended.
pub struct RunOutcome {
    pub report: Report,
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

/// The samples of one `[data]` section (loaded once however many searches read it).
fn load_samples(config: &RunConfig, catalog: &Catalog) -> anyhow::Result<Vec<Arc<Sample>>> {
    let dataset = Dataset::load(
        &config.data.path,
        config.data.format,
        LoadOptions {
            catalog: Some(catalog),
            only_new: config.data.only_new,
        },
    )?;
    let mut samples = dataset.samples;
    if let Some(most) = config.data.per_conversation {
        let mut taken: BTreeMap<String, usize> = BTreeMap::new();
        samples.retain(|sample| {
            let count = taken.entry(sample.conversation.clone()).or_default();
            *count += 1;
            *count <= most
        });
    }
    if let Some(limit) = config.data.limit {
        samples.truncate(limit);
    }
    if samples.is_empty() {
        bail!(
            "{}: no samples to run (check [data])",
            config.data.path.display()
        );
    }
    Ok(samples.into_iter().map(Arc::new).collect())
}

/// Where the share `shard` of a sweep writes: its own store under the sweep's output folder, so
/// that orchestrators never write one store (`grsu merge` combines them).
pub fn shard_output(output: &Path, shard: Shard) -> PathBuf {
    output
        .join("shards")
        .join(format!("{}-of-{}", shard.index, shard.count))
}

/// Runs (or resumes) every cell of a sweep under one admission control, then writes the report.
/// With a shard, only its share of the samples, into [`shard_output`]. When `shutdown` resolves
/// (the CLI passes Ctrl-C), no more samples are admitted, the store is flushed and the run ends
/// with [`RunStopped::Interrupted`].
pub async fn run(
    sweep: Sweep,
    shard: Option<Shard>,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<RunOutcome> {
    run_from(
        sweep,
        shard.map(|shard| (shard, ShardSource::Explicit)),
        shutdown,
    )
    .await
}

/// A request to stop a run, from the process's signals (see [`RunControl`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// SIGTERM: Slurm's preemption, time limit or `scancel`; Kubernetes' pod termination.
    Terminate,
    /// SIGINT (Ctrl-C).
    Interrupt,
}

impl std::fmt::Display for StopSignal {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            StopSignal::Terminate => "SIGTERM",
            StopSignal::Interrupt => "Ctrl-C",
        })
    }
}

/// What a run says when a first signal makes it drain.
#[derive(Debug, Clone)]
pub struct DrainStarted {
    pub signal: StopSignal,
    /// Samples admitted and not finished: they may go on until the deadline.
    pub samples_in_flight: u64,
    /// Model calls sent and not answered.
    pub calls_in_flight: u64,
    /// `[run] drain_timeout_s`.
    pub deadline: Duration,
}

/// How a run is stopped from outside: the first signal received on `stops` drains it (admits no
/// more samples, lets those in flight finish for at most `[run] drain_timeout_s`, flushes the
/// store and ends with [`RunStopped::Drained`]), a second one stops it at once
/// ([`RunStopped::Abandoned`]). `on_drain` is told when draining starts (the CLI says it on
/// stderr).
pub struct RunControl {
    pub stops: tokio::sync::mpsc::UnboundedReceiver<StopSignal>,
    pub on_drain: Box<dyn FnMut(&DrainStarted) + Send>,
}

/// [`run`], with where the shard came from (recorded in the manifest).
pub async fn run_from(
    sweep: Sweep,
    shard_from: Option<(Shard, ShardSource)>,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<RunOutcome> {
    run_controlled(sweep, shard_from, shutdown, None).await
}

/// [`run_from`] stopped by signals (drained, then at once; see [`RunControl`]) instead of by a
/// future: what `grsu run` uses.
pub async fn run_with_control(
    sweep: Sweep,
    shard_from: Option<(Shard, ShardSource)>,
    control: RunControl,
) -> anyhow::Result<RunOutcome> {
    run_controlled(sweep, shard_from, std::future::pending(), Some(control)).await
}

/// The next stop signal, or never without a control.
async fn next_stop(control: &mut Option<RunControl>) -> Option<StopSignal> {
    match control {
        Some(control) => control.stops.recv().await,
        None => std::future::pending().await,
    }
}

async fn run_controlled(
    mut sweep: Sweep,
    shard_from: Option<(Shard, ShardSource)>,
    shutdown: impl std::future::Future<Output = ()>,
    mut control: Option<RunControl>,
) -> anyhow::Result<RunOutcome> {
    let started = Instant::now();
    let shard = shard_from.map(|(shard, _)| shard);
    if let Some(shard) = shard {
        sweep.output = shard_output(&sweep.output, shard);
    }
    std::fs::create_dir_all(&sweep.output)
        .with_context(|| format!("cannot create {}", sweep.output.display()))?;
    let path = store_path(&sweep.output);
    let store = Store::open(&path)
        .map_err(|error| anyhow::anyhow!(grsu::store::explain_open_failure(&path, &error)))?;

    // Catalogs, datasets and model backends are loaded once and shared by the searches that
    // name the same ones.
    let mut catalogs: BTreeMap<String, Arc<Catalog>> = BTreeMap::new();
    let mut datasets: BTreeMap<String, Vec<Arc<Sample>>> = BTreeMap::new();
    let mut backends = BackendBuilder::new(grsu_embedded::loader());
    let mut search_samples = Vec::new();
    let mut search_targets = Vec::new();
    for search in &sweep.searches {
        let config = &search.config;
        let catalog_key = format!("{:?}", (&config.data.catalog, config.data.catalog_format));
        let catalog = match catalogs.get(&catalog_key) {
            Some(catalog) => catalog.clone(),
            None => {
                let catalog = Arc::new(
                    Catalog::load(&config.data.catalog, config.data.catalog_format)
                        .map_err(|error| bad_data(&sweep, search, error))?,
                );
                catalogs.insert(catalog_key.clone(), catalog.clone());
                catalog
            }
        };
        let data_key = serde_json::to_string(&config.data)?;
        let samples = match datasets.get(&data_key) {
            Some(samples) => samples.clone(),
            None => {
                let samples = load_samples(config, &catalog)
                    .map_err(|error| bad_data(&sweep, search, error))?;
                datasets.insert(data_key, samples.clone());
                samples
            }
        };
        search_samples.push((catalog, samples));
        search_targets.push(role_backends(&mut backends, config).await?);
    }
    update_manifest(&store, &sweep, shard_from, &search_targets, &search_samples)?;

    // Admission order: seed, then sample, then search, so that the cells of one sample run
    // side by side and share their requests while they are in flight. A record searched less
    // deep than its search now asks for is searched again: its earlier calls are answered from
    // the response cache, so the tree is continued where it stopped.
    let mut queue = VecDeque::new();
    let mut skipped = 0;
    let mut continued = 0;
    let longest = search_samples
        .iter()
        .map(|(_, samples)| samples.len())
        .max()
        .unwrap_or(0);
    for &seed in &sweep.seeds {
        for position in 0..longest {
            if shard.is_some_and(|shard| !shard.owns(position)) {
                continue;
            }
            for (index, (search, (_, samples))) in
                sweep.searches.iter().zip(&search_samples).enumerate()
            {
                let Some(sample) = samples.get(position) else {
                    continue;
                };
                let needed = search.config.search.depth;
                // A record that cannot be read is searched again (its calls come from the
                // response cache) and replaced; the damage is said, never passed over.
                let searched = match store.searched_depth(&search.key, seed, &sample.id) {
                    Err(grsu::store::StoreError::Corrupt { tree, message }) => {
                        tracing::warn!(
                            store = %store_path(&sweep.output).display(),
                            "the record of {} in `{tree}` cannot be read ({message}): \
                             searching it again",
                            grsu::store::record_key(&search.key, seed, &sample.id)
                        );
                        None
                    }
                    searched => searched?,
                };
                match searched {
                    Some(depth) if !search.config.depth_is_shared() || depth >= needed => {
                        skipped += 1;
                    }
                    Some(_) => {
                        continued += 1;
                        queue.push_back((index, seed, sample.clone()));
                    }
                    None => queue.push_back((index, seed, sample.clone())),
                }
            }
        }
    }
    tracing::info!(
        cells = sweep.cells.len(),
        searches = sweep.searches.len(),
        seeds = sweep.seeds.len(),
        to_run = queue.len(),
        already_done = skipped,
        continued_deeper = continued,
        output = %sweep.output.display(),
        "starting sweep `{}`",
        sweep.name
    );
    let progress = Progress::new(
        queue.len() as u64,
        skipped,
        Some(sweep.output.join("progress.json")),
    );
    let cache = store.response_cache()?;

    // The long-lived actors are linked to one supervisor: one of them dying stops the run with an
    // error naming it, instead of leaving samples waiting for an actor that is gone.
    let (died_sender, mut died) = tokio::sync::mpsc::unbounded_channel();
    let mut handles = Vec::new();
    let (supervisor, _) = Actor::spawn(
        None,
        SupervisorActor,
        SupervisorArguments { died: died_sender },
    )
    .await?;

    // One model actor per distinct (role, model settings): cells asking the same model share its
    // in-flight de-duplication as well as the cache.
    let mut model_actors: BTreeMap<String, ModelHandle> = BTreeMap::new();
    let mut searches = Vec::new();
    let mut actors: Vec<ActorCell> = Vec::new();
    for ((search, (catalog, _)), targets) in sweep
        .searches
        .iter()
        .zip(&search_samples)
        .zip(&search_targets)
    {
        let config = Arc::new(search.config.clone());
        // Keyed by the side (CRS or simulated user, for the counters) and the settings: the
        // user's two behaviours on one model share an actor.
        let side_target = |role: Role| {
            let built = &targets[&role];
            (
                format!("{}/{}", role.side(), built.key),
                role.side(),
                built.backend.clone(),
            )
        };
        let (crs_key, crs_side, crs_backend) = side_target(Role::Crs);
        let (user_key, user_side, user_backend) = side_target(Role::User);
        let (critique_key, critique_side, critique_backend) = side_target(Role::Critique);
        for (key, side, backend) in [
            (crs_key.clone(), crs_side, crs_backend),
            (user_key.clone(), user_side, user_backend),
            (critique_key.clone(), critique_side, critique_backend),
        ] {
            if let std::collections::btree_map::Entry::Vacant(entry) = model_actors.entry(key) {
                let admission = AdmissionGate::for_capacity(backend.capacity());
                let actor = spawn_supervised(
                    &supervisor,
                    &mut handles,
                    format!("model actor of the `{side}` side"),
                    ModelActor,
                    ModelArguments {
                        side,
                        backend: CachedBackend::shared(backend, cache.clone()),
                        progress: progress.clone(),
                    },
                )
                .await?;
                actors.push(actor.get_cell());
                entry.insert(ModelHandle::new(actor, admission));
            }
        }
        let crs = spawn_supervised(
            &supervisor,
            &mut handles,
            format!("CRS actor of search {}", search.key),
            CrsActor,
            CrsArguments {
                recommender: Recommender::for_config(&config, catalog.clone()),
                model: model_actors[&crs_key].clone(),
            },
        )
        .await?;
        let user = spawn_supervised(
            &supervisor,
            &mut handles,
            format!("simulated-user actor of search {}", search.key),
            UserActor,
            UserArguments {
                user: SimulatedUser::for_config(
                    &config,
                    catalog.clone(),
                    (config.user.scorer == Scorer::Discriminative)
                        .then(|| targets.get(&Role::Reward))
                        .flatten()
                        .map(|built| RewardScorer {
                            backend: CachedBackend::shared(built.backend.clone(), cache.clone()),
                            positive_class: config.user.positive_class,
                        }),
                ),
                model: model_actors[&user_key].clone(),
                critique_model: model_actors[&critique_key].clone(),
            },
        )
        .await?;
        actors.push(crs.get_cell());
        actors.push(user.get_cell());
        searches.push(SearchRuntime {
            key: search.key.clone(),
            config,
            crs,
            user,
        });
    }
    let results = spawn_supervised(
        &supervisor,
        &mut handles,
        "results actor".to_string(),
        ResultsActor,
        store.clone(),
    )
    .await?;
    actors.push(results.get_cell());

    let (done_sender, done) = tokio::sync::oneshot::channel();
    let summary = if queue.is_empty() {
        SweepSummary::default()
    } else {
        let (stop_sender, stop) = tokio::sync::watch::channel(false);
        let reporter = tokio::spawn(progress.clone().report_until(stop));
        let (sweep_actor, sweep_handle) = Actor::spawn(
            None,
            SweepActor,
            SweepArguments {
                max_in_flight: sweep.max_in_flight,
                searches,
                queue,
                results: results.clone(),
                progress: progress.clone(),
                done: done_sender,
            },
        )
        .await?;
        let resume = resume_command(&sweep, shard);
        tokio::pin!(shutdown);
        let mut done = done;
        let dead = dead_role(backends.pools(), sweep.give_up_after);
        tokio::pin!(dead);
        // Set by the first stop signal: which one, and when the samples in flight are abandoned.
        let mut draining: Option<(StopSignal, tokio::time::Instant)> = None;
        let summary = loop {
            let deadline = async {
                match draining {
                    Some((_, deadline)) => tokio::time::sleep_until(deadline).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                summary = &mut done => break summary.context("the sweep stopped without a summary")?,
                _ = &mut shutdown => {
                    sweep_actor.stop(None);
                    flush_store(&store, &sweep, shard)?;
                    return Err(RunStopped::Interrupted { resume }.into());
                }
                Some(signal) = next_stop(&mut control) => {
                    if let Some((first, _)) = draining {
                        sweep_actor.stop(None);
                        flush_store(&store, &sweep, shard)?;
                        let _ = stop_sender.send(true);
                        return Err(RunStopped::Abandoned {
                            first,
                            second: signal,
                            finished: progress.done.load(std::sync::atomic::Ordering::Relaxed),
                            abandoned: progress.samples_in_flight.load(std::sync::atomic::Ordering::Relaxed),
                            resume,
                        }
                        .into());
                    }
                    let _ = sweep_actor.cast(sweep_actor::SweepMessage::Drain);
                    draining = Some((signal, tokio::time::Instant::now() + sweep.drain_timeout));
                    let started = DrainStarted {
                        signal,
                        samples_in_flight: progress.samples_in_flight.load(std::sync::atomic::Ordering::Relaxed),
                        calls_in_flight: progress.calls_in_flight.load(std::sync::atomic::Ordering::Relaxed),
                        deadline: sweep.drain_timeout,
                    };
                    tracing::info!(signal = %signal, samples_in_flight = started.samples_in_flight, calls_in_flight = started.calls_in_flight, "draining");
                    if let Some(control) = &mut control {
                        (control.on_drain)(&started);
                    }
                }
                _ = deadline => {
                    let signal = draining.map_or(StopSignal::Terminate, |(signal, _)| signal);
                    sweep_actor.stop(None);
                    flush_store(&store, &sweep, shard)?;
                    let _ = stop_sender.send(true);
                    return Err(RunStopped::Drained {
                        signal,
                        finished: progress.done.load(std::sync::atomic::Ordering::Relaxed),
                        abandoned: progress.samples_in_flight.load(std::sync::atomic::Ordering::Relaxed),
                        deadline: sweep.drain_timeout,
                        resume,
                    }
                    .into());
                }
                Some(death) = died.recv() => {
                    sweep_actor.stop(None);
                    flush_store(&store, &sweep, shard)?;
                    return Err(RunStopped::ActorDied { death, resume }.into());
                }
                dead = &mut dead => {
                    sweep_actor.stop(None);
                    flush_store(&store, &sweep, shard)?;
                    return Err(RunStopped::DeadRole { dead, resume }.into());
                }
            }
        };
        let _ = sweep_handle.await;
        let _ = stop_sender.send(true);
        let _ = reporter.await;
        if let Some((signal, _)) = draining {
            // Every sample in flight finished before the deadline; those never admitted are
            // left to the next run (when there were any: a drain at the very end is a finished
            // run).
            let left = progress
                .total
                .saturating_sub(summary.finished + summary.failed.len() as u64);
            if left > 0 {
                drop(died);
                for actor in actors {
                    actor.stop(None);
                }
                supervisor.stop(None);
                for handle in handles {
                    let _ = handle.await;
                }
                flush_store(&store, &sweep, shard)?;
                return Err(RunStopped::Drained {
                    signal,
                    finished: summary.finished,
                    abandoned: 0,
                    deadline: sweep.drain_timeout,
                    resume,
                }
                .into());
            }
        }
        summary
    };
    // From here on, actors stop because the run asks them to.
    drop(died);
    for actor in actors {
        actor.stop(None);
    }
    supervisor.stop(None);
    for handle in handles {
        let _ = handle.await;
    }
    flush_store(&store, &sweep, shard)?;
    // What the samples needed goes before the report is read: the HTTP clients with their idle
    // connections (one per request that was in flight, thousands in a large sweep), the
    // datasets and catalogs.
    drop(model_actors);
    drop(search_targets);
    drop(backends);
    drop(search_samples);
    drop(datasets);
    drop(catalogs);
    // The run's store is reopened with the small cache of a read-through (its page cache was
    // sized for the run's writes): every handle of the run is gone by now.
    drop(cache);
    drop(store);
    let store = Store::open_to_read_through(&path)
        .map_err(|error| anyhow::anyhow!(grsu::store::explain_open_failure(&path, &error)))?;

    let report = Report::from_store(&store, &ReportOptions::default())?;
    report.write_all(&sweep.output).map_err(|error| {
        anyhow::anyhow!(
            "{error}: the finished samples are stored; make room (or move the output folder to a \
             larger disk) and run `{}` again",
            resume_command(&sweep, shard)
        )
    })?;
    Ok(RunOutcome {
        report,
        summary,
        skipped,
        model_calls: progress.calls(),
        output: sweep.output.clone(),
        wall: started.elapsed(),
    })
}

/// A dataset or catalog that cannot be used (exit code 2), naming the cells that read it.
#[derive(Debug, thiserror::Error)]
#[error("{cells}: {message}")]
pub struct BadData {
    pub cells: String,
    pub message: String,
}

fn bad_data(
    sweep: &Sweep,
    search: &grsu::sweep::SharedSearch,
    error: impl std::fmt::Display,
) -> anyhow::Error {
    let data = &search.config.data;
    let readers: Vec<&str> = sweep
        .cells
        .iter()
        .filter(|cell| {
            cell.config.data.path == data.path && cell.config.data.catalog == data.catalog
        })
        .map(|cell| cell.name.as_str())
        .collect();
    let cells = if sweep.cells.len() == 1 {
        sweep.path.display().to_string()
    } else if readers.len() == sweep.cells.len() {
        format!("{} (the data of every cell)", sweep.path.display())
    } else {
        format!(
            "{} (the data of cells {})",
            sweep.path.display(),
            readers
                .iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    BadData {
        cells,
        message: format!("{error:#}"),
    }
    .into()
}

/// Why a run stopped before its work was done (each with its own exit code in the CLI).
#[derive(Debug, thiserror::Error)]
pub enum RunStopped {
    #[error("interrupted: finished samples are stored; run `{resume}` to resume")]
    Interrupted { resume: String },
    #[error(
        "stopped: every endpoint of the `{}` role has failed for {:.0} s without an answer ({}); last error: {}. Finished samples are stored; check the servers (`grsu doctor --config …`), then run `{resume}` to resume",
        dead.role, dead.failing_for.as_secs_f64(), dead.endpoints.join(", "), dead.last_error
    )]
    DeadRole { dead: DeadRole, resume: String },
    #[error("stopped: {death}; finished samples are stored; run `{resume}` to resume")]
    ActorDied { death: String, resume: String },
    /// A first signal drained the run: nothing more was admitted, and the samples in flight
    /// finished or were abandoned at the deadline (their finished calls are in the response
    /// cache, so the next run does not ask them again).
    #[error(
        "stopped after {signal}: drained; {finished} samples finished in this run and are stored{}; run `{resume}` to resume",
        if *abandoned == 0 {
            "; every sample in flight finished before the deadline".to_string()
        } else {
            format!("; {abandoned} samples still in flight at the {} s deadline were left (their finished model calls are stored and will not be asked again)", deadline.as_secs_f64())
        }
    )]
    Drained {
        signal: StopSignal,
        finished: u64,
        abandoned: u64,
        deadline: Duration,
        resume: String,
    },
    /// A second signal while draining: stopped at once.
    #[error(
        "stopped at once on a second signal ({second} while draining after {first}); {finished} samples finished in this run and are stored, {abandoned} in flight were left (their finished model calls are stored and will not be asked again); run `{resume}` to resume"
    )]
    Abandoned {
        first: StopSignal,
        second: StopSignal,
        finished: u64,
        abandoned: u64,
        resume: String,
    },
}

/// Spawns a long-lived actor linked to the run's supervisor, named in the error its death gives.
/// Its join handle goes to `handles`, which the run awaits before it returns (so that nothing of
/// it, the store's lock included, outlives it).
async fn spawn_supervised<A: Actor>(
    supervisor: &ActorRef<SupervisorMessage>,
    handles: &mut Vec<tokio::task::JoinHandle<()>>,
    label: String,
    actor: A,
    arguments: A::Arguments,
) -> anyhow::Result<ActorRef<A::Msg>> {
    let (spawned, handle) =
        Actor::spawn_linked(None, actor, arguments, supervisor.get_cell()).await?;
    handles.push(handle);
    supervisor.cast(SupervisorMessage::Label {
        actor: spawned.get_id(),
        label,
    })?;
    Ok(spawned)
}

/// A model role none of whose endpoints answers.
#[derive(Debug)]
pub struct DeadRole {
    pub role: String,
    pub endpoints: Vec<String>,
    pub failing_for: Duration,
    pub last_error: String,
}

/// Resolves when some pool has gone `give_up_after` without an answer while failing.
async fn dead_role(pools: Vec<EndpointPool>, give_up_after: Duration) -> DeadRole {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tick.tick().await;
        for pool in &pools {
            if let Some((failing_for, last_error)) = pool.failing_for() {
                if failing_for >= give_up_after {
                    return DeadRole {
                        role: pool.role().to_string(),
                        endpoints: pool.endpoints(),
                        failing_for,
                        last_error,
                    };
                }
            }
        }
    }
}

/// The command that resumes this run (its overrides and shard included), quoted for a shell.
/// Flushes the store, or says that its folder cannot be written and how to go on: what was
/// flushed before (finished samples, cached answers) is kept.
fn flush_store(store: &Store, sweep: &Sweep, shard: Option<Shard>) -> anyhow::Result<()> {
    store.flush().map_err(|error| {
        anyhow::anyhow!(
            "cannot write the store at {}: {error}. The samples finished before are kept; make \
             room (or move the output folder to a larger disk) and run `{}` again",
            store_path(&sweep.output).display(),
            resume_command(sweep, shard)
        )
    })
}

fn resume_command(sweep: &Sweep, shard: Option<Shard>) -> String {
    let quote = |word: &str| {
        if word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-=:,".contains(c))
        {
            word.to_string()
        } else {
            format!("'{}'", word.replace('\'', "'\\''"))
        }
    };
    let mut words = vec![
        "grsu".to_string(),
        "run".into(),
        quote(&sweep.path.display().to_string()),
    ];
    for override_ in &sweep.overrides {
        let (flag, value) = override_.split_once(' ').unwrap_or((override_, ""));
        words.push(flag.to_string());
        words.push(quote(value));
    }
    if let Some(shard) = shard {
        words.push(format!("--shard {}/{}", shard.index, shard.count));
    }
    words.join(" ")
}

/// Writes the manifest of this sweep into its store. A store made by an earlier run of another
/// configuration is taken over (its records stay, keyed by their searches), and what changed is
/// said: every key either leaves results as they were, extends them, or starts a new search
/// (see `grsu config reference`), so that what is reported is always what a fresh run of this
/// config would give.
fn update_manifest(
    store: &Store,
    sweep: &Sweep,
    shard_from: Option<(Shard, ShardSource)>,
    targets: &[BTreeMap<Role, BuiltBackend>],
    samples: &[(Arc<Catalog>, Vec<Arc<Sample>>)],
) -> anyhow::Result<()> {
    let searches: Vec<SearchManifest> = sweep
        .searches
        .iter()
        .zip(targets)
        .zip(samples)
        .map(|((search, targets), (_, samples))| SearchManifest {
            key: search.key.clone(),
            models: targets
                .iter()
                .map(|(role, built)| (role.as_str().to_string(), built.backend.identity()))
                .collect(),
            samples: samples
                .iter()
                .map(|sample| SampleLabels {
                    id: sample.id.clone(),
                    labels: sample.labels.clone(),
                })
                .collect(),
        })
        .collect();
    let shard = shard_from.map(|(shard, _)| shard);
    let previous = store.manifest()?;
    if let Some(previous) = &previous {
        if previous.shard != shard {
            bail!(
                "{} holds the share {:?} of a sweep, not {:?}",
                sweep.output.display(),
                previous.shard,
                shard
            );
        }
    }
    let manifest = SweepManifest {
        name: sweep.name.clone(),
        config_text: std::fs::read_to_string(&sweep.path).unwrap_or_default(),
        overrides: sweep.overrides.clone(),
        sweep_hash: sweep.hash(),
        code_version: env!("CARGO_PKG_VERSION").to_string(),
        seeds: sweep.seeds.clone(),
        cells: sweep
            .cells
            .iter()
            .map(|cell| {
                Ok(CellManifest {
                    name: cell.name.clone(),
                    assignments: cell.assignments.clone(),
                    search: sweep.searches[cell.search].key.clone(),
                    depth: cell.depth,
                    limit: cell.config.data.limit,
                    strategies: cell
                        .strategies()
                        .iter()
                        .map(|strategy| strategy.as_str().to_string())
                        .collect(),
                    config: cell.manifest_config()?,
                })
            })
            .collect::<anyhow::Result<_>>()?,
        searches,
        shard,
        shard_source: shard_from.map(|(_, source)| source),
        created_unix: previous.as_ref().map_or_else(
            || {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |elapsed| elapsed.as_secs())
            },
            |previous| previous.created_unix,
        ),
    };
    if let Some(previous) = &previous {
        for change in grsu::sweep::changes::describe(previous, &manifest) {
            tracing::warn!("{}: {change}", sweep.output.display());
        }
    }
    if previous.as_ref() != Some(&manifest) {
        store.put_manifest(&manifest)?;
    }
    Ok(())
}

/// The backend of every role `config` uses; built through `builder`, so equal
/// settings share one backend (per-endpoint caps hold across cells) and the embedded model is
/// loaded once.
async fn role_backends(
    builder: &mut BackendBuilder,
    config: &RunConfig,
) -> anyhow::Result<BTreeMap<Role, BuiltBackend>> {
    let mut backends = BTreeMap::new();
    for role in config.roles_used() {
        let built = builder.build(role, config.role(role)).await?;
        backends.insert(role, built);
    }
    Ok(backends)
}
