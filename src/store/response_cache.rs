//! The content-addressed response cache.
//!
//! Key: SHA-256 of the model identity and the canonical JSON of the request (which carries its
//! seed). Not the endpoint URL, so a replica that moves or a second replica of the same model shares
//! the cache; never the API key. Value: the response, compactly ([`super::response_encoding`]).
//! Because requests are deterministic
//! values, a cached response is exactly what the server would answer again: a resumed run replays
//! its finished calls from here, and grid cells that ask the same question share the answer.
//!
//! Each entry also remembers its origin: the unit of work (search, seed, sample) that paid for it.
//! A unit that meets its own earlier answer (a run resumed after an interruption, a tree continued
//! to a deeper depth) counts it as its own call, not as sharing; only answers first paid for by
//! another unit count as cache hits.
//!
//! Value layout, by its first byte:
//! - [`COMPACT_WITH_ORIGIN`]: the origin (8 bytes, little-endian), then the chat response in the
//!   compact encoding; [`COMPACT`]: the compact response alone (no origin);
//! - [`COMPRESSED_WITH_ORIGIN`], [`COMPRESSED`]: the same with the compact response compressed
//!   with the store's dictionary ([`super::response_dictionary`]; store format 3, every response
//!   written once the dictionary is made that compression makes shorter);
//! - [`JSON_WITH_ORIGIN`]: the origin, then the response as JSON (store format 1, still read);
//! - `{`: a response as JSON without an origin (classifications; chat responses of format 1).
//!
//! A write returns once it is on disk: it waits for the store's next group commit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::group_commit::GroupCommit;
use super::response_dictionary::ResponseDictionary;
use super::response_encoding;
use super::response_storage::ResponseStorage;
use super::StoreError;

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

const JSON_WITH_ORIGIN: u8 = 0x01;
const COMPACT_WITH_ORIGIN: u8 = 0x02;
const COMPACT: u8 = 0x03;
const COMPRESSED_WITH_ORIGIN: u8 = 0x04;
const COMPRESSED: u8 = 0x05;

/// A stored entry's response, as it was encoded.
enum Stored<'a> {
    Chat(ChatResponse),
    Json(&'a [u8]),
}

/// Splits a stored entry into its origin and its response.
fn split_entry<'a>(
    bytes: &'a [u8],
    dictionary: &ResponseDictionary,
) -> Result<(Stored<'a>, Option<Origin>), StoreError> {
    let corrupt = |message: String| StoreError::Corrupt {
        tree: "responses",
        message,
    };
    let origin = |bytes: &[u8]| -> Result<Origin, StoreError> {
        bytes
            .get(1..9)
            .map(|origin| u64::from_le_bytes(origin.try_into().expect("8 bytes")))
            .ok_or_else(|| corrupt("a truncated entry".into()))
    };
    let compact = |bytes: &[u8]| {
        response_encoding::decode(bytes)
            .map(Stored::Chat)
            .map_err(|message| corrupt(format!("a compact response: {message}")))
    };
    let compressed = |frame: &[u8]| {
        dictionary
            .expand(frame)
            .map_err(|message| corrupt(format!("a compressed response: {message}")))
            .and_then(|bytes| compact(&bytes))
    };
    match bytes.first() {
        Some(&COMPACT_WITH_ORIGIN) => {
            Ok((compact(&bytes[9.min(bytes.len())..])?, Some(origin(bytes)?)))
        }
        Some(&COMPACT) => Ok((compact(&bytes[1..])?, None)),
        Some(&COMPRESSED_WITH_ORIGIN) => Ok((
            compressed(&bytes[9.min(bytes.len())..])?,
            Some(origin(bytes)?),
        )),
        Some(&COMPRESSED) => Ok((compressed(&bytes[1..])?, None)),
        Some(&JSON_WITH_ORIGIN) => Ok((
            Stored::Json(&bytes[9.min(bytes.len())..]),
            Some(origin(bytes)?),
        )),
        Some(b'{') => Ok((Stored::Json(bytes), None)),
        Some(other) => Err(corrupt(format!("an entry of unknown kind {other:#04x}"))),
        None => Err(corrupt("an empty entry".into())),
    }
}

/// Decodes a stored entry (see the value layout above) into the response as JSON and its origin:
/// the one place that reads the encoding, for the cache and for `grsu verify`.
pub(super) fn decode_entry(
    bytes: &[u8],
    dictionary: &ResponseDictionary,
) -> Result<(serde_json::Value, Option<Origin>), StoreError> {
    decode_as(bytes, dictionary)
}

