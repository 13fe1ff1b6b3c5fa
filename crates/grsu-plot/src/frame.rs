//! The frame around a chart's data: title, plot area, gridlines, axes, tick labels, axis labels
//! and legend, shared by the line and bar charts.
//!
//! Layout works from the outside in, measuring the actual text: the left margin is as wide as the
//! longest y tick label plus the rotated y label, the bottom as tall as the x tick labels (turned
//! slanted when category names would collide), the x label and a legend placed below; the legend
//! placed to the right takes its width from the right; a note, when there is one, takes the
//! bottom lines of the figure. What is left is the plot area, so nothing the frame draws overlaps
//! the data or runs off the figure.

use crate::axis::{Scale, Ticks};
use crate::font::{Anchor, TextStyle, Weight};
use crate::legend::{Legend, LegendEntry, Placement};
use crate::palette;
use crate::path::{Path, Rect};
use crate::scene::{Scene, StrokeStyle};

/// Figure size in CSS pixels (the SVG's size; the PNG has twice as many pixels each way).
pub const WIDTH: f32 = 640.0;
pub const HEIGHT: f32 = 400.0;

/// Blank border around everything.
const MARGIN: f32 = 12.0;
const TITLE_SIZE: f32 = 14.0;
const LABEL_SIZE: f32 = 12.0;
const TICK_SIZE: f32 = 11.0;
const NOTE_SIZE: f32 = 10.0;
/// Most lines of a note (words wrap; what does not fit ends in an ellipsis).
const NOTE_LINES: usize = 2;
const TICK_LENGTH: f32 = 4.0;
/// Space between a tick mark and its label.
const TICK_GAP: f32 = 3.0;
/// Space between tick labels and the axis label.
const LABEL_GAP: f32 = 6.0;
/// Space between the plot area and a legend on its right.
const LEGEND_GAP: f32 = 16.0;
/// Least space between neighbouring category labels set side by side.
const CATEGORY_GAP: f32 = 14.0;
/// Slant of category labels that would not fit side by side.
const SLANT_DEGREES: f32 = -35.0;
/// Longest slanted category label.
const SLANT_MAX_WIDTH: f32 = 120.0;

/// The horizontal axis.
#[derive(Debug, Clone, PartialEq)]
pub enum XAxis {
    /// A numeric axis over `domain`, labelled at `ticks` (those outside the domain are skipped).
    Numeric { domain: (f64, f64), ticks: Ticks },
    /// One slot per category, labelled under its centre; the scale's domain is `0..n`, slot `i`
    /// spanning `[i, i + 1]`.
    Categories(Vec<String>),
}

/// What the frame shows.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameSpec {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_axis: XAxis,
    /// y ticks; the y domain runs from the first tick to the last.
    pub y_ticks: Ticks,
    pub legend: Vec<LegendEntry>,
    /// Vertical gridlines at the x ticks (numeric axes only).
    pub vertical_grid: bool,
    /// Small text at the foot of the figure; empty for none.
    pub note: String,
}

/// A laid-out frame: the plot area and the scales that map data into it.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    spec: FrameSpec,
    pub plot: Rect,
    pub x: Scale,
    pub y: Scale,
    /// The legend and its top-left corner.
    legend: Option<(Legend, f32, f32)>,
    /// Top of the x axis label.
    x_label_top: f32,
    /// Width of the widest y tick label.
    y_tick_width: f32,
    slant_categories: bool,
    /// Category labels after fitting (empty for numeric axes).
    category_labels: Vec<String>,
    /// The note's lines after wrapping.
    note_lines: Vec<String>,
}

fn tick_style() -> TextStyle {
    TextStyle::new(Weight::Regular, TICK_SIZE, palette::TEXT)
}

fn label_style() -> TextStyle {
    TextStyle::new(Weight::Regular, LABEL_SIZE, palette::TEXT)
}

fn title_style() -> TextStyle {
    TextStyle::new(Weight::Bold, TITLE_SIZE, palette::TEXT)
}

fn note_style() -> TextStyle {
    TextStyle::new(Weight::Regular, NOTE_SIZE, palette::NOTE)
}

/// Height of one line of the note.
fn note_line_height() -> f32 {
    let note = note_style();
    note.ascent() + note.descent() + 1.0
}

