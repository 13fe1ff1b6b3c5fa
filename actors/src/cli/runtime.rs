//! The tokio runtime for subcommands that talk to models.

use super::CliFailure;

/// A multi-threaded runtime with I/O and timers.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliFailure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| {
            CliFailure::Other(anyhow::anyhow!("cannot start the async runtime: {error}"))
        })
}
