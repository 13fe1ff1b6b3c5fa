//! `grsu synth critique|score` end to end, through the binary, on the demo data against an
//! in-process deterministic OpenAI-compatible teacher: one teacher call per list, examples that
//! hold no preference and name no hidden label, a second run that makes no teacher call and writes
//! byte-identical files, and the exit code of a bad config.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use grsu_test_support::{demo_samples, demo_titles, repository_root, DeterministicServer, Grsu};
use serde_json::Value;

const GRSU: Grsu = Grsu::new(env!("CARGO_BIN_EXE_grsu"));

fn write_config(folder: &Path, server: &str, output: &Path) -> PathBuf {
    let root = repository_root();
    let config = format!(
        r#"
[synth]
name = "e2e"
seed = 3
output = "{output}"
max_in_flight = 3

[data]
format = "grsu"
path = "{root}/data/demo/conversations.jsonl"
catalog = "{root}/data/demo/movie2info.json"
only_new = true
limit = 4

[models.teacher]
endpoints = ["{server}"]
model = "det"
max_concurrency = 3

[critique]
list_length = 5
max_subsets_per_history = 2
max_tokens = 64

[score]
negatives_per_positive = 2
"#,
        output = output.display(),
        root = root.display(),
    );
    let path = folder.join("synth.toml");
    std::fs::write(&path, config).unwrap();
    path
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn manifest(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn succeed(arguments: &[&str]) -> std::process::Output {
    let output = GRSU.output(arguments);
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The labels of each demo sample, as the engine reads them.
fn demo_labels(limit: usize) -> BTreeMap<String, Vec<String>> {
    let (_, samples) = demo_samples();
    samples
        .into_iter()
        .take(limit)
        .map(|sample| (sample.id, sample.labels))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synthesis_through_the_binary_counts_hides_the_preference_and_resumes_from_the_cache() {
    let root = repository_root();
    let server = DeterministicServer::start(demo_titles(&root), Duration::ZERO).await;
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("out");
    let config = write_config(folder.path(), &server.url(), &output);
    let config_arg = config.to_str().unwrap().to_string();

    let run = |kind: &'static str| {
        let config_arg = config_arg.clone();
        tokio::task::spawn_blocking(move || succeed(&["synth", kind, "--config", &config_arg]))
    };
    let first = run("critique").await.unwrap();
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(stdout.contains("| critique_examples |"), "{stdout}");

    let critique_manifest = manifest(&output.join("critique.manifest.json"));
    let counts = &critique_manifest["counts"];
    let lists = counts["lists_with_labels"].as_u64().unwrap()
        + counts["lists_without_labels"].as_u64().unwrap();
    assert_eq!(counts["histories"], 4);
    assert_eq!(counts["lists_without_labels"], 4);
    assert_eq!(counts["critique_examples"].as_u64().unwrap(), lists);
    assert_eq!(counts["failed_lists"], 0);
    // The deterministic teacher answers every list validly at the first attempt.
    let traffic = server.traffic();
    assert_eq!(traffic.by_kind["critique"], lists, "{traffic:?}");
    assert_eq!(traffic.total(), lists);
    assert_eq!(critique_manifest["this_run"]["teacher_calls"], lists);
    assert_eq!(critique_manifest["teacher"]["identity"], "openai:det");
    assert_eq!(critique_manifest["seeds"]["seed"], 3);

    // The plan counts the same lists without asking the teacher.
    let plan = succeed(&[
        "synth",
        "critique",
        "--config",
        &config_arg,
        "--plan",
        "--json",
    ]);
    let plan: Value = serde_json::from_slice(&plan.stdout).unwrap();
    for key in [
        "histories",
        "lists_with_labels",
        "lists_without_labels",
        "subsets_capped",
    ] {
        assert_eq!(plan[key], counts[key], "{key}");
    }
    assert_eq!(server.traffic().total(), lists);

    let examples = lines(&output.join("critique.jsonl"));
    assert_eq!(examples.len() as u64, lists);
    let labels = demo_labels(4);
    for example in &examples {
        let messages = example["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0]["role"], "user");
        assert_eq!(messages[1]["role"], "assistant");
        let prompt = messages[0]["content"].as_str().unwrap();
        assert!(prompt.ends_with(grsu::prompts::CRITIQUE_TASK));
        assert!(!prompt.contains("Ground-Truth Preference"), "{prompt}");
        // Labels named in the prompt are the list's own; the history mentions none (only_new).
        let list = prompt.split("## Recommendation By System").nth(1).unwrap();
        let history = prompt.split("## Recommendation By System").next().unwrap();
        let sample = example["meta"]["sample"].as_str().unwrap();
        let mut shown = 0;
        for label in &labels[sample] {
            assert!(!history.contains(label.as_str()), "{label} in the history");
            shown += usize::from(list.contains(label.as_str()));
        }
        assert_eq!(example["meta"]["labels_in_list"], shown, "{sample}");
        assert!(messages[1]["content"]
            .as_str()
            .unwrap()
            .starts_with("I would like something with more suspense"));
    }

    succeed(&["synth", "score", "--config", &config_arg]);
    let score_manifest = manifest(&output.join("score.manifest.json"));
    let positives = score_manifest["counts"]["positives"].as_u64().unwrap();
    let label_count: usize = labels.values().map(Vec::len).sum();
    assert_eq!(positives, label_count as u64);
    assert_eq!(
        score_manifest["counts"]["negatives"].as_u64().unwrap(),
        2 * positives
    );
    assert!(score_manifest.get("teacher").is_none());
    let scores = lines(&output.join("score.jsonl"));
    assert_eq!(scores.len() as u64, 3 * positives);
    for example in &scores {
        let answer = example["meta"]["answer"].as_str().unwrap();
        let item = example["meta"]["item"].as_str().unwrap();
        let sample = example["meta"]["sample"].as_str().unwrap();
        assert_eq!(
            answer == "Yes",
            labels[sample].iter().any(|label| label == item)
        );
        assert_eq!(
            example["messages"][1]["content"],
            format!("Accept the recommendation (Yes/No)? {answer}")
        );
    }

    // A second run: no teacher call, the same bytes.
    let critique_bytes = std::fs::read(output.join("critique.jsonl")).unwrap();
    let score_bytes = std::fs::read(output.join("score.jsonl")).unwrap();
    run("critique").await.unwrap();
    run("score").await.unwrap();
    assert_eq!(
        server.traffic().total(),
        lists,
        "the rerun called the teacher"
    );
    let again = manifest(&output.join("critique.manifest.json"));
    assert_eq!(again["this_run"]["teacher_calls"], 0);
    assert_eq!(again["this_run"]["cache_hits"], lists);
    assert_eq!(again["counts"], critique_manifest["counts"]);
    assert_eq!(
        std::fs::read(output.join("critique.jsonl")).unwrap(),
        critique_bytes
    );
    assert_eq!(
        std::fs::read(output.join("score.jsonl")).unwrap(),
        score_bytes
    );
    assert!(!output.join("critique.jsonl.partial").exists());
}

#[test]
fn a_bad_config_exits_2_naming_the_key() {
    let folder = tempfile::tempdir().unwrap();
    let config = write_config(
        folder.path(),
        "http://127.0.0.1:9/v1",
        &folder.path().join("o"),
    );
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("max_subsets_per_history = 2", "max_subsets_per_history = 0");
    std::fs::write(&config, text).unwrap();
    let output = GRSU.output(&["synth", "critique", "--config", config.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("[critique] max_subsets_per_history: must be at least 1"),
        "{stderr}"
    );
    let typo = std::fs::read_to_string(&config)
        .unwrap()
        .replace("negatives_per_positive", "negatives_per_label");
    std::fs::write(&config, typo).unwrap();
    let output = GRSU.output(&["synth", "score", "--config", config.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown field `negatives_per_label`"));
}
