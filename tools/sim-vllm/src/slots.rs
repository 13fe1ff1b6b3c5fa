//! The sequence slots of one replica and the queue in front of them: first come, first served,
//! or, as vLLM's `--scheduling-policy priority`, the lowest request `priority` first (ties in
//! arrival order).
//!
//! Slots keep the GPU's clock, not the simulation's: a slot is granted at the instant it became
//! free (the end of its previous sequence's modelled time) or at the instant its sequence asked,
//! whichever is later, and not when the simulation's tasks get round to it. On a machine whose
//! cores the simulation shares with the orchestrator, each sequence's wake-ups (a timer that fires
//! up to a millisecond late, the task switch to the next waiter) would otherwise be added to its
//! slot time: at 5 ms per one-token sequence that alone took a tenth of the modelled capacity
//! away, and the orchestrator was blamed for it. The model's bound holds either way: a slot serves
//! its sequences one after another, each for its modelled time, never two at once.
//!
//! A waiting sequence whose request goes away (the client closed the connection) leaves the queue;
//! a slot granted to one that went away at that moment goes to the next in line.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::oneshot;

/// How waiting sequences are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchedulingPolicy {
    /// Arrival order (vLLM's default, `fcfs`).
    #[default]
    Fcfs,
    /// Lowest `priority` first, then arrival order.
    Priority,
}

/// A sequence waiting for a slot: told the instant its slot was granted.
#[derive(Debug)]
struct Waiter {
    grant: oneshot::Sender<Instant>,
    /// When it asked.
    asked: Instant,
}

#[derive(Debug)]
struct Queue {
    /// The instants at which the free slots became free, earliest first.
    free: BinaryHeap<Reverse<Instant>>,
    /// (priority, arrival) of every waiting sequence; the smallest is served next.
    waiting: BinaryHeap<Reverse<(i64, u64)>>,
    wakers: HashMap<u64, Waiter>,
    arrivals: u64,
}

/// The slots of one replica.
#[derive(Debug)]
pub struct Slots {
    capacity: usize,
    policy: SchedulingPolicy,
    queue: Mutex<Queue>,
}

/// A slot held since [`SlotPermit::granted`]; given back when its sequence ends
/// ([`SlotPermit::release_at`]), or at once when it is dropped (its request went away).
#[derive(Debug)]
pub struct SlotPermit {
    slots: Arc<Slots>,
    granted: Instant,
    released: bool,
}

impl SlotPermit {
    /// The instant the slot became this sequence's.
    pub fn granted(&self) -> Instant {
        self.granted
    }

    /// Gives the slot back as of `at`, the end of the sequence's modelled time (the next
    /// sequence's time starts there, however late this call comes).
    pub fn release_at(mut self, at: Instant) {
        self.released = true;
        self.slots.release(at);
    }
}

impl Drop for SlotPermit {
    fn drop(&mut self) {
        if !self.released {
            self.slots.release(Instant::now());
        }
    }
}

/// A sequence in the queue; leaves it on drop (and passes on a slot granted meanwhile).
struct Waiting {
    slots: Arc<Slots>,
    arrival: u64,
    granted: oneshot::Receiver<Instant>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let still_waiting = self.slots.lock().wakers.remove(&self.arrival).is_some();
        if !still_waiting {
            if let Ok(at) = self.granted.try_recv() {
                // Granted just as the request went away: the slot is not used, pass it on.
                self.slots.release(at);
            }
        }
    }
}

