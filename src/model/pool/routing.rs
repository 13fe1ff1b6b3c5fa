//! Which endpoint of a pool takes the next request: the pure bookkeeping behind
//! [`EndpointPool`](super::EndpointPool), with no I/O, locks or clocks of its own, so that every
//! rule is tested as arithmetic.
//!
//! Rules:
//!
//! - **Capacity.** An endpoint never has more requests outstanding than its capacity (the
//!   concurrency its server is sized for, e.g. vLLM's `max_num_seqs` share); when all admitted
//!   endpoints are full, [`RoutingTable::choose`] says `None` and the caller waits.
//! - **Affinity.** A request with an affinity key prefers the admitted endpoint that wins the key
//!   by rendezvous hashing (see [`super::affinity`]), as long as that endpoint has a free slot and
//!   is not much busier than the least busy one: at most `capacity / 2` more requests outstanding.
//!   Beyond that, cache warmth is worth less than queueing, and the request is balanced instead.
//! - **Retries go elsewhere.** A retry skips the endpoint its last attempt failed on, affinity
//!   included, whenever another admitted endpoint has a free slot
//!   ([`RoutingTable::choose_for_retry`]): the failing replica may be in a burst of errors (a
//!   restart, an overload), and affinity would otherwise send every attempt of a request back to
//!   it. Envoy's `previous_hosts` retry predicate does the same.
//! - **Balance.** Otherwise the least-outstanding endpoint with a free slot wins, the lowest index
//!   on ties (so a lightly loaded pool keeps using its first replicas, and tests are predictable).
//! - **Ejection.** After `eject_after` consecutive retryable failures an endpoint is ejected for
//!   `base_ejection * 2^k`, capped at `max_ejection`, where `k` counts the ejections since its last
//!   successful call. When the ejection ends it is not admitted at once: the pool first claims it
//!   for a health check ([`RoutingTable::claim_due_probes`]), then re-admits it
//!   ([`RoutingTable::readmit`]) or ejects it again for longer ([`RoutingTable::on_probe_failure`]).
//!   Admission therefore changes only through these calls, and `choose` needs no clock.
//! - **One endpoint always admitted.** A failure streak that would eject the last admitted
//!   endpoint leaves it admitted ([`FailureVerdict::KeptAsLast`]), its streak still counted, so
//!   that it is ejected at its next failure once another endpoint is back. Ejection is for routing
//!   around a bad replica; with none left to route to, it would only stall every request behind a
//!   health check, and a fleet whose replicas all hiccup at once (bursts of 503s under load) would
//!   stop for 5 s, then 10 s. Envoy caps ejections the same way (`max_ejection_percent`, with its
//!   panic threshold routing to every host when too few are healthy). A role whose every endpoint
//!   is dead still fails each request after the retry policy's attempts, all of them made on the
//!   endpoint kept, with the policy's backoff in between.

use std::time::{Duration, Instant};

use super::affinity::rendezvous_weight;

/// When to take a failing endpoint out of rotation, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EjectionPolicy {
    /// Consecutive retryable failures that eject an endpoint (at least 1).
    pub eject_after: u32,
    /// The first ejection's length; each further ejection without a success in between doubles it.
    pub base_ejection: Duration,
    /// No ejection lasts longer than this.
    pub max_ejection: Duration,
}

impl Default for EjectionPolicy {
    /// Three failures in a row eject an endpoint for 5 s, then 10 s, 20 s, ... at most 2 minutes:
    /// long enough for a restarting vLLM replica, short enough to notice its return.
    fn default() -> Self {
        EjectionPolicy {
            eject_after: 3,
            base_ejection: Duration::from_secs(5),
            max_ejection: Duration::from_secs(120),
        }
    }
}

impl EjectionPolicy {
    /// The length of an ejection that follows `previous_ejections` ejections without a success.
    pub fn ejection_length(&self, previous_ejections: u32) -> Duration {
        1u32.checked_shl(previous_ejections)
            .filter(|_| previous_ejections < 32)
            .and_then(|multiplier| self.base_ejection.checked_mul(multiplier))
            .map_or(self.max_ejection, |length| length.min(self.max_ejection))
    }
}

/// What a retryable failure did to its endpoint's admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureVerdict {
    /// Counted in the endpoint's failure streak; the endpoint keeps its admission (or stays
    /// ejected, if it already was).
    Counted,
    /// The streak reached `eject_after`: the endpoint is ejected for this long.
    Ejected(Duration),
    /// The streak reached `eject_after`, but the endpoint is the last one admitted, so it stays.
    KeptAsLast {
        /// Its failures in a row so far.
        consecutive_failures: u32,
    },
}

