//! The on-disk store of a run (sled, and from format 4 a response log beside it): everything that
//! must survive a crash lives here, behind this one module, so that the storage engine can be
//! replaced without touching the engine.
//!
//! Trees, and the log:
//! - `responses`: the content-addressed response cache ([`ResponseCache`]): the file
//!   `responses.log` from format 4 ([`response_log`]), a tree before.
//! - `manifest`: what was run ([`SweepManifest`]: cells, shared searches, samples), checked on
//!   resume and merge.
//! - `records`: one [`SampleRecord`] per finished (search, seed, sample), keyed by [`record_key`].
//! - `failures`: samples whose last attempt failed ([`FailureRecord`]), until they finish.
//! - `imports`: external rankings ([`ImportedRankings`]) reported alongside the cells.
//!
//! Writes that finish a unit of work are flushed before they are acknowledged, so a run killed with
//! `kill -9` at any moment never loses a finished model call. The flushes are group commits
//! ([`group_commit`]): every write finished while one flush runs, or in the 10 ms since it started,
//! shares the next.

mod format_version;
mod group_commit;
mod records;
mod response_cache;
mod response_dictionary;
mod response_encoding;
mod response_log;
mod response_storage;
mod value_compression;
mod verify;

use std::path::Path;
use std::sync::Arc;

use format_version::OpenGuarded;
use group_commit::{GroupCommit, Written};
use response_dictionary::ResponseDictionary;
use response_log::ResponseLog;
use response_storage::ResponseStorage;

pub use records::{
    hex_prefix, key_prefix, record_key, CallCounts, CellManifest, CellReads, FailureRecord,
    FinishedSearch, ImportedRankings, ModelRequests, SampleLabels, SampleRecord, SearchManifest,
    SweepManifest,
};
pub use response_cache::{origin_of, CacheStats, Origin, ResponseCache};
pub use response_dictionary::{DICTIONARY_BYTES, SAMPLE_RESPONSES};
pub use response_log::{LOG_FILE, LOG_HEADER};
pub use verify::{
    damaged_files, explain_open_failure, held_by_a_run, verify, Damage, TreeCheck, VerifyReport,
};

/// The version of the store's encoding, recorded in the `meta` tree (key `format`) when a store is
/// created and checked by [`Store::open`]: a store of a newer format is refused (this grsu would
/// misread it); older formats are still read. Bump it whenever what is written into the trees
/// changes.
/// - 1: responses as JSON (stores written before the version was recorded);
/// - 2: responses in the compact binary encoding, sled pages compressed (zstd);
/// - 3: sled pages plain; responses compressed with the store's dictionary
///   ([`response_dictionary`]) and records on their own ([`value_compression`]), each value
///   saying by its first bytes whether it is;
/// - 4: responses in the response log ([`response_log`]), no longer in a tree; the entries as in
///   format 3.
///
/// A store goes on being written in the format it has (a format-2 store with compressed pages and
/// no dictionary, a format-3 store with its responses in a tree), so that the grsu that wrote it
/// can still read it.
pub const STORE_FORMAT_VERSION: u32 = 4;

/// The first format whose values the store compresses itself.
const VALUES_COMPRESSED_FROM_FORMAT: u32 = 3;

/// The first format whose responses are in the response log.
const RESPONSES_LOGGED_FROM_FORMAT: u32 = 4;

/// A store failure, naming the store's folder.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store at {path}: {message}")]
    Open { path: String, message: String },
    #[error("store {operation} failed: {message}")]
    Io {
        operation: &'static str,
        message: String,
    },
    #[error("corrupt store entry in `{tree}`: {message}")]
    Corrupt { tree: &'static str, message: String },
    #[error(
        "the store at {path} is in format version {found}, and this grsu reads format versions \
         up to {supported}: read it with the grsu version that wrote it (its manifest's \
         code_version), or run the sweep into a new output folder"
    )]
    Version {
        path: String,
        found: u32,
        supported: u32,
    },
}

