//! Sweeps: one config file describing many cells (an ablation grid, a table of the paper), run
//! under one admission control and one store.
//!
//! A config may hold, besides the tables of a plain run config:
//!
//! ```toml
//! [grid]                              # cartesian product of dotted config paths
//! "search.strategy" = ["beam", "greedy"]
//! "user.scoring_mode" = ["forced", "generate"]
//!
//! [[variant]]                         # named overrides; cells = variants × grid product
//! name = "GRSU"
//! [[variant]]
//! name = "- critiquing"
//! user.critique = false
//! ```
//!
//! Every cell is the base document with its values applied, deserialised and validated like a
//! plain config, so a misspelt key fails naming the cell. `[run]` (name, seeds, output,
//! concurrency) belongs to the sweep and cannot vary.
//!
//! Cells that differ only in their output strategies or (for beam and greedy search) their depth
//! share one search: every output strategy and every depth truncation is computed from the stored
//! tree. Cells whose requests are equal share them through the response cache.
//!
//! ## Layout
//!
//! - [`changes`]: what changed since the sweep an output folder last ran, said when a run takes
//!   it over.
//! - [`document`]: dotted-path edits of the TOML document.
//! - [`origin`]: where a cell's key is written in the file (its own tables, the grid, a variant),
//!   for errors.
//! - [`shard`]: `--shard i/n`, one orchestrator's share of a sweep.

pub mod changes;
pub mod document;
pub mod origin;
pub mod shard;

pub use shard::{shard_from_environment, Shard, ShardRequest, ShardSource};

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};
use toml::{Table, Value};

use crate::config::identity::short_hash;
use crate::config::load::ConfigFile;
use crate::config::models::table_of;
use crate::config::{ConfigError, RunConfig};
use crate::search::OutputStrategy;
use document::{display_value, flatten, set_path};

/// The top-level tables that make a config a sweep.
pub const GRID_TABLES: [&str; 2] = ["grid", "variant"];

/// One cell: a complete run config and where its results come from.
#[derive(Debug, Clone)]
pub struct Cell {
    /// Unique within the sweep: the variant name and the grid values (`strategy=greedy`).
    pub name: String,
    /// How errors name this cell: the config file, and the cell in a sweep.
    pub label: String,
    /// The grid and variant values of this cell, as `(dotted path, displayed value)`.
    pub assignments: Vec<(String, String)>,
    pub config: RunConfig,
    /// Index into [`Sweep::searches`].
    pub search: usize,
    /// The depth the shared search's trees are truncated at (beam and greedy search: the cell's
    /// own depth, always given, so that a store searched deeper still reports this depth);
    /// `None`: the whole tree (strategies without depth).
    pub depth: Option<u32>,
    /// The path keys written with `${NAME}`, as written (JSON pointer, text): see
    /// [`Cell::manifest_config`].
    pub written_paths: Vec<(String, String)>,
}

impl Cell {
    /// The output strategies of this cell (its rows in a report).
    pub fn strategies(&self) -> &[OutputStrategy] {
        &self.config.output.strategies
    }

    /// The cell's config as a sweep's manifest records it: the resolved config, except that a
    /// path written with `${NAME}` is recorded as written, not as the variable's value
    /// ([`crate::config::env_paths::written_env_paths`]).
    pub fn manifest_config(&self) -> serde_json::Result<serde_json::Value> {
        let mut config = serde_json::to_value(&self.config)?;
        for (pointer, written) in &self.written_paths {
            if let Some(value) = config.pointer_mut(pointer) {
                *value = serde_json::Value::String(written.clone());
            }
        }
        Ok(config)
    }
}

/// A search shared by one or more cells.
#[derive(Debug, Clone)]
pub struct SharedSearch {
    /// Identifies the search's records in the store: a hash of everything that determines them.
    pub key: String,
    /// The config the search runs with: the deepest depth and every output strategy of its cells.
    pub config: RunConfig,
    pub cells: Vec<usize>,
}

