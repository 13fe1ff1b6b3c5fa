//! The store at scale, on its own in this test binary so that its memory is what is measured:
//! responses shaped like a paper-setting sweep's take at most 0.5 KiB each on disk, memory stops
//! growing with the store (sled's page cache is bounded), every write is on disk when it returns
//! (group commit), and stores of the earlier format (JSON entries, uncompressed pages) still read.
//! The million-response figures are `cargo bench --bench store_fill`'s.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use grsu::model::ChatResponse;
use grsu::store::{origin_of, ResponseCache, Store};
use grsu_test_support::responses::{disk_bytes, paper_mix_request as request, paper_mix_response};

/// Writes responses `range` with 64 concurrent writers, each write awaited as a sweep awaits it.
async fn fill(cache: &ResponseCache, range: std::ops::Range<u64>) {
    let next = Arc::new(AtomicU64::new(range.start));
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let cache = cache.clone();
            let next = next.clone();
            let end = range.end;
            tokio::spawn(async move {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= end {
                        break;
                    }
                    cache
                        .put_from("user", &request(index), &paper_mix_response(index), index)
                        .await
                        .expect("a write");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a writer");
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .expect("/proc/self/status")
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paper_mix_takes_under_half_a_kib_per_response_and_memory_stays_bounded() {
    let folder = tempfile::tempdir().unwrap();
    let store = Store::open(folder.path()).unwrap();
    let cache = store.response_cache().unwrap();
    fill(&cache, 0..60_000).await;
    let rss_at_60k = rss_kib();
    fill(&cache, 60_000..160_000).await;
    let rss_at_160k = rss_kib();
    store.flush().unwrap();
    assert_eq!(cache.len(), 160_000);
    drop(cache);
    drop(store);
    let per_response = disk_bytes(folder.path()) as f64 / 160_000.0;
    assert!(
        per_response <= 512.0,
        "{per_response:.0} bytes per stored response on disk"
    );
    // Unbounded, sled's cache grew by ~1.4 KiB per response (140 MiB for these 100,000).
    let growth_kib = rss_at_160k.saturating_sub(rss_at_60k);
    assert!(
        growth_kib < 64 * 1024,
        "RSS grew by {growth_kib} KiB over 100,000 more responses ({rss_at_60k} -> {rss_at_160k} KiB)"
    );
    // Everything reads back exactly (every log-probability bit for bit).
    let store = Store::open(folder.path()).unwrap();
    let cache = store.response_cache().unwrap();
    for index in (0..160_000).step_by(211) {
        assert_eq!(
            cache.peek("user", &request(index)).unwrap(),
            Some(paper_mix_response(index)),
            "response {index}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_write_is_on_disk_after_a_crash() {
    let folder = tempfile::tempdir().unwrap();
    let store = Store::open(folder.path()).unwrap();
    let cache = store.response_cache().unwrap();
    fill(&cache, 0..3_000).await;
    // A crash right after the last acknowledgement: the process's handles are leaked, nothing is
    // flushed on drop; a copy of the folder is what a `kill -9` would have left on disk.
    let copy = tempfile::tempdir().unwrap();
    copy_folder(folder.path(), copy.path());
    std::mem::forget(cache);
    std::mem::forget(store);
    let reopened = Store::open(copy.path()).unwrap();
    let cache = reopened.response_cache().unwrap();
    for index in 0..3_000 {
        let stored = cache.peek("user", &request(index)).unwrap();
        assert_eq!(stored, Some(paper_mix_response(index)), "response {index}");
    }
}

fn copy_folder(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.metadata().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_folder(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[tokio::test]
async fn a_store_of_the_json_format_still_reads_and_takes_new_entries() {
    let folder = tempfile::tempdir().unwrap();
    let old_request = request(1);
    let old_answer: ChatResponse = paper_mix_response(1);
    {
        // What format 1 wrote: uncompressed pages, `0x01` + origin + JSON, no version key.
        let db = sled::Config::new()
            .path(folder.path())
            .mode(sled::Mode::LowSpace)
            .open()
            .unwrap();
        let tree = db.open_tree("responses").unwrap();
        let mut value = vec![0x01];
        value.extend_from_slice(&origin_of("s", 0, "a").to_le_bytes());
        value.extend_from_slice(&serde_json::to_vec(&old_answer).unwrap());
        tree.insert(ResponseCache::key("user", &old_request), value)
            .unwrap();
        db.flush().unwrap();
    }
    let store = Store::open(folder.path()).unwrap();
    let cache = store.response_cache().unwrap();
    let (answer, origin) = cache
        .get_with_origin("user", &old_request)
        .unwrap()
        .expect("the old entry");
    assert_eq!(answer, old_answer);
    assert_eq!(origin, Some(origin_of("s", 0, "a")));
    cache
        .put("user", &request(2), &paper_mix_response(2))
        .await
        .unwrap();
    drop(cache);
    drop(store);
    let store = Store::open(folder.path()).unwrap();
    let cache = store.response_cache().unwrap();
    assert_eq!(
        cache.peek("user", &request(2)).unwrap(),
        Some(paper_mix_response(2))
    );
    assert_eq!(cache.peek("user", &old_request).unwrap(), Some(old_answer));
}
