//! `grsu export <output>`: the per-sample records of a run as JSON lines.

use std::io::Write;
use std::path::PathBuf;

use super::output_store::open_output_store;
use super::CliFailure;
use clap::Args;

#[derive(Debug, Args)]
pub struct ExportArguments {
    /// The run's output folder (its `[run] output`).
    output: PathBuf,
    /// Write here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Leave the search trees out (predictions, metrics and costs only).
    #[arg(long)]
    no_trees: bool,
}

pub fn run(arguments: ExportArguments) -> Result<(), CliFailure> {
    let store = open_output_store(&arguments.output)?;
    let records = store
        .records()
        .map_err(|error| CliFailure::Other(error.into()))?;
    let mut out: Box<dyn Write> = match &arguments.out {
        Some(file) => Box::new(std::io::BufWriter::new(std::fs::File::create(file)?)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    for record in &records {
        let mut value = serde_json::to_value(record)?;
        if arguments.no_trees {
            if let Some(object) = value.as_object_mut() {
                object.remove("tree");
            }
        }
        writeln!(out, "{value}")?;
    }
    out.flush()?;
    eprintln!("{} records", records.len());
    Ok(())
}
