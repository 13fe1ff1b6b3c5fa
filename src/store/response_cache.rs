//! The content-addressed response cache.
//!
//! Key: SHA-256 of the model identity and the canonical JSON of the request (which carries its
//! seed). Not the endpoint URL, so a replica that moves or a second replica of the same model shares
//! the cache; never the API key. Value: the response as JSON. Because requests are deterministic
//! values, a cached response is exactly what the server would answer again: a resumed run replays
//! its finished calls from here, and grid cells that ask the same question share the answer.
//!
//! Each entry also remembers its origin: the unit of work (search, seed, sample) that paid for it.
//! A unit that meets its own earlier answer (a run resumed after an interruption, a tree continued
//! to a deeper depth) counts it as its own call, not as sharing; only answers first paid for by
//! another unit count as cache hits. Value layout: `0x01`, the origin (8 bytes, little-endian),
//! the response as JSON; a value that starts with `{` is a response stored without an origin.

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

/// The unit of work that first paid for a cached answer: a hash of its record key.
pub type Origin = u64;

/// The origin of the unit (search, seed, sample).
pub fn origin_of(search: &str, seed: u64, sample: &str) -> Origin {
    let digest = Sha256::digest(super::record_key(search, seed, sample).as_bytes());
    u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
}

const WITH_ORIGIN: u8 = 0x01;

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
        Ok(self
            .get_keyed(Self::key(identity, request))?
            .map(|(response, _)| response))
    }

    /// The cached response, if any, without counting a hit or a miss (for reading a store).
    pub fn peek(
        &self,
        identity: &str,
        request: &ChatRequest,
    ) -> Result<Option<ChatResponse>, StoreError> {
        Ok(self
            .read_entry(Self::key(identity, request))?
            .map(|(response, _)| response))
    }

    /// The cached response and the unit that paid for it, if any (counted as a hit or a miss).
    pub fn get_with_origin(
        &self,
        identity: &str,
        request: &ChatRequest,
    ) -> Result<Option<(ChatResponse, Option<Origin>)>, StoreError> {
        self.get_keyed(Self::key(identity, request))
    }

    /// Stores a finished response paid for by `origin`, flushed before returning.
    pub async fn put_from(
        &self,
        identity: &str,
        request: &ChatRequest,
        response: &ChatResponse,
        origin: Origin,
    ) -> Result<(), StoreError> {
        self.put_keyed(Self::key(identity, request), response, Some(origin))
    }

    /// Stores a finished response and flushes it before returning, so that a call the run counted
    /// as done survives a crash.
    pub async fn put(
        &self,
        identity: &str,
        request: &ChatRequest,
        response: &ChatResponse,
    ) -> Result<(), StoreError> {
        self.put_keyed(Self::key(identity, request), response, None)
    }

    /// The cached classification, if any (counted as a hit or a miss).
    pub fn get_classified(
        &self,
        identity: &str,
        request: &ClassifyRequest,
    ) -> Result<Option<ClassifyResponse>, StoreError> {
        Ok(self
            .get_keyed(Self::classify_key(identity, request))?
            .map(|(response, _)| response))
    }

    /// Stores a classification and flushes it.
    pub fn put_classified(
        &self,
        identity: &str,
        request: &ClassifyRequest,
        response: &ClassifyResponse,
    ) -> Result<(), StoreError> {
        self.put_keyed(Self::classify_key(identity, request), response, None)
    }

    /// The cached response, counted as a hit or a miss.
    fn get_keyed<T: DeserializeOwned>(
        &self,
        key: [u8; 32],
    ) -> Result<Option<(T, Option<Origin>)>, StoreError> {
        let found = self.read_entry(key)?;
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(found)
    }

    /// The decoded entry under `key` and its origin, not counted.
    fn read_entry<T: DeserializeOwned>(
        &self,
        key: [u8; 32],
    ) -> Result<Option<(T, Option<Origin>)>, StoreError> {
        let found = self.tree.get(key).map_err(|error| StoreError::Io {
            operation: "cache read",
            message: error.to_string(),
        })?;
        let Some(bytes) = found else {
            return Ok(None);
        };
        let corrupt = |message: String| StoreError::Corrupt {
            tree: "responses",
            message,
        };
        let (origin, json) = match bytes.first() {
            Some(&WITH_ORIGIN) if bytes.len() >= 9 => (
                Some(u64::from_le_bytes(bytes[1..9].try_into().expect("8 bytes"))),
                &bytes[9..],
            ),
            Some(&WITH_ORIGIN) => return Err(corrupt("a truncated entry".into())),
            _ => (None, &bytes[..]),
        };
        serde_json::from_slice(json)
            .map(|response| Some((response, origin)))
            .map_err(|error| corrupt(error.to_string()))
    }

    fn put_keyed<T: Serialize>(
        &self,
        key: [u8; 32],
        response: &T,
        origin: Option<Origin>,
    ) -> Result<(), StoreError> {
        let mut value = Vec::new();
        if let Some(origin) = origin {
            value.push(WITH_ORIGIN);
            value.extend_from_slice(&origin.to_le_bytes());
        }
        serde_json::to_writer(&mut value, response).expect("a response always serialises");
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

    /// The raw entry whose key starts with the hex `prefix` (a [`crate::store::key_prefix`]):
    /// the response as JSON and the origin, without counting a hit. `None` for no entry; an
    /// error for a prefix that is not hex.
    pub fn get_by_prefix(
        &self,
        prefix: &str,
    ) -> Result<Option<(serde_json::Value, Option<Origin>)>, StoreError> {
        let bytes: Option<Vec<u8>> = (0..prefix.len())
            .step_by(2)
            .map(|at| {
                prefix
                    .get(at..at + 2)
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
            })
            .collect();
        let bytes = bytes.ok_or_else(|| StoreError::Corrupt {
            tree: "responses",
            message: format!("`{prefix}` is not a hex key prefix"),
        })?;
        let Some(entry) = self.tree.scan_prefix(&bytes).next() else {
            return Ok(None);
        };
        let (key, _) = entry.map_err(|error| StoreError::Io {
            operation: "cache read",
            message: error.to_string(),
        })?;
        let key: [u8; 32] = key.as_ref().try_into().map_err(|_| StoreError::Corrupt {
            tree: "responses",
            message: "a key that is not 32 bytes".into(),
        })?;
        self.read_entry(key)
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
