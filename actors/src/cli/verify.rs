//! `grsu verify <output>`: checks the store of an output folder entry by entry and says what is
//! damaged ([`grsu::store::verify`]): a table per tree (entries, sound, damaged), then each damaged
//! entry with its tree, key and what is wrong.
//!
//! Exit codes: 0 the store is sound, 4 damaged entries were found, 2 there is no store or it cannot
//! be opened at all (the storage engine refuses its files, another grsu format, a sweep holding
//! it). Nothing is ever removed: sound entries stay usable, and `grsu run` searches again the
//! records that cannot be read.
//!
//! The check opens a copy of the store (in the system's temporary folder), because opening a
//! store lets the storage engine recover it, and its recovery cuts a damaged log at the damage:
//! verifying must leave the store as it found it. `--in-place` opens the store itself (for a store
//! too large to copy).

use std::path::{Path, PathBuf};

use clap::Args;
use grsu::store::{Store, VerifyReport, STORE_FORMAT_VERSION};
use serde_json::json;

use super::CliFailure;
use grsu_actors::engine::store_path;

/// The exit code of a store with damaged entries.
pub const DAMAGED_EXIT_CODE: u8 = 4;

#[derive(Debug, Args)]
pub struct VerifyArguments {
    /// The sweep's output folder (its `[run] output`).
    output: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Open the store itself instead of a copy (no room for a copy); the storage engine's recovery
    /// may then write to it.
    #[arg(long)]
    in_place: bool,
}

pub fn run(arguments: VerifyArguments) -> Result<(), CliFailure> {
    let path = store_path(&arguments.output);
    if !path.is_dir() {
        return Err(CliFailure::Config(format!(
            "{} holds no sweep (no store at {})",
            arguments.output.display(),
            path.display()
        )));
    }
    let copy = if arguments.in_place {
        None
    } else {
        Some(StoreCopy::of(&path)?)
    };
    let opened_path = copy
        .as_ref()
        .map_or(path.as_path(), |copy| copy.folder.as_path());
    let report = {
        let store = Store::open(opened_path).map_err(|error| {
            let message = grsu::store::explain_open_failure(&path, &error);
            let message = message.replace(
                &opened_path.display().to_string(),
                &path.display().to_string(),
            );
            CliFailure::Config(format!("cannot verify {}: {message}", path.display()))
        })?;
        grsu::store::verify(&store)
    };
    drop(copy);
    if arguments.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "store": path.display().to_string(),
                "format_version": STORE_FORMAT_VERSION,
                "clean": report.is_clean(),
                "trees": report.trees,
                "damaged": report.damaged,
                "outside_manifest": report.outside_manifest,
            }))?
        );
    } else {
        print!("{}", table(&path, &report));
    }
    if report.is_clean() {
        return Ok(());
    }
    Err(CliFailure::Stopped {
        code: DAMAGED_EXIT_CODE,
        message: format!(
            "{} damaged entr{} in {} (nothing was removed; `grsu run` with the sweep's config \
             searches again the records that cannot be read)",
            report.damaged.len(),
            if report.damaged.len() == 1 {
                "y"
            } else {
                "ies"
            },
            path.display()
        ),
    })
}

/// A copy of a store's files in the temporary folder, removed when dropped.
struct StoreCopy {
    folder: PathBuf,
}

impl StoreCopy {
    fn of(store: &Path) -> Result<Self, CliFailure> {
        let copy = StoreCopy {
            folder: std::env::temp_dir().join(format!("grsu-verify-{}", std::process::id())),
        };
        let _ = std::fs::remove_dir_all(&copy.folder);
        copy_files(store, &copy.folder).map_err(|error| {
            CliFailure::Config(format!(
                "cannot verify {}: cannot copy it to {} to check it there ({error}); make room \
                 there (TMPDIR chooses the folder), or check the store itself with --in-place",
                store.display(),
                copy.folder.display()
            ))
        })?;
        Ok(copy)
    }
}

impl Drop for StoreCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

fn copy_files(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_files(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

fn table(path: &Path, report: &VerifyReport) -> String {
    let mut text = format!(
        "store {} (format version {STORE_FORMAT_VERSION})\n\n",
        path.display()
    );
    text.push_str(&format!(
        "{:<10} {:>9} {:>9} {:>9}\n",
        "tree", "entries", "ok", "damaged"
    ));
    for check in &report.trees {
        text.push_str(&format!(
            "{:<10} {:>9} {:>9} {:>9}\n",
            check.tree, check.entries, check.ok, check.damaged
        ));
    }
    if !report.outside_manifest.is_empty() {
        text.push_str(&format!(
            "\n{} sound record(s) outside the current manifest (kept from an earlier \
             configuration of the folder, not reported)\n",
            report.outside_manifest.len()
        ));
    }
    if report.is_clean() {
        text.push_str("\nno damage found\n");
    } else {
        text.push_str("\ndamaged entries:\n");
        for damage in &report.damaged {
            text.push_str(&format!(
                "  {}  {}  {}\n",
                damage.tree, damage.key, damage.problem
            ));
        }
    }
    text
}
