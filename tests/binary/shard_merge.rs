//! Several orchestrators: a run with `--shard i/n` runs a deterministic share of every cell, the
//! shares are disjoint and complete, and `grsu merge` combines them into the predictions of an
//! unsharded run; stores of another sweep are refused. The runs go through the runtime library in
//! the test's process (`grsu_actors::engine::run` with a shard); `merge` and `export` through the
//! binary.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use grsu::sweep::Shard;
use grsu_test_support::{
    demo_titles, predictions, repository_root, run_shard_to_completion, run_to_completion,
    write_config, DeterministicServer, Grsu,
};

const GRSU: Grsu = Grsu::new(env!("CARGO_BIN_EXE_grsu"));

fn succeed(output: std::process::Output) -> String {
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn keyed(records: &[serde_json::Value]) -> BTreeSet<String> {
    records
        .iter()
        .map(|record| {
            format!(
                "{}/{}/{}",
                record["search"], record["seed"], record["sample"]
            )
        })
        .collect()
}

/// Runs `grsu ARGUMENTS` off the async runtime, asserting success; its stdout.
async fn grsu(arguments: Vec<String>) -> String {
    tokio::task::spawn_blocking(move || {
        let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
        succeed(GRSU.output(&arguments))
    })
    .await
    .unwrap()
}

fn text(path: &Path) -> String {
    path.to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_partition_the_sweep_and_merge_into_the_unsharded_result() {
    let root = repository_root();
    let server = DeterministicServer::start(demo_titles(&root), Duration::ZERO).await;
    let folder = tempfile::tempdir().unwrap();
    let grid =
        "[output]\nstrategies = [\"reward-mean\"]\n\n[grid]\n\"user.critique\" = [true, false]\n";
    let sharded_output = folder.path().join("sharded");
    let sharded = write_config(folder.path(), &server.url(), &sharded_output, 5, grid);
    let status = |output: &Path| {
        let shown = GRSU.output(&["status", output.to_str().unwrap()]);
        assert!(
            shown.status.success(),
            "{}",
            String::from_utf8_lossy(&shown.stderr)
        );
        String::from_utf8(shown.stdout).unwrap()
    };
    run_shard_to_completion(&sharded, Shard { index: 0, count: 2 }).await;
    // `grsu status` over the sweep's output shows its shards before anything is merged.
    let shown = status(&sharded_output);
    assert!(shown.contains("| 0/2 | finished | 6/6 | 0 |"), "{shown}");
    assert!(shown.contains("| 1/2 | not started | 0/0 |"), "{shown}");
    assert!(shown.contains("1 of 2 finished, 0 merged"), "{shown}");
    run_shard_to_completion(&sharded, Shard { index: 1, count: 2 }).await;
    let shown = status(&sharded_output);
    assert!(
        shown.contains("| total | 2 of 2 finished, 0 merged | 10/10 |"),
        "{shown}"
    );
    assert!(
        shown.contains("every shard is finished: `grsu merge"),
        "{shown}"
    );
    let shard_outputs: Vec<_> = (0..2)
        .map(|index| sharded_output.join(format!("shards/{index}-of-2")))
        .collect();
    let shares: Vec<BTreeSet<String>> = shard_outputs
        .iter()
        .map(|output| keyed(&GRSU.export(output)))
        .collect();
    // Two cells (two searches) × 5 samples: 3 samples in shard 0, 2 in shard 1, disjoint.
    assert_eq!(shares[0].len(), 2 * 3);
    assert_eq!(shares[1].len(), 2 * 2);
    assert!(shares[0].is_disjoint(&shares[1]));

    let merged = grsu(vec![
        "merge".into(),
        "--into".into(),
        text(&sharded_output),
        text(&shard_outputs[0]),
        text(&shard_outputs[1]),
    ])
    .await;
    assert!(merged.contains("cells now 10/10 done"), "{merged}");
    let shown = status(&sharded_output);
    assert!(shown.contains("2 of 2 finished, 2 merged"), "{shown}");
    assert!(shown.contains("| 1/2 | finished | 4/4 | 0 |"), "{shown}");
    let merged_records = GRSU.export(&sharded_output);
    assert_eq!(merged_records.len(), 10);

    // The same sweep unsharded, in another folder: the same predictions.
    let whole_folder = tempfile::tempdir().unwrap();
    let whole_output = whole_folder.path().join("whole");
    let whole = write_config(whole_folder.path(), &server.url(), &whole_output, 5, grid);
    run_to_completion(&whole).await;
    let whole_records = GRSU.export(&whole_output);
    assert_eq!(keyed(&whole_records), keyed(&merged_records));
    let by_unit = |records: &[serde_json::Value]| {
        records
            .iter()
            .map(|record| {
                (
                    format!("{}/{}", record["search"], record["sample"]),
                    record["predictions"].clone(),
                )
            })
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    assert_eq!(by_unit(&whole_records), by_unit(&merged_records));
    assert_eq!(predictions(&whole_records).len(), 5);

    // Merging again adds nothing; a store of another sweep is refused.
    let again = grsu(vec![
        "merge".into(),
        "--into".into(),
        text(&sharded_output),
        text(&shard_outputs[0]),
    ])
    .await;
    assert!(
        again.contains("0 records added, 6 already there"),
        "{again}"
    );
    let refused = GRSU.output(&[
        "merge",
        "--into",
        &text(&sharded_output),
        &text(&whole_output),
        &text(&shard_outputs[1]),
    ]);
    // The unsharded store of the same sweep merges; a different sweep does not.
    assert!(
        refused.status.success(),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let other_folder = tempfile::tempdir().unwrap();
    let other_output = other_folder.path().join("other");
    let other = write_config(other_folder.path(), &server.url(), &other_output, 2, grid);
    run_to_completion(&other).await;
    let refused = GRSU.output(&[
        "merge",
        "--into",
        &text(&sharded_output),
        &text(&other_output),
    ]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("holds another sweep"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

/// The variables `--shard auto` reads, removed from a child so that the test's own environment
/// (a CI runner inside Slurm or Kubernetes) does not leak into it.
const SHARD_VARIABLES: [&str; 8] = [
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_COUNT",
    "SLURM_ARRAY_TASK_MIN",
    "SLURM_ARRAY_TASK_MAX",
    "SLURM_ARRAY_TASK_STEP",
    "JOB_COMPLETION_INDEX",
    "GRSU_SHARD_COUNT",
    "GRSU_SHARD",
];

fn auto_shard_run(config: &Path, variables: &[(&str, &str)]) -> std::process::Output {
    let mut command = GRSU.command();
    command
        .args(["run", config.to_str().unwrap(), "--shard", "auto"])
        .env("GRSU_LOG", "warn");
    for name in SHARD_VARIABLES {
        command.env_remove(name);
    }
    for (name, value) in variables {
        command.env(name, value);
    }
    command.output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shard_auto_takes_the_share_from_slurm_and_refuses_an_environment_without_one() {
    let root = repository_root();
    let server = DeterministicServer::start(demo_titles(&root), Duration::ZERO).await;
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("auto");
    let config = write_config(folder.path(), &server.url(), &output, 5, "");

    // Task 2 of `--array=1-3`: share 1 of 3 (samples 1 and 4 of 5).
    let slurm = [
        ("SLURM_ARRAY_TASK_ID", "2"),
        ("SLURM_ARRAY_TASK_MIN", "1"),
        ("SLURM_ARRAY_TASK_MAX", "3"),
        ("SLURM_ARRAY_TASK_COUNT", "3"),
    ];
    let ran = tokio::task::spawn_blocking({
        let config = config.clone();
        move || auto_shard_run(&config, &slurm)
    })
    .await
    .unwrap();
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let shard_output = output.join("shards/1-of-3");
    let records = GRSU.export(&shard_output);
    assert_eq!(records.len(), 2, "{records:?}");
    assert!(
        !output.join("store").exists(),
        "an unsharded store was written"
    );
    let store = grsu::store::Store::open(&shard_output.join("store")).unwrap();
    let manifest = store.manifest().unwrap().unwrap();
    assert_eq!(manifest.shard, Some(Shard { index: 1, count: 3 }));
    assert_eq!(manifest.shard_source, Some(grsu::sweep::ShardSource::Slurm));
    drop(store);

    // Kubernetes gives the same share through its own variables.
    let kubernetes = [("JOB_COMPLETION_INDEX", "1"), ("GRSU_SHARD_COUNT", "3")];
    let again = tokio::task::spawn_blocking({
        let config = config.clone();
        move || auto_shard_run(&config, &kubernetes)
    })
    .await
    .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(GRSU.export(&shard_output).len(), 2);

    // Neither engine, or values that make no share: exit code 2, naming the variables.
    for variables in [
        &[][..],
        &[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ][..],
        &[("JOB_COMPLETION_INDEX", "0")][..],
    ] {
        let refused = auto_shard_run(&config, variables);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(2), "{variables:?}: {stderr}");
        assert!(stderr.contains("--shard auto"), "{stderr}");
    }
    let nothing = auto_shard_run(&config, &[]);
    let stderr = String::from_utf8_lossy(&nothing.stderr);
    assert!(
        stderr.contains("SLURM_ARRAY_TASK_ID") && stderr.contains("JOB_COMPLETION_INDEX"),
        "{stderr}"
    );
}
