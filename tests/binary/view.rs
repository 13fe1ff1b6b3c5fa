//! `grsu view` over a sweep made against the in-process deterministic server, one of whose stored
//! lists was given a hostile critique and title (model text is untrusted): every route of the
//! server (status codes, the documents' shapes, 404s for anything that is not a sample's
//! position, no route that writes), the static bundle (the same documents), and a real browser
//! (headless Chromium) loading the explorer and the bundle and showing what a person would see:
//! the sample table's rows, a sample's tree with its nodes, two methods compared in order of their
//! difference, the hostile text as text. Screenshots of the pages go to
//! `target/view-screenshots/` for a person to look at.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use grsu::store::{SampleRecord, Store};
use grsu_actors::view::{router, write_bundle, ViewSource};
use grsu_test_support::{repository_root, run_to_completion, write_config, DeterministicServer};
use serde_json::Value;

/// A critique and a title that would run script if they were put into the page as markup.
const HOSTILE_CRITIQUE: &str =
    "<script>document.body.dataset.pwned = 1</script><img src=x onerror=\"document.body.dataset.pwned = 2\"> less of this";
const HOSTILE_TITLE: &str = "</title><svg onload=\"document.body.dataset.pwned = 3\">";

const SAMPLES: usize = 5;

/// A finished sweep of `SAMPLES` samples with two output strategies, one record made hostile.
async fn hostile_sweep(folder: &Path) -> PathBuf {
    let server = DeterministicServer::demo().await;
    let output = folder.join("out");
    let config = write_config(
        folder,
        &server.url(),
        &output,
        SAMPLES,
        "[output]\nstrategies = [\"reward-mean\", \"vote\"]\n",
    );
    run_to_completion(&config).await;
    let store = Store::open(&output.join("store")).unwrap();
    let record = store.records().unwrap().remove(0);
    let mut value = serde_json::to_value(&record).unwrap();
    let nodes = value["tree"]["nodes"].as_array_mut().unwrap();
    let deep = nodes
        .iter_mut()
        .find(|node| node["depth"] == 2)
        .expect("a depth-2 node");
    deep["critique"] = Value::String(HOSTILE_CRITIQUE.into());
    deep["items"][0] = Value::String(HOSTILE_TITLE.into());
    let hostile: SampleRecord = serde_json::from_value(value).unwrap();
    store.put_record(&hostile).await.unwrap();
    store.flush().unwrap();
    drop(store);
    output
}

/// What an output folder holds: every file outside the store with its bytes, and the store's
/// content (sled rewrites its own files when a store is opened, so its bytes are not compared).
fn contents(output: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut folders = vec![output.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            if entry.path() == output.join("store") {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                folders.push(entry.path());
            } else {
                files.insert(
                    entry.path().display().to_string(),
                    std::fs::read(entry.path()).unwrap(),
                );
            }
        }
    }
    let store = grsu_actors::view::source::open_store(output).unwrap();
    let stored = serde_json::json!({
        "manifest": store.manifest().unwrap(),
        "records": store.records().unwrap(),
        "failures": store.failures().unwrap(),
        "imports": store.imports().unwrap(),
        "responses": store.response_cache().unwrap().len(),
    });
    files.insert("store".into(), stored.to_string().into_bytes());
    files
}

async fn start_view(output: &Path) -> String {
    let source = ViewSource::open(output).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(source)).await });
    format!("http://{address}")
}

async fn get(client: &reqwest::Client, url: &str) -> (u16, String, String) {
    let response = client.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, kind, response.text().await.unwrap())
}

