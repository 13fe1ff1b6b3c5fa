//! The temperature of a retried request (DESIGN §1.1, the reference's rule): a request that was
//! greedy is retried at temperature 1, since a greedy retry would return the same invalid answer
//! (the seed, which the caller derives per attempt, changes too); a sampled request keeps its
//! temperature.

/// The temperature of attempt `attempt` (0-based) of a request whose first attempt used `first`.
pub fn retry_temperature(first: f32, attempt: u32) -> f32 {
    if attempt > 0 && first == 0.0 {
        1.0
    } else {
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_requests_are_retried_sampled() {
        assert_eq!(retry_temperature(0.0, 0), 0.0);
        assert_eq!(retry_temperature(0.0, 1), 1.0);
        assert_eq!(retry_temperature(0.7, 3), 0.7);
    }
}
