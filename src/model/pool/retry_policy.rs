//! When to retry a failed model call, and how long to wait first.
//!
//! Model servers fail in bursts: a replica restarts, a GPU runs out of memory, a proxy times out
//! under load. Retrying at once only adds to the load that caused the failure, so the wait grows
//! exponentially with each attempt, up to a cap. Many requests fail together in such a burst, and
//! if they all waited exactly as long they would all come back together; the jitter spreads them.
//!
//! The arithmetic is a pure function of the attempt number and a random number in `[0, 1]`, so it
//! is tested with property tests and the caller decides where randomness comes from.

use std::time::Duration;

use crate::model::ModelError;

/// How often to try a model call and how long to wait between tries.
///
/// The delay before the retry that follows failed attempt `a` (attempts count from 1) is
/// `min(max_delay, base_delay * 2^(a-1))`, scaled by a factor drawn uniformly from
/// `[1 - jitter, 1 + jitter]`, and clamped to `max_delay` again. This is a *symmetric* jitter
/// around the exponential delay: the average wait stays the exponential one (unlike "full" jitter,
/// which halves it and sometimes retries at once), while `jitter = 0.5` still spreads a burst of
/// failures over a window as wide as the delay itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Calls made for one request at most, the first included (at least 1).
    pub max_attempts: u32,
    /// The wait after the first failed attempt, before jitter.
    pub base_delay: Duration,
    /// No wait is longer than this, jitter included.
    pub max_delay: Duration,
    /// Half the width of the jitter band, relative to the delay: 0 is no jitter, 1 is the widest
    /// (from no wait to twice the delay). Values outside `[0, 1]` are clamped.
    pub jitter: f64,
}

impl Default for RetryPolicy {
    /// Six attempts, waiting about 0.25, 0.5, 1, 2 and 4 s between them (±50 %), never over 10 s:
    /// enough to ride out a replica restart behind a load balancer without hanging a search.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
            jitter: 0.5,
        }
    }
}

impl RetryPolicy {
    /// The wait before retrying after failed attempt `attempt` (counted from 1; 0 is read as 1),
    /// given `unit_random` drawn uniformly from `[0, 1]` (clamped there; NaN is read as 0.5).
    ///
    /// Never longer than `max_delay`, whatever the attempt number.
    pub fn delay(&self, attempt: u32, unit_random: f64) -> Duration {
        let exponential = self.exponential_delay(attempt);
        let jitter = if self.jitter.is_nan() {
            0.0
        } else {
            self.jitter.clamp(0.0, 1.0)
        };
        let unit_random = if unit_random.is_nan() {
            0.5
        } else {
            unit_random.clamp(0.0, 1.0)
        };
        let factor = 1.0 - jitter + 2.0 * jitter * unit_random;
        Duration::try_from_secs_f64(exponential.as_secs_f64() * factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// `min(max_delay, base_delay * 2^(attempt-1))`, without overflowing for large attempts.
    fn exponential_delay(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1);
        let multiplier = 1u32.checked_shl(doublings).filter(|_| doublings < 32);
        multiplier
            .and_then(|multiplier| self.base_delay.checked_mul(multiplier))
            .map_or(self.max_delay, |delay| delay.min(self.max_delay))
    }

    /// Whether to try again after `error` ended attempt `attempt` (counted from 1): only for
    /// errors that a retry can cure, and only while fewer than `max_attempts` calls were made.
    pub fn should_retry(&self, error: &ModelError, attempt: u32) -> bool {
        error.is_retryable() && attempt < self.max_attempts
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn server_error() -> ModelError {
        ModelError::Server {
            endpoint: "http://a".into(),
            status: 503,
            message: "overloaded".into(),
        }
    }

    fn rejected(status: u16) -> ModelError {
        ModelError::Rejected {
            endpoint: "http://a".into(),
            status,
            message: "bad request".into(),
        }
    }

    fn policy(base_ms: u64, max_ms: u64, jitter: f64) -> RetryPolicy {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(base_ms),
            max_delay: Duration::from_millis(max_ms),
            jitter,
        }
    }

    #[test]
    fn default_delays_double_from_the_base_without_jitter_at_the_midpoint() {
        let policy = RetryPolicy::default();
        let delays: Vec<u128> = (1..=7).map(|a| policy.delay(a, 0.5).as_millis()).collect();
        assert_eq!(delays, vec![250, 500, 1000, 2000, 4000, 8000, 10000]);
    }

    #[test]
    fn huge_attempt_numbers_give_the_cap() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay(u32::MAX, 1.0), policy.max_delay);
        assert_eq!(policy.delay(33, 0.0), policy.max_delay.mul_f64(0.5));
    }

    #[test]
    fn should_retry_stops_at_max_attempts() {
        let policy = RetryPolicy::default();
        assert!(policy.should_retry(&server_error(), 1));
        assert!(policy.should_retry(&server_error(), 5));
        assert!(!policy.should_retry(&server_error(), 6));
        assert!(!policy.should_retry(&server_error(), 7));
    }

    #[test]
    fn should_retry_never_for_unusable_answers() {
        let unusable = ModelError::Unusable {
            message: "no yes/no token".into(),
        };
        assert!(!RetryPolicy::default().should_retry(&unusable, 1));
    }

    proptest! {
        #[test]
        fn delay_never_exceeds_max_delay(
            base_ms in 0u64..100_000,
            max_ms in 0u64..100_000,
            jitter in 0.0f64..=1.0,
            attempt in any::<u32>(),
            unit_random in 0.0f64..=1.0,
        ) {
            let policy = policy(base_ms, max_ms, jitter);
            prop_assert!(policy.delay(attempt, unit_random) <= policy.max_delay);
        }

        #[test]
        fn delay_without_jitter_is_monotone_in_the_attempt(
            base_ms in 0u64..100_000,
            max_ms in 0u64..1_000_000,
            attempt in 0u32..100,
            unit_random in 0.0f64..=1.0,
        ) {
            let policy = policy(base_ms, max_ms, 0.0);
            prop_assert!(policy.delay(attempt, unit_random) <= policy.delay(attempt + 1, unit_random));
        }

        #[test]
        fn delay_stays_within_the_jitter_band(
            base_ms in 1u64..100_000,
            max_ms in 1u64..1_000_000,
            jitter in 0.0f64..=1.0,
            attempt in 1u32..80,
            unit_random in 0.0f64..=1.0,
        ) {
            let policy = policy(base_ms, max_ms, jitter);
            let exponential = policy.delay(attempt, 0.5).as_secs_f64();
            let delay = policy.delay(attempt, unit_random).as_secs_f64();
            let tolerance = 1e-9;
            prop_assert!(delay >= exponential * (1.0 - jitter) - tolerance);
            prop_assert!(delay <= (exponential * (1.0 + jitter)).min(policy.max_delay.as_secs_f64()) + tolerance);
        }

        #[test]
        fn should_retry_is_false_for_client_errors(status in 400u16..500, attempt in any::<u32>()) {
            prop_assert!(!RetryPolicy::default().should_retry(&rejected(status), attempt));
        }

        #[test]
        fn should_retry_holds_for_server_errors_below_the_limit(attempt in 1u32..6) {
            prop_assert!(RetryPolicy::default().should_retry(&server_error(), attempt));
        }
    }
}
