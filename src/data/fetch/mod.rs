//! `grsu data fetch`: the paper's datasets and catalogs from their public sources, into the layout
//! the ready configs read (`<GRSU_DATA>/redial/…`, `<GRSU_DATA>/inspired/…`).
//!
//! A researcher's first hour should not go into finding six files in three repositories and
//! wondering whether the copy they got is the one the paper used. So the sources are one table
//! ([`SOURCES`], shown in docs/datasets.md) with a pinned URL and a SHA-256 per file, and a fetch
//! either leaves every file verified at its place or says which one failed and why:
//!
//! - Bytes go to `<file>.partial`, which is verified and then renamed: nothing half-written or
//!   unverified is ever at the final path. A mismatch removes the partial file and names the file
//!   and where it came from.
//! - An interrupted download keeps its `.partial`; the next attempt (in the same run after a
//!   dropped connection, or the next run) asks for the rest with `Range: bytes=N-`, and starts over
//!   when the server ignores ranges. Retries are bounded (see [`download`]).
//! - A file already present and verified is not fetched again, so a second run transfers nothing.
//! - Offline: [`FetchFrom::Folder`] copies the same files from a local folder (the target layout,
//!   or all files flat in one folder), and a mirror URL replaces the base of every URL, the mirror
//!   holding the target layout's relative paths (`<mirror>/redial/id2info.json`); the tests run it
//!   that way against an in-process server.
//!
//! The table can be replaced ([`load_table`]) so that tests exercise every failure without
//! depending on the real files; the product path uses the built-in one.

mod download;
mod sources;
mod verify;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::catalog::Catalog;
use crate::data::{Dataset, DatasetStats, LoadOptions};

pub use sources::{FileRole, Source, SOURCES};
pub use verify::{hash_file, verify, Verified};

/// The built-in table, owned.
pub fn builtin_sources() -> Vec<Source> {
    SOURCES.to_vec()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    source: Vec<Source>,
}

/// Reads a replacement table: a TOML file of `[[source]]` rows with the fields of [`Source`]
/// (`role = { kind = "samples", format = "ievalm" }` or `{ kind = "catalog", format = "id2info" }`).
pub fn load_table(path: &Path) -> Result<Vec<Source>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let table: TableFile = toml::from_str(&text)
        .map_err(|error| format!("{}: not a source table: {error}", path.display()))?;
    check_table(&table.source).map_err(|error| format!("{}: {error}", path.display()))?;
    Ok(table.source)
}

/// Checks that a table is usable: plain folder and file names, one row per target path, and
/// checksums that are 64 hex digits.
pub fn check_table(sources: &[Source]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for source in sources {
        let path = source.relative_path();
        for name in [&source.dataset, &source.file] {
            if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
                return Err(format!(
                    "{path}: `{name}` is not a plain folder or file name"
                ));
            }
        }
        if !seen.insert(path.clone()) {
            return Err(format!("{path}: listed twice"));
        }
        if let Some(sha256) = &source.sha256 {
            if sha256.len() != 64 || !sha256.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(format!("{path}: sha256 `{sha256}` is not 64 hex digits"));
            }
        }
        if source.url.is_empty() {
            return Err(format!("{path}: no url"));
        }
    }
    Ok(())
}

/// The datasets of a table, in table order.
pub fn datasets(sources: &[Source]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for source in sources {
        if !names.iter().any(|name| *name == source.dataset) {
            names.push(source.dataset.to_string());
        }
    }
    names
}

/// The rows of one dataset, or of all for `all`; an unknown name is an error listing the known ones.
pub fn select(sources: &[Source], which: &str) -> Result<Vec<Source>, String> {
    if which == "all" {
        return Ok(sources.to_vec());
    }
    let chosen: Vec<Source> = sources
        .iter()
        .filter(|source| source.dataset == which)
        .cloned()
        .collect();
    if chosen.is_empty() {
        return Err(format!(
            "unknown dataset `{which}`; expected one of: {}, all",
            datasets(sources).join(", ")
        ));
    }
    Ok(chosen)
}

/// Where the files come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchFrom {
    /// Each row's URL, or `<mirror>/<dataset>/<file>` when a mirror is given.
    Web { mirror: Option<String> },
    /// A local folder: `<folder>/<dataset>/<file>`, else `<folder>/<file>`.
    Folder(PathBuf),
}

