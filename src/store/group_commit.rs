//! Group commit: one flush to disk for every write that finished while the previous flush ran.
//!
//! A sweep with a thousand samples in flight finishes thousands of model calls a second, and each
//! must be on disk before it is acknowledged (a `kill -9` must never make a finished call be paid
//! for twice). Flushing each write on its own costs an `fsync` per call and blocks the async
//! worker that made it. Instead a writer inserts its entry, takes a ticket and waits; one thread
//! flushes everything written so far, then wakes every writer whose ticket that flush covered.
//! While a flush runs the next batch gathers, so the batch grows with the load and an idle store
//! flushes at once (no timer, no added latency).

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use super::StoreError;

/// A writer waiting for the flush that covers its write: told the flush's outcome.
type Waiter = oneshot::Sender<Result<(), String>>;

#[derive(Debug, Default)]
struct Pending {
    /// Writers whose entries are inserted and not yet flushed, in the order they came.
    waiters: Vec<Waiter>,
    stop: bool,
}

#[derive(Debug, Default)]
struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
}

/// The flushing thread of one open store.
#[derive(Debug)]
pub(super) struct GroupCommit {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl GroupCommit {
    /// Starts the flushing thread of `db`.
    pub(super) fn start(db: sled::Db) -> Self {
        let shared = Arc::new(Shared::default());
        let flusher = shared.clone();
        let thread = std::thread::Builder::new()
            .name("grsu-store-flush".into())
            .spawn(move || flush_loop(&db, &flusher))
            .expect("start the store's flushing thread");
        GroupCommit {
            shared,
            thread: Some(thread),
        }
    }

    /// Waits until everything written before this call is on disk. Each writer is woken once,
    /// by the flush that covered its write.
    pub(super) async fn durable(&self, operation: &'static str) -> Result<(), StoreError> {
        let (sender, receiver) = oneshot::channel();
        let first = {
            let mut pending = self.shared.pending.lock().expect("the store's commit lock");
            pending.waiters.push(sender);
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

fn flush_loop(db: &sled::Db, shared: &Shared) {
    loop {
        let (batch, stop) = {
            let mut pending = shared.pending.lock().expect("the store's commit lock");
            while pending.waiters.is_empty() && !pending.stop {
                pending = shared.wake.wait(pending).expect("the store's commit lock");
            }
            (std::mem::take(&mut pending.waiters), pending.stop)
        };
        if !batch.is_empty() {
            // Every writer of the batch inserted its entry before it joined the batch, so this
            // flush covers them all. A failure is told to each; later writes try again.
            let outcome = db.flush().map(|_| ()).map_err(|error| error.to_string());
            for waiter in batch {
                let _ = waiter.send(outcome.clone());
            }
        }
        if stop {
            return;
        }
    }
}
