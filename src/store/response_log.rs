//! The response log of a store of format 4 or later: every cached response appended to one file,
//! `responses.log`, found again through an index in memory.
//!
//! Why not a sled tree: a sweep stores every model call it makes, thousands a second, and reads
//! back only what it resumes. In a tree each response paid for a B-tree insertion, a page cache
//! lookup before its call (to find that it was not there), sled's background page writes and its
//! flush: about a fifth of the orchestrator's CPU. Appended to a log, a response costs one
//! positional write into the page cache and a share of the group commit's `fdatasync`
//! ([`super::group_commit`]); a lookup is a hash probe, and a miss costs nothing else.
//!
//! The file: a header ([`LOG_HEADER`]), then entries, each
//! `[value length: u32 LE][CRC-32 of key and value: u32 LE][key: 32 bytes][value]`; the value is a
//! response cache entry exactly as [`super::response_cache`] lays it out. Entries are written one
//! at a time, in the order the writes came (a lock around the positional write), so that a crash
//! can only leave a torn last entry: an entry is acknowledged only after a flush that came after
//! its write, so nothing after the first torn entry was ever acknowledged.
//!
//! Opening reads the log through once: sound entries are indexed, an entry whose checksum fails
//! is skipped and reported (a later entry is still found), and bytes that do not make an entry up
//! to the end (a torn write) are reported and overwritten by the next write. Nothing is truncated,
//! so `grsu verify` can open a store to check it without changing it.
//!
//! The index maps the first 8 bytes of a key (keys are SHA-256 digests) to where its entry is:
//! 16 bytes a response in memory. A key whose first 8 bytes equal another's (about one chance in
//! 10^8 for a million responses) goes into a small second map by its whole key, so that no
//! answer is ever shadowed; every read checks the whole key stored in the entry.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::StoreError;

/// The file of the log, in the store's folder.
pub const LOG_FILE: &str = "responses.log";

/// The first bytes of a response log: what it is and the version of its entry layout.
pub const LOG_HEADER: &[u8; 16] = b"grsu responses 1";

/// Bytes before an entry's key: its value length and checksum.
const ENTRY_HEADER: usize = 8;

/// The key's length.
const KEY: usize = 32;

/// The longest value an entry may hold: the index packs the length into 24 bits. A cached
/// response is a compact encoding of at most [`crate::model::http::MAX_RESPONSE_BYTES`] of JSON,
/// far below this.
pub const MAX_VALUE_BYTES: usize = (1 << 24) - 1;

/// The largest offset the index can hold (40 bits): a 1 TiB log.
const MAX_OFFSET: u64 = (1 << 40) - 1;

/// Where an entry's value is: its offset (40 bits) and length (24 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot(u64);

impl Slot {
    fn new(value_offset: u64, length: usize) -> Self {
        debug_assert!(value_offset <= MAX_OFFSET && length <= MAX_VALUE_BYTES);
        Slot(value_offset << 24 | length as u64)
    }

    fn value_offset(self) -> u64 {
        self.0 >> 24
    }

    fn length(self) -> usize {
        (self.0 & ((1 << 24) - 1)) as usize
    }

    /// The offset of the entry itself (its header).
    fn entry_offset(self) -> u64 {
        self.value_offset() - (ENTRY_HEADER + KEY) as u64
    }
}

/// Keys are SHA-256 digests: their first 8 bytes are already a uniform hash.
#[derive(Default)]
struct PrefixHasher(u64);

impl Hasher for PrefixHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

type PrefixMap<V> = HashMap<u64, V, BuildHasherDefault<PrefixHasher>>;

fn prefix_of(key: &[u8; 32]) -> u64 {
    u64::from_le_bytes(key[..8].try_into().expect("8 of 32 bytes"))
}

/// A stored entry: its key and its value.
pub type KeyedEntry = ([u8; 32], Vec<u8>);

/// A problem found reading the log: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDamage {
    /// The byte offset of the damaged entry (or of the unreadable rest).
    pub offset: u64,
    pub problem: String,
    /// Whether a sound entry follows (damage, not a write cut short at the end).
    pub in_the_middle: bool,
}

