//! Reports of a sweep, computed from its store alone: the paper's Table 3 layout (methods ×
//! Recall/NDCG/MRR at 10 and 50) with mean ± std over seeds, a paired t-test per sample against a
//! baseline, bootstrap intervals and cost columns; the depth curves of Figure 3 and the ablation
//! bars of Figure 2; the calls saved by sharing searches and responses between cells.
//!
//! Deleting every file of an output folder but the store and running `grsu report` gives the
//! same report: nothing here reads anything but the store.
//!
//! ## Layout
//!
//! - [`method_scores`]: per-sample metrics of every method (cell × output strategy, imports).
//! - [`summary`]: the statistics of one method (mean ± std, interval, t-test with Holm's
//!   adjustment, Wilcoxon test, paired difference, cost).
//! - [`tables`]: Markdown and CSV renderings.
//! - [`figures`]: the SVG and PNG plots.
//! - [`html`]: `report.html`, tables and figures in one self-contained page.
//! - [`status`]: progress and errors per cell (`grsu status`).
//! - [`diagnostics`]: diagnostics of the simulated user, the critiques, the CRS and the search
//!   per cell (AUC, calibration, hallucinated titles, search loss against ranking loss, ...).

pub mod diagnostics;
pub mod figures;
pub mod html;
pub mod method_scores;
pub mod status;
pub mod summary;
pub mod tables;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::metrics::SampleMetrics;
use crate::search::{rank, OutputStrategy};
use crate::statistics::{mean, sample_std};
use crate::store::{CellManifest, SampleRecord, Store, StoreError, SweepManifest};
use method_scores::{method_scores, MethodSource, RecordsBySearch};
use status::{cell_status, CellStatus};
use summary::{summarize_methods, Column, MethodSummary, TABLE_COLUMNS};

/// A report that cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}: no sweep was started there (no manifest in its store)")]
    NoManifest(String),
    #[error("no method named `{name}`; methods: {known}")]
    UnknownBaseline { name: String, known: String },
    #[error("cannot write {path}: {message}")]
    Write { path: String, message: String },
}

/// Choices of a report.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// The method the others are tested against; default: the first method.
    pub baseline: Option<String>,
}

/// One point of a depth curve: the metrics of trees truncated at `depth`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DepthPoint {
    pub depth: u32,
    /// Per column label: (mean, std) over seeds.
    pub values: BTreeMap<String, (f64, f64)>,
}

/// A method's metrics against search depth (Figure 3).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DepthCurve {
    pub method: String,
    pub points: Vec<DepthPoint>,
}

/// Model calls the sweep made against what its cells would have made run one by one, each with
/// only its own per-sample cache (the reference implementation's situation).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Sharing {
    pub cells: usize,
    pub searches: usize,
    /// Σ over cells of the distinct requests of their samples.
    pub calls_alone: u64,
    /// Calls the sweep made (Σ over searches of their records' model calls).
    pub calls_made: u64,
    pub calls_saved: u64,
}

/// A whole report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub name: String,
    pub sweep_hash: String,
    pub seeds: Vec<u64>,
    pub baseline: Option<String>,
    pub columns: Vec<String>,
    pub methods: Vec<MethodSummary>,
    pub depth_curves: Vec<DepthCurve>,
    pub sharing: Sharing,
    pub cells: Vec<CellStatus>,
    /// Diagnostics of each cell with a record ([`diagnostics`]); empty in reports written before
    /// they existed.
    #[serde(default)]
    pub diagnostics: Vec<diagnostics::CellDiagnostics>,
}

/// Columns of the depth curves (Recall and NDCG at 10 and 50; Figure 3 plots the @50 ones).
pub fn depth_columns() -> &'static [Column] {
    &TABLE_COLUMNS[..4]
}

