//! `grsu run <config.toml>`: runs or resumes a sweep (a plain config is a sweep of one cell); at
//! the end prints the report table and writes `report.md`, `report.csv`, `report.json`, the
//! figures and `report.html` into the output folder.

use std::path::PathBuf;

use clap::Args;
use grsu::report::tables::markdown;
use grsu::sweep::{Overrides, ShardRequest, Sweep};

use super::runtime::runtime_with_workers;
use super::CliFailure;
use grsu_actors::engine;

#[derive(Debug, Args)]
pub struct RunArguments {
    /// The run configuration (TOML, optionally with [grid] and [[variant]]); see config/demo.toml.
    config: PathBuf,
    /// Run only the share `i/n` (0-based) of every cell's samples, into
    /// `<output>/shards/<i>-of-<n>`; combine the shares with `grsu merge`. `auto`: the share a
    /// Slurm job array (SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT or
    /// SLURM_ARRAY_TASK_MIN/MAX) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX with
    /// GRSU_SHARD_COUNT) gives this process.
    #[arg(long, env = "GRSU_SHARD", value_name = "i/n|auto")]
    shard: Option<ShardRequest>,
    /// Change a config value without editing the file, e.g. `--set search.depth=3 --set
    /// data.limit=10` (dotted keys; the value is TOML, or else a string). Validated like the
    /// file's values and recorded in the manifest. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// The output folder (`[run] output`), relative to the current folder.
    #[arg(long, value_name = "DIR")]
    output: Option<PathBuf>,
}

pub fn run(arguments: RunArguments) -> Result<(), CliFailure> {
    let shard = arguments
        .shard
        .map(|request| request.resolve(|name| std::env::var(name).ok()))
        .transpose()
        .map_err(CliFailure::Config)?;
    if let Some((shard, source)) = shard {
        tracing::info!("running shard {shard} ({source})");
    }
    let mut overrides = Overrides::default();
    for assignment in &arguments.set {
        overrides
            .set
            .push(Overrides::parse_set(assignment).map_err(CliFailure::Config)?);
    }
    overrides.output = match &arguments.output {
        Some(output) if output.is_relative() => Some(
            std::env::current_dir()
                .map_err(|error| CliFailure::Other(error.into()))?
                .join(output),
        ),
        other => other.clone(),
    };
    let sweep = Sweep::load_with(&arguments.config, &overrides)
        .map_err(|error| CliFailure::Config(error.to_string()))?;
    sweep
        .check_api_keys()
        .map_err(|error| CliFailure::Config(error.to_string()))?;
    let runtime = runtime_with_workers(sweep.worker_threads)?;
    let stops = listen_for_stops(&runtime)?;
    let control = engine::RunControl {
        stops,
        on_drain: Box::new(|drain: &engine::DrainStarted| {
            eprintln!(
                "draining ({}): admitting no more samples; {} samples with {} model calls in flight may finish for up to {} s ([run] drain_timeout_s); every finished call is already stored. Send the signal again to stop at once.",
                drain.signal,
                drain.samples_in_flight,
                drain.calls_in_flight,
                drain.deadline.as_secs_f64()
            );
        }),
    };
    let embedded_note = embedded_roles_note(&sweep);
    let outcome = runtime.block_on(engine::run_with_control(sweep, shard, control));
    // Calls still running on blocking threads (the embedded model) are not waited for.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    let outcome = outcome.map_err(|error| match error.downcast::<engine::RunStopped>() {
        Ok(stopped) => CliFailure::Stopped {
            code: match stopped {
                engine::RunStopped::Interrupted { .. } => 130,
                engine::RunStopped::Drained { signal, .. } => stop_code(signal),
                engine::RunStopped::Abandoned { first, .. } => stop_code(first),
                engine::RunStopped::DeadRole { .. } => 3,
                engine::RunStopped::ActorDied { .. } => 1,
            },
            message: stopped.to_string(),
        },
        Err(error) => match error.downcast::<engine::BadData>() {
            Ok(bad) => CliFailure::Config(bad.to_string()),
            Err(error) => CliFailure::Other(error),
        },
    })?;
    println!("{}", markdown(&outcome.report));
    if let Some(note) = embedded_note {
        println!("{note}\n");
    }
    println!(
        "{} samples finished now, {} already stored, {} failed; {} model calls; wall time {:.1} s; output {}",
        outcome.summary.finished,
        outcome.skipped,
        outcome.summary.failed.len(),
        outcome.model_calls,
        outcome.wall.as_secs_f64(),
        outcome.output.display()
    );
    if outcome.summary.failed.is_empty() {
        Ok(())
    } else {
        let (unit, error) = &outcome.summary.failed[0];
        Err(CliFailure::Other(anyhow::anyhow!(
            "{} samples failed (first: seed {} sample {}: {error}); run `grsu run {}` again to retry them",
            outcome.summary.failed.len(),
            unit.seed,
            unit.sample,
            arguments.config.display()
        )))
    }
}

