//! grsu config files, built as TOML tables: a base (run, data, both model roles on one fleet), the
//! paper's search and simulated-user settings read from `config/paper/figure2_redial.toml`, and
//! dotted-key overrides (`user.scoring_mode = "generate"`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use toml::{Table, Value};

/// The dataset a run reads (the fleet's world must be the same file).
#[derive(Debug, Clone)]
pub struct DataSpec {
    pub path: PathBuf,
    pub catalog: PathBuf,
    /// grsu's `[data] format`.
    pub format: String,
}

/// Where both model roles are served, and how the pool talks to it.
#[derive(Debug, Clone)]
pub struct ModelsSpec {
    pub endpoints: Vec<String>,
    /// Requests in flight per endpoint.
    pub max_concurrency: usize,
    /// Per-sample affinity (false: least-outstanding routing alone).
    pub affinity: bool,
    pub timeout_s: f64,
}

/// The model names the fleet serves for the two roles.
pub const CRS_MODEL: &str = "crs";
pub const USER_MODEL: &str = "user";

fn string(path: &Path) -> Value {
    Value::String(path.display().to_string())
}

/// `[run]`, `[data]` and `[models.*]`; the caller adds `[search]`, `[user]`, ...
pub fn base(
    name: &str,
    output: &Path,
    seeds: &[u64],
    max_in_flight: usize,
    data: &DataSpec,
    limit: Option<usize>,
    models: &ModelsSpec,
) -> Table {
    let mut table = Table::new();
    set(&mut table, "run.name", name);
    set(&mut table, "run.output", string(output));
    set(
        &mut table,
        "run.seeds",
        Value::Array(
            seeds
                .iter()
                .map(|&seed| Value::Integer(seed as i64))
                .collect(),
        ),
    );
    set(&mut table, "run.max_in_flight", max_in_flight as i64);
    set(&mut table, "data.format", data.format.as_str());
    set(&mut table, "data.path", string(&data.path));
    set(&mut table, "data.catalog", string(&data.catalog));
    set(&mut table, "data.only_new", true);
    if let Some(limit) = limit {
        set(&mut table, "data.limit", limit as i64);
    }
    for (role, model) in [("crs", CRS_MODEL), ("user", USER_MODEL)] {
        let endpoints = models
            .endpoints
            .iter()
            .map(|url| Value::String(url.clone()))
            .collect();
        set(
            &mut table,
            &format!("models.{role}.endpoints"),
            Value::Array(endpoints),
        );
        set(&mut table, &format!("models.{role}.model"), model);
        set(
            &mut table,
            &format!("models.{role}.max_concurrency"),
            models.max_concurrency as i64,
        );
        set(
            &mut table,
            &format!("models.{role}.timeout_s"),
            models.timeout_s,
        );
        set(
            &mut table,
            &format!("models.{role}.affinity"),
            models.affinity,
        );
    }
    table
}

/// Sets a dotted key, creating the tables on the way.
pub fn set(table: &mut Table, dotted: &str, value: impl Into<Value>) {
    let mut parts: Vec<&str> = dotted.split('.').collect();
    let last = parts.pop().expect("a key");
    let mut current = table;
    for part in parts {
        current = current
            .entry(part.to_string())
            .or_insert_with(|| Value::Table(Table::new()))
            .as_table_mut()
            .unwrap_or_else(|| panic!("`{part}` of `{dotted}` is not a table"));
    }
    current.insert(last.to_string(), value.into());
}

/// Merges `overrides` into `table`: tables recursively, other values replaced.
pub fn merge(table: &mut Table, overrides: &Table) {
    for (key, value) in overrides {
        match (table.get_mut(key), value) {
            (Some(Value::Table(inner)), Value::Table(more)) => merge(inner, more),
            _ => {
                table.insert(key.clone(), value.clone());
            }
        }
    }
}

/// The paper's setting and ablation grid, as written in a paper config: its `[search]`, `[user]`,
/// `[crs]` and `[output]` tables, and its `[[variant]]`s.
#[derive(Debug, Clone)]
pub struct PaperConfig {
    pub file: PathBuf,
    pub setting: Table,
    pub variants: Vec<Table>,
}

impl PaperConfig {
    pub fn load(file: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let document: Table = text
            .parse()
            .with_context(|| format!("parsing {}", file.display()))?;
        let mut setting = Table::new();
        for section in ["search", "user", "crs", "output"] {
            if let Some(value) = document.get(section) {
                setting.insert(section.into(), value.clone());
            }
        }
        let variants: Vec<Table> = match document.get("variant") {
            Some(Value::Array(variants)) => variants
                .iter()
                .filter_map(|variant| variant.as_table().cloned())
                .collect(),
            _ => Vec::new(),
        };
        if variants.is_empty() {
            bail!("{} has no [[variant]] tables", file.display());
        }
        for variant in &variants {
            if variant.get("name").and_then(Value::as_str).is_none() {
                bail!("a [[variant]] of {} has no name", file.display());
            }
        }
        Ok(PaperConfig {
            file: file.to_path_buf(),
            setting,
            variants,
        })
    }

    /// The variant's name.
    pub fn name(variant: &Table) -> &str {
        variant.get("name").and_then(Value::as_str).unwrap_or("")
    }

    /// The variant's overrides (without its name).
    pub fn overrides(variant: &Table) -> Table {
        let mut overrides = variant.clone();
        overrides.remove("name");
        overrides
    }
}

/// Writes `table` as `<folder>/<file>` and returns the path.
pub fn write(table: &Table, folder: &Path, file: &str) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(folder)?;
    let path = folder.join(file);
    let text = toml::to_string(table).context("serialising a grsu config")?;
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_keys_and_merges_build_nested_tables() {
        let mut table = Table::new();
        set(&mut table, "user.scoring_mode", "forced");
        set(&mut table, "user.critique", true);
        let mut overrides = Table::new();
        set(&mut overrides, "user.critique", false);
        set(
            &mut overrides,
            "output.strategies",
            Value::Array(vec!["vote".into()]),
        );
        merge(&mut table, &overrides);
        let text = toml::to_string(&table).unwrap();
        let back: Table = text.parse().unwrap();
        assert_eq!(back["user"]["scoring_mode"].as_str(), Some("forced"));
        assert_eq!(back["user"]["critique"].as_bool(), Some(false));
        assert_eq!(back["output"]["strategies"][0].as_str(), Some("vote"));
    }

    #[test]
    fn the_figure2_config_gives_the_paper_setting_and_four_variants() {
        let file =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/paper/figure2_redial.toml");
        let paper = PaperConfig::load(&file).unwrap();
        assert_eq!(paper.setting["search"]["beam_width"].as_integer(), Some(4));
        let names: Vec<&str> = paper.variants.iter().map(PaperConfig::name).collect();
        assert_eq!(names, ["GRSU", "- critiquing", "- scoring", "- ranking"]);
        assert!(!PaperConfig::overrides(&paper.variants[1]).contains_key("name"));
    }
}
