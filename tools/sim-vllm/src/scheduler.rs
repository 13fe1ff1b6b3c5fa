//! The capacity model at run time: slots, their queue, the prefill unit and the prefix cache of
//! one replica, as tokio primitives (see [`crate::capacity`] for the model itself).
//!
//! Slots are S permits behind a queue in arrival order, or by request priority under
//! `--scheduling-policy priority` ([`crate::slots`]). Durations are simulated time × `time_scale`,
//! laid end to end on the replica's own clock: a sequence's prefill starts when both its slot
//! and the prefill unit are free (the unit is an instant, "busy until", not a lock), its decode
//! when the prefill ends, and its slot is given back as of the end of its decode, however late
//! the task's timer fires. Tasks sleep until those instants only to answer no earlier than a
//! GPU would. A request's sequences run as tasks in a `JoinSet` owned by the request, so a
//! request whose client went away (its handler dropped) gives its slots back at once, as vLLM
//! aborts requests of closed connections.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::task::JoinSet;

use crate::capacity::CapacityConfig;
use crate::prefix_cache::PrefixCache;
use crate::slots::{SlotPermit, Slots};
use crate::stats::StatsRecorder;

/// One replica's GPU, as far as time goes.
#[derive(Debug)]
pub struct Scheduler {
    config: CapacityConfig,
    slots: Arc<Slots>,
    /// When the prefill unit is free again (prefills run one at a time, in the order they
    /// reach it).
    prefill_free_at: Mutex<Instant>,
    cache: Mutex<PrefixCache>,
    stats: Arc<StatsRecorder>,
}

/// What serving a request found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Served {
    /// Prompt tokens served by the prefix cache.
    pub cached_tokens: usize,
}

/// Sequences of a request still waiting for a slot; on drop the rest leave the queue.
struct Queued<'a> {
    stats: &'a StatsRecorder,
    left: usize,
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        if self.left > 0 {
            self.stats.abandoned(self.left);
        }
    }
}

/// A slot held by a sequence since its permit's grant; [`Slot::end_at`] gives it back (and
/// counts the time held) as of its sequence's end; dropped unfinished (its request went away), it
/// is given back now. The permit is `None` only once given back.
struct Slot {
    permit: Option<SlotPermit>,
    /// When the slot became the sequence's (its permit's grant, kept for after the permit goes).
    since: Instant,
    stats: Arc<StatsRecorder>,
}

impl Slot {
    fn new(permit: SlotPermit, stats: Arc<StatsRecorder>) -> Self {
        Slot {
            since: permit.granted(),
            permit: Some(permit),
            stats,
        }
    }

    /// Gives the slot back as of `at`.
    fn end_at(mut self, at: Instant) {
        self.give_back(at);
    }

    fn give_back(&mut self, at: Instant) {
        if let Some(permit) = self.permit.take() {
            self.stats
                .released(at.saturating_duration_since(self.since));
            permit.release_at(at);
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.give_back(Instant::now());
    }
}

/// Sleeps until `deadline` (not at all when it has passed).
async fn sleep_until(deadline: Instant) {
    if deadline > Instant::now() {
        tokio::time::sleep_until(deadline.into()).await;
    }
}

impl Scheduler {
    pub fn new(config: CapacityConfig, cache: PrefixCache, stats: Arc<StatsRecorder>) -> Self {
        Scheduler {
            slots: Slots::new(config.max_running_sequences, config.scheduling_policy),
            config,
            prefill_free_at: Mutex::new(Instant::now()),
            cache: Mutex::new(cache),
            stats,
        }
    }

    /// Forgets the prefix cache.
    pub fn clear_prefix_cache(&self) {
        self.cache
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .clear();
    }

    /// A slot for a sequence that asked at `asked`.
    async fn take_slot(&self, queued: &mut Queued<'_>, priority: i64, asked: Instant) -> Slot {
        let permit = self.slots.acquire(priority, asked).await;
        queued.left -= 1;
        self.stats
            .admitted(permit.granted().saturating_duration_since(asked));
        Slot::new(permit, self.stats.clone())
    }

    fn running(&self) -> usize {
        self.slots.running()
    }

    /// The prefill of `tokens` uncached tokens by a sequence ready for it at `ready`: when it
    /// starts and ends on the unit's clock.
    fn book_prefill(&self, ready: Instant, tokens: usize) -> (Instant, Instant) {
        let mut free_at = self
            .prefill_free_at
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let start = ready.max(*free_at);
        let end = start + self.config.real(self.config.prefill_seconds(tokens));
        *free_at = end;
        (start, end)
    }

    /// Decodes `tokens` from `start` on, then gives the slot back as of the decode's end.
    async fn decode(self: Arc<Self>, slot: Slot, tokens: usize, start: Instant) {
        let seconds = self.config.decode_seconds(tokens, self.running());
        let end = start + self.config.real(seconds);
        sleep_until(end).await;
        slot.end_at(end);
    }

