//! The report's figures, as SVG and PNG, made to stay readable for real sweeps (variants × depth
//! grid × output strategies):
//!
//! - Figure 3, a metric against search depth: one line per (variant, output strategy), the depth
//!   cells of a variant folded into it (depth is the x axis, so cells that differ only in
//!   `search.depth` are points of one line, never lines of their own). One colour per variant,
//!   one line style (dash pattern and marker) per output strategy, the legend a key of both when
//!   there are several of each; imported methods are grey dashed reference lines.
//! - Figure 2, the ablation: one group of bars per variant (in the table's order), a bar per
//!   metric (Recall@10, NDCG@10) with its standard deviation over seeds, each variant at the
//!   paper's output strategy ([`PRIMARY_STRATEGY`], else its first) and at its deepest depth;
//!   imports are groups of their own. The other strategies and depths stay in the table.
//!
//! Both figures draw at most so many series ([`MAX_VARIANTS`] × [`MAX_STRATEGIES`] lines,
//! [`MAX_GROUPS`] groups, [`MAX_REFERENCES`] reference lines), in the table's order; what they
//! leave out is said at their foot ("+N more methods in the table"). Series are named after
//! variants and strategies, never after a depth cell.

use std::collections::BTreeMap;
use std::path::Path;

use super::method_scores::MethodSource;
use super::summary::MethodSummary;
use super::{DepthPoint, Report, ReportError};
use crate::plot::{
    render_bar_chart, render_line_chart, BarChart, BarSeries, Dash, Figure, LegendKey, LineChart,
    Marker, PlotError, Series, SeriesStyle,
};

/// The output strategy of the paper's figures.
pub const PRIMARY_STRATEGY: &str = "reward-mean";
/// Most variants (colours) of a depth figure: the palette's colours, none repeated.
pub const MAX_VARIANTS: usize = 8;
/// Most output strategies (line styles) of a depth figure.
pub const MAX_STRATEGIES: usize = 4;
/// Most groups of the ablation chart.
pub const MAX_GROUPS: usize = 12;
/// Most reference lines (imports) of a depth figure: one dash pattern each.
pub const MAX_REFERENCES: usize = 3;

/// Horizontal pixels between the points of neighbouring lines at one depth (a position dodge),
/// and the most from the first line's points to the last's.
const DODGE: f32 = 4.0;
const MAX_DODGE_SPREAD: f32 = 12.0;

/// The columns of Figure 3 and their files.
const DEPTH_FIGURES: [(&str, &str); 2] =
    [("Recall@50", "depth_recall50"), ("NDCG@50", "depth_ndcg50")];

/// The file of Figure 2.
const ABLATION_FILE: &str = "ablation";

/// The columns of Figure 2.
const ABLATION_COLUMNS: [&str; 2] = ["Recall@10", "NDCG@10"];

/// A figure of the report: its file name (without extension), a caption and the picture.
/// Figures are numbered in their order from 1 (`Figure 1`, ...): a caption may refer to an
/// earlier figure by its number.
#[derive(Debug, Clone)]
pub struct ReportFigure {
    pub file: &'static str,
    pub caption: String,
    pub figure: Figure,
}

/// Every figure the report has data for (none for a sweep without a finished sample).
pub fn render_figures(report: &Report) -> Result<Vec<ReportFigure>, (&'static str, PlotError)> {
    let mut figures: Vec<ReportFigure> = Vec::new();
    // The number of the first depth figure, which the next one refers to.
    let mut first_depth_figure = None;
    for (column, file) in DEPTH_FIGURES {
        let Some(chart) = depth_chart(report, column) else {
            continue;
        };
        let figure = render_line_chart(&chart).map_err(|error| (file, error))?;
        let caption = match first_depth_figure {
            None => {
                first_depth_figure = Some(figures.len() + 1);
                depth_caption(column, &chart)
            }
            Some(number) => {
                format!("{column} against search depth, mean over seeds, drawn as Figure {number}.")
            }
        };
        figures.push(ReportFigure {
            file,
            caption,
            figure,
        });
    }
    if let Some(chart) = ablation_chart(report) {
        let file = ABLATION_FILE;
        let figure = render_bar_chart(&chart).map_err(|error| (file, error))?;
        figures.push(ReportFigure {
            file,
            caption: ablation_caption(ablation_groups(report).0),
            figure,
        });
    }
    Ok(figures)
}

/// Writes every figure the report has data for into `folder` as SVG and PNG.
pub fn write_figures(report: &Report, folder: &Path) -> Result<(), ReportError> {
    let figures = render_figures(report).map_err(|(file, error)| ReportError::Write {
        path: folder.join(file).display().to_string(),
        message: error.to_string(),
    })?;
    write_rendered(&figures, folder)
}

