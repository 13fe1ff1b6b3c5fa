//! The content-addressed response cache.
//!
//! Key: SHA-256 of the model identity and the canonical JSON of the request (which carries its
//! seed). Not the endpoint URL, so a replica that moves or a second replica of the same model shares
//! the cache; never the API key. Value: the response as JSON. Because requests are deterministic
//! values, a cached response is exactly what the server would answer again: a resumed run replays
//! its finished calls from here, and grid cells that ask the same question share the answer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::StoreError;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::model::classify::{ClassifyRequest, ClassifyResponse};
use crate::model::{ChatRequest, ChatResponse};

/// Hits and misses since the cache was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
}

/// A response cache over one sled tree. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ResponseCache {
    tree: sled::Tree,
    hits: Arc<AtomicU64>,
    misses: Arc<AtomicU64>,
}

impl ResponseCache {
    pub(super) fn new(tree: sled::Tree) -> Self {
        ResponseCache {
            tree,
            hits: Arc::default(),
            misses: Arc::default(),
        }
    }

    /// The cache key of a request to a model.
    pub fn key(identity: &str, request: &ChatRequest) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(identity.as_bytes());
        hasher.update([0u8]);
        hasher.update(serde_json::to_vec(request).expect("a request always serialises"));
        hasher.finalize().into()
    }

    /// The cache key of a classification request: the same scheme, marked so that it can never
    /// equal a chat request's key.
    pub fn classify_key(identity: &str, request: &ClassifyRequest) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(identity.as_bytes());
        hasher.update([0u8]);
        hasher.update(b"classify");
        hasher.update([0u8]);
        hasher.update(serde_json::to_vec(request).expect("a request always serialises"));
        hasher.finalize().into()
    }

    /// The cached response, if any (counted as a hit or a miss).
    pub fn get(
        &self,
        identity: &str,
        request: &ChatRequest,
    ) -> Result<Option<ChatResponse>, StoreError> {
        self.get_keyed(Self::key(identity, request))
    }

    /// Stores a finished response and flushes it before returning, so that a call the run counted
    /// as done survives a crash.
    pub async fn put(
        &self,
        identity: &str,
        request: &ChatRequest,
        response: &ChatResponse,
    ) -> Result<(), StoreError> {
        self.put_keyed(Self::key(identity, request), response)
    }

    /// The cached classification, if any (counted as a hit or a miss).
    pub fn get_classified(
        &self,
        identity: &str,
        request: &ClassifyRequest,
    ) -> Result<Option<ClassifyResponse>, StoreError> {
        self.get_keyed(Self::classify_key(identity, request))
    }

    /// Stores a classification and flushes it.
    pub fn put_classified(
        &self,
        identity: &str,
        request: &ClassifyRequest,
        response: &ClassifyResponse,
    ) -> Result<(), StoreError> {
        self.put_keyed(Self::classify_key(identity, request), response)
    }

    fn get_keyed<T: DeserializeOwned>(&self, key: [u8; 32]) -> Result<Option<T>, StoreError> {
        let found = self.tree.get(key).map_err(|error| StoreError::Io {
            operation: "cache read",
            message: error.to_string(),
        })?;
        match found {
            Some(bytes) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|error| StoreError::Corrupt {
                        tree: "responses",
                        message: error.to_string(),
                    })
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                Ok(None)
            }
        }
    }

    fn put_keyed<T: Serialize>(&self, key: [u8; 32], response: &T) -> Result<(), StoreError> {
        let value = serde_json::to_vec(response).expect("a response always serialises");
        self.tree
            .insert(key, value)
            .map_err(|error| StoreError::Io {
                operation: "cache write",
                message: error.to_string(),
            })?;
        self.tree
            .flush()
            .map(|_| ())
            .map_err(|error| StoreError::Io {
                operation: "cache flush",
                message: error.to_string(),
            })
    }

    pub fn len(&self) -> usize {
        self.tree.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}