impl Slots {
    pub fn new(capacity: usize, policy: SchedulingPolicy) -> Arc<Self> {
        let now = Instant::now();
        Arc::new(Slots {
            capacity,
            policy,
            queue: Mutex::new(Queue {
                free: (0..capacity).map(|_| Reverse(now)).collect(),
                waiting: BinaryHeap::new(),
                wakers: HashMap::new(),
                arrivals: 0,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Sequences holding a slot now.
    pub fn running(&self) -> usize {
        self.capacity - self.lock().free.len()
    }

    /// Waits for a slot for a sequence that asked at `asked` (now, or the modelled instant its
    /// request's prefill ended); `priority` orders the queue under [`SchedulingPolicy::Priority`].
    pub async fn acquire(self: &Arc<Self>, priority: i64, asked: Instant) -> SlotPermit {
        let waiting = {
            let mut queue = self.lock();
            if queue.wakers.is_empty() {
                if let Some(Reverse(free_since)) = queue.free.pop() {
                    return SlotPermit {
                        slots: self.clone(),
                        granted: free_since.max(asked),
                        released: false,
                    };
                }
            }
            let arrival = queue.arrivals;
            queue.arrivals += 1;
            let rank = match self.policy {
                SchedulingPolicy::Fcfs => 0,
                SchedulingPolicy::Priority => priority,
            };
            queue.waiting.push(Reverse((rank, arrival)));
            let (grant, granted) = oneshot::channel();
            queue.wakers.insert(arrival, Waiter { grant, asked });
            Waiting {
                slots: self.clone(),
                arrival,
                granted,
            }
        };
        let mut waiting = waiting;
        let granted = (&mut waiting.granted)
            .await
            .expect("a waiting sequence's sender lives in the queue until it is granted");
        // Dropping the guard now does nothing: its waker is gone and its grant was received.
        SlotPermit {
            slots: waiting.slots.clone(),
            granted,
            released: false,
        }
    }

    /// A slot free as of `at`: to the first waiting sequence still there (granted at `at`, or when
    /// it asked if that was later), else back to the free ones.
    fn release(&self, at: Instant) {
        let mut queue = self.lock();
        while let Some(Reverse((_, arrival))) = queue.waiting.pop() {
            if let Some(waiter) = queue.wakers.remove(&arrival) {
                if waiter.grant.send(at.max(waiter.asked)).is_ok() {
                    return;
                }
            }
        }
        queue.free.push(Reverse(at));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// The order in which four queued sequences get the one slot, by policy.
    async fn order_of_service(policy: SchedulingPolicy) -> Vec<i64> {
        let slots = Slots::new(1, policy);
        let held = slots.acquire(0, Instant::now()).await;
        let served = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for priority in [5, -1, 3, -1] {
            let slots = slots.clone();
            let served = served.clone();
            tasks.push(tokio::spawn(async move {
                let permit = slots.acquire(priority, Instant::now()).await;
                served.lock().unwrap().push(priority);
                tokio::time::sleep(Duration::from_millis(2)).await;
                drop(permit);
            }));
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(held);
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(slots.running(), 0);
        let order = served.lock().unwrap().clone();
        order
    }

    #[tokio::test]
    async fn fcfs_serves_in_arrival_order_and_priority_lowest_first() {
        assert_eq!(
            order_of_service(SchedulingPolicy::Fcfs).await,
            [5, -1, 3, -1]
        );
        assert_eq!(
            order_of_service(SchedulingPolicy::Priority).await,
            [-1, -1, 3, 5]
        );
    }

    #[tokio::test]
    async fn a_sequence_that_leaves_the_queue_gives_up_its_place() {
        let slots = Slots::new(1, SchedulingPolicy::Priority);
        let held = slots.acquire(0, Instant::now()).await;
        let leaving = {
            let slots = slots.clone();
            tokio::spawn(async move { slots.acquire(-5, Instant::now()).await })
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        leaving.abort();
        let _ = leaving.await;
        let next = {
            let slots = slots.clone();
            tokio::spawn(async move { slots.acquire(7, Instant::now()).await })
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        drop(held);
        let permit = tokio::time::timeout(Duration::from_secs(2), next)
            .await
            .expect("the slot reaches the sequence still waiting")
            .unwrap();
        assert_eq!(slots.running(), 1);
        drop(permit);
        assert_eq!(slots.running(), 0);
    }
}
