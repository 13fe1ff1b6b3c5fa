//! Title-matching throughput: the 300 fixture queries against the ReDial catalog (6,576 titles),
//! matched one at a time and as lists of 10, repeated until a few seconds have passed.
//!
//! `cargo bench --bench title_match` (needs `GRSU_SHARED_DATA`, default `../shared/data`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use grsu::catalog::{Catalog, CatalogFormat};
use grsu::matching::TitleMatcher;

fn main() {
    let data = PathBuf::from(
        std::env::var("GRSU_SHARED_DATA").unwrap_or_else(|_| "../shared/data".into()),
    );
    let catalog =
        Catalog::load(&data.join("redial/id2info.json"), CatalogFormat::Auto).expect("catalog");
    let fixtures = data.join("../fixtures/title_match_cases.jsonl");
    let queries: Vec<String> = std::fs::read_to_string(&fixtures)
        .expect("fixtures")
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).expect("json")["query"]
                .as_str()
                .expect("query")
                .to_string()
        })
        .collect();
    let build = Instant::now();
    let matcher = TitleMatcher::new(&catalog, None).without_memo();
    println!(
        "catalog: {} titles; matcher built in {:.1} ms",
        catalog.len(),
        build.elapsed().as_secs_f64() * 1e3
    );
    for (label, list_length) in [("single titles", 1usize), ("lists of 10", 10)] {
        let mut matched = 0usize;
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(3) {
            for list in queries.chunks(list_length) {
                matched += matcher.match_list(list).len();
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{label}: {matched} titles in {seconds:.2} s = {:.0} titles/s",
            matched as f64 / seconds
        );
    }
}