/// A stored entry as it goes into another store (`grsu merge`): a compact response, compressed
/// with this store's dictionary or not, is compressed with the other's (stored compact if the
/// other has none); every other entry is copied as it is.
pub(super) fn recode_entry(
    bytes: &[u8],
    from: &ResponseDictionary,
    into: &ResponseDictionary,
) -> Result<Vec<u8>, StoreError> {
    let corrupt = |message: String| StoreError::Corrupt {
        tree: "responses",
        message,
    };
    let (kind, header, compressed) = match bytes.first() {
        Some(&COMPACT_WITH_ORIGIN) => (COMPACT_WITH_ORIGIN, 9, false),
        Some(&COMPACT) => (COMPACT, 1, false),
        Some(&COMPRESSED_WITH_ORIGIN) => (COMPACT_WITH_ORIGIN, 9, true),
        Some(&COMPRESSED) => (COMPACT, 1, true),
        _ => return Ok(bytes.to_vec()),
    };
    let body = bytes
        .get(header..)
        .ok_or_else(|| corrupt("a truncated entry".into()))?;
    let expanded;
    let compact = if compressed {
        expanded = from
            .expand(body)
            .map_err(|message| corrupt(format!("a compressed response: {message}")))?;
        &expanded[..]
    } else {
        body
    };
    Ok(entry_of(kind, &bytes[1..header], compact, into))
}

/// An entry of `kind` ([`COMPACT_WITH_ORIGIN`] or [`COMPACT`]) with `origin`'s bytes, holding
/// `compact`, compressed with `dictionary` when it has one and that makes it shorter.
fn entry_of(kind: u8, origin: &[u8], compact: &[u8], dictionary: &ResponseDictionary) -> Vec<u8> {
    let compressed = dictionary.compress(compact);
    let body = compressed.as_deref().unwrap_or(compact);
    let mut value = Vec::with_capacity(1 + origin.len() + body.len());
    value.push(match (kind, compressed.is_some()) {
        (COMPACT_WITH_ORIGIN, true) => COMPRESSED_WITH_ORIGIN,
        (COMPACT, true) => COMPRESSED,
        (kind, _) => kind,
    });
    value.extend_from_slice(origin);
    value.extend_from_slice(body);
    value
}

fn decode_as<T: FromStored>(
    bytes: &[u8],
    dictionary: &ResponseDictionary,
) -> Result<(T, Option<Origin>), StoreError> {
    let (stored, origin) = split_entry(bytes, dictionary)?;
    T::from_stored(stored)
        .map(|response| (response, origin))
        .map_err(|message| StoreError::Corrupt {
            tree: "responses",
            message,
        })
}

/// A response type read from an entry, whatever its encoding.
trait FromStored: Sized {
    fn from_stored(stored: Stored<'_>) -> Result<Self, String>;
}

impl FromStored for ChatResponse {
    fn from_stored(stored: Stored<'_>) -> Result<Self, String> {
        match stored {
            Stored::Chat(response) => Ok(response),
            Stored::Json(json) => serde_json::from_slice(json).map_err(|error| error.to_string()),
        }
    }
}

impl FromStored for ClassifyResponse {
    fn from_stored(stored: Stored<'_>) -> Result<Self, String> {
        match stored {
            Stored::Chat(_) => Err("a chat response where a classification was expected".into()),
            Stored::Json(json) => serde_json::from_slice(json).map_err(|error| error.to_string()),
        }
    }
}

impl FromStored for serde_json::Value {
    fn from_stored(stored: Stored<'_>) -> Result<Self, String> {
        match stored {
            Stored::Chat(response) => {
                Ok(serde_json::to_value(response).expect("a response always converts"))
            }
            Stored::Json(json) => serde_json::from_slice(json).map_err(|error| error.to_string()),
        }
    }
}

/// Feeds what is written into a hash.
struct HashWriter<'a>(&'a mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A response cache over a store's responses (its response log, or the `responses` tree of a
/// store before format 4). Cheap to clone.
#[derive(Debug, Clone)]
pub struct ResponseCache {
    responses: ResponseStorage,
    commit: Arc<GroupCommit>,
    /// The store's dictionary, shared by every handle of the store.
    dictionary: Arc<ResponseDictionary>,
    hits: Arc<AtomicU64>,
    misses: Arc<AtomicU64>,
}

impl ResponseCache {
    pub(super) fn new(
        responses: ResponseStorage,
        commit: Arc<GroupCommit>,
        dictionary: Arc<ResponseDictionary>,
    ) -> Self {
        ResponseCache {
            responses,
            commit,
            dictionary,
            hits: Arc::default(),
            misses: Arc::default(),
        }
    }

