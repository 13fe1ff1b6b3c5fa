//! `grsu view <output>`: the explorer of a sweep in the browser, served on 127.0.0.1 (read-only),
//! or written as static files with `--bundle DIR`.

use std::path::PathBuf;

use clap::Args;

use super::runtime::runtime;
use super::CliFailure;
use grsu_actors::view::{serve, write_bundle, ViewSource};

#[derive(Debug, Args)]
pub struct ViewArguments {
    /// The sweep's output folder (its `[run] output`).
    output: PathBuf,
    /// Address to listen on; another than 127.0.0.1 shows the sweep to the network.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// Port (0: any free port; the URL is printed).
    #[arg(long, default_value_t = 7575)]
    port: u16,
    /// Write the explorer as static files into this folder instead (they open from disk).
    #[arg(long, value_name = "DIR")]
    bundle: Option<PathBuf>,
}

pub fn run(arguments: ViewArguments) -> Result<(), CliFailure> {
    if let Some(folder) = &arguments.bundle {
        let counts = write_bundle(&arguments.output, folder).map_err(CliFailure::Other)?;
        println!(
            "wrote the explorer of {} ({} samples, {} files): open {}",
            arguments.output.display(),
            counts.samples,
            counts.files,
            folder.join("index.html").display()
        );
        return Ok(());
    }
    let source = ViewSource::open(&arguments.output)
        .map_err(|error| CliFailure::Config(error.to_string()))?;
    runtime()?.block_on(async move {
        let address = std::net::SocketAddr::new(arguments.host, arguments.port);
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|error| {
                CliFailure::Other(anyhow::anyhow!(
                    "cannot listen on {address}: {error} (choose another with --port)"
                ))
            })?;
        let bound = listener.local_addr()?;
        println!(
            "grsu view of {}: http://{bound}/ (read-only; Ctrl-C to stop)",
            arguments.output.display()
        );
        serve(listener, source).await?;
        Ok(())
    })
}
