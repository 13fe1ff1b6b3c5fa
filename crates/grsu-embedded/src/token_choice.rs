//! Choosing the next token from the logits, and reporting log-probabilities.
//!
//! Sampling draws from grsu's own seeded generator ([`SplitMix64`], in [`grsu::random`]) instead
//! of a library one: the response cache and resume-after-crash rely on a request always producing
//! the same answer, and a generator we own cannot change its stream under us when a dependency is
//! upgraded.
//!
//! Log-probabilities come from the raw logits (a log-softmax without the temperature), which is
//! what vLLM reports by default: a token's logprob then means the same thing whatever temperature
//! the caller sampled with.

use grsu::random::{SplitMix64, GOLDEN_GAMMA};

/// How the next token is picked.
#[derive(Debug, Clone)]
pub enum TokenChooser {
    /// The most likely token; ties go to the lowest token id.
    Greedy,
    /// A draw from softmax(logits / temperature).
    Sample { temperature: f64, rng: SplitMix64 },
}

impl TokenChooser {
    /// The chooser for a request's temperature and seed, for choice number `choice_index`: greedy
    /// at temperature 0 (or below), otherwise sampling seeded by both, so choices of one request
    /// differ from each other and every choice is reproducible.
    pub fn new(temperature: f32, seed: u64, choice_index: u32) -> Self {
        if temperature <= 0.0 || !temperature.is_finite() {
            return TokenChooser::Greedy;
        }
        let mut seeder = SplitMix64::new(seed);
        let stream = seeder.next_u64() ^ u64::from(choice_index).wrapping_mul(GOLDEN_GAMMA);
        TokenChooser::Sample {
            temperature: f64::from(temperature),
            rng: SplitMix64::new(stream),
        }
    }

    /// Picks a token id from `logits`, which must not be empty.
    pub fn choose(&mut self, logits: &[f32]) -> u32 {
        match self {
            TokenChooser::Greedy => argmax(logits),
            TokenChooser::Sample { temperature, rng } => {
                sample(logits, *temperature, rng.next_unit())
            }
        }
    }
}

/// Index of the largest logit; the lowest index among equals. NaNs never win.
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (index, &logit) in logits.iter().enumerate() {
        if logit > logits[best] || logits[best].is_nan() && !logit.is_nan() {
            best = index;
        }
    }
    best as u32
}

/// Inverse-CDF draw from softmax(logits / temperature) with `unit` in [0, 1).
fn sample(logits: &[f32], temperature: f64, unit: f64) -> u32 {
    let max = f64::from(logits[argmax(logits) as usize]);
    let weights: Vec<f64> = logits
        .iter()
        .map(|&logit| {
            let weight = ((f64::from(logit) - max) / temperature).exp();
            if weight.is_finite() {
                weight
            } else {
                0.0
            }
        })
        .collect();
    let total: f64 = weights.iter().sum();
    let target = unit * total;
    let mut cumulative = 0.0;
    let mut last_possible = 0;
    for (index, &weight) in weights.iter().enumerate() {
        if weight > 0.0 {
            cumulative += weight;
            last_possible = index;
            if target < cumulative {
                return index as u32;
            }
        }
    }
    // Rounding left the target at the very top: the last token with any weight.
    last_possible as u32
}

/// log_softmax(logits), in f64 so that probabilities near 1 keep their precision.
pub fn log_softmax(logits: &[f32]) -> Vec<f64> {
    let max = logits
        .iter()
        .copied()
        .filter(|logit| !logit.is_nan())
        .fold(f32::NEG_INFINITY, f32::max) as f64;
    let log_total = logits
        .iter()
        .map(|&logit| (f64::from(logit) - max).exp())
        .sum::<f64>()
        .ln()
        + max;
    logits
        .iter()
        .map(|&logit| f64::from(logit) - log_total)
        .collect()
}

/// The `count` most likely token ids with their logprobs, most likely first (ties: lowest id).
pub fn top_tokens(logprobs: &[f64], count: usize) -> Vec<(u32, f64)> {
    let mut ranked: Vec<(u32, f64)> = logprobs
        .iter()
        .enumerate()
        .map(|(id, &logprob)| (id as u32, logprob))
        .collect();
    let by_rank = |a: &(u32, f64), b: &(u32, f64)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    let count = count.min(ranked.len());
    if count == 0 {
        return Vec::new();
    }
    ranked.select_nth_unstable_by(count - 1, by_rank);
    ranked.truncate(count);
    ranked.sort_by(by_rank);
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_ties_go_to_the_lowest_id() {
        assert_eq!(argmax(&[0.5, 2.0, 2.0, 1.0]), 1);
        assert_eq!(argmax(&[f32::NAN, -1.0]), 1);
    }

    #[test]
    fn sampling_follows_the_distribution_and_temperature() {
        let logits = [0.0f32, (3.0f32).ln()]; // probabilities 1/4 and 3/4
        assert_eq!(sample(&logits, 1.0, 0.2), 0);
        assert_eq!(sample(&logits, 1.0, 0.3), 1);
        assert_eq!(sample(&logits, 1.0, 0.999_999), 1);
        // A very low temperature is nearly greedy.
        assert_eq!(sample(&logits, 0.01, 0.2), 1);
        let mut chooser = TokenChooser::new(1.0, 7, 0);
        let draws: Vec<u32> = (0..400).map(|_| chooser.choose(&logits)).collect();
        let ones = draws.iter().filter(|&&id| id == 1).count();
        assert!((250..350).contains(&ones), "{ones} of 400");
    }

    #[test]
    fn choices_and_seeds_get_different_streams() {
        let unit = |seed, choice| match TokenChooser::new(1.0, seed, choice) {
            TokenChooser::Sample { mut rng, .. } => rng.next_u64(),
            TokenChooser::Greedy => unreachable!(),
        };
        assert_eq!(unit(3, 1), unit(3, 1));
        assert_ne!(unit(3, 0), unit(3, 1));
        assert_ne!(unit(3, 0), unit(4, 0));
        assert!(matches!(TokenChooser::new(0.0, 3, 1), TokenChooser::Greedy));
    }

    #[test]
    fn log_softmax_normalises_and_top_tokens_rank() {
        let logprobs = log_softmax(&[1.0, 3.0, 3.0, -2.0]);
        let total: f64 = logprobs.iter().map(|lp| lp.exp()).sum();
        assert!((total - 1.0).abs() < 1e-12);
        assert!(logprobs.iter().all(|&lp| lp <= 0.0));
        let top = top_tokens(&logprobs, 3);
        assert_eq!(top.iter().map(|t| t.0).collect::<Vec<_>>(), vec![1, 2, 0]);
        assert!(top_tokens(&logprobs, 0).is_empty());
        assert_eq!(top_tokens(&logprobs, 10).len(), 4);
    }
}
