//! `grsu status <output>`: per cell of a sweep, finished units out of seeds × samples, calls,
//! tokens, invalid answers per request of each model role, and errors, read from the store. The
//! table says under it what the invalid-answer figure means (the JSON has the counts behind it).
//!
//! A sweep run in shards (`grsu run --shard i/n|auto`) has `<output>/shards/<i>-of-<n>`: status
//! over its output shows each shard (running ones from their `progress.json`; stopped ones with
//! their failures; finished ones, and whether `grsu merge` has put their records in the output's
//! own store), and the total.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use clap::Args;
use grsu::report::status::{cell_status, status_table};
use grsu::report::summary::INVALID_ANSWERS_NOTE;

use super::output_store::open_sweep;
use super::CliFailure;
use grsu_actors::engine::progress::ProgressSnapshot;

#[derive(Debug, Args)]
pub struct StatusArguments {
    /// The sweep's output folder (its `[run] output`).
    output: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(arguments: StatusArguments) -> Result<(), CliFailure> {
    let shards = shard_folders(&arguments.output);
    let own_store = grsu_actors::engine::store_path(&arguments.output).is_dir();
    if !shards.is_empty() && !own_store {
        // Nothing merged yet: the shards are the sweep.
        return print_shards(&arguments, &shards, Some(&HashSet::new()), true);
    }
    if own_store {
        let path = grsu_actors::engine::store_path(&arguments.output);
        match grsu::store::Store::open(&path) {
            // A running sweep holds the store: show what it last wrote.
            Err(error) if super::output_store::held_by_a_run(&error) => {
                running_status(&arguments, &error.to_string())?;
                if !shards.is_empty() {
                    print_shards(&arguments, &shards, None, false)?;
                }
                return Ok(());
            }
            Err(error) => {
                return Err(CliFailure::Other(anyhow::anyhow!(
                    grsu::store::explain_open_failure(&path, &error)
                )))
            }
            Ok(_) => {}
        }
    }
    let (store, manifest) = open_sweep(&arguments.output)?;
    let other = |error: grsu::store::StoreError| CliFailure::Other(error.into());
    let status = cell_status(
        &manifest,
        &store.records().map_err(other)?,
        &store.failures().map_err(other)?,
    );
    if arguments.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        println!(
            "sweep `{}` ({} cells, {} searches, seeds {:?})\n",
            manifest.name,
            manifest.cells.len(),
            manifest.searches.len(),
            manifest.seeds
        );
        println!("{}", status_table(&status).trim_end());
        println!("\ninvalid / request: {INVALID_ANSWERS_NOTE}.");
    }
    if !shards.is_empty() {
        let merged: HashSet<(String, u64, String)> = store
            .records()
            .map_err(other)?
            .into_iter()
            .map(|record| (record.search, record.seed, record.sample))
            .collect();
        drop(store);
        print_shards(&arguments, &shards, Some(&merged), false)?;
    }
    Ok(())
}

/// The shard folders `<output>/shards/<i>-of-<n>`, by index: (index, count, folder).
fn shard_folders(output: &Path) -> Vec<(usize, usize, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(output.join("shards")) else {
        return Vec::new();
    };
    let mut shards: Vec<(usize, usize, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().to_string();
            let (index, count) = name.split_once("-of-")?;
            Some((index.parse().ok()?, count.parse().ok()?, entry.path()))
        })
        .filter(|(index, count, path)| index < count && path.is_dir())
        .collect();
    shards.sort();
    shards
}

/// One shard of a sweep as `grsu status` shows it.
#[derive(Debug, Default, serde::Serialize)]
struct ShardStatus {
    /// `i/n`.
    shard: String,
    /// `running`, `finished`, `stopped` (some samples not done; failed ones counted) or `not
    /// started`.
    state: String,
    done: u64,
    total: u64,
    failed: u64,
    /// Model calls (not from the cache) of its finished samples, or of the running process.
    calls: u64,
    /// Whether every record of the shard is in the output's own store (`grsu merge`); `None`
    /// when that store cannot be read (none yet, or running) or the shard's is held.
    merged: Option<bool>,
    /// The running process and how long ago its progress was written.
    pid: Option<u32>,
    updated_s_ago: Option<u64>,
    last_error: Option<String>,
}

fn shard_status(
    index: usize,
    count: usize,
    folder: &Path,
    merged: Option<&HashSet<(String, u64, String)>>,
) -> ShardStatus {
    let mut status = ShardStatus {
        shard: format!("{index}/{count}"),
        state: "not started".into(),
        ..ShardStatus::default()
    };
    let store_path = grsu_actors::engine::store_path(folder);
    if !store_path.is_dir() {
        return status;
    }
    match grsu::store::Store::open(&store_path) {
        Ok(store) => {
            let (Ok(Some(manifest)), Ok(records), Ok(failures)) =
                (store.manifest(), store.records(), store.failures())
            else {
                status.state = "unreadable store".into();
                return status;
            };
            let cells = cell_status(&manifest, &records, &failures);
            status.done = cells.iter().map(|cell| cell.done as u64).sum();
            status.total = cells.iter().map(|cell| cell.total as u64).sum();
            status.failed = cells.iter().map(|cell| cell.errors as u64).sum();
            status.calls = cells.iter().map(|cell| cell.calls).sum();
            status.last_error = cells.iter().find_map(|cell| {
                cell.last_error
                    .as_ref()
                    .map(|error| format!("{}: {error}", cell.cell))
            });
            status.state = if status.done >= status.total {
                "finished"
            } else {
                "stopped"
            }
            .into();
            status.merged = merged.map(|merged| {
                records.iter().all(|record| {
                    merged.contains(&(record.search.clone(), record.seed, record.sample.clone()))
                })
            });
        }
        Err(_) => {
            status.state = "running".into();
            let snapshot = std::fs::read_to_string(folder.join("progress.json"))
                .ok()
                .and_then(|text| serde_json::from_str::<ProgressSnapshot>(&text).ok());
            if let Some(snapshot) = snapshot {
                status.done = snapshot.done + snapshot.skipped;
                status.total = snapshot.total + snapshot.skipped;
                status.failed = snapshot.failed;
                status.calls = snapshot.roles.values().map(|role| role.calls).sum();
                status.pid = Some(snapshot.pid);
                status.updated_s_ago = Some(
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |now| now.as_secs())
                        .saturating_sub(snapshot.updated_unix),
                );
            }
        }
    }
    status
}