/// What [`Store::merge_from`] copied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MergeCounts {
    pub records_added: u64,
    /// Records the destination already had (kept).
    pub records_present: u64,
    pub responses_added: u64,
    pub imports_added: u64,
    pub failures_added: u64,
}

/// An open store.
#[derive(Debug, Clone)]
pub struct Store {
    db: sled::Db,
    commit: Arc<GroupCommit>,
    /// The store's format version ([`STORE_FORMAT_VERSION`] for a new store).
    format: u32,
    dictionary: Arc<ResponseDictionary>,
    /// Where the responses are.
    responses: ResponseStorage,
}

/// The most memory sled may use to cache the store's pages. sled's default (1 GiB) lets the cache
/// grow with the store, so that a paper-scale sweep's RSS grew by ~1.4 KiB per stored response;
/// with this bound RSS stays flat however large the store gets. A sweep reads back only the
/// answers of the samples it resumes, and a report reads each record once, so a small cache costs
/// little.
pub const STORE_CACHE_BYTES: u64 = 64 << 20;

/// The page cache of a store opened to be read through once ([`Store::open_to_read_through`]):
/// a report reads each record and each answer once, so a larger cache only holds pages it will
/// not read again. sled's pages take about 2.5 times their cache budget in memory; the report of
/// a 2,924-sample paper sweep took 591 MiB with [`STORE_CACHE_BYTES`], 482 MiB with this, in
/// the same time (13.9 s).
pub const READ_THROUGH_CACHE_BYTES: u64 = 16 << 20;

/// How long [`Store::open`] waits for a store's lock to be released before it says the store is
/// held (by another process, or a handle of this one still open).
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// The zstd level sled compresses the pages of a format-2 store at.
const COMPRESSION_LEVEL: i32 = 3;

/// Whether sled compresses the pages of the store in `folder`: only a format-2 store's. sled
/// cannot change this once a store exists and records it in its `conf` file; a new store (no
/// `conf` yet) is plain (format 3 compresses its larger values itself, [`value_compression`]).
fn pages_compressed(folder: &Path) -> bool {
    // The file is text lines followed by a binary checksum.
    match std::fs::read(folder.join("conf")) {
        Ok(conf) => conf
            .split(|byte| *byte == b'\n')
            .any(|line| line == b"use_compression: true"),
        Err(_) => false,
    }
}

impl Store {
    /// Opens (or creates) the store in `folder`. Another process holding it is an error: two
    /// orchestrators must not write one store (use `--shard` and `grsu merge` instead).
    ///
    /// A store this process has just closed can still be locked for a moment (the storage
    /// engine's background writes end after it is dropped): a lock is waited for up to
    /// [`LOCK_WAIT`] before it is an error.
    pub fn open(folder: &Path) -> Result<Self, StoreError> {
        Store::open_with_cache(folder, STORE_CACHE_BYTES)
    }

    /// [`Store::open`] for reading the store through once ([`READ_THROUGH_CACHE_BYTES`]): a
    /// report, an export.
    pub fn open_to_read_through(folder: &Path) -> Result<Self, StoreError> {
        Store::open_with_cache(folder, READ_THROUGH_CACHE_BYTES)
    }

