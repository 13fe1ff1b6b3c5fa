//! The legend: one entry per series or reference line, placed outside the plot area.
//!
//! A legend inside the axes can hide data, and where data lies is not known in advance, so the
//! legend goes to the right of the plot area (one entry per row) when its entries are short
//! enough, and otherwise below the figure's x axis, entries flowing in rows. Labels too long for
//! either are shortened with an ellipsis rather than drawn over something else.

use crate::font::{Anchor, TextStyle, Weight};
use crate::marker::Marker;
use crate::palette::{self, Color};
use crate::path::{Path, Rect};
use crate::scene::{Scene, StrokeStyle};

/// Font size of legend labels.
pub const FONT_SIZE: f32 = 11.0;
/// Width of a line sample before its label: room for a period and a half of the longest dash
/// pattern.
const LINE_SWATCH: f32 = 28.0;
/// Side of a box swatch.
const BOX_SWATCH: f32 = 11.0;
const SWATCH_GAP: f32 = 6.0;
/// Height of one legend row.
pub const ROW: f32 = 18.0;
/// Horizontal space between entries of a row in the legend below.
const COLUMN_GAP: f32 = 18.0;

/// What an entry shows before its label.
#[derive(Debug, Clone, PartialEq)]
pub enum Swatch {
    /// A line sample, optionally dashed, optionally with the series' marker in the middle.
    Line {
        color: Color,
        width: f32,
        dash: Vec<f32>,
        marker: Option<Marker>,
    },
    /// A filled box, as for bars.
    Box { color: Color },
}

#[derive(Debug, Clone, PartialEq)]
pub struct LegendEntry {
    pub label: String,
    pub swatch: Swatch,
}

/// Where the legend goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    Right,
    Below,
}

/// A legend laid out: labels fitted, entries assigned to rows, and its size.
#[derive(Debug, Clone, PartialEq)]
pub struct Legend {
    pub placement: Placement,
    /// Per row: (entry, x offset from the legend's left edge).
    rows: Vec<Vec<(LegendEntry, f32)>>,
    /// Offset of labels from their entry's left edge.
    label_offset: f32,
    pub width: f32,
    pub height: f32,
}

fn text_style() -> TextStyle {
    TextStyle::new(Weight::Regular, FONT_SIZE, palette::TEXT)
}

impl Swatch {
    fn width(&self) -> f32 {
        match self {
            Swatch::Line { .. } => LINE_SWATCH,
            Swatch::Box { .. } => BOX_SWATCH,
        }
    }
}

/// Width of the swatches and gap before labels: the same for all entries, so labels align.
fn label_offset(entries: &[LegendEntry]) -> f32 {
    entries.iter().map(|e| e.swatch.width()).fold(0.0, f32::max) + SWATCH_GAP
}

fn entry_width(entry: &LegendEntry, label_offset: f32) -> f32 {
    label_offset + text_style().width(&entry.label)
}

impl Legend {
    /// Lays out `entries` (`None` when there are none): to the right when every entry fits in
    /// `right_max_width` and all rows fit in `right_max_height`, else below in rows no wider than
    /// `below_max_width`.
    pub fn plan(
        entries: Vec<LegendEntry>,
        right_max_width: f32,
        right_max_height: f32,
        below_max_width: f32,
    ) -> Option<Legend> {
        if entries.is_empty() {
            return None;
        }
        let label_offset = label_offset(&entries);
        let fits_right = entries
            .iter()
            .all(|e| entry_width(e, label_offset) <= right_max_width)
            && entries.len() as f32 * ROW <= right_max_height;
        if fits_right {
            let width = entries
                .iter()
                .map(|e| entry_width(e, label_offset))
                .fold(0.0, f32::max);
            let rows: Vec<_> = entries.into_iter().map(|e| vec![(e, 0.0)]).collect();
            let height = rows.len() as f32 * ROW;
            return Some(Legend {
                placement: Placement::Right,
                rows,
                label_offset,
                width,
                height,
            });
        }
        let style = text_style();
        let mut rows: Vec<Vec<(LegendEntry, f32)>> = vec![Vec::new()];
        let mut cursor = 0.0_f32;
        let mut width = 0.0_f32;
        for mut entry in entries {
            entry.label = style.fit(&entry.label, below_max_width - label_offset);
            let entry_w = entry_width(&entry, label_offset);
            let row = rows.last_mut().expect("rows start non-empty");
            if !row.is_empty() && cursor + COLUMN_GAP + entry_w > below_max_width {
                rows.push(Vec::new());
                cursor = 0.0;
            }
            let row = rows.last_mut().expect("rows start non-empty");
            let x = if row.is_empty() {
                0.0
            } else {
                cursor + COLUMN_GAP
            };
            cursor = x + entry_w;
            width = width.max(cursor);
            row.push((entry, x));
        }
        let height = rows.len() as f32 * ROW;
        Some(Legend {
            placement: Placement::Below,
            rows,
            label_offset,
            width,
            height,
        })
    }

