//! What a replica counts, and the snapshot it reports ([`ReplicaStats`], served as JSON at
//! `GET /sim/stats`), summed over a fleet by [`FleetStats`].
//!
//! Times are simulated seconds (real seconds / `time_scale`). Utilisation is the share of slot
//! time in use: slot-seconds held by sequences / (S × elapsed); a client that keeps every slot of
//! every replica busy reaches 1, and with `decode_slowdown` = 0 throughput / capacity equals it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::faults::FaultKind;

/// Requests served, by what they asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindCounts {
    pub crs: u64,
    pub critique: u64,
    pub score: u64,
    pub other: u64,
}

impl KindCounts {
    fn add(&mut self, other: &KindCounts) {
        self.crs += other.crs;
        self.critique += other.critique;
        self.score += other.score;
        self.other += other.other;
    }
}

/// Faults injected, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultCounts {
    pub latency_spikes: u64,
    pub server_errors: u64,
    pub resets: u64,
    pub hangs: u64,
    pub malformed: u64,
    /// Connections reset or refused work because the replica was down.
    pub down_resets: u64,
    /// Down windows entered.
    pub down_periods: u64,
}

impl FaultCounts {
    pub fn total(&self) -> u64 {
        self.latency_spikes
            + self.server_errors
            + self.resets
            + self.hangs
            + self.malformed
            + self.down_resets
    }

    fn add(&mut self, other: &FaultCounts) {
        self.latency_spikes += other.latency_spikes;
        self.server_errors += other.server_errors;
        self.resets += other.resets;
        self.hangs += other.hangs;
        self.malformed += other.malformed;
        self.down_resets += other.down_resets;
        self.down_periods += other.down_periods;
    }
}

/// A snapshot of one replica's counters (or, in [`FleetStats::total`], of a fleet's).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplicaStats {
    /// The replica's index in its fleet (in a fleet total: the number of replicas).
    pub replica: usize,
    /// `host:port` (empty in a fleet total).
    pub address: String,
    /// Whether the replica is inside a down window now (in a total: any replica).
    pub down: bool,
    /// S (in a total: the sum over replicas).
    pub max_running_sequences: usize,
    /// Simulated seconds since start or the last reset (in a total: the longest).
    pub elapsed_s: f64,
    /// Chat-completion requests received.
    pub requests: u64,
    /// Requests whose work was done (answered; a malformed body counts too).
    pub served: u64,
    /// Requests answered 4xx (bad body, unknown model, too long, too many logprobs).
    pub rejected: u64,
    pub by_kind: KindCounts,
    /// Served requests whose conversation is not in the world.
    pub unknown_conversations: u64,
    /// Sequences run (a request with `n` choices runs `n`).
    pub sequences: u64,
    pub prompt_tokens: u64,
    /// Prompt tokens served by the prefix cache (vLLM's `cached_tokens`).
    pub cached_tokens: u64,
    /// cached_tokens / prompt_tokens.
    pub prefix_cache_hit_rate: f64,
    pub completion_tokens: u64,
    /// Seconds the prefill unit worked.
    pub prefill_s: f64,
    /// Slot-seconds held by sequences (prefill wait, prefill, decode).
    pub slot_s: f64,
    /// Seconds with at least one sequence running.
    pub busy_s: f64,
    /// slot_s / (S × elapsed_s).
    pub utilisation: f64,
    /// Sequences holding slots now.
    pub running: usize,
    pub max_running: usize,
    /// Sequences waiting for a slot now (a request's other `n − 1` sequences join the queue once
    /// its prompt is prefilled).
    pub queued: usize,
    pub max_queue_length: usize,
    /// Seconds sequences spent waiting for a slot, summed.
    pub queue_wait_s: f64,
    /// Mean seconds from arrival to answer of served requests.
    pub mean_latency_s: f64,
    pub faults: FaultCounts,
}

/// The statistics of a fleet: each replica's, and their total.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FleetStats {
    pub replicas: Vec<ReplicaStats>,
    /// Counters summed, maxima taken, rates recomputed (utilisation: slot time over all slots).
    pub total: ReplicaStats,
}

