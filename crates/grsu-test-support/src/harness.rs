//! Running grsu on the demo data against a test server: the config, the run (through the binary
//! or in process), the records.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::repository_root;

/// The titles of the demo catalog (`data/demo/movie2info.json`), in file order.
pub fn demo_titles(root: &Path) -> Vec<String> {
    let catalog: serde_json::Map<String, Value> = serde_json::from_str(
        &std::fs::read_to_string(root.join("data/demo/movie2info.json")).unwrap(),
    )
    .unwrap();
    catalog.keys().cloned().collect()
}

/// The demo catalog and its recommendation turns with catalog labels (`only_new`), as the engine
/// reads them.
pub fn demo_samples() -> (grsu::catalog::Catalog, Vec<grsu::data::Sample>) {
    use grsu::catalog::{Catalog, CatalogFormat};
    use grsu::data::{Dataset, DatasetFormat, LoadOptions};
    let root = repository_root();
    let catalog =
        Catalog::load(&root.join("data/demo/movie2info.json"), CatalogFormat::Auto).unwrap();
    let samples = Dataset::load(
        &root.join("data/demo/conversations.jsonl"),
        DatasetFormat::Grsu,
        LoadOptions {
            catalog: Some(&catalog),
            only_new: true,
        },
    )
    .unwrap()
    .samples;
    (catalog, samples)
}

/// Writes `folder/config.toml`: a beam search (B = N = 2, D = 3, lists of 5) over the first
/// `limit` samples of the demo data, both model roles on `server`, writing to `output`; `extra`
/// is appended (after `[user]`, so a bare key lands there).
pub fn write_config(
    folder: &Path,
    server: &str,
    output: &Path,
    limit: usize,
    extra: &str,
) -> PathBuf {
    let root = repository_root();
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

/// The `grsu` binary. Only the test targets of `grsu-actors` know its path, so they pass it:
/// `const GRSU: Grsu = Grsu::new(env!("CARGO_BIN_EXE_grsu"));`.
#[derive(Debug, Clone, Copy)]
pub struct Grsu {
    binary: &'static str,
}

impl Grsu {
    pub const fn new(binary: &'static str) -> Self {
        Grsu { binary }
    }

    /// A command running the binary, with nothing set: for tests that pipe, kill or set
    /// variables.
    pub fn command(&self) -> Command {
        Command::new(self.binary)
    }

    /// Runs `grsu ARGUMENTS` to the end (logs at `warn`) and returns its status and output.
    pub fn output(&self, arguments: &[&str]) -> Output {
        self.command()
            .args(arguments)
            .env("GRSU_LOG", "warn")
            .output()
            .expect("run grsu")
    }

    /// `grsu export OUTPUT`, asserting success: one JSON value per record.
    pub fn export(&self, output: &Path) -> Vec<Value> {
        let exported = self.output(&["export", output.to_str().unwrap()]);
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
}

/// The records of the store in `output`, as JSON, in the order `grsu export` gives them. They are
/// the stored [`grsu::store::SampleRecord`]s, the fields of an exported line except `metrics`,
/// which the export writes with its cut-offs named.
pub fn stored_records(output: &Path) -> Vec<Value> {
    let store = grsu::store::Store::open(&output.join("store")).expect("open the store");
    store
        .records()
        .expect("read the records")
        .iter()
        .map(|record| serde_json::to_value(record).unwrap())
        .collect()
}

/// The predictions of each record, by sample id.
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

/// `grsu run CONFIG` in the test's process: loads the sweep as the command does and runs it
/// through [`grsu_actors::engine::run`] with no shutdown signal, on the caller's tokio runtime
/// (a multi-thread one: the actors and the test's servers share it).
#[cfg(feature = "engine")]
pub async fn run_in_process(config: &Path) -> anyhow::Result<grsu_actors::engine::RunOutcome> {
    run_sweep_in_process(config, None).await
}

/// `grsu run CONFIG --shard SHARD` in the test's process (see [`run_in_process`]).
#[cfg(feature = "engine")]
pub async fn run_shard_in_process(
    config: &Path,
    shard: grsu::sweep::Shard,
) -> anyhow::Result<grsu_actors::engine::RunOutcome> {
    run_sweep_in_process(config, Some(shard)).await
}

/// [`run_in_process`], asserting that the run ended with every sample finished (what exit code 0
/// of `grsu run` says).
#[cfg(feature = "engine")]
pub async fn run_to_completion(config: &Path) -> grsu_actors::engine::RunOutcome {
    finished(run_in_process(config).await)
}

/// [`run_shard_in_process`], asserting that the share ran with every sample finished.
#[cfg(feature = "engine")]
pub async fn run_shard_to_completion(
    config: &Path,
    shard: grsu::sweep::Shard,
) -> grsu_actors::engine::RunOutcome {
    finished(run_shard_in_process(config, shard).await)
}

#[cfg(feature = "engine")]
fn finished(
    outcome: anyhow::Result<grsu_actors::engine::RunOutcome>,
) -> grsu_actors::engine::RunOutcome {
    let outcome = outcome.unwrap_or_else(|error| panic!("the run failed: {error:#}"));
    assert!(
        outcome.summary.failed.is_empty(),
        "samples failed: {:?}",
        outcome.summary.failed
    );
    outcome
}

#[cfg(feature = "engine")]
async fn run_sweep_in_process(
    config: &Path,
    shard: Option<grsu::sweep::Shard>,
) -> anyhow::Result<grsu_actors::engine::RunOutcome> {
    let sweep = grsu::sweep::Sweep::load(config)?;
    sweep.check_api_keys()?;
    grsu_actors::engine::run(sweep, shard, std::future::pending()).await
}
