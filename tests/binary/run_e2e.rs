//! `grsu run` end to end against an in-process deterministic OpenAI-compatible server, through the
//! runtime library in the test's process (`grsu_actors::engine::run`, as `grsu run` calls it):
//! call counts per depth, top-B selection, reward-mean ranking, and a second run on the same
//! output that makes no model call and gives identical predictions; discriminative scoring. How the
//! command refuses bad configs (exit code 2) is tested through the binary in `run_failures.rs`.

use std::time::Duration;

use grsu::report::tables::markdown;
use grsu_test_support::{
    demo_titles, p_yes, predictions, repository_root, run_to_completion, stored_records,
    write_config, DeterministicServer,
};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beam_search_counts_selects_ranks_and_resumes() {
    let root = repository_root();
    let server = DeterministicServer::start(demo_titles(&root), Duration::ZERO).await;
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("out");
    let samples = 3;
    let config = write_config(folder.path(), &server.url(), &output, samples, "");

    let first = run_to_completion(&config).await;
    // The table `grsu run` prints.
    let table = markdown(&first.report);
    assert!(table.contains("| e2e · reward-mean | 3 |"), "{table}");
    for file in ["report.md", "report.csv", "report.json"] {
        assert!(output.join(file).is_file(), "{file} missing");
    }

    // B = N = 2, D = 3, per sample: depth 1 is one CRS call asking for N² = 4 lists; depths 2 and 3
    // are B critique calls (n = N) and B·N revision calls (n = 1) each.
    let traffic = server.traffic();
    assert_eq!(
        traffic.by_kind["crs"],
        samples as u64 * (1 + 4 + 4),
        "{traffic:?}"
    );
    assert_eq!(
        traffic.by_kind["critique"],
        samples as u64 * (2 + 2),
        "{traffic:?}"
    );
    let mut crs_n = traffic.crs_n.clone();
    crs_n.sort_unstable();
    assert_eq!(crs_n.iter().filter(|&&n| n == 4).count(), samples);
    assert_eq!(crs_n.iter().filter(|&&n| n == 1).count(), samples * 8);
    // Item-context scores are asked once per (sample, title): at most 12 lists × 5 items each.
    assert!(traffic.by_kind["score"] <= samples as u64 * 12 * 5);

    let records = stored_records(&output);
    assert_eq!(records.len(), samples);
    for record in &records {
        let nodes = record["tree"]["nodes"].as_array().unwrap();
        for depth in 1..=3u64 {
            let at: Vec<&Value> = nodes.iter().filter(|node| node["depth"] == depth).collect();
            assert_eq!(at.len(), 4, "4 lists at depth {depth}");
            // The kept nodes are the top B = 2 by reward (ties: lower id), except at the last depth.
            let mut by_reward: Vec<&Value> = at.clone();
            by_reward.sort_by(|a, b| {
                b["reward"]
                    .as_f64()
                    .unwrap()
                    .total_cmp(&a["reward"].as_f64().unwrap())
                    .then(a["id"].as_u64().cmp(&b["id"].as_u64()))
            });
            let kept: Vec<u64> = at
                .iter()
                .filter(|node| node["kept"] == true)
                .map(|node| node["id"].as_u64().unwrap())
                .collect();
            if depth < 3 {
                let top: Vec<u64> = by_reward[..2]
                    .iter()
                    .map(|node| node["id"].as_u64().unwrap())
                    .collect();
                let mut kept_sorted = kept.clone();
                kept_sorted.sort_unstable();
                let mut top_sorted = top.clone();
                top_sorted.sort_unstable();
                assert_eq!(kept_sorted, top_sorted, "depth {depth}");
            }
            for node in &at {
                // Scores are the server's P(Yes) of each title; the reward is their mean.
                let items: Vec<&str> = node["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|item| item.as_str().unwrap())
                    .collect();
                let scores: Vec<f64> = node["scores"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|score| score.as_f64().unwrap())
                    .collect();
                for (item, score) in items.iter().zip(&scores) {
                    let expected = if p_yes(item) >= 0.5 {
                        p_yes(item)
                    } else {
                        1.0 - (1.0 - p_yes(item))
                    };
                    assert!(
                        (score - expected).abs() < 1e-9,
                        "{item}: {score} vs {expected}"
                    );
                }
                let mean = scores.iter().sum::<f64>() / scores.len() as f64;
                assert!((node["reward"].as_f64().unwrap() - mean).abs() < 1e-12);
            }
        }
        // Reward-mean: every distinct item of the tree by its mean score, first seen first on ties.
        let mut seen: Vec<(String, f64, usize)> = Vec::new();
        for node in nodes {
            for (item, score) in node["items"]
                .as_array()
                .unwrap()
                .iter()
                .zip(node["scores"].as_array().unwrap())
            {
                let item = item.as_str().unwrap().to_string();
                match seen.iter_mut().find(|(title, _, _)| *title == item) {
                    Some(entry) => {
                        entry.1 += score.as_f64().unwrap();
                        entry.2 += 1;
                    }
                    None => seen.push((item, score.as_f64().unwrap(), 1)),
                }
            }
        }
        let mut expected: Vec<(String, f64)> = seen
            .into_iter()
            .map(|(item, sum, count)| (item, sum / count as f64))
            .collect();
        expected.sort_by(|a, b| b.1.total_cmp(&a.1));
        let expected: Vec<String> = expected.into_iter().map(|(item, _)| item).collect();
        let ranked: Vec<String> = record["predictions"]["reward-mean"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item.as_str().unwrap().to_string())
            .collect();
        assert_eq!(ranked, expected);
    }

    // Every node leads to the raw answers it came from: its list's CRS request (below its parent)
    // and its score requests, through their response-cache keys.
    let store = grsu::store::Store::open(&output.join("store")).unwrap();
    let cache = store.response_cache().unwrap();
    for record in &records {
        let requests = record["requests"]
            .as_object()
            .expect("request keys recorded");
        for node in record["tree"]["nodes"].as_array().unwrap() {
            let path = node["path"].as_str().unwrap();
            let parent = match node["parent"].as_u64() {
                Some(parent) => record["tree"]["nodes"][parent as usize]["path"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                None => "root".into(),
            };
            let recommend = requests
                .iter()
                .find(|(key, _)| key.starts_with(&format!("recommend/{parent}/")))
                .unwrap_or_else(|| panic!("no CRS request below {parent}"));
            assert_eq!(recommend.1["role"], "crs");
            let score = &requests[&format!("score/{path}/0")];
            assert_eq!(score["role"], "user");
            for keys in [&recommend.1["keys"], &score["keys"]] {
                let keys = keys.as_array().unwrap();
                assert!(!keys.is_empty());
                for key in keys {
                    let (answer, _) = cache
                        .get_by_prefix(key.as_str().unwrap())
                        .unwrap()
                        .expect("the key finds its cached answer");
                    assert!(answer["choices"].is_array(), "{answer}");
                }
            }
        }
    }
    drop(cache);
    drop(store);

    // A second run on the same output: nothing to do, no model call, identical predictions.
    let before = server.traffic().total();
    run_to_completion(&config).await;
    assert_eq!(
        server.traffic().total(),
        before,
        "the second run made model calls"
    );
    assert_eq!(predictions(&stored_records(&output)), predictions(&records));
    assert_eq!(server.traffic().repeated_finished_calls(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discriminative_scoring_reads_the_positive_class_of_a_classification_endpoint() {
    let root = repository_root();
    let server = DeterministicServer::start(demo_titles(&root), Duration::ZERO).await;
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("out");
    let extra = format!(
        "scorer = \"discriminative\"\n\n[models.reward]\nendpoints = [\"{}\"]\nmodel = \"rm\"\n",
        server.url()
    );
    let config = write_config(folder.path(), &server.url(), &output, 2, &extra);
    run_to_completion(&config).await;
    let traffic = server.traffic();
    assert!(traffic.by_kind["classify"] > 0, "{traffic:?}");
    assert!(!traffic.by_kind.contains_key("score"), "{traffic:?}");
    for record in stored_records(&output) {
        for node in record["tree"]["nodes"].as_array().unwrap() {
            for (item, score) in node["items"]
                .as_array()
                .unwrap()
                .iter()
                .zip(node["scores"].as_array().unwrap())
            {
                let expected = p_yes(item.as_str().unwrap());
                assert!((score.as_f64().unwrap() - expected).abs() < 1e-12, "{item}");
            }
        }
    }
}
