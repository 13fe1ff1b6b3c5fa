//! Running the `grsu` binary on the demo data against a test server: config, run, export.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::support;

pub fn demo_titles(root: &Path) -> Vec<String> {
    let catalog: serde_json::Map<String, Value> = serde_json::from_str(
        &std::fs::read_to_string(root.join("data/demo/movie2info.json")).unwrap(),
    )
    .unwrap();
    catalog.keys().cloned().collect()
}

pub fn write_config(
    folder: &Path,
    server: &str,
    output: &Path,
    limit: usize,
    extra: &str,
) -> PathBuf {
    let root = support::repository_root();
    let config = format!(
        r#"
[run]
name = "e2e"
seeds = [0]
output = "{output}"
max_in_flight = 4

[data]
format = "grsu"
path = "{root}/data/demo/conversations.jsonl"
catalog = "{root}/data/demo/movie2info.json"
only_new = true
limit = {limit}

[models.crs]
endpoints = ["{server}"]
model = "det"
max_concurrency = 4

[models.user]
endpoints = ["{server}"]
model = "det"
max_concurrency = 4

[search]
strategy = "beam"
beam_width = 2
expand_width = 2
depth = 3
list_length = 5

[user]
scoring_mode = "forced"
score_formula = "reference"
{extra}
"#,
        output = output.display(),
        root = root.display(),
    );
    let path = folder.join("config.toml");
    std::fs::write(&path, config).unwrap();
    path
}

pub fn grsu(arguments: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_grsu"))
        .args(arguments)
        .env("GRSU_LOG", "warn")
        .output()
        .expect("run grsu")
}

pub fn export(output: &Path) -> Vec<Value> {
    let exported = grsu(&["export", output.to_str().unwrap()]);
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    String::from_utf8(exported.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

pub fn predictions(records: &[Value]) -> BTreeMap<String, Value> {
    records
        .iter()
        .map(|record| {
            (
                record["sample"].as_str().unwrap().to_string(),
                record["predictions"].clone(),
            )
        })
        .collect()
}
