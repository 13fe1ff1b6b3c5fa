//! `grsu data fetch <redial|inspired|all>`: the paper's datasets and catalogs into the layout the
//! ready configs read, each file checked against the source table (`grsu::data::fetch`).
//!
//! Output: progress on stderr (a bar per file on a terminal, log lines otherwise), then on stdout
//! where each file went and the `grsu data stats` figures of each samples file, loaded the way the
//! paper does (its dataset's catalog, only new items). Exit codes: 0 when every file is in place
//! and verified; 2 when a file of a `--from` folder is missing or wrong (the user's input); 1 when
//! a download failed. Files that could be fetched are in place either way, and nothing unverified
//! is at a final path.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use clap::Args;
use grsu::data::fetch::{
    self, Action, FailureKind, FetchFrom, FetchOptions, FetchProgress, StatsLine,
};
use grsu::InputError;

use super::runtime::runtime;
use super::CliFailure;

/// Where `--to` points without it and without `GRSU_DATA`: the folder `config/paper/*.toml` read
/// (`${GRSU_DATA:-../../../shared/data}`, relative to `config/paper/`) when the command runs from
/// the repository root.
const DEFAULT_TARGET: &str = "../shared/data";

#[derive(Debug, Args)]
pub struct DataFetchArguments {
    /// Which dataset: redial, inspired or all.
    dataset: String,
    /// Target folder; files go to DIR/<dataset>/<file> [default: $GRSU_DATA, else ../shared/data,
    /// which config/paper/*.toml read when GRSU_DATA is unset and you run from the repository root].
    #[arg(long, value_name = "DIR")]
    to: Option<PathBuf>,
    /// Copy the files from this local folder (DIR/<dataset>/<file>, or every file flat in DIR)
    /// instead of downloading them.
    #[arg(long, value_name = "DIR", conflicts_with = "mirror")]
    from: Option<PathBuf>,
    /// Download from a mirror holding the same layout: URL/<dataset>/<file> replaces every URL
    /// [default: $GRSU_DATA_MIRROR].
    #[arg(long, value_name = "URL")]
    mirror: Option<String>,
    /// A replacement source table (TOML, [[source]] rows), for tests.
    #[arg(long, hide = true, value_name = "FILE")]
    sources: Option<PathBuf>,
    /// Attempts per file without progress before giving up.
    #[arg(long, hide = true, default_value_t = 5)]
    attempts: u32,
    /// The pause after a first failed attempt, in milliseconds (it doubles after each further one).
    #[arg(long, hide = true, default_value_t = 500)]
    retry_delay_ms: u64,
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

pub fn run(arguments: DataFetchArguments) -> Result<(), CliFailure> {
    let table = match &arguments.sources {
        Some(path) => fetch::load_table(path).map_err(CliFailure::Config)?,
        None => fetch::builtin_sources(),
    };
    let known = fetch::datasets(&table);
    if arguments.dataset != "all" && !known.contains(&arguments.dataset) {
        return Err(CliFailure::Input(InputError::UnknownName {
            what: "dataset",
            name: arguments.dataset,
            expected: format!("{}, all", known.join(", ")),
        }));
    }
    let sources = fetch::select(&table, &arguments.dataset).map_err(CliFailure::Config)?;
    let to = arguments
        .to
        .or_else(|| non_empty_env("GRSU_DATA").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_TARGET));
    let from = match arguments.from {
        Some(folder) => {
            if !folder.is_dir() {
                return Err(CliFailure::Config(format!(
                    "--from {}: not a folder",
                    folder.display()
                )));
            }
            FetchFrom::Folder(folder)
        }
        None => FetchFrom::Web {
            mirror: arguments
                .mirror
                .or_else(|| non_empty_env("GRSU_DATA_MIRROR")),
        },
    };
    let mut options = FetchOptions::new(to.clone(), from.clone());
    options.attempts = arguments.attempts.max(1);
    options.retry_delay = Duration::from_millis(arguments.retry_delay_ms);
    match &from {
        FetchFrom::Folder(folder) => {
            tracing::info!("copying {} files from {}", sources.len(), folder.display())
        }
        FetchFrom::Web {
            mirror: Some(mirror),
        } => {
            tracing::info!("fetching {} files from the mirror {mirror}", sources.len())
        }
        FetchFrom::Web { mirror: None } => {}
    }
    let progress = Progress::new();
    let report = runtime()?.block_on(fetch::fetch(&sources, &options, &progress));

