//! A sweep against the in-process deterministic server, run in the test's process through the
//! runtime library (`grsu_actors::engine::run`): a grid of two search strategies × two depths
//! under two seeds runs as two shared searches, `grsu status` counts every cell, `grsu report`
//! tests the cells and an imported ranking against a baseline, draws the figures, regenerates the
//! same report from the store alone, and the calls saved by sharing are the calls the server did
//! not have to answer. A cell with two output strategies takes its baseline by `cell · strategy`
//! written several ways, and its export names the metrics' cut-offs. The commands that read the
//! store (`status`, `import`, `report`, `export`) go through the binary, whose output they check.

use std::collections::BTreeSet;
use std::time::Duration;

use grsu_test_support::{
    demo_titles, repository_root, run_to_completion, write_config, DeterministicServer, Grsu,
};
use serde_json::Value;

const GRSU: Grsu = Grsu::new(env!("CARGO_BIN_EXE_grsu"));

fn succeed(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grid_shares_searches_and_reports_from_the_store_alone() {
    let root = repository_root();
    let server = DeterministicServer::start(demo_titles(&root), Duration::ZERO).await;
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("out");
    let samples = 3;
    let config = write_config(
        folder.path(),
        &server.url(),
        &output,
        samples,
        "[output]\nstrategies = [\"reward-mean\"]\n\n[grid]\n\"search.strategy\" = [\"beam\", \"greedy\"]\n\"search.depth\" = [2, 3]\n",
    );
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("seeds = [0]", "seeds = [0, 1]");
    std::fs::write(&config, text).unwrap();
    run_to_completion(&config).await;

    // Four cells, two searches (depth 2 is a truncation of depth 3): 2 × 2 seeds × 3 samples.
    let records = GRSU.export(&output);
    assert_eq!(records.len(), 2 * 2 * samples);
    let searches: BTreeSet<&str> = records
        .iter()
        .map(|record| record["search"].as_str().unwrap())
        .collect();
    assert_eq!(searches.len(), 2);

    let status: Value = serde_json::from_str(&succeed(&GRSU.output(&[
        "status",
        output.to_str().unwrap(),
        "--json",
    ])))
    .unwrap();
    let cells = status.as_array().unwrap();
    assert_eq!(cells.len(), 4);
    for cell in cells {
        assert_eq!(cell["done"], 2 * samples as u64, "{cell}");
        assert_eq!(cell["total"], 2 * samples as u64, "{cell}");
        assert_eq!(cell["errors"], 0);
        assert!(cell["calls"].as_u64().unwrap() > 0);
        // Invalid answers per role, over every request the role answered (the server's answers
        // are all valid).
        let invalid = cell["invalid_answers"].as_object().unwrap();
        assert!(
            invalid.contains_key("crs") && invalid.contains_key("user"),
            "{cell}"
        );
        let requests: u64 = invalid
            .values()
            .map(|role| role["requests"].as_u64().unwrap())
            .sum();
        assert_eq!(
            requests,
            cell["calls"].as_u64().unwrap() + cell["cache_hits"].as_u64().unwrap()
        );
        for role in invalid.values() {
            assert_eq!(role["invalid_answers"], 0, "{cell}");
            assert_eq!(role["per_request"], 0.0, "{cell}");
        }
    }
    let table = succeed(&GRSU.output(&["status", output.to_str().unwrap()]));
    assert!(table.contains("| invalid / request | errors |"), "{table}");
    assert!(table.contains("| crs 0.00, user 0.00 | 0 |"), "{table}");
    assert!(
        table.contains("invalid / request: invalid answers per request"),
        "{table}"
    );
    assert_eq!(
        cells[0]["search"], cells[1]["search"],
        "depths 2 and 3 share"
    );
    assert_ne!(cells[0]["search"], cells[2]["search"]);

    // Calls made are exactly what the server answered; sharing saved the rest.
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(output.join("report.json")).unwrap())
            .unwrap();
    let sharing = &report["sharing"];
    assert_eq!(
        sharing["calls_made"].as_u64().unwrap(),
        server.traffic().total()
    );
    let (alone, made) = (
        sharing["calls_alone"].as_u64().unwrap(),
        sharing["calls_made"].as_u64().unwrap(),
    );
    // The depth-2 cells alone would repeat their depth-3 twins' first two levels at least.
    assert!(alone > made, "{sharing}");
    assert_eq!(sharing["calls_saved"].as_u64().unwrap(), alone - made);
    for figure in ["depth_recall50", "depth_ndcg50", "ablation"] {
        for extension in ["svg", "png"] {
            let path = output.join("figures").join(format!("{figure}.{extension}"));
            assert!(path.is_file(), "{} missing", path.display());
        }
    }

    // An imported ranking: the labels themselves for the first sample, nothing for the others.
    let first = &records[0];
    let predictions = folder.path().join("oracle.jsonl");
    std::fs::write(
        &predictions,
        format!(
            "{}\n",
            serde_json::json!({"sample": first["sample"], "ranking": first["labels"]})
        ),
    )
    .unwrap();
    succeed(&GRSU.output(&[
        "import",
        "--predictions",
        predictions.to_str().unwrap(),
        "--name",
        "oracle-one",
        "--into",
        output.to_str().unwrap(),
    ]));
    let tested: Value = serde_json::from_str(&succeed(&GRSU.output(&[
        "report",
        output.to_str().unwrap(),
        "--baseline",
        "oracle-one",
        "--format",
        "json",
    ])))
    .unwrap();
    let methods = tested["methods"].as_array().unwrap();
    assert_eq!(methods.len(), 5, "four cells and the import");
    let oracle = methods.iter().find(|m| m["name"] == "oracle-one").unwrap();
    let recall10 = &oracle["columns"][0];
    // One of three samples ranked perfectly: Recall@10 = 1/3 (every label found).
    assert!(
        (recall10["mean"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-12,
        "{recall10}"
    );
    assert!(
        recall10["p_value"].is_null(),
        "the baseline is not tested against itself"
    );
    for method in methods.iter().filter(|m| m["name"] != "oracle-one") {
        assert_eq!(method["columns"][0]["paired_samples"], samples as u64);
        assert!(method["columns"][0]["p_value"].is_number(), "{method}");
        // Holm-adjusted over the four methods tested, beside the Wilcoxon test and the paired
        // difference.
        let column = &method["columns"][0];
        assert!(column["p_holm"].as_f64().unwrap() >= column["p_value"].as_f64().unwrap());
        assert_eq!(column["holm_family"], 4);
        assert!(column["wilcoxon"]["p_value"].is_number(), "{column}");
        assert_eq!(column["difference"]["pairs"], samples as u64);
    }
    let unknown = GRSU.output(&["report", output.to_str().unwrap(), "--baseline", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no method named `nope`"));

    // Delete every output file but the store: the report comes back identical.
    let written = std::fs::read(output.join("report.json")).unwrap();
    for entry in std::fs::read_dir(&output).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap() != "store" {
            if path.is_dir() {
                std::fs::remove_dir_all(&path).unwrap();
            } else {
                std::fs::remove_file(&path).unwrap();
            }
        }
    }
    succeed(&GRSU.output(&[
        "report",
        output.to_str().unwrap(),
        "--baseline",
        "oracle-one",
    ]));
    assert_eq!(std::fs::read(output.join("report.json")).unwrap(), written);
    assert!(output.join("figures/ablation.png").is_file());
    let page = std::fs::read_to_string(output.join("report.html")).unwrap();
    // The diagnostics' figures too: two per variant that scores items (at its deepest cell).
    let diagnostic_figures = std::fs::read_dir(output.join("figures/diagnostics"))
        .unwrap()
        .filter(|entry| entry.as_ref().unwrap().path().extension().unwrap() == "svg")
        .count();
    assert!(diagnostic_figures >= 2 && diagnostic_figures.is_multiple_of(2));
    assert_eq!(
        page.matches("<svg").count(),
        3 + diagnostic_figures,
        "the three figures and the diagnostics' inline"
    );
    assert!(page.contains("<table id=\"diagnostics-scoring\">"));
    let report: Value = serde_json::from_slice(&written).unwrap();
    let diagnostics = report["diagnostics"].as_array().unwrap();
    assert!(!diagnostics.is_empty());
    for cell in diagnostics {
        // A value or the reason it has none, never NaN or null.
        let auc = &cell["all"]["scoring"]["auc"];
        assert!(
            auc["value"].is_number() || auc["undefined"].is_string(),
            "{auc}"
        );
    }
    let markdown = std::fs::read_to_string(output.join("report.md")).unwrap();
    assert!(markdown.contains("## Diagnostics") && markdown.contains("### Scoring quality"));
    assert!(page.contains("oracle-one"));

    // Running the sweep again makes no model call.
    let before = server.traffic().total();
    run_to_completion(&config).await;
    assert_eq!(server.traffic().total(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_baseline_is_found_without_its_middle_dot_and_exports_name_their_cut_offs() {
    let root = repository_root();
    let server = DeterministicServer::start(demo_titles(&root), Duration::ZERO).await;
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("out");
    let config = write_config(
        folder.path(),
        &server.url(),
        &output,
        2,
        "[output]\nstrategies = [\"reward-mean\", \"best-list\"]\n",
    );
    run_to_completion(&config).await;
    let output = output.to_str().unwrap();

    // One cell (named after the run) with two strategies: `e2e · reward-mean`, `e2e · best-list`.
    let baseline_of = |name: &str| {
        let report: Value = serde_json::from_str(&succeed(&GRSU.output(&[
            "report",
            output,
            "--baseline",
            name,
            "--format",
            "json",
            "--no-files",
        ])))
        .unwrap();
        report["baseline"].as_str().unwrap().to_string()
    };
    for spelling in [
        "e2e · best-list",
        "e2e/best-list",
        "e2e best-list",
        "e2e / best-list",
        "e2e·best-list",
    ] {
        assert_eq!(baseline_of(spelling), "e2e · best-list", "{spelling}");
    }
    assert_eq!(baseline_of("e2e/reward-mean"), "e2e · reward-mean");
    for unknown in ["e2e/nope", "e2ebest-list", "e2e"] {
        let failed = GRSU.output(&["report", output, "--baseline", unknown, "--no-files"]);
        assert_eq!(failed.status.code(), Some(2), "{unknown}");
        let message = String::from_utf8_lossy(&failed.stderr);
        assert!(
            message.contains(&format!("no method named `{unknown}`"))
                && message.contains("`e2e · reward-mean`, `e2e · best-list`"),
            "{message}"
        );
    }

    // The CSV's numbers are plain decimals (p-values included: `1.000000`, not `1.000000e0`;
    // differences to the baseline may be negative); its other fields are the method name and
    // significance words.
    let csv = succeed(&GRSU.output(&["report", output, "--format", "csv", "--no-files"]));
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    for line in csv.lines().skip(1) {
        let row: Vec<&str> = line.split(',').collect();
        assert_eq!(row.len(), header.len(), "{line}");
        for (name, field) in header.iter().zip(&row).skip(1) {
            let digits = field.strip_prefix('-').unwrap_or(field);
            let number = digits.chars().all(|c| c.is_ascii_digit() || c == '.');
            let word = name.ends_with("significance");
            assert!(number || word, "{name}: `{field}` in {line}");
        }
    }
    assert!(header.contains(&"crs invalid_per_request"), "{csv}");

    // Each exported record names the cut-offs of its metrics, per output strategy.
    let records = GRSU.export(std::path::Path::new(output));
    assert_eq!(records.len(), 2);
    for record in &records {
        let metrics = record["metrics"].as_object().unwrap();
        assert_eq!(
            metrics.keys().collect::<BTreeSet<_>>(),
            BTreeSet::from([&"best-list".to_string(), &"reward-mean".to_string()])
        );
        for strategy in metrics.values() {
            assert_eq!(strategy["k"], serde_json::json!([1, 5, 10, 20, 50]));
            for metric in ["recall", "ndcg", "mrr"] {
                let values = strategy[metric].as_array().unwrap();
                assert_eq!(values.len(), 5, "{strategy}");
                assert!(values
                    .iter()
                    .all(|v| (0.0..=1.0).contains(&v.as_f64().unwrap())));
            }
            assert_eq!(
                strategy["labels"].as_u64().unwrap() as usize,
                record["labels"].as_array().unwrap().len()
            );
        }
    }
}