/// What the routing table knows of one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
struct EndpointRouting {
    outstanding: usize,
    capacity: usize,
    consecutive_failures: u32,
    /// `Some` while ejected: until when, even if that time has passed and a health check is due.
    ejected_until: Option<Instant>,
    /// Ejections since the last successful call: the exponent of the next ejection's length.
    ejections_without_success: u32,
    /// A health check of this ejected endpoint is under way.
    probing: bool,
}

impl EndpointRouting {
    fn is_admitted(&self) -> bool {
        self.ejected_until.is_none()
    }

    fn has_free_slot(&self) -> bool {
        self.outstanding < self.capacity
    }
}

/// The routing state of a pool's endpoints, indexed as the pool's endpoints are.
#[derive(Debug, Clone)]
pub struct RoutingTable {
    endpoints: Vec<EndpointRouting>,
    ejection: EjectionPolicy,
}

impl RoutingTable {
    /// A table of admitted, idle endpoints with these capacities (a capacity of 0 is read as 1).
    pub fn new(capacities: impl IntoIterator<Item = usize>, ejection: EjectionPolicy) -> Self {
        let endpoints = capacities
            .into_iter()
            .map(|capacity| EndpointRouting {
                outstanding: 0,
                capacity: capacity.max(1),
                consecutive_failures: 0,
                ejected_until: None,
                ejections_without_success: 0,
                probing: false,
            })
            .collect();
        RoutingTable {
            endpoints,
            ejection,
        }
    }

    /// The number of endpoints, admitted or not.
    pub fn len(&self) -> usize {
        self.endpoints.len()
    }