async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    let (status, kind, body) = get(client, url).await;
    assert_eq!(status, 200, "{url}: {body}");
    assert!(kind.starts_with("application/json"), "{url}: {kind}");
    serde_json::from_str(&body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_from_the_store_and_none_writes() {
    let folder = tempfile::tempdir().unwrap();
    let output = hostile_sweep(folder.path()).await;
    let records = {
        let store = Store::open(&output.join("store")).unwrap();
        store.records().unwrap()
    };
    let before = contents(&output);
    let base = start_view(&output).await;
    let client = reqwest::Client::new();

    let (status, kind, page) = get(&client, &format!("{base}/")).await;
    assert_eq!((status, kind.as_str()), (200, "text/html; charset=utf-8"));
    assert!(page.contains("data-bundle=\"0\"") && page.contains("app.js"));
    for (asset, kind) in [("app.js", "text/javascript"), ("app.css", "text/css")] {
        let (status, got, body) = get(&client, &format!("{base}/{asset}")).await;
        assert_eq!(status, 200);
        assert!(got.starts_with(kind), "{asset}: {got}");
        assert!(!body.is_empty());
    }
    // The page never turns text into markup.
    let (_, _, script) = get(&client, &format!("{base}/app.js")).await;
    for sink in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
    ] {
        assert!(!script.contains(sink), "app.js uses {sink}");
    }

    let sweep = get_json(&client, &format!("{base}/api/sweep")).await;
    let methods = sweep["report"]["methods"].as_array().unwrap();
    assert_eq!(methods.len(), 2, "{sweep}");
    assert_eq!(sweep["running"], false);
    assert_eq!(sweep["report"]["cells"][0]["done"], SAMPLES);
    let diagnostics = sweep["report"]["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics.len(), 1, "one cell");
    assert!(diagnostics[0]["all"]["scoring"]["auc"].is_object());

    let samples = get_json(&client, &format!("{base}/api/samples")).await;
    let rows = samples["rows"].as_array().unwrap();
    assert_eq!(rows.len(), SAMPLES);
    assert_eq!(samples["methods"].as_array().unwrap().len(), 2);
    let metrics = samples["metrics"].as_array().unwrap().len();
    for row in rows {
        assert_eq!(
            row["values"].as_array().unwrap().len(),
            2 * metrics,
            "{row}"
        );
        assert!(row["calls"].as_u64().unwrap() > 0);
    }

    // Each sample's page holds its record's tree, laid out, and each method's ranking.
    let mut hostile_seen = false;
    for (index, row) in rows.iter().enumerate() {
        let page = get_json(&client, &format!("{base}/api/sample/{index}")).await;
        assert_eq!(page["id"], row["id"]);
        assert!(!page["history"].as_array().unwrap().is_empty());
        let record = records
            .iter()
            .find(|record| record.sample == page["id"].as_str().unwrap())
            .unwrap();
        let search = &page["searches"][0];
        let nodes = search["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), record.tree.nodes().len());
        assert_eq!(
            search["layout"]["places"].as_array().unwrap().len(),
            nodes.len()
        );
        assert_eq!(search["rankings"].as_array().unwrap().len(), 2);
        if nodes
            .iter()
            .any(|node| node["critique"] == HOSTILE_CRITIQUE)
        {
            hostile_seen = true;
            // Kept as the text it is: the JSON carries it, the page shows it as text.
            assert!(nodes.iter().any(|node| node["items"][0] == HOSTILE_TITLE));
        }
        // Every request of a node can be opened: its raw answers are in the response cache.
        // And its prompt, rebuilt by replaying the search from the cache: the request whose
        // key found that answer, holding the conversation.
        let document = get_json(&client, &format!("{base}/api/answers/{index}")).await;
        assert_eq!(
            document["prompt_notes"],
            serde_json::json!([]),
            "{}",
            document["prompt_notes"]
        );
        let answers = document["answers"].as_object().unwrap();
        let prompts = document["prompts"].as_object().unwrap();
        let opening = page["history"][0]["text"].as_str().unwrap();
        for node in nodes {
            for request in node["requests"].as_array().unwrap() {
                for key in request[1]["keys"].as_array().unwrap() {
                    let key = key.as_str().unwrap();
                    let answer = &answers[key];
                    assert!(answer["choices"].is_array(), "{key}: {answer}");
                    let prompt = prompts[key]["messages"][0]["content"].as_str().unwrap();
                    assert!(prompt.contains(opening), "{key}: {prompt}");
                }
            }
        }
        assert_eq!(prompts.len(), answers.len());
    }
    assert!(hostile_seen);

    // Anything that is not a sample's position is a 404, with a JSON error.
    for path in [
        "/api/sample/99",
        "/api/sample/-1",
        "/api/sample/..",
        "/api/sample/..%2F..%2Fstore",
        "/api/sample/a/b",
        "/api/sample/%2e%2e",
        "/api/answers/..",
        "/api/answers/99",
        "/store/db",
        "/../store/db",
        "/api/nothing",
    ] {
        let (status, kind, body) = get(&client, &format!("{base}{path}")).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(kind.starts_with("application/json"), "{path}: {kind}");
        assert!(serde_json::from_str::<Value>(&body).unwrap()["error"].is_string());
    }
    // No route writes.
    for path in ["/api/sweep", "/api/samples", "/api/sample/0", "/"] {
        let status = client
            .post(format!("{base}{path}"))
            .body("{}")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        assert_eq!(status, 405, "POST {path}");
        let status = client
            .delete(format!("{base}{path}"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        assert_eq!(status, 405, "DELETE {path}");
    }
    let after = contents(&output);
    let changed: Vec<&String> = before
        .keys()
        .chain(after.keys())
        .filter(|path| before.get(*path) != after.get(*path))
        .collect();
    assert!(changed.is_empty(), "the view changed {changed:?}");

    // While a run holds the store, the documents already read stay, and the raw answers say why
    // they cannot be read.
    let held = grsu_actors::view::source::open_store(&output).unwrap();
    let (status, _, body) = get(&client, &format!("{base}/api/answers/0")).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("a run holds the store"), "{body}");
    let samples_held = get_json(&client, &format!("{base}/api/samples")).await;
    assert_eq!(samples_held["rows"].as_array().unwrap().len(), SAMPLES);
    // The sweep page follows the run's progress.json.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let progress = |done: u64, finished: bool| {
        let snapshot = serde_json::json!({
            "pid": 1, "updated_unix": now, "elapsed_s": 12.5, "total": 40, "done": done,
            "failed": 1, "skipped": 5, "roles": {"crs": {"calls": 9, "cache_hits": 0, "errors": 0, "tokens": 99}},
            "finished": finished,
        });
        std::fs::write(output.join("progress.json"), snapshot.to_string()).unwrap();
    };
    progress(17, false);
    let sweep = get_json(&client, &format!("{base}/api/sweep")).await;
    assert_eq!(sweep["running"], true, "{sweep}");
    assert_eq!(sweep["progress"]["done"], 17);
    progress(18, false);
    let sweep = get_json(&client, &format!("{base}/api/sweep")).await;
    assert_eq!(sweep["progress"]["done"], 18);
    drop(held);
    progress(40, true);
    tokio::time::sleep(grsu_actors::view::source::CHECK_INTERVAL).await;
    let sweep = get_json(&client, &format!("{base}/api/sweep")).await;
    assert_eq!(sweep["running"], false, "{sweep}");
    assert_eq!(sweep["report"]["methods"].as_array().unwrap().len(), 2);
}

/// The JSON a bundle's data file hands to the page.
fn bundled(folder: &Path, file: &str) -> Value {
    let text = std::fs::read_to_string(folder.join("data").join(file)).unwrap();
    let start = text.find(", ").unwrap() + 2;
    let end = text.rfind(");").unwrap();
    serde_json::from_str(&text[start..end]).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_holds_the_same_documents_as_the_server() {
    let folder = tempfile::tempdir().unwrap();
    let output = hostile_sweep(folder.path()).await;
    let bundle = folder.path().join("bundle");
    let counts = write_bundle(&output, &bundle).unwrap();
    assert_eq!(counts.samples, SAMPLES);
    let index = std::fs::read_to_string(bundle.join("index.html")).unwrap();
    assert!(index.contains("data-bundle=\"1\""));
    let source = ViewSource::open(&output).unwrap();
    let samples: Value = serde_json::from_str(&source.samples_document().unwrap()).unwrap();
    assert_eq!(bundled(&bundle, "samples.js"), samples);
    // Through text, as the server sends them (a float read back from text is the same on both
    // sides).
    let as_sent =
        |document: Value| -> Value { serde_json::from_str(&document.to_string()).unwrap() };
    for sample in 0..SAMPLES {
        assert_eq!(
            bundled(&bundle, &format!("sample-{sample}.js")),
            as_sent(source.sample_document(sample).unwrap())
        );
        assert_eq!(
            bundled(&bundle, &format!("answers-{sample}.js")),
            as_sent(source.answers_document(sample).unwrap())
        );
    }
    assert_eq!(
        bundled(&bundle, "sweep.js")["report"],
        as_sent(source.sweep_document())["report"]
    );
}

// ---- a real browser -------------------------------------------------------------------------

/// Debian's Chromium (`apt-get install chromium`; `.ci/run` installs it).
fn chromium() -> PathBuf {
    for candidate in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(candidate).exists() {
            return PathBuf::from(candidate);
        }
    }
    panic!("headless Chromium is needed for this test: apt-get install chromium");
}

/// Chromium's flags for a closed machine: headless, no sandbox (root), no background traffic.
fn browser(profile: &Path) -> Command {
    let mut command = Command::new(chromium());
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        // Let the page's script load its documents before the DOM is read.
        "--virtual-time-budget=15000",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    command
}

/// The DOM of `url` once its script has run.
fn rendered(profile: &Path, url: &str) -> String {
    let output = browser(profile)
        .arg("--dump-dom")
        .arg(url)
        .output()
        .expect("chromium runs");
    assert!(
        output.status.success(),
        "chromium {url}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn screenshot(profile: &Path, url: &str, file: &Path, height: u32) {
    let output = browser(profile)
        .arg(format!("--screenshot={}", file.display()))
        .arg(format!("--window-size=1400,{height}"))
        .arg(url)
        .output()
        .expect("chromium runs");
    assert!(output.status.success() && file.exists(), "screenshot {url}");
}

/// The text of the `<tbody>` rows' `data-index` attributes inside the element with id `table`.
fn row_indices(dom: &str, table: &str) -> Vec<usize> {
    let start = dom
        .find(&format!("id=\"{table}\""))
        .unwrap_or_else(|| panic!("no #{table} in {dom}"));
    let end = dom[start..].find("</table>").unwrap() + start;
    dom[start..end]
        .match_indices("<tr data-index=\"")
        .map(|(at, found)| {
            let rest = &dom[start + at + found.len()..];
            rest[..rest.find('"').unwrap()].parse().unwrap()
        })
        .collect()
}

fn count(dom: &str, needle: &str) -> usize {
    dom.matches(needle).count()
}

/// The sample, node and item count of the list given the hostile critique.
fn hostile_node(pages: &[Value]) -> (usize, u64, usize) {
    for (sample, page) in pages.iter().enumerate() {
        for node in page["searches"][0]["nodes"].as_array().unwrap() {
            if node["critique"] == HOSTILE_CRITIQUE {
                let items = node["items"].as_array().unwrap().len();
                return (sample, node["id"].as_u64().unwrap(), items);
            }
        }
    }
    panic!("no hostile node");
}

/// What a person sees of `base` (the server or the bundle's `index.html`).
fn check_pages(
    profile: &Path,
    base: &str,
    samples: &Value,
    samples_pages: &[Value],
    screenshots: Option<&Path>,
) {
    let sweep = rendered(profile, &format!("{base}#/"));
    assert!(sweep.contains("id=\"methods\""), "{sweep}");
    // The diagnostics: a row per cell in each table, AUC shown.
    for table in [
        "diagnostics-scoring",
        "diagnostics-critiques",
        "diagnostics-crs",
        "diagnostics-search",
    ] {
        let start = sweep
            .find(&format!("id=\"{table}\""))
            .unwrap_or_else(|| panic!("no #{table}"));
        let end = sweep[start..].find("</table>").unwrap() + start;
        assert_eq!(
            count(&sweep[start..end], "<tr>"),
            2,
            "{table}: a head row and one cell"
        );
    }
    assert_eq!(count(&sweep, "data-pwned"), 0);

    let table = rendered(profile, &format!("{base}#/samples"));
    assert_eq!(row_indices(&table, "samples").len(), SAMPLES, "{table}");
    assert!(table.contains(&format!("{SAMPLES} of {SAMPLES} samples")));

    // The comparison lists the paired samples by A − B, largest first.
    let compare = rendered(profile, &format!("{base}#/compare?a=0&b=1&metric=1"));
    let order = row_indices(&compare, "comparison");
    let rows = samples["rows"].as_array().unwrap();
    let metrics = samples["metrics"].as_array().unwrap().len();
    let value =
        |row: usize, method: usize| rows[row]["values"][method * metrics + 1].as_f64().unwrap();
    let mut expected: Vec<usize> = (0..rows.len()).collect();
    expected.sort_by(|&x, &y| {
        (value(y, 0) - value(y, 1))
            .total_cmp(&(value(x, 0) - value(x, 1)))
            .then(x.cmp(&y))
    });
    assert_eq!(order, expected, "{compare}");

    // Each sample's tree has one box per list of its first search, and the hostile text is text.
    for sample in 0..SAMPLES {
        let dom = rendered(profile, &format!("{base}#/sample/{sample}"));
        assert!(dom.contains("id=\"tree\""), "{dom}");
        assert_eq!(count(&dom, "data-pwned"), 0, "{dom}");
        assert!(!dom.contains("<img"), "markup from the store: {dom}");
        assert!(!dom.contains("<script>document"), "markup from the store");
        if dom.contains("less of this") {
            assert!(dom.contains("&lt;script&gt;document.body.dataset.pwned"));
        }
    }
    // A list opened from the tree: its items with their scores, label items marked, and the
    // critique that produced it, as text.
    let (sample, node, items) = hostile_node(samples_pages);
    let dom = rendered(profile, &format!("{base}#/sample/{sample}?node={node}"));
    let detail_start = dom.find("id=\"node-detail\"").expect("the node's detail");
    let detail = &dom[detail_start..];
    assert!(
        detail
            .contains("&lt;script&gt;document.body.dataset.pwned = 1&lt;/script&gt;&lt;img src=x"),
        "{detail}"
    );
    assert!(detail.contains("&lt;/title&gt;&lt;svg onload="));
    let list_end = detail.find("</ol>").unwrap();
    assert_eq!(count(&detail[..list_end], "<li"), items);
    assert_eq!(count(&dom, "data-pwned"), 0);
    if let Some(folder) = screenshots {
        screenshot(
            profile,
            &format!("{base}#/sample/{sample}?node={node}"),
            &folder.join("sample-node.png"),
            1600,
        );
        for (name, route, height) in [
            ("sweep", "#/", 900),
            ("samples", "#/samples", 900),
            ("compare", "#/compare?a=0&b=1&metric=1", 900),
            ("sample", "#/sample/0", 1600),
        ] {
            screenshot(
                profile,
                &format!("{base}{route}"),
                &folder.join(format!("{name}.png")),
                height,
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_shows_the_samples_the_trees_and_the_comparison() {
    let folder = tempfile::tempdir().unwrap();
    let output = hostile_sweep(folder.path()).await;
    let source: Arc<ViewSource> = ViewSource::open(&output).unwrap();
    let samples: Value = serde_json::from_str(&source.samples_document().unwrap()).unwrap();
    let pages: Vec<Value> = (0..SAMPLES)
        .map(|sample| source.sample_document(sample).unwrap())
        .collect();
    let trees: Vec<usize> = pages
        .iter()
        .map(|page| page["searches"][0]["nodes"].as_array().unwrap().len())
        .collect();
    let base = start_view(&output).await;
    let profile = tempfile::tempdir().unwrap();
    let screenshots = repository_root().join("target/view-screenshots");
    std::fs::create_dir_all(&screenshots).unwrap();
    let server_profile = profile.path().to_path_buf();
    let server_base = format!("{base}/");
    let server_samples = samples.clone();
    let server_pages = pages.clone();
    let server_shots = screenshots.join("server");
    std::fs::create_dir_all(&server_shots).unwrap();
    tokio::task::spawn_blocking(move || {
        check_pages(
            &server_profile,
            &server_base,
            &server_samples,
            &server_pages,
            Some(&server_shots),
        )
    })
    .await
    .unwrap();

    // The tree of each sample has one node element per list.
    for (sample, nodes) in trees.iter().enumerate() {
        let profile = profile.path().to_path_buf();
        let url = format!("{base}/#/sample/{sample}");
        let dom = tokio::task::spawn_blocking(move || rendered(&profile, &url))
            .await
            .unwrap();
        assert_eq!(count(&dom, "data-node=\""), *nodes, "sample {sample}");
    }

    // The bundle, from file://, shows the same.
    let bundle = folder.path().join("bundle");
    write_bundle(&output, &bundle).unwrap();
    let file_base = format!("file://{}", bundle.join("index.html").display());
    let bundle_profile = profile.path().to_path_buf();
    let bundle_shots = screenshots.join("bundle");
    std::fs::create_dir_all(&bundle_shots).unwrap();
    tokio::task::spawn_blocking(move || {
        check_pages(
            &bundle_profile,
            &file_base,
            &samples,
            &pages,
            Some(&bundle_shots),
        )
    })
    .await
    .unwrap();
}

// ---- the command ----------------------------------------------------------------------------

const GRSU: grsu_test_support::Grsu = grsu_test_support::Grsu::new(env!("CARGO_BIN_EXE_grsu"));

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_names_what_is_wrong_and_prints_where_it_serves() {
    let folder = tempfile::tempdir().unwrap();
    // No sweep there: a bad-input exit naming the folder.
    let nothing = folder.path().join("nothing");
    let output = GRSU.output(&["view", nothing.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("holds no sweep"), "{stderr}");

    // A port already taken: said so, with the way out.
    let sweep = hostile_sweep(folder.path()).await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let output = GRSU.output(&["view", sweep.to_str().unwrap(), "--port", &port]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot listen") && stderr.contains("--port"),
        "{stderr}"
    );

    // Served: the URL it prints answers.
    let mut child = GRSU
        .command()
        .args(["view", sweep.to_str().unwrap(), "--port", "0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let url = line
        .split_whitespace()
        .find(|word| word.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no URL in {line}"))
        .to_string();
    let sweep_document = get_json(&reqwest::Client::new(), &format!("{url}api/sweep")).await;
    assert_eq!(
        sweep_document["report"]["methods"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    child.kill().unwrap();
    child.wait().unwrap();

    // A bundle from the command line.
    let bundle = folder.path().join("bundle");
    let output = GRSU.output(&[
        "view",
        sweep.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
    ]);
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("index.html"));
    assert!(bundle.join("data/samples.js").is_file());
}
