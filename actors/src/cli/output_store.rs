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
    open_with(output, Store::open)
}

/// [`open_output_store`] for a command that reads the store through once (`report`, `export`):
/// a smaller page cache ([`grsu::store::READ_THROUGH_CACHE_BYTES`]).
pub fn open_output_store_to_read_through(output: &Path) -> Result<Store, CliFailure> {
    open_with(output, Store::open_to_read_through)
}

fn open_with(
    output: &Path,
    open: impl Fn(&Path) -> Result<Store, grsu::store::StoreError>,
) -> Result<Store, CliFailure> {
    let path = store_path(output);
    if !path.is_dir() {
        return Err(CliFailure::Config(format!(
            "{} holds no sweep (no store at {})",
            output.display(),
            path.display()
        )));
    }
    open(&path)
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
