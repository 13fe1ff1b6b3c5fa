//! Histograms over a numeric axis: bins given by their edges, one bar per series in each bin,
//! side by side (the report's score distributions: label items against the other scored items).
//!
//! The x axis is numeric and runs from the first edge to the last, labelled at nice values, so a
//! bin is drawn where its values lie (not as a category). The bars of a bin share its width but
//! for a hairline gap and a tenth of the bin at each side; the y axis starts at zero (bar lengths
//! are only comparable from a common baseline) and ends a little above the tallest bar.

use crate::axis::Ticks;
use crate::bar_chart::bar_in_slot;
use crate::error::check_finite;
use crate::frame::{Frame, FrameSpec, XAxis, HEIGHT, WIDTH};
use crate::legend::{LegendEntry, Swatch};
use crate::palette;
use crate::path::{Path, Rect};
use crate::scene::Scene;
use crate::PlotError;

/// One bar per bin (e.g. the share of a group's scores in each bin), in colour `i` for series
/// `i`.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSeries {
    pub name: String,
    pub values: Vec<f64>,
}

/// A histogram: `edges` are the bin boundaries in increasing order (n + 1 edges for n bins),
/// every series has one value per bin. `note`, when not empty, is small text at the foot.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Histogram {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub edges: Vec<f64>,
    pub series: Vec<HistogramSeries>,
    pub note: String,
}

/// Share of a bin taken by its bars.
const BIN_SHARE: f64 = 0.8;
const Y_INTERVALS: usize = 6;
const HEADROOM: f64 = 0.04;

fn validate(chart: &Histogram) -> Result<(), PlotError> {
    if chart.series.is_empty() {
        return Err(PlotError::NoSeries { chart: "histogram" });
    }
    if chart.edges.len() < 2 {
        return Err(PlotError::NoCategories);
    }
    for (index, &edge) in chart.edges.iter().enumerate() {
        check_finite("edges", || format!("edge {index}"), edge)?;
    }
    if chart.edges.windows(2).any(|pair| pair[1] <= pair[0]) {
        return Err(PlotError::Render(
            "histogram edges must increase strictly".into(),
        ));
    }
    let bins = chart.edges.len() - 1;
    for series in &chart.series {
        if series.values.len() != bins {
            return Err(PlotError::LengthMismatch {
                series: series.name.clone(),
                what: "values",
                found: series.values.len(),
                expected: bins,
            });
        }
        for (bin, &value) in series.values.iter().enumerate() {
            check_finite(&series.name, || format!("bin {bin}"), value)?;
            if value < 0.0 {
                return Err(PlotError::Render(format!(
                    "series `{}` has a negative count ({value}) in bin {bin}",
                    series.name
                )));
            }
        }
    }
    Ok(())
}

/// The rectangle of bar `bar` (of `bar_count`) in bin `[low, high)`, from zero to `value`.
fn bar_rect(
    frame: &Frame,
    bar_count: usize,
    (low, high): (f64, f64),
    bar: usize,
    value: f64,
) -> Rect {
    bar_in_slot(frame, (low, high), BIN_SHARE, bar_count, bar, value)
}

