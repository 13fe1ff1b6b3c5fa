//! `grsu run <config.toml>`: runs or resumes a sweep (a plain config is a sweep of one cell); at
//! the end prints the report table and writes `report.md`, `report.csv`, `report.json`, the
//! figures and `report.html` into the output folder.

use std::path::PathBuf;

use clap::Args;
use grsu::report::tables::markdown;
use grsu::sweep::{Overrides, Shard, Sweep};

use super::runtime::runtime;
use super::CliFailure;
use grsu_actors::engine;

#[derive(Debug, Args)]
pub struct RunArguments {
    /// The run configuration (TOML, optionally with [grid] and [[variant]]); see config/demo.toml.
    config: PathBuf,
    /// Run only the share `i/n` (0-based) of every cell's samples, into
    /// `<output>/shards/<i>-of-<n>`; combine the shares with `grsu merge`.
    #[arg(long, env = "GRSU_SHARD")]
    shard: Option<Shard>,
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
    let runtime = runtime()?;
    let interrupted = async {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "stopping (Ctrl-C): admitting no more samples; finished samples are stored, calls in flight are abandoned"
            );
        } else {
            std::future::pending::<()>().await;
        }
    };
    let embedded_note = embedded_roles_note(&sweep);
    let outcome = runtime.block_on(engine::run(sweep, arguments.shard, interrupted));
    // Calls still running on blocking threads (the embedded model) are not waited for.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    let outcome = outcome.map_err(|error| match error.downcast::<engine::RunStopped>() {
        Ok(stopped) => CliFailure::Stopped {
            code: match stopped {
                engine::RunStopped::Interrupted { .. } => 130,
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
