//! The on-disk store of a run (sled): everything that must survive a crash lives here, behind this
//! one module, so that the storage engine can be replaced without touching the engine.
//!
//! Trees:
//! - `responses`: the content-addressed response cache ([`ResponseCache`]).
//!
//! Writes that finish a unit of work are flushed before they are acknowledged, so a run killed with
//! `kill -9` at any moment never loses a finished model call.

mod response_cache;

use std::path::Path;

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

    /// Writes everything buffered to disk.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(|_| ()).map_err(|error| StoreError::Io {
            operation: "flush",
            message: error.to_string(),
        })
    }
}
