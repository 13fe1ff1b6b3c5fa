//! `grsu doctor --config` through the binary, against in-process servers: every endpoint of every
//! cell of a sweep is checked (a `[[variant]]`'s CRS server too) and judged by what the cells
//! using it need; a wrong model id, a dead server and an unset API key variable are reported as
//! what they are and nothing else; exit codes 0 (all fine), 1 (an endpoint cannot serve a cell),
//! 2 (a config error).

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use grsu_test_support::{
    demo_titles, repository_root, write_config, DeterministicServer, Grsu, Reply, ScriptedServer,
};
use serde_json::Value;

const GRSU: Grsu = Grsu::new(env!("CARGO_BIN_EXE_grsu"));

const UNSET_KEY: &str = "GRSU_DOCTOR_TEST_SURELY_UNSET_KEY";

/// Runs `grsu doctor --config CONFIG --timeout-s 10 [extra]` off the async runtime.
async fn doctor(config: &Path, extra: &[&str]) -> Output {
    let arguments: Vec<String> = ["doctor", "--config", config.to_str().unwrap()]
        .into_iter()
        .chain(["--timeout-s", "10"])
        .chain(extra.iter().copied())
        .map(str::to_string)
        .collect();
    grsu_off_runtime(arguments).await
}

/// Runs `grsu ARGUMENTS` (logs at `warn`, [`UNSET_KEY`] unset) off the async runtime.
async fn grsu_off_runtime(arguments: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        GRSU.command()
            .args(&arguments)
            .env("GRSU_LOG", "warn")
            .env_remove(UNSET_KEY)
            .output()
            .expect("run grsu")
    })
    .await
    .unwrap()
}

/// The stdout of `output`, asserting that grsu exited with `code`.
fn stdout_after(output: &Output, code: i32) -> String {
    assert_eq!(output.status.code(), Some(code), "{}", text(output));
    String::from_utf8_lossy(&output.stdout).to_string()
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!("not JSON ({error}):\n{}", text(output));
    })
}

/// The JSON row of an endpoint (URL and model).
fn row<'a>(report: &'a Value, url: &str, model: &str) -> &'a Value {
    report["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["endpoint"] == url && row["model"] == model)
        .unwrap_or_else(|| panic!("no row for {url} {model}: {report:#}"))
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item.as_str().unwrap())
        .collect()
}

/// The table line of an endpoint (URL and model).
fn line<'a>(stdout: &'a str, url: &str, model: &str) -> &'a str {
    stdout
        .lines()
        .find(|line| line.starts_with(&format!("{url} ")) && line.contains(&format!(" {model} ")))
        .unwrap_or_else(|| panic!("no line for {url} {model}:\n{stdout}"))
}

