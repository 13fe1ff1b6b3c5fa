//! The figures of the diagnostics: for each variant that scores items, at its deepest cell (whose
//! trees hold those of its shallower cells), the histograms of the scores of label items and of
//! the other scored items, and a reliability diagram (per calibration bin, the mean score against
//! the share of label items). Written as `figures/diagnostics/<n>-<variant>-scores.svg|png` and
//! `…-reliability.svg|png`, and inline in `report.html`.
//!
//! At most [`MAX_VARIANTS`] variants are drawn, in the report's order; the tables have them all.

use std::path::Path;

use super::scoring::HISTOGRAM_BINS;
use super::CellDiagnostics;
use crate::plot::{
    render_histogram, render_reliability_chart, Figure, Histogram, HistogramSeries, PlotError,
    ReliabilityChart, Series,
};
use crate::report::ReportError;

/// Most variants drawn.
pub const MAX_VARIANTS: usize = 8;

/// The folder of the diagnostics figures, under `figures/`.
pub const FOLDER: &str = "diagnostics";

/// A figure of the diagnostics: its file (under `figures/`, without extension), caption and
/// picture.
#[derive(Debug, Clone)]
pub struct DiagnosticFigure {
    pub file: String,
    pub caption: String,
    pub figure: Figure,
}

/// A file-name part of `name`: lower-case letters and digits, other runs as one `-`.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for character in name.chars() {
        if character.is_ascii_alphanumeric() {
            out.push(character.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_matches('-');
    if trimmed.is_empty() {
        "cell".into()
    } else {
        trimmed.chars().take(40).collect()
    }
}

/// An integer with thin spaces between groups of three digits.
fn grouped(value: usize) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push('\u{2009}');
        }
        out.push(digit);
    }
    out
}

/// The cells drawn: per variant that scored something, its deepest cell, in report order.
pub fn drawn_cells(diagnostics: &[CellDiagnostics]) -> Vec<&CellDiagnostics> {
    let mut chosen: Vec<&CellDiagnostics> = Vec::new();
    for cell in diagnostics.iter().filter(|cell| cell.all.scoring.pairs > 0) {
        let deeper = |a: &CellDiagnostics, b: &CellDiagnostics| {
            a.depth.unwrap_or(u32::MAX) > b.depth.unwrap_or(u32::MAX)
        };
        match chosen.iter_mut().find(|c| c.variant == cell.variant) {
            Some(existing) if deeper(cell, existing) => *existing = cell,
            Some(_) => {}
            None => chosen.push(cell),
        }
    }
    chosen.truncate(MAX_VARIANTS);
    chosen
}

/// The files (under `figures/`, without extension) [`render`] writes, in its order.
pub fn files(diagnostics: &[CellDiagnostics]) -> Vec<String> {
    drawn_cells(diagnostics)
        .into_iter()
        .enumerate()
        .flat_map(|(index, cell)| {
            let base = base_name(index, cell);
            [format!("{base}-scores"), format!("{base}-reliability")]
        })
        .collect()
}

fn base_name(index: usize, cell: &CellDiagnostics) -> String {
    format!("{FOLDER}/{}-{}", index + 1, slug(&cell.variant))
}

/// The depth after a cell's name, unless the name already says it (a depth grid cell's does).
fn depth_words(cell: &CellDiagnostics) -> String {
    match cell.depth {
        Some(depth) if cell.cell == cell.variant => format!(" (depth {depth})"),
        _ => String::new(),
    }
}