/// The exit code of a run stopped by `signal`: 143 (128 + SIGTERM) after SIGTERM, 130 (128 +
/// SIGINT) after Ctrl-C, as shells report a process killed by them.
fn stop_code(signal: engine::StopSignal) -> u8 {
    match signal {
        engine::StopSignal::Terminate => 143,
        engine::StopSignal::Interrupt => 130,
    }
}

/// Sends SIGTERM and SIGINT (Ctrl-C) to the run as [`engine::StopSignal`]s, registered before
/// the run starts (a signal during loading is not lost). The first drains the run; on the
/// second the engine stops at once, and should it be busy elsewhere (loading a model, writing
/// the report) the process exits by itself a second later: every finished call and sample is
/// flushed when it finishes, so nothing finished is lost either way. The same signal again
/// within [`DUPLICATE_WITHIN`] of the first is one signal: Slurm's `scancel`, preemption and
/// requeue send SIGTERM to the job's shell and to grsu at once, and `sweep.sbatch` forwards its
/// own (for `--signal=B:TERM@60`), so grsu sees two.
fn listen_for_stops(
    runtime: &tokio::runtime::Runtime,
) -> Result<tokio::sync::mpsc::UnboundedReceiver<engine::StopSignal>, CliFailure> {
    use tokio::signal::unix::{signal, SignalKind};
    let _entered = runtime.enter();
    let registered = |kind| signal(kind).map_err(|error| CliFailure::Other(error.into()));
    let mut terminate = registered(SignalKind::terminate())?;
    let mut interrupt = registered(SignalKind::interrupt())?;
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    runtime.spawn(async move {
        let mut first: Option<(engine::StopSignal, std::time::Instant)> = None;
        loop {
            let signal = tokio::select! {
                Some(()) = terminate.recv() => engine::StopSignal::Terminate,
                Some(()) = interrupt.recv() => engine::StopSignal::Interrupt,
                else => break,
            };
            match first {
                None => {
                    first = Some((signal, std::time::Instant::now()));
                    let _ = sender.send(signal);
                }
                Some((earlier, at)) if earlier == signal && at.elapsed() < DUPLICATE_WITHIN => {
                    tracing::debug!("{signal} again within {DUPLICATE_WITHIN:?}: one signal");
                }
                Some((earlier, _)) => {
                    let _ = sender.send(signal);
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    eprintln!(
                        "stopped at once ({signal} after {earlier}); finished samples and calls are stored; run the same command to resume"
                    );
                    std::process::exit(stop_code(earlier).into());
                }
            }
        }
    });
    Ok(receiver)
}

/// A signal repeated within this time of the first is the same stop request (see
/// [`listen_for_stops`]).
const DUPLICATE_WITHIN: std::time::Duration = std::time::Duration::from_millis(500);

/// A plain word when some role ran on the embedded CPU model: its numbers show that the
/// machinery works end to end, not how well the method recommends.
fn embedded_roles_note(sweep: &Sweep) -> Option<String> {
    let mut roles: Vec<&'static str> = Vec::new();
    for cell in &sweep.cells {
        for role in cell.config.roles_used() {
            if cell.config.role(role).is_embedded() && !roles.contains(&role.as_str()) {
                roles.push(role.as_str());
            }
        }
    }
    (!roles.is_empty()).then(|| {
        format!(
            "Note: the {} role(s) ran on the embedded CPU model (SmolLM2-135M unless [models.*] embedded_model names another). It demonstrates the machinery end to end, not quality: its lists and critiques are poor and these numbers say nothing about the method. Point [models.*] at real servers for that.",
            roles.join(", ")
        )
    })
}
