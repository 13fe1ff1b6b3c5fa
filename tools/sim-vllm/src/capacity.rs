//! The capacity model of one replica, after vLLM's scheduler, and the theoretical capacity it
//! gives for a workload.
//!
//! vLLM runs at most `max_num_seqs` sequences at once (continuous batching) and queues the rest
//! without bound, first come first served; each choice of a request with `n` > 1 is a sequence of
//! its own. The model:
//!
//! - **Slots.** At most S = [`CapacityConfig::max_running_sequences`] sequences hold a slot; the
//!   others wait in one FIFO queue. A request's first sequence takes a slot, prefills, then decodes;
//!   its other `n − 1` sequences queue for slots once the prompt is prefilled (they share its KV
//!   cache, as vLLM's parallel sampling does) and only decode.
//! - **Prefill.** A request's prompt tokens not served by the prefix cache are prefilled at
//!   P = [`CapacityConfig::prefill_tokens_per_s`] by one prefill unit shared by the replica, one
//!   request at a time in arrival order (prefill is compute-bound: concurrent prefills share the
//!   GPU). The sequence keeps its slot while it waits for the unit.
//! - **Decode.** A sequence decodes its completion tokens at
//!   r / (1 + β (m − 1)) tokens/s, where r = [`CapacityConfig::decode_tokens_per_s_per_sequence`],
//!   β = [`CapacityConfig::decode_slowdown`] and m the number of sequences holding slots when its
//!   decode starts (fixed for its duration). With β = 0 (the default) the aggregate decode
//!   throughput is m × r: decode is memory-bound, so batching is free up to S.
//! - **Time** runs at [`CapacityConfig::time_scale`] real seconds per simulated second; every
//!   duration in the configs (and in the statistics) is simulated.
//!
//! A saturated replica therefore serves, per request of p uncached prompt tokens and n sequences
//! of c completion tokens, at most min(S / (p/P + n·c·(1 + β(S − 1))/r), P / p) requests per
//! second ([`CapacityConfig::capacity`]): slot time or the prefill unit, whichever binds. The
//! slot-time bound ignores the time a sequence holds its slot waiting for the prefill unit, so it
//! is an upper bound when prefill is a large share of the work.

use crate::slots::SchedulingPolicy;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The capacity of one replica.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CapacityConfig {
    /// S: sequences running at once (vLLM's `--max-num-seqs`).
    pub max_running_sequences: usize,
    /// P: prompt tokens prefilled per second by the replica.
    pub prefill_tokens_per_s: f64,
    /// r: tokens decoded per second by one sequence.
    pub decode_tokens_per_s_per_sequence: f64,
    /// β: how much each further running sequence slows every sequence's decode (0: not at all).
    pub decode_slowdown: f64,
    /// Real seconds per simulated second (0.01 runs 100 times faster than real time). The
    /// replica keeps this clock itself (durations laid end to end, [`crate::scheduler`]), so a
    /// timer firing late delays answers but does not lower capacity.
    pub time_scale: f64,
    /// The order of the queue for slots (vLLM's `--scheduling-policy`).
    pub scheduling_policy: SchedulingPolicy,
}

impl Default for CapacityConfig {
    /// Roughly an 8B model on one H100: 64 sequences, 8,000 prefill tokens/s, 40 decode tokens/s
    /// per sequence.
    fn default() -> Self {
        CapacityConfig {
            max_running_sequences: 64,
            prefill_tokens_per_s: 8000.0,
            decode_tokens_per_s_per_sequence: 40.0,
            decode_slowdown: 0.0,
            time_scale: 1.0,
            scheduling_policy: SchedulingPolicy::Fcfs,
        }
    }
}

/// The mean shape of the requests of a workload.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    /// Prompt tokens prefilled per request (prompt tokens minus prefix-cache hits).
    pub uncached_prompt_tokens_per_request: f64,
    /// Completion tokens per sequence.
    pub completion_tokens_per_sequence: f64,
    /// Sequences (choices) per request.
    pub sequences_per_request: f64,
}

impl Workload {
    /// The workload measured by a replica's or a fleet's statistics.
    pub fn measured(stats: &crate::stats::ReplicaStats) -> Workload {
        let served = stats.served.max(1) as f64;
        Workload {
            uncached_prompt_tokens_per_request: (stats.prompt_tokens - stats.cached_tokens) as f64
                / served,
            completion_tokens_per_sequence: stats.completion_tokens as f64
                / stats.sequences.max(1) as f64,
            sequences_per_request: stats.sequences as f64 / served,
        }
    }
}

/// What bounds a saturated replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bound {
    /// All slots busy (prefill and decode time per slot).
    Slots,
    /// The prefill unit busy all the time.
    Prefill,
}

/// The most a replica (or a fleet) can serve of a workload, per simulated second.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Capacity {
    pub requests_per_s: f64,
    pub sequences_per_s: f64,
    pub completion_tokens_per_s: f64,
    /// Prompt tokens prefilled per second (uncached ones).
    pub prefill_tokens_per_s: f64,
    pub bound: Bound,
}

