//! `grsu probe order` over a small list-context sweep against the in-process deterministic
//! server: the probe's shape, its count of model calls (the new requests the server saw), a
//! second identical probe answered wholly from the response cache, and, since that server's
//! score depends on the title alone, scores that do not move when the order does. The errors
//! (unknown cell, a cell without scoring, a store held by another process, no stored lists, no
//! sweep) exit
//! with code 2 and say why.

use grsu_test_support::{run_to_completion, write_config, DeterministicServer, Grsu};
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

fn fail_with_2(output: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    stderr
}

fn value(stat: &Value) -> f64 {
    stat["value"]
        .as_f64()
        .unwrap_or_else(|| panic!("undefined: {stat}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_context_probe_counts_its_calls_and_replays_them() {
    let server = DeterministicServer::demo().await;
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("out");
    let config = write_config(
        folder.path(),
        &server.url(),
        &output,
        2,
        "score_context = \"list\"\n",
    );
    run_to_completion(&config).await;
    let before = server.traffic().total();
    let out = output.to_str().unwrap();

    let probe = |extra: &[&str]| {
        let mut arguments = vec!["probe", "order", out, "--cell", "e2e", "--lists", "3"];
        arguments.extend_from_slice(extra);
        GRSU.output(&arguments)
    };
    let first: Value = serde_json::from_str(&succeed(&probe(&["--json"]))).unwrap();
    let calls = server.traffic().total() - before;
    assert_eq!(first["model_calls"].as_u64().unwrap(), calls, "{first}");
    assert!(calls > 0, "reversed lists are new prompts");
    assert_eq!(first["cell"], "e2e");
    assert_eq!(first["score_context"], "list");
    assert_eq!(first["selection"], "first");
    assert_eq!(first["lists_probed"], 3);
    assert!(first["lists_stored"].as_u64().unwrap() >= 3);
    assert_eq!(
        first["requests"].as_u64().unwrap(),
        calls + first["cache_hits"].as_u64().unwrap()
    );
    let lists = first["lists"].as_array().unwrap();
    assert_eq!(lists.len(), 3);
    let items: usize = lists
        .iter()
        .map(|list| list["items"].as_array().unwrap().len())
        .sum();
    // Every item of every list asked once per condition (the server's answers are all valid).
    assert_eq!(first["requests"].as_u64().unwrap(), 2 * items as u64);
    for list in lists {
        let reversed: Vec<u64> = list["presented"]["reversed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|index| index.as_u64().unwrap())
            .collect();
        let length = list["items"].as_array().unwrap().len() as u64;
        assert_eq!(reversed, (0..length).rev().collect::<Vec<_>>());
        // The same scores (up to the last bit a score read back from the store's JSON may
        // differ in).
        for condition in ["reversed", "shuffled"] {
            let (new, old) = (
                list["rescored"][condition].as_array().unwrap(),
                list["original"].as_array().unwrap(),
            );
            assert_eq!(new.len(), old.len());
            for (a, b) in new.iter().zip(old) {
                assert!(
                    (a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 1e-12,
                    "{list}"
                );
            }
        }
    }

    let conditions = first["conditions"].as_array().unwrap();
    let names: Vec<&str> = conditions
        .iter()
        .map(|condition| condition["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["reversed", "shuffled"]);
    for condition in conditions {
        assert_eq!(condition["lists"], 3);
        assert_eq!(condition["items"], items as u64);
        // The server's score is a function of the title: order does not move it.
        assert!(value(&condition["mean_abs_diff"]) < 1e-12, "{condition}");
        assert_eq!(value(&condition["spearman_pooled"]), 1.0, "{condition}");
        assert_eq!(value(&condition["spearman_mean"]), 1.0, "{condition}");
        assert_eq!(condition["top_changed"], 0);
        assert_eq!(value(&condition["top_changed_share"]), 0.0);
        assert_eq!(condition["identical_lists"], 3);
        let positions = condition["positions"].as_array().unwrap();
        assert_eq!(positions.len(), 5, "lists of 5");
        for at in positions {
            assert_eq!(at["lists"], 3);
        }
    }
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(output.join("probe-order.json")).unwrap())
            .unwrap();
    assert_eq!(written, first);

    // The same probe again: every request replays from the response cache.
    let traffic = server.traffic().total();
    let second = probe(&[]);
    let table = succeed(&second);
    assert_eq!(
        server.traffic().total(),
        traffic,
        "a repeated probe asks nothing"
    );
    assert!(
        table.contains("## Order probe of cell `e2e` (list-context scoring)"),
        "{table}"
    );
    assert!(table.contains("0 model calls"), "{table}");
    assert!(
        table.contains("### reversed: the items in reverse order"),
        "{table}"
    );
    assert!(
        table.contains("| 3 | 15 | 0.0000 | 1.0000 | 3 | 1.0000 | 0 / 3 (0.0000) | 3 |"),
        "{table}"
    );
    assert!(
        table.contains("| position | lists | before | after | after − before |"),
        "{table}"
    );
    let again: Value =
        serde_json::from_str(&std::fs::read_to_string(output.join("probe-order.json")).unwrap())
            .unwrap();
    assert_eq!(again["model_calls"], 0);
    assert_eq!(again["conditions"], first["conditions"]);

    // A seeded sample: other lists, the same statistics here.
    let seeded: Value = serde_json::from_str(&succeed(&probe(&["--seed", "7", "--json"]))).unwrap();
    assert_eq!(seeded["selection"], "seeded");
    assert_eq!(seeded["lists_probed"], 3);

    // Errors: an unknown cell names the cells; a store held by another process.
    // (A name may start with `-`, as the variants `- critiquing` do.)
    let unknown = fail_with_2(&GRSU.output(&["probe", "order", out, "--cell", "- nope"]));
    assert!(
        unknown.contains("no cell `- nope`") && unknown.contains("`e2e`"),
        "{unknown}"
    );
    let held = grsu::store::Store::open(&output.join("store")).unwrap();
    let busy = fail_with_2(&GRSU.output(&["probe", "order", out, "--cell", "e2e"]));
    assert!(busy.contains("is a `grsu run` still writing it?"), "{busy}");
    // A sweep with no records yet: its manifest alone, in a store of its own.
    let manifest = held.manifest().unwrap().unwrap();
    drop(held);
    let empty = folder.path().join("empty");
    let store = grsu::store::Store::open(&empty.join("store")).unwrap();
    store.put_manifest(&manifest).unwrap();
    store.flush().unwrap();
    drop(store);
    let none =
        fail_with_2(&GRSU.output(&["probe", "order", empty.to_str().unwrap(), "--cell", "e2e"]));
    assert!(none.contains("has no stored scored lists"), "{none}");
    let missing = fail_with_2(&GRSU.output(&[
        "probe",
        "order",
        folder.path().to_str().unwrap(),
        "--cell",
        "e2e",
    ]));
    assert!(missing.contains("holds no sweep"), "{missing}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cell_without_scoring_is_refused() {
    let server = DeterministicServer::demo().await;
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("out");
    let config = write_config(
        folder.path(),
        &server.url(),
        &output,
        1,
        "scoring = false\n",
    );
    run_to_completion(&config).await;
    let unscored =
        fail_with_2(&GRSU.output(&["probe", "order", output.to_str().unwrap(), "--cell", "e2e"]));
    assert!(unscored.contains("does not score items"), "{unscored}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_context_probe_reasks_with_new_seeds() {
    let server = DeterministicServer::demo().await;
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("out");
    let config = write_config(folder.path(), &server.url(), &output, 1, "");
    run_to_completion(&config).await;
    let before = server.traffic().total();
    let arguments = [
        "probe",
        "order",
        output.to_str().unwrap(),
        "--cell",
        "e2e",
        "--lists",
        "2",
        "--json",
    ];
    let probe: Value = serde_json::from_str(&succeed(&GRSU.output(&arguments))).unwrap();
    let calls = server.traffic().total() - before;
    assert_eq!(probe["score_context"], "item");
    assert_eq!(probe["model_calls"].as_u64().unwrap(), calls);
    // Another seed is another request: nothing replays from the cache.
    assert_eq!(probe["cache_hits"], 0, "{probe}");
    assert_eq!(calls, 10, "two lists of 5, each item asked again");
    let conditions = probe["conditions"].as_array().unwrap();
    assert_eq!(conditions.len(), 1);
    let reseeded = &conditions[0];
    assert_eq!(reseeded["name"], "reseeded");
    assert_eq!(
        reseeded["identical_lists"], 2,
        "the server ignores the seed"
    );
    assert!(reseeded["positions"].as_array().unwrap().is_empty());
    let notes = probe["notes"].to_string();
    assert!(notes.contains("temperature 0"), "{notes}");
    succeed(&GRSU.output(&arguments));
    assert_eq!(server.traffic().total(), before + calls, "replayed");
}