#[derive(Debug, Default)]
struct Index {
    /// Entries by the first 8 bytes of their key.
    by_prefix: PrefixMap<Slot>,
    /// Entries whose key shares its first 8 bytes with another's, by their whole key.
    colliding: HashMap<[u8; 32], Slot>,
    /// Where the next entry goes.
    end: u64,
    /// Whether bytes that make no entry follow `end` (a torn write): cut before the next write,
    /// so that they are never read as part of an entry.
    torn_tail: bool,
}

/// An open response log. Shared by every handle of the store.
#[derive(Debug)]
pub struct ResponseLog {
    path: PathBuf,
    file: File,
    index: Mutex<Index>,
}

fn io_error<'a>(
    path: &'a Path,
    operation: &'static str,
) -> impl Fn(std::io::Error) -> StoreError + 'a {
    move |error| StoreError::Io {
        operation,
        message: format!("{}: {error}", path.display()),
    }
}

/// An entry's length, checksum and key, as read.
type EntryHead = [u8; ENTRY_HEADER + KEY];

/// The value length `head` announces, if the whole entry fits in the `remaining` bytes from its
/// start.
fn announced_length(head: &EntryHead, remaining: u64) -> Option<usize> {
    let length = u32::from_le_bytes(head[..4].try_into().expect("4 bytes")) as usize;
    (length <= MAX_VALUE_BYTES && (head.len() + length) as u64 <= remaining).then_some(length)
}

/// Whether `head`'s checksum holds for its key and `value`.
fn checksum_holds(head: &[u8], value: &[u8]) -> bool {
    let stored = u32::from_le_bytes(head[4..8].try_into().expect("4 bytes"));
    checksum(&head[ENTRY_HEADER..ENTRY_HEADER + KEY], value) == stored
}

fn checksum(key: &[u8], value: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(key);
    hasher.update(value);
    hasher.finalize()
}

impl ResponseLog {
    /// Opens the log in `folder`, creating it if there is none, and indexes its entries.
    pub fn open(folder: &Path) -> Result<Self, StoreError> {
        let path = folder.join(LOG_FILE);
        let open_failed = |message: String| StoreError::Open {
            path: path.display().to_string(),
            message,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|error| open_failed(error.to_string()))?;
        let length = file
            .metadata()
            .map_err(|error| open_failed(error.to_string()))?
            .len();
        if length < LOG_HEADER.len() as u64 {
            // A new log, or one whose creation a crash cut short: nothing in it was ever
            // acknowledged.
            file.write_all_at(LOG_HEADER, 0)
                .and_then(|()| file.sync_all())
                .map_err(|error| open_failed(format!("cannot write the header: {error}")))?;
            // The file's name is durable once its folder is.
            if let Ok(directory) = File::open(folder) {
                let _ = directory.sync_all();
            }
        }
        let mut log = ResponseLog {
            path,
            file,
            index: Mutex::default(),
        };
        let mut index = Index::default();
        let damage = log.scan(|key, slot, _| {
            index.insert(key, slot, |slot| log.key_at(slot));
            Ok(())
        })?;
        index.end = damage.end;
        index.torn_tail = damage.end < log.file_length()?;
        if let Some(damaged) = damage.found.iter().find(|damage| damage.in_the_middle) {
            // Not a crash's doing: the file was overwritten or its disk failed. Nothing is
            // skipped silently.
            return Err(StoreError::Open {
                path: log.path.display().to_string(),
                message: format!(
                    "{LOG_FILE} (the cached responses) is damaged at byte {}: {}",
                    damaged.offset, damaged.problem
                ),
            });
        }
        for LogDamage {
            offset, problem, ..
        } in &damage.found
        {
            tracing::warn!(
                "{} at byte {offset}: {problem}; what it held is asked for again if needed",
                log.path.display()
            );
        }
        *log.index.get_mut().unwrap_or_else(PoisonError::into_inner) = index;
        Ok(log)
    }

    fn lock(&self) -> MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many responses it holds.
    pub fn len(&self) -> usize {
        let index = self.lock();
        index.by_prefix.len() + index.colliding.len()
    }

