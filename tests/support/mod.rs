//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

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

/// The repository root: the nearest ancestor of the test's package that holds `Cargo.lock`.
pub fn repository_root() -> PathBuf {
    let package = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    package
        .ancestors()
        .find(|folder| folder.join("Cargo.lock").is_file())
        .unwrap_or(&package)
        .to_path_buf()
}