    /// The cache key of a request to a model. The request's JSON is hashed as it is written, never
    /// held whole (a prompt repeats the conversation: kilobytes per call).
    pub fn key(identity: &str, request: &ChatRequest) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(identity.as_bytes());
        hasher.update([0u8]);
        serde_json::to_writer(HashWriter(&mut hasher), request)
            .expect("a request always serialises");
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

    /// [`ResponseCache::get_with_origin`] by a key already computed with [`ResponseCache::key`]
    /// (a request is serialised and hashed once on its way, not at every step).
    pub fn get_with_origin_keyed(
        &self,
        key: [u8; 32],
    ) -> Result<Option<(ChatResponse, Option<Origin>)>, StoreError> {
        self.get_keyed(key)
    }

    /// Stores a finished response paid for by `origin`; returns once it is on disk.
    pub async fn put_from(
        &self,
        identity: &str,
        request: &ChatRequest,
        response: &ChatResponse,
        origin: Origin,
    ) -> Result<(), StoreError> {
        self.put_keyed(Self::key(identity, request), response, Some(origin))
            .await
    }

    /// Stores a finished response paid for by no unit; returns once it is on disk.
    pub async fn put(
        &self,
        identity: &str,
        request: &ChatRequest,
        response: &ChatResponse,
    ) -> Result<(), StoreError> {
        self.put_keyed(Self::key(identity, request), response, None)
            .await
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

    /// Stores a classification (as JSON) and flushes it.
    pub fn put_classified(
        &self,
        identity: &str,
        request: &ClassifyRequest,
        response: &ClassifyResponse,
    ) -> Result<(), StoreError> {
        let value = serde_json::to_vec(response).expect("a classification always serialises");
        self.responses
            .insert(&Self::classify_key(identity, request), value)?;
        self.responses.flush()
    }

    /// The cached response, counted as a hit or a miss.
    fn get_keyed<T: FromStored>(
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
    fn read_entry<T: FromStored>(
        &self,
        key: [u8; 32],
    ) -> Result<Option<(T, Option<Origin>)>, StoreError> {
        let Some(bytes) = self.responses.get(&key)? else {
            return Ok(None);
        };
        decode_as(&bytes, &self.dictionary).map(Some)
    }

    /// Stores a finished response under a key already computed with [`ResponseCache::key`],
    /// paid for by `origin` if given, and returns once it is on disk, so that a call the run
    /// counted as done survives a crash.
    pub async fn put_keyed(
        &self,
        key: [u8; 32],
        response: &ChatResponse,
        origin: Option<Origin>,
    ) -> Result<(), StoreError> {
        let mut compact = Vec::with_capacity(256);
        response_encoding::encode(response, &mut compact);
        let origin = origin.map(u64::to_le_bytes);
        let (kind, origin) = match &origin {
            Some(origin) => (COMPACT_WITH_ORIGIN, &origin[..]),
            None => (COMPACT, &[][..]),
        };
        let value = entry_of(kind, origin, &compact, &self.dictionary);
        let compressed = value[0] != kind;
        self.responses.insert(&key, value)?;
        // Until the store has its dictionary, responses make it.
        if !compressed {
            self.dictionary.gather(&compact)?;
        }
        self.commit
            .durable("cache write", self.responses.written())
            .await?;
        Ok(())
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
        let Some((_, entry)) = self.responses.find_prefix(&bytes)? else {
            return Ok(None);
        };
        decode_as(&entry, &self.dictionary).map(Some)
    }

    pub fn len(&self) -> usize {
        self.responses.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ChatMessage;

    #[test]
    fn the_key_hashes_the_identity_a_zero_and_the_requests_canonical_json() {
        let mut request = ChatRequest::new(vec![
            ChatMessage::system("You are a recommender."),
            ChatMessage::user("Something like \"Heat\" (1995), please \u{1F3AC}"),
        ]);
        request.seed = Some(7);
        let mut expected = Sha256::new();
        expected.update(b"crs\0");
        expected.update(serde_json::to_vec(&request).unwrap());
        let expected: [u8; 32] = expected.finalize().into();
        assert_eq!(ResponseCache::key("crs", &request), expected);
        assert_ne!(ResponseCache::key("user", &request), expected);
    }
}