    /// Draws the legend with its top-left corner at `(left, top)`.
    pub fn draw(&self, scene: &mut Scene, left: f32, top: f32) {
        let style = text_style();
        for (row_index, row) in self.rows.iter().enumerate() {
            let center_y = top + ROW * (row_index as f32 + 0.5);
            for (entry, offset) in row {
                let x = left + offset;
                draw_swatch(scene, &entry.swatch, x, center_y);
                scene.text(
                    &entry.label,
                    (x + self.label_offset, center_y + style.cap_height() / 2.0),
                    style,
                    Anchor::Start,
                    0.0,
                );
            }
        }
    }

    /// The box the legend covers when drawn at `(left, top)`.
    #[cfg(test)]
    pub fn bounds(&self, left: f32, top: f32) -> Rect {
        Rect {
            left,
            top,
            right: left + self.width,
            bottom: top + self.height,
        }
    }
}

fn draw_swatch(scene: &mut Scene, swatch: &Swatch, x: f32, center_y: f32) {
    match swatch {
        Swatch::Line {
            color,
            width,
            dash,
            marker,
        } => {
            let style = StrokeStyle {
                color: *color,
                width: *width,
                dash: dash.clone(),
                round: dash.is_empty(),
            };
            scene.stroke(Path::line(x, center_y, x + LINE_SWATCH, center_y), style);
            if let Some(marker) = marker {
                draw_marker(scene, *marker, x + LINE_SWATCH / 2.0, center_y, *color);
            }
        }
        Swatch::Box { color } => {
            let half = BOX_SWATCH / 2.0;
            let rect = Rect {
                left: x,
                top: center_y - half,
                right: x + BOX_SWATCH,
                bottom: center_y + half,
            };
            scene.fill(Path::rect(rect), *color);
        }
    }
}

/// Marker size in CSS pixels.
pub const MARKER_SIZE: f32 = 7.0;

/// A filled marker with a thin white rim, so that overlapping markers stay distinct.
pub fn draw_marker(scene: &mut Scene, marker: Marker, x: f32, y: f32, color: Color) {
    let path = marker.path(x, y, MARKER_SIZE);
    scene.fill(path.clone(), color);
    scene.stroke(path, StrokeStyle::solid(palette::BACKGROUND, 0.8));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(label: &str) -> LegendEntry {
        LegendEntry {
            label: label.to_string(),
            swatch: Swatch::Box {
                color: palette::series(0),
            },
        }
    }

    #[test]
    fn short_entries_go_right_one_per_row() {
        let legend = Legend::plan(vec![entry("GRSU"), entry("CRS only")], 150.0, 300.0, 600.0)
            .expect("entries");
        assert_eq!(legend.placement, Placement::Right);
        assert_eq!(legend.rows.len(), 2);
        assert!(legend.width <= 150.0);
    }

    #[test]
    fn long_or_many_entries_go_below_in_rows_that_fit() {
        let long = "beam search with GRSU feedback, width 4, depth 5";
        let legend = Legend::plan(vec![entry(long), entry("CRS only")], 150.0, 300.0, 400.0)
            .expect("entries");
        assert_eq!(legend.placement, Placement::Below);
        assert!(legend.width <= 400.0);
        let many: Vec<_> = (0..30).map(|i| entry(&format!("m{i}"))).collect();
        let legend = Legend::plan(many, 150.0, 300.0, 400.0).expect("entries");
        assert_eq!(legend.placement, Placement::Below);
        assert!(legend.rows.len() > 1 && legend.width <= 400.0);
        assert!(Legend::plan(Vec::new(), 150.0, 300.0, 400.0).is_none());
    }
}
