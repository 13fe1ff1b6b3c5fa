//! Seeded randomness: grsu's SplitMix64 generator ([`grsu::random`]) and stable hashes.
//!
//! Everything the simulator draws comes from here, keyed by values that do not depend on timing
//! (the fleet seed, the request's seed and prompt, a replica's request ordinal), so that a run is
//! reproducible. The generator is grsu's own rather than `rand`'s so that answers stay the same
//! across `rand` releases; the draws built on it (a float-scaled index, Box–Muller) are the
//! simulator's.

use grsu::random::{finalise, SplitMix64};

/// FNV-1a over bytes: a stable 64-bit hash (not for adversarial input).
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// [`hash_bytes`] of a string.
pub fn hash_str(text: &str) -> u64 {
    hash_bytes(text.as_bytes())
}

/// Combines two 64-bit values into a well-mixed one (order matters).
pub fn mix(a: u64, b: u64) -> u64 {
    finalise(a ^ grsu::random::mix(b))
}

/// A uniform number in [0, 1) from a hash.
pub fn unit(hash: u64) -> f64 {
    grsu::random::unit_from_bits(hash)
}

/// A seeded stream of draws for simulation, over grsu's SplitMix64.
#[derive(Debug, Clone)]
pub struct Rng {
    splitmix: SplitMix64,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng {
            splitmix: SplitMix64::new(seed),
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.splitmix.next_u64()
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        unit(self.next_u64())
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize % n.max(1)
    }

    /// A standard normal draw (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(f64::MIN_POSITIVE);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_is_reproducible_and_roughly_uniform() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let draws: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        assert_eq!(draws, (0..5).map(|_| b.next_u64()).collect::<Vec<_>>());
        let mut rng = Rng::new(1);
        let mean = (0..10_000).map(|_| rng.unit()).sum::<f64>() / 10_000.0;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
        let normal: Vec<f64> = (0..10_000).map(|_| rng.normal()).collect();
        let mean = normal.iter().sum::<f64>() / normal.len() as f64;
        let variance = normal.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / normal.len() as f64;
        assert!(mean.abs() < 0.05 && (variance - 1.0).abs() < 0.1);
        assert!((0..1000).all(|_| rng.below(3) < 3));
    }

    #[test]
    fn mixing_depends_on_order_and_both_inputs() {
        assert_ne!(mix(1, 2), mix(2, 1));
        assert_ne!(mix(1, 2), mix(1, 3));
        assert_eq!(hash_str("abc"), hash_bytes(b"abc"));
    }
}