    fn open_with_cache(folder: &Path, cache_bytes: u64) -> Result<Self, StoreError> {
        let started = std::time::Instant::now();
        let db = loop {
            let opened = sled::Config::new()
                .path(folder)
                .mode(sled::Mode::LowSpace)
                .cache_capacity(cache_bytes)
                .use_compression(pages_compressed(folder))
                .compression_factor(COMPRESSION_LEVEL)
                .open_guarded()
                .map_err(|error| StoreError::Open {
                    path: folder.display().to_string(),
                    message: error.to_string(),
                });
            match opened {
                Err(error) if held_by_a_run(&error) && started.elapsed() < LOCK_WAIT => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                opened => break opened?,
            }
        };
        let format = format_version::check_format(&db, folder)?;
        let meta = db
            .open_tree(format_version::META_TREE)
            .map_err(|error| StoreError::Open {
                path: folder.display().to_string(),
                message: error.to_string(),
            })?;
        let makes_dictionary = format >= VALUES_COMPRESSED_FROM_FORMAT;
        let dictionary = Arc::new(ResponseDictionary::open(meta, makes_dictionary)?);
        let log = if format >= RESPONSES_LOGGED_FROM_FORMAT {
            Some(Arc::new(ResponseLog::open(folder)?))
        } else {
            None
        };
        let responses = match &log {
            Some(log) => ResponseStorage::Log(log.clone()),
            None => ResponseStorage::Tree(db.open_tree("responses").map_err(|error| {
                StoreError::Open {
                    path: folder.display().to_string(),
                    message: error.to_string(),
                }
            })?),
        };
        let flushed = db.clone();
        let commit = Arc::new(GroupCommit::start(Box::new(move |trees_written| {
            if let Some(log) = &log {
                log.sync().map_err(|error| error.to_string())?;
            }
            if trees_written {
                flushed.flush().map_err(|error| error.to_string())?;
            }
            Ok(())
        })));
        Ok(Store {
            db,
            commit,
            format,
            dictionary,
            responses,
        })
    }

    /// Whether this store's values are compressed by the store ([`value_compression`]).
    fn compresses_values(&self) -> bool {
        self.format >= VALUES_COMPRESSED_FROM_FORMAT
    }

    /// The response cache of this store.
    pub fn response_cache(&self) -> Result<ResponseCache, StoreError> {
        Ok(ResponseCache::new(
            self.responses.clone(),
            self.commit.clone(),
            self.dictionary.clone(),
        ))
    }

    fn tree(&self, name: &'static str) -> Result<sled::Tree, StoreError> {
        self.db.open_tree(name).map_err(|error| StoreError::Io {
            operation: "open tree",
            message: error.to_string(),
        })
    }

    fn io(operation: &'static str) -> impl Fn(sled::Error) -> StoreError {
        move |error| StoreError::Io {
            operation,
            message: error.to_string(),
        }
    }

    /// A value of `tree` as JSON, expanded first if the store compressed it.
    fn decode<T: serde::de::DeserializeOwned>(
        tree: &'static str,
        bytes: &[u8],
    ) -> Result<T, StoreError> {
        let corrupt = |message: String| StoreError::Corrupt { tree, message };
        if value_compression::is_compressed(bytes) {
            let expanded = value_compression::decompress(bytes).map_err(corrupt)?;
            return serde_json::from_slice(&expanded).map_err(|error| corrupt(error.to_string()));
        }
        serde_json::from_slice(bytes).map_err(|error| corrupt(error.to_string()))
    }

    /// `value` serialised as JSON, compressed if the store compresses its values.
    fn encode_compressed<T: serde::Serialize>(&self, value: &T) -> Vec<u8> {
        let json = serde_json::to_vec(value).expect("a store value serialises");
        if !self.compresses_values() {
            return json;
        }
        value_compression::compress_if_shorter(&json).unwrap_or(json)
    }

    /// The manifest of the sweep in this store, if one was started here.
    pub fn manifest(&self) -> Result<Option<SweepManifest>, StoreError> {
        self.tree("manifest")?
            .get("manifest")
            .map_err(Self::io("manifest read"))?
            .map(|bytes| Self::decode("manifest", &bytes))
            .transpose()
    }

    /// Writes the manifest and flushes.
    pub fn put_manifest(&self, manifest: &SweepManifest) -> Result<(), StoreError> {
        let tree = self.tree("manifest")?;
        tree.insert(
            "manifest",
            serde_json::to_vec(manifest).expect("a manifest serialises"),
        )
        .and_then(|_| tree.flush())
        .map(|_| ())
        .map_err(Self::io("manifest write"))
    }

