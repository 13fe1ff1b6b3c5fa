//! Diagnostics of a sweep's simulated user, CRS and search, per cell (and per seed when the cell
//! has several), computed from the store alone at no model cost: the records' trees (every list,
//! score, critique and beam choice), their labels, and the raw answers their requests name in the
//! response cache.
//!
//! - [`scoring`]: ROC AUC and average precision of the item scores (label items against the other
//!   scored items), their histograms, calibration (ECE, Brier, reliability bins), unreadable
//!   answers, position bias in list context.
//! - [`critiques`]: length, attribute values named (of the list, of the labels), label titles
//!   leaked, repeats, invalid answers.
//! - [`crs`]: invalid answers, titles matching the catalog badly (hallucinations), duplicate
//!   titles, items repeated from the revised list, labels found and items seen by depth.
//! - [`search`]: kept rewards by depth, Spearman's ρ between reward and recall, the oracle
//!   (search loss against ranking loss).
//! - [`measures`]: the statistics themselves; [`answers`]: reading the raw answers;
//!   [`answer_book`]: the answers of every record read once (as the records are loaded, so that
//!   a record can drop its request keys);
//!   [`figures`]: score histograms and reliability diagrams; [`render`]: the Markdown and HTML
//!   section.
//!
//! A cell reads its search's records truncated at its depth, as its metrics do. Whatever cannot
//! be computed (no label scored, a catalog that cannot be read, a response cache without the
//! answers) is [`measures::Stat::Undefined`] with the reason, and the report says so.
//!
//! Labels are only the items the human recommender named in the dataset's turn: the "other"
//! items include items the user would have accepted, so AUC, precision and calibration are
//! measured against an incomplete ground truth (a lower bound for ranking quality).

pub mod answer_book;
pub mod answers;
pub mod critiques;
pub mod crs;
pub mod figures;
pub mod measures;
pub mod render;
pub mod scoring;
pub mod search;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::config::RunConfig;
use crate::search::SearchTree;
use crate::store::{CellManifest, ResponseCache, SampleRecord, Store, SweepManifest};
use answer_book::{catalog_of, record_id, AnswerBook};
use answers::{AnswerReader, RecordAnswers};

/// One record as a cell sees it: its tree truncated at the cell's depth, and its raw answers.
pub struct View<'a> {
    pub record: &'a SampleRecord,
    pub tree: Cow<'a, SearchTree>,
    /// The cell's depth (`u32::MAX` for whole trees): requests deeper than it are left out.
    pub depth: u32,
    pub answers: Option<&'a RecordAnswers>,
}

/// The diagnostics of a set of records (a cell, or one seed of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnostics {
    /// Records (samples × seeds).
    pub records: usize,
    pub scoring: scoring::ScoringDiagnostics,
    pub critiques: critiques::CritiqueDiagnostics,
    pub crs: crs::CrsDiagnostics,
    pub search: search::SearchDiagnostics,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedDiagnostics {
    pub seed: u64,
    pub diagnostics: Diagnostics,
}

/// The diagnostics of one cell: its records pooled (each (sample, item) once), and per seed when
/// it has more than one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellDiagnostics {
    pub cell: String,
    /// The cell's variant (its name without the depth grid part).
    pub variant: String,
    /// The depth its trees are truncated at; `None`: whole trees.
    pub depth: Option<u32>,
    pub seeds: Vec<u64>,
    /// Distinct samples.
    pub samples: usize,
    /// Whether the cell scores items (`[user] scoring`).
    pub scores_items: bool,
    /// What could not be read, and why (a catalog, the response cache, the config).
    pub notes: Vec<String>,
    pub all: Diagnostics,
    /// Per seed, when the cell has more than one.
    pub per_seed: Vec<SeedDiagnostics>,
}

/// The diagnostics of every cell of `manifest` with at least one record, in manifest order.
/// `cell_records` are the records of each cell (by name), as the report reads them; `book` the
/// raw answers read so far ([`answer_book`]).
pub fn diagnose(
    store: &Store,
    manifest: &SweepManifest,
    cell_records: &BTreeMap<&str, Vec<&SampleRecord>>,
    book: AnswerBook,
) -> Vec<CellDiagnostics> {
    let cache = store
        .response_cache()
        .map_err(|error| format!("the response cache cannot be read ({error})"));
    diagnose_from_book(
        manifest,
        cell_records,
        cache.as_ref().map_err(String::as_str),
        book,
    )
}

/// [`diagnose`] with the response cache given (or why there is none), each cell reading its
/// records' answers.
pub fn diagnose_with(
    manifest: &SweepManifest,
    cell_records: &BTreeMap<&str, Vec<&SampleRecord>>,
    cache: Result<&ResponseCache, &str>,
) -> Vec<CellDiagnostics> {
    diagnose_from_book(
        manifest,
        cell_records,
        cache,
        AnswerBook::read_as_cells_go(),
    )
}

