//! The store's response dictionary (format 3) and response log (format 4), checked from outside:
//! the store's files are read with the storage engine itself, and the log by its documented
//! layout, once grsu has closed them. A new store trains its dictionary on its first responses and
//! compresses every later one with it; the dictionary is on disk before anything that needs it;
//! damage to it is reported, never misread; `grsu merge`'s copy re-encodes for the other store's
//! dictionary, between stores that keep their responses in a log or in a tree; a store of format
//! 2 or 3 goes on being written in its format.

use std::path::Path;
use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use std::collections::HashMap;

use grsu::store::{
    verify, Store, DICTIONARY_BYTES, LOG_FILE, LOG_HEADER, SAMPLE_RESPONSES, STORE_FORMAT_VERSION,
};
use grsu_test_support::responses::{paper_mix_request as request, paper_mix_response};

/// The entry kinds of the documented value layout (`store::response_cache`).
const COMPACT_WITH_ORIGIN: u8 = 0x02;
const COMPRESSED_WITH_ORIGIN: u8 = 0x04;
const DICTIONARY_KEY: &str = "response_dictionary";

/// At most this many writes at once.
const WRITERS: u64 = 32;

/// Writes responses `range` with [`WRITERS`] concurrent writers, each write awaited as a sweep's
/// calls are.
async fn write(store: &Store, range: std::ops::Range<u64>) {
    let cache = store.response_cache().unwrap();
    let next = Arc::new(AtomicU64::new(range.start));
    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let (cache, next, end) = (cache.clone(), next.clone(), range.end);
            tokio::spawn(async move {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= end {
                        break;
                    }
                    cache
                        .put_from("user", &request(index), &paper_mix_response(index), index)
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
}

/// The responses a store trains its dictionary on.
const SAMPLES: u64 = SAMPLE_RESPONSES as u64;

/// Responses written once the dictionary is made.
const AFTER: u64 = 1_000;

/// Responses a store receives before its dictionary and [`AFTER`] more.
const PAST_THE_DICTIONARY: u64 = SAMPLES + AFTER;

/// Writes the responses `start..start + PAST_THE_DICTIONARY` to a new store: the last of the
/// first [`SAMPLES`] trains the dictionary (other writers go on meanwhile), so the rest are all
/// written after it.
async fn write_past_the_dictionary(store: &Store, start: u64) {
    write(store, start..start + SAMPLES).await;
    write(store, start + SAMPLES..start + PAST_THE_DICTIONARY).await;
}

fn reads_back(store: &Store, range: std::ops::Range<u64>) {
    let cache = store.response_cache().unwrap();
    for index in range {
        assert_eq!(
            cache.peek("user", &request(index)).unwrap(),
            Some(paper_mix_response(index)),
            "response {index}"
        );
    }
}

/// Opens the closed store in `folder` with the storage engine itself (waiting for the lock grsu's
/// background writes hold a moment after closing).
fn raw(folder: &Path, compressed_pages: bool) -> sled::Db {
    let started = Instant::now();
    loop {
        match sled::Config::new()
            .path(folder)
            .mode(sled::Mode::LowSpace)
            .use_compression(compressed_pages)
            .open()
        {
            Ok(db) => return db,
            Err(error) if started.elapsed() < Duration::from_secs(5) => {
                let _ = error;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(error) => panic!("cannot open {}: {error}", folder.display()),
        }
    }
}

/// The entries of the response log in `folder`, read by the layout `store::response_log`
/// documents: a header, then `[value length u32][crc-32 u32][key 32][value]`.
fn log_entries(folder: &Path) -> HashMap<[u8; 32], Vec<u8>> {
    let bytes = std::fs::read(folder.join(LOG_FILE)).unwrap();
    assert_eq!(&bytes[..LOG_HEADER.len()], LOG_HEADER);
    let mut entries = HashMap::new();
    let mut at = LOG_HEADER.len();
    while at < bytes.len() {
        let length = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let crc = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap());
        let body = &bytes[at + 8..at + 40 + length];
        assert_eq!(crc32fast::hash(body), crc, "the entry at byte {at}");
        let key: [u8; 32] = body[..32].try_into().unwrap();
        assert!(
            entries.insert(key, body[32..].to_vec()).is_none(),
            "a key stored twice"
        );
        at += 40 + length;
    }
    entries
}

/// The kind byte and length of every response entry, in the order of `request(index)`: from the
/// store's response log if it has one, else from its `responses` tree.
fn kinds(folder: &Path, db: &sled::Db, range: std::ops::Range<u64>) -> Vec<(u8, usize)> {
    let log = folder.join(LOG_FILE).exists().then(|| log_entries(folder));
    let responses = db.open_tree("responses").unwrap();
    range
        .map(|index| {
            let key = grsu::store::ResponseCache::key("user", &request(index));
            let value = match &log {
                Some(log) => log.get(&key).cloned().expect("an entry in the log"),
                None => responses.get(key).unwrap().expect("an entry").to_vec(),
            };
            (value[0], value.len())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_store_compresses_with_a_dictionary_trained_on_its_first_responses() {
    let folder = tempfile::tempdir().unwrap();
    let store = Store::open(folder.path()).unwrap();
    write_past_the_dictionary(&store, 0).await;
    reads_back(&store, 0..PAST_THE_DICTIONARY);
    drop(store);

    let db = raw(folder.path(), false);
    assert_eq!(
        db.open_tree("meta")
            .unwrap()
            .get("format")
            .unwrap()
            .as_deref(),
        Some(STORE_FORMAT_VERSION.to_string().as_bytes())
    );
    let dictionary = db
        .open_tree("meta")
        .unwrap()
        .get(DICTIONARY_KEY)
        .unwrap()
        .expect("the store made its dictionary");
    assert!(
        (8 + 1_024..=8 + DICTIONARY_BYTES).contains(&dictionary.len()),
        "a hash and a dictionary of {} bytes",
        dictionary.len() - 8
    );
    // Compact until the dictionary was trained, compressed with it after.
    let before = kinds(folder.path(), &db, 0..SAMPLES);
    let compact: Vec<_> = before.iter().collect();
    assert!(compact.iter().all(|(kind, _)| *kind == COMPACT_WITH_ORIGIN));
    let after = kinds(folder.path(), &db, SAMPLES..PAST_THE_DICTIONARY);
    let compressed: Vec<_> = after
        .iter()
        .filter(|(kind, _)| *kind == COMPRESSED_WITH_ORIGIN)
        .collect();
    assert!(
        compressed.len() * 10 >= after.len() * 9,
        "{} of {} later entries compressed",
        compressed.len(),
        after.len()
    );
    let mean = |entries: &[&(u8, usize)]| {
        entries.iter().map(|(_, length)| *length).sum::<usize>() as f64 / entries.len() as f64
    };
    assert!(
        // The synthetic mix's log-probabilities are random; real answers repeat far more.
        mean(&compressed) < 0.75 * mean(&compact),
        "{:.0} bytes per entry compressed against {:.0} compact",
        mean(&compressed),
        mean(&compact)
    );
    drop(db);

    // Reopened (a resumed run): everything reads back, and new writes use the same dictionary.
    let store = Store::open(folder.path()).unwrap();
    let more = PAST_THE_DICTIONARY..PAST_THE_DICTIONARY + 100;
    write(&store, more.clone()).await;
    reads_back(&store, 0..more.end);
    drop(store);
    let db = raw(folder.path(), false);
    assert!(kinds(folder.path(), &db, more)
        .iter()
        .all(|(kind, _)| *kind == COMPRESSED_WITH_ORIGIN));
    assert_eq!(
        db.open_tree("meta").unwrap().get(DICTIONARY_KEY).unwrap(),
        Some(dictionary)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_dictionary_is_reported_and_its_entries_are_errors() {
    let folder = tempfile::tempdir().unwrap();
    let store = Store::open(folder.path()).unwrap();
    write_past_the_dictionary(&store, 0).await;
    drop(store);
    {
        let db = raw(folder.path(), false);
        let meta = db.open_tree("meta").unwrap();
        let mut dictionary = meta.get(DICTIONARY_KEY).unwrap().unwrap().to_vec();
        dictionary[100] ^= 0x5A;
        meta.insert(DICTIONARY_KEY, dictionary).unwrap();
        db.flush().unwrap();
    }
    let store = Store::open(folder.path()).expect("a damaged store still opens, to be verified");
    let cache = store.response_cache().unwrap();
    // The entries written before the dictionary need none.
    assert_eq!(
        cache.peek("user", &request(0)).unwrap(),
        Some(paper_mix_response(0))
    );
    let last = PAST_THE_DICTIONARY - 1;
    let error = cache.peek("user", &request(last)).unwrap_err().to_string();
    assert!(
        error.contains("corrupt store entry in `responses`")
            && error.contains("response dictionary is damaged"),
        "{error}"
    );
    let report = verify(&store);
    assert!(
        report
            .damaged
            .iter()
            .any(|damage| damage.tree == "meta" && damage.key.contains(DICTIONARY_KEY)),
        "{:?}",
        report.damaged
    );
    assert!(report
        .damaged
        .iter()
        .any(|damage| damage.tree == "responses" && damage.problem.contains("damaged")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_re_encodes_responses_for_the_other_stores_dictionary() {
    let folders = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let shard = Store::open(folders[0].path()).unwrap();
    let merged = Store::open(folders[1].path()).unwrap();
    // Each store's dictionary is made of other responses.
    let other = 100_000..100_000 + PAST_THE_DICTIONARY;
    write_past_the_dictionary(&shard, 0).await;
    write_past_the_dictionary(&merged, other.start).await;
    let counts = merged.merge_from(&shard).unwrap();
    assert_eq!(counts.responses_added, PAST_THE_DICTIONARY);
    drop(shard);
    reads_back(&merged, 0..PAST_THE_DICTIONARY);
    reads_back(&merged, other);
    drop(merged);
    let db = raw(folders[1].path(), false);
    // The shard's compressed entries are re-encoded for this store's dictionary, and those it had
    // stored compact are compressed with it too.
    let compressed = kinds(folders[1].path(), &db, 0..PAST_THE_DICTIONARY)
        .iter()
        .filter(|(kind, _)| *kind == COMPRESSED_WITH_ORIGIN)
        .count();
    assert!(
        compressed as u64 > PAST_THE_DICTIONARY * 9 / 10,
        "{compressed} of {PAST_THE_DICTIONARY} merged entries compressed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_format_2_store_is_written_as_format_2() {
    let folder = tempfile::tempdir().unwrap();
    {
        // What format 2 left: compressed pages, its version recorded.
        let db = raw(folder.path(), true);
        db.open_tree("meta").unwrap().insert("format", "2").unwrap();
        db.flush().unwrap();
    }
    let store = Store::open(folder.path()).unwrap();
    write(&store, 0..1_000).await;
    reads_back(&store, 0..1_000);
    drop(store);
    let db = raw(folder.path(), true);
    let meta = db.open_tree("meta").unwrap();
    assert_eq!(meta.get("format").unwrap().as_deref(), Some(&b"2"[..]));
    assert_eq!(meta.get(DICTIONARY_KEY).unwrap(), None);
    assert!(
        !folder.path().join(LOG_FILE).exists(),
        "responses stay in the tree"
    );
    assert!(kinds(folder.path(), &db, 0..1_000)
        .iter()
        .all(|(kind, _)| *kind == COMPACT_WITH_ORIGIN));
}

/// A store that says it is of format 3, as that grsu left it: plain pages, responses in its tree.
fn format_3_store(folder: &Path) {
    let db = raw(folder, false);
    db.open_tree("meta").unwrap().insert("format", "3").unwrap();
    db.flush().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_format_3_store_keeps_its_responses_in_its_tree_and_merges_both_ways() {
    let folders = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    format_3_store(folders[0].path());
    let old = Store::open(folders[0].path()).unwrap();
    let new = Store::open(folders[1].path()).unwrap();
    write_past_the_dictionary(&old, 0).await;
    write(&new, 100_000..101_000).await;
    assert!(!folders[0].path().join(LOG_FILE).exists());
    assert!(folders[1].path().join(LOG_FILE).exists());

    // Into the old store: the responses go into its tree, and it stays of format 3 (a grsu of
    // format 3 reads it whole).
    let counts = old.merge_from(&new).unwrap();
    assert_eq!(counts.responses_added, 1_000);
    reads_back(&old, 100_000..101_000);
    // Into the new store: into its log.
    let counts = new.merge_from(&old).unwrap();
    assert_eq!(counts.responses_added, PAST_THE_DICTIONARY);
    reads_back(&new, 0..PAST_THE_DICTIONARY);
    assert_eq!(
        new.merge_from(&old).unwrap().responses_added,
        0,
        "nothing twice"
    );
    drop((old, new));

    let db = raw(folders[0].path(), false);
    let meta = db.open_tree("meta").unwrap();
    assert_eq!(meta.get("format").unwrap().as_deref(), Some(&b"3"[..]));
    assert!(!folders[0].path().join(LOG_FILE).exists());
    assert_eq!(
        db.open_tree("responses").unwrap().len() as u64,
        PAST_THE_DICTIONARY + 1_000
    );
    drop(db);
    let db = raw(folders[1].path(), false);
    assert!(
        db.open_tree("responses").unwrap().is_empty(),
        "the log holds them"
    );
    assert_eq!(
        log_entries(folders[1].path()).len() as u64,
        PAST_THE_DICTIONARY + 1_000
    );
}