/// Writes figures rendered by [`render_figures`] into `folder`, and removes the files of the
/// report's figures that it no longer has (from an earlier report of a sweep that has grown), so
/// that the folder shows what the report does.
pub fn write_rendered(figures: &[ReportFigure], folder: &Path) -> Result<(), ReportError> {
    let write_error = |path: &Path, message: String| ReportError::Write {
        path: path.display().to_string(),
        message,
    };
    std::fs::create_dir_all(folder).map_err(|error| write_error(folder, error.to_string()))?;
    let known = DEPTH_FIGURES
        .iter()
        .map(|(_, file)| *file)
        .chain([ABLATION_FILE]);
    for stale in known.filter(|file| figures.iter().all(|figure| figure.file != *file)) {
        for extension in ["svg", "png"] {
            let path = folder.join(format!("{stale}.{extension}"));
            match std::fs::remove_file(&path) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                    return Err(write_error(&path, error.to_string()))
                }
                _ => {}
            }
        }
    }
    for figure in figures {
        let path = folder.join(figure.file);
        figure
            .figure
            .write(&path)
            .map_err(|error| write_error(&path, error.to_string()))?;
    }
    Ok(())
}

fn depth_caption(column: &str, chart: &LineChart) -> String {
    let keyed = chart.legend.as_ref().is_some_and(|key| !key.is_empty());
    let mut caption = format!("{column} against search depth, mean over seeds");
    match chart.series.len() {
        1 => caption.push('.'),
        _ if keyed => caption.push_str(
            ": one line per variant and output strategy (one colour per variant, one line style \
             and marker per strategy).",
        ),
        _ => caption.push_str(": one line per variant and output strategy, named in the legend."),
    }
    if chart.series.len() > 1 {
        caption.push_str(
            " The lines' points of one depth are set a few pixels apart so that equal values stay \
             visible.",
        );
    }
    caption.push_str(
        " Cells that differ only in depth are one line: its point at depth d comes from the \
         trees of its cell of depth d, or else from its deepest cell's trees cut at d.",
    );
    if !chart.references.is_empty() {
        caption.push_str(" Imported methods are grey dashed reference lines.");
    }
    caption
}

fn ablation_caption(kind: Groups) -> String {
    let groups = match kind {
        Groups::Variants => format!(
            "each variant (at output strategy {PRIMARY_STRATEGY}, or its first strategy, named \
             after it; at its deepest search depth) and each imported method"
        ),
        Groups::Strategies => {
            "each output strategy of the sweep's variant (at its deepest search depth)".to_string()
        }
    };
    format!(
        "Recall@10 and NDCG@10 of {groups}, mean over seeds; error bars: standard deviation over \
         seeds. The other methods are in the table."
    )
}

/// What a cell's method is: its variant, output strategy and depth (`None` for an import).
fn cell_method(method: &MethodSummary) -> Option<(&str, &str, Option<u32>)> {
    match &method.source {
        MethodSource::Cell {
            strategy, depth, ..
        } => Some((
            method.variant.as_deref().unwrap_or(&method.name),
            strategy.as_str(),
            *depth,
        )),
        MethodSource::Imported { .. } => None,
    }
}

/// Depths compared with `None` (whole trees) as the deepest.
fn depth_rank(depth: Option<u32>) -> u32 {
    depth.unwrap_or(u32::MAX)
}

fn point_at(curve: &super::DepthCurve, depth: u32) -> Option<&DepthPoint> {
    curve.points.iter().find(|point| point.depth == depth)
}

/// One line of the depth figure: a variant's output strategy across depth.
#[derive(Debug, Clone)]
pub struct DepthLine {
    pub variant: String,
    pub strategy: String,
    /// Per depth, the point it takes (from the cell of that depth, else the deepest cell).
    pub points: Vec<DepthPoint>,
    /// The table's methods it stands for (its depth cells), with or without a curve.
    pub methods: Vec<String>,
}

/// A method of a depth line and its cell's depth.
type DepthCell<'a> = (&'a MethodSummary, Option<u32>);