/// How to fetch.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// The target folder; files go to `<to>/<dataset>/<file>`.
    pub to: PathBuf,
    pub from: FetchFrom,
    /// Attempts per download without progress before giving up (at least 1).
    pub attempts: u32,
    /// The pause after the first failed attempt; it doubles with each further one (at most 10 s).
    pub retry_delay: Duration,
    /// The longest wait for bytes (connecting, or between two reads of a body).
    pub read_timeout: Duration,
}

impl FetchOptions {
    /// Five attempts, half a second apart at first, a minute's patience for a silent server.
    pub fn new(to: PathBuf, from: FetchFrom) -> Self {
        FetchOptions {
            to,
            from,
            attempts: 5,
            retry_delay: Duration::from_millis(500),
            read_timeout: Duration::from_secs(60),
        }
    }
}

/// The URL a row is downloaded from: its own, or the mirror's with the target layout's path.
pub fn url_of(source: &Source, mirror: Option<&str>) -> String {
    match mirror {
        Some(mirror) => format!(
            "{}/{}",
            mirror.trim_end_matches('/'),
            source.relative_path()
        ),
        None => source.url.to_string(),
    }
}

/// What a fetch tells whoever shows it: a progress bar on a terminal, log lines elsewhere.
pub trait FetchProgress: Send + Sync {
    /// A transfer of `file` begins; `total` bytes when known, `already` of them from a partial file.
    fn started(&self, file: &str, url: &str, total: Option<u64>, already: u64);
    /// `bytes` more arrived.
    fn advanced(&self, bytes: u64);
    /// The transfer ended (completely or not).
    fn finished(&self);
    /// Something worth a line: a retry, a restart, a file replaced.
    fn note(&self, message: &str);
}

/// Progress shown nowhere.
pub struct Silent;

impl FetchProgress for Silent {
    fn started(&self, _: &str, _: &str, _: Option<u64>, _: u64) {}
    fn advanced(&self, _: u64) {}
    fn finished(&self) {}
    fn note(&self, _: &str) {}
}

/// What happened to a file that is now in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// It was there already and verified; nothing was transferred.
    Present,
    /// Downloaded from `url`; `resumed_from` bytes came from an earlier partial download.
    Downloaded { url: String, resumed_from: u64 },
    /// Copied from a local file.
    Copied { from: PathBuf },
}

/// A file in place and verified.
#[derive(Debug, Clone)]
pub struct FetchedFile {
    pub source: Source,
    pub path: PathBuf,
    pub action: Action,
    pub verified: Verified,
    /// Why a file that was at the path before was replaced (it did not match its row).
    pub replaced: Option<String>,
}

/// The kind of a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Not in the local folder.
    NotFound,
    /// The server answered with an error status (404, or 5xx after the retries).
    Http,
    /// The connection failed or kept dropping, after the retries.
    Connection,
    /// The bytes are not the file of the table (checksum, size or format).
    Mismatch,
    /// The target folder could not be written.
    Io,
}

/// A file that is not in place, and why. Nothing of it is at the final path.
#[derive(Debug, Clone)]
pub struct FileFailure {
    /// `dataset/file`.
    pub file: String,
    /// The URL or local path it was taken from.
    pub from: String,
    pub kind: FailureKind,
    /// Whether it came from a local folder (`--from`): the user's input, not the network.
    pub local: bool,
    pub message: String,
}

impl fmt::Display for FileFailure {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}: {}", self.file, self.message)?;
        if !self.message.contains(&self.from) {
            write!(formatter, " (from {})", self.from)?;
        }
        Ok(())
    }
}

/// Every row's outcome: the files in place and the failures.
#[derive(Debug, Clone, Default)]
pub struct FetchReport {
    pub files: Vec<FetchedFile>,
    pub failures: Vec<FileFailure>,
}

impl FetchReport {
    /// Files downloaded or copied in this run (not those already present).
    pub fn transferred(&self) -> usize {
        self.files
            .iter()
            .filter(|file| file.action != Action::Present)
            .count()
    }
}

/// The final path of a row under `to`.
pub fn target_path(to: &Path, source: &Source) -> PathBuf {
    to.join(source.dataset.as_ref()).join(source.file.as_ref())
}

fn partial_path(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    target.with_file_name(name)
}

