//! Seeded randomness of synthesis: which label subsets a capped history keeps, which negatives pad
//! a list, where label items sit in it.
//!
//! Each random choice draws from its own stream, seeded by SHA-256 of (synthesis seed, sample id,
//! a path naming the choice, e.g. `critique/list/3`), so a choice never depends on how many draws
//! another one made, nor on the order in which concurrent work finishes. The generator is
//! SplitMix64, written out here rather than taken from `rand`, whose `StdRng` may change its
//! algorithm between releases: the same seed must give the same examples in every version.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};

use crate::catalog::ItemIndex;

/// A deterministic stream of pseudo-random numbers (SplitMix64).
#[derive(Debug, Clone)]
pub struct SeededRng {
    state: u64,
}

impl SeededRng {
    /// The stream of one random choice: `path` names it within the sample.
    pub fn for_choice(seed: u64, sample: &str, path: &str) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"grsu-synth\0");
        hasher.update(seed.to_le_bytes());
        hasher.update(sample.as_bytes());
        hasher.update([0]);
        hasher.update(path.as_bytes());
        let digest = hasher.finalize();
        SeededRng {
            state: u64::from_le_bytes(digest[..8].try_into().expect("8 bytes")),
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform number in `0..bound` (`bound` > 0), without modulo bias.
    pub fn below(&mut self, bound: u128) -> u128 {
        assert!(bound > 0, "an empty range");
        let wide = |rng: &mut Self| ((rng.next_u64() as u128) << 64) | rng.next_u64() as u128;
        // Reject the top partial block of 2^128 so every residue is equally likely.
        let zone = u128::MAX - (u128::MAX % bound + 1) % bound;
        loop {
            let value = wide(self);
            if value <= zone {
                return value % bound;
            }
        }
    }

    /// A uniform index in `0..bound` (`bound` > 0).
    pub fn index(&mut self, bound: usize) -> usize {
        self.below(bound as u128) as usize
    }

    /// `count` distinct numbers of `0..bound` (all of them when `count >= bound`), ascending.
    /// Floyd's algorithm: `count` draws whatever `bound` is.
    pub fn distinct_below(&mut self, bound: u128, count: usize) -> Vec<u128> {
        if count as u128 >= bound {
            return (0..bound).collect();
        }
        let mut chosen = BTreeSet::new();
        for upper in (bound - count as u128)..bound {
            let pick = self.below(upper + 1);
            if !chosen.insert(pick) {
                chosen.insert(upper);
            }
        }
        chosen.into_iter().collect()
    }

    /// Shuffles in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for last in (1..items.len()).rev() {
            let other = self.index(last + 1);
            items.swap(last, other);
        }
    }
}

/// Up to `count` distinct catalog items drawn uniformly from `0..catalog_len` minus `excluded`
/// (fewer only when the catalog has no more). Rejection sampling: the excluded items (labels, the
/// list so far) are a handful among thousands.
pub fn sample_negatives(
    rng: &mut SeededRng,
    catalog_len: usize,
    excluded: &BTreeSet<ItemIndex>,
    count: usize,
) -> Vec<ItemIndex> {
    let available = catalog_len - excluded.iter().filter(|&&i| i < catalog_len).count();
    let wanted = count.min(available);
    let mut taken: BTreeSet<ItemIndex> = BTreeSet::new();
    let mut chosen = Vec::with_capacity(wanted);
    if wanted * 2 > available {
        // Most of what is left is wanted: draw from the explicit remainder instead.
        let mut rest: Vec<ItemIndex> = (0..catalog_len)
            .filter(|index| !excluded.contains(index))
            .collect();
        for _ in 0..wanted {
            chosen.push(rest.swap_remove(rng.index(rest.len())));
        }
        return chosen;
    }
    while chosen.len() < wanted {
        let candidate = rng.index(catalog_len);
        if !excluded.contains(&candidate) && taken.insert(candidate) {
            chosen.push(candidate);
        }
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_stable_and_differ_by_seed_sample_and_path() {
        let mut a = SeededRng::for_choice(0, "s:1", "critique/list/0");
        let first: Vec<u64> = (0..3).map(|_| a.next_u64()).collect();
        let mut again = SeededRng::for_choice(0, "s:1", "critique/list/0");
        assert_eq!(first, (0..3).map(|_| again.next_u64()).collect::<Vec<_>>());
        for (seed, sample, path) in [
            (1, "s:1", "critique/list/0"),
            (0, "s:2", "critique/list/0"),
            (0, "s:1", "critique/list/1"),
        ] {
            assert_ne!(
                first[0],
                SeededRng::for_choice(seed, sample, path).next_u64()
            );
        }
    }

    #[test]
    fn below_and_distinct_stay_in_range() {
        let mut rng = SeededRng::for_choice(7, "x", "y");
        let mut seen = [0u32; 5];
        for _ in 0..5000 {
            seen[rng.below(5) as usize] += 1;
        }
        assert!(
            seen.iter().all(|&count| (850..1150).contains(&count)),
            "{seen:?}"
        );
        let picks = rng.distinct_below(1000, 10);
        assert_eq!(picks.len(), 10);
        assert!(picks.windows(2).all(|pair| pair[0] < pair[1]) && picks[9] < 1000);
        assert_eq!(rng.distinct_below(4, 10), vec![0, 1, 2, 3]);
        let huge = rng.distinct_below(u128::MAX / 3, 3);
        assert_eq!(huge.len(), 3);
    }

    #[test]
    fn negatives_avoid_the_excluded_items_and_repeat_nothing() {
        let excluded: BTreeSet<ItemIndex> = [1, 3, 5].into_iter().collect();
        for count in [0, 2, 5, 7, 100] {
            let mut rng = SeededRng::for_choice(0, "s", &format!("n/{count}"));
            let negatives = sample_negatives(&mut rng, 10, &excluded, count);
            assert_eq!(negatives.len(), count.min(7));
            let distinct: BTreeSet<_> = negatives.iter().collect();
            assert_eq!(distinct.len(), negatives.len());
            assert!(negatives.iter().all(|n| *n < 10 && !excluded.contains(n)));
        }
    }
}