    /// The value stored under `key`, if any.
    pub fn get(&self, key: &[u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(slot) = self.lock().find(key) else {
            return Ok(None);
        };
        let (stored_key, value) = self.read_entry(slot)?;
        // Another key with the same first 8 bytes, never stored itself: not there.
        Ok((&stored_key == key).then_some(value))
    }

    /// The key and value of the first entry whose key starts with `prefix` (at most 32 bytes).
    pub fn find_prefix(&self, prefix: &[u8]) -> Result<Option<KeyedEntry>, StoreError> {
        let candidates: Vec<Slot> = {
            let index = self.lock();
            let colliding = index.colliding.values().copied();
            if prefix.len() >= 8 {
                let first = u64::from_le_bytes(prefix[..8].try_into().expect("8 bytes"));
                let found = index.by_prefix.get(&first).copied();
                found.into_iter().chain(colliding).collect()
            } else {
                // The index holds every key's first 8 bytes: only entries that can match are
                // read.
                index
                    .by_prefix
                    .iter()
                    .filter(|(first, _)| first.to_le_bytes().starts_with(prefix))
                    .map(|(_, slot)| *slot)
                    .chain(colliding)
                    .collect()
            }
        };
        let mut best: Option<KeyedEntry> = None;
        for slot in candidates {
            let (key, value) = self.read_entry(slot)?;
            if key.starts_with(prefix) && best.as_ref().is_none_or(|(found, _)| key < *found) {
                best = Some((key, value));
            }
        }
        Ok(best)
    }

    /// Appends `value` under `key` unless the key is there already (an entry is never replaced:
    /// the same request always has the same answer). The entry is in the page cache when this
    /// returns; it is durable after the next [`ResponseLog::sync`]. Whether it was appended.
    pub fn append(&self, key: &[u8; 32], value: &[u8]) -> Result<bool, StoreError> {
        if value.len() > MAX_VALUE_BYTES {
            return Err(StoreError::Io {
                operation: "cache write",
                message: format!(
                    "{}: a response of {} bytes, over the log's limit of {MAX_VALUE_BYTES}",
                    self.path.display(),
                    value.len()
                ),
            });
        }
        let mut entry = Vec::with_capacity(ENTRY_HEADER + KEY + value.len());
        entry.extend_from_slice(&(value.len() as u32).to_le_bytes());
        entry.extend_from_slice(&checksum(key, value).to_le_bytes());
        entry.extend_from_slice(key);
        entry.extend_from_slice(value);
        let mut index = self.lock();
        if index
            .find(key)
            .is_some_and(|slot| self.key_at(slot).is_ok_and(|stored| &stored == key))
        {
            return Ok(false);
        }
        let offset = index.end;
        let value_offset = offset + (ENTRY_HEADER + KEY) as u64;
        if value_offset + value.len() as u64 > MAX_OFFSET {
            return Err(StoreError::Io {
                operation: "cache write",
                message: format!("{}: the log is full (1 TiB)", self.path.display()),
            });
        }
        if index.torn_tail {
            self.file
                .set_len(offset)
                .map_err(io_error(&self.path, "cache write"))?;
            index.torn_tail = false;
        }
        self.file
            .write_all_at(&entry, offset)
            .map_err(io_error(&self.path, "cache write"))?;
        index.end = offset + entry.len() as u64;
        let slot = Slot::new(value_offset, value.len());
        index.insert(*key, slot, |slot| self.key_at(slot));
        Ok(true)
    }

    fn file_length(&self) -> Result<u64, StoreError> {
        Ok(self
            .file
            .metadata()
            .map_err(io_error(&self.path, "cache read"))?
            .len())
    }

    /// Makes every append so far durable.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.file
            .sync_data()
            .map_err(io_error(&self.path, "cache flush"))
    }

    /// Every sound entry, in the order written, with the damage found (for `grsu verify` and
    /// `grsu merge`): `visit` is called with each key and value.
    pub fn each_entry(
        &self,
        mut visit: impl FnMut(&[u8; 32], &[u8]) -> Result<(), StoreError>,
    ) -> Result<Vec<LogDamage>, StoreError> {
        Ok(self.scan(|key, _, value| visit(&key, value))?.found)
    }

    /// The key stored in the entry at `slot`.
    fn key_at(&self, slot: Slot) -> Result<[u8; 32], StoreError> {
        let mut key = [0u8; 32];
        self.file
            .read_exact_at(&mut key, slot.entry_offset() + ENTRY_HEADER as u64)
            .map_err(io_error(&self.path, "cache read"))?;
        Ok(key)
    }

