//! The store's dictionary for its cached responses (format 3 on).
//!
//! One response alone hardly compresses: a one-token score, nine in ten of a sweep's responses, is
//! ~300 bytes of alternatives' tokens and log-probabilities. Across responses, though, the same
//! tokens, model ids and list formats come back again and again, which is what sled's compressed
//! pages used to find (format 2), at the cost of a new zstd context for every fragment sled logs
//! (about a sixth of a sweep's CPU). Instead the store trains a zstd dictionary on its first
//! [`SAMPLE_RESPONSES`] compact responses (each cut to [`SAMPLE_BYTES_EACH`]: a sweep's first
//! responses are lists, one per sample in flight, and its scores come after them), keeps it in
//! the `meta` tree, and compresses every later response with it, with a zstd context kept per
//! thread. A dictionary made of the first 64 KiB of responses alone held only lists when a
//! thousand samples started at once, and scores then did not compress at all (12 % of a
//! throughput run's entries were compressed).
//!
//! The dictionary is on disk before any entry that needs it: the response that completes it flushes
//! the store, and compressing starts only then. It is stored behind
//! an 8-byte hash of its bytes, so that damage to it is reported as such (entries that need it are
//! then corrupt, never misread).

use std::cell::RefCell;
use std::sync::{Mutex, OnceLock};

use sha2::{Digest, Sha256};

use super::value_compression;
use super::StoreError;

/// The key of the dictionary in the `meta` tree.
pub(super) const DICTIONARY_KEY: &str = "response_dictionary";

/// The most bytes the dictionary holds.
pub const DICTIONARY_BYTES: usize = 64 << 10;

/// How many of the store's first responses the dictionary is trained on.
pub const SAMPLE_RESPONSES: usize = 4_096;

/// The most bytes of one response a sample keeps (at most 4 MiB of samples in all).
const SAMPLE_BYTES_EACH: usize = 1_024;

/// Level 1: with the trained dictionary it stores within 2 % of level 3's bytes (0.158 against
/// 0.156 KiB per response in the `store_fill` bench) for 12 % less CPU per response; frames of any
/// level decode with the same dictionary, so stores written at level 3 still replay.
const LEVEL: i32 = 1;

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
    /// Samples gathered to train the dictionary on; `None` when none is being made (a store of an
    /// older format, one that has its dictionary, or one whose dictionary is being trained).
    gathering: Mutex<Option<Samples>>,
}

/// Responses gathered to train the dictionary on, one after the other, and their lengths.
#[derive(Default)]
struct Samples {
    bytes: Vec<u8>,
    lengths: Vec<usize>,
}

/// zstd's fastCover trainer with these parameters, not its parameter search
/// (`ZDICT_trainFromBuffer`, which trains five dictionaries and compresses a quarter of the
/// samples with each to choose one). On the 4,096 responses of a throughput run (1.3 MB) the
/// search took 0.17 s on the writer's thread, and on a runtime of one worker every sample in
/// flight waited for it; these parameters train in 0.016 s. Trained on 3,000 of them, the
/// dictionary compresses the other 1,096 to 16.6 % of their size, the search's to 17.6 %.
/// Segments of 1,024 bytes, 8-byte d-mers, 2^20 frequency buckets, acceleration 4.
const TRAINER_SEGMENT_BYTES: u32 = 1_024;
const TRAINER_DMER_BYTES: u32 = 8;
const TRAINER_FREQUENCY_LOG: u32 = 20;
const TRAINER_ACCELERATION: u32 = 4;

/// A dictionary trained on `samples`; zstd's trainer refuses too few samples (or too few bytes),
/// and the samples themselves (their last [`DICTIONARY_BYTES`]) are then the dictionary (raw
/// content).
fn train(samples: &Samples) -> Vec<u8> {
    use zstd::zstd_safe::zstd_sys;
    debug_assert_eq!(samples.lengths.iter().sum::<usize>(), samples.bytes.len());
    let mut dictionary = vec![0u8; DICTIONARY_BYTES];
    // SAFETY: every parameter the trainer reads is set (the rest zero: its defaults); the
    // buffers are live for the call, `lengths` has one entry per sample and they sum to
    // `bytes.len()`; the trainer writes at most `dictionary.len()` bytes and returns how many,
    // or an error code.
    let trained = unsafe {
        let mut parameters: zstd_sys::ZDICT_fastCover_params_t = std::mem::zeroed();
        parameters.k = TRAINER_SEGMENT_BYTES;
        parameters.d = TRAINER_DMER_BYTES;
        parameters.f = TRAINER_FREQUENCY_LOG;
        parameters.accel = TRAINER_ACCELERATION;
        parameters.splitPoint = 1.0;
        parameters.zParams.compressionLevel = LEVEL;
        zstd_sys::ZDICT_trainFromBuffer_fastCover(
            dictionary.as_mut_ptr().cast(),
            dictionary.len(),
            samples.bytes.as_ptr().cast(),
            samples.lengths.as_ptr(),
            samples.lengths.len() as u32,
            parameters,
        )
    };
    // SAFETY: a plain function of the returned code.
    if unsafe { zstd_sys::ZDICT_isError(trained) } == 0 {
        dictionary.truncate(trained);
        dictionary
    } else {
        raw_content(samples).to_vec()
    }
}

