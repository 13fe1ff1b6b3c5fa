//! `grsu status <output>`: per cell of a sweep, finished units out of seeds × samples, calls,
//! tokens and errors, read from the store.

use std::path::PathBuf;

use clap::Args;
use grsu::report::status::{cell_status, status_table};

use super::output_store::open_output_store;
use super::CliFailure;

#[derive(Debug, Args)]
pub struct StatusArguments {
    /// The sweep's output folder (its `[run] output`).
    output: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(arguments: StatusArguments) -> Result<(), CliFailure> {
    let store = open_output_store(&arguments.output)?;
    let other = |error: grsu::store::StoreError| CliFailure::Other(error.into());
    let manifest = store.manifest().map_err(other)?.ok_or_else(|| {
        CliFailure::Config(format!(
            "{}: no sweep was started there",
            arguments.output.display()
        ))
    })?;
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
        println!("{}", status_table(&status));
    }
    Ok(())
}
