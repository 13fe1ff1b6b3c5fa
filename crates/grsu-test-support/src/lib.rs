//! # grsu-test-support
//!
//! Helpers shared by the integration tests of the workspace (`tests/` for the library, package
//! `grsu`; `tests/binary/` for the runtime and the binary, package `grsu-actors`):
//!
//! - where things are: [`repository_root`], the shared ReDial/INSPIRED data ([`shared_data`]) and
//!   fixtures ([`shared_fixtures`]), and [`temp_file`];
//! - test servers on 127.0.0.1:0: [`scripted_server`] (scripted replies, hangs, resets) and
//!   [`deterministic_server`] (an OpenAI-compatible server whose answers are fixed functions of
//!   the request, with per-kind traffic counts);
//! - running grsu on the demo data ([`harness`]): a config ([`write_config`]), the binary
//!   ([`Grsu`], which takes the binary's path since only the tests of `grsu-actors` know it) and,
//!   with the `engine` feature, a sweep in the test's own process through
//!   `grsu_actors::engine::run` (`run_in_process`, `run_to_completion` and their `--shard`
//!   forms); the stored records ([`stored_records`]) and predictions;
//! - model responses shaped like a paper-setting sweep's ([`responses`]), for filling stores.

use std::path::PathBuf;

pub mod deterministic_server;
pub mod harness;
pub mod responses;
pub mod scripted_server;

pub use deterministic_server::{p_yes, DeterministicServer, Traffic};
pub use harness::{demo_samples, demo_titles, predictions, stored_records, write_config, Grsu};
#[cfg(feature = "engine")]
pub use harness::{
    run_in_process, run_shard_in_process, run_shard_to_completion, run_to_completion,
};
pub use scripted_server::{Reply, ScriptedServer};

/// The shared data folder (`GRSU_SHARED_DATA`, default `../shared/data` from the repository root).
/// Missing data fails the test under `CI=true`; elsewhere the test is skipped with a message.
pub fn shared_data() -> Option<PathBuf> {
    let path = match std::env::var_os("GRSU_SHARED_DATA") {
        Some(path) => PathBuf::from(path),
        None => repository_root().join("../shared/data"),
    };
    if path.join("redial/id2info.json").is_file() {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|value| value == "true") {
        panic!(
            "shared data not found at {} (set GRSU_SHARED_DATA)",
            path.display()
        );
    }
    eprintln!("skipping: shared data not found at {}", path.display());
    None
}

/// The shared fixtures folder, beside the data folder.
pub fn shared_fixtures() -> Option<PathBuf> {
    shared_data().map(|data| data.join("../fixtures"))
}

/// A file with the given contents in a fresh temporary folder (kept alive by the returned guard).
pub fn temp_file(name: &str, contents: &str) -> (tempfile::TempDir, PathBuf) {
    let folder = tempfile::tempdir().expect("temporary folder");
    let path = folder.path().join(name);
    std::fs::write(&path, contents).expect("write temporary file");
    (folder, path)
}

/// The repository root: the nearest ancestor of this crate's folder that holds `Cargo.lock`.
pub fn repository_root() -> PathBuf {
    let package = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    package
        .ancestors()
        .find(|folder| folder.join("Cargo.lock").is_file())
        .unwrap_or(&package)
        .to_path_buf()
}
