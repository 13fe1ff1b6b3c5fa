//! Seeded randomness of synthesis: which label subsets a capped history keeps, which negatives pad
//! a list, where label items sit in it.
//!
//! Each random choice draws from its own stream, seeded by SHA-256 of (synthesis seed, sample id,
//! a path naming the choice, e.g. `critique/list/3`), so a choice never depends on how many draws
//! another one made, nor on the order in which concurrent work finishes. The generator is
//! grsu's SplitMix64 ([`crate::random`]) rather than `rand`'s `StdRng`, which may change its
//! algorithm between releases: the same seed must give the same examples in every version. Its
//! bounded draws here are the unbiased ones ([`SplitMix64::below_unbiased`]).

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};

use crate::catalog::ItemIndex;
use crate::random::SplitMix64;

/// The stream of one random choice: `path` names it within the sample. A [`SplitMix64`] seeded
/// with the first 8 bytes (little-endian) of SHA-256("grsu-synth\0", seed, sample, "\0", path).
pub fn choice_rng(seed: u64, sample: &str, path: &str) -> SplitMix64 {
    let mut hasher = Sha256::new();
    hasher.update(b"grsu-synth\0");
    hasher.update(seed.to_le_bytes());
    hasher.update(sample.as_bytes());
    hasher.update([0]);
    hasher.update(path.as_bytes());
    let digest = hasher.finalize();
    SplitMix64::new(u64::from_le_bytes(digest[..8].try_into().expect("8 bytes")))
}

/// Up to `count` distinct catalog items drawn uniformly from `0..catalog_len` minus `excluded`
/// (fewer only when the catalog has no more). Rejection sampling: the excluded items (labels, the
/// list so far) are a handful among thousands.
pub fn sample_negatives(
    rng: &mut SplitMix64,
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
            chosen.push(rest.swap_remove(rng.index_unbiased(rest.len())));
        }
        return chosen;
    }
    while chosen.len() < wanted {
        let candidate = rng.index_unbiased(catalog_len);
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
        let mut a = choice_rng(0, "s:1", "critique/list/0");
        let first: Vec<u64> = (0..3).map(|_| a.next_u64()).collect();
        let mut again = choice_rng(0, "s:1", "critique/list/0");
        assert_eq!(first, (0..3).map(|_| again.next_u64()).collect::<Vec<_>>());
        for (seed, sample, path) in [
            (1, "s:1", "critique/list/0"),
            (0, "s:2", "critique/list/0"),
            (0, "s:1", "critique/list/1"),
        ] {
            assert_ne!(first[0], choice_rng(seed, sample, path).next_u64());
        }
    }

    #[test]
    fn below_and_distinct_stay_in_range() {
        let mut rng = choice_rng(7, "x", "y");
        let mut seen = [0u32; 5];
        for _ in 0..5000 {
            seen[rng.below_unbiased(5) as usize] += 1;
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
            let mut rng = choice_rng(0, "s", &format!("n/{count}"));
            let negatives = sample_negatives(&mut rng, 10, &excluded, count);
            assert_eq!(negatives.len(), count.min(7));
            let distinct: BTreeSet<_> = negatives.iter().collect();
            assert_eq!(distinct.len(), negatives.len());
            assert!(negatives.iter().all(|n| *n < 10 && !excluded.contains(n)));
        }
    }
}
