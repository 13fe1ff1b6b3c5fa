//! The store's dictionary for its cached responses (format 3 on).
//!
//! One response alone hardly compresses: a one-token score, nine in ten of a sweep's responses, is
//! ~300 bytes of alternatives' tokens and log-probabilities. Across responses, though, the same
//! tokens, model ids and list formats come back again and again, which is what sled's compressed
//! pages used to find (format 2), at the cost of a new zstd context for every fragment sled logs
//! (about a sixth of a sweep's CPU). Instead, the first [`DICTIONARY_BYTES`] of compact responses
//! a store receives become its dictionary (zstd's raw-content dictionary: earlier bytes to match
//! against), kept in the `meta` tree, and every later response is compressed with it, with a zstd
//! context kept per thread. Measured on a 200-sample paper-setting store: 317 bytes per response
//! alone, 278 compressed alone, **78** compressed with a 64 KiB dictionary, in 2.4 µs each.
//!
//! The dictionary is on disk before any entry that needs it: the entry that completes it waits for
//! the group commit that makes both durable, and compressing starts only then. It is stored behind
//! an 8-byte hash of its bytes, so that damage to it is reported as such (entries that need it are
//! then corrupt, never misread).

use std::cell::RefCell;
use std::sync::{Mutex, OnceLock};

use sha2::{Digest, Sha256};

use super::value_compression;
use super::StoreError;

/// The key of the dictionary in the `meta` tree.
pub(super) const DICTIONARY_KEY: &str = "response_dictionary";

/// How many bytes of compact responses make the dictionary. 16 KiB gave 91 bytes per response,
/// 64 KiB 78, 256 KiB 68 (the 200-sample store above).
pub const DICTIONARY_BYTES: usize = 64 << 10;

const LEVEL: i32 = 3;

/// A dictionary ready to compress and expand with.
struct Prepared {
    compress: zstd::zstd_safe::CDict<'static>,
    expand: zstd::zstd_safe::DDict<'static>,
}

/// What the store knows of its dictionary.
pub(super) struct ResponseDictionary {
    meta: sled::Tree,
    /// The dictionary, once it is on disk.
    ready: OnceLock<Prepared>,
    /// The stored dictionary could not be read (its hash does not match): why.
    damaged: Option<String>,
    /// Compact responses gathered to make the dictionary; `None` when none is being made (a store
    /// of an older format, one that has its dictionary, or one whose dictionary is being written).
    gathering: Mutex<Option<Vec<u8>>>,
}

thread_local! {
    static CONTEXTS: RefCell<(zstd::zstd_safe::CCtx<'static>, zstd::zstd_safe::DCtx<'static>)> =
        RefCell::new((zstd::zstd_safe::create_cctx(), zstd::zstd_safe::create_dctx()));
}

impl std::fmt::Debug for ResponseDictionary {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ResponseDictionary")
            .field("ready", &self.ready.get().is_some())
            .field("damaged", &self.damaged)
            .finish()
    }
}

fn hash_of(bytes: &[u8]) -> [u8; 8] {
    Sha256::digest(bytes)[..8].try_into().expect("8 bytes")
}

fn prepare(bytes: &[u8]) -> Prepared {
    Prepared {
        compress: zstd::zstd_safe::create_cdict(bytes, LEVEL),
        expand: zstd::zstd_safe::create_ddict(bytes),
    }
}

/// The dictionary bytes a stored `meta` value holds, or why it cannot be read.
pub(super) fn read_stored(value: &[u8]) -> Result<&[u8], String> {
    if value.len() < 8 {
        return Err("the store's response dictionary is truncated".into());
    }
    let (hash, bytes) = value.split_at(8);
    if hash != hash_of(bytes) {
        return Err("the store's response dictionary is damaged (its hash does not match)".into());
    }
    Ok(bytes)
}

impl ResponseDictionary {
    /// The dictionary of the store whose `meta` tree this is; `make` says whether the store makes
    /// one (format 3 on) if it has none yet.
    pub(super) fn open(meta: sled::Tree, make: bool) -> Result<Self, StoreError> {
        let stored = meta.get(DICTIONARY_KEY).map_err(|error| StoreError::Io {
            operation: "dictionary read",
            message: error.to_string(),
        })?;
        let ready = OnceLock::new();
        let mut damaged = None;
        match stored.as_deref().map(read_stored) {
            Some(Ok(bytes)) => {
                let _ = ready.set(prepare(bytes));
            }
            Some(Err(why)) => damaged = Some(why),
            None => {}
        }
        let gathering = (make && stored.is_none()).then(|| Vec::with_capacity(DICTIONARY_BYTES));
        Ok(ResponseDictionary {
            meta,
            ready,
            damaged,
            gathering: Mutex::new(gathering),
        })
    }

    /// `compact` compressed with the dictionary if the store has one and that makes it shorter.
    pub(super) fn compress(&self, compact: &[u8]) -> Option<Vec<u8>> {
        let prepared = self.ready.get()?;
        let mut frame = Vec::with_capacity(zstd::zstd_safe::compress_bound(compact.len()));
        CONTEXTS.with(|contexts| {
            contexts
                .borrow_mut()
                .0
                .compress_using_cdict(&mut frame, compact, &prepared.compress)
                .expect("a buffer of zstd's bound always holds the frame");
        });
        (frame.len() < compact.len()).then_some(frame)
    }

    /// Adds `compact` to the dictionary being made; when that completes it, writes it into the
    /// `meta` tree and returns it: the caller makes it durable, then [`ResponseDictionary::install`]s
    /// it.
    pub(super) fn gather(&self, compact: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let complete = {
            let mut gathering = self.gathering.lock().expect("the dictionary's lock");
            let Some(bytes) = gathering.as_mut() else {
                return Ok(None);
            };
            let room = DICTIONARY_BYTES - bytes.len();
            bytes.extend_from_slice(&compact[..compact.len().min(room)]);
            if bytes.len() < DICTIONARY_BYTES {
                return Ok(None);
            }
            gathering.take().expect("present")
        };
        let mut value = hash_of(&complete).to_vec();
        value.extend_from_slice(&complete);
        self.meta
            .insert(DICTIONARY_KEY, value)
            .map_err(|error| StoreError::Io {
                operation: "dictionary write",
                message: error.to_string(),
            })?;
        Ok(Some(complete))
    }

    /// Starts compressing with `bytes`, a dictionary [`ResponseDictionary::gather`] wrote, once it
    /// is durable.
    pub(super) fn install(&self, bytes: &[u8]) {
        let _ = self.ready.set(prepare(bytes));
    }

    /// The compact response a frame written by [`ResponseDictionary::compress`] holds.
    pub(super) fn expand(&self, frame: &[u8]) -> Result<Vec<u8>, String> {
        let Some(prepared) = self.ready.get() else {
            return Err(self.damaged.clone().unwrap_or_else(|| {
                "a response compressed with the store's dictionary, which the store lacks".into()
            }));
        };
        let size = value_compression::expanded_size(frame)?;
        let mut expanded = Vec::with_capacity(size);
        CONTEXTS.with(|contexts| {
            contexts
                .borrow_mut()
                .1
                .decompress_using_ddict(&mut expanded, frame, &prepared.expand)
                .map_err(|code| {
                    format!(
                        "a compressed response that does not decompress: {}",
                        zstd::zstd_safe::get_error_name(code)
                    )
                })
        })?;
        if expanded.len() != size {
            return Err(format!(
                "a compressed response of {} bytes where its frame says {size}",
                expanded.len()
            ));
        }
        Ok(expanded)
    }
}