/// The lines of the depth figure in the table's order: the depth curves of the cells of one
/// variant and strategy folded into one line.
pub fn depth_lines(report: &Report) -> Vec<DepthLine> {
    let curves: BTreeMap<&str, &super::DepthCurve> = report
        .depth_curves
        .iter()
        .map(|curve| (curve.method.as_str(), curve))
        .collect();
    // Per (variant, strategy), in order of first appearance: its methods and their curves.
    let mut order: Vec<(&str, &str)> = Vec::new();
    let mut members: BTreeMap<(&str, &str), Vec<DepthCell>> = BTreeMap::new();
    for method in &report.methods {
        let Some((variant, strategy, depth)) = cell_method(method) else {
            continue;
        };
        let entry = members.entry((variant, strategy)).or_default();
        if entry.is_empty() {
            order.push((variant, strategy));
        }
        entry.push((method, depth));
    }
    order
        .into_iter()
        .filter_map(|key| {
            let cells = &members[&key];
            let with_curves: Vec<(Option<u32>, &super::DepthCurve)> = cells
                .iter()
                .filter_map(|(method, depth)| Some((*depth, *curves.get(method.name.as_str())?)))
                .collect();
            let mut depths: Vec<u32> = with_curves
                .iter()
                .flat_map(|(_, curve)| curve.points.iter().map(|point| point.depth))
                .collect();
            depths.sort_unstable();
            depths.dedup();
            let points: Vec<DepthPoint> = depths
                .into_iter()
                .filter_map(|depth| {
                    let own = with_curves
                        .iter()
                        .filter(|(cell_depth, _)| *cell_depth == Some(depth))
                        .find_map(|(_, curve)| point_at(curve, depth));
                    let deepest = with_curves
                        .iter()
                        .filter(|(_, curve)| point_at(curve, depth).is_some())
                        .max_by_key(|(cell_depth, curve)| {
                            (depth_rank(*cell_depth), curve.points.len())
                        })
                        .and_then(|(_, curve)| point_at(curve, depth));
                    own.or(deepest).cloned()
                })
                .collect();
            (!points.is_empty()).then(|| DepthLine {
                variant: key.0.to_string(),
                strategy: key.1.to_string(),
                points,
                methods: cells
                    .iter()
                    .map(|(method, _)| method.name.clone())
                    .collect(),
            })
        })
        .collect()
}

/// `values` without repeats, in order of first appearance.
fn distinct<'a>(values: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = Vec::new();
    for value in values {
        if !seen.contains(&value) {
            seen.push(value);
        }
    }
    seen
}

fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// Figure 3 for one column: one line per variant and output strategy across depth, imports as
/// horizontal references.
pub fn depth_chart(report: &Report, column: &str) -> Option<LineChart> {
    let position = report.columns.iter().position(|label| label == column)?;
    let lines: Vec<DepthLine> = depth_lines(report)
        .into_iter()
        .filter(|line| line.points.iter().any(|p| p.values.contains_key(column)))
        .collect();
    if lines.is_empty() {
        return None;
    }
    let all_variants = distinct(lines.iter().map(|line| line.variant.as_str()));
    let all_strategies = distinct(lines.iter().map(|line| line.strategy.as_str()));
    let variants = &all_variants[..all_variants.len().min(MAX_VARIANTS)];
    let strategies = &all_strategies[..all_strategies.len().min(MAX_STRATEGIES)];
    let (shown, cut): (Vec<&DepthLine>, Vec<&DepthLine>) = lines.iter().partition(|line| {
        variants.contains(&line.variant.as_str()) && strategies.contains(&line.strategy.as_str())
    });
    let (several_variants, several_strategies) = (variants.len() > 1, strategies.len() > 1);
    // A key (colours, then line styles) when some variant has several lines; else one entry
    // per line.
    let keyed = several_variants && several_strategies && shown.len() > variants.len();
    // Lines often tie (reward-mean and reward-sum rank alike, without scores every strategy
    // does, and variants agree at depth 1): their points a few pixels apart, each stays visible.
    // With a key, the strategies of a variant are set apart; else every line.
    let dodge = |slot: usize, slots: usize| {
        let step = if slots > 1 {
            DODGE.min(MAX_DODGE_SPREAD / (slots - 1) as f32)
        } else {
            0.0
        };
        step * (slot as f32 - (slots.max(1) - 1) as f32 / 2.0)
    };
    let series: Vec<Series> = shown
        .iter()
        .enumerate()
        .map(|(index, line)| {
            let variant = variants
                .iter()
                .position(|v| *v == line.variant)
                .unwrap_or(0);
            let strategy = strategies
                .iter()
                .position(|s| *s == line.strategy)
                .unwrap_or(0);
            let name = if several_strategies {
                format!("{} · {}", line.variant, line.strategy)
            } else {
                line.variant.clone()
            };
            let points = line
                .points
                .iter()
                .filter_map(|point| Some((point.depth as f64, point.values.get(column)?.0)))
                .collect();
            Series::new(name, points).with_style(SeriesStyle {
                color: if several_variants { variant } else { strategy },
                dash: Dash::nth(strategy),
                marker: Marker::nth(if several_strategies {
                    strategy
                } else {
                    variant
                }),
                dodge: if keyed {
                    dodge(strategy, strategies.len())
                } else {
                    dodge(index, shown.len())
                },
            })
        })
        .collect();
    let legend = keyed.then(|| {
        let colours = variants
            .iter()
            .enumerate()
            .map(|(index, variant)| LegendKey {
                label: variant.to_string(),
                color: Some(index),
                dash: Dash::Solid,
                marker: None,
            });
        let styles = strategies
            .iter()
            .enumerate()
            .map(|(index, strategy)| LegendKey {
                label: strategy.to_string(),
                color: None,
                dash: Dash::nth(index),
                marker: Some(Marker::nth(index)),
            });
        colours.chain(styles).collect()
    });
    let imports: Vec<&MethodSummary> = report
        .methods
        .iter()
        .filter(|method| matches!(method.source, MethodSource::Imported { .. }))
        .collect();
    let references: Vec<(String, f64)> = imports
        .iter()
        .take(MAX_REFERENCES)
        .map(|method| (method.name.clone(), method.columns[position].mean))
        .collect();
    // A single line needs no legend: the title names the sweep and the strategy.
    let legend = if series.len() == 1 && references.is_empty() {
        Some(Vec::new())
    } else {
        legend
    };
    let mut shown_parts = Vec::new();
    if all_variants.len() > variants.len() {
        shown_parts.push(format!(
            "{} of {} variants",
            variants.len(),
            all_variants.len()
        ));
    }
    if all_strategies.len() > strategies.len() {
        shown_parts.push(format!(
            "{} of {} output strategies",
            strategies.len(),
            all_strategies.len()
        ));
    }
    if imports.len() > MAX_REFERENCES {
        shown_parts.push(format!("{MAX_REFERENCES} of {} imports", imports.len()));
    }
    let left_out = cut.iter().map(|line| line.methods.len()).sum::<usize>()
        + imports.len().saturating_sub(MAX_REFERENCES);
    let note = if shown_parts.is_empty() {
        String::new()
    } else {
        format!(
            "The first {}; +{} in the table.",
            shown_parts.join(", "),
            plural(left_out, "more method", "more methods")
        )
    };
    let title = if several_strategies {
        format!("{}: {column} by search depth", report.name)
    } else {
        format!(
            "{}: {column} by search depth ({})",
            report.name, strategies[0]
        )
    };
    Some(LineChart {
        title,
        x_label: "search depth".into(),
        y_label: column.into(),
        series,
        references,
        legend,
        note,
    })
}

/// The method of `methods` with output strategy `strategy` at the deepest depth (the first of
/// equals).
fn deepest<'a>(methods: &[&'a MethodSummary], strategy: &str) -> Option<&'a MethodSummary> {
    methods
        .iter()
        .filter_map(|m| {
            let (_, s, depth) = cell_method(m)?;
            (s == strategy).then_some((depth_rank(depth), *m))
        })
        .fold(
            None,
            |best: Option<(u32, &MethodSummary)>, (depth, m)| match best {
                Some((best_depth, _)) if best_depth >= depth => best,
                _ => Some((depth, m)),
            },
        )
        .map(|(_, m)| m)
}

/// What the groups of the ablation chart are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Groups {
    /// A group per variant (at its primary strategy and deepest depth) and per import.
    Variants,
    /// A sweep of one variant: a group per output strategy, each at its deepest depth.
    Strategies,
}