fn diagnose_from_book(
    manifest: &SweepManifest,
    cell_records: &BTreeMap<&str, Vec<&SampleRecord>>,
    cache: Result<&ResponseCache, &str>,
    mut book: AnswerBook,
) -> Vec<CellDiagnostics> {
    let mut out = Vec::new();
    for cell in &manifest.cells {
        let records = cell_records
            .get(cell.name.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        if records.is_empty() {
            continue;
        }
        out.push(diagnose_cell(manifest, cell, records, cache, &mut book));
    }
    out
}

fn diagnose_cell(
    manifest: &SweepManifest,
    cell: &CellManifest,
    records: &[&SampleRecord],
    cache: Result<&ResponseCache, &str>,
    book: &mut AnswerBook,
) -> CellDiagnostics {
    let mut notes = Vec::new();
    let config: Result<RunConfig, String> = serde_json::from_value(cell.config.clone())
        .map_err(|error| format!("the cell's config cannot be read ({error})"));
    let catalog = match &config {
        Ok(config) => catalog_of(&mut book.catalogs, config),
        Err(reason) => Err(reason.clone()),
    };
    if let Err(reason) = &catalog {
        notes.push(format!(
            "{reason}: attribute and hallucination shares are unavailable"
        ));
    }
    let no_answers: Option<String> = match (&config, cache) {
        (Err(reason), _) => Some(reason.clone()),
        (_, Err(reason)) => Some(reason.to_string()),
        _ => None,
    };
    let answers = &mut book.answers;
    if let (Ok(config), Ok(cache), false) = (&config, cache, book.complete) {
        let reader = AnswerReader::new(cache, config, catalog.as_deref().ok());
        for record in records {
            answers
                .entry(record_id(record))
                .or_insert_with(|| reader.read(record));
        }
    }
    if let Some(reason) = &no_answers {
        notes.push(format!(
            "{reason}: invalid answers, hallucinated and duplicate titles are unavailable"
        ));
    }
    let missing: usize = records
        .iter()
        .filter_map(|record| answers.get(&record_id(record)))
        .map(|answers| answers.missing)
        .sum();
    if missing > 0 {
        notes.push(format!(
            "{missing} answers named by the records are not in the response cache; the counts \
             read from raw answers leave them out"
        ));
    }
    let depth = cell.depth.unwrap_or(u32::MAX);
    let views: Vec<View> = records
        .iter()
        .map(|record| View {
            record,
            tree: match cell.depth {
                Some(depth) if depth < record.tree.max_depth() => {
                    Cow::Owned(record.tree.truncated(depth))
                }
                _ => Cow::Borrowed(&record.tree),
            },
            depth,
            // A cell that cannot read answers itself shows none, even where another cell of
            // its search read them.
            answers: no_answers
                .is_none()
                .then(|| answers.get(&record_id(record)))
                .flatten(),
        })
        .collect();
    let context = config.as_ref().ok().map(|config| {
        serde_json::to_value(config.user.score_context)
            .ok()
            .and_then(|value| value.as_str().map(String::from))
            .unwrap_or_else(|| "unknown".into())
    });
    let settings = Settings {
        context: context.as_deref(),
        no_answers: no_answers.as_deref(),
        catalog: catalog
            .as_deref()
            .map(|matched| &matched.catalog)
            .map_err(String::as_str),
        min_match_score: config.as_ref().ok().and_then(|c| c.crs.min_match_score),
        strategies: &cell.strategies,
    };
    let seeds: Vec<u64> = records
        .iter()
        .map(|record| record.seed)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let all = settings.diagnostics(&views);
    let per_seed = if seeds.len() > 1 {
        seeds
            .iter()
            .map(|&seed| {
                let of_seed: Vec<View> = views
                    .iter()
                    .filter(|view| view.record.seed == seed)
                    .map(|view| View {
                        record: view.record,
                        tree: Cow::Borrowed(view.tree.as_ref()),
                        depth: view.depth,
                        answers: view.answers,
                    })
                    .collect();
                SeedDiagnostics {
                    seed,
                    diagnostics: settings.diagnostics(&of_seed),
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    CellDiagnostics {
        cell: cell.name.clone(),
        variant: super::variant_name(cell, &manifest.name),
        depth: cell.depth,
        samples: records
            .iter()
            .map(|record| record.sample.as_str())
            .collect::<BTreeSet<_>>()
            .len(),
        scores_items: match &config {
            Ok(config) => config.user.scoring,
            Err(_) => all.scoring.scores > 0,
        },
        seeds,
        notes,
        all,
        per_seed,
    }
}

/// What the diagnostics of a cell depend on besides its records.
struct Settings<'a> {
    context: Option<&'a str>,
    no_answers: Option<&'a str>,
    catalog: Result<&'a Catalog, &'a str>,
    min_match_score: Option<f64>,
    strategies: &'a [String],
}

impl Settings<'_> {
    fn diagnostics(&self, views: &[View]) -> Diagnostics {
        let unmatched = self.catalog.err();
        let scoring = scoring::scoring(views, self.context, self.no_answers);
        let critiques = critiques::critiques(views, self.catalog, self.no_answers);
        let crs = crs::crs(views, self.no_answers, unmatched, self.min_match_score);
        let search = search::search(views, self.strategies);
        Diagnostics {
            records: views.len(),
            scoring,
            critiques,
            crs,
            search,
        }
    }
}

#[cfg(test)]
mod tests;
