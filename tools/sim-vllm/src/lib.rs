//! # sim-vllm
//!
//! A simulated vLLM fleet: OpenAI-compatible servers whose answers are valid for grsu's prompts and
//! whose timing follows a capacity model of vLLM, with a prefix cache and fault injection. It is
//! the yardstick of DESIGN §7: the orchestrator's throughput against the fleet's capacity, its
//! model work per sample, its behaviour when replicas fail, all measured without a GPU.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use sim_vllm::{spawn_fleet, FleetConfig, World};
//!
//! let world = World::load(
//!     "data/demo/movie2info.json".as_ref(),
//!     Default::default(),
//!     Some(("data/demo/conversations.jsonl".as_ref(), grsu::data::DatasetFormat::Grsu)),
//! )?;
//! let mut config = FleetConfig::new(Arc::new(world));
//! config.replicas = 4;
//! config.capacity.time_scale = 0.01; // 100 times faster than real time
//! let fleet = spawn_fleet(config).await?;
//! println!("{:?}", fleet.urls()); // ["http://127.0.0.1:41234/v1", ...]
//! // ... run grsu against the URLs ...
//! println!("{}", serde_json::to_string(&fleet.stats())?);
//! fleet.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! ## What is simulated and what is real
//!
//! Real: the HTTP server (hyper, HTTP/1.1 with keep-alive), vLLM's request and response bodies and
//! its error bodies and checks (`top_logprobs` ≤ 20, `continue_final_message` with
//! `add_generation_prompt`, the context length, unknown models), `n` with child seeds `seed + i`,
//! stop strings, `max_tokens` and finish reasons, TCP resets and refused connections.
//!
//! Simulated: the model (answers come from the dataset's labels, [`answers`]), the tokenizer (about
//! 4 characters a token, [`tokens`]), the GPU (a queueing model of slots, prefill and decode rates,
//! run with tokio sleeps, [`capacity`]), vLLM's prefix cache (hashed blocks of 16 approximate
//! tokens, LRU, [`prefix_cache`]). No streaming, no tool calls, no multi-modal input.
//!
//! ## The capacity model, in five points
//!
//! 1. At most S sequences hold a slot (each choice of `n` is a sequence); the rest wait in one
//!    unbounded FIFO queue, as vLLM's `max_num_seqs` and waiting queue.
//! 2. A request's first sequence prefills the prompt tokens the prefix cache does not hold, at P
//!    tokens/s on one prefill unit shared by the replica (requests prefill one after another).
//! 3. Every sequence then decodes its completion tokens at r / (1 + β(m − 1)) tokens/s, m the
//!    sequences running when it starts; with β = 0 aggregate decode throughput is m × r.
//! 4. A saturated replica serves min(S / (p/P + n·c·(1 + β(S−1))/r), P/p) requests/s for p uncached
//!    prompt tokens and n sequences of c tokens per request ([`CapacityConfig::capacity`]).
//! 5. All durations are simulated seconds, run as `time_scale` real seconds each, laid end to end
//!    on the replica's own clock (a slot passes from one sequence to the next at the modelled
//!    instant, not when the simulation's tasks wake), so its CPU load does not lower capacity.
//!
//! ## Layout
//!
//! - [`world`]: the catalog and dataset; from a prompt's conversation to the sample and its labels.
//! - [`prompt`]: which of grsu's prompts a request is, and what it names.
//! - [`answers`]: CRS lists, critiques and Yes/No scores with logprobs ([`BehaviourConfig`]).
//! - [`tokens`]: the approximate tokenizer and the chat template's token ids.
//! - [`capacity`]: the capacity model and the theoretical capacity of a workload.
//! - [`scheduler`]: the capacity model at run time (slots, FIFO queue, prefill unit).
//! - [`prefix_cache`]: vLLM's prefix cache as hashed blocks with LRU eviction.
//! - [`faults`]: seeded fault injection (latency spikes, 5xx bursts, resets, hangs, malformed
//!   bodies, down windows).
//! - [`openai`]: vLLM's wire format and request checks.
//! - [`stats`]: the counters of a replica and a fleet.
//! - [`server`]: one replica's routes and connection handling.
//! - [`fleet`]: [`FleetConfig`], [`spawn_fleet`], [`RunningReplica`].
//! - [`random`]: seeded randomness.
//!
//! The `sim-vllm` binary (src/main.rs) starts a fleet from the command line.

pub mod answers;
pub mod capacity;
pub mod faults;
pub mod fleet;
pub mod openai;
pub mod prefix_cache;
pub mod prompt;
pub mod random;
pub mod scheduler;
pub mod server;
pub mod slots;
pub mod stats;
pub mod tokens;
pub mod world;

pub use answers::{Answerer, BehaviourConfig};
pub use capacity::{Bound, Capacity, CapacityConfig, Workload};
pub use faults::{DownMode, DownWindow, FaultConfig, FaultKind};
pub use fleet::{
    spawn_fleet, spawn_replica, Fleet, FleetConfig, RunningReplica, SpawnError, StatsHandle,
};
pub use stats::{FaultCounts, FleetStats, KindCounts, ReplicaStats};
pub use world::World;
