//! The store at paper scale: fills a response cache with responses shaped like a paper-setting
//! sweep's (mostly one-token scores with 20 alternatives, some lists and critiques), written by
//! many concurrent writers as a sweep's samples write them, then reports disk and memory per
//! stored response, write throughput, and read-back of a sample of entries.
//!
//! `cargo bench --bench store_fill -- [--responses N] [--writers W] [--dir DIR]`
//! (defaults: 1,000,000 responses, 256 writers, a temporary folder).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use grsu::store::Store;
use grsu_test_support::responses::{disk_bytes, paper_mix_request as request, paper_mix_response};

fn main() {
    let mut responses: u64 = 1_000_000;
    let mut writers: u64 = 256;
    let mut dir: Option<PathBuf> = None;
    let mut arguments = std::env::args().skip(1);
    while let Some(argument) = arguments.next() {
        match argument.as_str() {
            "--responses" => responses = arguments.next().expect("a count").parse().expect("N"),
            "--writers" => writers = arguments.next().expect("a count").parse().expect("W"),
            "--dir" => dir = Some(PathBuf::from(arguments.next().expect("a folder"))),
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    let scratch = tempfile::tempdir().expect("a temporary folder");
    let folder = dir.unwrap_or_else(|| scratch.path().join("store"));
    let rss_before = rss_kib();
    let store = Store::open(&folder).expect("open the store");
    let cache = store.response_cache().expect("the cache");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let next = Arc::new(AtomicU64::new(0));
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let mut reported = 0u64;
    runtime.block_on(async {
        let tasks: Vec<_> = (0..writers)
            .map(|_| {
                let cache = cache.clone();
                let next = next.clone();
                tokio::spawn(async move {
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        if index >= responses {
                            break;
                        }
                        let response = paper_mix_response(index);
                        cache
                            .put_from("user", &request(index), &response, index / 835)
                            .await
                            .expect("a write");
                    }
                })
            })
            .collect();
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let done = next.load(Ordering::Relaxed).min(responses);
            if done >= responses {
                break;
            }
            if done / 100_000 > reported / 100_000 {
                reported = done;
                eprintln!(
                    "{done} responses, {:.0} s, RSS {} MiB, disk {} MiB",
                    started.elapsed().as_secs_f64(),
                    rss_kib() / 1024,
                    disk_bytes(&folder) / (1 << 20)
                );
            }
        }
        for task in tasks {
            task.await.expect("a writer");
        }
    });
    store.flush().expect("flush");
    let write_seconds = started.elapsed().as_secs_f64();
    let write_cpu = cpu_seconds() - cpu_before;
    let rss_after_writes = rss_kib();
    let peak = peak_rss_kib();
    drop(cache);
    drop(store);
    let disk = disk_bytes(&folder);
    // Read back: reopen (as a resumed run does) and read every 97th entry.
    let reopen = Instant::now();
    let store = Store::open(&folder).expect("reopen");
    let opened = reopen.elapsed().as_secs_f64();
    // And once more: what every later resume pays (the first open after writing may recover).
    drop(store);
    let again = Instant::now();
    let store = Store::open(&folder).expect("reopen");
    let cache = store.response_cache().expect("the cache");
    let opened_again = again.elapsed().as_secs_f64();
    let reads = Instant::now();
    let mut read = 0u64;
    for index in (0..responses).step_by(97) {
        let found = cache
            .peek("user", &request(index))
            .expect("a read")
            .expect("a stored response");
        let expected = paper_mix_response(index);
        if found != expected {
            let found = serde_json::to_string(&found).expect("json");
            let expected = serde_json::to_string(&expected).expect("json");
            panic!("entry {index} read back as\n{found}\ninstead of\n{expected}");
        }
        read += 1;
    }
    let read_seconds = reads.elapsed().as_secs_f64();
    println!("| measure | value |");
    println!("|---|---|");
    println!("| responses stored | {responses} |");
    println!("| writers | {writers} |");
    println!("| stored | {} entries |", cache.len());
    println!(
        "| write | {write_seconds:.1} s, {:.0} responses/s |",
        responses as f64 / write_seconds
    );
    println!(
        "| CPU of writing (user + sys, this process, sled's threads included) | {:.1} µs per response |",
        write_cpu * 1e6 / responses as f64
    );
    println!(
        "| disk | {:.1} MiB, {:.3} KiB per response |",
        disk as f64 / (1 << 20) as f64,
        disk as f64 / 1024.0 / responses as f64
    );
    println!(
        "| RSS growth after writing | {:.1} MiB, {:.3} KiB per response |",
        (rss_after_writes.saturating_sub(rss_before)) as f64 / 1024.0,
        (rss_after_writes.saturating_sub(rss_before)) as f64 / responses as f64
    );
    println!("| peak RSS | {:.1} MiB |", peak as f64 / 1024.0);
    println!("| reopen | {opened:.2} s, then {opened_again:.2} s |");
    println!(
        "| read back | {read} entries checked, {:.1} µs each |",
        read_seconds * 1e6 / read as f64
    );
}

/// User + system CPU seconds of this process so far (from /proc/self/stat, in clock ticks).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let after_name = &stat[stat.rfind(')').expect("a process name") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 =
        fields[11].parse::<f64>().expect("utime") + fields[12].parse::<f64>().expect("stime");
    ticks / 100.0
}

fn rss_kib() -> u64 {
    status_kib("VmRSS:")
}

fn peak_rss_kib() -> u64 {
    status_kib("VmHWM:")
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .expect("/proc/self/status")
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
