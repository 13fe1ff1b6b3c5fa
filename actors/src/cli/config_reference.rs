//! `grsu config reference`: every key of a run config with its type, default, meaning and what
//! changing it on an existing output folder does, as Markdown (docs/config.md is this output).

use clap::Subcommand;

use super::CliFailure;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the config reference (Markdown): every key, its type, default, meaning and what
    /// changing it on an existing output does.
    Reference,
}

pub fn run(command: ConfigCommand) -> Result<(), CliFailure> {
    match command {
        ConfigCommand::Reference => {
            print!("{}", grsu::config::reference::markdown());
            Ok(())
        }
    }
}
