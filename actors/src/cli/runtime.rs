//! The tokio runtime for subcommands that talk to models.

use super::CliFailure;

/// A multi-threaded runtime with I/O and timers, as many worker threads as the machine has cores.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliFailure> {
    build(tokio::runtime::Builder::new_multi_thread().enable_all())
}

/// The same with `workers` worker threads (`[run] worker_threads` of a sweep).
pub fn runtime_with_workers(workers: usize) -> Result<tokio::runtime::Runtime, CliFailure> {
    build(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all(),
    )
}

fn build(builder: &mut tokio::runtime::Builder) -> Result<tokio::runtime::Runtime, CliFailure> {
    builder.build().map_err(|error| {
        CliFailure::Other(anyhow::anyhow!("cannot start the async runtime: {error}"))
    })
}