impl Report {
    /// Builds the report of the sweep in `store`.
    pub fn from_store(store: &Store, options: &ReportOptions) -> Result<Report, ReportError> {
        let manifest = store
            .manifest()?
            .ok_or_else(|| ReportError::NoManifest("this output folder".into()))?;
        // One record at a time, its raw answers read at once: the report holds the records'
        // trees, not their request keys (a paper sweep's report stays within its run's memory).
        let (records, answers) =
            diagnostics::answer_book::read_records_and_answers(store, &manifest)?;
        Report::build(store, &manifest, &records, answers, options)
    }

    /// The report of `manifest`'s sweep over `records` (all the store's records, whole, read
    /// once by a caller that needs them too); the store gives failures, imports and the
    /// response cache.
    pub fn from_records(
        store: &Store,
        manifest: &SweepManifest,
        records: &[SampleRecord],
        options: &ReportOptions,
    ) -> Result<Report, ReportError> {
        Report::build(
            store,
            manifest,
            records,
            diagnostics::answer_book::AnswerBook::read_as_cells_go(),
            options,
        )
    }

    /// The report over `records`, with the raw answers `answers` holds (the rest read from the
    /// records' request keys).
    fn build(
        store: &Store,
        manifest: &SweepManifest,
        records: &[SampleRecord],
        answers: diagnostics::answer_book::AnswerBook,
        options: &ReportOptions,
    ) -> Result<Report, ReportError> {
        let manifest = manifest.clone();
        let failures = store.failures()?;
        let imports = store.imports()?;
        let mut by_search: RecordsBySearch = BTreeMap::new();
        for record in records {
            by_search
                .entry(record.search.clone())
                .or_default()
                .push(record);
        }
        let methods = method_scores(&manifest, &by_search, &imports)?;
        // A method by its exact name, else a cell's method written `cell/strategy`,
        // `cell strategy` or `cell·strategy` (`·` is awkward to type): one match, or none.
        let spelt_as = |method: &&method_scores::MethodScores, name: &str| match &method.source {
            MethodSource::Cell { cell, strategy, .. }
                if method.name == format!("{cell} · {strategy}") =>
            {
                name.strip_prefix(cell.as_str())
                    .and_then(|rest| rest.strip_suffix(strategy.as_str()))
                    .is_some_and(|separator| {
                        !separator.is_empty() && matches!(separator.trim(), "" | "/" | "·")
                    })
            }
            _ => false,
        };
        let baseline = match &options.baseline {
            None => methods.first(),
            Some(name) => {
                let exact = methods.iter().find(|m| &m.name == name);
                let spelt: Vec<_> = methods.iter().filter(|m| spelt_as(m, name)).collect();
                let found = exact.or(match spelt.as_slice() {
                    [only] => Some(*only),
                    _ => None,
                });
                Some(found.ok_or_else(|| {
                    ReportError::UnknownBaseline {
                        name: name.clone(),
                        known: methods
                            .iter()
                            .map(|m| format!("`{}`", m.name))
                            .collect::<Vec<_>>()
                            .join(", "),
                    }
                })?)
            }
        };
        let variants: BTreeMap<&str, String> = manifest
            .cells
            .iter()
            .map(|cell| (cell.name.as_str(), variant_name(cell, &manifest.name)))
            .collect();
        // Tested against the baseline, with Holm's adjustment over the methods of each column.
        let mut summaries = summarize_methods(&methods, baseline, &TABLE_COLUMNS);
        for (summary, method) in summaries.iter_mut().zip(&methods) {
            if let MethodSource::Cell { cell, .. } = &method.source {
                summary.variant = variants.get(cell.as_str()).cloned();
            }
        }
        let cell_records: BTreeMap<&str, Vec<&SampleRecord>> = manifest
            .cells
            .iter()
            .map(|cell| {
                let of_search = by_search.get(&cell.search).into_iter().flatten().copied();
                (cell.name.as_str(), manifest.cell_records(cell, of_search))
            })
            .collect();
        let depth_curves = methods
            .iter()
            .filter_map(|method| match &method.source {
                MethodSource::Cell {
                    cell,
                    strategy,
                    depth,
                    ..
                } => depth_curve(
                    &method.name,
                    strategy,
                    cell_records.get(cell.as_str()).map_or(&[], Vec::as_slice),
                    *depth,
                ),
                MethodSource::Imported { .. } => None,
            })
            .collect();
        let calls_alone = cell_records
            .values()
            .flatten()
            .flat_map(|record| record.calls.values())
            .map(|counts| counts.distinct_requests)
            .sum();
        // Each record once, however many cells read it.
        let reported: BTreeMap<(&str, u64, &str), &SampleRecord> = cell_records
            .values()
            .flatten()
            .map(|record| {
                (
                    (record.search.as_str(), record.seed, record.sample.as_str()),
                    *record,
                )
            })
            .collect();
        let calls_made = reported
            .values()
            .flat_map(|record| record.calls.values())
            .map(|counts| counts.calls)
            .sum();
        let diagnostics = diagnostics::diagnose(store, &manifest, &cell_records, answers);
        Ok(Report {
            name: manifest.name.clone(),
            sweep_hash: manifest.sweep_hash.clone(),
            seeds: manifest.seeds.clone(),
            baseline: baseline.map(|method| method.name.clone()),
            columns: TABLE_COLUMNS.iter().map(Column::label).collect(),
            methods: summaries,
            depth_curves,
            sharing: Sharing {
                cells: manifest.cells.len(),
                searches: manifest.searches.len(),
                calls_alone,
                calls_made,
                calls_saved: calls_alone.saturating_sub(calls_made),
            },
            cells: cell_status(&manifest, records, &failures),
            diagnostics,
        })
    }

