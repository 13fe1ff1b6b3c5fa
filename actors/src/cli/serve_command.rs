//! `grsu serve`: the embedded model as an OpenAI-compatible server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use grsu_embedded::{default_model_path, EmbeddedBackend};

use super::runtime::runtime;
use super::CliFailure;
use grsu_actors::serve::{serve, ServeState};

#[derive(Debug, Args)]
pub struct ServeArguments {
    /// GGUF model file (default: the fetched embedded model; see `grsu model fetch`).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// Port (0: any free port; the chosen one is printed).
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// The model id clients must ask for.
    #[arg(long, default_value = "grsu-embedded")]
    served_model_name: String,
}

pub fn run(arguments: ServeArguments) -> Result<(), CliFailure> {
    let path = arguments.model.unwrap_or_else(default_model_path);
    let backend = EmbeddedBackend::load(&path).map_err(|error| {
        CliFailure::Other(anyhow::anyhow!(
            "{error} (run `grsu model fetch` to get the default model)"
        ))
    })?;
    let state = Arc::new(ServeState {
        backend: Arc::new(backend),
        served_model_name: arguments.served_model_name,
        requests: Default::default(),
    });
    let address = SocketAddr::new(arguments.host, arguments.port);
    runtime()?.block_on(serve(address, state, |bound| {
        // The first stdout line is the address, so scripts and tests can start on port 0.
        println!("listening on http://{bound}/v1");
        tracing::info!(address = %bound, model = %path.display(), "serving the embedded model");
    }))?;
    Ok(())
}