/// A whole sweep: a plain config is a sweep of one cell.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub path: PathBuf,
    /// The command-line overrides it was loaded with (`--set key=value`, `--output DIR`), as given.
    pub overrides: Vec<String>,
    pub name: String,
    pub seeds: Vec<u64>,
    pub output: PathBuf,
    pub max_in_flight: usize,
    /// `[run] give_up_after_s`: how long every endpoint of a role may fail before the run stops.
    pub give_up_after: std::time::Duration,
    /// `[run] drain_timeout_s`: how long samples in flight may finish after SIGTERM or Ctrl-C.
    pub drain_timeout: std::time::Duration,
    /// `[run] worker_threads`: threads of the async runtime that runs the sweep.
    pub worker_threads: usize,
    pub cells: Vec<Cell>,
    pub searches: Vec<SharedSearch>,
}

/// The most cells a sweep may have: every cell is a whole run, and the grid's product is expanded
/// before anything runs, so a mistyped grid must not exhaust memory.
pub const MAX_CELLS: usize = 10_000;

/// Changes to a config file given on the command line: `grsu run CONFIG --set search.depth=3
/// --output DIR`. They apply to the file's document before its cells are expanded, and are
/// validated like the file's own values.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `(dotted path, value)`, in the order given.
    pub set: Vec<(String, Value)>,
    /// `[run] output`, already resolved (relative to where the command runs, not to the config).
    pub output: Option<PathBuf>,
}

impl Overrides {
    /// Parses one `--set key=value`: the value is TOML (`3`, `true`, `["vote"]`, `"text"`), or
    /// else taken as a string (`--set run.name=paper`).
    pub fn parse_set(assignment: &str) -> Result<(String, Value), String> {
        let (key, value) = assignment
            .split_once('=')
            .ok_or_else(|| format!("--set {assignment}: write key=value, e.g. search.depth=3"))?;
        let key = key.trim();
        if key.is_empty() || key.split('.').any(str::is_empty) {
            return Err(format!(
                "--set {assignment}: `{key}` is not a dotted config key"
            ));
        }
        let value = value.trim();
        let parsed = toml::from_str::<Table>(&format!("value = {value}"))
            .ok()
            .and_then(|mut table| table.remove("value"))
            .unwrap_or_else(|| Value::String(value.to_string()));
        Ok((key.to_string(), parsed))
    }

    /// The overrides as given, for the manifest.
    pub fn describe(&self) -> Vec<String> {
        let mut described: Vec<String> = self
            .set
            .iter()
            .map(|(key, value)| format!("--set {key}={}", display_value(value)))
            .collect();
        if let Some(output) = &self.output {
            described.push(format!("--output {}", output.display()));
        }
        described
    }
}

/// What [`Sweep::hash`] covers.
#[derive(Serialize)]
struct HashedCell<'a> {
    name: &'a str,
    search: &'a str,
    depth: Option<u32>,
    limit: Option<usize>,
    strategies: &'a [OutputStrategy],
}

impl Sweep {
    /// Reads a config file (plain or with `[grid]` / `[[variant]]`), expands and validates every cell.
    pub fn load(path: &Path) -> Result<Sweep, ConfigError> {
        Self::load_with(path, &Overrides::default())
    }

    /// [`Sweep::load`] with command-line overrides applied to the file's document first.
    pub fn load_with(path: &Path, overrides: &Overrides) -> Result<Sweep, ConfigError> {
        ConfigFile::read(path)?.build(|file| Self::from_file(file, overrides))
    }

    /// [`Sweep::load_with`] on a config's text as if read from `path` (relative paths resolve
    /// against its folder).
    pub fn parse(text: &str, path: &Path, overrides: &Overrides) -> Result<Sweep, ConfigError> {
        ConfigFile::from_text(path, text).build(|file| Self::from_file(file, overrides))
    }