    /// Writes `report.md`, `report.csv`, `report.json`, the figures (`figures/*.svg`, `*.png`)
    /// and `report.html` (all of it in one self-contained page) into `output`.
    pub fn write_all(&self, output: &Path) -> Result<(), ReportError> {
        let write = |name: &str, bytes: &[u8]| {
            let path = output.join(name);
            std::fs::write(&path, bytes).map_err(|error| ReportError::Write {
                path: path.display().to_string(),
                message: error.to_string(),
            })
        };
        write("report.md", tables::markdown(self).as_bytes())?;
        write("report.csv", tables::csv(self).as_bytes())?;
        write(
            "report.json",
            &serde_json::to_vec_pretty(self).expect("a report serialises"),
        )?;
        let folder = output.join("figures");
        let figures =
            figures::render_figures(self).map_err(|(file, error)| ReportError::Write {
                path: folder.join(file).display().to_string(),
                message: error.to_string(),
            })?;
        figures::write_rendered(&figures, &folder)?;
        let diagnostic_figures =
            diagnostics::figures::render(&self.diagnostics).map_err(|(file, error)| {
                ReportError::Write {
                    path: folder.join(file).display().to_string(),
                    message: error.to_string(),
                }
            })?;
        diagnostics::figures::write(&diagnostic_figures, &folder)?;
        write(
            "report.html",
            html::html_with_diagnostics(self, &figures, &diagnostic_figures).as_bytes(),
        )
    }
}

/// The variant of a cell: its name without the part its `search.depth` grid axis added
/// (`depth=3`, or `search.depth=3` where another axis ends in `depth`; see the sweep's cell names:
/// the variant's name, then `axis=value` per grid axis, joined by `, `), so that cells that differ
/// only in depth are one variant; `sweep` (the sweep's name) when nothing else is left. A depth
/// set by a variant itself is part of the variant's name and stays.
pub fn variant_name(cell: &CellManifest, sweep: &str) -> String {
    let Some((_, depth)) = cell
        .assignments
        .iter()
        .rev()
        .find(|(path, _)| path == "search.depth")
    else {
        return cell.name.clone();
    };
    let mut parts: Vec<&str> = cell.name.split(", ").collect();
    let (short, long) = (format!("depth={depth}"), format!("search.depth={depth}"));
    let Some(position) = parts
        .iter()
        .rposition(|part| *part == short || *part == long)
    else {
        return cell.name.clone();
    };
    parts.remove(position);
    if parts.is_empty() {
        sweep.to_string()
    } else {
        parts.join(", ")
    }
}

