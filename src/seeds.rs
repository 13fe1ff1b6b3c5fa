//! Per-request seeds: every stochastic request carries a seed derived from the run seed, the
//! sample, the request's place in the search and the attempt. A request is then a deterministic
//! value: the response cache can replay it after a crash, and two runs of one config agree.

use sha2::{Digest, Sha256};

/// The seed of one request. Kept below 2^31: some servers read seeds as 32-bit signed integers.
pub fn request_seed(run_seed: u64, sample: &str, request_path: &str, attempt: u32) -> u64 {
    let mut hasher = Sha256::new();
    hasher.update(run_seed.to_le_bytes());
    hasher.update(sample.as_bytes());
    hasher.update([0]);
    hasher.update(request_path.as_bytes());
    hasher.update(attempt.to_le_bytes());
    let digest = hasher.finalize();
    u64::from_le_bytes(digest[..8].try_into().expect("8 bytes")) & 0x7fff_ffff
}

#[cfg(test)]
mod tests {
    use super::request_seed;

    #[test]
    fn seeds_are_stable_and_differ_by_every_input() {
        let base = request_seed(0, "20001:3", "recommend/root/0", 0);
        assert_eq!(base, request_seed(0, "20001:3", "recommend/root/0", 0));
        assert!(base < 1 << 31);
        assert_ne!(base, request_seed(1, "20001:3", "recommend/root/0", 0));
        assert_ne!(base, request_seed(0, "20001:5", "recommend/root/0", 0));
        assert_ne!(base, request_seed(0, "20001:3", "recommend/root/1", 0));
        assert_ne!(base, request_seed(0, "20001:3", "recommend/root/0", 1));
    }
}
