//! Axis ranges, "nice" tick values, their labels, and the mapping from data to pixels.
//!
//! Ticks are multiples of 1, 2, 2.5 or 5 times a power of ten, the steps a reader can count in
//! their head, and the axis range is extended to whole steps so that the frame starts and ends on
//! a labelled tick. Every tick of an axis is printed with the same number of decimals (the fewest
//! that show the step exactly: `0.00, 0.05, …, 0.35`), with a true minus sign for negatives.

/// Tick values for an axis and the decimals their labels need.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticks {
    pub values: Vec<f64>,
    pub decimals: usize,
}

impl Ticks {
    /// Evenly spaced nice ticks covering `[low, high]`: the finest nice step that needs at most
    /// `max_intervals` intervals. The first tick is at or below `low` and the last at or above
    /// `high`.
    pub fn covering(low: f64, high: f64, max_intervals: usize) -> Self {
        let (low, high) = if high > low {
            (low, high)
        } else {
            // A single value: a window around it, scaled to its magnitude.
            let half = if low == 0.0 { 1.0 } else { low.abs() * 0.1 };
            (low - half, low + half)
        };
        let max_intervals = max_intervals.max(1) as i64;
        // Tolerance so that values a rounding error past a tick do not add a whole step.
        let bounds = |step: f64| {
            (
                (low / step + 1e-9).floor() as i64,
                (high / step - 1e-9).ceil() as i64,
            )
        };
        let mut step = nice_step((high - low) / max_intervals as f64 / 10.0);
        loop {
            let (first, last) = bounds(step);
            if last - first <= max_intervals {
                return Self::from_indices(first, last, step);
            }
            step = next_nice_step(step);
        }
    }

    /// The integers from `low` to `high`, every `step`-th (`step` ≥ 1).
    pub fn integers(low: i64, high: i64, step: i64) -> Self {
        let step = step.max(1);
        let first = low.div_euclid(step) + i64::from(low.rem_euclid(step) != 0);
        let last = high.div_euclid(step);
        Self::from_indices(first, last, step as f64)
    }

    fn from_indices(first: i64, last: i64, step: f64) -> Self {
        // Each tick is index × step, not an accumulated sum, so no rounding drift builds up.
        let values = (first..=last).map(|index| index as f64 * step).collect();
        Self {
            values,
            decimals: decimals_for(step),
        }
    }

    /// The label of `value` with this axis's decimals.
    pub fn label(&self, value: f64) -> String {
        format_number(value, self.decimals)
    }

    pub fn first(&self) -> f64 {
        self.values.first().copied().unwrap_or(0.0)
    }

    pub fn last(&self) -> f64 {
        self.values.last().copied().unwrap_or(1.0)
    }
}

/// The smallest of 1, 2, 2.5, 5, 10 (times a power of ten) that is at least `raw`.
pub fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    let fraction = raw / magnitude;
    let nice = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .find(|&candidate| fraction <= candidate * (1.0 + 1e-9))
        .unwrap_or(10.0);
    nice * magnitude
}

/// The nice step after `step` (which must itself be nice).
fn next_nice_step(step: f64) -> f64 {
    nice_step(step * (1.0 + 1e-6))
}

/// The fewest decimals that write multiples of `step` exactly.
fn decimals_for(step: f64) -> usize {
    (0..=12)
        .find(|&decimals| {
            let scaled = step * 10f64.powi(decimals as i32);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0)
        })
        .unwrap_or(12)
}

/// `value` with `decimals` decimals; negatives with U+2212 (the minus sign, not a hyphen) and no
/// negative zero.
pub fn format_number(value: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, value.abs());
    let is_zero = text.chars().all(|c| c == '0' || c == '.');
    if value < 0.0 && !is_zero {
        format!("\u{2212}{text}")
    } else {
        text
    }
}

