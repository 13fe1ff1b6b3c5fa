//! A fleet of simulated replicas on loopback (or any address), for tests, benchmarks and the
//! `sim-vllm` binary: [`FleetConfig`] → [`spawn_fleet`] → [`Fleet`] of [`RunningReplica`]s.
//!
//! Every replica answers the same request the same way (answers depend on the fleet seed and the
//! request, not on the replica, as identical vLLM replicas with seeded sampling do); each has its
//! own slots, prefix cache, statistics and fault draws (keyed by the replica's index).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::Deref;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::answers::{Answerer, BehaviourConfig};
use crate::capacity::{Capacity, CapacityConfig, Workload};
use crate::faults::{FaultConfig, FaultPlan};
use crate::prefix_cache::{PrefixCache, DEFAULT_BLOCK_SIZE};
use crate::scheduler::Scheduler;
use crate::server::{self, Replica, ServerSettings};
use crate::stats::{FleetStats, ReplicaStats, StatsRecorder};
use crate::world::World;

/// Everything a fleet is made of. [`FleetConfig::new`] gives the defaults.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    pub replicas: usize,
    /// The address the replicas listen on (default 127.0.0.1).
    pub host: IpAddr,
    /// Replica i listens on `base_port + i`; `None`: ports chosen by the system.
    pub base_port: Option<u16>,
    /// The model ids served (vLLM's `--served-model-name`); requests naming another get a 404,
    /// requests naming none are served. Default `["sim"]`.
    pub served_model_names: Vec<String>,
    pub capacity: CapacityConfig,
    /// Prefix-cache capacity per replica, in blocks (0 disables the cache).
    pub prefix_cache_blocks: usize,
    /// Tokens per prefix-cache block (vLLM's default 16).
    pub block_size: usize,
    /// Longest prompt + completion accepted (vLLM's `--max-model-len`).
    pub max_model_len: usize,
    /// Largest `top_logprobs` accepted (vLLM's `--max-logprobs`, default 20).
    pub max_logprobs: u32,
    /// Serve `/tokenize` and honour `logprob_token_ids` (current vLLM); `false`: a server that
    /// has neither (the parameter is ignored, `/tokenize` is a 404).
    pub logprob_token_ids: bool,
    pub behaviour: BehaviourConfig,
    /// The faults of every replica...
    pub faults: FaultConfig,
    /// ...except those listed here by replica index.
    pub replica_faults: BTreeMap<usize, FaultConfig>,
    /// Seeds answers and fault draws.
    pub seed: u64,
    pub world: Arc<World>,
}

impl FleetConfig {
    /// One replica on a system-chosen loopback port, default capacity and behaviour, no faults.
    pub fn new(world: Arc<World>) -> Self {
        FleetConfig {
            replicas: 1,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            base_port: None,
            served_model_names: vec!["sim".into()],
            capacity: CapacityConfig::default(),
            prefix_cache_blocks: 20_000,
            block_size: DEFAULT_BLOCK_SIZE,
            max_model_len: 32_768,
            max_logprobs: 20,
            logprob_token_ids: true,
            behaviour: BehaviourConfig::default(),
            faults: FaultConfig::default(),
            replica_faults: BTreeMap::new(),
            seed: 0,
            world,
        }
    }

    /// The faults of replica `index`.
    pub fn faults_of(&self, index: usize) -> &FaultConfig {
        self.replica_faults.get(&index).unwrap_or(&self.faults)
    }

    /// Checks every part; the message names the offending field.
    pub fn validate(&self) -> Result<(), String> {
        if self.replicas == 0 {
            return Err("replicas must be at least 1".into());
        }
        if self.served_model_names.iter().all(|name| name.is_empty()) {
            return Err("served_model_names must name at least one model".into());
        }
        if let Some(port) = self.base_port {
            if port as usize + self.replicas - 1 > u16::MAX as usize {
                return Err(format!(
                    "ports {port}.. cannot hold {} replicas",
                    self.replicas
                ));
            }
        }
        if self.block_size == 0 {
            return Err("block_size must be at least 1".into());
        }
        self.capacity.validate()?;
        self.behaviour.validate()?;
        self.faults.validate()?;
        for (index, faults) in &self.replica_faults {
            faults
                .validate()
                .map_err(|problem| format!("replica {index}: {problem}"))?;
        }
        Ok(())
    }

    /// The most the whole fleet serves of `workload` per simulated second (see
    /// [`crate::capacity`]).
    pub fn capacity(&self, workload: &Workload) -> Capacity {
        self.capacity.capacity(workload).times(self.replicas)
    }

    /// Completion tokens per simulated second the fleet can decode for `workload`.
    pub fn capacity_tokens_per_s(&self, workload: &Workload) -> f64 {
        self.capacity(workload).completion_tokens_per_s
    }
}

/// Why a fleet did not start.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("invalid fleet config: {0}")]
    Config(String),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
}

