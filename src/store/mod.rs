//! The on-disk store of a run (sled): everything that must survive a crash lives here, behind this
//! one module, so that the storage engine can be replaced without touching the engine.
//!
//! Trees:
//! - `responses`: the content-addressed response cache ([`ResponseCache`]).
//! - `manifest`: what was run ([`RunManifest`]), checked on resume.
//! - `records`: one [`SampleRecord`] per finished (seed, sample), keyed by [`record_key`].
//!
//! Writes that finish a unit of work are flushed before they are acknowledged, so a run killed with
//! `kill -9` at any moment never loses a finished model call.

mod records;
mod response_cache;

use std::path::Path;

pub use records::{record_key, CallCounts, RunManifest, SampleRecord};
pub use response_cache::{CacheStats, ResponseCache};

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
}

/// An open store.
#[derive(Debug, Clone)]
pub struct Store {
    db: sled::Db,
}

impl Store {
    /// Opens (or creates) the store in `folder`. Another process holding it is an error: two
    /// orchestrators must not write one store (use `--shard` and `grsu merge` instead).
    pub fn open(folder: &Path) -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .path(folder)
            .mode(sled::Mode::LowSpace)
            .open()
            .map_err(|error| StoreError::Open {
                path: folder.display().to_string(),
                message: error.to_string(),
            })?;
        Ok(Store { db })
    }

    /// The response cache of this store.
    pub fn response_cache(&self) -> Result<ResponseCache, StoreError> {
        let tree = self
            .db
            .open_tree("responses")
            .map_err(|error| StoreError::Io {
                operation: "open tree",
                message: error.to_string(),
            })?;
        Ok(ResponseCache::new(tree))
    }

    fn tree(&self, name: &'static str) -> Result<sled::Tree, StoreError> {
        self.db.open_tree(name).map_err(|error| StoreError::Io {
            operation: "open tree",
            message: error.to_string(),
        })
    }

    /// The manifest of the run in this store, if one was started here.
    pub fn manifest(&self) -> Result<Option<RunManifest>, StoreError> {
        let found = self
            .tree("manifest")?
            .get("manifest")
            .map_err(|error| StoreError::Io {
                operation: "manifest read",
                message: error.to_string(),
            })?;
        found
            .map(|bytes| {
                serde_json::from_slice(&bytes).map_err(|error| StoreError::Corrupt {
                    tree: "manifest",
                    message: error.to_string(),
                })
            })
            .transpose()
    }

    /// Writes the manifest and flushes.
    pub fn put_manifest(&self, manifest: &RunManifest) -> Result<(), StoreError> {
        let tree = self.tree("manifest")?;
        let write = tree
            .insert(
                "manifest",
                serde_json::to_vec(manifest).expect("a manifest serialises"),
            )
            .and_then(|_| tree.flush());
        write.map(|_| ()).map_err(|error| StoreError::Io {
            operation: "manifest write",
            message: error.to_string(),
        })
    }

    /// Writes a finished sample's record and flushes it before returning (on sled's threads).
    /// Writing the same (seed, sample) again replaces it: a record can never be duplicated.
    pub async fn put_record(&self, record: &SampleRecord) -> Result<(), StoreError> {
        let tree = self.tree("records")?;
        let key = record_key(record.seed, &record.sample);
        let io = |error: sled::Error| StoreError::Io {
            operation: "record write",
            message: error.to_string(),
        };
        tree.insert(
            key,
            serde_json::to_vec(record).expect("a record serialises"),
        )
        .map_err(io)?;
        tree.flush_async()
            .await
            .map(|_| ())
            .map_err(|error| StoreError::Io {
                operation: "record write",
                message: error.to_string(),
            })
    }

    /// Whether a (seed, sample) is finished.
    pub fn has_record(&self, seed: u64, sample: &str) -> Result<bool, StoreError> {
        self.tree("records")?
            .contains_key(record_key(seed, sample))
            .map_err(|error| StoreError::Io {
                operation: "record lookup",
                message: error.to_string(),
            })
    }

    /// Every record, in key order (seed, then sample id).
    pub fn records(&self) -> Result<Vec<SampleRecord>, StoreError> {
        self.tree("records")?
            .iter()
            .map(|entry| {
                let (_, bytes) = entry.map_err(|error| StoreError::Io {
                    operation: "record scan",
                    message: error.to_string(),
                })?;
                serde_json::from_slice(&bytes).map_err(|error| StoreError::Corrupt {
                    tree: "records",
                    message: error.to_string(),
                })
            })
            .collect()
    }

    /// Writes everything buffered to disk.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(|_| ()).map_err(|error| StoreError::Io {
            operation: "flush",
            message: error.to_string(),
        })
    }
}