/// Fetches every row (one after another; a failure does not stop the others) and reports each.
pub async fn fetch(
    sources: &[Source],
    options: &FetchOptions,
    progress: &dyn FetchProgress,
) -> FetchReport {
    let mut report = FetchReport::default();
    let client = match &options.from {
        FetchFrom::Web { .. } => match reqwest::Client::builder()
            .connect_timeout(options.read_timeout.min(Duration::from_secs(30)))
            .read_timeout(options.read_timeout)
            .user_agent(concat!("grsu/", env!("CARGO_PKG_VERSION")))
            .build()
        {
            Ok(client) => Some(client),
            Err(error) => {
                for source in sources {
                    report.failures.push(FileFailure {
                        file: source.relative_path(),
                        from: source.url.to_string(),
                        kind: FailureKind::Connection,
                        local: false,
                        message: format!("cannot build the http client: {error}"),
                    });
                }
                return report;
            }
        },
        FetchFrom::Folder(_) => None,
    };
    for source in sources {
        match fetch_one(source, options, client.as_ref(), progress).await {
            Ok(file) => report.files.push(file),
            Err(failure) => report.failures.push(failure),
        }
    }
    report
}

async fn fetch_one(
    source: &Source,
    options: &FetchOptions,
    client: Option<&reqwest::Client>,
    progress: &dyn FetchProgress,
) -> Result<FetchedFile, FileFailure> {
    let label = source.relative_path();
    let target = target_path(&options.to, source);
    let partial = partial_path(&target);
    let io_failure = |path: &Path, error: std::io::Error| FileFailure {
        file: label.clone(),
        from: path.display().to_string(),
        kind: FailureKind::Io,
        local: false,
        message: format!("cannot write {}: {error}", path.display()),
    };
    let mut replaced = None;
    if target.is_file() {
        match verify(&target, source) {
            Ok(verified) => {
                // A partial download left from an interrupted replacement is of no use now.
                let _ = std::fs::remove_file(&partial);
                return Ok(FetchedFile {
                    source: source.clone(),
                    path: target,
                    action: Action::Present,
                    verified,
                    replaced: None,
                });
            }
            Err(reason) => {
                progress.note(&format!(
                    "{label}: the file at {} does not match ({reason}); fetching it again",
                    target.display()
                ));
                replaced = Some(reason);
            }
        }
    }
    if let Some(folder) = target.parent() {
        std::fs::create_dir_all(folder).map_err(|error| io_failure(folder, error))?;
    }
    let (action, verified) = match (&options.from, client) {
        (FetchFrom::Folder(folder), _) => {
            copy_from_folder(source, folder, &target, &partial, progress)?
        }
        (FetchFrom::Web { mirror }, Some(client)) => {
            let url = url_of(source, mirror.as_deref());
            download_verified(client, source, &url, &partial, options, progress).await?
        }
        (FetchFrom::Web { .. }, None) => unreachable!("a web fetch always has a client"),
    };
    std::fs::rename(&partial, &target).map_err(|error| {
        let _ = std::fs::remove_file(&partial);
        io_failure(&target, error)
    })?;
    Ok(FetchedFile {
        source: source.clone(),
        path: target,
        action,
        verified,
        replaced,
    })
}

/// Downloads into `partial` and verifies it. A partial download that was resumed and then does
/// not match (say, left over from another version of the file) is downloaded again once, whole.
async fn download_verified(
    client: &reqwest::Client,
    source: &Source,
    url: &str,
    partial: &Path,
    options: &FetchOptions,
    progress: &dyn FetchProgress,
) -> Result<(Action, Verified), FileFailure> {
    let label = source.relative_path();
    loop {
        let resumed_from = std::fs::metadata(partial).map_or(0, |metadata| metadata.len());
        if resumed_from > 0 {
            progress.note(&format!(
                "{label}: resuming a partial download at {resumed_from} bytes"
            ));
        }
        download::download(client, source, url, partial, options, progress).await?;
        match verify(partial, source) {
            Ok(verified) => {
                let action = Action::Downloaded {
                    url: url.to_string(),
                    resumed_from,
                };
                return Ok((action, verified));
            }
            Err(reason) => {
                let _ = std::fs::remove_file(partial);
                if resumed_from > 0 {
                    progress.note(&format!(
                        "{label}: the resumed download does not match ({reason}); downloading it again from the start"
                    ));
                    continue;
                }
                return Err(FileFailure {
                    file: label,
                    from: url.to_string(),
                    kind: FailureKind::Mismatch,
                    local: false,
                    message: format!("{reason}; the download was removed"),
                });
            }
        }
    }
}

