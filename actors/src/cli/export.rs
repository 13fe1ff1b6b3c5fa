//! `grsu export <output>`: the per-sample records of a run as JSON lines.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use grsu::store::Store;

use super::CliFailure;
use crate::engine::store_path;

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
    let path = store_path(&arguments.output);
    if !path.is_dir() {
        return Err(CliFailure::Config(format!(
            "{} holds no run (no store at {})",
            arguments.output.display(),
            path.display()
        )));
    }
    let store = Store::open(&path).map_err(|error| CliFailure::Other(error.into()))?;
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
