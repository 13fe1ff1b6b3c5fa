//! One seeded generator for everything grsu draws: SplitMix64 (Steele, Lea and Flood 2014), and
//! the helpers built on it.
//!
//! Why one generator, written out here rather than taken from `rand`: every draw grsu makes must be
//! reproducible across runs and across builds. The response cache and resume-after-crash rely on a
//! request producing the same answer (the embedded model's sampling), stored search trees on the
//! same random beam (the "majority voting" ablation), synthesis on the same examples from the same
//! seed, reports on the same bootstrap intervals. A library generator such as `rand`'s `StdRng` may
//! change its algorithm between releases; SplitMix64 is fully specified and tiny, so its stream can
//! never change under us. Callers seed it from values that do not depend on timing (a run seed, a
//! request path, a hash of a sample id).
//!
//! Not for cryptography: the stream is predictable from any output, by design.
//!
//! The callers differ in how they turn 64 bits into a bounded number, and their stored outcomes
//! depend on it, so each way is kept as its own named method instead of being made one:
//! [`SplitMix64::below_multiply_shift`] (search: picking beam members, the test executor's order),
//! [`SplitMix64::below_modulo`] (bootstrap resampling) and [`SplitMix64::below_unbiased`]
//! (synthesis: rejection sampling, no bias at all).

use std::collections::BTreeSet;

/// SplitMix64's increment, the odd integer closest to 2^64 / φ.
pub const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's finaliser (its mixing step, without the increment): a bijection on `u64` whose
/// output bits each depend on every input bit.
pub fn finalise(value: u64) -> u64 {
    let mut z = value;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A well-mixed hash of a `u64`: the first output of [`SplitMix64`] seeded with `value`.
pub fn mix(value: u64) -> u64 {
    finalise(value.wrapping_add(GOLDEN_GAMMA))
}

/// A uniform number in [0, 1) from the top 53 bits of `bits` (every such double equally likely).
pub fn unit_from_bits(bits: u64) -> f64 {
    // 2^-53 is a power of two, so this equals `(bits >> 11) as f64 / 2^53` bit for bit.
    (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// The SplitMix64 generator: a 64-bit state advanced by [`GOLDEN_GAMMA`] and [`finalise`]d.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        finalise(self.state)
    }

    /// A uniform draw from [0, 1) with 53 bits of precision ([`unit_from_bits`]).
    pub fn next_unit(&mut self) -> f64 {
        unit_from_bits(self.next_u64())
    }

    /// A number in `0..bound` by multiply-shift: one draw, a bias below 2^-50 for bounds under
    /// 2^14 (beam widths, outstanding commands). `bound` 0 gives 0.
    pub fn below_multiply_shift(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// A number in `0..bound` (`bound` > 0) as the next draw modulo `bound`: one draw, a bias of
    /// about `bound` / 2^64.
    pub fn below_modulo(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }

    /// A uniform number in `0..bound` (`bound` > 0), without bias: 128-bit draws (two outputs,
    /// high then low), rejecting the top partial block of 2^128 so every residue is equally likely.
    pub fn below_unbiased(&mut self, bound: u128) -> u128 {
        assert!(bound > 0, "an empty range");
        let wide = |rng: &mut Self| (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
        let zone = u128::MAX - (u128::MAX % bound + 1) % bound;
        loop {
            let value = wide(self);
            if value <= zone {
                return value % bound;
            }
        }
    }

    /// A uniform index in `0..bound` (`bound` > 0), by [`SplitMix64::below_unbiased`].
    pub fn index_unbiased(&mut self, bound: usize) -> usize {
        self.below_unbiased(bound as u128) as usize
    }

    /// `count` distinct numbers of `0..bound` (all of them when `count >= bound`), ascending.
    /// Floyd's algorithm: `count` draws ([`SplitMix64::below_unbiased`]) whatever `bound` is.
    pub fn distinct_below(&mut self, bound: u128, count: usize) -> Vec<u128> {
        if count as u128 >= bound {
            return (0..bound).collect();
        }
        let mut chosen = BTreeSet::new();
        for upper in (bound - count as u128)..bound {
            let pick = self.below_unbiased(upper + 1);
            if !chosen.insert(pick) {
                chosen.insert(upper);
            }
        }
        chosen.into_iter().collect()
    }

    /// Shuffles in place (Fisher–Yates from the end, [`SplitMix64::index_unbiased`]).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for last in (1..items.len()).rev() {
            let other = self.index_unbiased(last + 1);
            items.swap(last, other);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_the_reference_stream() {
        // First outputs of the reference implementation seeded with 1234567.
        let mut rng = SplitMix64::new(1234567);
        assert_eq!(rng.next_u64(), 6457827717110365317);
        assert_eq!(rng.next_u64(), 3203168211198807973);
    }

    #[test]
    fn mix_is_the_first_output_and_units_stay_below_one() {
        assert_eq!(mix(1234567), SplitMix64::new(1234567).next_u64());
        assert_eq!(unit_from_bits(0), 0.0);
        assert!(unit_from_bits(u64::MAX) < 1.0);
        assert_eq!(
            unit_from_bits(u64::MAX),
            (u64::MAX >> 11) as f64 / (1u64 << 53) as f64
        );
    }

    #[test]
    fn bounded_draws_stay_in_range() {
        let mut rng = SplitMix64::new(7);
        for bound in [1u64, 2, 3, 10, 1000] {
            for _ in 0..100 {
                assert!(rng.below_multiply_shift(bound) < bound);
                assert!(rng.below_modulo(bound) < bound);
                assert!(rng.below_unbiased(u128::from(bound)) < u128::from(bound));
            }
        }
        let mut items: Vec<u32> = (0..20).collect();
        rng.shuffle(&mut items);
        let mut sorted = items.clone();
        sorted.sort();
        assert_eq!(sorted, (0..20).collect::<Vec<_>>());
    }
}