/// A port nothing listens on.
fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}/v1")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cell_s_endpoints_are_checked_for_what_the_cells_need() {
    let root = repository_root();
    let base = DeterministicServer::start(demo_titles(&root), Duration::ZERO).await;
    let other = DeterministicServer::start(demo_titles(&root), Duration::ZERO).await;
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("out");
    let variants = format!(
        r#"
[[variant]]
name = "GRSU"

[[variant]]
name = "Other CRS"
search.strategy = "none"
models.crs.endpoints = ["{other}"]

[[variant]]
name = "Reward"
user.scorer = "discriminative"
models.reward.endpoints = ["{base}"]
models.reward.model = "det"
"#,
        other = other.url(),
        base = base.url(),
    );
    let config = write_config(folder.path(), &base.url(), &output, 2, &variants);

    // All fine: exit 0, one row per endpoint, each naming the cells using it.
    let stdout = stdout_after(&doctor(&config, &[]).await, 0);
    let base_line = line(&stdout, &base.url(), "det");
    assert!(
        base_line.contains("crs, user, critique, reward"),
        "{stdout}"
    );
    assert!(base_line.contains("all 3 cells"), "{stdout}");
    assert!(base_line.trim_end().ends_with("ok"), "{stdout}");
    let other_line = line(&stdout, &other.url(), "det");
    assert!(other_line.contains(" crs "), "{stdout}");
    assert!(other_line.contains("Other CRS"), "{stdout}");
    assert!(other_line.trim_end().ends_with("ok"), "{stdout}");
    assert!(
        stdout.lines().next().unwrap().contains("classify"),
        "{stdout}"
    );

    let report = json(&doctor(&config, &["--json"]).await);
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(report["endpoints"].as_array().unwrap().len(), 2);
    let base_row = row(&report, &base.url(), "det");
    assert_eq!(
        strings(&base_row["roles"]),
        ["crs", "user", "critique", "reward"]
    );
    assert_eq!(strings(&base_row["cells"]), ["GRSU", "Other CRS", "Reward"]);
    let uses = base_row["uses"].as_array().unwrap();
    let has_use = |cell: &str, role: &str| {
        uses.iter()
            .any(|usage| usage["cell"] == cell && usage["role"] == role)
    };
    // The CRS of "Other CRS" is elsewhere; "Reward" scores with the classifier, not the user;
    // "Other CRS" has no search, so no critique.
    assert!(has_use("GRSU", "crs") && !has_use("Other CRS", "crs"));
    assert!(has_use("Reward", "reward") && !has_use("Reward", "user"));
    assert!(has_use("Other CRS", "user") && !has_use("Other CRS", "critique"));
    let checks = &base_row["report"]["checks"];
    for capability in [
        "chat",
        "logprobs",
        "n",
        "continue_final_message",
        "classify",
    ] {
        assert_eq!(checks[capability]["status"], "supported", "{base_row:#}");
    }
    let other_row = row(&report, &other.url(), "det");
    assert_eq!(strings(&other_row["cells"]), ["Other CRS"]);
    // A CRS endpoint is not judged by the scoring mode: no logprobs probe was run on it.
    assert!(other_row["report"]["checks"].get("logprobs").is_none());
    assert!(other_row["report"]["checks"].get("chat").is_some());

    // A wrong model id, a dead server and an unset API key: each reported for its cell and
    // nothing else, the other endpoints still checked, exit 1.
    let dead = dead_url();
    let broken = format!(
        r#"{variants}
[[variant]]
name = "Wrong model"
models.crs.model = "nope"

[[variant]]
name = "Dead"
models.crs.endpoints = ["{dead}"]

[[variant]]
name = "Keyed"
models.crs.endpoints = ["{other}"]
models.crs.api_key_env = "{UNSET_KEY}"
"#,
        other = other.url(),
    );
    let config = write_config(folder.path(), &base.url(), &output, 2, &broken);
    let failing = doctor(&config, &[]).await;
    let stdout = stdout_after(&failing, 1);
    let wrong = line(&stdout, &base.url(), "nope");
    assert!(
        wrong.contains("model `nope` not listed (the server lists: det)"),
        "{stdout}"
    );
    assert!(wrong.contains("Wrong model"), "{stdout}");
    for claim in ["`n`", "ignore", "logprobs", "continue_final_message"] {
        assert!(!wrong.contains(claim), "{claim} in {wrong}");
    }
    let dead_line = line(&stdout, &dead, "det");
    assert!(dead_line.contains("unreachable: "), "{stdout}");
    assert!(dead_line.contains("Dead"), "{stdout}");
    assert!(!dead_line.contains("`n`"), "{stdout}");
    // The keyed CRS is its own endpoint (another API key variable): the unkeyed one is still ok.
    let other_lines: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with(&format!("{} ", other.url())))
        .collect();
    assert_eq!(other_lines.len(), 2, "{stdout}");
    assert!(
        other_lines
            .iter()
            .any(|line| line.trim_end().ends_with("ok")),
        "{stdout}"
    );
    assert!(
        other_lines.iter().any(|line| line.contains(&format!(
            "environment variable {UNSET_KEY} (api_key_env) is not set (crs in cell Keyed); not checked"
        ))),
        "{stdout}"
    );
    assert!(
        line(&stdout, &base.url(), "det").trim_end().ends_with("ok"),
        "{stdout}"
    );
    assert!(
        String::from_utf8_lossy(&failing.stderr).contains("3 of 5 endpoint(s)"),
        "{}",
        text(&failing)
    );

    let report = json(&doctor(&config, &["--json"]).await);
    assert_eq!(report["ok"], false);
    let wrong = row(&report, &base.url(), "nope");
    assert_eq!(wrong["ok"], false);
    assert_eq!(
        wrong["verdict"],
        "model `nope` not listed (the server lists: det)"
    );
    assert_eq!(strings(&wrong["cells"]), ["Wrong model"]);
    assert_eq!(wrong["report"]["model_listed"], false);
    assert_eq!(wrong["report"]["checks"], serde_json::json!({}));
    let dead_row = row(&report, &dead, "det");
    assert_eq!(dead_row["report"]["reachable"], false);
    assert!(dead_row["verdict"]
        .as_str()
        .unwrap()
        .starts_with("unreachable: "));
    assert_eq!(dead_row["report"]["checks"], serde_json::json!({}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_features_name_the_role_and_cells_that_need_them() {
    // A server that lists "det" and answers every chat completion with one choice and no
    // logprobs (the same body serves /v1/models and /chat/completions).
    let body = serde_json::json!({
        "object": "list",
        "data": [{"id": "det"}],
        "id": "plain",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Yes"}, "finish_reason": "stop"}],
    })
    .to_string();
    let server = ScriptedServer::start(Vec::new(), Some(Reply::Body(200, body))).await;
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("out");
    let config = write_config(folder.path(), &server.url(), &output, 2, "");

    let stdout = stdout_after(&doctor(&config, &[]).await, 1);
    let row_line = line(&stdout, &server.url(), "det");
    assert!(
        row_line.contains("no logprobs: asked for but not returned (user in cell e2e)"),
        "{stdout}"
    );
    // Ignoring `n` only costs requests: a warning, naming who asks for several answers.
    assert!(row_line.contains("warning: `n` ignored"), "{stdout}");
    assert!(row_line.contains("crs, critique in cell e2e"), "{stdout}");
    assert!(!row_line.contains("not listed") && !row_line.contains("unreachable"));

    let report = json(&doctor(&config, &["--json"]).await);
    let row = row(&report, &server.url(), "det");
    assert_eq!(row["report"]["checks"]["logprobs"]["status"], "missing");
    assert_eq!(row["report"]["checks"]["n"]["status"], "degraded");
    assert_eq!(row["report"]["checks"]["chat"]["status"], "supported");

    // The same server as the CRS only (the simulated user embedded): nothing it lacks is needed,
    // so exit 0 with the warning.
    let crs_only = write_config(folder.path(), &server.url(), &output, 2, "")
        .to_str()
        .unwrap()
        .to_string();
    let text_of_config = std::fs::read_to_string(&crs_only).unwrap().replacen(
        &format!(
            "[models.user]\nendpoints = [\"{}\"]\nmodel = \"det\"",
            server.url()
        ),
        "[models.user]",
        1,
    );
    std::fs::write(&crs_only, text_of_config).unwrap();
    let stdout = stdout_after(&doctor(Path::new(&crs_only), &[]).await, 0);
    assert!(line(&stdout, &server.url(), "det").contains("ok; warning: `n` ignored"));
    assert!(
        stdout.contains("embedded model (nothing to check over HTTP): user, critique in cell e2e"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_error_exits_2_naming_the_cell() {
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("out");
    let config = write_config(
        folder.path(),
        "http://127.0.0.1:9/v1",
        &output,
        2,
        "\n[[variant]]\nname = \"Typo\"\nserch.depth = 2\n",
    );
    let failed = doctor(&config, &[]).await;
    assert_eq!(failed.status.code(), Some(2), "{}", text(&failed));
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        stderr.contains("Typo") && stderr.contains("serch"),
        "{}",
        text(&failed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_endpoint_is_still_checked_by_the_scoring_mode() {
    let root = repository_root();
    let server = DeterministicServer::start(demo_titles(&root), Duration::ZERO).await;
    let endpoint = |model: &str| {
        let arguments: Vec<String> = [
            "doctor",
            "--endpoint",
            &server.url(),
            "--model",
            model,
            "--scoring-mode",
            "forced",
            "--timeout-s",
            "10",
        ]
        .into_iter()
        .map(str::to_string)
        .collect();
        grsu_off_runtime(arguments)
    };
    let stdout = stdout_after(&endpoint("det").await, 0);
    assert!(
        stdout.contains("can serve scoring mode   yes (forced)"),
        "{stdout}"
    );
    assert!(stdout.contains("honours n                yes"), "{stdout}");

    let stdout = stdout_after(&endpoint("nope").await, 1);
    assert!(
        stdout.contains("! model `nope` not listed (the server lists: det)"),
        "{stdout}"
    );
    assert!(!stdout.contains("ignores"), "{stdout}");
    assert!(stdout.contains("honours n                -"), "{stdout}");
}

/// A simulated vLLM replica over the demo data, scheduling by `policy`, serving the model `det`.
async fn simulated_replica(policy: sim_vllm::slots::SchedulingPolicy) -> sim_vllm::Fleet {
    let root = repository_root();
    let world = sim_vllm::World::load(
        &root.join("data/demo/movie2info.json"),
        grsu::catalog::CatalogFormat::Auto,
        Some((
            &root.join("data/demo/conversations.jsonl"),
            grsu::data::DatasetFormat::Grsu,
        )),
    )
    .unwrap();
    let mut config = sim_vllm::FleetConfig::new(std::sync::Arc::new(world));
    config.served_model_names = vec!["det".into()];
    config.capacity.time_scale = 0.002;
    config.capacity.scheduling_policy = policy;
    sim_vllm::spawn_fleet(config).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scoring_priority_needs_a_server_that_schedules_by_priority() {
    use sim_vllm::slots::SchedulingPolicy;
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("out");
    for (policy, code) in [(SchedulingPolicy::Fcfs, 1), (SchedulingPolicy::Priority, 0)] {
        let fleet = simulated_replica(policy).await;
        let url = fleet.urls()[0].clone();
        let config = write_config(folder.path(), &url, &output, 2, "");
        let text = std::fs::read_to_string(&config).unwrap().replacen(
            "[models.user]\n",
            "[models.user]\nscoring_priority = -1\n",
            1,
        );
        std::fs::write(&config, text).unwrap();
        let stdout = stdout_after(&doctor(&config, &[]).await, code);
        let endpoint = line(&stdout, &url, "det");
        if code == 1 {
            assert!(
                endpoint.contains(
                    "`[models.user] scoring_priority = -1` needs a server started with \
                     `--scheduling-policy priority`"
                ) && endpoint.contains("Priority scheduling is not enabled"),
                "{stdout}"
            );
        } else {
            assert!(!endpoint.contains("scoring_priority"), "{stdout}");
        }
        let report = json(&doctor(&config, &["--json"]).await);
        let status = &row(&report, &url, "det")["report"]["checks"]["priority"]["status"];
        assert_eq!(
            status,
            if code == 1 { "missing" } else { "supported" },
            "{report:#}"
        );
    }
}