/// Copies a row's file from a local folder into `partial`, and verifies it there.
fn copy_from_folder(
    source: &Source,
    folder: &Path,
    target: &Path,
    partial: &Path,
    progress: &dyn FetchProgress,
) -> Result<(Action, Verified), FileFailure> {
    let label = source.relative_path();
    let nested = folder
        .join(source.dataset.as_ref())
        .join(source.file.as_ref());
    let flat = folder.join(source.file.as_ref());
    let Some(found) = [&nested, &flat].into_iter().find(|path| path.is_file()) else {
        return Err(FileFailure {
            file: label,
            from: folder.display().to_string(),
            kind: FailureKind::NotFound,
            local: true,
            message: format!(
                "not found in {} (looked for {} and {})",
                folder.display(),
                nested.display(),
                flat.display()
            ),
        });
    };
    let mismatch = |reason: String| FileFailure {
        file: label.clone(),
        from: found.display().to_string(),
        kind: FailureKind::Mismatch,
        local: true,
        message: format!("{} is not the file of the table: {reason}", found.display()),
    };
    if same_file(found, target) {
        // Copying a file onto itself: it was verified (and failed) just before.
        return Err(mismatch(verify(found, source).err().unwrap_or_default()));
    }
    progress.note(&format!("{label}: copying {}", found.display()));
    std::fs::copy(found, partial).map_err(|error| {
        let _ = std::fs::remove_file(partial);
        FileFailure {
            file: label.clone(),
            from: found.display().to_string(),
            kind: FailureKind::Io,
            local: false,
            message: format!(
                "cannot copy {} to {}: {error}",
                found.display(),
                partial.display()
            ),
        }
    })?;
    match verify(partial, source) {
        Ok(verified) => Ok((
            Action::Copied {
                from: found.clone(),
            },
            verified,
        )),
        Err(reason) => {
            let _ = std::fs::remove_file(partial);
            Err(mismatch(format!("{reason}; nothing was copied")))
        }
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The `grsu data stats` figures of one samples file, loaded as the paper does: with its
/// dataset's catalog and only new items.
#[derive(Debug, Clone)]
pub struct StatsLine {
    /// `dataset/file` of the samples file.
    pub file: String,
    pub format: crate::data::DatasetFormat,
    /// The catalog's `dataset/file` and its number of items, when it is in place and loads.
    pub catalog: Option<(String, usize)>,
    /// Why there is no catalog, when the dataset has one in the table.
    pub catalog_missing: Option<String>,
    pub stats: Result<DatasetStats, String>,
}

/// The stats of every samples file of `sources` that is in place under `to`.
pub fn dataset_stats(sources: &[Source], to: &Path) -> Vec<StatsLine> {
    let mut lines = Vec::new();
    for dataset in datasets(sources) {
        let rows: Vec<&Source> = sources
            .iter()
            .filter(|source| source.dataset == dataset)
            .collect();
        let catalog_row = rows.iter().find_map(|source| match source.role {
            FileRole::Catalog(format) => Some((*source, format)),
            FileRole::Samples(_) => None,
        });
        let (catalog, catalog_missing) = match catalog_row {
            None => (None, None),
            Some((row, format)) => {
                let path = target_path(to, row);
                if !path.is_file() {
                    (None, Some(format!("{} is missing", row.relative_path())))
                } else {
                    match Catalog::load(&path, format) {
                        Ok(catalog) => (Some((row.relative_path(), catalog)), None),
                        Err(error) => (None, Some(error.to_string())),
                    }
                }
            }
        };
        for row in &rows {
            let FileRole::Samples(format) = row.role else {
                continue;
            };
            let path = target_path(to, row);
            if !path.is_file() {
                continue;
            }
            let stats = Dataset::load(
                &path,
                format,
                LoadOptions {
                    catalog: catalog.as_ref().map(|(_, catalog)| catalog),
                    only_new: true,
                },
            )
            .map(|dataset| dataset.stats)
            .map_err(|error| error.to_string());
            lines.push(StatsLine {
                file: row.relative_path(),
                format,
                catalog: catalog
                    .as_ref()
                    .map(|(name, catalog)| (name.clone(), catalog.len())),
                catalog_missing: catalog_missing.clone(),
                stats,
            });
        }
    }
    lines
}

#[cfg(test)]
mod tests;