    fn from_file(config_file: &ConfigFile, overrides: &Overrides) -> Result<Sweep, ConfigError> {
        let path = config_file.path();
        let file = config_file.label();
        let mut base: Table = config_file.document()?;
        let parse_error = |message: String| ConfigError::parse(file.clone(), message);
        for (key, value) in &overrides.set {
            if GRID_TABLES.contains(&key.split('.').next().unwrap_or_default()) {
                return Err(parse_error(format!(
                    "--set {key}: grids and variants are written in the config file"
                )));
            }
            set_path(&mut base, key, value.clone())
                .map_err(|message| parse_error(format!("--set {key}: {message}")))?;
        }
        if let Some(output) = &overrides.output {
            set_path(
                &mut base,
                "run.output",
                Value::String(output.display().to_string()),
            )
            .map_err(parse_error)?;
        }
        let grid = match base.remove("grid") {
            None => Vec::new(),
            Some(Value::Table(grid)) => grid_axes(&grid).map_err(parse_error)?,
            Some(_) => return Err(parse_error("[grid] must be a table".into())),
        };
        let variants = match base.remove("variant") {
            None => vec![(None, Vec::new())],
            Some(Value::Array(variants)) => variant_list(&variants).map_err(parse_error)?,
            Some(_) => {
                return Err(parse_error(
                    "variants are written as [[variant]] tables".into(),
                ))
            }
        };
        let cell_count = grid
            .iter()
            .try_fold(variants.len(), |cells, (_, values)| {
                cells.checked_mul(values.len())
            })
            .filter(|&cells| cells <= MAX_CELLS);
        if cell_count.is_none() {
            return Err(parse_error(format!(
                "[grid] and [[variant]] make more than {MAX_CELLS} cells ({} variants × {}); a sweep \
                 is at most {MAX_CELLS} cells",
                variants.len(),
                grid.iter()
                    .map(|(path, values)| format!("{} {path}", values.len()))
                    .collect::<Vec<_>>()
                    .join(" × ")
            )));
        }
        let short_names = short_axis_names(&grid);
        let mut cells = Vec::new();
        let mut names = BTreeSet::new();
        for (variant_index, (variant_name, overrides)) in variants.iter().enumerate() {
            for combination in cartesian(&grid) {
                let origin = origin::CellOrigin {
                    grid: combination
                        .iter()
                        .zip(&grid)
                        .map(|((path, value), (_, values))| {
                            let position = values
                                .iter()
                                .position(|candidate| std::ptr::eq(candidate, *value))
                                .unwrap_or_default();
                            (path.as_str(), position)
                        })
                        .collect(),
                    variant: variant_name.as_ref().map(|_| {
                        let paths = overrides.iter().map(|(path, _)| path.as_str()).collect();
                        (variant_index, paths)
                    }),
                };
                let mut document = base.clone();
                let mut assignments = Vec::new();
                let mut name_parts: Vec<String> = variant_name.iter().cloned().collect();
                for (path, value) in overrides {
                    set_path(&mut document, path, value.clone()).map_err(parse_error)?;
                    assignments.push((path.clone(), display_value(value)));
                }
                for ((path, value), short) in combination.iter().zip(&short_names) {
                    set_path(&mut document, path, (*value).clone()).map_err(parse_error)?;
                    assignments.push((path.to_string(), display_value(value)));
                    name_parts.push(format!("{short}={}", display_value(value)));
                }
                let name = if name_parts.is_empty() {
                    document
                        .get("run")
                        .and_then(|run| run.get("name"))
                        .and_then(Value::as_str)
                        .unwrap_or("run")
                        .to_string()
                } else {
                    name_parts.join(", ")
                };
                if !names.insert(name.clone()) {
                    return Err(parse_error(format!(
                        "two cells are named `{name}`; give the variants distinct names"
                    )));
                }
                let label = if grid.is_empty() && variant_name.is_none() {
                    file.clone()
                } else {
                    format!("{file} (cell `{name}`)")
                };
                let written_paths = crate::config::env_paths::written_env_paths(&document);
                let config = RunConfig::from_document(document, path, label.clone())
                    .map_err(|error| origin.in_file(error))?;
                cells.push(Cell {
                    name,
                    label,
                    assignments,
                    config,
                    search: 0,
                    depth: None,
                    written_paths,
                });
            }
        }
        let first = cells[0].config.run.clone();
        let give_up_after = first.give_up_after();
        let drain_timeout = first.drain_timeout();
        let fingerprints = data_fingerprints(&cells)?;
        let searches = share_searches(&mut cells, &fingerprints);
        Ok(Sweep {
            path: path.to_path_buf(),
            overrides: overrides.describe(),
            name: first.name,
            seeds: first.seeds,
            output: first.output,
            max_in_flight: first.max_in_flight,
            give_up_after,
            drain_timeout,
            worker_threads: first.worker_threads,
            cells,
            searches,
        })
    }