    /// Whether the table has no endpoints.
    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }

    /// Requests in flight on endpoint `i`.
    pub fn outstanding(&self, i: usize) -> usize {
        self.endpoints[i].outstanding
    }

    /// The most requests endpoint `i` takes at once.
    pub fn capacity(&self, i: usize) -> usize {
        self.endpoints[i].capacity
    }

    /// Whether endpoint `i` takes requests (it is not ejected).
    pub fn is_admitted(&self, i: usize) -> bool {
        self.endpoints[i].is_admitted()
    }

    /// The admitted endpoint with a free slot and the fewest requests outstanding (the lowest
    /// index on ties), other than `except`, with its outstanding count.
    fn least_busy(&self, except: Option<usize>) -> Option<(usize, usize)> {
        self.endpoints
            .iter()
            .enumerate()
            .filter(|&(i, endpoint)| {
                Some(i) != except && endpoint.is_admitted() && endpoint.has_free_slot()
            })
            .map(|(i, endpoint)| (i, endpoint.outstanding))
            .min_by_key(|&(i, outstanding)| (outstanding, i))
    }

    /// The endpoint for the next request, or `None` when every admitted endpoint is full. See the
    /// module documentation for the rules.
    pub fn choose(&self, affinity_hash: Option<u64>) -> Option<usize> {
        let (least_busy, least_outstanding) = self.least_busy(None)?;
        if let Some(hash) = affinity_hash {
            let preferred = self
                .endpoints
                .iter()
                .enumerate()
                .filter(|(_, endpoint)| endpoint.is_admitted())
                .max_by_key(|&(i, _)| rendezvous_weight(hash, i))
                .map(|(i, _)| i);
            if let Some(preferred) = preferred {
                let endpoint = &self.endpoints[preferred];
                let slack = endpoint.capacity / 2;
                if endpoint.has_free_slot() && endpoint.outstanding <= least_outstanding + slack {
                    return Some(preferred);
                }
            }
        }
        Some(least_busy)
    }

    /// The endpoint for a retry after an attempt failed on `failed_on`: the least busy other
    /// admitted endpoint with a free slot, or, when there is none, what [`choose`](Self::choose)
    /// says (possibly `failed_on` itself: a retry never waits for another endpoint).
    pub fn choose_for_retry(&self, affinity_hash: Option<u64>, failed_on: usize) -> Option<usize> {
        self.least_busy(Some(failed_on))
            .map(|(i, _)| i)
            .or_else(|| self.choose(affinity_hash))
    }

    /// Records a request sent to endpoint `i`, which [`choose`](Self::choose) returned.
    pub fn start(&mut self, i: usize) {
        let endpoint = &mut self.endpoints[i];
        debug_assert!(endpoint.has_free_slot(), "endpoint {i} is over capacity");
        endpoint.outstanding += 1;
    }

    /// Records a request on endpoint `i` that ended without saying anything about the endpoint's
    /// health (a rejected request, a cancelled one).
    pub fn release(&mut self, i: usize) {
        let endpoint = &mut self.endpoints[i];
        endpoint.outstanding = endpoint.outstanding.saturating_sub(1);
    }

    /// Records a successful request on endpoint `i`: its failure streaks end.
    pub fn on_success(&mut self, i: usize) {
        self.release(i);
        let endpoint = &mut self.endpoints[i];
        endpoint.consecutive_failures = 0;
        endpoint.ejections_without_success = 0;
    }

    /// Records a request on endpoint `i` that failed with a retryable error, and says whether it
    /// ejects the endpoint. Failures of requests that were already in flight when the endpoint
    /// was ejected are counted, but do not prolong the ejection.
    pub fn on_failure(&mut self, i: usize, now: Instant) -> FailureVerdict {
        self.release(i);
        let others_admitted = self
            .endpoints
            .iter()
            .enumerate()
            .any(|(j, other)| j != i && other.is_admitted());
        let endpoint = &mut self.endpoints[i];
        endpoint.consecutive_failures = endpoint.consecutive_failures.saturating_add(1);
        let threshold = self.ejection.eject_after.max(1);
        if !endpoint.is_admitted() || endpoint.consecutive_failures < threshold {
            FailureVerdict::Counted
        } else if others_admitted {
            FailureVerdict::Ejected(self.eject(i, now))
        } else {
            FailureVerdict::KeptAsLast {
                consecutive_failures: endpoint.consecutive_failures,
            }
        }
    }

    fn eject(&mut self, i: usize, now: Instant) -> Duration {
        let endpoint = &mut self.endpoints[i];
        let length = self
            .ejection
            .ejection_length(endpoint.ejections_without_success);
        endpoint.ejected_until = Some(now + length);
        endpoint.ejections_without_success = endpoint.ejections_without_success.saturating_add(1);
        endpoint.consecutive_failures = 0;
        endpoint.probing = false;
        length
    }

    /// The ejected endpoints whose ejection has ended by `now` and that no health check is under
    /// way for; they are marked as being checked, so each is returned once per ejection.
    pub fn claim_due_probes(&mut self, now: Instant) -> Vec<usize> {
        let mut due = Vec::new();
        for (i, endpoint) in self.endpoints.iter_mut().enumerate() {
            let ended = endpoint.ejected_until.is_some_and(|until| until <= now);
            if ended && !endpoint.probing {
                endpoint.probing = true;
                due.push(i);
            }
        }
        due
    }

    /// Re-admits endpoint `i` after a successful health check. Its next ejection, should it fail
    /// again before any request succeeds, is still longer than the last.
    pub fn readmit(&mut self, i: usize) {
        let endpoint = &mut self.endpoints[i];
        endpoint.ejected_until = None;
        endpoint.probing = false;
        endpoint.consecutive_failures = 0;
    }

    /// Ejects endpoint `i` again, for longer, after a failed health check. Returns the length.
    pub fn on_probe_failure(&mut self, i: usize, now: Instant) -> Duration {
        self.eject(i, now)
    }
}

#[cfg(test)]
mod tests {
    use super::super::affinity::affinity_hash;
    use super::*;

    fn policy() -> EjectionPolicy {
        EjectionPolicy {
            eject_after: 3,
            base_ejection: Duration::from_secs(5),
            max_ejection: Duration::from_secs(30),
        }
    }

    fn table(capacities: &[usize]) -> RoutingTable {
        RoutingTable::new(capacities.iter().copied(), policy())
    }

    fn eject(table: &mut RoutingTable, i: usize, now: Instant) -> Duration {
        table.start(i);
        table.on_failure(i, now);
        table.start(i);
        table.on_failure(i, now);
        table.start(i);
        match table.on_failure(i, now) {
            FailureVerdict::Ejected(length) => length,
            other => panic!("the third failure ejects, not {other:?}"),
        }
    }

    #[test]
    fn least_outstanding_wins_and_ties_go_to_the_lowest_index() {
        let mut table = table(&[4, 4, 4]);
        assert_eq!(table.choose(None), Some(0));
        table.start(0);
        assert_eq!(table.choose(None), Some(1));
        table.start(1);
        table.start(1);
        assert_eq!(table.choose(None), Some(2));
        table.start(2);
        assert_eq!(table.choose(None), Some(0));
        table.release(1);
        assert_eq!(
            table.choose(None),
            Some(0),
            "0 and 1 tie at one outstanding"
        );
    }