    /// Runs a request whose prompt has the token ids `prompt` and whose choices generate
    /// `completions` tokens each; returns when every sequence has finished. `priority` orders its
    /// sequences in the queue under the priority policy (lower first).
    pub async fn serve(
        self: &Arc<Self>,
        prompt: &[u64],
        completions: &[usize],
        priority: i64,
    ) -> Served {
        // The first sequence queues now; the others once the prompt is prefilled.
        self.stats.enqueued(1);
        let mut queued = Queued {
            stats: &self.stats,
            left: 1,
        };
        let first = self.take_slot(&mut queued, priority, Instant::now()).await;
        let cached = self
            .cache
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .lookup_and_insert(prompt);
        let (prefill_start, prefilled) = self.book_prefill(first.since, prompt.len() - cached);
        self.stats.prefilled(prefilled - prefill_start);
        sleep_until(prefilled).await;
        let mut decoding = JoinSet::new();
        decoding.spawn(self.clone().decode(
            first,
            completions.first().copied().unwrap_or(0),
            prefilled,
        ));
        let children = completions.len().saturating_sub(1);
        self.stats.enqueued(children);
        queued.left += children;
        for &tokens in completions.iter().skip(1) {
            let slot = self.take_slot(&mut queued, priority, prefilled).await;
            let start = slot.since;
            decoding.spawn(self.clone().decode(slot, tokens, start));
        }
        while decoding.join_next().await.is_some() {}
        Served {
            cached_tokens: cached,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn scheduler(slots: usize, time_scale: f64) -> Arc<Scheduler> {
        let config = CapacityConfig {
            max_running_sequences: slots,
            prefill_tokens_per_s: 1000.0,
            decode_tokens_per_s_per_sequence: 10.0,
            decode_slowdown: 0.0,
            time_scale,
            ..CapacityConfig::default()
        };
        let stats = Arc::new(StatsRecorder::new(0, "test".into(), slots, time_scale));
        Arc::new(Scheduler::new(config, PrefixCache::new(1000, 16), stats))
    }

    #[tokio::test]
    async fn slots_bound_the_running_sequences_and_children_share_the_prefill() {
        // Each sequence decodes 1 simulated second (10 tokens), 50 ms real.
        let scheduler = scheduler(2, 0.05);
        let started = Instant::now();
        let prompt: Vec<u64> = (0..32).collect();
        let runs: Vec<_> = (0..3)
            .map(|_| {
                let scheduler = scheduler.clone();
                let prompt = prompt.clone();
                tokio::spawn(async move { scheduler.serve(&prompt, &[10, 10], 0).await })
            })
            .collect();
        for run in runs {
            run.await.unwrap();
        }
        let elapsed = started.elapsed().as_secs_f64();
        let stats = scheduler.stats.snapshot(false);
        assert_eq!(stats.max_running, 2);
        assert_eq!((stats.running, stats.queued), (0, 0));
        assert!(stats.max_queue_length >= 2, "{}", stats.max_queue_length);
        // 6 sequences of 1 s on 2 slots: 3 s (plus prefill of 32 + 2 × 16 uncached tokens).
        assert!((0.145..0.29).contains(&elapsed), "{elapsed}");
        assert!((stats.slot_s - 6.0).abs() < 1.5, "{}", stats.slot_s);
    }

    #[tokio::test]
    async fn slot_time_is_the_modelled_time_however_late_the_timers_fire() {
        // One slot, 12 requests of one sequence: 3 uncached prompt tokens at 1,000 tokens/s and
        // 1 token decoded at 10 tokens/s, 0.103 s simulated each, 5.15 ms real. Wake-ups come
        // late (later still on a busy machine), yet the slot counts exactly 12 × 0.103 s and
        // never runs two sequences at once.
        let scheduler = scheduler(1, 0.05);
        let started = Instant::now();
        let runs: Vec<_> = (0..12)
            .map(|_| {
                let scheduler = scheduler.clone();
                tokio::spawn(async move { scheduler.serve(&[7, 8, 9], &[1], 0).await })
            })
            .collect();
        for run in runs {
            run.await.unwrap();
        }
        let stats = scheduler.stats.snapshot(false);
        assert_eq!(stats.max_running, 1);
        assert!(
            (stats.slot_s - 12.0 * 0.103).abs() < 1e-6,
            "{}",
            stats.slot_s
        );
        // One after another: the last answer comes no sooner than 12 × 5.15 ms.
        assert!(started.elapsed() >= Duration::from_micros(61_800));
    }

    #[tokio::test]
    async fn a_dropped_request_gives_its_slots_back() {
        let scheduler = scheduler(1, 1.0);
        let waiting = {
            let scheduler = scheduler.clone();
            tokio::spawn(async move { scheduler.serve(&[1, 2, 3], &[1000], 0).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(scheduler.stats.snapshot(false).running, 1);
        waiting.abort();
        let _ = waiting.await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        let stats = scheduler.stats.snapshot(false);
        assert_eq!((stats.running, stats.queued), (0, 0));
        let quick = scheduler.serve(&[1, 2, 3], &[0], 0).await;
        assert_eq!(quick.cached_tokens, 0);
    }
}
