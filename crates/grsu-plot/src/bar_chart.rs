//! Grouped bar charts: one group per category, one bar per series in each group, with optional
//! error bars (Figure 2, the ablation: a group per variant, a bar per metric).
//!
//! Bars start at zero, so the y axis always includes zero (bar lengths are only comparable from a
//! common baseline), and extends to the tallest bar or error bar with a little headroom. Bars of
//! a group touch but for a hairline gap; groups are separated by a fifth of a slot.

use crate::axis::Ticks;
use crate::error::check_finite;
use crate::frame::{Frame, FrameSpec, XAxis, HEIGHT, WIDTH};
use crate::legend::{LegendEntry, Swatch};
use crate::palette;
use crate::path::{Path, Rect};
use crate::scene::{Scene, StrokeStyle};
use crate::PlotError;

/// One bar per category; `errors`, when given, are the half-widths of an interval around each
/// value (e.g. a standard deviation or half a confidence interval), one per category.
#[derive(Debug, Clone, PartialEq)]
pub struct BarSeries {
    pub name: String,
    pub values: Vec<f64>,
    pub errors: Option<Vec<f64>>,
}

/// A grouped bar chart: one group per category (e.g. a variant), one bar per series in each (e.g.
/// a metric), series `i` in colour `i`. `note`, when not empty, is a line of small text at the
/// foot of the figure (e.g. what the figure leaves to a table).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BarChart {
    pub title: String,
    pub y_label: String,
    pub categories: Vec<String>,
    pub bars: Vec<BarSeries>,
    pub note: String,
}

/// Share of a category slot taken by its group of bars.
const GROUP_SHARE: f64 = 0.8;
/// Gap between neighbouring bars of a group, in CSS pixels.
const BAR_GAP: f32 = 1.0;
/// Most intervals on the y axis.
const Y_INTERVALS: usize = 7;
/// Headroom above the tallest bar, as a fraction of the data range.
const HEADROOM: f64 = 0.04;
const ERROR_WIDTH: f32 = 1.2;

fn validate(chart: &BarChart) -> Result<(), PlotError> {
    if chart.bars.is_empty() {
        return Err(PlotError::NoSeries { chart: "bar chart" });
    }
    if chart.categories.is_empty() {
        return Err(PlotError::NoCategories);
    }
    let expected = chart.categories.len();
    for series in &chart.bars {
        if series.values.len() != expected {
            return Err(PlotError::LengthMismatch {
                series: series.name.clone(),
                what: "values",
                found: series.values.len(),
                expected,
            });
        }
        for (category, &value) in chart.categories.iter().zip(&series.values) {
            check_finite(&series.name, || format!("category `{category}`"), value)?;
        }
        if let Some(errors) = &series.errors {
            if errors.len() != expected {
                return Err(PlotError::LengthMismatch {
                    series: series.name.clone(),
                    what: "error half-widths",
                    found: errors.len(),
                    expected,
                });
            }
            for (category, &error) in chart.categories.iter().zip(errors) {
                check_finite(
                    &series.name,
                    || format!("the error of category `{category}`"),
                    error,
                )?;
                if error < 0.0 {
                    return Err(PlotError::NegativeError {
                        series: series.name.clone(),
                        category: category.clone(),
                        value: error,
                    });
                }
            }
        }
    }
    Ok(())
}

/// The value of bar `series` in category `category`, and its error half-width (0 without).
fn value_and_error(series: &BarSeries, category: usize) -> (f64, f64) {
    let error = series
        .errors
        .as_ref()
        .map_or(0.0, |errors| errors[category]);
    (series.values[category], error)
}

fn y_ticks(chart: &BarChart) -> Ticks {
    let mut low = 0.0_f64;
    let mut high = 0.0_f64;
    for series in &chart.bars {
        for category in 0..chart.categories.len() {
            let (value, error) = value_and_error(series, category);
            low = low.min(value - error);
            high = high.max(value + error);
        }
    }
    if low == high {
        high = 1.0;
    }
    let span = high - low;
    if high > 0.0 {
        high += span * HEADROOM;
    }
    if low < 0.0 {
        low -= span * HEADROOM;
    }
    Ticks::covering(low, high, Y_INTERVALS)
}

