//! Reliability diagrams: observed frequency against predicted probability, both axes 0 to 1,
//! with the diagonal of perfect calibration (the report's calibration of the simulated user's
//! scores: per score bin, the mean score against the share of label items).
//!
//! Unlike a line chart, whose axes follow the data, both axes are fixed to [0, 1] (a little
//! padding so that markers at the ends stay whole), since a reliability diagram is read against
//! the diagonal. The diagonal is a dashed grey line with its own legend entry; each series is a
//! line through its points in order of x, marked as a line chart marks them.

use crate::axis::Ticks;
use crate::error::check_finite;
use crate::frame::{Frame, FrameSpec, XAxis, HEIGHT, WIDTH};
use crate::legend::{draw_marker, LegendEntry, Swatch};
use crate::line_chart::{Series, SeriesStyle, LINE_WIDTH};
use crate::palette;
use crate::path::Path;
use crate::scene::{Scene, StrokeStyle};
use crate::PlotError;

/// A reliability diagram: series of (predicted, observed) points in [0, 1]², the diagonal named
/// `diagonal` in the legend (empty: no entry). `note`, when not empty, is small text at the foot.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReliabilityChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    pub diagonal: String,
    pub note: String,
}

/// Padding of both axes beyond [0, 1].
const PAD: f64 = 0.03;
const DIAGONAL_WIDTH: f32 = 1.5;
const DIAGONAL_DASH: [f32; 2] = [6.0, 4.0];

fn validate(chart: &ReliabilityChart) -> Result<(), PlotError> {
    if chart.series.is_empty() {
        return Err(PlotError::NoSeries {
            chart: "reliability diagram",
        });
    }
    for series in &chart.series {
        for (index, &(x, y)) in series.points.iter().enumerate() {
            check_finite(&series.name, || format!("x at point {index}"), x)?;
            check_finite(&series.name, || format!("y at point {index}"), y)?;
        }
    }
    Ok(())
}

/// Lays out and draws the diagram; the frame tells where data lands (for tests).
pub(crate) fn build(chart: &ReliabilityChart) -> Result<(Scene, Frame), PlotError> {
    validate(chart)?;
    let styles: Vec<SeriesStyle> = chart
        .series
        .iter()
        .enumerate()
        .map(|(index, series)| series.style.unwrap_or_else(|| SeriesStyle::nth(index)))
        .collect();
    let mut legend: Vec<LegendEntry> = chart
        .series
        .iter()
        .zip(&styles)
        .map(|(series, style)| LegendEntry {
            label: series.name.clone(),
            swatch: Swatch::Line {
                color: style.color(),
                width: LINE_WIDTH,
                dash: style.dash.pattern(),
                marker: Some(style.marker),
            },
        })
        .collect();
    legend.push(LegendEntry {
        label: chart.diagonal.clone(),
        swatch: Swatch::Line {
            color: palette::REFERENCE,
            width: DIAGONAL_WIDTH,
            dash: DIAGONAL_DASH.to_vec(),
            marker: None,
        },
    });
    legend.retain(|entry| !entry.label.is_empty());
    let ticks = Ticks::covering(0.0, 1.0, 5);
    let mut y_ticks = ticks.clone();
    // The y domain runs from the first tick to the last: pad it with ticks' values kept.
    y_ticks.values.retain(|value| (0.0..=1.0).contains(value));
    let frame = Frame::layout(FrameSpec {
        title: chart.title.clone(),
        x_label: chart.x_label.clone(),
        y_label: chart.y_label.clone(),
        x_axis: XAxis::Numeric {
            domain: (-PAD, 1.0 + PAD),
            ticks,
        },
        y_ticks,
        legend,
        vertical_grid: true,
        note: chart.note.clone(),
    });
    let mut scene = Scene::new(WIDTH, HEIGHT, palette::BACKGROUND);
    frame.draw_grid(&mut scene);
    scene.stroke(
        Path::line(
            frame.x.map(0.0),
            frame.y.map(0.0),
            frame.x.map(1.0),
            frame.y.map(1.0),
        ),
        StrokeStyle {
            color: palette::REFERENCE,
            width: DIAGONAL_WIDTH,
            dash: DIAGONAL_DASH.to_vec(),
            round: false,
        },
    );
    let drawn: Vec<(SeriesStyle, Vec<(f32, f32)>)> = chart
        .series
        .iter()
        .zip(&styles)
        .map(|(series, style)| {
            let mut points = series.points.clone();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            let pixels = points
                .iter()
                .map(|&(x, y)| (frame.x.map(x) + style.dodge, frame.y.map(y)))
                .collect();
            (*style, pixels)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render_reliability_chart;

    fn chart() -> ReliabilityChart {
        ReliabilityChart {
            title: "Calibration".into(),
            x_label: "mean score in the bin".into(),
            y_label: "share of label items".into(),
            series: vec![Series::new(
                "GRSU",
                vec![
                    (0.05, 0.0),
                    (0.15, 0.01),
                    (0.45, 0.1),
                    (0.85, 0.4),
                    (0.97, 0.6),
                ],
            )],
            diagonal: "perfect calibration".into(),
            note: String::new(),
        }
    }

    #[test]
    fn a_reliability_diagram_is_deterministic_with_fixed_unit_axes() {
        let first = render_reliability_chart(&chart()).expect("renders");
        assert_eq!(first, render_reliability_chart(&chart()).expect("renders"));
        assert!(!first.svg.contains("<text"));
        let (_, frame) = build(&chart()).unwrap();
        // y runs from 0 at the bottom to 1 at the top whatever the data; x covers [0, 1].
        assert_eq!(frame.y.map(0.0), frame.plot.bottom);
        assert_eq!(frame.y.map(1.0), frame.plot.top);
        assert!(frame.x.map(0.0) > frame.plot.left && frame.x.map(1.0) < frame.plot.right);
        let mut empty = chart();
        empty.series.clear();
        assert!(render_reliability_chart(&empty).is_err());
        let mut nan = chart();
        nan.series[0].points[1].1 = f64::NAN;
        assert!(matches!(
            render_reliability_chart(&nan),
            Err(PlotError::NonFinite { .. })
        ));
        // A series without points (no scores) still draws the diagonal.
        let mut none = chart();
        none.series[0].points.clear();
        assert!(render_reliability_chart(&none).is_ok());
    }
}
