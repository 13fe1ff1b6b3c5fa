//! `sim-vllm`: starts a simulated vLLM fleet and serves until Ctrl-C (or SIGTERM).
//!
//! Prints one JSON line per replica on stdout once it listens
//! (`{"replica":0,"address":"127.0.0.1:8100","url":"http://127.0.0.1:8100/v1","models":["sim"]}`),
//! and, when stopped, one line with the fleet's statistics (`{"stats": {...}}`). Every tuning flag
//! left out keeps the library's default (`--print-config` shows the effective values). Logs go to
//! stderr (`GRSU_LOG=debug` for more).

/// mimalloc rather than glibc's allocator: the fleet simulation allocates many small buffers per
/// request on every core, and glibc's malloc and free (their arena locks contended) were two
/// fifths of its CPU in a profile of Table 1's `fast` row, where it shares two cores with grsu.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Parser;
use grsu::catalog::CatalogFormat;
use grsu::data::DatasetFormat;
use sim_vllm::{spawn_fleet, DownMode, DownWindow, FaultConfig, FaultKind, FleetConfig, World};

/// A simulated vLLM fleet answering grsu's prompts from a dataset's labels.
#[derive(Debug, Parser)]
#[command(name = "sim-vllm", version)]
struct Arguments {
    /// The catalog (movie2info.json or id2info.json).
    #[arg(long, env = "SIM_VLLM_CATALOG")]
    catalog: PathBuf,
    /// auto, movie2info or id2info.
    #[arg(long, default_value = "auto")]
    catalog_format: String,
    /// The dataset whose conversations the prompts hold (without it every user is unknown).
    #[arg(long, env = "SIM_VLLM_DATA")]
    data: Option<PathBuf>,
    /// The dataset's format: grsu, ievalm or inspired-tsv.
    #[arg(long, default_value = "grsu")]
    format: String,

    /// Replicas to start.
    #[arg(long, default_value_t = 1)]
    replicas: usize,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Replica i listens on base-port + i; 0: ports chosen by the system.
    #[arg(long, default_value_t = 0)]
    base_port: u16,
    /// Model ids served (vLLM's --served-model-name); give several to serve one fleet as both
    /// `crs` and `user`.
    #[arg(long, num_args = 1.., default_value = "sim")]
    served_model_name: Vec<String>,
    #[arg(long)]
    max_model_len: Option<usize>,
    #[arg(long)]
    max_logprobs: Option<u32>,
    /// Act as a server without `/tokenize` that ignores `logprob_token_ids` (an older vLLM).
    #[arg(long)]
    no_logprob_token_ids: bool,
    /// vLLM's `--scheduling-policy`: `fcfs` (arrival order; a request `priority` other than 0 is
    /// refused) or `priority` (lowest request `priority` first).
    #[arg(long, default_value = "fcfs", value_parser = ["fcfs", "priority"])]
    scheduling_policy: String,
    /// Seeds answers and fault draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,

    /// S: sequences running at once per replica.
    #[arg(long)]
    max_running_sequences: Option<usize>,
    /// P: prompt tokens prefilled per second per replica.
    #[arg(long)]
    prefill_tokens_per_s: Option<f64>,
    /// r: decode tokens per second of one sequence.
    #[arg(long)]
    decode_tokens_per_s_per_sequence: Option<f64>,
    /// β: decode slowdown per further running sequence.
    #[arg(long)]
    decode_slowdown: Option<f64>,
    /// Real seconds per simulated second (0.1: ten times faster).
    #[arg(long)]
    time_scale: Option<f64>,
    /// Prefix-cache capacity per replica, in blocks of --block-size tokens (0: no cache).
    #[arg(long)]
    prefix_cache_blocks: Option<usize>,
    #[arg(long)]
    block_size: Option<usize>,

