//! The raw answers behind a report's records, read once per record, and the catalogs they are
//! matched against, loaded once per report.
//!
//! A cell's diagnostics count invalid answers and hallucinated or duplicate titles from the raw
//! answers its records name ([`super::answers`]). A record's answers are read by the first cell,
//! in manifest order, that reports the record and can read answers (its config parses), and the
//! other cells of its search share them. Reading them while the records are loaded, one record
//! at a time ([`read_records_and_answers`]), lets each record drop its request keys, conversation
//! and stored rankings at once: the report of a 2,924-sample paper sweep then holds the records'
//! trees, not every key of every request besides.

use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;

use super::answers::{AnswerReader, MatchedCatalog, RecordAnswers};
use crate::catalog::Catalog;
use crate::config::RunConfig;
use crate::store::{SampleRecord, Store, StoreError, SweepManifest};

/// A catalog by file, loaded once per report (with its title matcher and the matches made).
pub(super) type Catalogs = HashMap<(PathBuf, String), Result<Rc<MatchedCatalog>, String>>;

/// A record by (search, seed, sample).
pub(super) type RecordId = (String, u64, String);

pub(super) fn record_id(record: &SampleRecord) -> RecordId {
    (record.search.clone(), record.seed, record.sample.clone())
}

/// The catalog of `config`, loaded the first time it is asked for.
pub(super) fn catalog_of(
    catalogs: &mut Catalogs,
    config: &RunConfig,
) -> Result<Rc<MatchedCatalog>, String> {
    let key = (
        config.data.catalog.clone(),
        format!("{:?}", config.data.catalog_format),
    );
    catalogs
        .entry(key)
        .or_insert_with(|| {
            Catalog::load(&config.data.catalog, config.data.catalog_format)
                .map(|catalog| Rc::new(MatchedCatalog::new(catalog)))
                .map_err(|error| {
                    format!(
                        "the catalog {} cannot be read ({error})",
                        config.data.catalog.display()
                    )
                })
        })
        .clone()
}

/// The raw answers read so far, by record, and the catalogs loaded.
#[derive(Default)]
pub struct AnswerBook {
    pub(super) catalogs: Catalogs,
    pub(super) answers: HashMap<RecordId, RecordAnswers>,
    /// Every record's answers are in (read as the records were loaded, and the records dropped
    /// their keys): no cell reads any more. Otherwise each cell reads those of its records that
    /// are not in yet, from the records' keys.
    pub(super) complete: bool,
}

impl AnswerBook {
    /// An empty book: each cell reads its records' answers as the diagnostics reach it.
    pub fn read_as_cells_go() -> AnswerBook {
        AnswerBook::default()
    }
}

/// The store's records with their raw answers, read one record at a time: each record's answers
/// are read as it is loaded, by the first cell that reports it, and the record then keeps only
/// what a report reads ([`SampleRecord::shed_what_reports_do_not_read`]). A store whose response
/// cache cannot be opened gives no answers; the diagnostics say why.
pub fn read_records_and_answers(
    store: &Store,
    manifest: &SweepManifest,
) -> Result<(Vec<SampleRecord>, AnswerBook), StoreError> {
    let mut catalogs = Catalogs::new();
    let cells: Vec<_> = manifest
        .cells
        .iter()
        .map(|cell| {
            let readable = serde_json::from_value::<RunConfig>(cell.config.clone())
                .ok()
                .map(|config| {
                    let catalog = catalog_of(&mut catalogs, &config).ok();
                    (config, catalog)
                });
            (manifest.cell_reads(cell), readable)
        })
        .collect();
    let cache = store.response_cache().ok();
    let readers: Vec<Option<AnswerReader>> = cells
        .iter()
        .map(|(_, readable)| {
            let cache = cache.as_ref()?;
            let (config, catalog) = readable.as_ref()?;
            Some(AnswerReader::new(cache, config, catalog.as_deref()))
        })
        .collect();
    let mut answers = HashMap::new();
    let mut records = Vec::new();
    for record in store.each_record()? {
        let mut record = record?;
        let reader = cells
            .iter()
            .zip(&readers)
            .find_map(|((reads, _), reader)| reader.as_ref().filter(|_| reads.reads(&record)));
        if let Some(reader) = reader {
            answers.insert(record_id(&record), reader.read(&record));
        }
        record.shed_what_reports_do_not_read();
        records.push(record);
    }
    drop(readers);
    Ok((
        records,
        AnswerBook {
            catalogs,
            answers,
            complete: true,
        },
    ))
}
