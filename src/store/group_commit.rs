//! Group commit: one flush to disk for every write that finished while the previous flush ran.
//!
//! A sweep with a thousand samples in flight finishes thousands of model calls a second, and each
//! must be on disk before it is acknowledged (a `kill -9` must never make a finished call be paid
//! for twice). Flushing each write on its own costs an `fsync` per call and blocks the async
//! worker that made it. Instead a writer inserts its entry, takes a ticket and waits; one thread
//! flushes everything written so far, then wakes every writer whose ticket that flush covered.
//! While a flush runs the next batch gathers, and flushes are at least [`FLUSH_INTERVAL`] apart:
//! under load a batch is every write of that interval (a few per flush without it, since a flush
//! takes about as long as the next write: sled's flush, its `pwrite` and `sync_file_range`, was
//! then a fifth of the orchestrator's CPU), while a store idle for that long flushes at once.
//! The interval is the most a write waits beyond its own flush, next to model calls that take
//! hundreds of milliseconds. With the response log's `fdatasync` (store format 4) 2 ms apart,
//! the syncs and the wake-ups of their batches were a tenth of a paper run's CPU; 10 ms apart,
//! a twentieth.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::StoreError;

/// The shortest time between the starts of two flushes.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(10);

/// A writer waiting for the flush that covers its write: told the flush's outcome.
type Waiter = oneshot::Sender<Result<(), String>>;

#[derive(Debug, Default)]
struct Pending {
    /// Writers whose entries are inserted and not yet flushed, in the order they came.
    waiters: Vec<Waiter>,
    /// Whether one of them wrote into the store's trees (not only its response log).
    trees_written: bool,
    stop: bool,
}

/// What a writer wrote, and so what the flush that covers it must make durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Written {
    /// The store's trees (records, and the responses of a store before format 4).
    Trees,
    /// Only the response log ([`super::response_log`]).
    ResponseLog,
}

/// What a flush does: make durable what was written, the trees too when told so.
pub(super) type Flush = Box<dyn FnMut(bool) -> Result<(), String> + Send>;

#[derive(Debug, Default)]
struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
    /// Flushes made so far.
    flushes: std::sync::atomic::AtomicU64,
}

/// The flushing thread of one open store.
#[derive(Debug)]
pub(super) struct GroupCommit {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl GroupCommit {
    /// Starts the flushing thread of a store, flushing with `flush`.
    pub(super) fn start(flush: Flush) -> Self {
        let shared = Arc::new(Shared::default());
        let flusher = shared.clone();
        let thread = std::thread::Builder::new()
            .name("grsu-store-flush".into())
            .spawn(move || flush_loop(flush, &flusher))
            .expect("start the store's flushing thread");
        GroupCommit {
            shared,
            thread: Some(thread),
        }
    }

    /// Flushes made so far.
    #[cfg(test)]
    fn flushes(&self) -> u64 {
        self.shared
            .flushes
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Waits until everything written before this call is on disk. Each writer is woken once,
    /// by the flush that covered its write.
    pub(super) async fn durable(
        &self,
        operation: &'static str,
        written: Written,
    ) -> Result<(), StoreError> {
        let (sender, receiver) = oneshot::channel();
        let first = {
            let mut pending = self.shared.pending.lock().expect("the store's commit lock");
            pending.waiters.push(sender);
            pending.trees_written |= written == Written::Trees;
            pending.waiters.len() == 1
        };
        if first {
            self.shared.wake.notify_one();
        }
        let outcome = receiver.await.map_err(|_| StoreError::Io {
            operation,
            message: "the store's flushing thread ended".into(),
        })?;
        outcome.map_err(|message| StoreError::Io { operation, message })
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        self.shared
            .pending
            .lock()
            .expect("the store's commit lock")
            .stop = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn flush_loop(mut flush: Flush, shared: &Shared) {
    // When the last flush started: the next one waits until FLUSH_INTERVAL after it.
    let mut last_flush: Option<Instant> = None;
    loop {
        let (batch, trees_written, stop) = {
            let mut pending = shared.pending.lock().expect("the store's commit lock");
            while pending.waiters.is_empty() && !pending.stop {
                pending = shared.wake.wait(pending).expect("the store's commit lock");
            }
            // Gather the writes of the rest of the interval (a stop flushes at once).
            if let Some(started) = last_flush {
                let due = started + FLUSH_INTERVAL;
                while !pending.stop {
                    let now = Instant::now();
                    if now >= due {
                        break;
                    }
                    pending = shared
                        .wake
                        .wait_timeout(pending, due - now)
                        .expect("the store's commit lock")
                        .0;
                }
            }
            (
                std::mem::take(&mut pending.waiters),
                std::mem::take(&mut pending.trees_written),
                pending.stop,
            )
        };
        if !batch.is_empty() {
            last_flush = Some(Instant::now());
            shared
                .flushes
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            // Every writer of the batch inserted its entry before it joined the batch, so this
            // flush covers them all. A failure is told to each; later writes try again.
            let outcome = flush(trees_written);
            for waiter in batch {
                let _ = waiter.send(outcome.clone());
            }
        }
        if stop {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_thousand_writes_share_flushes_at_least_an_interval_apart_and_all_are_acknowledged() {
        let folder = tempfile::tempdir().unwrap();
        let db = sled::open(folder.path()).unwrap();
        let flushed = db.clone();
        let commit = Arc::new(GroupCommit::start(Box::new(move |_| {
            flushed
                .flush()
                .map(|_| ())
                .map_err(|error| error.to_string())
        })));
        let started = Instant::now();
        let writers: Vec<_> = (0..50u32)
            .map(|writer| {
                let (db, commit) = (db.clone(), commit.clone());
                tokio::spawn(async move {
                    for write in 0..20u32 {
                        db.insert(format!("{writer}/{write}"), &b"answer"[..])
                            .unwrap();
                        commit.durable("test write", Written::Trees).await.unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
        let elapsed = started.elapsed();
        let flushes = commit.flushes();
        assert!(flushes >= 1);
        let most = (elapsed.as_secs_f64() / FLUSH_INTERVAL.as_secs_f64()).floor() as u64 + 1;
        assert!(
            flushes <= most,
            "{flushes} flushes in {elapsed:?}: more than one per {FLUSH_INTERVAL:?}"
        );
        assert!(flushes < 1000, "writes share flushes");
        drop(commit);
        // Everything acknowledged is on disk: a reopened database has every entry.
        drop(db);
        let reopened = sled::open(folder.path()).unwrap();
        assert_eq!(reopened.len(), 1000);
    }
}