/// The groups of the ablation chart in the table's order, each with its label and method.
fn ablation_groups(report: &Report) -> (Groups, Vec<(String, &MethodSummary)>) {
    let mut order: Vec<&str> = Vec::new();
    let mut of_variant: BTreeMap<&str, Vec<&MethodSummary>> = BTreeMap::new();
    for method in report.methods.iter().filter(|method| method.samples > 0) {
        // Imports are keyed by their name, which no variant takes: a variant is a cell's name
        // or part of one, and `grsu import` refuses a cell's name.
        let key = cell_method(method).map_or(method.name.as_str(), |(variant, _, _)| variant);
        let entry = of_variant.entry(key).or_default();
        if entry.is_empty() {
            order.push(key);
        }
        entry.push(method);
    }
    if let [only] = order.as_slice() {
        let methods = &of_variant[only];
        let strategies = distinct(methods.iter().filter_map(|m| Some(cell_method(m)?.1)));
        if strategies.len() > 1 {
            let groups = strategies
                .iter()
                .filter_map(|strategy| Some((strategy.to_string(), deepest(methods, strategy)?)))
                .collect();
            return (Groups::Strategies, groups);
        }
    }
    let groups = order
        .into_iter()
        .filter_map(|key| {
            let methods = &of_variant[key];
            let first = methods.first()?;
            let Some((_, first_strategy, _)) = cell_method(first) else {
                return Some((first.name.clone(), *first));
            };
            let strategy = if methods
                .iter()
                .any(|m| cell_method(m).is_some_and(|(_, s, _)| s == PRIMARY_STRATEGY))
            {
                PRIMARY_STRATEGY
            } else {
                first_strategy
            };
            let label = if strategy == PRIMARY_STRATEGY {
                key.to_string()
            } else {
                format!("{key} · {strategy}")
            };
            Some((label, deepest(methods, strategy)?))
        })
        .collect();
    (Groups::Variants, groups)
}