impl Capacity {
    /// The capacity of `replicas` identical replicas.
    pub fn times(self, replicas: usize) -> Capacity {
        let factor = replicas as f64;
        Capacity {
            requests_per_s: self.requests_per_s * factor,
            sequences_per_s: self.sequences_per_s * factor,
            completion_tokens_per_s: self.completion_tokens_per_s * factor,
            prefill_tokens_per_s: self.prefill_tokens_per_s * factor,
            bound: self.bound,
        }
    }
}

impl CapacityConfig {
    /// Checks that the numbers can run.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_running_sequences == 0 {
            return Err("capacity.max_running_sequences must be at least 1".into());
        }
        for (name, value) in [
            ("prefill_tokens_per_s", self.prefill_tokens_per_s),
            (
                "decode_tokens_per_s_per_sequence",
                self.decode_tokens_per_s_per_sequence,
            ),
            ("time_scale", self.time_scale),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(format!(
                    "capacity.{name} must be a positive number, not {value}"
                ));
            }
        }
        if !(self.decode_slowdown.is_finite() && self.decode_slowdown >= 0.0) {
            return Err(format!(
                "capacity.decode_slowdown must be a number ≥ 0, not {}",
                self.decode_slowdown
            ));
        }
        Ok(())
    }

    /// Simulated seconds to prefill `tokens` uncached prompt tokens.
    pub fn prefill_seconds(&self, tokens: usize) -> f64 {
        tokens as f64 / self.prefill_tokens_per_s
    }

    /// Simulated seconds to decode `tokens` tokens with `running` sequences in slots.
    pub fn decode_seconds(&self, tokens: usize, running: usize) -> f64 {
        let slowdown = 1.0 + self.decode_slowdown * running.saturating_sub(1) as f64;
        tokens as f64 * slowdown / self.decode_tokens_per_s_per_sequence
    }

    /// The real duration of `simulated` seconds.
    pub fn real(&self, simulated: f64) -> Duration {
        Duration::from_secs_f64((simulated * self.time_scale).max(0.0))
    }

    /// The simulated seconds of a real duration.
    pub fn simulated(&self, real: Duration) -> f64 {
        real.as_secs_f64() / self.time_scale
    }

    /// The most one saturated replica serves of `workload` (see the module docs).
    pub fn capacity(&self, workload: &Workload) -> Capacity {
        let slots = self.max_running_sequences as f64;
        let prefill = workload.uncached_prompt_tokens_per_request / self.prefill_tokens_per_s;
        let decode = workload.sequences_per_request
            * workload.completion_tokens_per_sequence
            * (1.0 + self.decode_slowdown * (slots - 1.0))
            / self.decode_tokens_per_s_per_sequence;
        let by_slots = slots / (prefill + decode).max(f64::MIN_POSITIVE);
        let by_prefill = if prefill > 0.0 {
            1.0 / prefill
        } else {
            f64::INFINITY
        };
        let (requests_per_s, bound) = if by_prefill < by_slots {
            (by_prefill, Bound::Prefill)
        } else {
            (by_slots, Bound::Slots)
        };
        Capacity {
            requests_per_s,
            sequences_per_s: requests_per_s * workload.sequences_per_request,
            completion_tokens_per_s: requests_per_s
                * workload.sequences_per_request
                * workload.completion_tokens_per_sequence,
            prefill_tokens_per_s: requests_per_s * workload.uncached_prompt_tokens_per_request,
            bound,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_bound_workloads_scale_with_slots() {
        let config = CapacityConfig {
            max_running_sequences: 4,
            prefill_tokens_per_s: 1000.0,
            decode_tokens_per_s_per_sequence: 10.0,
            ..CapacityConfig::default()
        };
        let workload = Workload {
            uncached_prompt_tokens_per_request: 100.0,
            completion_tokens_per_sequence: 9.0,
            sequences_per_request: 1.0,
        };
        // A slot is held 0.1 s (prefill) + 0.9 s (decode): 4 requests per second.
        let capacity = config.capacity(&workload);
        assert_eq!(capacity.bound, Bound::Slots);
        assert!((capacity.requests_per_s - 4.0).abs() < 1e-9);
        assert!((capacity.completion_tokens_per_s - 36.0).abs() < 1e-9);
        assert!((capacity.times(3).requests_per_s - 12.0).abs() < 1e-9);
        assert!((config.decode_seconds(10, 4) - 1.0).abs() < 1e-12);
        let slowed = CapacityConfig {
            decode_slowdown: 0.5,
            ..config.clone()
        };
        assert!((slowed.decode_seconds(10, 3) - 2.0).abs() < 1e-12);
    }

    #[test]
    fn long_prompts_are_bound_by_prefill() {
        let config = CapacityConfig {
            max_running_sequences: 64,
            prefill_tokens_per_s: 1000.0,
            decode_tokens_per_s_per_sequence: 10.0,
            ..CapacityConfig::default()
        };
        let workload = Workload {
            uncached_prompt_tokens_per_request: 500.0,
            completion_tokens_per_sequence: 1.0,
            sequences_per_request: 1.0,
        };
        let capacity = config.capacity(&workload);
        assert_eq!(capacity.bound, Bound::Prefill);
        assert!((capacity.requests_per_s - 2.0).abs() < 1e-9);
        assert!(CapacityConfig {
            time_scale: 0.0,
            ..config
        }
        .validate()
        .is_err());
    }
}