impl FleetStats {
    pub fn from_replicas(replicas: Vec<ReplicaStats>) -> Self {
        let mut total = ReplicaStats {
            replica: replicas.len(),
            ..ReplicaStats::default()
        };
        let mut slot_capacity_s = 0.0;
        let mut latency_s = 0.0;
        for stats in &replicas {
            total.down |= stats.down;
            total.max_running_sequences += stats.max_running_sequences;
            total.elapsed_s = total.elapsed_s.max(stats.elapsed_s);
            total.requests += stats.requests;
            total.served += stats.served;
            total.rejected += stats.rejected;
            total.by_kind.add(&stats.by_kind);
            total.unknown_conversations += stats.unknown_conversations;
            total.sequences += stats.sequences;
            total.prompt_tokens += stats.prompt_tokens;
            total.cached_tokens += stats.cached_tokens;
            total.completion_tokens += stats.completion_tokens;
            total.prefill_s += stats.prefill_s;
            total.slot_s += stats.slot_s;
            total.busy_s += stats.busy_s;
            total.running += stats.running;
            total.max_running = total.max_running.max(stats.max_running);
            total.queued += stats.queued;
            total.max_queue_length = total.max_queue_length.max(stats.max_queue_length);
            total.queue_wait_s += stats.queue_wait_s;
            total.faults.add(&stats.faults);
            slot_capacity_s += stats.max_running_sequences as f64 * stats.elapsed_s;
            latency_s += stats.mean_latency_s * stats.served as f64;
        }
        total.prefix_cache_hit_rate = ratio(total.cached_tokens as f64, total.prompt_tokens as f64);
        total.utilisation = ratio(total.slot_s, slot_capacity_s);
        total.mean_latency_s = ratio(latency_s, total.served as f64);
        FleetStats { replicas, total }
    }
}

fn ratio(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        part / whole
    } else {
        0.0
    }
}

#[derive(Debug)]
struct Counters {
    started: Instant,
    stats: ReplicaStats,
    /// Real durations, converted at snapshot time.
    prefill: Duration,
    slot: Duration,
    busy: Duration,
    busy_since: Option<Instant>,
    queue_wait: Duration,
    latency: Duration,
}

impl Counters {
    fn new(now: Instant, replica: usize, address: String, slots: usize) -> Self {
        Counters {
            started: now,
            stats: ReplicaStats {
                replica,
                address,
                max_running_sequences: slots,
                ..ReplicaStats::default()
            },
            prefill: Duration::ZERO,
            slot: Duration::ZERO,
            busy: Duration::ZERO,
            busy_since: None,
            queue_wait: Duration::ZERO,
            latency: Duration::ZERO,
        }
    }
}

/// The recorder a replica's server and scheduler write to.
#[derive(Debug)]
pub struct StatsRecorder {
    time_scale: f64,
    counters: Mutex<Counters>,
}

/// What one served request adds.
#[derive(Debug, Clone, Copy)]
pub struct ServedRequest {
    pub kind: &'static str,
    pub known_sample: bool,
    pub sequences: u64,
    pub prompt_tokens: u64,
    pub cached_tokens: u64,
    pub completion_tokens: u64,
    pub latency: Duration,
}

impl StatsRecorder {
    pub fn new(replica: usize, address: String, slots: usize, time_scale: f64) -> Self {
        StatsRecorder {
            time_scale,
            counters: Mutex::new(Counters::new(Instant::now(), replica, address, slots)),
        }
    }

    fn with<T>(&self, change: impl FnOnce(&mut Counters) -> T) -> T {
        change(
            &mut self
                .counters
                .lock()
                .unwrap_or_else(|poison| poison.into_inner()),
        )
    }

    pub fn request_received(&self) {
        self.with(|c| c.stats.requests += 1);
    }

    pub fn rejected(&self) {
        self.with(|c| c.stats.rejected += 1);
    }

    pub fn fault(&self, kind: FaultKind) {
        self.with(|c| {
            let faults = &mut c.stats.faults;
            match kind {
                FaultKind::LatencySpike => faults.latency_spikes += 1,
                FaultKind::ServerError => faults.server_errors += 1,
                FaultKind::Reset => faults.resets += 1,
                FaultKind::Hang => faults.hangs += 1,
                FaultKind::Malformed => faults.malformed += 1,
            }
        });
    }

    pub fn down_reset(&self) {
        self.with(|c| c.stats.faults.down_resets += 1);
    }

    pub fn down_period(&self) {
        self.with(|c| c.stats.faults.down_periods += 1);
    }

    /// `sequences` join the queue.
    pub fn enqueued(&self, sequences: usize) {
        self.with(|c| {
            c.stats.queued += sequences;
            c.stats.max_queue_length = c.stats.max_queue_length.max(c.stats.queued);
        });
    }

    /// Sequences leave the queue without running (their request was dropped).
    pub fn abandoned(&self, sequences: usize) {
        self.with(|c| c.stats.queued = c.stats.queued.saturating_sub(sequences));
    }

    /// A queued sequence takes a slot after waiting `waited`; returns the number running now.
    pub fn admitted(&self, waited: Duration) -> usize {
        self.with(|c| {
            c.stats.queued = c.stats.queued.saturating_sub(1);
            c.stats.running += 1;
            c.stats.max_running = c.stats.max_running.max(c.stats.running);
            c.queue_wait += waited;
            if c.busy_since.is_none() {
                c.busy_since = Some(Instant::now());
            }
            c.stats.running
        })
    }