    /// Writes a finished sample's record, forgets an earlier failure of it, and returns once it
    /// is on disk (a group commit). Writing the same (search, seed, sample) again replaces it: a
    /// record can never be duplicated.
    pub async fn put_record(&self, record: &SampleRecord) -> Result<(), StoreError> {
        let key = record_key(&record.search, record.seed, &record.sample);
        self.tree("records")?
            .insert(key.as_bytes(), self.encode_compressed(record))
            .map_err(Self::io("record write"))?;
        self.tree("failures")?
            .remove(key.as_bytes())
            .map_err(Self::io("failure write"))?;
        self.commit.durable("record write", Written::Trees).await
    }

    /// Whether a (search, seed, sample) is finished.
    pub fn has_record(&self, search: &str, seed: u64, sample: &str) -> Result<bool, StoreError> {
        self.tree("records")?
            .contains_key(record_key(search, seed, sample))
            .map_err(Self::io("record lookup"))
    }

    /// The depth setting a finished (search, seed, sample) was searched with; `None`: not
    /// finished.
    pub fn searched_depth(
        &self,
        search: &str,
        seed: u64,
        sample: &str,
    ) -> Result<Option<u32>, StoreError> {
        #[derive(serde::Deserialize)]
        struct Depth {
            #[serde(default)]
            searched_depth: u32,
        }
        self.tree("records")?
            .get(record_key(search, seed, sample))
            .map_err(Self::io("record lookup"))?
            .map(|bytes| Self::decode::<Depth>("records", &bytes).map(|depth| depth.searched_depth))
            .transpose()
    }

    /// Every record, in key order (search, seed, sample id).
    pub fn records(&self) -> Result<Vec<SampleRecord>, StoreError> {
        self.scan("records", b"")
    }

    /// The records one at a time, in key order, each decoded when it is reached: what reads a
    /// whole paper sweep keeps only what it needs of each.
    pub fn each_record(
        &self,
    ) -> Result<impl Iterator<Item = Result<SampleRecord, StoreError>>, StoreError> {
        Ok(self.tree("records")?.iter().map(|entry| {
            let (_, bytes) = entry.map_err(Self::io("scan"))?;
            Self::decode("records", &bytes)
        }))
    }

    /// The records of one search, in key order (seed, sample id).
    pub fn records_of(&self, search: &str) -> Result<Vec<SampleRecord>, StoreError> {
        self.scan("records", format!("{search}/").as_bytes())
    }

    fn scan<T: serde::de::DeserializeOwned>(
        &self,
        tree: &'static str,
        prefix: &[u8],
    ) -> Result<Vec<T>, StoreError> {
        self.tree(tree)?
            .scan_prefix(prefix)
            .map(|entry| {
                let (_, bytes) = entry.map_err(Self::io("scan"))?;
                Self::decode(tree, &bytes)
            })
            .collect()
    }

    /// Remembers why a sample failed (shown by `grsu status`; removed when it finishes).
    pub fn put_failure(&self, failure: &FailureRecord) -> Result<(), StoreError> {
        self.tree("failures")?
            .insert(
                record_key(&failure.search, failure.seed, &failure.sample).as_bytes(),
                serde_json::to_vec(failure).expect("a failure serialises"),
            )
            .map(|_| ())
            .map_err(Self::io("failure write"))
    }

    /// The samples that failed and are not finished yet.
    pub fn failures(&self) -> Result<Vec<FailureRecord>, StoreError> {
        self.scan("failures", b"")
    }

    /// Stores imported rankings under their name (replacing an import of the same name).
    pub fn put_import(&self, imported: &ImportedRankings) -> Result<(), StoreError> {
        let tree = self.tree("imports")?;
        tree.insert(
            imported.name.as_bytes(),
            serde_json::to_vec(imported).expect("an import serialises"),
        )
        .and_then(|_| tree.flush())
        .map(|_| ())
        .map_err(Self::io("import write"))
    }

