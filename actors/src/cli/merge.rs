//! `grsu merge --into <output> <shard output>...`: combines the stores of a sweep's shards (or of
//! any runs of the same sweep) into one, refusing stores of another sweep, then writes the report.

use std::path::PathBuf;

use clap::Args;
use grsu::report::{Report, ReportOptions};
use grsu::store::{MergeCounts, Store};

use super::output_store::open_sweep;
use super::CliFailure;
use grsu_actors::engine::store_path;

#[derive(Debug, Args)]
pub struct MergeArguments {
    /// The output folder to merge into (created if needed; usually the sweep's `[run] output`).
    #[arg(long)]
    into: PathBuf,
    /// Output folders of the shards (e.g. `<output>/shards/*`).
    #[arg(required = true)]
    sources: Vec<PathBuf>,
}

pub fn run(arguments: MergeArguments) -> Result<(), CliFailure> {
    let other = |error: grsu::store::StoreError| CliFailure::Other(error.into());
    let mut sources = Vec::new();
    for source in &arguments.sources {
        let (store, manifest) = open_sweep(source)?;
        sources.push((source, store, manifest));
    }
    let (first_path, _, first) = &sources[0];
    for (path, _, manifest) in &sources[1..] {
        if manifest.sweep_hash != first.sweep_hash {
            return Err(CliFailure::Config(format!(
                "{} holds another sweep (hash {}) than {} (hash {}); only shares of one sweep merge",
                path.display(),
                manifest.sweep_hash,
                first_path.display(),
                first.sweep_hash
            )));
        }
    }
    std::fs::create_dir_all(&arguments.into)?;
    let destination = Store::open(&store_path(&arguments.into)).map_err(other)?;
    match destination.manifest().map_err(other)? {
        Some(manifest) if manifest.sweep_hash != first.sweep_hash => {
            return Err(CliFailure::Config(format!(
                "{} holds another sweep (hash {}) than the shards (hash {})",
                arguments.into.display(),
                manifest.sweep_hash,
                first.sweep_hash
            )))
        }
        Some(_) => {}
        None => {
            let mut manifest = first.clone();
            manifest.shard = None;
            manifest.shard_source = None;
            destination.put_manifest(&manifest).map_err(other)?;
        }
    }
    let mut total = MergeCounts::default();
    for (path, store, manifest) in &sources {
        let counts = destination.merge_from(store).map_err(other)?;
        println!(
            "{} (shard {}): {} records added, {} already there, {} cached responses added",
            path.display(),
            manifest
                .shard
                .map_or("all".to_string(), |shard| shard.to_string()),
            counts.records_added,
            counts.records_present,
            counts.responses_added
        );
        total.records_added += counts.records_added;
        total.records_present += counts.records_present;
    }
    let report = Report::from_store(&destination, &ReportOptions::default())
        .map_err(|error| CliFailure::Other(error.into()))?;
    report
        .write_all(&arguments.into)
        .map_err(|error| CliFailure::Other(error.into()))?;
    let done: usize = report.cells.iter().map(|cell| cell.done).sum();
    let expected: usize = report.cells.iter().map(|cell| cell.total).sum();
    println!(
        "merged into {}: {} records added in all; cells now {done}/{expected} done; report written",
        arguments.into.display(),
        total.records_added
    );
    Ok(())
}