/// A linear map from a data interval onto a pixel interval (which may run backwards, as the y
/// axis does: larger values are higher up, at smaller pixel rows).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    pub domain: (f64, f64),
    pub range: (f32, f32),
}

impl Scale {
    pub fn new(domain: (f64, f64), range: (f32, f32)) -> Self {
        Self { domain, range }
    }

    pub fn map(&self, value: f64) -> f32 {
        let (d0, d1) = self.domain;
        let t = if d1 == d0 {
            0.5
        } else {
            (value - d0) / (d1 - d0)
        };
        self.range.0 + (t as f32) * (self.range.1 - self.range.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(ticks: &Ticks) -> Vec<String> {
        ticks
            .values
            .iter()
            .map(|&value| ticks.label(value))
            .collect()
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(0.07), 0.1);
        assert_eq!(nice_step(0.05), 0.05);
        assert_eq!(nice_step(0.021), 0.025);
        assert_eq!(nice_step(0.011), 0.02);
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(7.0), 10.0);
        assert_eq!(nice_step(0.0), 1.0);
    }

    #[test]
    fn ticks_cover_the_range_with_round_labels() {
        let ticks = Ticks::covering(0.0, 0.34, 7);
        assert_eq!(
            labels(&ticks),
            ["0.00", "0.05", "0.10", "0.15", "0.20", "0.25", "0.30", "0.35"]
        );
        let ticks = Ticks::covering(0.213, 0.338, 6);
        assert!(ticks.first() <= 0.213 && ticks.last() >= 0.338);
        assert_eq!(
            labels(&ticks),
            ["0.200", "0.225", "0.250", "0.275", "0.300", "0.325", "0.350"]
        );
        let ticks = Ticks::covering(0.0, 1200.0, 5);
        assert_eq!(labels(&ticks), ["0", "250", "500", "750", "1000", "1250"]);
    }

    #[test]
    fn a_value_on_a_tick_adds_no_extra_step_and_the_finest_fitting_step_wins() {
        let ticks = Ticks::covering(0.1, 0.3, 4);
        assert_eq!(labels(&ticks), ["0.10", "0.15", "0.20", "0.25", "0.30"]);
        let ticks = Ticks::covering(0.0, 0.34, 6);
        assert_eq!(labels(&ticks), ["0.0", "0.1", "0.2", "0.3", "0.4"]);
    }

    #[test]
    fn degenerate_ranges_still_give_ticks() {
        let ticks = Ticks::covering(0.5, 0.5, 5);
        assert!(ticks.values.len() >= 2);
        assert!(ticks.first() < 0.5 && ticks.last() > 0.5);
        let ticks = Ticks::covering(0.0, 0.0, 5);
        assert!(ticks.first() < 0.0 && ticks.last() > 0.0);
    }

    #[test]
    fn negative_values_use_a_minus_sign_and_no_negative_zero() {
        let ticks = Ticks::covering(-0.1, 0.1, 4);
        assert_eq!(
            labels(&ticks),
            ["\u{2212}0.10", "\u{2212}0.05", "0.00", "0.05", "0.10"]
        );
        assert_eq!(format_number(-0.0001, 2), "0.00");
    }

    #[test]
    fn integer_ticks() {
        assert_eq!(
            Ticks::integers(0, 5, 1).values,
            [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
        );
        assert_eq!(Ticks::integers(1, 9, 2).values, [2.0, 4.0, 6.0, 8.0]);
        assert_eq!(Ticks::integers(-3, 3, 2).values, [-2.0, 0.0, 2.0]);
        assert_eq!(labels(&Ticks::integers(0, 2, 1)), ["0", "1", "2"]);
    }

    #[test]
    fn scale_maps_linearly_and_can_flip() {
        let y = Scale::new((0.0, 0.4), (300.0, 100.0));
        assert_eq!(y.map(0.0), 300.0);
        assert_eq!(y.map(0.4), 100.0);
        assert!((y.map(0.1) - 250.0).abs() < 1e-4);
    }
}
