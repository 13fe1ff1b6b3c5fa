//! Argument parsing and dispatch of the subcommands.

mod config_reference;
mod data_fetch;
mod data_stats;
mod dataset_arguments;
mod doctor_command;
mod evaluate;
mod export;
mod failure;
mod import;
mod match_titles;
mod merge;
mod model;
mod output_store;
mod probe;
mod report_command;
mod run_command;
mod runtime;
mod serve_command;
mod status;
mod synth;
mod verify;
mod view_command;

use clap::{Parser, Subcommand};

pub use failure::CliFailure;

/// grsu: a generative-reward simulated user that critiques and scores a conversational
/// recommender's lists, beam search guided by its scores, and the metrics to measure it.
#[derive(Debug, Parser)]
#[command(name = "grsu", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run (or resume) a sweep: every cell of a config's [grid] and [[variant]]s, or one run.
    Run(run_command::RunArguments),
    /// Per cell of a sweep: finished samples, calls, tokens, errors.
    Status(status::StatusArguments),
    /// The sweep's tables, significance tests and figures, from its store alone.
    Report(report_command::ReportArguments),
    /// Store external rankings (e.g. CRSLab baselines) in a sweep, to be reported alongside.
    Import(import::ImportArguments),
    /// Combine the stores of a sweep's shards (`grsu run --shard i/n`) into one.
    Merge(merge::MergeArguments),
    /// Explore a sweep in the browser: its methods, every sample, one sample's conversation and
    /// search tree (a read-only server on 127.0.0.1, or static files with --bundle).
    View(view_command::ViewArguments),
    /// Export a sweep's per-sample records as JSON lines.
    Export(export::ExportArguments),
    /// Check a sweep's store entry by entry (manifest, records and their metrics, failures,
    /// imports, cached responses) and say what is damaged; exit code 4 when something is.
    Verify(verify::VerifyArguments),
    /// Probes of the simulated user that cost model calls: `probe order` re-scores stored lists
    /// reversed and shuffled (or re-asks with another seed) and reports how much scores move.
    Probe {
        #[command(subcommand)]
        command: probe::ProbeCommand,
    },
    /// The config reference: every key, its type, default and meaning.
    Config {
        #[command(subcommand)]
        command: config_reference::ConfigCommand,
    },
    /// Dataset commands.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
    /// Map titles (one per line on stdin) onto a catalog; prints `query<TAB>match<TAB>score`.
    Match(match_titles::MatchArguments),
    /// The embedded model: fetch it into the cache, or show where it is looked for.
    Model {
        #[command(subcommand)]
        command: model::ModelCommand,
    },
    /// Serve the embedded model as an OpenAI-compatible endpoint (for tests and demos).
    Serve(serve_command::ServeArguments),
    /// Check endpoints (reachability, logprobs, n, continue_final_message, latency) before a sweep.
    Doctor(doctor_command::DoctorArguments),
    /// Instruction data for training the simulated user: critique and scoring examples.
    Synth {
        #[command(subcommand)]
        command: synth::SynthCommand,
    },
    /// Score a predictions file (`{"sample": ..., "ranking": [...]}` per line) against a dataset.
    Evaluate(evaluate::EvaluateArguments),
}

#[derive(Debug, Subcommand)]
enum DataCommand {
    /// Count conversations, samples and labels of a dataset file.
    Stats(data_stats::DataStatsArguments),
    /// Download the paper's datasets and catalogs (checksum-verified) into the layout the ready
    /// configs read; `--from DIR` or GRSU_DATA_MIRROR for offline use.
    Fetch(data_fetch::DataFetchArguments),
}

pub fn run(cli: Cli) -> Result<(), CliFailure> {
    match cli.command {
        Command::Data {
            command: DataCommand::Stats(arguments),
        } => data_stats::run(arguments),
        Command::Data {
            command: DataCommand::Fetch(arguments),
        } => data_fetch::run(arguments),
        Command::Config { command } => config_reference::run(command),
        Command::Match(arguments) => match_titles::run(arguments),
        Command::Run(arguments) => run_command::run(arguments),
        Command::Status(arguments) => status::run(arguments),
        Command::Report(arguments) => report_command::run(arguments),
        Command::Import(arguments) => import::run(arguments),
        Command::Merge(arguments) => merge::run(arguments),
        Command::Export(arguments) => export::run(arguments),
        Command::Verify(arguments) => verify::run(arguments),
        Command::Probe { command } => probe::run(command),
        Command::Evaluate(arguments) => evaluate::run(arguments),
        Command::Model { command } => model::run(command),
        Command::Serve(arguments) => serve_command::run(arguments),
        Command::View(arguments) => view_command::run(arguments),
        Command::Doctor(arguments) => doctor_command::run(arguments),
        Command::Synth { command } => synth::run(command),
    }
}
