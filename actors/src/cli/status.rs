//! `grsu status <output>`: per cell of a sweep, finished units out of seeds × samples, calls,
//! tokens, invalid answers per request of each model role, and errors, read from the store. The
//! table says under it what the invalid-answer figure means (the JSON has the counts behind it).

use std::path::PathBuf;

use clap::Args;
use grsu::report::status::{cell_status, status_table};
use grsu::report::summary::INVALID_ANSWERS_NOTE;

use super::output_store::open_sweep;
use super::CliFailure;
use grsu_actors::engine::progress::ProgressSnapshot;

#[derive(Debug, Args)]
pub struct StatusArguments {
    /// The sweep's output folder (its `[run] output`).
    output: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(arguments: StatusArguments) -> Result<(), CliFailure> {
    if grsu_actors::engine::store_path(&arguments.output).is_dir() {
        if let Err(error) =
            grsu::store::Store::open(&grsu_actors::engine::store_path(&arguments.output))
        {
            // A running sweep holds the store: show what it last wrote.
            return running_status(&arguments, &error.to_string());
        }
    }
    let (store, manifest) = open_sweep(&arguments.output)?;
    let other = |error: grsu::store::StoreError| CliFailure::Other(error.into());
    let status = cell_status(
        &manifest,
        &store.records().map_err(other)?,
        &store.failures().map_err(other)?,
    );
    if arguments.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        println!(
            "sweep `{}` ({} cells, {} searches, seeds {:?})\n",
            manifest.name,
            manifest.cells.len(),
            manifest.searches.len(),
            manifest.seeds
        );
        println!("{}", status_table(&status).trim_end());
        println!("\ninvalid / request: {INVALID_ANSWERS_NOTE}.");
    }
    Ok(())
}

/// The status of a sweep still running: its `progress.json`.
fn running_status(arguments: &StatusArguments, store_error: &str) -> Result<(), CliFailure> {
    let path = arguments.output.join("progress.json");
    let text = std::fs::read_to_string(&path).map_err(|_| {
        CliFailure::Other(anyhow::anyhow!(
            "{store_error}; no {} either",
            path.display()
        ))
    })?;
    if arguments.json {
        println!("{text}");
        return Ok(());
    }
    let snapshot: ProgressSnapshot = serde_json::from_str(&text)?;
    let age = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |now| now.as_secs())
        .saturating_sub(snapshot.updated_unix);
    println!(
        "a sweep is running on {} (pid {}, {:.0} s so far, last update {age} s ago): {}/{} samples done, {} failed, {} were already stored",
        arguments.output.display(),
        snapshot.pid,
        snapshot.elapsed_s,
        snapshot.done,
        snapshot.total,
        snapshot.failed,
        snapshot.skipped
    );
    for (role, counters) in &snapshot.roles {
        println!(
            "  {role}: {} calls, {} cache hits, {} tokens, {} errors",
            counters.calls, counters.cache_hits, counters.tokens, counters.errors
        );
    }
    println!("per-cell figures come when it stops (or from `grsu status` on a copy of the store)");
    Ok(())
}