    /// Share of (sample, label) pairs the CRS can find at all.
    #[arg(long)]
    label_reachability: Option<f64>,
    /// Per-slot probability of a reachable label in a CRS list.
    #[arg(long)]
    skill: Option<f64>,
    /// The same after a critique naming a label's attribute.
    #[arg(long)]
    skill_after_critique: Option<f64>,
    #[arg(long)]
    critique_informativeness: Option<f64>,
    #[arg(long)]
    critique_informativeness_without_attributes: Option<f64>,
    /// P(Yes) of a label before noise.
    #[arg(long)]
    yes_label: Option<f64>,
    /// P(Yes) of another item before noise.
    #[arg(long)]
    yes_other: Option<f64>,
    #[arg(long)]
    attribute_bonus: Option<f64>,
    /// Standard deviation of the noise on the logit of P(Yes).
    #[arg(long)]
    score_noise: Option<f64>,
    #[arg(long)]
    crs_chatter: Option<f64>,
    #[arg(long)]
    title_noise: Option<f64>,

    #[arg(long)]
    latency_spike_probability: Option<f64>,
    /// Extra simulated milliseconds of a latency spike.
    #[arg(long)]
    latency_spike_ms: Option<f64>,
    #[arg(long)]
    server_error_probability: Option<f64>,
    /// Requests failing per server-error trigger.
    #[arg(long)]
    server_error_burst: Option<u32>,
    #[arg(long)]
    server_error_status: Option<u16>,
    #[arg(long)]
    reset_probability: Option<f64>,
    #[arg(long)]
    hang_probability: Option<f64>,
    #[arg(long)]
    malformed_probability: Option<f64>,
    /// REPLICA:FROM:UNTIL: replica REPLICA is down from FROM to UNTIL simulated seconds after
    /// start (repeatable).
    #[arg(long, value_name = "REPLICA:FROM:UNTIL")]
    down: Vec<String>,
    /// refuse (close the listener) or reset (reset every connection) while down.
    #[arg(long, default_value = "refuse")]
    down_mode: String,
    /// REPLICA:ORDINAL:KIND: force a fault (latency-spike, server-error, reset, hang, malformed)
    /// on a replica's request number ORDINAL (0-based; repeatable).
    #[arg(long, value_name = "REPLICA:ORDINAL:KIND")]
    fault_at: Vec<String>,

    /// Print the effective configuration as JSON and exit.
    #[arg(long)]
    print_config: bool,
}

fn set<T>(target: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *target = value;
    }
}

fn fields<const N: usize>(text: &str, flag: &str) -> anyhow::Result<[String; N]> {
    let parts: Vec<String> = text.split(':').map(str::to_string).collect();
    parts
        .try_into()
        .map_err(|_| anyhow::anyhow!("--{flag} {text}: expected {N} fields separated by `:`"))
}