    /// Every imported ranking set, by name.
    pub fn imports(&self) -> Result<Vec<ImportedRankings>, StoreError> {
        self.scan("imports", b"")
    }

    /// Copies into this store what `source` has and this one lacks: records, failures of units
    /// not finished here, imports and cached responses (so that resuming the merged sweep pays
    /// nothing twice). A unit finished in both keeps this store's record: records of one sweep are
    /// deterministic up to their timings. Checking that both hold the same sweep is the caller's.
    ///
    /// Entries are copied as they are stored: a source of a newer format than this store raises
    /// this store's recorded format to the source's first, so that no grsu reads entries it does
    /// not know.
    ///
    /// Where the responses are is not an entry's format: a store before format 4 keeps its
    /// responses in its tree, and is raised to format 3 at most.
    pub fn merge_from(&self, source: &Store) -> Result<MergeCounts, StoreError> {
        let entries_format = if self.format < RESPONSES_LOGGED_FROM_FORMAT {
            source.format.min(RESPONSES_LOGGED_FROM_FORMAT - 1)
        } else {
            source.format
        };
        if entries_format > self.format {
            format_version::raise_format(&self.db, entries_format)?;
        }
        let mut counts = MergeCounts::default();
        let records = self.tree("records")?;
        for (tree, added, present) in [
            (
                "records",
                &mut counts.records_added,
                Some(&mut counts.records_present),
            ),
            ("imports", &mut counts.imports_added, None),
            ("failures", &mut counts.failures_added, None),
        ] {
            let into = self.tree(tree)?;
            let mut present = present;
            for entry in source.tree(tree)?.iter() {
                let (key, value) = entry.map_err(Self::io("merge read"))?;
                let finished_here = tree == "failures"
                    && records.contains_key(&key).map_err(Self::io("merge read"))?;
                if finished_here {
                    continue;
                }
                let value = value.to_vec();
                let previous = into
                    .compare_and_swap(&key, None as Option<&[u8]>, Some(value))
                    .map_err(Self::io("merge write"))?;
                match previous {
                    Ok(()) => *added += 1,
                    Err(_) => {
                        if let Some(present) = present.as_deref_mut() {
                            *present += 1;
                        }
                    }
                }
            }
        }
        let damage = source.responses.each_entry(|key, value| {
            let key: &[u8; 32] = key.try_into().map_err(|_| StoreError::Corrupt {
                tree: "responses",
                message: format!("a key of {} bytes, not 32", key.len()),
            })?;
            let value = response_cache::recode_entry(value, &source.dictionary, &self.dictionary)?;
            if self.responses.insert_new(key, value)? {
                counts.responses_added += 1;
            }
            Ok(())
        })?;
        // What does not read is not copied: a resumed run asks for it again.
        for (at, problem) in damage {
            tracing::warn!("merge: a response of the source not copied: {at}: {problem}");
        }
        self.flush()?;
        Ok(counts)
    }

    /// Writes everything buffered to disk.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.responses.flush()?;
        self.db.flush().map(|_| ()).map_err(|error| StoreError::Io {
            operation: "flush",
            message: error.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_released_within_the_lock_wait_opens_and_one_held_longer_is_said_to_be_held() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("store");
        let held = Store::open(&path).unwrap();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(LOCK_WAIT / 5);
            drop(held);
        });
        let started = std::time::Instant::now();
        let reopened = Store::open(&path).expect("opened once the other handle let go");
        assert!(started.elapsed() >= LOCK_WAIT / 5 / 2, "it had to wait");
        releaser.join().unwrap();

        let started = std::time::Instant::now();
        let error = Store::open(&path).expect_err("still held");
        assert!(held_by_a_run(&error), "{error}");
        assert!(started.elapsed() >= LOCK_WAIT);
        drop(reopened);
    }
}
