//! Opening the store of an output folder for the commands that read it (`export`, `status`,
//! `report`, `import`), with the errors a researcher needs: no sweep there, or a sweep still
//! running on it.

use std::path::Path;

pub use grsu::store::held_by_a_run;
use grsu::store::{explain_open_failure, Store, SweepManifest};

use super::CliFailure;
use grsu_actors::engine::store_path;

/// Opens `<output>/store`, or says why not.
pub fn open_output_store(output: &Path) -> Result<Store, CliFailure> {
    let path = store_path(output);
    if !path.is_dir() {
        return Err(CliFailure::Config(format!(
            "{} holds no sweep (no store at {})",
            output.display(),
            path.display()
        )));
    }
    Store::open(&path)
        .map_err(|error| CliFailure::Other(anyhow::anyhow!(explain_open_failure(&path, &error))))
}

/// Opens `<output>/store` and reads the manifest of the sweep in it.
pub fn open_sweep(output: &Path) -> Result<(Store, SweepManifest), CliFailure> {
    let store = open_output_store(output)?;
    let manifest = store
        .manifest()
        .map_err(|error| CliFailure::Other(error.into()))?
        .ok_or_else(|| {
            CliFailure::Config(format!("{}: no sweep was started there", output.display()))
        })?;
    Ok((store, manifest))
}
