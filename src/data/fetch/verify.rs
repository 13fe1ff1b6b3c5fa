//! Is a file the one the table names? Size and SHA-256 when the table has them; for a file without
//! a checksum, a size bound and a load in its format, so that a truncated or garbled download of
//! it is still caught.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::sources::{FileRole, Source};
use crate::catalog::Catalog;
use crate::data::{Dataset, LoadOptions};

/// A file that matched its row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub bytes: u64,
    /// The file's SHA-256 (computed even when the table has none, so that it can be pinned).
    pub sha256: String,
    /// Whether the table's checksum was compared (false: checked by size and format only).
    pub checksum_checked: bool,
}

/// Checks `path` (which may be a `.partial`) against `source`; the error says what differs.
pub fn verify(path: &Path, source: &Source) -> Result<Verified, String> {
    let (bytes, sha256) = hash_file(path).map_err(|error| format!("cannot read it: {error}"))?;
    if let Some(size) = source.size {
        if bytes != size {
            return Err(format!(
                "size mismatch: {bytes} bytes, expected {size} (sha256 {sha256})"
            ));
        }
    }
    if let Some(min_size) = source.min_size {
        if bytes < min_size {
            return Err(format!(
                "too small: {bytes} bytes, expected at least {min_size} (sha256 {sha256})"
            ));
        }
    }
    if let Some(expected) = &source.sha256 {
        if !sha256.eq_ignore_ascii_case(expected) {
            return Err(format!(
                "checksum mismatch: sha256 {sha256}, expected {expected} ({bytes} bytes)"
            ));
        }
        return Ok(Verified {
            bytes,
            sha256,
            checksum_checked: true,
        });
    }
    check_format(path, source.role)?;
    Ok(Verified {
        bytes,
        sha256,
        checksum_checked: false,
    })
}

/// Loads the file in its format; for files the table has no checksum for.
fn check_format(path: &Path, role: FileRole) -> Result<(), String> {
    match role {
        FileRole::Catalog(format) => {
            let catalog =
                Catalog::load(path, format).map_err(|error| format!("not a catalog: {error}"))?;
            if catalog.is_empty() {
                return Err("not a catalog: it holds no item".into());
            }
        }
        FileRole::Samples(format) => {
            let dataset = Dataset::load(path, format, LoadOptions::default())
                .map_err(|error| format!("not a {format} dataset: {error}"))?;
            if dataset.stats.conversations == 0 {
                return Err(format!("not a {format} dataset: it holds no conversation"));
            }
        }
    }
    Ok(())
}

/// The size and lower-case hex SHA-256 of a file, read in blocks.
pub fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        bytes += read as u64;
    }
    Ok((bytes, hex(&hasher.finalize())))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}