/// Figure 2: a group per variant (its primary strategy at its deepest depth) and per import, a
/// bar per metric (Recall@10, NDCG@10), error bars = std over seeds (cut at 0). A sweep of one
/// variant gets a group per output strategy instead; none when that variant has one strategy
/// and several depths (the depth figure shows them).
pub fn ablation_chart(report: &Report) -> Option<BarChart> {
    let positions: Vec<usize> = ABLATION_COLUMNS
        .iter()
        .map(|column| report.columns.iter().position(|label| label == column))
        .collect::<Option<_>>()?;
    let (kind, groups) = ablation_groups(report);
    let drawn = report.methods.iter().filter(|m| m.samples > 0).count();
    if groups.is_empty() || (groups.len() == 1 && drawn > 1) {
        return None;
    }
    let shown = &groups[..groups.len().min(MAX_GROUPS)];
    let bars = ABLATION_COLUMNS
        .iter()
        .zip(&positions)
        .map(|(column, &position)| BarSeries {
            name: column.to_string(),
            values: shown
                .iter()
                .map(|(_, method)| method.columns[position].mean)
                .collect(),
            errors: shown
                .iter()
                .any(|(_, method)| method.seeds.len() > 1)
                .then(|| {
                    // Metrics are never negative: an error bar stops at 0.
                    shown
                        .iter()
                        .map(|(_, method)| {
                            let column = &method.columns[position];
                            if method.seeds.len() > 1 {
                                column.std.min(column.mean)
                            } else {
                                0.0
                            }
                        })
                        .collect()
                }),
        })
        .collect();
    // Methods that are other strategies or depths of a group, and groups past the cap.
    let (folded, capped) = (drawn - groups.len(), groups.len() - shown.len());
    let mut notes = Vec::new();
    if capped > 0 {
        let what = match kind {
            Groups::Strategies => "output strategies",
            Groups::Variants if groups.iter().any(|(_, m)| cell_method(m).is_none()) => {
                "variants and imports"
            }
            Groups::Variants => "variants",
        };
        notes.push(format!(
            "The first {} of {} {what}.",
            shown.len(),
            groups.len()
        ));
    }
    if folded > 0 {
        notes.push(match kind {
            Groups::Variants => format!(
                "Each variant at {PRIMARY_STRATEGY} (or its first strategy) and its deepest depth."
            ),
            Groups::Strategies => "Each strategy at its deepest depth.".to_string(),
        });
    }
    if folded + capped > 0 {
        notes.push(format!(
            "+{} in the table.",
            plural(folded + capped, "more method", "more methods")
        ));
    }
    let title = match kind {
        Groups::Variants => format!("{}: variants compared", report.name),
        Groups::Strategies => format!("{}: output strategies compared", report.name),
    };
    Some(BarChart {
        title,
        y_label: "metric".into(),
        categories: shown.iter().map(|(label, _)| label.clone()).collect(),
        bars,
        note: notes.join(" "),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::{BTreeSet, HashSet};

    use super::*;
    use crate::report::summary::{ColumnSummary, CostSummary, Significance, TABLE_COLUMNS};
    use crate::report::{DepthCurve, Sharing};

    /// The value of `column` for a variant and strategy at `depth`, read from the cell of depth
    /// `cell_depth`: distinct per cell, so that tests see which cell a point came from.
    fn value(variant: usize, strategy: usize, depth: u32, cell_depth: u32, column: usize) -> f64 {
        0.1 + 0.05 * variant as f64
            + 0.01 * strategy as f64
            + 0.02 * depth as f64
            + 0.001 * cell_depth as f64
            + 0.0001 * column as f64
    }

    fn columns(values: impl Fn(usize) -> f64, seeds: usize) -> Vec<ColumnSummary> {
        TABLE_COLUMNS
            .iter()
            .enumerate()
            .map(|(index, column)| ColumnSummary {
                column: column.label(),
                mean: values(index),
                std: if seeds > 1 { 0.01 } else { 0.0 },
                per_seed: (0..seeds as u64)
                    .map(|seed| (seed, values(index)))
                    .collect(),
                interval: Some((values(index) - 0.05, values(index) + 0.05)),
                p_value: None,
                t: None,
                paired_samples: 0,
                significance: Significance::NotSignificant,
                p_holm: None,
                holm_family: 0,
                wilcoxon: None,
                difference: None,
            })
            .collect()
    }

    /// A report of `variants` × `search.depth` = `depths` × `strategies`, named as a sweep names
    /// its cells (`GRSU, depth=2 · vote`), with the depth curves `Report::from_store` computes
    /// (points 1..=depth for cells of depth 2 and more), and `imports` imported methods.
    pub(crate) fn sweep_report(
        variants: &[&str],
        depths: &[u32],
        strategies: &[&str],
        imports: usize,
    ) -> Report {
        let seeds = vec![0, 1];
        let mut methods = Vec::new();
        let mut depth_curves = Vec::new();
        for (v, variant) in variants.iter().enumerate() {
            for &depth in depths {
                let cell = if depths.len() > 1 {
                    format!("{variant}, depth={depth}")
                } else {
                    variant.to_string()
                };
                for (s, strategy) in strategies.iter().enumerate() {
                    let name = if strategies.len() > 1 {
                        format!("{cell} · {strategy}")
                    } else {
                        cell.clone()
                    };
                    methods.push(MethodSummary {
                        name: name.clone(),
                        source: MethodSource::Cell {
                            cell: cell.clone(),
                            strategy: strategy.to_string(),
                            search: format!("search-{v}"),
                            depth: Some(depth),
                        },
                        seeds: seeds.clone(),
                        samples: 30,
                        columns: columns(|c| value(v, s, depth, depth, c), seeds.len()),
                        cost: CostSummary::default(),
                        variant: Some(variant.to_string()),
                    });
                    if depth >= 2 {
                        depth_curves.push(DepthCurve {
                            method: name,
                            points: (1..=depth)
                                .map(|d| DepthPoint {
                                    depth: d,
                                    values: TABLE_COLUMNS[..4]
                                        .iter()
                                        .enumerate()
                                        .map(|(c, column)| {
                                            (column.label(), (value(v, s, d, depth, c), 0.01))
                                        })
                                        .collect(),
                                })
                                .collect(),
                        });
                    }
                }
            }
        }
        for index in 0..imports {
            methods.push(MethodSummary {
                name: format!("import {index}"),
                source: MethodSource::Imported {
                    source: "preds.jsonl".into(),
                },
                seeds: vec![0],
                samples: 30,
                columns: columns(|_| 0.2 + 0.01 * index as f64, 1),
                cost: CostSummary::default(),
                variant: None,
            });
        }
        Report {
            name: "ablation_depth".into(),
            sweep_hash: "0123abcd".into(),
            seeds,
            baseline: methods.first().map(|m| m.name.clone()),
            columns: TABLE_COLUMNS.iter().map(|c| c.label()).collect(),
            methods,
            depth_curves,
            sharing: Sharing::default(),
            cells: Vec::new(),
            diagnostics: Vec::new(),
        }
    }

    const VARIANTS: [&str; 3] = ["GRSU", "- critiquing", "- scoring"];
    const STRATEGIES: [&str; 4] = ["reward-mean", "reward-sum", "vote", "best-list"];

    fn the_36_method_report() -> Report {
        let report = sweep_report(&VARIANTS, &[1, 2, 3], &STRATEGIES, 0);
        assert_eq!(report.methods.len(), 36);
        assert_eq!(report.depth_curves.len(), 24);
        report
    }

    fn style(series: &Series) -> SeriesStyle {
        series.style.expect("styled by the report")
    }

    #[test]
    fn depth_cells_fold_into_one_line_per_variant_and_strategy() {
        let report = the_36_method_report();
        let chart = depth_chart(&report, "Recall@50").expect("a depth figure");
        assert_eq!(chart.series.len(), 12, "3 variants × 4 strategies");
        let names: Vec<&str> = chart.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names[0], "GRSU · reward-mean");
        assert_eq!(names[4], "- critiquing · reward-mean");
        assert_eq!(names[11], "- scoring · best-list");
        for name in &names {
            assert!(!name.contains("depth="), "{name}");
        }
        let colours: BTreeSet<usize> = chart.series.iter().map(|s| style(s).color).collect();
        assert_eq!(colours.len(), 3, "one colour per variant");
        let styles: HashSet<(Dash, Marker)> = chart
            .series
            .iter()
            .map(|s| (style(s).dash, style(s).marker))
            .collect();
        assert_eq!(styles.len(), 4, "one line style per strategy");
        for series in &chart.series {
            let variant = VARIANTS
                .iter()
                .position(|v| series.name.starts_with(&format!("{v} · ")))
                .unwrap();
            assert_eq!(style(series).color, variant, "{}", series.name);
        }
        // Every line runs over depths 1..=3; depth 2 comes from the depth-2 cell, depths 1 and
        // 3 from the depth-3 cell (the depth-1 cell has no curve).
        let vote = &chart.series[2];
        assert_eq!(vote.name, "GRSU · vote");
        let expected: Vec<(f64, f64)> = [(1, 3), (2, 2), (3, 3)]
            .iter()
            .map(|&(d, cell)| (d as f64, value(0, 2, d, cell, 1)))
            .collect();
        assert_eq!(vote.points, expected);
        // The legend is a key: the variants' colours, then the strategies' line styles, each in
        // the table's order.
        let key: Vec<&str> = chart
            .legend
            .as_ref()
            .expect("a key")
            .iter()
            .map(|k| k.label.as_str())
            .collect();
        assert_eq!(
            key,
            [
                "GRSU",
                "- critiquing",
                "- scoring",
                "reward-mean",
                "reward-sum",
                "vote",
                "best-list"
            ]
        );
        assert!(chart.note.is_empty(), "nothing cut: {}", chart.note);
        // It renders, and the same way twice.
        let figure = render_line_chart(&chart).expect("renders");
        assert_eq!(figure, render_line_chart(&chart).expect("renders"));
        // The captions say how to read the figures.
        let figures = render_figures(&report).expect("renders");
        let captions: Vec<&str> = figures.iter().map(|f| f.caption.as_str()).collect();
        assert_eq!(captions.len(), 3);
        assert!(captions[0].contains("one colour per variant, one line style and marker"));
        assert!(
            captions[1].ends_with("drawn as Figure 1."),
            "{}",
            captions[1]
        );
        assert!(captions[2].starts_with("Recall@10 and NDCG@10 of each variant"));
    }

    #[test]
    fn the_ablation_chart_has_a_group_per_variant_at_the_primary_strategy_and_deepest_depth() {
        let report = the_36_method_report();
        let chart = ablation_chart(&report).expect("an ablation chart");
        assert_eq!(chart.categories, ["GRSU", "- critiquing", "- scoring"]);
        let names: Vec<&str> = chart.bars.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["Recall@10", "NDCG@10"], "a bar (colour) per metric");
        // Recall@10 (column 0) of reward-mean (strategy 0) at depth 3.
        for (v, value_shown) in chart.bars[0].values.iter().enumerate() {
            assert_eq!(*value_shown, value(v, 0, 3, 3, 0));
        }
        assert!(chart.bars[0].errors.is_some(), "two seeds: error bars");
        assert!(
            chart.note.contains("+33 more methods in the table"),
            "{}",
            chart.note
        );
        render_bar_chart(&chart).expect("renders");
    }

    #[test]
    fn a_variant_without_the_primary_strategy_shows_its_first_and_says_so() {
        // Figure 2's config: variants with one strategy each, not all reward-mean.
        let mut report = sweep_report(&["GRSU", "- scoring"], &[5], &["reward-mean"], 1);
        if let MethodSource::Cell { strategy, .. } = &mut report.methods[1].source {
            *strategy = "vote".into();
        }
        let chart = ablation_chart(&report).expect("an ablation chart");
        assert_eq!(chart.categories, ["GRSU", "- scoring · vote", "import 0"]);
        assert!(chart.note.is_empty(), "{}", chart.note);
        let depth = depth_chart(&report, "Recall@50").expect("a depth figure");
        let names: Vec<&str> = depth.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["GRSU · reward-mean", "- scoring · vote"]);
        assert!(depth.legend.is_none(), "one entry per line");
        assert_eq!(depth.references, [("import 0".to_string(), 0.2)]);
    }

    #[test]
    fn a_sweep_of_one_variant_over_depth_has_one_line_and_no_ablation_chart() {
        // Figure 3's config: only `search.depth` varies; cells are named `depth=1` ...
        let mut report = sweep_report(&["figure3"], &[1, 2, 3, 4, 5], &["reward-mean"], 0);
        for method in &mut report.methods {
            method.variant = Some("figure3".into());
        }
        let chart = depth_chart(&report, "NDCG@50").expect("a depth figure");
        assert_eq!(chart.series.len(), 1);
        let depths: Vec<f64> = chart.series[0].points.iter().map(|p| p.0).collect();
        assert_eq!(depths, [1.0, 2.0, 3.0, 4.0, 5.0]);
        // Each depth from its own cell.
        assert_eq!(chart.series[0].points[3].1, value(0, 0, 4, 4, 3));
        assert_eq!(chart.legend, Some(Vec::new()), "no legend for one line");
        assert!(chart.title.ends_with("(reward-mean)"), "{}", chart.title);
        assert!(ablation_chart(&report).is_none());
        // One variant with several strategies: the strategies are the groups.
        let report = sweep_report(&["GRSU"], &[2], &STRATEGIES, 0);
        let chart = ablation_chart(&report).expect("an ablation chart");
        assert_eq!(chart.categories, STRATEGIES);
        assert!(chart.title.contains("output strategies"));
    }

    #[test]
    fn the_caps_cut_series_and_say_so_in_the_figure() {
        let variants: Vec<String> = (0..15).map(|i| format!("variant {i}")).collect();
        let variants: Vec<&str> = variants.iter().map(String::as_str).collect();
        let strategies = ["reward-mean", "reward-sum", "vote", "best-list", "fifth"];
        let report = sweep_report(&variants, &[1, 2], &strategies, 5);
        let chart = depth_chart(&report, "Recall@50").expect("a depth figure");
        assert_eq!(chart.series.len(), MAX_VARIANTS * MAX_STRATEGIES);
        let colours: BTreeSet<usize> = chart.series.iter().map(|s| style(s).color).collect();
        assert_eq!(colours.len(), MAX_VARIANTS, "no colour repeats");
        assert_eq!(chart.references.len(), MAX_REFERENCES);
        // 15 × 5 lines of 2 methods each, 8 × 4 of them drawn.
        let cut = (15 * 5 - 8 * 4) * 2;
        assert_eq!(
            chart.note,
            format!(
                "The first 8 of 15 variants, 4 of 5 output strategies, 3 of 5 imports; +{} more \
                 methods in the table.",
                cut + 2
            )
        );
        render_line_chart(&chart).expect("renders");

        let bars = ablation_chart(&report).expect("an ablation chart");
        assert_eq!(bars.categories.len(), MAX_GROUPS);
        assert_eq!(bars.categories[0], "variant 0");
        // 15 variants and 5 imports: 20 groups, 12 drawn; 15 × 2 × 5 + 5 methods in all.
        assert!(
            bars.note
                .contains("The first 12 of 20 variants and imports."),
            "{}",
            bars.note
        );
        let left = 15 * 2 * 5 + 5 - 12;
        assert!(
            bars.note
                .contains(&format!("+{left} more methods in the table")),
            "{}",
            bars.note
        );
        render_bar_chart(&bars).expect("renders");
        // To look at them: GRSU_REPORT_FIGURES=<folder>.
        if let Some(folder) = std::env::var_os("GRSU_REPORT_FIGURES") {
            let folder = std::path::PathBuf::from(folder);
            std::fs::create_dir_all(&folder).unwrap();
            let figure = render_line_chart(&chart).unwrap();
            figure.write(&folder.join("capped_depth")).unwrap();
            let figure = render_bar_chart(&bars).unwrap();
            figure.write(&folder.join("capped_ablation")).unwrap();
        }
    }

    #[test]
    fn stale_figures_are_removed_and_present_ones_written() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("figures");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("ablation.svg"), "old").unwrap();
        std::fs::write(folder.join("notes.txt"), "mine").unwrap();
        let mut report = sweep_report(&["only"], &[1, 2, 3], &["reward-mean"], 0);
        for method in &mut report.methods {
            method.variant = Some("only".into());
        }
        write_figures(&report, &folder).unwrap();
        assert!(folder.join("depth_recall50.svg").exists());
        assert!(folder.join("depth_ndcg50.png").exists());
        assert!(
            !folder.join("ablation.svg").exists(),
            "no ablation chart now"
        );
        assert!(folder.join("notes.txt").exists(), "other files stay");
        let figures = render_figures(&report).unwrap();
        let files: Vec<&str> = figures.iter().map(|f| f.file).collect();
        assert_eq!(files, ["depth_recall50", "depth_ndcg50"]);
    }
}
