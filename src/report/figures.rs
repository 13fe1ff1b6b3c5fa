//! The report's figures, as SVG and PNG: metric against search depth for every method that has
//! depth (Figure 3, imported methods drawn as reference lines) and the methods' bars for Recall@10
//! and NDCG@10 with their standard deviation over seeds (Figure 2).

use std::path::Path;

use super::method_scores::MethodSource;
use super::{Report, ReportError};
use crate::plot::{render_bar_chart, render_line_chart, BarChart, BarSeries, LineChart, Series};

/// The columns of Figure 3.
const DEPTH_FIGURES: [(&str, &str); 2] =
    [("Recall@50", "depth_recall50"), ("NDCG@50", "depth_ndcg50")];

/// The columns of Figure 2.
const ABLATION_COLUMNS: [&str; 2] = ["Recall@10", "NDCG@10"];

/// Writes every figure the report has data for into `folder`; returns nothing when there is none
/// (a sweep with no finished sample).
pub fn write_figures(report: &Report, folder: &Path) -> Result<(), ReportError> {
    let write_error = |path: &Path, message: String| ReportError::Write {
        path: path.display().to_string(),
        message,
    };
    std::fs::create_dir_all(folder).map_err(|error| write_error(folder, error.to_string()))?;
    for (column, file) in DEPTH_FIGURES {
        let Some(chart) = depth_chart(report, column) else {
            continue;
        };
        let path = folder.join(file);
        render_line_chart(&chart)
            .map_err(|error| write_error(&path, error.to_string()))?
            .write(&path)
            .map_err(|error| write_error(&path, error.to_string()))?;
    }
    if let Some(chart) = ablation_chart(report) {
        let path = folder.join("ablation");
        render_bar_chart(&chart)
            .map_err(|error| write_error(&path, error.to_string()))?
            .write(&path)
            .map_err(|error| write_error(&path, error.to_string()))?;
    }
    Ok(())
}

/// Figure 3 for one column: one line per method with depth, imports as horizontal references.
pub fn depth_chart(report: &Report, column: &str) -> Option<LineChart> {
    let series: Vec<Series> = report
        .depth_curves
        .iter()
        .map(|curve| Series {
            name: curve.method.clone(),
            points: curve
                .points
                .iter()
                .filter_map(|point| Some((point.depth as f64, point.values.get(column)?.0)))
                .collect(),
        })
        .filter(|series| !series.points.is_empty())
        .collect();
    if series.is_empty() {
        return None;
    }
    let position = report.columns.iter().position(|label| label == column)?;
    let references = report
        .methods
        .iter()
        .filter(|method| matches!(method.source, MethodSource::Imported { .. }))
        .map(|method| (method.name.clone(), method.columns[position].mean))
        .collect();
    Some(LineChart {
        title: format!("{}: {column} by search depth", report.name),
        x_label: "search depth".into(),
        y_label: column.into(),
        series,
        references,
    })
}

/// Figure 2: one bar per method for Recall@10 and NDCG@10, error bars = std over seeds (cut at 0).
pub fn ablation_chart(report: &Report) -> Option<BarChart> {
    let positions: Vec<usize> = ABLATION_COLUMNS
        .iter()
        .map(|column| report.columns.iter().position(|label| label == column))
        .collect::<Option<_>>()?;
    let bars: Vec<BarSeries> = report
        .methods
        .iter()
        .filter(|method| method.samples > 0)
        .map(|method| BarSeries {
            name: method.name.clone(),
            values: positions
                .iter()
                .map(|&position| method.columns[position].mean)
                .collect(),
            errors: (method.seeds.len() > 1).then(|| {
                // Metrics are never negative: an error bar stops at 0.
                positions
                    .iter()
                    .map(|&position| {
                        let column = &method.columns[position];
                        column.std.min(column.mean)
                    })
                    .collect()
            }),
        })
        .collect();
    if bars.is_empty() {
        return None;
    }
    Some(BarChart {
        title: format!("{}: methods compared", report.name),
        y_label: "metric".into(),
        categories: ABLATION_COLUMNS
            .iter()
            .map(|column| column.to_string())
            .collect(),
        bars,
    })
}
