//! Table 3: the prefix-cache hit rate with per-sample affinity against least-outstanding routing
//! alone (what a plain load balancer does), on a fresh fleet each time (cold prefix cache).

use clap::Args;
use serde::Serialize;
use sim_vllm::ReplicaStats;

use crate::bench::Bench;
use crate::child::{check_complete, report_json, run_sweep};
use crate::grsu_config::{self, ModelsSpec};
use crate::table::{fixed, percent, ratio, thousands, Table};

#[derive(Debug, Clone, Args)]
pub struct AffinityOptions {
    /// Samples of the affinity comparison.
    #[arg(long, default_value_t = 20)]
    pub affinity_samples: usize,
    /// Replicas of the affinity comparison.
    #[arg(long, default_value_t = 4)]
    pub affinity_replicas: usize,
    /// Prefix-cache sizes per replica to compare, in blocks of 16 tokens.
    #[arg(long, value_delimiter = ',', default_value = "20000,2000,500,125")]
    pub cache_blocks: Vec<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AffinityRun {
    pub replicas: usize,
    pub cache_blocks: usize,
    pub affinity: bool,
    pub total: ReplicaStats,
    pub per_replica: Vec<ReplicaStats>,
    pub wall_s: f64,
}

async fn measure(
    bench: &Bench,
    options: &AffinityOptions,
    replicas: usize,
    cache_blocks: usize,
    affinity: bool,
) -> anyhow::Result<AffinityRun> {
    let mut fleet_config = bench.fleet_config(replicas);
    fleet_config.prefix_cache_blocks = cache_blocks;
    fleet_config.capacity.max_running_sequences = 64;
    fleet_config.capacity.time_scale = 0.005;
    let fleet = bench.spawn(fleet_config).await?;
    let label = format!(
        "affinity-{replicas}-{cache_blocks}-{}",
        if affinity { "on" } else { "off" }
    );
    let folder = bench.folder(&label)?;
    let mut config = grsu_config::base(
        &label,
        &folder.join("output"),
        &[0],
        options.affinity_samples,
        &bench.data,
        Some(options.affinity_samples),
        &ModelsSpec {
            endpoints: fleet.urls(),
            max_concurrency: 64,
            affinity,
            timeout_s: 3600.0,
        },
    );
    grsu_config::merge(&mut config, &bench.paper.setting);
    grsu_config::set(&mut config, "user.scoring_mode", "forced");
    eprintln!("affinity: {label}");
    let run = run_sweep(bench, &config, &folder).await?;
    run.check()?;
    check_complete(
        &report_json(&bench.grsu, &folder.join("output"), None)?,
        &label,
    )?;
    let stats = fleet.stats();
    fleet.shutdown().await;
    Ok(AffinityRun {
        replicas,
        cache_blocks,
        affinity,
        total: stats.total,
        per_replica: stats.replicas,
        wall_s: run.wall_s,
    })
}

pub async fn run(bench: &Bench, options: &AffinityOptions) -> anyhow::Result<String> {
    // The most any routing can reach: one replica sees every prefix.
    let largest = options.cache_blocks.iter().copied().max().unwrap_or(20_000);
    let ideal = measure(bench, options, 1, largest, true).await?;
    let mut runs = Vec::new();
    for &blocks in &options.cache_blocks {
        for affinity in [true, false] {
            runs.push(measure(bench, options, options.affinity_replicas, blocks, affinity).await?);
        }
    }
    let mut table = Table::new(
        "Table 3: prefix-cache hit rate, per-sample affinity against least-outstanding routing",
        &[
            "replicas",
            "prefix cache per replica (blocks of 16 tokens)",
            "routing",
            "requests",
            "prompt tokens",
            "cached tokens",
            "hit rate",
            "uncached prompt tokens",
            "requests per replica (min–max)",
        ],
    );
    for run in std::iter::once(&ideal).chain(&runs) {
        let served: Vec<u64> = run
            .per_replica
            .iter()
            .map(|replica| replica.served)
            .collect();
        table.row(vec![
            run.replicas.to_string(),
            thousands(run.cache_blocks as u64),
            if run.replicas == 1 {
                "one replica (every prefix in one cache: the most routing can reach)".into()
            } else if run.affinity {
                "least outstanding + per-sample affinity (grsu)".into()
            } else {
                "least outstanding, no affinity (`affinity = false`)".into()
            },
            thousands(run.total.served),
            thousands(run.total.prompt_tokens),
            thousands(run.total.cached_tokens),
            percent(run.total.prefix_cache_hit_rate),
            thousands(run.total.prompt_tokens - run.total.cached_tokens),
            format!(
                "{}–{}",
                thousands(served.iter().copied().min().unwrap_or(0)),
                thousands(served.iter().copied().max().unwrap_or(0))
            ),
        ]);
    }
    for pair in runs.chunks(2) {
        if let [on, off] = pair {
            let uncached =
                |run: &AffinityRun| (run.total.prompt_tokens - run.total.cached_tokens) as f64;
            table.note(format!(
                "{} blocks: affinity prefills ×{} the prompt tokens of routing without it.",
                thousands(on.cache_blocks as u64),
                fixed(ratio(uncached(on), uncached(off)), 2)
            ));
        }
    }
    table.note(format!(
        "Paper setting (B = N = 4, D = 5, k = 10, forced scoring, item context) on the first {} ReDial test samples, all in flight at once, {} replicas serving both roles, max_concurrency 64 per endpoint; a fresh fleet (cold cache) per row. The sim's prefix cache is vLLM's automatic prefix caching as chained hashes of 16-token blocks with LRU eviction. 20,000 blocks (320k tokens, the sim's default) hold every prefix of a 20-sample run, so only cold misses differ there; the smaller caches evict.",
        options.affinity_samples, options.affinity_replicas
    ));
    table.note("A prompt holds the conversation first and the item, list or critique last (prefix-friendly); the unique tail of every prompt (an item with its attributes, a list, a critique) is a miss under any routing, which bounds the hit rate (first row).");
    let markdown = bench.write_result("affinity", std::slice::from_ref(&table), &runs)?;
    Ok(markdown)
}