    /// A hash of the cells, their searches, samples and seeds: stores with another hash cannot be
    /// merged with this one's. (A run in a folder of another sweep takes it over instead, saying
    /// what changed: see [`changes`].)
    pub fn hash(&self) -> String {
        let cells: Vec<HashedCell> = self
            .cells
            .iter()
            .map(|cell| HashedCell {
                name: &cell.name,
                search: &self.searches[cell.search].key,
                depth: cell.depth,
                limit: cell.config.data.limit,
                strategies: cell.strategies(),
            })
            .collect();
        short_hash(&(&self.seeds, cells))
    }

    /// Every API key variable the cells' roles name is set: a missing one is bad input naming the
    /// cell and the role (not a model error hundreds of samples later).
    pub fn check_api_keys(&self) -> Result<(), ConfigError> {
        for cell in &self.cells {
            for role in cell.config.roles_used() {
                let settings = cell.config.role(role);
                if settings.is_embedded() {
                    continue;
                }
                if let Some(variable) = &settings.api_key_env {
                    if std::env::var(variable).map_or(true, |key| key.is_empty()) {
                        return Err(ConfigError::invalid(
                            cell.label.clone(),
                            table_of(role),
                            "api_key_env",
                            format!(
                                "[models.{role}] names the API key variable {variable}, which is not set in the environment"
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The cell with this name.
    pub fn cell(&self, name: &str) -> Option<&Cell> {
        self.cells.iter().find(|cell| cell.name == name)
    }
}

/// The grid's axes: `(dotted path, values)`, in the file's order.
fn grid_axes(grid: &Table) -> Result<Vec<(String, Vec<Value>)>, String> {
    flatten(grid)
        .into_iter()
        .map(|(path, values)| {
            refuse_run_key(&path, "[grid]")?;
            match values {
                Value::Array(values) if !values.is_empty() => Ok((path, values)),
                Value::Array(_) => Err(format!("[grid] {path}: give at least one value")),
                _ => Err(format!(
                    "[grid] {path}: grid values are lists (write [value] for one value)"
                )),
            }
        })
        .collect()
}

/// The variants: `(name, overrides)`.
type Variant = (Option<String>, Vec<(String, Value)>);

fn variant_list(variants: &[Value]) -> Result<Vec<Variant>, String> {
    if variants.is_empty() {
        return Err("[[variant]]: give at least one variant".into());
    }
    variants
        .iter()
        .enumerate()
        .map(|(index, variant)| {
            let Value::Table(table) = variant else {
                return Err(format!("variant {}: must be a table", index + 1));
            };
            let mut table = table.clone();
            let name = match table.remove("name") {
                Some(Value::String(name)) if !name.trim().is_empty() => name,
                _ => return Err(format!("variant {}: give it a `name`", index + 1)),
            };
            let overrides = flatten(&table);
            for (path, _) in &overrides {
                refuse_run_key(path, &format!("variant `{name}`"))?;
            }
            Ok((Some(name), overrides))
        })
        .collect()
}

fn refuse_run_key(path: &str, place: &str) -> Result<(), String> {
    if path == "run" || path.starts_with("run.") {
        Err(format!(
            "{place}: `{path}` belongs to the whole sweep and cannot vary between cells"
        ))
    } else {
        Ok(())
    }
}

/// Display names of the axes: the last path segment, or the whole path where two axes share it.
fn short_axis_names(grid: &[(String, Vec<Value>)]) -> Vec<String> {
    let last = |path: &str| path.rsplit('.').next().unwrap_or(path).to_string();
    grid.iter()
        .map(|(path, _)| {
            let short = last(path);
            let clashes = grid
                .iter()
                .filter(|(other, _)| last(other) == short)
                .count();
            if clashes > 1 {
                path.clone()
            } else {
                short
            }
        })
        .collect()
}

/// Every combination of one value per axis (the first axis varies slowest); one empty combination
/// without axes.
fn cartesian(grid: &[(String, Vec<Value>)]) -> Vec<Vec<(&String, &Value)>> {
    let mut combinations: Vec<Vec<(&String, &Value)>> = vec![Vec::new()];
    for (path, values) in grid {
        combinations = combinations
            .into_iter()
            .flat_map(|prefix| {
                values.iter().map(move |value| {
                    let mut combination = prefix.clone();
                    combination.push((path, value));
                    combination
                })
            })
            .collect();
    }
    combinations
}

/// What identifies a search beyond its config: the contents of its data files (a dataset edited
/// in place must not reuse records of the old one), by path.
type Fingerprints = BTreeMap<PathBuf, String>;

/// SHA-256 (first 16 hex digits) of every distinct data and catalog file of the cells.
fn data_fingerprints(cells: &[Cell]) -> Result<Fingerprints, ConfigError> {
    let mut fingerprints = Fingerprints::new();
    for cell in cells {
        let data = &cell.config.data;
        for (key, file) in [("path", &data.path), ("catalog", &data.catalog)] {
            if fingerprints.contains_key(file) {
                continue;
            }
            let bytes = std::fs::read(file).map_err(|error| {
                ConfigError::invalid(
                    cell.label.clone(),
                    "data",
                    key,
                    format!("cannot read {}: {error}", file.display()),
                )
                .with_source(error)
            })?;
            fingerprints.insert(file.clone(), short_hex(&Sha256::digest(&bytes)));
        }
    }
    Ok(fingerprints)
}

fn short_hex(digest: &[u8]) -> String {
    digest
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// What [`search_key`] hashes.
#[derive(Serialize)]
struct SearchKey<'a> {
    identity: crate::config::identity::SearchIdentity<'a>,
    /// The fingerprints of the data and catalog files.
    contents: [Option<&'a String>; 2],
}

/// The key of a cell's search: everything that determines its records
/// ([`RunConfig::search_identity`], the *rerun* keys of the reference, and the contents of its
/// data files), and nothing that a store can serve from records it already holds: not the
/// *extended* keys, that is the output strategies (computed from the stored tree), the depth of
/// beam and greedy search (trees are continued or truncated), the seeds and the sample limit
/// (records are kept per seed and sample); nor the *reused* ones.
pub fn search_key(config: &RunConfig, fingerprints: &BTreeMap<PathBuf, String>) -> String {
    let data = &config.data;
    short_hash(&SearchKey {
        identity: config.search_identity(),
        contents: [&data.path, &data.catalog].map(|file| fingerprints.get(file)),
    })
}

/// Groups cells whose searches are identical up to output strategies and depth; sets each cell's
/// search index and truncation depth.
fn share_searches(cells: &mut [Cell], fingerprints: &Fingerprints) -> Vec<SharedSearch> {
    let mut by_key: BTreeMap<String, usize> = BTreeMap::new();
    let mut searches: Vec<SharedSearch> = Vec::new();
    for (index, cell) in cells.iter_mut().enumerate() {
        let key = search_key(&cell.config, fingerprints);
        let search = *by_key.entry(key.clone()).or_insert_with(|| {
            searches.push(SharedSearch {
                key,
                config: cell.config.clone(),
                cells: Vec::new(),
            });
            searches.len() - 1
        });
        cell.search = search;
        let shared = &mut searches[search];
        shared.cells.push(index);
        shared.config.search.depth = shared.config.search.depth.max(cell.config.search.depth);
        let limit = &mut shared.config.data.limit;
        *limit = match (*limit, cell.config.data.limit) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
        for strategy in &cell.config.output.strategies {
            if !shared.config.output.strategies.contains(strategy) {
                shared.config.output.strategies.push(*strategy);
            }
        }
    }
    for cell in cells.iter_mut() {
        cell.depth = cell
            .config
            .depth_is_shared()
            .then_some(cell.config.search.depth);
    }
    searches
}

#[cfg(test)]
mod tests;
