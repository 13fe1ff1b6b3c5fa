//! The `grsu` command-line tool: a thin layer over the `grsu` library (and, for runs, the actor
//! runtime of this crate). Every subcommand has `--help` and a `--json` output for scripts.
//!
//! Exit codes: 0 success, 2 bad input or usage (a dataset, catalog, predictions file or argument
//! that cannot be used: the message names the file, line and field), 1 anything else.

mod cli;
mod engine;
mod serve;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GRSU_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let arguments = cli::Cli::parse();
    match cli::run(arguments) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(error.exit_code())
        }
    }
}
