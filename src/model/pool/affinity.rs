//! Affinity keys: sending related requests (the turns of one conversation, the beams of one
//! sample) to the same replica, so that its prefix cache already holds their shared prompt.
//!
//! Keys are hashed with FNV-1a rather than the standard library's hasher, whose output may change
//! between Rust releases: the same key must land on the same replica in every run, or a resumed
//! run would lose its cache warmth. Endpoints are then chosen by rendezvous (highest-random-weight)
//! hashing: every endpoint gets a pseudo-random weight per key and the heaviest admitted one wins.
//! Unlike `hash % endpoints`, ejecting an endpoint moves only the keys that it won, and its
//! re-admission moves exactly those back.

use crate::random::mix;

/// A stable 64-bit hash of an affinity key (FNV-1a, then mixed so that nearby keys spread).
pub fn affinity_hash(key: &str) -> u64 {
    const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let fnv = key.bytes().fold(FNV_OFFSET_BASIS, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(FNV_PRIME)
    });
    mix(fnv)
}

/// The rendezvous weight of `endpoint` for a key with hash `affinity_hash`: the key goes to the
/// admitted endpoint with the highest weight.
pub fn rendezvous_weight(affinity_hash: u64, endpoint: usize) -> u64 {
    mix(affinity_hash ^ mix(endpoint as u64 + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_stable_across_runs() {
        // Pinned values: a change here silently reshuffles every resumed run's affinities.
        assert_eq!(affinity_hash(""), mix(0xcbf2_9ce4_8422_2325));
        assert_eq!(affinity_hash("sample-1"), affinity_hash("sample-1"));
        assert_ne!(affinity_hash("sample-1"), affinity_hash("sample-2"));
    }

    #[test]
    fn rendezvous_spreads_keys_over_endpoints() {
        let mut wins = [0usize; 4];
        for key in 0..4000 {
            let hash = affinity_hash(&format!("conversation-{key}"));
            let winner = (0..4)
                .max_by_key(|&endpoint| rendezvous_weight(hash, endpoint))
                .unwrap();
            wins[winner] += 1;
        }
        assert!(wins.iter().all(|&w| (800..1200).contains(&w)), "{wins:?}");
    }
}
