//! `fleet-bench`: measures the grsu orchestrator against a simulated vLLM fleet (DESIGN §7).
//!
//! The fleet runs in this process (the `sim-vllm` library); grsu runs as a child process, the
//! `grsu` binary exactly as a user runs it, against the fleet's URLs. Results come from the fleet's
//! statistics and from `grsu report --format json`. Four benchmarks, each a table:
//!
//! 1. `throughput`: throughput against the fleet's capacity with 1–8 endpoints and 1,024 samples
//!    in flight; grsu's CPU time and peak memory ([`throughput`]).
//! 2. `work`: model work per sample of our search against the reference way, one cell and the
//!    Figure 2 grid ([`work`]).
//! 3. `affinity`: prefix-cache hit rate with per-sample affinity against routing without it
//!    ([`affinity`]).
//! 4. `quality`: search against no search on the simulated world ([`quality`]).
//!
//! `all` runs the four. Tables are printed as Markdown and written to `--out` (Markdown and
//! JSON, with the raw numbers); see README.md beside this crate.

/// mimalloc rather than glibc's allocator: the fleet simulation allocates many small buffers per
/// request on every core, and glibc's malloc and free (their arena locks contended) were two
/// fifths of its CPU in a profile of Table 1's `fast` row, where it shares two cores with grsu.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod affinity;
mod bench;
mod child;
mod grsu_config;
mod quality;
mod table;
mod throughput;
mod work;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use grsu::catalog::CatalogFormat;
use grsu::data::DatasetFormat;
use sim_vllm::World;

use crate::bench::{absolute, Bench, Machine};
use crate::grsu_config::{DataSpec, PaperConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Which {
    Throughput,
    Work,
    Affinity,
    Quality,
    All,
}

/// Benchmarks of the grsu orchestrator against a simulated vLLM fleet.
#[derive(Debug, Parser)]
#[command(name = "fleet-bench", version)]
struct Cli {
    /// Which benchmark to run.
    #[arg(value_enum)]
    which: Which,
    /// The grsu binary to measure (copy it somewhere stable first: a build may replace it).
    #[arg(long)]
    grsu: PathBuf,
    /// The folder holding `redial/` (ReDial's iEvaLM files).
    #[arg(long, env = "GRSU_SHARED_DATA", default_value = "../shared/data")]
    shared_data: PathBuf,
    /// The dataset (default: `<shared-data>/redial/test_data_processed.jsonl`).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Its catalog (default: `<shared-data>/redial/id2info.json`).
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Its format (`[data] format`).
    #[arg(long, default_value = "ievalm")]
    format: String,
    /// The paper config whose search, simulated-user settings and `[[variant]]`s are the paper
    /// setting and the Figure 2 grid.
    #[arg(long, default_value = "config/paper/figure2_redial.toml")]
    paper_config: PathBuf,
    /// Where the tables go (`<name>.md`, `<name>.json`; `bench.md` for `all`).
    #[arg(long, default_value = "results/bench")]
    out: PathBuf,
    /// Scratch folder for configs, grsu outputs and logs (default: a temporary folder, removed at
    /// the end).
    #[arg(long)]
    work: Option<PathBuf>,
    /// A grsu run taking longer than this many seconds is killed and the benchmark fails.
    #[arg(long, default_value_t = 3600)]
    run_timeout_s: u64,
    #[command(flatten)]
    throughput: throughput::ThroughputOptions,
    #[command(flatten)]
    work_options: work::WorkOptions,
    #[command(flatten)]
    affinity: affinity::AffinityOptions,
    #[command(flatten)]
    quality: quality::QualityOptions,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let grsu = absolute(&cli.grsu)?;
    anyhow::ensure!(grsu.is_file(), "no grsu binary at {}", grsu.display());
    let redial = cli.shared_data.join("redial");
    let data = absolute(
        &cli.data
            .clone()
            .unwrap_or_else(|| redial.join("test_data_processed.jsonl")),
    )?;
    let catalog = absolute(
        &cli.catalog
            .clone()
            .unwrap_or_else(|| redial.join("id2info.json")),
    )?;
    let format: DatasetFormat = cli
        .format
        .parse()
        .map_err(|error| anyhow::anyhow!("--format: {error}"))?;
    eprintln!("loading the world: {}", data.display());
    let world = World::load(&catalog, CatalogFormat::Auto, Some((&data, format)))
        .with_context(|| format!("loading {} and {}", catalog.display(), data.display()))?;
    let paper = PaperConfig::load(&cli.paper_config)?;
    // The scratch folder: the one given, or a temporary one removed when `temporary` drops.
    let temporary = match &cli.work {
        Some(_) => None,
        None => Some(tempfile::Builder::new().prefix("fleet-bench-").tempdir()?),
    };
    let work = match (&cli.work, &temporary) {
        (Some(folder), _) => {
            std::fs::create_dir_all(folder)?;
            absolute(folder)?
        }
        (None, Some(dir)) => dir.path().to_path_buf(),
        (None, None) => unreachable!("a temporary folder is made when none is given"),
    };
    let bench = Bench {
        grsu,
        world: Arc::new(world),
        data: DataSpec {
            path: data,
            catalog,
            format: format.name().to_string(),
        },
        paper,
        work,
        out: cli.out.clone(),
        run_timeout: std::time::Duration::from_secs(cli.run_timeout_s),
    };
    let machine = Machine::read(&bench.grsu);
    println!("{}\n", machine.line());
    let mut sections = vec![format!("## grsu benchmarks\n\n{}\n", machine.line())];
    let wanted = |which: Which| cli.which == which || cli.which == Which::All;
    if wanted(Which::Throughput) {
        sections.push(print(throughput::run(&bench, &cli.throughput).await?));
    }
    if wanted(Which::Work) {
        sections.push(print(work::run(&bench, &cli.work_options).await?));
    }
    if wanted(Which::Affinity) {
        sections.push(print(affinity::run(&bench, &cli.affinity).await?));
    }
    if wanted(Which::Quality) {
        sections.push(print(quality::run(&bench, &cli.quality).await?));
    }
    if cli.which == Which::All {
        std::fs::write(bench.out.join("bench.md"), sections.join("\n"))?;
    }
    std::fs::write(
        bench.out.join("machine.json"),
        serde_json::to_string_pretty(&machine)?,
    )?;
    Ok(())
}

fn print(markdown: String) -> String {
    println!("{markdown}");
    markdown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_parse_with_defaults_and_lists() {
        let cli = Cli::try_parse_from([
            "fleet-bench",
            "throughput",
            "--grsu",
            "/tmp/grsu",
            "--replicas",
            "1,8",
            "--quality-seeds",
            "3,4,5",
        ])
        .unwrap();
        assert_eq!(cli.which, Which::Throughput);
        assert_eq!(cli.throughput.replicas, [1, 8]);
        assert_eq!(cli.throughput.max_in_flight, 1024);
        assert_eq!(cli.quality.quality_seeds, [3, 4, 5]);
        assert_eq!(cli.work_options.work_samples, 20);
        assert_eq!(cli.out, PathBuf::from("results/bench"));
        assert!(
            Cli::try_parse_from(["fleet-bench", "all"]).is_err(),
            "--grsu is required"
        );
        assert!(Cli::try_parse_from(["fleet-bench", "fast", "--grsu", "g"]).is_err());
    }
}