/// The rectangle of bar `bar` (of `bar_count`) in category `category`, from zero to `value`.
pub(crate) fn bar_rect(
    frame: &Frame,
    bar_count: usize,
    category: usize,
    bar: usize,
    value: f64,
) -> Rect {
    let slot = (category as f64, category as f64 + 1.0);
    bar_in_slot(frame, slot, GROUP_SHARE, bar_count, bar, value)
}

/// The rectangle of bar `bar` of `bar_count` side by side in the slot `[low, high)` of the x axis
/// (data units), the bars filling `share` of it in its middle, from zero to `value`; bar charts
/// and histograms place their bars with it.
pub(crate) fn bar_in_slot(
    frame: &Frame,
    (low, high): (f64, f64),
    share: f64,
    bar_count: usize,
    bar: usize,
    value: f64,
) -> Rect {
    let width = high - low;
    let start = low + width * (1.0 - share) / 2.0;
    let bar_width = width * share / bar_count as f64;
    let left = frame.x.map(start + bar as f64 * bar_width) + BAR_GAP / 2.0;
    let right = frame.x.map(start + (bar + 1) as f64 * bar_width) - BAR_GAP / 2.0;
    let (zero, top) = (frame.y.map(0.0), frame.y.map(value));
    Rect {
        left,
        right: right.max(left + 0.5),
        top: zero.min(top),
        bottom: zero.max(top),
    }
}

/// Lays out and draws the chart; the frame tells where data lands (for tests).
pub(crate) fn build(chart: &BarChart) -> Result<(Scene, Frame), PlotError> {
    validate(chart)?;
    let legend = chart
        .bars
        .iter()
        .enumerate()
        .filter(|(_, series)| !series.name.is_empty())
        .map(|(index, series)| LegendEntry {
            label: series.name.clone(),
            swatch: Swatch::Box {
                color: palette::series(index),
            },
        })
        .collect();
    let frame = Frame::layout(FrameSpec {
        title: chart.title.clone(),
        x_label: String::new(),
        y_label: chart.y_label.clone(),
        x_axis: XAxis::Categories(chart.categories.clone()),
        y_ticks: y_ticks(chart),
        legend,
        vertical_grid: false,
        note: chart.note.clone(),
    });
    let mut scene = Scene::new(WIDTH, HEIGHT, palette::BACKGROUND);
    frame.draw_grid(&mut scene);

    let bar_count = chart.bars.len();
    for (bar, series) in chart.bars.iter().enumerate() {
        for category in 0..chart.categories.len() {
            let (value, _) = value_and_error(series, category);
            let rect = bar_rect(&frame, bar_count, category, bar, value);
            if rect.height() > 0.0 {
                scene.fill(Path::rect(rect), palette::series(bar));
            }
        }
    }

    // A zero line when bars go below zero (otherwise zero is the bottom axis).
    if frame.y.domain.0 < 0.0 {
        let y = frame.y.map(0.0);
        scene.stroke(
            Path::line(frame.plot.left, y, frame.plot.right, y),
            StrokeStyle::solid(palette::AXIS, 1.0),
        );
    }

    // Error bars over all bars, so that no neighbour hides one.
    let error_style = StrokeStyle::solid(palette::ERROR_BAR, ERROR_WIDTH);
    for (bar, series) in chart.bars.iter().enumerate() {
        for category in 0..chart.categories.len() {
            let (value, error) = value_and_error(series, category);
            if error <= 0.0 {
                continue;
            }
            let rect = bar_rect(&frame, bar_count, category, bar, value);
            let x = rect.center_x();
            let cap = (rect.width() * 0.25).min(5.0);
            let (top, bottom) = (frame.y.map(value + error), frame.y.map(value - error));
            let mut path = Path::line(x, top, x, bottom);
            path.extend(Path::line(x - cap, top, x + cap, top));
            path.extend(Path::line(x - cap, bottom, x + cap, bottom));
            scene.stroke(path, error_style.clone());
        }
    }

    frame.draw_annotations(&mut scene);
    Ok((scene, frame))
}