/// `text` in lines no wider than `max_width`, breaking between words, at most `max_lines` (the
/// last one shortened with an ellipsis when text is left over).
fn wrap(style: &TextStyle, text: &str, max_width: f32, max_lines: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let candidate = if current.is_empty() {
            word.to_string()
        } else {
            format!("{current} {word}")
        };
        if current.is_empty() || style.width(&candidate) <= max_width {
            current = candidate;
        } else {
            lines.push(std::mem::replace(&mut current, word.to_string()));
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    if lines.len() > max_lines {
        let rest = lines.split_off(max_lines - 1).join(" ");
        lines.push(rest);
    }
    lines
        .into_iter()
        .map(|line| style.fit(&line, max_width))
        .collect()
}

/// Moves a coordinate to the middle of its pixel, where a 1-pixel line covers whole pixels and so
/// stays crisp, both in the SVG shown at 1× and in the PNG at 2×.
fn crisp(value: f32) -> f32 {
    value.floor() + 0.5
}

/// Height of the x tick labels below the tick marks.
fn x_tick_band(slanted_labels: Option<&[String]>) -> f32 {
    let ticks = tick_style();
    match slanted_labels {
        Some(labels) => {
            let (sin, cos) = SLANT_DEGREES.to_radians().abs().sin_cos();
            let widest = labels.iter().map(|c| ticks.width(c)).fold(0.0, f32::max);
            widest * sin + ticks.ascent() * cos
        }
        None => ticks.ascent() + ticks.descent(),
    }
}

impl Frame {
    pub fn layout(spec: FrameSpec) -> Frame {
        let ticks = tick_style();
        let label = label_style();
        let title = title_style();

        let mut top = MARGIN;
        if !spec.title.is_empty() {
            top += title.ascent() + title.descent() + 8.0;
        } else {
            // Room for the top y tick label, which is centred on the top of the plot area.
            top += ticks.cap_height();
        }

        let y_tick_width = spec
            .y_ticks
            .values
            .iter()
            .map(|&value| ticks.width(&spec.y_ticks.label(value)))
            .fold(0.0, f32::max);
        let mut left = MARGIN + y_tick_width + TICK_GAP + TICK_LENGTH;
        if !spec.y_label.is_empty() {
            left += label.ascent() + label.descent() + LABEL_GAP;
        }

        // The legend: to the right if it fits in about a third of the figure, else below.
        let below_max_width = WIDTH - 2.0 * MARGIN;
        let legend = Legend::plan(
            spec.legend.clone(),
            WIDTH * 0.3,
            HEIGHT - top - 80.0,
            below_max_width,
        );
        let numeric_x_labels: Vec<String> = match &spec.x_axis {
            XAxis::Numeric { domain, ticks } => ticks
                .values
                .iter()
                .filter(|&&v| v >= domain.0 && v <= domain.1)
                .map(|&v| ticks.label(v))
                .collect(),
            XAxis::Categories(_) => Vec::new(),
        };
        let right = match &legend {
            Some(legend) if legend.placement == Placement::Right => {
                WIDTH - MARGIN - legend.width - LEGEND_GAP
            }
            // The last x tick label is centred on the right edge of the plot area.
            _ => {
                let last = numeric_x_labels
                    .last()
                    .map_or(0.0, |l| ticks.width(l) / 2.0);
                WIDTH - MARGIN - (last - MARGIN / 2.0).max(0.0) - 4.0
            }
        };

        // Category labels: side by side when they fit their slots, else slanted.
        let (slant_categories, category_labels) = match &spec.x_axis {
            XAxis::Categories(categories) => {
                let slot = (right - left) / categories.len().max(1) as f32;
                let widest = categories
                    .iter()
                    .map(|c| ticks.width(c))
                    .fold(0.0, f32::max);
                if widest <= slot - CATEGORY_GAP {
                    (false, categories.clone())
                } else {
                    let fitted = categories
                        .iter()
                        .map(|c| ticks.fit(c, SLANT_MAX_WIDTH))
                        .collect();
                    (true, fitted)
                }
            }
            XAxis::Numeric { .. } => (false, Vec::new()),
        };
        if let (true, Some(first)) = (slant_categories, category_labels.first()) {
            // The first slanted label runs down to the left of its slot's centre: widen the left
            // margin if it would leave the figure. With n slots the centre of the first is
            // left + (right − left) / 2n, which must be at least `needed`.
            let needed = MARGIN + ticks.width(first) * SLANT_DEGREES.to_radians().cos();
            let half_slots = 2.0 * category_labels.len() as f32;
            let required_left = (needed - right / half_slots) / (1.0 - 1.0 / half_slots);
            left = left.max(required_left);
        }

        let note_lines = wrap(&note_style(), &spec.note, WIDTH - 2.0 * MARGIN, NOTE_LINES);
        let mut bottom = HEIGHT - MARGIN;
        if !note_lines.is_empty() {
            bottom -= note_lines.len() as f32 * note_line_height() + 6.0;
        }
        if let Some(legend) = legend.as_ref().filter(|l| l.placement == Placement::Below) {
            bottom -= legend.height + 8.0;
        }
        if !spec.x_label.is_empty() {
            bottom -= label.ascent() + label.descent() + LABEL_GAP;
        }
        let x_tick_band = x_tick_band(slant_categories.then_some(category_labels.as_slice()));
        bottom -= TICK_LENGTH + TICK_GAP + x_tick_band;

        let plot = Rect {
            left: crisp(left),
            top: crisp(top),
            right: crisp(right),
            bottom: crisp(bottom),
        };
        let x = match &spec.x_axis {
            XAxis::Numeric { domain, .. } => Scale::new(*domain, (plot.left, plot.right)),
            XAxis::Categories(categories) => {
                Scale::new((0.0, categories.len() as f64), (plot.left, plot.right))
            }
        };
        let y = Scale::new(
            (spec.y_ticks.first(), spec.y_ticks.last()),
            (plot.bottom, plot.top),
        );
        let x_label_top = plot.bottom + TICK_LENGTH + TICK_GAP + x_tick_band + LABEL_GAP;
        let legend = legend.map(|legend| match legend.placement {
            Placement::Right => {
                let left = plot.right + LEGEND_GAP;
                (legend, left, plot.top)
            }
            Placement::Below => {
                let mut top = x_label_top - LABEL_GAP + 8.0;
                if !spec.x_label.is_empty() {
                    top += LABEL_GAP + label.ascent() + label.descent();
                }
                let left = (plot.center_x() - legend.width / 2.0)
                    .clamp(MARGIN, (WIDTH - MARGIN - legend.width).max(MARGIN));
                (legend, left, top)
            }
        });
        Frame {
            spec,
            plot,
            x,
            y,
            legend,
            x_label_top,
            y_tick_width,
            slant_categories,
            category_labels,
            note_lines,
        }
    }

    /// Gridlines, drawn before the data so that the data covers them.
    pub fn draw_grid(&self, scene: &mut Scene) {
        let grid = StrokeStyle::solid(palette::GRID, 1.0);
        for &value in &self.spec.y_ticks.values {
            let y = crisp(self.y.map(value));
            scene.stroke(
                Path::line(self.plot.left, y, self.plot.right, y),
                grid.clone(),
            );
        }
        if let (true, XAxis::Numeric { domain, ticks }) =
            (self.spec.vertical_grid, &self.spec.x_axis)
        {
            for &value in ticks
                .values
                .iter()
                .filter(|&&v| v >= domain.0 && v <= domain.1)
            {
                let x = crisp(self.x.map(value));
                scene.stroke(
                    Path::line(x, self.plot.top, x, self.plot.bottom),
                    grid.clone(),
                );
            }
        }
    }

    /// Axes, ticks, labels, title and legend, drawn after the data.
    pub fn draw_annotations(&self, scene: &mut Scene) {
        let axis = StrokeStyle::solid(palette::AXIS, 1.0);
        let ticks = tick_style();
        let plot = self.plot;

        // Axis lines: left and bottom.
        scene.stroke(
            Path::polyline(&[
                (plot.left, plot.top),
                (plot.left, plot.bottom),
                (plot.right, plot.bottom),
            ]),
            axis.clone(),
        );

        // y ticks and labels, centred on their tick.
        for &value in &self.spec.y_ticks.values {
            let y = crisp(self.y.map(value));
            scene.stroke(
                Path::line(plot.left - TICK_LENGTH, y, plot.left, y),
                axis.clone(),
            );
            scene.text(
                &self.spec.y_ticks.label(value),
                (
                    plot.left - TICK_LENGTH - TICK_GAP,
                    y + ticks.cap_height() / 2.0,
                ),
                ticks,
                Anchor::End,
                0.0,
            );
        }

        // x ticks and labels.
        let label_top = plot.bottom + TICK_LENGTH + TICK_GAP;
        match &self.spec.x_axis {
            XAxis::Numeric {
                domain,
                ticks: x_ticks,
            } => {
                for &value in x_ticks
                    .values
                    .iter()
                    .filter(|&&v| v >= domain.0 && v <= domain.1)
                {
                    let x = crisp(self.x.map(value));
                    scene.stroke(
                        Path::line(x, plot.bottom, x, plot.bottom + TICK_LENGTH),
                        axis.clone(),
                    );
                    scene.text(
                        &x_ticks.label(value),
                        (x, label_top + ticks.ascent()),
                        ticks,
                        Anchor::Middle,
                        0.0,
                    );
                }
            }
            XAxis::Categories(_) => {
                for (index, name) in self.category_labels.iter().enumerate() {
                    let x = crisp(self.x.map(index as f64 + 0.5));
                    scene.stroke(
                        Path::line(x, plot.bottom, x, plot.bottom + TICK_LENGTH),
                        axis.clone(),
                    );
                    if self.slant_categories {
                        // Anchored at its end just below the tick, running down to the left.
                        scene.text(
                            name,
                            (x + ticks.cap_height() / 2.0, label_top + ticks.cap_height()),
                            ticks,
                            Anchor::End,
                            SLANT_DEGREES,
                        );
                    } else {
                        scene.text(
                            name,
                            (x, label_top + ticks.ascent()),
                            ticks,
                            Anchor::Middle,
                            0.0,
                        );
                    }
                }
            }
        }

        let label = label_style();
        if !self.spec.x_label.is_empty() {
            let text = label.fit(&self.spec.x_label, WIDTH - 2.0 * MARGIN);
            scene.text(
                &text,
                (plot.center_x(), self.x_label_top + label.ascent()),
                label,
                Anchor::Middle,
                0.0,
            );
        }
        if !self.spec.y_label.is_empty() {
            let text = label.fit(&self.spec.y_label, plot.height() + 40.0);
            scene.text(
                &text,
                // Rotated, the glyphs' descenders face the tick labels.
                (
                    plot.left
                        - TICK_LENGTH
                        - TICK_GAP
                        - self.y_tick_width
                        - LABEL_GAP
                        - label.descent(),
                    plot.center_y(),
                ),
                label,
                Anchor::Middle,
                -90.0,
            );
        }
        if !self.spec.title.is_empty() {
            let title = title_style();
            let text = title.fit(&self.spec.title, WIDTH - 2.0 * MARGIN);
            // Centred over the plot area, unless that would push it off the figure.
            let half = title.width(&text) / 2.0;
            let center = plot
                .center_x()
                .clamp(MARGIN + half, (WIDTH - MARGIN - half).max(MARGIN + half));
            scene.text(
                &text,
                (center, MARGIN + title.ascent()),
                title,
                Anchor::Middle,
                0.0,
            );
        }
        if let Some((legend, left, top)) = &self.legend {
            legend.draw(scene, *left, *top);
        }
        let note = note_style();
        let line_height = note_line_height();
        let first_top = HEIGHT - MARGIN - self.note_lines.len() as f32 * line_height;
        for (index, line) in self.note_lines.iter().enumerate() {
            scene.text(
                line,
                (
                    MARGIN,
                    first_top + index as f32 * line_height + note.ascent(),
                ),
                note,
                Anchor::Start,
                0.0,
            );
        }
    }

    /// Where the note is drawn (its lines' box), if there is one.
    #[cfg(test)]
    pub fn note_bounds(&self) -> Option<Rect> {
        let note = note_style();
        let widest = self
            .note_lines
            .iter()
            .map(|line| note.width(line))
            .fold(0.0, f32::max);
        (!self.note_lines.is_empty()).then(|| Rect {
            left: MARGIN,
            top: HEIGHT - MARGIN - self.note_lines.len() as f32 * note_line_height(),
            right: MARGIN + widest,
            bottom: HEIGHT - MARGIN,
        })
    }

    /// The note's lines after wrapping.
    #[cfg(test)]
    pub fn note_lines(&self) -> &[String] {
        &self.note_lines
    }

    /// Where the legend is drawn, if there is one.
    #[cfg(test)]
    pub fn legend_bounds(&self) -> Option<Rect> {
        self.legend
            .as_ref()
            .map(|(legend, left, top)| legend.bounds(*left, *top))
    }
}
