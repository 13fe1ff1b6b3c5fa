//! `grsu run <config.toml>`: runs or resumes a sweep (a plain config is a sweep of one cell); at
//! the end prints the report table and writes `report.md`, `report.csv`, `report.json` and the
//! figures into the output folder.

use std::path::PathBuf;

use clap::Args;
use grsu::grid::{Shard, Sweep};
use grsu::report::tables::markdown;

use super::runtime::runtime;
use super::CliFailure;
use crate::engine;

#[derive(Debug, Args)]
pub struct RunArguments {
    /// The run configuration (TOML, optionally with [grid] and [[variant]]); see config/demo.toml.
    config: PathBuf,
    /// Run only the share `i/n` (0-based) of every cell's samples, into
    /// `<output>/shards/<i>-of-<n>`; combine the shares with `grsu merge`.
    #[arg(long, env = "GRSU_SHARD")]
    shard: Option<Shard>,
}

pub fn run(arguments: RunArguments) -> Result<(), CliFailure> {
    let sweep =
        Sweep::load(&arguments.config).map_err(|error| CliFailure::Config(error.to_string()))?;
    let outcome = runtime()?
        .block_on(engine::run(sweep, arguments.shard))
        .map_err(CliFailure::Other)?;
    println!("{}", markdown(&outcome.report));
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