    let absolute = std::path::absolute(&to).unwrap_or_else(|_| to.clone());
    let width = sources
        .iter()
        .map(|source| source.relative_path().len())
        .max()
        .unwrap_or(0);
    for file in &report.files {
        let how = match &file.action {
            Action::Present => "present".to_string(),
            Action::Downloaded { resumed_from, .. } if *resumed_from > 0 => {
                format!("downloaded (resumed at {resumed_from} bytes)")
            }
            Action::Downloaded { .. } => "downloaded".to_string(),
            Action::Copied { from } => format!("copied from {}", from.display()),
        };
        let check = if file.verified.checksum_checked {
            "sha256 verified".to_string()
        } else {
            // No checksum in the table: say what was checked and what the bytes hash to, so
            // that the row can be pinned.
            format!(
                "no checksum in the table: size and format checked, sha256 {}",
                file.verified.sha256
            )
        };
        println!(
            "{:<width$}  {}  {how}, {} bytes, {check}",
            file.source.relative_path(),
            display_path(&file.path),
            file.verified.bytes,
        );
        if let Some(reason) = &file.replaced {
            println!(
                "{:<width$}  (replaced a file that did not match: {reason})",
                ""
            );
        }
    }
    for failure in &report.failures {
        println!("{:<width$}  FAILED: {}", failure.file, failure.message);
    }
    let transferred = report.transferred();
    if report.failures.is_empty() && transferred == 0 {
        println!(
            "nothing to {}: every file is present and verified in {}",
            match from {
                FetchFrom::Folder(_) => "copy",
                FetchFrom::Web { .. } => "download",
            },
            absolute.display()
        );
    } else {
        println!(
            "{} of {} files in place in {} ({} {}, {} already present)",
            report.files.len(),
            sources.len(),
            absolute.display(),
            transferred,
            match from {
                FetchFrom::Folder(_) => "copied",
                FetchFrom::Web { .. } => "downloaded",
            },
            report.files.len() - transferred
        );
    }
    for line in fetch::dataset_stats(&sources, &to) {
        println!("{}", stats_line(&line));
    }
    if !report.files.is_empty() {
        println!(
            "config/paper/*.toml read this folder with GRSU_DATA={}",
            absolute.display()
        );
    }

    if report.failures.is_empty() {
        return Ok(());
    }
    let mut message = format!(
        "{} of {} files could not be fetched; nothing unverified was left at their paths:",
        report.failures.len(),
        sources.len()
    );
    for failure in &report.failures {
        message.push_str(&format!("\n  {failure}"));
    }
    if report
        .failures
        .iter()
        .any(|failure| failure.kind == FailureKind::Connection)
    {
        message.push_str(
            "\nwithout access to the sources: `--from DIR` copies the files from a local folder, \
             GRSU_DATA_MIRROR=URL downloads them from a mirror (docs/datasets.md)",
        );
    }
    if report.failures.iter().all(|failure| failure.local) {
        Err(CliFailure::Config(message))
    } else {
        Err(CliFailure::Other(anyhow::anyhow!(message)))
    }
}

fn display_path(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// One line with the figures `grsu data stats --only-new --catalog …` prints.
fn stats_line(line: &StatsLine) -> String {
    let catalog = match (&line.catalog, &line.catalog_missing) {
        (Some((name, items)), _) => format!("catalog {name} ({items} items)"),
        (None, Some(reason)) => format!("no catalog: {reason}"),
        (None, None) => "no catalog".to_string(),
    };
    match &line.stats {
        Ok(stats) => format!(
            "stats {} ({}, {catalog}, only new): {} conversations ({} with samples), {} samples, {} labels, {} dropped (label not new), {}{:.2} mean history turns",
            line.file,
            line.format,
            stats.conversations,
            stats.conversations_with_samples,
            stats.samples,
            stats.labels,
            stats.dropped_not_new,
            stats
                .labels_not_in_catalog
                .map_or(String::new(), |count| format!("{count} labels not in catalog, ")),
            stats.mean_history_turns,
        ),
        Err(error) => format!("stats {} ({}): cannot load it: {error}", line.file, line.format),
    }
}

/// A byte bar per file on a terminal; log lines (start, notes) otherwise.
struct Progress {
    terminal: bool,
    bar: Mutex<Option<indicatif::ProgressBar>>,
}

impl Progress {
    fn new() -> Self {
        Progress {
            terminal: std::io::stderr().is_terminal(),
            bar: Mutex::new(None),
        }
    }
}

impl FetchProgress for Progress {
    fn started(&self, file: &str, url: &str, total: Option<u64>, already: u64) {
        if !self.terminal {
            match already {
                0 => tracing::info!("downloading {file} from {url}"),
                _ => tracing::info!("resuming {file} at {already} bytes from {url}"),
            }
            return;
        }
        let bar = match total {
            Some(total) => {
                let bar = indicatif::ProgressBar::new(total);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}, eta {eta}",
                    )
                    .expect("a valid template"),
                );
                bar
            }
            None => {
                let bar = indicatif::ProgressBar::new_spinner();
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{msg} {spinner} {bytes} {bytes_per_sec}",
                    )
                    .expect("a valid template"),
                );
                bar
            }
        };
        bar.set_message(file.to_string());
        bar.set_position(already);
        *self.bar.lock().expect("progress lock") = Some(bar);
    }

    fn advanced(&self, bytes: u64) {
        if let Some(bar) = self.bar.lock().expect("progress lock").as_ref() {
            bar.inc(bytes);
        }
    }

    fn finished(&self) {
        if let Some(bar) = self.bar.lock().expect("progress lock").take() {
            bar.finish_and_clear();
        }
    }

    fn note(&self, message: &str) {
        match self.bar.lock().expect("progress lock").as_ref() {
            Some(bar) => bar.println(message),
            None => tracing::info!("{message}"),
        }
    }
}
