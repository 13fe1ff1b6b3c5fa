//! `grsu run <config.toml>`: runs or resumes a run; at the end prints the metrics table per
//! output strategy and writes `metrics.json` and `metrics.md` into the output folder.

use std::path::PathBuf;

use clap::Args;
use grsu::config::RunConfig;
use grsu::run_metrics::{cost_table, markdown_table};

use super::runtime::runtime;
use super::CliFailure;
use crate::engine;

#[derive(Debug, Args)]
pub struct RunArguments {
    /// The run configuration (TOML); see config/demo.toml.
    config: PathBuf,
}

pub fn run(arguments: RunArguments) -> Result<(), CliFailure> {
    let config = RunConfig::load(&arguments.config)
        .map_err(|error| CliFailure::Config(error.to_string()))?;
    let outcome = runtime()?
        .block_on(engine::run(config, &arguments.config))
        .map_err(CliFailure::Other)?;
    println!("{}", markdown_table(&outcome.metrics.rows));
    println!("{}", cost_table(&outcome.metrics));
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
        Err(CliFailure::Other(anyhow::anyhow!(
            "{} samples failed (first: {:?}); run `grsu run {}` again to retry them",
            outcome.summary.failed.len(),
            outcome.summary.failed.first(),
            arguments.config.display()
        )))
    }
}