/// Every diagnostics figure, two per drawn variant.
pub fn render(
    diagnostics: &[CellDiagnostics],
) -> Result<Vec<DiagnosticFigure>, (String, PlotError)> {
    let mut figures = Vec::new();
    for (index, cell) in drawn_cells(diagnostics).into_iter().enumerate() {
        let base = base_name(index, cell);
        let scoring = &cell.all.scoring;
        let share = |counts: &[usize]| -> Vec<f64> {
            let total: usize = counts.iter().sum();
            counts
                .iter()
                .map(|&count| {
                    if total > 0 {
                        count as f64 / total as f64
                    } else {
                        0.0
                    }
                })
                .collect()
        };
        let labels: usize = scoring.histogram_labels.iter().sum();
        let others: usize = scoring.histogram_others.iter().sum();
        let auc = scoring
            .auc
            .value()
            .map_or("n/a".to_string(), |auc| format!("{auc:.3}"));
        let histogram = Histogram {
            title: format!("Scores of label and other items: {}", cell.variant),
            x_label: "score (P(Yes)), mean over a (sample, item)'s scores".into(),
            y_label: "share of the group".into(),
            edges: (0..=HISTOGRAM_BINS)
                .map(|bin| bin as f64 / HISTOGRAM_BINS as f64)
                .collect(),
            series: vec![
                HistogramSeries {
                    name: format!("label items (n = {})", grouped(labels)),
                    values: share(&scoring.histogram_labels),
                },
                HistogramSeries {
                    name: format!("other items (n = {})", grouped(others)),
                    values: share(&scoring.histogram_others),
                },
            ],
            note: format!(
                "{}{}: ROC AUC {auc}. Labels are only the items the recommender named; \"other\" \
                 items include unknown positives.",
                cell.cell,
                depth_words(cell)
            ),
        };
        let file = format!("{base}-scores");
        let figure = render_histogram(&histogram).map_err(|error| (file.clone(), error))?;
        figures.push(DiagnosticFigure {
            caption: format!(
                "Scores of the label items ({}) and of the other scored items ({}) of {}{}, each \
                 (sample, item) once with the mean of its scores, as shares of their group in \
                 bins of 0.05. ROC AUC {auc}.",
                grouped(labels),
                grouped(others),
                cell.cell,
                depth_words(cell)
            ),
            file,
            figure,
        });
        let points: Vec<(f64, f64)> = scoring
            .calibration
            .iter()
            .filter_map(|bin| Some((bin.mean_score?, bin.label_share?)))
            .collect();
        let ece = scoring
            .ece
            .value()
            .map_or("n/a".to_string(), |ece| format!("{ece:.3}"));
        let chart = ReliabilityChart {
            title: format!("Calibration of the scores: {}", cell.variant),
            x_label: "mean score in the bin".into(),
            y_label: "share of label items in the bin".into(),
            series: vec![Series::new(cell.variant.clone(), points)],
            diagonal: "perfect calibration".into(),
            note: format!(
                "{}{}: 10 equal-width score bins (empty ones left out), ECE {ece}. Against \
                 labels only, so points below the diagonal partly reflect unlabelled positives.",
                cell.cell,
                depth_words(cell)
            ),
        };
        let file = format!("{base}-reliability");
        let figure = render_reliability_chart(&chart).map_err(|error| (file.clone(), error))?;
        figures.push(DiagnosticFigure {
            caption: format!(
                "Reliability diagram of the scores of {}{}: per bin of 0.1, the mean score \
                 against the share of label items; expected calibration error {ece}.",
                cell.cell,
                depth_words(cell)
            ),
            file,
            figure,
        });
    }
    Ok(figures)
}

/// Writes `figures` into `figures_folder/diagnostics/` as SVG and PNG, after removing the SVG
/// and PNG files an earlier report left there, so that the folder shows what the report does.
pub fn write(figures: &[DiagnosticFigure], figures_folder: &Path) -> Result<(), ReportError> {
    let folder = figures_folder.join(FOLDER);
    let error = |path: &Path, message: String| ReportError::Write {
        path: path.display().to_string(),
        message,
    };
    if folder.is_dir() {
        let entries = std::fs::read_dir(&folder).map_err(|e| error(&folder, e.to_string()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let ours = path
                .extension()
                .is_some_and(|extension| extension == "svg" || extension == "png");
            if ours {
                std::fs::remove_file(&path).map_err(|e| error(&path, e.to_string()))?;
            }
        }
    }
    if figures.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(&folder).map_err(|e| error(&folder, e.to_string()))?;
    for figure in figures {
        let path = figures_folder.join(&figure.file);
        figure
            .figure
            .write(&path)
            .map_err(|e| error(&path, e.to_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_file_names() {
        assert_eq!(slug("GRSU"), "grsu");
        assert_eq!(
            slug("- critiquing, beam_width=2"),
            "critiquing-beam-width-2"
        );
        assert_eq!(slug("<script>"), "script");
        assert_eq!(slug("···"), "cell");
        assert_eq!(slug("../../etc/passwd"), "etc-passwd");
    }
}