/// The metrics of `strategy` on trees truncated at each depth from 1 to the cell's depth; `None`
/// for searches without depth (a single level).
fn depth_curve(
    method: &str,
    strategy: &str,
    records: &[&SampleRecord],
    cell_depth: Option<u32>,
) -> Option<DepthCurve> {
    let strategy: OutputStrategy =
        serde_json::from_value(serde_json::Value::String(strategy.to_string())).ok()?;
    let deepest = records.iter().map(|record| record.tree.max_depth()).max()?;
    let deepest = cell_depth.map_or(deepest, |depth| depth.min(deepest));
    if deepest < 2 {
        return None;
    }
    let mut seeds: Vec<u64> = records.iter().map(|record| record.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    let points = (1..=deepest)
        .map(|depth| {
            let mut per_column: BTreeMap<String, Vec<f64>> = BTreeMap::new();
            for &seed in &seeds {
                let metrics: Vec<SampleMetrics> = records
                    .iter()
                    .filter(|record| record.seed == seed)
                    .map(|record| {
                        SampleMetrics::of_ranking(
                            &rank(&record.tree, strategy, Some(depth)),
                            &record.labels,
                        )
                    })
                    .collect();
                for column in depth_columns() {
                    let values: Vec<f64> = metrics
                        .iter()
                        .map(|m| m.mean().get(column.metric, column.k).unwrap_or(0.0))
                        .collect();
                    per_column
                        .entry(column.label())
                        .or_default()
                        .push(mean(&values));
                }
            }
            DepthPoint {
                depth,
                values: per_column
                    .into_iter()
                    .map(|(label, values)| (label, (mean(&values), sample_std(&values))))
                    .collect(),
            }
        })
        .collect();
    Some(DepthCurve {
        method: method.to_string(),
        points,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(name: &str, assignments: &[(&str, &str)]) -> CellManifest {
        serde_json::from_value(serde_json::json!({
            "name": name,
            "assignments": assignments,
            "search": "s0",
            "depth": null,
            "strategies": ["reward-mean"],
            "config": null,
        }))
        .expect("a cell")
    }

    #[test]
    fn a_variant_is_its_cell_without_the_depth_grid_part() {
        let grid = cell(
            "- critiquing, depth=2",
            &[("user.critique", "false"), ("search.depth", "2")],
        );
        assert_eq!(variant_name(&grid, "sweep"), "- critiquing");
        // Other grid parts stay, in their order.
        let two_axes = cell(
            "GRSU, depth=3, beam_width=2",
            &[("search.depth", "3"), ("search.beam_width", "2")],
        );
        assert_eq!(variant_name(&two_axes, "sweep"), "GRSU, beam_width=2");
        // The long form when another axis also ends in `depth`.
        let long = cell(
            "GRSU, search.depth=4, other.depth=1",
            &[("search.depth", "4"), ("other.depth", "1")],
        );
        assert_eq!(variant_name(&long, "sweep"), "GRSU, other.depth=1");
        // A grid over depth alone: the sweep's name.
        let only = cell("depth=5", &[("search.depth", "5")]);
        assert_eq!(variant_name(&only, "figure3_redial"), "figure3_redial");
        // A depth set by the variant itself is in its name, which stays.
        let own = cell("deep", &[("search.depth", "5")]);
        assert_eq!(variant_name(&own, "sweep"), "deep");
        let plain = cell("GRSU", &[]);
        assert_eq!(variant_name(&plain, "sweep"), "GRSU");
    }
}
