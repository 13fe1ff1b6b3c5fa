//! Line charts: a metric against a numeric x (Figure 3: Recall@50 against search depth), one line
//! per method, with optional horizontal reference lines for external baselines.
//!
//! Points are joined in order of x (they are sorted, so callers may pass them in any order) and
//! marked, each series with its own colour and marker shape: by default series `i` takes colour
//! `i` and marker `i`, solid; a [`SeriesStyle`] sets them instead, so that series of one family
//! share a colour and series of one kind a dash pattern and marker (one colour per variant, one
//! line style per output strategy). The legend is then better given as a key ([`LegendKey`]:
//! the colours and the line styles, each once) than one entry per series. A `note` under the
//! figure says what it leaves out. When every x is an integer (depths),
//! the x axis is labelled at the integers; otherwise at nice values. The y axis covers the data
//! and the reference lines with a small margin, not starting at zero, since what matters is how
//! the lines differ; it does not dip below zero for non-negative data.

use crate::axis::{Scale, Ticks};
use crate::error::check_finite;
use crate::frame::{Frame, FrameSpec, XAxis, HEIGHT, WIDTH};
use crate::legend::{draw_marker, LegendEntry, Swatch};
use crate::marker::{self, Marker};
use crate::palette::{self, Color};
use crate::path::Path;
use crate::scene::{Scene, StrokeStyle};
use crate::PlotError;

/// The dash pattern of a data line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Dash {
    #[default]
    Solid,
    Dashed,
    Dotted,
    DashDot,
}

impl Dash {
    /// The patterns in the order [`Dash::nth`] gives them.
    pub const ORDER: [Dash; 4] = [Dash::Solid, Dash::Dashed, Dash::Dotted, Dash::DashDot];

    /// Pattern `index` (they repeat after four).
    pub fn nth(index: usize) -> Dash {
        Self::ORDER[index % Self::ORDER.len()]
    }

    /// Alternating dash and gap lengths in CSS pixels for a line of width [`LINE_WIDTH`] with
    /// round caps (which add half the width at each end: the dots of `Dotted` are 1 + 2 px).
    pub(crate) fn pattern(self) -> Vec<f32> {
        match self {
            Dash::Solid => Vec::new(),
            Dash::Dashed => vec![7.0, 4.5],
            Dash::Dotted => vec![1.0, 4.0],
            Dash::DashDot => vec![9.0, 4.0, 1.0, 4.0],
        }
    }
}

/// How a series is drawn: a palette colour (by index, see the palette's order), a dash pattern,
/// a marker shape and a horizontal shift in CSS pixels (a position dodge: series that share
/// values, shifted a few pixels apart, stay visible side by side instead of one hiding the
/// other; 0 for none).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeriesStyle {
    pub color: usize,
    pub dash: Dash,
    pub marker: Marker,
    pub dodge: f32,
}

impl SeriesStyle {
    /// The style series `index` gets without one: colour `index`, solid, marker `index`.
    pub fn nth(index: usize) -> Self {
        Self {
            color: index,
            dash: Dash::Solid,
            marker: marker::series(index),
            dodge: 0.0,
        }
    }

    pub(crate) fn color(&self) -> Color {
        palette::series(self.color)
    }
}

/// One line: a name for the legend, its (x, y) points and, optionally, its style (without one,
/// series `i` is drawn in colour `i` with marker `i`, solid).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub style: Option<SeriesStyle>,
}

impl Series {
    /// A series in the default style of its position.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self {
            name: name.into(),
            points,
            style: None,
        }
    }

    /// The same series drawn in `style`.
    pub fn with_style(self, style: SeriesStyle) -> Self {
        Self {
            style: Some(style),
            ..self
        }
    }
}

/// An entry of a legend given as a key rather than one entry per series: a colour (a line in
/// that colour, solid, without marker) or a line style (a dark grey line with that dash pattern
/// and marker), or both.
#[derive(Debug, Clone, PartialEq)]
pub struct LegendKey {
    pub label: String,
    /// A palette colour index; `None`: dark grey.
    pub color: Option<usize>,
    pub dash: Dash,
    pub marker: Option<Marker>,
}

/// A line chart. `references` are (name, y) pairs drawn as dashed horizontal lines across the
/// plot (a baseline that does not depend on x). `legend`, when given, replaces the one entry per
/// series (reference lines keep theirs, after it); `note`, when not empty, is a line of small
/// text at the foot of the figure (e.g. what the figure leaves to a table).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LineChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    pub references: Vec<(String, f64)>,
    pub legend: Option<Vec<LegendKey>>,
    pub note: String,
}

/// Width of data lines.
pub(crate) const LINE_WIDTH: f32 = 2.0;
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
        if let Some(style) = &series.style {
            check_finite(&series.name, || "the dodge".to_string(), style.dodge.into())?;
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

/// The style series `index` is drawn in.
fn style_of(series: &Series, index: usize) -> SeriesStyle {
    series.style.unwrap_or_else(|| SeriesStyle::nth(index))
}

pub(crate) fn legend(chart: &LineChart) -> Vec<LegendEntry> {
    let series: Vec<LegendEntry> = match &chart.legend {
        Some(keys) => keys
            .iter()
            .map(|key| LegendEntry {
                label: key.label.clone(),
                swatch: Swatch::Line {
                    color: key.color.map_or(palette::KEY, palette::series),
                    width: LINE_WIDTH,
                    dash: key.dash.pattern(),
                    marker: key.marker,
                },
            })
            .collect(),
        None => chart
            .series
            .iter()
            .enumerate()
            .map(|(index, series)| {
                let style = style_of(series, index);
                LegendEntry {
                    label: series.name.clone(),
                    swatch: Swatch::Line {
                        color: style.color(),
                        width: LINE_WIDTH,
                        dash: style.dash.pattern(),
                        marker: Some(style.marker),
                    },
                }
            })
            .collect(),
    };
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
        .into_iter()
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
        note: chart.note.clone(),
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

    // Lines first, then every marker over them, so that a line never hides another's point.
    let drawn: Vec<(SeriesStyle, Vec<(f32, f32)>)> = chart
        .series
        .iter()
        .enumerate()
        .map(|(index, series)| {
            let style = style_of(series, index);
            let mut points = pixel_points(&series.points, frame.x, frame.y);
            for point in &mut points {
                point.0 += style.dodge;
            }
            (style, points)
        })
        .collect();
    for (style, points) in &drawn {
        if points.len() >= 2 {
            scene.stroke(
                Path::polyline(points),
                StrokeStyle {
                    color: style.color(),
                    width: LINE_WIDTH,
                    dash: style.dash.pattern(),
                    round: true,
                },
            );
        }
    }
    for (style, points) in &drawn {
        for &(x, y) in points {
            draw_marker(&mut scene, style.marker, x, y, style.color());
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
