//! Argument parsing and dispatch of the subcommands.

mod data_stats;
mod dataset_arguments;
mod evaluate;
mod failure;
mod match_titles;

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
    /// Dataset commands.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
    /// Map titles (one per line on stdin) onto a catalog; prints `query<TAB>match<TAB>score`.
    Match(match_titles::MatchArguments),
    /// Score a predictions file (`{"sample": ..., "ranking": [...]}` per line) against a dataset.
    Evaluate(evaluate::EvaluateArguments),
}

#[derive(Debug, Subcommand)]
enum DataCommand {
    /// Count conversations, samples and labels of a dataset file.
    Stats(data_stats::DataStatsArguments),
}

pub fn run(cli: Cli) -> Result<(), CliFailure> {
    match cli.command {
        Command::Data {
            command: DataCommand::Stats(arguments),
        } => data_stats::run(arguments),
        Command::Match(arguments) => match_titles::run(arguments),
        Command::Evaluate(arguments) => evaluate::run(arguments),
    }
}