/// The fleet configuration the arguments describe, over `world`.
fn fleet_config(arguments: &Arguments, world: Arc<World>) -> anyhow::Result<FleetConfig> {
    let mut config = FleetConfig::new(world);
    config.replicas = arguments.replicas;
    config.host = arguments.host;
    config.base_port = (arguments.base_port != 0).then_some(arguments.base_port);
    config.served_model_names = arguments.served_model_name.clone();
    config.seed = arguments.seed;
    set(&mut config.max_model_len, arguments.max_model_len);
    set(&mut config.max_logprobs, arguments.max_logprobs);
    config.logprob_token_ids = !arguments.no_logprob_token_ids;
    let capacity = &mut config.capacity;
    set(
        &mut capacity.max_running_sequences,
        arguments.max_running_sequences,
    );
    set(
        &mut capacity.prefill_tokens_per_s,
        arguments.prefill_tokens_per_s,
    );
    set(
        &mut capacity.decode_tokens_per_s_per_sequence,
        arguments.decode_tokens_per_s_per_sequence,
    );
    set(&mut capacity.decode_slowdown, arguments.decode_slowdown);
    set(&mut capacity.time_scale, arguments.time_scale);
    capacity.scheduling_policy = if arguments.scheduling_policy == "priority" {
        sim_vllm::slots::SchedulingPolicy::Priority
    } else {
        sim_vllm::slots::SchedulingPolicy::Fcfs
    };
    set(
        &mut config.prefix_cache_blocks,
        arguments.prefix_cache_blocks,
    );
    set(&mut config.block_size, arguments.block_size);
    let behaviour = &mut config.behaviour;
    set(
        &mut behaviour.label_reachability,
        arguments.label_reachability,
    );
    set(&mut behaviour.skill, arguments.skill);
    set(
        &mut behaviour.skill_after_critique,
        arguments.skill_after_critique,
    );
    set(
        &mut behaviour.critique_informativeness,
        arguments.critique_informativeness,
    );
    set(
        &mut behaviour.critique_informativeness_without_attributes,
        arguments.critique_informativeness_without_attributes,
    );
    set(&mut behaviour.yes_label, arguments.yes_label);
    set(&mut behaviour.yes_other, arguments.yes_other);
    set(&mut behaviour.attribute_bonus, arguments.attribute_bonus);
    set(&mut behaviour.score_noise, arguments.score_noise);
    set(&mut behaviour.crs_chatter, arguments.crs_chatter);
    set(&mut behaviour.title_noise, arguments.title_noise);
    let faults = &mut config.faults;
    set(
        &mut faults.latency_spike_probability,
        arguments.latency_spike_probability,
    );
    set(&mut faults.latency_spike_ms, arguments.latency_spike_ms);
    set(
        &mut faults.server_error_probability,
        arguments.server_error_probability,
    );
    set(&mut faults.server_error_burst, arguments.server_error_burst);
    set(
        &mut faults.server_error_status,
        arguments.server_error_status,
    );
    set(&mut faults.reset_probability, arguments.reset_probability);
    set(&mut faults.hang_probability, arguments.hang_probability);
    set(
        &mut faults.malformed_probability,
        arguments.malformed_probability,
    );
    faults.down_mode = match arguments.down_mode.as_str() {
        "refuse" => DownMode::Refuse,
        "reset" => DownMode::Reset,
        other => bail!("--down-mode {other}: expected refuse or reset"),
    };
    let shared = config.faults.clone();
    let mut per_replica: BTreeMap<usize, FaultConfig> = BTreeMap::new();
    for down in &arguments.down {
        let [replica, from, until] = fields::<3>(down, "down")?;
        let replica: usize = replica.parse().context("--down: replica")?;
        let window = DownWindow {
            from_s: from.parse().context("--down: from")?,
            until_s: until.parse().context("--down: until")?,
        };
        per_replica
            .entry(replica)
            .or_insert_with(|| shared.clone())
            .down
            .push(window);
    }
    for forced in &arguments.fault_at {
        let [replica, ordinal, kind] = fields::<3>(forced, "fault-at")?;
        let replica: usize = replica.parse().context("--fault-at: replica")?;
        let kind: FaultKind = kind.parse().map_err(anyhow::Error::msg)?;
        per_replica
            .entry(replica)
            .or_insert_with(|| shared.clone())
            .script
            .insert(ordinal.parse().context("--fault-at: ordinal")?, kind);
    }
    if let Some(replica) = per_replica
        .keys()
        .find(|&&replica| replica >= config.replicas)
    {
        bail!(
            "a fault names replica {replica}, but there are {} replicas",
            config.replicas
        );
    }
    config.replica_faults = per_replica;
    config.validate().map_err(anyhow::Error::msg)?;
    Ok(config)
}