    #[test]
    fn capacity_is_never_exceeded_and_a_full_pool_says_none() {
        let capacities = [1, 2, 3];
        let mut table = table(&capacities);
        let mut sent = 0;
        while let Some(i) = table.choose(Some(affinity_hash(&format!("key-{sent}")))) {
            table.start(i);
            sent += 1;
            for (j, &capacity) in capacities.iter().enumerate() {
                assert!(table.outstanding(j) <= capacity);
            }
        }
        assert_eq!(sent, 6);
        table.on_success(1);
        assert_eq!(table.choose(None), Some(1));
    }

    #[test]
    fn affinity_sticks_to_one_endpoint_under_light_load() {
        let mut table = table(&[4, 4, 4, 4]);
        let hash = affinity_hash("conversation-17");
        let first = table.choose(Some(hash)).unwrap();
        for _ in 0..10 {
            assert_eq!(table.choose(Some(hash)), Some(first));
            table.start(first);
            table.on_success(first);
        }
        // Within the slack (capacity 4 / 2 = 2 more than the least busy), it still sticks.
        table.start(first);
        table.start(first);
        assert_eq!(table.choose(Some(hash)), Some(first));
    }

    #[test]
    fn affinity_gives_way_when_its_endpoint_is_much_busier() {
        let mut table = table(&[4, 4]);
        let hash = affinity_hash("conversation-3");
        let preferred = table.choose(Some(hash)).unwrap();
        let other = 1 - preferred;
        for _ in 0..3 {
            table.start(preferred);
        }
        assert_eq!(table.choose(Some(hash)), Some(other), "3 > 0 + slack 2");
        table.start(preferred);
        table.start(other);
        table.start(other);
        table.start(other);
        assert_eq!(
            table.choose(Some(hash)),
            Some(other),
            "the preferred one is full"
        );
    }

    #[test]
    fn a_retry_goes_to_another_endpoint_whenever_one_has_a_free_slot() {
        let mut table = table(&[2, 2, 2]);
        let hash = affinity_hash("conversation-5");
        let preferred = table.choose(Some(hash)).unwrap();
        let others: Vec<usize> = (0..3).filter(|&i| i != preferred).collect();
        assert_eq!(
            table.choose_for_retry(Some(hash), preferred),
            Some(others[0]),
            "affinity is set aside, the least busy other wins"
        );
        table.start(others[0]);
        assert_eq!(
            table.choose_for_retry(Some(hash), preferred),
            Some(others[1])
        );
        table.start(others[0]);
        table.start(others[1]);
        table.start(others[1]);
        assert_eq!(
            table.choose_for_retry(Some(hash), others[0]),
            Some(preferred),
            "the others are full: whatever choose says"
        );
        table.start(preferred);
        assert_eq!(
            table.choose_for_retry(Some(hash), preferred),
            Some(preferred),
            "only the one that failed has a free slot: the retry does not wait"
        );
        table.start(preferred);
        assert_eq!(table.choose_for_retry(None, preferred), None, "all full");
    }

    #[test]
    fn ejecting_an_endpoint_moves_only_its_own_keys() {
        let now = Instant::now();
        let mut table = table(&[8, 8, 8, 8]);
        let hashes: Vec<u64> = (0..2000)
            .map(|key| affinity_hash(&format!("sample-{key}")))
            .collect();
        let before: Vec<usize> = hashes
            .iter()
            .map(|&h| table.choose(Some(h)).unwrap())
            .collect();
        eject(&mut table, 2, now);
        let after: Vec<usize> = hashes
            .iter()
            .map(|&h| table.choose(Some(h)).unwrap())
            .collect();
        let mut moved = 0;
        for (b, a) in before.iter().zip(&after) {
            if *b == 2 {
                assert_ne!(*a, 2);
                moved += 1;
            } else {
                assert_eq!(a, b);
            }
        }
        assert!(
            moved > 300,
            "endpoint 2 had a fair share of the keys: {moved}"
        );
        table.claim_due_probes(now + Duration::from_secs(5));
        table.readmit(2);
        let readmitted: Vec<usize> = hashes
            .iter()
            .map(|&h| table.choose(Some(h)).unwrap())
            .collect();
        assert_eq!(
            readmitted, before,
            "re-admission moves exactly those keys back"
        );
    }

