//! Line charts: a metric against a numeric x (Figure 3: Recall@50 against search depth), one line
//! per method, with optional horizontal reference lines for external baselines.
//!
//! Points are joined in order of x (they are sorted, so callers may pass them in any order) and
//! marked, each series with its own colour and marker shape. When every x is an integer (depths),
//! the x axis is labelled at the integers; otherwise at nice values. The y axis covers the data
//! and the reference lines with a small margin, not starting at zero, since what matters is how
//! the lines differ; it does not dip below zero for non-negative data.

use crate::axis::{Scale, Ticks};
use crate::error::check_finite;
use crate::frame::{Frame, FrameSpec, XAxis, HEIGHT, WIDTH};
use crate::legend::{draw_marker, LegendEntry, Swatch};
use crate::marker;
use crate::palette;
use crate::path::Path;
use crate::scene::{Scene, StrokeStyle};
use crate::PlotError;

/// One line: a name for the legend and its (x, y) points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// A line chart. `references` are (name, y) pairs drawn as dashed horizontal lines across the
/// plot (a baseline that does not depend on x).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LineChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    pub references: Vec<(String, f64)>,
}

/// Width of data lines.
const LINE_WIDTH: f32 = 2.0;
/// Width of reference lines.
const REFERENCE_WIDTH: f32 = 1.5;
/// Dash patterns of reference lines, in turn.
const REFERENCE_DASHES: [&[f32]; 3] = [&[6.0, 4.0], &[2.0, 3.0], &[9.0, 3.0, 2.0, 3.0]];
/// Most intervals on the y axis.
const Y_INTERVALS: usize = 6;
/// Margin added above and below the data, as a fraction of its range.
const Y_MARGIN: f64 = 0.06;

fn reference_dash(index: usize) -> Vec<f32> {
    REFERENCE_DASHES[index % REFERENCE_DASHES.len()].to_vec()
}

fn validate(chart: &LineChart) -> Result<(), PlotError> {
    if chart.series.is_empty() {
        return Err(PlotError::NoSeries {
            chart: "line chart",
        });
    }
    for series in &chart.series {
        if series.points.is_empty() {
            return Err(PlotError::EmptySeries {
                series: series.name.clone(),
            });
        }
        for (index, &(x, y)) in series.points.iter().enumerate() {
            check_finite(&series.name, || format!("x at point {index}"), x)?;
            check_finite(&series.name, || format!("y at point {index}"), y)?;
        }
    }
    for (name, y) in &chart.references {
        check_finite(name, || "the reference line".to_string(), *y)?;
    }
    Ok(())
}

fn min_max(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

/// The x axis: integer ticks when every x is an integer, else nice ticks; padded so that end
/// markers are not cut by the frame.
fn x_axis(chart: &LineChart) -> XAxis {
    let xs = || {
        chart
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
    };
    let (low, high) = min_max(xs());
    let span = high - low;
    let pad = if span > 0.0 { span * 0.04 } else { 0.5 };
    let domain = (low - pad, high + pad);
    let integers = xs().all(|x| x.fract() == 0.0 && x.abs() < 1e9);
    let ticks = if integers && span <= 20.0 {
        let step = if span <= 10.0 { 1 } else { 2 };
        Ticks::integers(low as i64, high as i64, step)
    } else {
        Ticks::covering(low, high, 8)
    };
    XAxis::Numeric { domain, ticks }
}

fn y_ticks(chart: &LineChart) -> Ticks {
    let ys = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .chain(chart.references.iter().map(|r| r.1));
    let (low, high) = min_max(ys);
    let pad = (high - low) * Y_MARGIN;
    let mut padded_low = low - pad;
    if low >= 0.0 && padded_low < 0.0 {
        padded_low = 0.0;
    }
    Ticks::covering(padded_low, high + pad, Y_INTERVALS)
}

fn legend(chart: &LineChart) -> Vec<LegendEntry> {
    let series = chart
        .series
        .iter()
        .enumerate()
        .map(|(index, series)| LegendEntry {
            label: series.name.clone(),
            swatch: Swatch::Line {
                color: palette::series(index),
                width: LINE_WIDTH,
                dash: Vec::new(),
                marker: Some(marker::series(index)),
            },
        });
    let references = chart
        .references
        .iter()
        .enumerate()
        .map(|(index, (name, _))| LegendEntry {
            label: name.clone(),
            swatch: Swatch::Line {
                color: palette::REFERENCE,
                width: REFERENCE_WIDTH,
                dash: reference_dash(index),
                marker: None,
            },
        });
    series
        .chain(references)
        .filter(|entry| !entry.label.is_empty())
        .collect()
}

/// Lays out and draws the chart; the frame tells where data lands (for tests).
pub(crate) fn build(chart: &LineChart) -> Result<(Scene, Frame), PlotError> {
    validate(chart)?;
    let frame = Frame::layout(FrameSpec {
        title: chart.title.clone(),
        x_label: chart.x_label.clone(),
        y_label: chart.y_label.clone(),
        x_axis: x_axis(chart),
        y_ticks: y_ticks(chart),
        legend: legend(chart),
        vertical_grid: true,
    });
    let mut scene = Scene::new(WIDTH, HEIGHT, palette::BACKGROUND);
    frame.draw_grid(&mut scene);

    for (index, (_, y)) in chart.references.iter().enumerate() {
        let y = frame.y.map(*y);
        scene.stroke(
            Path::line(frame.plot.left, y, frame.plot.right, y),
            StrokeStyle {
                color: palette::REFERENCE,
                width: REFERENCE_WIDTH,
                dash: reference_dash(index),
                round: false,
            },
        );
    }

    for (index, series) in chart.series.iter().enumerate() {
        let color = palette::series(index);
        let points = pixel_points(&series.points, frame.x, frame.y);
        if points.len() >= 2 {
            scene.stroke(
                Path::polyline(&points),
                StrokeStyle {
                    color,
                    width: LINE_WIDTH,
                    dash: Vec::new(),
                    round: true,
                },
            );
        }
        for &(x, y) in &points {
            draw_marker(&mut scene, marker::series(index), x, y, color);
        }
    }

    frame.draw_annotations(&mut scene);
    Ok((scene, frame))
}

/// The points in pixels, in order of x.
fn pixel_points(points: &[(f64, f64)], x: Scale, y: Scale) -> Vec<(f32, f32)> {
    let mut sorted = points.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    sorted
        .iter()
        .map(|&(px, py)| (x.map(px), y.map(py)))
        .collect()
}
