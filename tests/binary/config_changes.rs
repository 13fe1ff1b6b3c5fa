//! Changing a config on an existing output folder never reports stale results: for every key of
//! the config reference (generated from the config types, so a key added later is covered), the
//! folder run again with the key changed gives the report of a fresh run of the changed config in
//! a new folder; keys that cannot change results make no model call. And the depth case in full: a
//! depth-3 sweep continued from a depth-2 store equals a fresh depth-3 sweep, paying only for the
//! new depth, and a depth-1 run on it reports what a fresh depth-1 sweep reports.

use std::path::{Path, PathBuf};

use grsu::config::reference::{OnChange, KEYS};
use grsu_test_support::{repository_root, shared_data, write_config, DeterministicServer, Grsu};
use serde_json::Value;

const GRSU: Grsu = Grsu::new(env!("CARGO_BIN_EXE_grsu"));

/// Runs `grsu run CONFIG --set … --output OUTPUT` (blocking), asserting success.
fn run_with(config: &Path, output: &Path, sets: &[String], envs: &[(&str, &str)]) -> String {
    let mut arguments = vec![
        "run".to_string(),
        config.display().to_string(),
        "--output".into(),
        output.display().to_string(),
    ];
    for set in sets {
        arguments.push("--set".into());
        arguments.push(set.clone());
    }
    let ran = GRSU
        .command()
        .args(&arguments)
        .env("GRSU_LOG", "warn")
        .envs(envs.iter().copied())
        .output()
        .expect("run grsu");
    let stderr = String::from_utf8_lossy(&ran.stderr).to_string();
    assert!(
        ran.status.success(),
        "grsu {arguments:?} failed:\n{}\n{stderr}",
        String::from_utf8_lossy(&ran.stdout)
    );
    stderr
}

/// What a report says about results: every method with its metrics and costs, without wall
/// times (which differ between any two runs).
fn results_of(output: &Path) -> Value {
    let text = std::fs::read_to_string(output.join("report.json")).expect("report.json");
    let mut report: Value = serde_json::from_str(&text).unwrap();
    strip_times(&mut report);
    serde_json::json!({
        "methods": report["methods"],
        "depth_curves": report["depth_curves"],
        "cells": report["cells"],
        "seeds": report["seeds"],
    })
}

/// The paths at which two JSON values differ, for assertion messages.
fn differences(left: &Value, right: &Value, path: &str, into: &mut Vec<String>) {
    match (left, right) {
        (Value::Object(a), Value::Object(b)) => {
            for key in a.keys().chain(b.keys()) {
                let (x, y) = (
                    a.get(key).unwrap_or(&Value::Null),
                    b.get(key).unwrap_or(&Value::Null),
                );
                differences(x, y, &format!("{path}.{key}"), into);
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (index, (x, y)) in a.iter().zip(b).enumerate() {
                differences(x, y, &format!("{path}[{index}]"), into);
            }
        }
        _ if left != right => into.push(format!("{path}: {left} vs {right}")),
        _ => {}
    }
}

fn assert_same_results(left: &Value, right: &Value, what: &str) {
    let mut found = Vec::new();
    differences(left, right, "", &mut found);
    found.dedup();
    assert!(
        found.is_empty(),
        "{what}; differences:\n{}",
        found
            .iter()
            .take(12)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn strip_times(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|key, _| !key.contains("wall") && !key.contains("seconds"));
            map.values_mut().for_each(strip_times);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_times),
        _ => {}
    }
}

/// Requests each method asked (model calls and cache hits).
fn requests_asked(results: &Value) -> Vec<u64> {
    results["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|method| {
            method["cost"]["calls"].as_u64().unwrap()
                + method["cost"]["cache_hits"].as_u64().unwrap()
        })
        .collect()
}

/// Results without the cost columns.
fn without_costs(mut results: Value) -> Value {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                for key in [
                    "cost",
                    "calls",
                    "cache_hits",
                    "prompt_tokens",
                    "completion_tokens",
                    "invalid_answers",
                ] {
                    map.remove(key);
                }
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut results);
    results
}

fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_folder(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A demo server and, in a new temporary folder, the config of a run of its first `limit` demo
/// samples on it (each run gives its own output).
async fn server_and_config(limit: usize) -> (DeterministicServer, tempfile::TempDir, PathBuf) {
    let server = DeterministicServer::demo().await;
    let folder = tempfile::tempdir().unwrap();
    let config = write_config(
        folder.path(),
        &server.url(),
        &folder.path().join("unused"),
        limit,
        "",
    );
    (server, folder, config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deeper_run_continues_stored_trees_and_a_shallower_one_reports_them_truncated() {
    let (server, folder, config) = server_and_config(3).await;
    let depth = |depth: u32| vec![format!("search.depth={depth}")];
    let (continued, fresh3, fresh2, fresh1) = (
        folder.path().join("continued"),
        folder.path().join("fresh3"),
        folder.path().join("fresh2"),
        folder.path().join("fresh1"),
    );
    let run = |output: PathBuf, sets: Vec<String>| {
        let config = config.clone();
        tokio::task::spawn_blocking(move || run_with(&config, &output, &sets, &[]))
    };

    run(continued.clone(), depth(2)).await.unwrap();
    let depth2_calls = server.traffic().total();
    let log = run(continued.clone(), depth(3)).await.unwrap();
    let continuation_calls = server.traffic().total() - depth2_calls;
    assert!(
        log.contains("`search.depth` 2 → 3 (extended): stored trees are continued"),
        "the run says what it does with the stored trees:\n{log}"
    );
    let before_fresh = server.traffic().total();
    run(fresh3.clone(), depth(3)).await.unwrap();
    let fresh3_calls = server.traffic().total() - before_fresh;
    assert_same_results(
        &results_of(&continued),
        &results_of(&fresh3),
        "a depth-3 sweep continued from depth 2 equals a fresh depth-3 sweep",
    );
    // Depth 1 and 2 were answered from the cache: only depth 3 was paid for again.
    let before = server.traffic().total();
    run(fresh2.clone(), depth(2)).await.unwrap();
    let fresh2_calls = server.traffic().total() - before;
    assert_eq!(fresh2_calls, depth2_calls);
    assert_eq!(continuation_calls, fresh3_calls - fresh2_calls);
    assert!(continuation_calls > 0);

    let before = server.traffic().total();
    let log = run(continued.clone(), depth(1)).await.unwrap();
    assert_eq!(server.traffic().total(), before, "truncation needs no call");
    assert!(log.contains("truncated at the new depth"), "{log}");
    run(fresh1.clone(), depth(1)).await.unwrap();
    // The cost columns are the search's (the depth-3 tree was paid for), so only the results
    // are compared here.
    assert_same_results(
        &without_costs(results_of(&continued)),
        &without_costs(results_of(&fresh1)),
        "a depth-1 report of a depth-3 store equals a fresh depth-1 sweep",
    );
}

/// The changed value of each key for the audit (TOML, as `--set` takes it), plus any keys that
/// must change with it; `None` with the reason where the key cannot be changed on its own.
fn change_of(key: &str, fixtures: &Fixtures) -> Result<Vec<String>, &'static str> {
    let set = |assignments: &[&str]| Ok(assignments.iter().map(|a| a.to_string()).collect());
    let role_key = key.replace("<role>", "crs");
    let field = key.rsplit('.').next().unwrap();
    if key == "models.<role>.yes_no_token_ids" {
        // The simulated user's setting only (another role refuses it).
        return set(&["models.user.yes_no_token_ids=[[11], [12]]"]);
    }
    if key == "models.<role>.scoring_priority" {
        // The simulated user's setting only (another role refuses it).
        return set(&["models.user.scoring_priority=-1"]);
    }
    if key.starts_with("models.<role>.") {
        let value = match field {
            "endpoints" => format!("[\"{}\"]", fixtures.second_server),
            "model" => "\"det-2\"".into(),
            "max_concurrency" => "1".into(),
            "api_key_env" => "\"GRSU_AUDIT_KEY\"".into(),
            "timeout_s" => "30.0".into(),
            "ca_file" => format!(
                "\"{}\"",
                repository_root()
                    .join("tests/fixtures/test-ca.pem")
                    .display()
            ),
            "embedded_model" => "\"/nowhere/model.gguf\"".into(),
            "affinity" => "false".into(),
            _ => return Err("no changed value: add one to this test"),
        };
        return Ok(vec![format!("{role_key}={value}")]);
    }
    match key {
        "run.name" => set(&["run.name=\"renamed\""]),
        "run.seeds" => set(&["run.seeds=[0, 1]"]),
        "run.output" => Err("the output folder itself: another value is another folder"),
        "run.max_in_flight" => set(&["run.max_in_flight=1"]),
        "run.give_up_after_s" => set(&["run.give_up_after_s=60.0"]),
        "run.drain_timeout_s" => set(&["run.drain_timeout_s=5.0"]),
        "run.worker_threads" => set(&["run.worker_threads=2"]),
        "data.format" => match &fixtures.ievalm {
            Some((data, catalog)) => Ok(vec![
                "data.format=\"ievalm\"".into(),
                format!("data.path=\"{}\"", data.display()),
                format!("data.catalog=\"{}\"", catalog.display()),
            ]),
            None => Err("needs the shared ReDial files (GRSU_SHARED_DATA)"),
        },
        "data.path" => Ok(vec![format!(
            "data.path=\"{}\"",
            fixtures.reordered_data.display()
        )]),
        "data.catalog" => Ok(vec![format!(
            "data.catalog=\"{}\"",
            fixtures.catalog_copy.display()
        )]),
        "data.catalog_format" => set(&["data.catalog_format=\"movie2info\""]),
        "data.only_new" => set(&["data.only_new=false"]),
        "data.limit" => set(&["data.limit=3"]),
        "data.per_conversation" => set(&["data.per_conversation=1"]),
        "search.strategy" => set(&["search.strategy=\"greedy\""]),
        "search.beam_width" => set(&["search.beam_width=1"]),
        "search.expand_width" => set(&["search.expand_width=3"]),
        "search.depth" => set(&["search.depth=3"]),
        "search.list_length" => set(&["search.list_length=4"]),
        "search.samples" => set(&["search.samples=5"]),
        "search.zero_shot_length" => set(&["search.zero_shot_length=20"]),
        "user.critique" => set(&["user.critique=false"]),
        "user.attributes" => set(&["user.attributes=false"]),
        "user.plot" => set(&["user.plot=true"]),
        "user.scoring" => set(&["user.scoring=false"]),
        "user.scorer" => Ok(vec![
            "user.scorer=\"discriminative\"".into(),
            format!("models.reward.endpoints=[\"{}\"]", fixtures.server),
            "models.reward.model=\"det\"".into(),
        ]),
        "user.positive_class" => set(&["user.positive_class=0"]),
        "user.scoring_mode" => set(&["user.scoring_mode=\"generate\""]),
        "user.score_formula" => set(&["user.score_formula=\"normalized\""]),
        "user.score_context" => set(&["user.score_context=\"list\""]),
        "user.top_logprobs" => set(&["user.top_logprobs=5"]),
        "user.critique_max_tokens" => set(&["user.critique_max_tokens=128"]),
        "crs.list_parse" => set(&["crs.list_parse=\"tolerant\""]),
        "crs.max_tokens" => set(&["crs.max_tokens=300"]),
        "crs.min_match_score" => set(&["crs.min_match_score=80.0"]),
        "crs.answer_prefix" => set(&["crs.answer_prefix=\"\""]),
        "crs.batch_lists" => set(&["crs.batch_lists=false"]),
        "crs.stop_after_list" => set(&["crs.stop_after_list=false"]),
        "output.strategies" => set(&["output.strategies=[\"vote\", \"best-list\"]"]),
        _ => Err("no changed value: add one to this test"),
    }
}

struct Fixtures {
    server: String,
    second_server: String,
    reordered_data: PathBuf,
    catalog_copy: PathBuf,
    ievalm: Option<(PathBuf, PathBuf)>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_config_key_changed_on_an_existing_output_gives_a_fresh_runs_results() {
    let root = repository_root();
    let (server, folder, config) = server_and_config(2).await;
    let second = DeterministicServer::demo().await;
    let demo = root.join("data/demo");
    let mut lines: Vec<String> = std::fs::read_to_string(demo.join("conversations.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    lines.reverse();
    let reordered_data = folder.path().join("reordered.jsonl");
    std::fs::write(&reordered_data, lines.join("\n") + "\n").unwrap();
    let catalog_copy = folder.path().join("catalog-copy.json");
    std::fs::copy(demo.join("movie2info.json"), &catalog_copy).unwrap();
    let shared = shared_data();
    let ievalm = shared
        .as_ref()
        .map(|data| {
            (
                data.join("redial/test_data_processed.jsonl"),
                data.join("redial/id2info.json"),
            )
        })
        .filter(|(data, catalog)| data.is_file() && catalog.is_file());
    let fixtures = Fixtures {
        server: server.url(),
        second_server: second.url(),
        reordered_data,
        catalog_copy,
        ievalm,
    };
    let base = folder.path().join("base");
    let base_sets = vec!["search.depth=2".to_string()];
    {
        let (config, base, sets) = (config.clone(), base.clone(), base_sets.clone());
        tokio::task::spawn_blocking(move || run_with(&config, &base, &sets, &[]))
            .await
            .unwrap();
    }

    let mut table = vec![
        "| key | on change | checked |".to_string(),
        "|---|---|---|".into(),
    ];
    let mut missing = Vec::new();
    for entry in KEYS {
        let sets = match change_of(entry.path, &fixtures) {
            Ok(sets) => sets,
            Err(reason) if reason.starts_with("no changed value") => {
                missing.push(entry.path);
                continue;
            }
            Err(reason) => {
                if reason.contains("GRSU_SHARED_DATA") {
                    assert!(
                        std::env::var("CI").is_err(),
                        "{}: {reason} (required under CI)",
                        entry.path
                    );
                }
                table.push(format!(
                    "| {} | {} | not changed: {reason} |",
                    entry.path,
                    entry.on_change.as_str()
                ));
                continue;
            }
        };
        let sets: Vec<String> = base_sets.iter().cloned().chain(sets).collect();
        let slug = entry.path.replace(['.', '<', '>'], "_");
        let (resumed, fresh) = (
            folder.path().join(format!("resumed-{slug}")),
            folder.path().join(format!("fresh-{slug}")),
        );
        copy_folder(&base, &resumed);
        let calls_before = server.traffic().total() + second.traffic().total();
        let envs: &[(&str, &str)] = &[("GRSU_AUDIT_KEY", "not-a-real-key")];
        {
            let (config, resumed, sets) = (config.clone(), resumed.clone(), sets.clone());
            tokio::task::spawn_blocking(move || run_with(&config, &resumed, &sets, envs))
                .await
                .unwrap();
        }
        let resumed_calls = server.traffic().total() + second.traffic().total() - calls_before;
        {
            let (config, fresh, sets) = (config.clone(), fresh.clone(), sets.clone());
            tokio::task::spawn_blocking(move || run_with(&config, &fresh, &sets, envs))
                .await
                .unwrap();
        }
        let what = format!(
            "`{}` changed on an existing output ({sets:?}) must give the results of a fresh run",
            entry.path
        );
        let (resumed_results, fresh_results) = (results_of(&resumed), results_of(&fresh));
        if entry.on_change == OnChange::Rerun {
            // A new search: requests equal to the old search's are answered from the cache, so
            // its cost columns show cache hits where the fresh run shows calls; the requests
            // asked are the same.
            assert_eq!(
                requests_asked(&resumed_results),
                requests_asked(&fresh_results),
                "{what}"
            );
            assert_same_results(
                &without_costs(resumed_results),
                &without_costs(fresh_results),
                &what,
            );
        } else {
            assert_same_results(&resumed_results, &fresh_results, &what);
        }
        if entry.on_change == OnChange::Reused {
            assert_eq!(
                resumed_calls, 0,
                "`{}` is documented as reusing stored results, but the run made model calls",
                entry.path
            );
        }
        table.push(format!(
            "| {} | {} | equal to a fresh run; {resumed_calls} model calls on resume |",
            entry.path,
            entry.on_change.as_str()
        ));
    }
    println!("{}", table.join("\n"));
    assert!(
        missing.is_empty(),
        "config keys without a changed value in this audit (add them to change_of): {missing:?}"
    );
}