/// A cloneable reader of one replica's statistics, for tasks that outlive a borrow of the fleet.
#[derive(Debug, Clone)]
pub struct StatsHandle {
    replica: Arc<Replica>,
}

impl StatsHandle {
    pub fn get(&self) -> ReplicaStats {
        self.replica.stats.snapshot(self.replica.is_down())
    }

    /// Zeroes the counters and restarts the clock (the prefix cache is kept).
    pub fn reset(&self) {
        self.replica.stats.reset();
    }
}

/// A replica serving in the background. Dropping it stops it too; [`RunningReplica::shutdown`]
/// also waits for the listener to close.
#[derive(Debug)]
pub struct RunningReplica {
    address: SocketAddr,
    replica: Arc<Replica>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl RunningReplica {
    pub fn index(&self) -> usize {
        self.replica.index
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The OpenAI base URL, `http://host:port/v1`.
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.address)
    }

    pub fn stats(&self) -> ReplicaStats {
        self.stats_handle().get()
    }

    pub fn stats_handle(&self) -> StatsHandle {
        StatsHandle {
            replica: self.replica.clone(),
        }
    }

    /// Zeroes the counters and restarts the clock (the prefix cache is kept).
    pub fn reset_stats(&self) {
        self.replica.stats.reset();
    }

    pub fn clear_prefix_cache(&self) {
        self.replica.scheduler.clear_prefix_cache();
    }

    /// Whether it is inside a down window now.
    pub fn is_down(&self) -> bool {
        self.replica.is_down()
    }

    /// Stops accepting, resets open connections (in-flight requests get a connection error) and
    /// waits until the listener is closed.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningReplica {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// Starts replica `index` of `config` on `address` (port 0: chosen by the system).
pub async fn spawn_replica(
    config: &FleetConfig,
    index: usize,
    address: SocketAddr,
) -> Result<RunningReplica, SpawnError> {
    let listener = TcpListener::bind(address)
        .await
        .map_err(|source| SpawnError::Bind { address, source })?;
    let address = listener
        .local_addr()
        .map_err(|source| SpawnError::Bind { address, source })?;
    let stats = Arc::new(StatsRecorder::new(
        index,
        address.to_string(),
        config.capacity.max_running_sequences,
        config.capacity.time_scale,
    ));
    let scheduler = Arc::new(Scheduler::new(
        config.capacity.clone(),
        PrefixCache::new(config.prefix_cache_blocks, config.block_size),
        stats.clone(),
    ));
    let replica = Arc::new(Replica::new(
        index,
        ServerSettings {
            served_model_names: config
                .served_model_names
                .iter()
                .filter(|name| !name.is_empty())
                .cloned()
                .collect(),
            max_model_len: config.max_model_len,
            max_logprobs: config.max_logprobs,
            logprob_token_ids: config.logprob_token_ids,
            capacity: config.capacity.clone(),
            seed: config.seed,
        },
        Answerer::new(config.world.clone(), config.behaviour.clone(), config.seed),
        scheduler,
        FaultPlan::new(config.faults_of(index).clone(), config.seed, index),
        stats,
    ));
    let (shutdown, watching) = watch::channel(false);
    let task = tokio::spawn(server::run(replica.clone(), listener, address, watching));
    Ok(RunningReplica {
        address,
        replica,
        shutdown,
        task: Some(task),
    })
}

/// Starts every replica of `config` (replica i on `base_port + i`, or a system-chosen port).
pub async fn spawn_fleet(config: FleetConfig) -> Result<Fleet, SpawnError> {
    config.validate().map_err(SpawnError::Config)?;
    let mut replicas = Vec::with_capacity(config.replicas);
    for index in 0..config.replicas {
        let port = config.base_port.map_or(0, |base| base + index as u16);
        replicas.push(spawn_replica(&config, index, SocketAddr::new(config.host, port)).await?);
    }
    Ok(Fleet { config, replicas })
}

/// The running replicas of a fleet (a slice of [`RunningReplica`] by `Deref`).
#[derive(Debug)]
pub struct Fleet {
    config: FleetConfig,
    replicas: Vec<RunningReplica>,
}

impl Deref for Fleet {
    type Target = [RunningReplica];

    fn deref(&self) -> &Self::Target {
        &self.replicas
    }
}

impl Fleet {
    pub fn config(&self) -> &FleetConfig {
        &self.config
    }

    /// The replicas' base URLs, for `[models.<role>] endpoints`.
    pub fn urls(&self) -> Vec<String> {
        self.replicas.iter().map(RunningReplica::url).collect()
    }

    pub fn stats(&self) -> FleetStats {
        FleetStats::from_replicas(self.replicas.iter().map(RunningReplica::stats).collect())
    }

    pub fn reset_stats(&self) {
        self.replicas.iter().for_each(RunningReplica::reset_stats);
    }

    pub fn into_replicas(self) -> Vec<RunningReplica> {
        self.replicas
    }

    /// Shuts every replica down.
    pub async fn shutdown(self) {
        for replica in self.replicas {
            replica.shutdown().await;
        }
    }
}
