//! Why a chart could not be drawn.
//!
//! Charts are made from computed results, so a bad value usually means a bug or a missing run
//! upstream; the messages therefore name the series and the point or category concerned instead
//! of drawing a misleading figure.

/// A chart that cannot be drawn from its input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlotError {
    /// The chart has no series at all.
    #[error("the {chart} has no series to plot")]
    NoSeries { chart: &'static str },
    /// A bar chart without categories.
    #[error("the bar chart has no categories")]
    NoCategories,
    /// A line series without points.
    #[error("series `{series}` has no points")]
    EmptySeries { series: String },
    /// A NaN or infinite value; `what` says which (e.g. "y at point 3").
    #[error("series `{series}` has a non-finite value ({value}) for {what}")]
    NonFinite {
        series: String,
        what: String,
        value: f64,
    },
    /// A bar series with more or fewer values (or error half-widths) than categories.
    #[error("series `{series}` has {found} {what} but the chart has {expected} categories")]
    LengthMismatch {
        series: String,
        what: &'static str,
        found: usize,
        expected: usize,
    },
    /// An error bar with a negative half-width.
    #[error(
        "series `{series}` has a negative error half-width ({value}) for category `{category}`"
    )]
    NegativeError {
        series: String,
        category: String,
        value: f64,
    },
    /// The image could not be produced (allocation or encoding).
    #[error("{0}")]
    Render(String),
}

/// `Err(NonFinite)` unless `value` is finite.
pub(crate) fn check_finite(
    series: &str,
    what: impl FnOnce() -> String,
    value: f64,
) -> Result<(), PlotError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(PlotError::NonFinite {
            series: series.to_string(),
            what: what(),
            value,
        })
    }
}
