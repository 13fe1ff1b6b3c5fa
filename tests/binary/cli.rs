//! The `grsu` binary: data stats, match and evaluate, their JSON output and exit codes.

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

use grsu_test_support::{shared_data, temp_file, Grsu};

const GRSU: Grsu = Grsu::new(env!("CARGO_BIN_EXE_grsu"));

fn grsu(arguments: &[&str], stdin: Option<&str>) -> Output {
    grsu_with_bytes(arguments, stdin.map(str::as_bytes))
}

fn grsu_with_bytes(arguments: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = GRSU
        .command()
        .args(arguments)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start grsu");
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        input.write_all(bytes).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn json_of(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "grsu failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

fn path(data: &Path, relative: &str) -> String {
    data.join(relative).display().to_string()
}

#[test]
fn data_stats_reports_the_redial_counts() {
    let Some(data) = shared_data() else {
        return;
    };
    let (redial, catalog) = (
        path(&data, "redial/test_data_processed.jsonl"),
        path(&data, "redial/id2info.json"),
    );
    let base = [
        "data",
        "stats",
        "--format",
        "ievalm",
        "--path",
        &redial,
        "--catalog",
        &catalog,
        "--json",
    ];
    let new_only = json_of(&grsu(&[&base[..], &["--only-new"]].concat(), None));
    assert_eq!(new_only["conversations"], 1318);
    assert_eq!(new_only["conversations_with_samples"], 1296);
    assert_eq!(new_only["samples"], 2924);
    assert_eq!(new_only["labels"], 3805);
    let all = json_of(&grsu(&base, None));
    assert_eq!(all["samples"], 3341);
    assert_eq!(all["labels"], 4499);
    assert_eq!(all["labels_not_in_catalog"], 0);
    let table = grsu(&base[..base.len() - 1], None);
    assert!(String::from_utf8_lossy(&table.stdout).contains("samples"));
}

#[test]
fn bad_input_exits_with_code_two_and_names_the_place() {
    let (_folder, broken) = temp_file(
        "broken.jsonl",
        "{\"dialog_id\": \"1\", \"turn_id\": 1, \"context\": [], \"entity\": []}\n",
    );
    let output = grsu(
        &[
            "data",
            "stats",
            "--format",
            "ievalm",
            "--path",
            broken.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message.contains("broken.jsonl:1") && message.contains("field `rec`: missing"),
        "{message}"
    );
    assert!(!message.contains("panicked"), "{message}");
    let unknown = grsu(&["data", "stats", "--format", "csv", "--path", "x"], None);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("grsu, ievalm, inspired-tsv"));
}

#[test]
fn match_prints_query_match_and_score() {
    let Some(data) = shared_data() else {
        return;
    };
    let catalog = path(&data, "redial/id2info.json");
    let output = grsu(
        &["match", "--catalog", &catalog],
        Some("Sophie's Choice (1957)\nFREE WILLY (1993)\n"),
    );
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "Sophie's Choice (1957)\tSophie's Choice (1982)\t90.4762",
            "FREE WILLY (1993)\tFree Willy (1993)\t100"
        ]
    );
    let strict = grsu(
        &[
            "match",
            "--catalog",
            &catalog,
            "--min-score",
            "95",
            "--json",
        ],
        Some("Sophie's Choice (1957)\n"),
    );
    let value: serde_json::Value = serde_json::from_slice(&strict.stdout).unwrap();
    assert_eq!(value["match"], serde_json::Value::Null);
    assert_eq!(value["score"], 90.4762);
}

#[test]
fn match_rejects_a_line_that_is_not_utf8_as_bad_input() {
    let Some(data) = shared_data() else {
        return;
    };
    let catalog = path(&data, "redial/id2info.json");
    let output = grsu_with_bytes(
        &["match", "--catalog", &catalog],
        Some(b"Free Willy (1993)\r\nAm\xe9lie (2001)\n"),
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("<stdin>:2: field `title`: not UTF-8 (invalid byte at offset 2)"),
        "{stderr}"
    );
}

#[test]
fn evaluate_scores_rankings_and_counts_missing_samples_as_misses() {
    let Some(data) = shared_data() else {
        return;
    };
    let redial = path(&data, "redial/test_data_processed.jsonl");
    let catalog = path(&data, "redial/id2info.json");
    // Perfect predictions for the first 10 samples (labels first, in lower case to exercise the
    // matcher), one unknown sample, nothing for the rest.
    let samples: Vec<serde_json::Value> =
        std::fs::read_to_string(data.join("redial/test_data_processed.jsonl"))
            .unwrap()
            .lines()
            .take(10)
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
    let mut predictions = String::new();
    for sample in &samples {
        let ranking: Vec<String> = sample["rec"]
            .as_array()
            .unwrap()
            .iter()
            .map(|title| title.as_str().unwrap().to_lowercase())
            .collect();
        let id = format!(
            "{}:{}",
            sample["dialog_id"].as_str().unwrap(),
            sample["turn_id"]
        );
        predictions.push_str(&serde_json::json!({"sample": id, "ranking": ranking}).to_string());
        predictions.push('\n');
    }
    predictions.push_str("{\"sample\": \"nope:1\", \"ranking\": []}\n");
    // `grsu evaluate` of the predictions in `file` against the ReDial test set, `extra` appended.
    let evaluate = |file: &Path, extra: &[&str]| {
        let mut arguments = vec![
            "evaluate",
            "--format",
            "ievalm",
            "--path",
            &redial,
            "--catalog",
            &catalog,
            "--predictions",
            file.to_str().unwrap(),
        ];
        arguments.extend_from_slice(extra);
        grsu(&arguments, None)
    };
    let (_folder, file) = temp_file("predictions.jsonl", &predictions);
    let output = evaluate(&file, &["--json"]);
    let value = json_of(&output);
    assert_eq!(value["samples"], 3341);
    assert_eq!(value["predicted"], 10);
    assert_eq!(value["missing"], 3331);
    assert_eq!(value["unknown"], 1);
    let recall50 = value["metrics"]["recall"][4].as_f64().unwrap();
    assert!((recall50 - 10.0 / 3341.0).abs() < 1e-9, "{recall50}");
    let duplicate = format!("{predictions}{}", predictions.lines().next().unwrap());
    let (_again, file) = temp_file("twice.jsonl", &duplicate);
    let output = evaluate(&file, &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("predicted twice"));
}
