//! The sequence slots of one replica and the queue in front of them: first come, first served,
//! or, as vLLM's `--scheduling-policy priority`, the lowest request `priority` first (ties in
//! arrival order).
//!
//! A waiting sequence whose request goes away (the client closed the connection) leaves the queue;
//! a slot granted to one that went away at that moment goes to the next in line.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Mutex};

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

#[derive(Debug)]
struct Queue {
    free: usize,
    /// (priority, arrival) of every waiting sequence; the smallest is served next.
    waiting: BinaryHeap<Reverse<(i64, u64)>>,
    wakers: HashMap<u64, oneshot::Sender<()>>,
    arrivals: u64,
}

/// The slots of one replica.
#[derive(Debug)]
pub struct Slots {
    capacity: usize,
    policy: SchedulingPolicy,
    queue: Mutex<Queue>,
}

/// A slot held; given back on drop.
#[derive(Debug)]
pub struct SlotPermit {
    slots: Arc<Slots>,
}

impl Drop for SlotPermit {
    fn drop(&mut self) {
        self.slots.release();
    }
}

/// A sequence in the queue; leaves it on drop (and passes on a slot granted meanwhile).
struct Waiting {
    slots: Arc<Slots>,
    arrival: u64,
    granted: oneshot::Receiver<()>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let still_waiting = self.slots.lock().wakers.remove(&self.arrival).is_some();
        if !still_waiting && self.granted.try_recv().is_ok() {
            // Granted just as the request went away: the slot is not used, pass it on.
            self.slots.release();
        }
    }
}

impl Slots {
    pub fn new(capacity: usize, policy: SchedulingPolicy) -> Arc<Self> {
        Arc::new(Slots {
            capacity,
            policy,
            queue: Mutex::new(Queue {
                free: capacity,
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
        self.capacity - self.lock().free
    }

    /// Waits for a slot; `priority` orders the queue under [`SchedulingPolicy::Priority`].
    pub async fn acquire(self: &Arc<Self>, priority: i64) -> SlotPermit {
        let waiting = {
            let mut queue = self.lock();
            if queue.free > 0 && queue.wakers.is_empty() {
                queue.free -= 1;
                return SlotPermit {
                    slots: self.clone(),
                };
            }
            let arrival = queue.arrivals;
            queue.arrivals += 1;
            let rank = match self.policy {
                SchedulingPolicy::Fcfs => 0,
                SchedulingPolicy::Priority => priority,
            };
            queue.waiting.push(Reverse((rank, arrival)));
            let (sender, granted) = oneshot::channel();
            queue.wakers.insert(arrival, sender);
            Waiting {
                slots: self.clone(),
                arrival,
                granted,
            }
        };
        let mut waiting = waiting;
        (&mut waiting.granted)
            .await
            .expect("a waiting sequence's sender lives in the queue until it is granted");
        // Dropping the guard now does nothing: its waker is gone and its grant was received.
        SlotPermit {
            slots: waiting.slots.clone(),
        }
    }

    /// A slot given back: to the first waiting sequence still there, else to the free count.
    fn release(&self) {
        let mut queue = self.lock();
        while let Some(Reverse((_, arrival))) = queue.waiting.pop() {
            if let Some(waker) = queue.wakers.remove(&arrival) {
                if waker.send(()).is_ok() {
                    return;
                }
            }
        }
        queue.free += 1;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// The order in which four queued sequences get the one slot, by policy.
    async fn order_of_service(policy: SchedulingPolicy) -> Vec<i64> {
        let slots = Slots::new(1, policy);
        let held = slots.acquire(0).await;
        let served = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for priority in [5, -1, 3, -1] {
            let slots = slots.clone();
            let served = served.clone();
            tasks.push(tokio::spawn(async move {
                let permit = slots.acquire(priority).await;
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
        let held = slots.acquire(0).await;
        let leaving = {
            let slots = slots.clone();
            tokio::spawn(async move { slots.acquire(-5).await })
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        leaving.abort();
        let _ = leaving.await;
        let next = {
            let slots = slots.clone();
            tokio::spawn(async move { slots.acquire(7).await })
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