/// The shards' table (or JSON, when they are all there is to show) and the total.
fn print_shards(
    arguments: &StatusArguments,
    folders: &[(usize, usize, PathBuf)],
    merged: Option<&HashSet<(String, u64, String)>>,
    only: bool,
) -> Result<(), CliFailure> {
    let count = folders
        .iter()
        .map(|(_, count, _)| *count)
        .max()
        .unwrap_or(0);
    let mut shards: Vec<ShardStatus> = Vec::new();
    for index in 0..count {
        match folders.iter().find(|(i, n, _)| *i == index && *n == count) {
            Some((_, _, folder)) => shards.push(shard_status(index, count, folder, merged)),
            None => shards.push(ShardStatus {
                shard: format!("{index}/{count}"),
                state: "not started".into(),
                ..ShardStatus::default()
            }),
        }
    }
    let others: Vec<String> = folders
        .iter()
        .filter(|(_, n, _)| *n != count)
        .map(|(_, _, folder)| folder.display().to_string())
        .collect();
    let sum = |field: fn(&ShardStatus) -> u64| shards.iter().map(field).sum::<u64>();
    let finished = shards
        .iter()
        .filter(|shard| shard.state == "finished")
        .count();
    let merged_count = shards
        .iter()
        .filter(|shard| shard.merged == Some(true))
        .count();
    if arguments.json && only {
        let json = serde_json::json!({
            "shards": shards,
            "total": {
                "done": sum(|shard| shard.done),
                "total": sum(|shard| shard.total),
                "failed": sum(|shard| shard.failed),
                "calls": sum(|shard| shard.calls),
                "finished_shards": finished,
                "merged_shards": merged_count,
                "shard_count": count,
            },
            "other_shard_folders": others,
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    if arguments.json {
        // The cells' JSON above stays as it is; the shards are for the table.
        return Ok(());
    }
    println!(
        "\n{} shards in {}:\n",
        count,
        arguments.output.join("shards").display()
    );
    println!("| shard | state | done | failed | calls | merged |\n|---|---|---|---|---|---|");
    for shard in &shards {
        let state = match (shard.pid, shard.updated_s_ago) {
            (Some(pid), Some(age)) => format!("{} (pid {pid}, updated {age} s ago)", shard.state),
            _ => shard.state.clone(),
        };
        let merged = match shard.merged {
            Some(true) => "yes",
            Some(false) => "no",
            None => "-",
        };
        println!(
            "| {} | {state} | {}/{} | {} | {} | {merged} |",
            shard.shard, shard.done, shard.total, shard.failed, shard.calls
        );
    }
    println!(
        "| total | {finished} of {count} finished, {merged_count} merged | {}/{} | {} | {} | |",
        sum(|shard| shard.done),
        sum(|shard| shard.total),
        sum(|shard| shard.failed),
        sum(|shard| shard.calls)
    );
    for shard in shards.iter().filter(|shard| shard.last_error.is_some()) {
        println!(
            "\nshard {}: last error: {}",
            shard.shard,
            shard.last_error.as_deref().unwrap_or_default()
        );
    }
    if !others.is_empty() {
        println!("\nfolders of another shard count: {}", others.join(", "));
    }
    if finished == count && merged_count < count && only {
        println!(
            "\nevery shard is finished: `grsu merge --into {} {}/shards/*-of-{count}`",
            arguments.output.display(),
            arguments.output.display()
        );
    }
    Ok(())
}

/// The status of a sweep still running: its `progress.json`.
fn running_status(arguments: &StatusArguments, store_error: &str) -> Result<(), CliFailure> {
    let path = arguments.output.join("progress.json");
    let text = std::fs::read_to_string(&path).map_err(|_| {
        CliFailure::Other(anyhow::anyhow!(
            "{store_error}; no {} either",
            path.display()
        ))
    })?;
    if arguments.json {
        println!("{text}");
        return Ok(());
    }
    let snapshot: ProgressSnapshot = serde_json::from_str(&text)?;
    let age = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |now| now.as_secs())
        .saturating_sub(snapshot.updated_unix);
    println!(
        "a sweep is running on {} (pid {}, {:.0} s so far, last update {age} s ago): {}/{} samples done, {} failed, {} were already stored",
        arguments.output.display(),
        snapshot.pid,
        snapshot.elapsed_s,
        snapshot.done,
        snapshot.total,
        snapshot.failed,
        snapshot.skipped
    );
    for (role, counters) in &snapshot.roles {
        println!(
            "  {role}: {} calls, {} cache hits, {} tokens, {} errors",
            counters.calls, counters.cache_hits, counters.tokens, counters.errors
        );
    }
    println!("per-cell figures come when it stops (or from `grsu status` on a copy of the store)");
    Ok(())
}