    /// A sequence gives its slot back after holding it for `held`.
    pub fn released(&self, held: Duration) {
        self.with(|c| {
            c.stats.running = c.stats.running.saturating_sub(1);
            c.slot += held;
            if c.stats.running == 0 {
                if let Some(since) = c.busy_since.take() {
                    c.busy += since.elapsed();
                }
            }
        });
    }

    pub fn prefilled(&self, took: Duration) {
        self.with(|c| c.prefill += took);
    }

    pub fn served(&self, served: ServedRequest) {
        self.with(|c| {
            let stats = &mut c.stats;
            stats.served += 1;
            match served.kind {
                "crs" => stats.by_kind.crs += 1,
                "critique" => stats.by_kind.critique += 1,
                "score" => stats.by_kind.score += 1,
                _ => stats.by_kind.other += 1,
            }
            if !served.known_sample {
                stats.unknown_conversations += 1;
            }
            stats.sequences += served.sequences;
            stats.prompt_tokens += served.prompt_tokens;
            stats.cached_tokens += served.cached_tokens;
            stats.completion_tokens += served.completion_tokens;
            c.latency += served.latency;
        });
    }

    /// Zeroes the counters and restarts the clock; what is running or queued now stays counted.
    pub fn reset(&self) {
        self.with(|c| {
            let now = Instant::now();
            let stats = &c.stats;
            let mut fresh = Counters::new(
                now,
                stats.replica,
                stats.address.clone(),
                stats.max_running_sequences,
            );
            fresh.stats.running = stats.running;
            fresh.stats.max_running = stats.running;
            fresh.stats.queued = stats.queued;
            fresh.stats.max_queue_length = stats.queued;
            fresh.busy_since = (stats.running > 0).then_some(now);
            *c = fresh;
        });
    }

    /// The counters now, with `down` as given.
    pub fn snapshot(&self, down: bool) -> ReplicaStats {
        let scale = self.time_scale;
        self.with(|c| {
            let now = Instant::now();
            let seconds = |real: Duration| real.as_secs_f64() / scale;
            let mut stats = c.stats.clone();
            stats.down = down;
            stats.elapsed_s = seconds(now - c.started);
            stats.prefill_s = seconds(c.prefill);
            stats.slot_s = seconds(c.slot);
            let busy = c.busy + c.busy_since.map_or(Duration::ZERO, |since| now - since);
            stats.busy_s = seconds(busy);
            stats.queue_wait_s = seconds(c.queue_wait);
            stats.prefix_cache_hit_rate =
                ratio(stats.cached_tokens as f64, stats.prompt_tokens as f64);
            stats.utilisation = ratio(
                stats.slot_s,
                stats.max_running_sequences as f64 * stats.elapsed_s,
            );
            stats.mean_latency_s = ratio(seconds(c.latency), stats.served as f64);
            stats
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_up_and_fleet_totals_recompute_rates() {
        let recorder = StatsRecorder::new(0, "a".into(), 2, 0.5);
        recorder.request_received();
        recorder.enqueued(2);
        assert_eq!(recorder.admitted(Duration::from_millis(10)), 1);
        assert_eq!(recorder.admitted(Duration::ZERO), 2);
        recorder.released(Duration::from_millis(100));
        recorder.released(Duration::from_millis(100));
        recorder.served(ServedRequest {
            kind: "score",
            known_sample: true,
            sequences: 2,
            prompt_tokens: 100,
            cached_tokens: 25,
            completion_tokens: 2,
            latency: Duration::from_millis(50),
        });
        recorder.fault(FaultKind::Hang);
        let stats = recorder.snapshot(false);
        assert_eq!((stats.running, stats.max_running, stats.queued), (0, 2, 0));
        assert_eq!(stats.max_queue_length, 2);
        assert!((stats.slot_s - 0.4).abs() < 1e-9, "{}", stats.slot_s);
        assert!((stats.queue_wait_s - 0.02).abs() < 1e-9);
        assert!((stats.mean_latency_s - 0.1).abs() < 1e-9);
        assert_eq!(stats.prefix_cache_hit_rate, 0.25);
        assert_eq!((stats.by_kind.score, stats.faults.hangs), (1, 1));
        let mut other = stats.clone();
        other.cached_tokens = 75;
        let fleet = FleetStats::from_replicas(vec![stats, other]);
        assert_eq!(fleet.total.prompt_tokens, 200);
        assert_eq!(fleet.total.prefix_cache_hit_rate, 0.5);
        assert_eq!(fleet.total.max_running_sequences, 4);
        recorder.reset();
        let fresh = recorder.snapshot(true);
        assert_eq!(
            (fresh.requests, fresh.prompt_tokens, fresh.down),
            (0, 0, true)
        );
    }
}
