//! The `grsu` command-line tool: a thin layer over the `grsu` library and, for runs, the actor
//! runtime of the `grsu_actors` library (this crate's `lib.rs`). Every subcommand has `--help` and a `--json` output for scripts.
//!
//! Exit codes: 0 success, 2 bad input or usage (a dataset, catalog, predictions file, config or
//! argument that cannot be used: the message names the file, line and field), 3 a run stopped
//! because every endpoint of a model role kept failing, 143 a run stopped by SIGTERM and 130 by
//! Ctrl-C (drained, or at once on a second signal), 4 `grsu verify` found damaged store entries, 1
//! anything else.

mod cli;

/// mimalloc rather than glibc's allocator: a sweep allocates and frees many small buffers per
/// model call on every core (requests, bodies, parsed answers), and glibc's malloc/free were about
/// a quarter of the orchestrator's CPU in a profile of a paper-setting sweep. The feature
/// `system-allocator` keeps glibc's, for heap profilers that see only malloc (valgrind's massif).
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GRSU_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal: logs sent to a file (a Slurm job's output) stay plain.
        .with_ansi(std::io::stderr().is_terminal())
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
