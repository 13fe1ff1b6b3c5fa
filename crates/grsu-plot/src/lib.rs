//! # grsu-plot
//!
//! Figures for grsu's reports, as SVG and PNG: line charts of a metric against search depth (the
//! paper's Figure 3), grouped bar charts of an ablation (Figure 2), and for the diagnostics of
//! the simulated user histograms (score distributions) and reliability diagrams (calibration).
//! The domain library uses it as `grsu::plot` (a re-export), from `grsu::report`'s figures.
//!
//! A figure must come out the same on every machine, byte for byte, so that a report can be
//! regenerated and compared and so that it looks the same wherever it is opened. Hence:
//!
//! - No system fonts. Text is set in DejaVu Sans, compiled into the binary, and drawn as glyph
//!   outlines (`font.rs`); the SVG contains `<path>` elements only (no `<text>`, no font names).
//! - One scene, two writers. A chart is laid out once into a scene (`scene.rs`) of filled and
//!   stroked paths; `svg.rs` writes it as text and `png.rs` rasterises it with tiny-skia (pure
//!   Rust, anti-aliased, 2× scale), so the two files show the same picture.
//! - Fixed styling: a colour-blind-safe palette in a fixed order (`palette.rs`), marker shapes per
//!   series (`marker.rs`), nice tick values (`axis.rs`), and a legend outside the plot area
//!   (`legend.rs`) so that it never hides data. A caller may style series itself (a
//!   [`SeriesStyle`]: colour index, [`Dash`] pattern, [`Marker`]) and give the legend as a key
//!   ([`LegendKey`]), so that a figure of variants × output strategies reads as one colour per
//!   variant and one line style per strategy; a chart's `note` says at its foot what it leaves
//!   out.
//!
//! ## Layout
//!
//! This is a workspace crate of its own, not a module of `grsu`, so that its heavy dependencies
//! (the embedded DejaVu fonts, `ttf-parser`, the `tiny-skia` rasteriser) stay out of the domain
//! library's own compile: they build once, in parallel with it, and a change to the library never
//! recompiles them. It depends on no other grsu crate.
//!
//! - `path.rs`: the geometry (paths, rectangles) that everything draws with; depends on nothing.
//! - `font.rs`: text as glyph outlines (paths), measured and placed; uses `path` and `palette`.
//! - `scene.rs`: a figure's primitives (filled and stroked paths) and text added as outlines; uses
//!   `path` and `font`. Font and scene never import each other both ways.
//! - `svg.rs`, `png.rs`: the two writers of a scene.
//! - `line_chart.rs`, `bar_chart.rs`, `histogram.rs`, `reliability.rs`: the public chart types
//!   turned into a scene, using `frame.rs` for everything around the data (title, axes, ticks,
//!   labels, legend), `axis.rs`, `legend.rs`, `marker.rs` and `palette.rs`.
//! - `error.rs`: [`PlotError`].
//! - `tests.rs`: tests of whole figures (determinism, the SVG's form, what the PNG shows where).
//!
//! Figures are 640 × 400 CSS pixels; the PNG has 1280 × 800 pixels.
//!
//! ```no_run
//! use grsu_plot::{render_line_chart, LineChart, Series};
//!
//! let chart = LineChart {
//!     title: "Recall@50 by search depth".into(),
//!     x_label: "Depth".into(),
//!     y_label: "Recall@50".into(),
//!     series: vec![Series::new(
//!         "GRSU beam",
//!         (0..=5).map(|d| (d as f64, 0.2 + 0.02 * d as f64)).collect(),
//!     )],
//!     references: vec![("ReFICR".into(), 0.25)],
//!     ..LineChart::default()
//! };
//! render_line_chart(&chart)?.write(std::path::Path::new("reports/figure3"))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod axis;
mod bar_chart;
mod error;
mod font;
mod frame;
mod histogram;
mod legend;
mod line_chart;
mod marker;
mod palette;
mod path;
mod png;
mod reliability;
mod scene;
mod svg;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub use bar_chart::{BarChart, BarSeries};
pub use error::PlotError;
pub use histogram::{Histogram, HistogramSeries};
pub use line_chart::{Dash, LegendKey, LineChart, Series, SeriesStyle};
pub use marker::Marker;
pub use reliability::ReliabilityChart;

/// A rendered figure: the SVG document and the PNG bytes of the same picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figure {
    pub svg: String,
    pub png: Vec<u8>,
}

impl Figure {
    fn from_scene(scene: &scene::Scene) -> Result<Self, PlotError> {
        Ok(Self {
            svg: svg::write(scene),
            png: png::write(scene)?,
        })
    }

    /// Writes `<path>.svg` and `<path>.png`. The extension is appended, not substituted, so
    /// `figures/fig3.recall` gives `figures/fig3.recall.svg`. The directory must exist.
    pub fn write(&self, path_without_extension: &Path) -> std::io::Result<()> {
        std::fs::write(with_suffix(path_without_extension, ".svg"), &self.svg)?;
        std::fs::write(with_suffix(path_without_extension, ".png"), &self.png)
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// Renders a line chart (e.g. a metric against search depth).
pub fn render_line_chart(chart: &LineChart) -> Result<Figure, PlotError> {
    let (scene, _) = line_chart::build(chart)?;
    Figure::from_scene(&scene)
}

/// Renders a grouped bar chart (e.g. an ablation over metrics).
pub fn render_bar_chart(chart: &BarChart) -> Result<Figure, PlotError> {
    let (scene, _) = bar_chart::build(chart)?;
    Figure::from_scene(&scene)
}

/// Renders a histogram (e.g. score distributions of two groups, side by side per bin).
pub fn render_histogram(chart: &Histogram) -> Result<Figure, PlotError> {
    let (scene, _) = histogram::build(chart)?;
    Figure::from_scene(&scene)
}

/// Renders a reliability diagram (observed frequency against predicted probability).
pub fn render_reliability_chart(chart: &ReliabilityChart) -> Result<Figure, PlotError> {
    let (scene, _) = reliability::build(chart)?;
    Figure::from_scene(&scene)
}

#[cfg(test)]
mod tests;