/// Lays out and draws the histogram; the frame tells where data lands (for tests).
pub(crate) fn build(chart: &Histogram) -> Result<(Scene, Frame), PlotError> {
    validate(chart)?;
    let legend = chart
        .series
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
    let (low, high) = (chart.edges[0], chart.edges[chart.edges.len() - 1]);
    let tallest = chart
        .series
        .iter()
        .flat_map(|series| series.values.iter().copied())
        .fold(0.0_f64, f64::max);
    // Shares (at most 1) end at 1 at the most: a y axis past 1 would show impossible values.
    let top = if tallest <= 0.0 {
        1.0
    } else if tallest <= 1.0 {
        (tallest * (1.0 + HEADROOM)).min(1.0)
    } else {
        tallest * (1.0 + HEADROOM)
    };
    let frame = Frame::layout(FrameSpec {
        title: chart.title.clone(),
        x_label: chart.x_label.clone(),
        y_label: chart.y_label.clone(),
        x_axis: XAxis::Numeric {
            domain: (low, high),
            ticks: Ticks::covering(low, high, 10),
        },
        y_ticks: Ticks::covering(0.0, top, Y_INTERVALS),
        legend,
        vertical_grid: false,
        note: chart.note.clone(),
    });
    let mut scene = Scene::new(WIDTH, HEIGHT, palette::BACKGROUND);
    frame.draw_grid(&mut scene);
    let bar_count = chart.series.len();
    for (bar, series) in chart.series.iter().enumerate() {
        for (bin, &value) in series.values.iter().enumerate() {
            let edges = (chart.edges[bin], chart.edges[bin + 1]);
            let rect = bar_rect(&frame, bar_count, edges, bar, value);
            if rect.height() > 0.0 {
                scene.fill(Path::rect(rect), palette::series(bar));
            }
        }
    }
    frame.draw_annotations(&mut scene);
    Ok((scene, frame))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render_histogram;

    fn chart() -> Histogram {
        Histogram {
            title: "Scores".into(),
            x_label: "score".into(),
            y_label: "share of the group".into(),
            edges: (0..=10).map(|i| i as f64 / 10.0).collect(),
            series: vec![
                HistogramSeries {
                    name: "labels (n = 40)".into(),
                    values: vec![0.0, 0.0, 0.05, 0.05, 0.1, 0.1, 0.15, 0.2, 0.2, 0.15],
                },
                HistogramSeries {
                    name: "others (n = 900)".into(),
                    values: vec![0.1, 0.2, 0.25, 0.2, 0.1, 0.05, 0.05, 0.03, 0.01, 0.01],
                },
            ],
            note: String::new(),
        }
    }

    #[test]
    fn a_histogram_is_deterministic_and_puts_bars_in_their_bins() {
        let first = render_histogram(&chart()).expect("renders");
        assert_eq!(first, render_histogram(&chart()).expect("renders"));
        assert!(first.svg.starts_with("<svg") && !first.svg.contains("<text"));
        assert_eq!(&first.png[1..4], b"PNG");
        let (_, frame) = build(&chart()).unwrap();
        // Bin [0.7, 0.8): the label bar left of the other's, both inside the bin.
        let label = bar_rect(&frame, 2, (0.7, 0.8), 0, 0.2);
        let other = bar_rect(&frame, 2, (0.7, 0.8), 1, 0.03);
        assert!(label.left > frame.x.map(0.7) && other.right < frame.x.map(0.8));
        assert!(label.right <= other.left);
        assert!(label.height() > other.height());
        // The y axis starts at zero and covers the tallest bar.
        assert_eq!(frame.y.map(0.0), frame.plot.bottom);
        assert!(frame.y.map(0.25) >= frame.plot.top);
    }

    #[test]
    fn bad_histograms_are_refused_with_the_reason() {
        let mut short = chart();
        short.series[1].values.pop();
        assert!(matches!(
            render_histogram(&short),
            Err(PlotError::LengthMismatch {
                found: 9,
                expected: 10,
                ..
            })
        ));
        let mut unordered = chart();
        unordered.edges.swap(1, 2);
        assert!(render_histogram(&unordered).is_err());
        let mut empty = chart();
        empty.series.clear();
        assert!(matches!(
            render_histogram(&empty),
            Err(PlotError::NoSeries { .. })
        ));
        let mut nan = chart();
        nan.series[0].values[3] = f64::NAN;
        assert!(matches!(
            render_histogram(&nan),
            Err(PlotError::NonFinite { .. })
        ));
        // All zeros still draws (an empty group).
        let mut zeros = chart();
        zeros.series[0].values = vec![0.0; 10];
        zeros.series[1].values = vec![0.0; 10];
        assert!(render_histogram(&zeros).is_ok());
    }
}