    #[test]
    fn consecutive_failures_eject_and_a_health_check_readmits() {
        let now = Instant::now();
        let mut table = table(&[2, 2]);
        table.start(0);
        assert_eq!(table.on_failure(0, now), FailureVerdict::Counted);
        table.start(0);
        assert_eq!(table.on_failure(0, now), FailureVerdict::Counted);
        table.start(0);
        assert_eq!(
            table.on_failure(0, now),
            FailureVerdict::Ejected(Duration::from_secs(5))
        );
        assert!(!table.is_admitted(0));
        assert_eq!(table.choose(None), Some(1));
        assert!(table
            .claim_due_probes(now + Duration::from_secs(4))
            .is_empty());
        let due = now + Duration::from_secs(5);
        assert_eq!(table.claim_due_probes(due), vec![0]);
        assert!(table.claim_due_probes(due).is_empty(), "claimed once");
        assert!(!table.is_admitted(0), "not before the health check passes");
        table.readmit(0);
        assert!(table.is_admitted(0));
        assert_eq!(table.choose(None), Some(0));
    }

    #[test]
    fn a_success_resets_the_failure_streak() {
        let now = Instant::now();
        let mut table = table(&[2]);
        for _ in 0..10 {
            table.start(0);
            assert_eq!(table.on_failure(0, now), FailureVerdict::Counted);
            table.start(0);
            assert_eq!(table.on_failure(0, now), FailureVerdict::Counted);
            table.start(0);
            table.on_success(0);
        }
        assert!(table.is_admitted(0));
    }

    #[test]
    fn repeated_ejections_grow_exponentially_up_to_the_cap() {
        let now = Instant::now();
        let mut table = table(&[2, 2]);
        assert_eq!(eject(&mut table, 0, now), Duration::from_secs(5));
        assert_eq!(table.on_probe_failure(0, now), Duration::from_secs(10));
        table.readmit(0);
        assert_eq!(eject(&mut table, 0, now), Duration::from_secs(20));
        assert_eq!(table.on_probe_failure(0, now), Duration::from_secs(30));
        assert_eq!(table.on_probe_failure(0, now), Duration::from_secs(30));
        table.readmit(0);
        table.start(0);
        table.on_success(0);
        assert_eq!(eject(&mut table, 0, now), Duration::from_secs(5));
        assert_eq!(policy().ejection_length(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn failures_in_flight_do_not_prolong_an_ejection() {
        let now = Instant::now();
        let mut table = table(&[4, 4]);
        for _ in 0..4 {
            table.start(0);
        }
        for _ in 0..3 {
            table.on_failure(0, now);
        }
        assert_eq!(
            table.on_failure(0, now + Duration::from_secs(1)),
            FailureVerdict::Counted
        );
        assert!(table
            .claim_due_probes(now + Duration::from_millis(4_999))
            .is_empty());
        assert_eq!(
            table.claim_due_probes(now + Duration::from_secs(5)),
            vec![0]
        );
        assert_eq!(table.outstanding(0), 0);
    }

    #[test]
    fn the_last_admitted_endpoint_is_kept_and_ejected_once_another_is_back() {
        let now = Instant::now();
        let mut table = table(&[2, 2, 2]);
        eject(&mut table, 1, now);
        eject(&mut table, 0, now);
        for failure in 1..=2 {
            table.start(2);
            assert_eq!(
                table.on_failure(2, now),
                FailureVerdict::Counted,
                "{failure}"
            );
        }
        for consecutive_failures in 3..=5 {
            table.start(2);
            assert_eq!(
                table.on_failure(2, now),
                FailureVerdict::KeptAsLast {
                    consecutive_failures
                }
            );
            assert!(table.is_admitted(2));
            assert_eq!(table.choose(Some(affinity_hash("any"))), Some(2));
        }
        let back = now + Duration::from_secs(5);
        assert_eq!(table.claim_due_probes(back), vec![0, 1]);
        table.readmit(1);
        table.start(2);
        assert_eq!(
            table.on_failure(2, back),
            FailureVerdict::Ejected(Duration::from_secs(5)),
            "its streak was kept, so its next failure ejects it"
        );
        assert_eq!(table.choose(None), Some(1));
        table.start(1);
        assert!(
            matches!(table.on_failure(1, back), FailureVerdict::Counted),
            "one failure of three"
        );
    }

    #[test]
    fn a_single_endpoint_is_never_ejected_and_a_success_ends_its_streak() {
        let now = Instant::now();
        let mut table = table(&[1]);
        for _ in 0..2 {
            table.start(0);
            table.on_failure(0, now);
        }
        table.start(0);
        assert_eq!(
            table.on_failure(0, now),
            FailureVerdict::KeptAsLast {
                consecutive_failures: 3
            }
        );
        table.start(0);
        table.on_success(0);
        table.start(0);
        assert_eq!(table.on_failure(0, now), FailureVerdict::Counted);
        assert!(table.is_admitted(0));
    }
}
