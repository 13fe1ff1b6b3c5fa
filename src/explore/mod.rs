//! What `grsu view` shows, computed from a sweep's store alone: the sweep (the report), a table
//! of every sample with each method's metrics, and one sample opened: its conversation, its search
//! trees laid out as pictures, and each method's final ranking with its hits.
//!
//! The explorer's pages are plain data (JSON) rendered in the browser, so the same documents
//! serve the live server and the static bundle, and no model text is ever spliced into markup:
//! the page puts every string into the document as text.
//!
//! An [`Explorer`] is a snapshot: it reads the store once and holds what the pages need, so that
//! the store can be released for a `grsu run` that resumes the sweep meanwhile.
//!
//! ## Layout
//!
//! - [`samples`]: the sample table (one row per sample, each method's Recall@10 and NDCG@10).
//! - [`sample_page`]: one sample: conversation, trees, rankings.
//! - [`tree_layout`]: where each node of a tree is drawn.
//! - [`replay`]: the prompts behind a stored search, rebuilt by replaying it from the cache.

pub mod replay;
pub mod sample_page;
pub mod samples;
pub mod tree_layout;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::report::method_scores::{method_scores, MethodScores, RecordsBySearch};
use crate::report::{Report, ReportError, ReportOptions};
use crate::store::{SampleRecord, Store, SweepManifest};
pub use sample_page::SamplePage;
pub use samples::SamplesTable;

/// One record with what its replay needs.
pub struct ReplayInput {
    pub record: Arc<SampleRecord>,
    /// `None` when no cell's config of the record's search could be read.
    pub config: Option<crate::config::RunConfig>,
    /// Model identity per role.
    pub identities: BTreeMap<String, String>,
}

/// A snapshot of a sweep for the explorer.
pub struct Explorer {
    pub report: Report,
    pub samples: SamplesTable,
    manifest: SweepManifest,
    methods: Vec<MethodScores>,
    /// Per sample id: the reported records of every search and seed.
    records: BTreeMap<String, Vec<Arc<SampleRecord>>>,
}

impl Explorer {
    /// Reads the sweep in `store`.
    pub fn from_store(store: &Store) -> Result<Explorer, ReportError> {
        let manifest = store
            .manifest()?
            .ok_or_else(|| ReportError::NoManifest("this output folder".into()))?;
        let all_records = store.records()?;
        let report =
            Report::from_records(store, &manifest, &all_records, &ReportOptions::default())?;
        let mut by_search: RecordsBySearch = BTreeMap::new();
        for record in &all_records {
            by_search
                .entry(record.search.clone())
                .or_default()
                .push(record);
        }
        let methods = method_scores(&manifest, &by_search, &store.imports()?)?;
        // Only the records some cell reports (not those of an earlier configuration).
        let mut records: BTreeMap<String, Vec<Arc<SampleRecord>>> = BTreeMap::new();
        let mut seen = std::collections::BTreeSet::new();
        for cell in &manifest.cells {
            let of_search = by_search.get(&cell.search).into_iter().flatten().copied();
            for record in manifest.cell_records(cell, of_search) {
                if seen.insert((record.search.clone(), record.seed, record.sample.clone())) {
                    records
                        .entry(record.sample.clone())
                        .or_default()
                        .push(Arc::new(record.clone()));
                }
            }
        }
        let samples = samples::samples_table(&manifest, &methods, &records);
        Ok(Explorer {
            report,
            samples,
            manifest,
            methods,
            records,
        })
    }

    /// The page of the sample at `index` of [`Explorer::samples`], if there is one.
    pub fn sample_page(&self, index: usize) -> Option<SamplePage> {
        let row = self.samples.rows.get(index)?;
        let records = self.records.get(&row.id).map_or(&[][..], Vec::as_slice);
        Some(sample_page::sample_page(
            &self.manifest,
            &self.methods,
            index,
            row,
            records,
        ))
    }

    /// What replaying the searches of the sample at `index` needs ([`replay::replay_requests`]):
    /// per record, the search's config (a cell's of that search) and its model identities.
    pub fn replay_inputs(&self, index: usize) -> Vec<ReplayInput> {
        let Some(row) = self.samples.rows.get(index) else {
            return Vec::new();
        };
        self.records
            .get(&row.id)
            .into_iter()
            .flatten()
            .map(|record| ReplayInput {
                record: record.clone(),
                config: self
                    .manifest
                    .cells
                    .iter()
                    .filter(|cell| cell.search == record.search)
                    .find_map(|cell| serde_json::from_value(cell.config.clone()).ok()),
                identities: self
                    .manifest
                    .search(&record.search)
                    .map(|search| search.models.clone())
                    .unwrap_or_default(),
            })
            .collect()
    }

    /// The response-cache key prefixes a sample's records name (what its page can open).
    pub fn request_keys_of(&self, index: usize) -> Vec<String> {
        let Some(row) = self.samples.rows.get(index) else {
            return Vec::new();
        };
        self.records
            .get(&row.id)
            .into_iter()
            .flatten()
            .flat_map(|record| record.requests.values())
            .flat_map(|requests| requests.keys.iter().cloned())
            .collect()
    }
}