    /// The key and value of the entry at `slot`, its checksum checked.
    fn read_entry(&self, slot: Slot) -> Result<([u8; 32], Vec<u8>), StoreError> {
        let mut bytes = vec![0u8; ENTRY_HEADER + KEY + slot.length()];
        self.file
            .read_exact_at(&mut bytes, slot.entry_offset())
            .map_err(io_error(&self.path, "cache read"))?;
        let (head, value) = bytes.split_at(ENTRY_HEADER + KEY);
        if !checksum_holds(head, value) {
            return Err(StoreError::Corrupt {
                tree: "responses",
                message: format!(
                    "the entry at byte {} of {} fails its checksum",
                    slot.entry_offset(),
                    self.path.display()
                ),
            });
        }
        let key: [u8; 32] = head[ENTRY_HEADER..].try_into().expect("32 bytes");
        bytes.drain(..ENTRY_HEADER + KEY);
        Ok((key, bytes))
    }

    /// Reads the log through from the start: `visit` gets each sound entry's key, slot and value.
    fn scan(
        &self,
        mut visit: impl FnMut([u8; 32], Slot, &[u8]) -> Result<(), StoreError>,
    ) -> Result<Scanned, StoreError> {
        let read_failed = io_error(&self.path, "cache read");
        let length = self.file_length()?;
        // Read through positional reads: the file's shared cursor is never moved.
        let mut header = [0u8; 16];
        let mut cursor = ReadAt {
            file: &self.file,
            offset: 0,
        };
        cursor
            .read_exact(&mut header)
            .map_err(|error| StoreError::Open {
                path: self.path.display().to_string(),
                message: format!("{LOG_FILE}: cannot read its header: {error}"),
            })?;
        if &header != LOG_HEADER {
            return Err(StoreError::Open {
                path: self.path.display().to_string(),
                message: format!(
                    "{LOG_FILE} is not a grsu response log (it starts {:?}, not {:?}): \
                     overwritten, or written by a newer grsu",
                    String::from_utf8_lossy(&header),
                    String::from_utf8_lossy(LOG_HEADER)
                ),
            });
        }
        let mut reader = BufReader::with_capacity(1 << 20, cursor);
        let mut offset = LOG_HEADER.len() as u64;
        let mut found = Vec::new();
        let mut entry = Vec::new();
        while offset < length {
            let remaining = length - offset;
            let mut head: EntryHead = [0u8; ENTRY_HEADER + KEY];
            let whole = remaining >= head.len() as u64 && reader.read_exact(&mut head).is_ok();
            let announced = announced_length(&head, remaining).filter(|_| whole);
            if let Some(length) = announced {
                entry.resize(length, 0);
                reader.read_exact(&mut entry).map_err(&read_failed)?;
            }
            if let Some(value_length) = announced.filter(|_| checksum_holds(&head, &entry)) {
                let key: [u8; 32] = head[ENTRY_HEADER..].try_into().expect("32 bytes");
                let value_offset = offset + head.len() as u64;
                visit(key, Slot::new(value_offset, value_length), &entry)?;
                offset = value_offset + value_length as u64;
                continue;
            }
            // Damage in the middle (a sound entry follows) or a write cut short at the end.
            match self.next_sound_entry(offset + 1, length)? {
                Some(next) => {
                    found.push(LogDamage {
                        offset,
                        problem: format!(
                            "{} bytes that make no sound entry (a checksum or a length that \
                             does not hold), before the sound entry at byte {next}",
                            next - offset
                        ),
                        in_the_middle: true,
                    });
                    offset = next;
                    reader = BufReader::with_capacity(
                        1 << 20,
                        ReadAt {
                            file: &self.file,
                            offset,
                        },
                    );
                }
                None => {
                    found.push(LogDamage {
                        offset,
                        problem: format!(
                            "the last {remaining} bytes make no whole entry (a write cut short \
                             by a crash; nothing in them was acknowledged)"
                        ),
                        in_the_middle: false,
                    });
                    break;
                }
            }
        }
        Ok(Scanned { end: offset, found })
    }

    /// The offset of the first sound entry at or after `from` (its length fits and its checksum
    /// holds), searched byte by byte: only after damage.
    fn next_sound_entry(&self, from: u64, length: u64) -> Result<Option<u64>, StoreError> {
        let read_failed = io_error(&self.path, "cache read");
        let mut head: EntryHead = [0u8; ENTRY_HEADER + KEY];
        let mut value = Vec::new();
        for offset in from..length {
            let remaining = length - offset;
            if remaining < head.len() as u64 {
                return Ok(None);
            }
            self.file
                .read_exact_at(&mut head, offset)
                .map_err(&read_failed)?;
            let Some(value_length) = announced_length(&head, remaining) else {
                continue;
            };
            value.resize(value_length, 0);
            self.file
                .read_exact_at(&mut value, offset + head.len() as u64)
                .map_err(&read_failed)?;
            if checksum_holds(&head, &value) {
                return Ok(Some(offset));
            }
        }
        Ok(None)
    }
}