/// The dictionary when the trainer refuses the samples: their last [`DICTIONARY_BYTES`].
fn raw_content(samples: &Samples) -> &[u8] {
    &samples.bytes[samples.bytes.len().saturating_sub(DICTIONARY_BYTES)..]
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
        let gathering = (make && stored.is_none()).then(Samples::default);
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

    /// Adds `compact` to the samples the dictionary is trained on. The response that completes
    /// them trains it, writes it into the `meta` tree and flushes the store before anything is
    /// compressed with it (once per store, on the writer's thread: the 4,096 responses of a
    /// throughput run, 1.3 MB, train in 0.016 s; nothing can come between the flush and the
    /// dictionary's use, not even the writer's task being dropped). Other writers go on storing
    /// compact responses meanwhile.
    pub(super) fn gather(&self, compact: &[u8]) -> Result<(), StoreError> {
        let samples = {
            let mut gathering = self.gathering.lock().expect("the dictionary's lock");
            let Some(samples) = gathering.as_mut() else {
                return Ok(());
            };
            let kept = &compact[..compact.len().min(SAMPLE_BYTES_EACH)];
            samples.bytes.extend_from_slice(kept);
            samples.lengths.push(kept.len());
            if samples.lengths.len() < SAMPLE_RESPONSES {
                return Ok(());
            }
            gathering.take().expect("present")
        };
        let dictionary = train(&samples);
        drop(samples);
        let mut value = hash_of(&dictionary).to_vec();
        value.extend_from_slice(&dictionary);
        self.meta
            .insert(DICTIONARY_KEY, value)
            .and_then(|_| self.meta.flush())
            .map_err(|error| StoreError::Io {
                operation: "dictionary write",
                message: error.to_string(),
            })?;
        let _ = self.ready.set(prepare(&dictionary));
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Score-like responses: a token, then alternatives with log-probabilities, drawn by a
    /// xorshift generator seeded from the index (so other indices do not repeat them).
    fn response(index: usize) -> Vec<u8> {
        let tokens = ["Yes", "No", " yes", " no", "YES", "Maybe", "The", "I"];
        let mut state = (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut text = format!("user-sim\u{1}{}\u{2}", tokens[(next() % 2) as usize]);
        for _ in 0..20 {
            let token = tokens[(next() % tokens.len() as u64) as usize];
            let logprob = -((next() % 100_000) as f64) / 7_919.0;
            text.push_str(&format!("{token}\u{3}{logprob:.6}\u{4}"));
        }
        text.into_bytes()
    }

    fn samples_of(range: std::ops::Range<usize>) -> Samples {
        let mut samples = Samples::default();
        for index in range {
            let bytes = response(index);
            samples.lengths.push(bytes.len());
            samples.bytes.extend_from_slice(&bytes);
        }
        samples
    }

    fn frame_of(prepared: &Prepared, bytes: &[u8]) -> Vec<u8> {
        let mut frame = Vec::with_capacity(zstd::zstd_safe::compress_bound(bytes.len()));
        zstd::zstd_safe::create_cctx()
            .compress_using_cdict(&mut frame, bytes, &prepared.compress)
            .unwrap();
        frame
    }

    /// Bytes of `responses` compressed one by one with `dictionary`.
    fn compressed_length(dictionary: &[u8], responses: &[Vec<u8>]) -> usize {
        let prepared = prepare(dictionary);
        responses
            .iter()
            .map(|bytes| frame_of(&prepared, bytes).len())
            .sum()
    }

    #[test]
    fn the_trainer_makes_a_dictionary_that_compresses_responses_it_did_not_see() {
        let samples = samples_of(0..SAMPLE_RESPONSES);
        let dictionary = train(&samples);
        assert_ne!(
            dictionary,
            raw_content(&samples),
            "the trainer fell back to raw content"
        );
        assert!(dictionary.len() <= DICTIONARY_BYTES);
        // A trained dictionary starts with zstd's magic number (raw content has none).
        assert_eq!(dictionary[..4], 0xEC30A437u32.to_le_bytes());
        let unseen: Vec<_> = (50_000..50_200).map(response).collect();
        let plain: usize = unseen.iter().map(Vec::len).sum();
        let compressed = compressed_length(&dictionary, &unseen);
        let with_raw_content = compressed_length(raw_content(&samples), &unseen);
        assert!(
            compressed < plain * 3 / 4 && compressed < with_raw_content,
            "{compressed} bytes compressed of {plain} ({with_raw_content} with raw content)"
        );
        // Every frame decodes to its response with the same dictionary.
        let prepared = prepare(&dictionary);
        for bytes in &unseen[..20] {
            let frame = frame_of(&prepared, bytes);
            let mut back = Vec::with_capacity(bytes.len());
            zstd::zstd_safe::create_dctx()
                .decompress_using_ddict(&mut back, &frame, &prepared.expand)
                .unwrap();
            assert_eq!(&back, bytes);
        }
    }

    #[test]
    fn too_few_samples_are_the_dictionary_themselves() {
        let samples = samples_of(0..3);
        assert_eq!(train(&samples), samples.bytes);
    }
}
