//! [`SynthProgress`]: counters a synthesis updates as it goes, for a progress bar or log lines.

use std::sync::atomic::{AtomicU64, Ordering};

/// Work done so far; shared with whoever reports it.
#[derive(Debug, Default)]
pub struct SynthProgress {
    /// Units of work planned (critique: lists; score: histories).
    pub total: AtomicU64,
    /// Units finished (with or without an example).
    pub done: AtomicU64,
    /// Units that gave no example.
    pub failed: AtomicU64,
    /// Teacher calls made (not answered from the cache).
    pub teacher_calls: AtomicU64,
    /// Teacher calls answered from the cache.
    pub cache_hits: AtomicU64,
    /// Prompt and completion tokens of the calls made.
    pub tokens: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct ProgressSnapshot {
    pub total: u64,
    pub done: u64,
    pub failed: u64,
    pub teacher_calls: u64,
    pub cache_hits: u64,
    pub tokens: u64,
}

impl SynthProgress {
    pub fn snapshot(&self) -> ProgressSnapshot {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        ProgressSnapshot {
            total: load(&self.total),
            done: load(&self.done),
            failed: load(&self.failed),
            teacher_calls: load(&self.teacher_calls),
            cache_hits: load(&self.cache_hits),
            tokens: load(&self.tokens),
        }
    }

    pub(crate) fn add(counter: &AtomicU64, value: u64) {
        counter.fetch_add(value, Ordering::Relaxed);
    }
}