/// What a scan found: where sound entries end, and the damage.
struct Scanned {
    end: u64,
    found: Vec<LogDamage>,
}

/// Reads a file from an offset of its own, not from the file's shared cursor.
struct ReadAt<'a> {
    file: &'a File,
    offset: u64,
}

impl Read for ReadAt<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.file.read_at(buffer, self.offset)?;
        self.offset += read as u64;
        Ok(read)
    }
}

impl Index {
    fn find(&self, key: &[u8; 32]) -> Option<Slot> {
        if !self.colliding.is_empty() {
            if let Some(slot) = self.colliding.get(key) {
                return Some(*slot);
            }
        }
        self.by_prefix.get(&prefix_of(key)).copied()
    }

    /// Indexes `key` at `slot`; `key_at` reads the key of an entry already indexed under the
    /// same first 8 bytes.
    fn insert(
        &mut self,
        key: [u8; 32],
        slot: Slot,
        key_at: impl Fn(Slot) -> Result<[u8; 32], StoreError>,
    ) {
        use std::collections::hash_map::Entry;
        match self.by_prefix.entry(prefix_of(&key)) {
            Entry::Vacant(vacant) => {
                vacant.insert(slot);
            }
            Entry::Occupied(occupied) => {
                let other = *occupied.get();
                if key_at(other).ok() != Some(key) {
                    self.colliding.entry(key).or_insert(slot);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(first: u8, rest: u8) -> [u8; 32] {
        let mut key = [rest; 32];
        key[0] = first;
        key
    }

    fn entries(log: &ResponseLog) -> (Vec<KeyedEntry>, Vec<LogDamage>) {
        let mut found = Vec::new();
        let damage = log
            .each_entry(|key, value| {
                found.push((*key, value.to_vec()));
                Ok(())
            })
            .unwrap();
        (found, damage)
    }

    fn length(folder: &Path) -> u64 {
        std::fs::metadata(folder.join(LOG_FILE)).unwrap().len()
    }

    #[test]
    fn appended_entries_read_back_after_reopening_and_a_key_is_stored_once() {
        let folder = tempfile::tempdir().unwrap();
        let log = ResponseLog::open(folder.path()).unwrap();
        assert_eq!(log.len(), 0);
        for index in 0..100u8 {
            log.append(&key(index, 7), &vec![index; index as usize + 1])
                .unwrap();
        }
        let before = length(folder.path());
        assert!(!log.append(&key(5, 7), b"another answer").unwrap());
        assert_eq!(
            length(folder.path()),
            before,
            "a stored key is not appended again"
        );
        log.sync().unwrap();
        drop(log);

        let log = ResponseLog::open(folder.path()).unwrap();
        assert_eq!(log.len(), 100);
        assert_eq!(log.get(&key(5, 7)).unwrap(), Some(vec![5; 6]));
        assert_eq!(log.get(&key(99, 7)).unwrap(), Some(vec![99; 100]));
        assert_eq!(log.get(&key(100, 7)).unwrap(), None);
        let (found, damage) = entries(&log);
        assert!(damage.is_empty(), "{damage:?}");
        assert_eq!(found.len(), 100);
        assert_eq!(found[3], (key(3, 7), vec![3; 4]), "in the order written");
    }

    #[test]
    fn keys_sharing_their_first_eight_bytes_are_both_kept() {
        let folder = tempfile::tempdir().unwrap();
        let log = ResponseLog::open(folder.path()).unwrap();
        let (first, second) = (key(1, 0), {
            let mut other = key(1, 0);
            other[31] = 9;
            other
        });
        log.append(&first, b"first").unwrap();
        assert_eq!(log.get(&second).unwrap(), None, "not shadowed by the first");
        log.append(&second, b"second").unwrap();
        for log in [log, ResponseLog::open(folder.path()).unwrap()] {
            assert_eq!(log.len(), 2);
            assert_eq!(log.get(&first).unwrap().as_deref(), Some(&b"first"[..]));
            assert_eq!(log.get(&second).unwrap().as_deref(), Some(&b"second"[..]));
            let (found, _) = log.find_prefix(&first[..8]).unwrap().unwrap();
            assert_eq!(found, first, "the smallest key with the prefix");
            assert_eq!(log.find_prefix(&second[..31]).unwrap().unwrap().0, first);
            assert_eq!(log.find_prefix(&[2]).unwrap(), None);
        }
    }

    #[test]
    fn a_torn_last_entry_is_reported_and_cut_by_the_next_write() {
        let folder = tempfile::tempdir().unwrap();
        let log = ResponseLog::open(folder.path()).unwrap();
        log.append(&key(1, 1), b"one").unwrap();
        log.append(&key(2, 2), b"two").unwrap();
        drop(log);
        let whole = length(folder.path());
        // Half an entry, as a crash in the middle of a write leaves it.
        let file = OpenOptions::new()
            .append(true)
            .open(folder.path().join(LOG_FILE))
            .unwrap();
        use std::io::Write;
        (&file).write_all(&[200, 0, 0, 0, 1, 2, 3]).unwrap();
        drop(file);

        let log = ResponseLog::open(folder.path()).unwrap();
        assert_eq!(log.len(), 2);
        let (found, damage) = entries(&log);
        assert_eq!(found.len(), 2);
        assert_eq!(damage.len(), 1, "{damage:?}");
        assert_eq!(damage[0].offset, whole);
        assert!(damage[0].problem.contains("make no whole entry"));
        assert_eq!(length(folder.path()), whole + 7, "opening changes nothing");

        log.append(&key(3, 3), b"three").unwrap();
        drop(log);
        let log = ResponseLog::open(folder.path()).unwrap();
        let (found, damage) = entries(&log);
        assert!(damage.is_empty(), "the torn bytes were cut: {damage:?}");
        assert_eq!(found.len(), 3);
        assert_eq!(log.get(&key(3, 3)).unwrap().as_deref(), Some(&b"three"[..]));
    }

    /// A log of three entries whose byte `at` (counted from the first entry) is flipped.
    fn damaged_log(at: usize) -> tempfile::TempDir {
        let folder = tempfile::tempdir().unwrap();
        let log = ResponseLog::open(folder.path()).unwrap();
        log.append(&key(1, 1), b"one").unwrap();
        log.append(&key(2, 2), b"two").unwrap();
        log.append(&key(3, 3), b"three").unwrap();
        drop(log);
        let path = folder.path().join(LOG_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[LOG_HEADER.len() + at] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
        folder
    }

    #[test]
    fn damage_in_the_middle_fails_the_opening_by_file_and_byte() {
        let entry = ENTRY_HEADER + KEY + 3;
        // The second entry's last value byte (its checksum fails), then its length (the rest
        // is found again at the third entry).
        for at in [2 * entry - 1, entry] {
            let folder = damaged_log(at);
            let error = ResponseLog::open(folder.path()).unwrap_err().to_string();
            assert!(
                error.contains(&format!(
                    "{LOG_FILE} (the cached responses) is damaged at byte {}",
                    LOG_HEADER.len() + entry
                )),
                "{error}"
            );
            assert!(
                error.contains(&format!(
                    "before the sound entry at byte {}",
                    LOG_HEADER.len() + 2 * entry
                )),
                "{error}"
            );
        }
    }

    #[test]
    fn damage_to_the_last_entry_is_a_write_cut_short() {
        let entry = ENTRY_HEADER + KEY + 3;
        let folder = damaged_log(2 * entry + ENTRY_HEADER + KEY + 2);
        let log = ResponseLog::open(folder.path()).unwrap();
        assert_eq!(log.len(), 2);
        assert_eq!(log.get(&key(3, 3)).unwrap(), None);
        let (found, damage) = entries(&log);
        assert_eq!(found.len(), 2);
        assert_eq!(damage.len(), 1);
        assert!(!damage[0].in_the_middle);
    }

    #[test]
    fn a_file_that_is_not_a_log_is_refused_by_name() {
        let folder = tempfile::tempdir().unwrap();
        std::fs::write(folder.path().join(LOG_FILE), b"something else entirely").unwrap();
        let error = ResponseLog::open(folder.path()).unwrap_err().to_string();
        assert!(error.contains(LOG_FILE), "{error}");
        assert!(error.contains("not a grsu response log"), "{error}");
    }
}
