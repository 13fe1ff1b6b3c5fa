//! The store's response dictionary (format 3), checked from outside: the store's files are read
//! with the storage engine itself once grsu has closed them. A new store makes its dictionary from
//! its first responses and compresses every later one with it; the dictionary is on disk before
//! anything that needs it; damage to it is reported, never misread; `grsu merge`'s copy re-encodes
//! for the other store's dictionary; a store of format 2 goes on being written as format 2.

use std::path::Path;
use std::time::{Duration, Instant};

use grsu::store::{verify, Store, DICTIONARY_BYTES, STORE_FORMAT_VERSION};
use grsu_test_support::responses::{paper_mix_request as request, paper_mix_response};

/// The entry kinds of the documented value layout (`store::response_cache`).
const COMPACT_WITH_ORIGIN: u8 = 0x02;
const COMPRESSED_WITH_ORIGIN: u8 = 0x04;
const DICTIONARY_KEY: &str = "response_dictionary";

/// Writes responses `range`, one after another, as a sample's calls are.
async fn write(store: &Store, range: std::ops::Range<u64>) {
    let cache = store.response_cache().unwrap();
    for index in range {
        cache
            .put_from("user", &request(index), &paper_mix_response(index), index)
            .await
            .unwrap();
    }
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

/// The kind byte and length of every response entry, in the order of `request(index)`.
fn kinds(db: &sled::Db, range: std::ops::Range<u64>) -> Vec<(u8, usize)> {
    let responses = db.open_tree("responses").unwrap();
    range
        .map(|index| {
            let key = grsu::store::ResponseCache::key("user", &request(index));
            let value = responses.get(key).unwrap().expect("an entry");
            (value[0], value.len())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_store_compresses_with_a_dictionary_made_of_its_first_responses() {
    let folder = tempfile::tempdir().unwrap();
    let store = Store::open(folder.path()).unwrap();
    write(&store, 0..2_000).await;
    reads_back(&store, 0..2_000);
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
    assert_eq!(dictionary.len(), 8 + DICTIONARY_BYTES, "hash and bytes");
    let entries = kinds(&db, 0..2_000);
    // Compact until the dictionary was complete, compressed with it from then on.
    let first_compressed = entries
        .iter()
        .position(|(kind, _)| *kind == COMPRESSED_WITH_ORIGIN)
        .expect("compressed entries");
    assert!(entries[..first_compressed]
        .iter()
        .all(|(kind, _)| *kind == COMPACT_WITH_ORIGIN));
    let compact_bytes: usize = entries[..first_compressed]
        .iter()
        .map(|(_, length)| length - 9)
        .sum();
    assert!(
        (DICTIONARY_BYTES..DICTIONARY_BYTES + 8 * 1024).contains(&compact_bytes),
        "the dictionary was complete after {compact_bytes} bytes of responses"
    );
    let later = &entries[first_compressed..];
    let compressed = later
        .iter()
        .filter(|(kind, _)| *kind == COMPRESSED_WITH_ORIGIN)
        .count();
    assert!(
        compressed * 10 >= later.len() * 9,
        "{compressed} of {} later entries compressed",
        later.len()
    );
    let mean = |entries: &[(u8, usize)]| {
        entries.iter().map(|(_, length)| *length).sum::<usize>() as f64 / entries.len() as f64
    };
    assert!(
        // The synthetic mix's log-probabilities are random; real answers repeat far more.
        mean(later) < 0.75 * mean(&entries[..first_compressed]),
        "{:.0} bytes per entry compressed against {:.0} compact",
        mean(later),
        mean(&entries[..first_compressed])
    );
    drop(db);

    // Reopened (a resumed run): everything reads back, and new writes use the same dictionary.
    let store = Store::open(folder.path()).unwrap();
    write(&store, 2_000..2_100).await;
    reads_back(&store, 0..2_100);
    drop(store);
    let db = raw(folder.path(), false);
    assert!(kinds(&db, 2_000..2_100)
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
    write(&store, 0..1_000).await;
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
    let error = cache.peek("user", &request(999)).unwrap_err().to_string();
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
    write(&shard, 0..1_500).await;
    write(&merged, 10_000..11_500).await;
    let counts = merged.merge_from(&shard).unwrap();
    assert_eq!(counts.responses_added, 1_500);
    drop(shard);
    reads_back(&merged, 0..1_500);
    reads_back(&merged, 10_000..11_500);
    drop(merged);
    let db = raw(folders[1].path(), false);
    let compressed = kinds(&db, 1_000..1_500)
        .iter()
        .filter(|(kind, _)| *kind == COMPRESSED_WITH_ORIGIN)
        .count();
    assert!(
        compressed > 450,
        "{compressed} of 500 merged entries compressed"
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
    assert!(kinds(&db, 0..1_000)
        .iter()
        .all(|(kind, _)| *kind == COMPACT_WITH_ORIGIN));
}
