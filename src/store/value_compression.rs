//! Compression of the store's records, done by the store itself (format 3 on).
//!
//! Stores of format 2 let sled compress every page fragment it logs, and sled makes a new zstd
//! context for each one: with one fragment per cached response, creating those contexts (and the
//! zeroed memory they ask for) was about a sixth of a sweep's CPU (`perf record` of a paper-setting
//! run: `ZSTD_createCCtx` 5 %, `ZSTD_createDCtx` 2 %, the kernel clearing their fresh pages 5 %).
//! From format 3 sled writes plain pages; a record (tens of KiB of JSON, written once per sample)
//! is compressed here on its own, with a context kept per thread, and responses with the store's
//! dictionary ([`super::response_dictionary`]).
//!
//! A compressed value is a zstd frame, which starts with zstd's magic number: no JSON text and no
//! compact response entry starts with those bytes, so a reader tells the two forms apart by their
//! first four bytes ([`is_compressed`]).

use std::cell::RefCell;

/// zstd's level (its default, as sled used for format 2).
const LEVEL: i32 = 3;

/// The first four bytes of every zstd frame (little-endian 0xFD2FB528).
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

/// The largest value a frame may claim to expand to: a guard against a damaged entry asking for an
/// absurd allocation (a record of a deep search is a few hundred KiB).
const MAX_EXPANDED_BYTES: u64 = 256 << 20;

thread_local! {
    static COMPRESSOR: RefCell<zstd::block::Compressor> = RefCell::new(zstd::block::Compressor::new());
    static DECOMPRESSOR: RefCell<zstd::block::Decompressor> =
        RefCell::new(zstd::block::Decompressor::new());
}

/// Whether `bytes` is a value written by [`compress`].
pub(super) fn is_compressed(bytes: &[u8]) -> bool {
    bytes.starts_with(&ZSTD_MAGIC)
}

/// `bytes` as one zstd frame (its expanded size recorded in the frame's header).
pub(super) fn compress(bytes: &[u8]) -> Vec<u8> {
    COMPRESSOR.with(|compressor| {
        compressor
            .borrow_mut()
            .compress(bytes, LEVEL)
            .expect("a buffer of zstd's bound always holds the frame")
    })
}

/// `bytes` compressed when that makes it shorter, else `None`.
pub(super) fn compress_if_shorter(bytes: &[u8]) -> Option<Vec<u8>> {
    let compressed = compress(bytes);
    (compressed.len() < bytes.len()).then_some(compressed)
}

/// The size a zstd frame says it expands to, checked against [`MAX_EXPANDED_BYTES`].
pub(super) fn expanded_size(frame: &[u8]) -> Result<usize, String> {
    let size = zstd::zstd_safe::get_frame_content_size(frame);
    if size == zstd::zstd_safe::CONTENTSIZE_ERROR {
        return Err("a compressed value whose frame header is damaged".into());
    }
    if size == zstd::zstd_safe::CONTENTSIZE_UNKNOWN {
        return Err("a compressed value whose frame does not say its size".into());
    }
    if size > MAX_EXPANDED_BYTES {
        return Err(format!(
            "a compressed value that claims to expand to {size} bytes"
        ));
    }
    Ok(size as usize)
}

/// The value a frame written by [`compress`] holds; an error says what is wrong with it.
pub(super) fn decompress(frame: &[u8]) -> Result<Vec<u8>, String> {
    let size = expanded_size(frame)?;
    DECOMPRESSOR.with(|decompressor| {
        let expanded = decompressor
            .borrow_mut()
            .decompress(frame, size)
            .map_err(|error| format!("a compressed value that does not decompress: {error}"))?;
        if expanded.len() != size {
            return Err(format!(
                "a compressed value of {} bytes where its frame says {size}",
                expanded.len()
            ));
        }
        Ok(expanded)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_back_exactly_and_are_told_from_json_and_compact_entries() {
        let value = "a list of ten films, each with its year and genres; ".repeat(20);
        let frame = compress(value.as_bytes());
        assert!(frame.len() < value.len() / 4, "{} bytes", frame.len());
        assert!(is_compressed(&frame));
        assert_eq!(decompress(&frame).unwrap(), value.as_bytes());
        for other in [&b"{\"search\":1}"[..], &[0x02, 0, 0, 0, 0][..], b"", b"("] {
            assert!(!is_compressed(other), "{other:?}");
        }
        assert_eq!(decompress(&compress(b"")).unwrap(), b"");
    }

    #[test]
    fn short_random_values_are_kept_as_they_are() {
        let noise: Vec<u8> = (0..150u32)
            .map(|index| (index.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        assert_eq!(compress_if_shorter(&noise), None);
        assert!(compress_if_shorter(&[b'a'; 300]).is_some());
    }

    #[test]
    fn damaged_frames_are_errors_never_panics() {
        let frame = compress("the same words again and again ".repeat(40).as_bytes());
        for cut in [4, 6, frame.len() / 2, frame.len() - 1] {
            assert!(decompress(&frame[..cut]).is_err(), "cut at {cut}");
        }
        let mut flipped = frame.clone();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0xFF;
        // A flipped byte in the middle either fails to decode or changes the size: never a panic,
        // never a value of another length.
        if let Ok(value) = decompress(&flipped) {
            assert_eq!(value.len(), 31 * 40);
        }
        let mut huge = ZSTD_MAGIC.to_vec();
        // A frame header claiming 2^40 bytes (single segment, 8-byte size).
        huge.push(0xE0);
        huge.extend_from_slice(&(1u64 << 40).to_le_bytes());
        huge.extend_from_slice(&[0, 0, 0]);
        let error = decompress(&huge).unwrap_err();
        assert!(error.contains("claims to expand"), "{error}");
    }
}