/// The configuration without the world, as JSON.
fn describe(config: &FleetConfig) -> serde_json::Value {
    serde_json::json!({
        "replicas": config.replicas,
        "host": config.host,
        "base_port": config.base_port,
        "served_model_names": config.served_model_names,
        "capacity": config.capacity,
        "prefix_cache_blocks": config.prefix_cache_blocks,
        "block_size": config.block_size,
        "max_model_len": config.max_model_len,
        "max_logprobs": config.max_logprobs,
        "logprob_token_ids": config.logprob_token_ids,
        "behaviour": config.behaviour,
        "faults": config.faults,
        "replica_faults": config.replica_faults,
        "seed": config.seed,
        "world": {"catalog_items": config.world.catalog().len(), "samples": config.world.samples().len()},
    })
}

async fn stopped() {
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("a SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

async fn run(arguments: Arguments) -> anyhow::Result<()> {
    let catalog_format: CatalogFormat = arguments
        .catalog_format
        .parse()
        .map_err(|error| anyhow::anyhow!("--catalog-format: {error}"))?;
    let format: DatasetFormat = arguments
        .format
        .parse()
        .map_err(|error| anyhow::anyhow!("--format: {error}"))?;
    let world = World::load(
        &arguments.catalog,
        catalog_format,
        arguments.data.as_deref().map(|path| (path, format)),
    )?;
    tracing::info!(
        items = world.catalog().len(),
        samples = world.samples().len(),
        "world loaded"
    );
    let config = fleet_config(&arguments, Arc::new(world))?;
    let mut stdout = std::io::stdout();
    if arguments.print_config {
        writeln!(stdout, "{}", describe(&config))?;
        return Ok(());
    }
    let names = config.served_model_names.clone();
    let fleet = spawn_fleet(config).await?;
    for replica in fleet.iter() {
        let line = serde_json::json!({
            "replica": replica.index(),
            "address": replica.address().to_string(),
            "url": replica.url(),
            "models": names,
        });
        writeln!(stdout, "{line}")?;
    }
    stdout.flush()?;
    stopped().await;
    writeln!(stdout, "{}", serde_json::json!({"stats": fleet.stats()}))?;
    stdout.flush()?;
    fleet.shutdown().await;
    Ok(())
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GRSU_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let arguments = Arguments::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("sim-vllm: cannot start the runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(arguments)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sim-vllm: {error:#}");
            std::process::ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world() -> Arc<World> {
        Arc::new(World::new(
            grsu::catalog::Catalog::from_items(Vec::new()),
            Vec::new(),
        ))
    }

    #[test]
    fn flags_left_out_keep_the_library_defaults() {
        let arguments = Arguments::parse_from(["sim-vllm", "--catalog", "c.json"]);
        let config = fleet_config(&arguments, world()).unwrap();
        let defaults = FleetConfig::new(world());
        assert_eq!(config.capacity, defaults.capacity);
        assert_eq!(config.behaviour, defaults.behaviour);
        assert_eq!(config.faults, defaults.faults);
        assert_eq!(config.base_port, None);
    }

    #[test]
    fn fault_flags_build_per_replica_overrides() {
        let arguments = Arguments::parse_from([
            "sim-vllm",
            "--catalog",
            "c.json",
            "--replicas",
            "3",
            "--base-port",
            "8100",
            "--reset-probability",
            "0.1",
            "--down",
            "1:5:10",
            "--fault-at",
            "2:0:hang",
            "--served-model-name",
            "crs",
            "user",
        ]);
        let config = fleet_config(&arguments, world()).unwrap();
        assert_eq!(config.base_port, Some(8100));
        assert_eq!(config.served_model_names, vec!["crs", "user"]);
        assert_eq!(config.faults_of(0).reset_probability, 0.1);
        assert_eq!(config.faults_of(1).down.len(), 1);
        assert_eq!(config.faults_of(1).reset_probability, 0.1);
        assert_eq!(config.faults_of(2).script.get(&0), Some(&FaultKind::Hang));
        let wrong = Arguments::parse_from(["sim-vllm", "--catalog", "c", "--down", "4:1:2"]);
        assert!(fleet_config(&wrong, world()).is_err());
    }
}
