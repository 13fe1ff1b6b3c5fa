//! `grsu report <output>`: the sweep's tables (Markdown, CSV or JSON on stdout) and, unless
//! `--no-files`, `report.*` and the figures written into the output folder; from the store alone.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use grsu::report::{tables, Report, ReportError, ReportOptions};

use super::output_store::open_output_store_to_read_through;
use super::CliFailure;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Md,
    Csv,
    Json,
}

#[derive(Debug, Args)]
pub struct ReportArguments {
    /// The sweep's output folder (its `[run] output`).
    output: PathBuf,
    /// The method the others are tested against (a cell name, `cell · strategy` for cells with
    /// several output strategies, also written `cell/strategy` or `cell strategy`, or an
    /// imported name); default: the first method.
    #[arg(long)]
    baseline: Option<String>,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value = "md")]
    format: Format,
    /// Print only; do not write report files and figures into the output folder.
    #[arg(long)]
    no_files: bool,
}

pub fn run(arguments: ReportArguments) -> Result<(), CliFailure> {
    let store = open_output_store_to_read_through(&arguments.output)?;
    let options = ReportOptions {
        baseline: arguments.baseline.clone(),
    };
    let report = Report::from_store(&store, &options).map_err(|error| match error {
        ReportError::UnknownBaseline { .. } | ReportError::NoManifest(_) => {
            CliFailure::Config(format!("{}: {error}", arguments.output.display()))
        }
        other => CliFailure::Other(other.into()),
    })?;
    match arguments.format {
        Format::Md => println!("{}", tables::markdown(&report)),
        Format::Csv => print!("{}", tables::csv(&report)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    if !arguments.no_files {
        report
            .write_all(&arguments.output)
            .map_err(|error| CliFailure::Other(error.into()))?;
        eprintln!(
            "wrote report.md, report.csv, report.json, report.html and figures/ into {}",
            arguments.output.display()
        );
    }
    Ok(())
}
