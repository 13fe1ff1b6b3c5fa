//! `grsu data fetch` against an in-process HTTP server on 127.0.0.1 (never the network): the
//! shared ReDial and INSPIRED files through `GRSU_DATA_MIRROR` with the built-in table, and, with a
//! replacement table (`--sources`), a truncated and a corrupted copy, a 404, connections that drop
//! mid-file, a server that ignores ranges, a file checked by format only; `--from` with a local
//! folder; and second runs that transfer nothing. Every file lands verified, or the command fails
//! naming the file and leaves nothing at its final path.

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use grsu_test_support::shared_data;

// ---------------------------------------------------------------------------------------------
// The server.

/// How the server serves one path.
#[derive(Clone)]
struct Served {
    body: Vec<u8>,
    /// Answer `Range: bytes=N-` with 206 and the rest; otherwise always 200 and the whole body.
    honour_range: bool,
    /// For the next requests, one entry each: send the head (with the full length) and this many
    /// body bytes, then close the connection.
    drops: VecDeque<usize>,
}

impl Served {
    fn file(body: Vec<u8>) -> Self {
        Served {
            body,
            honour_range: true,
            drops: VecDeque::new(),
        }
    }
}

/// (path, Range header) of every request a server received.
type RequestLog = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A blocking HTTP/1.1 server on a thread; every connection answers one request and closes.
struct Server {
    base: String,
    files: Arc<Mutex<HashMap<String, Served>>>,
    requests: RequestLog,
}

impl Server {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let files: Arc<Mutex<HashMap<String, Served>>> = Arc::default();
        let requests: RequestLog = Arc::default();
        let (shared_files, shared_requests) = (files.clone(), requests.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (files, requests) = (shared_files.clone(), shared_requests.clone());
                std::thread::spawn(move || serve(stream, &files, &requests));
            }
        });
        Server {
            base,
            files,
            requests,
        }
    }

    fn put(&self, path: &str, served: Served) {
        self.files.lock().unwrap().insert(path.to_string(), served);
    }

    /// Serves every file of a folder under `/<dataset>/<file>`.
    fn serve_folder(&self, folder: &Path) {
        for dataset in std::fs::read_dir(folder).unwrap() {
            let dataset = dataset.unwrap().path();
            if !dataset.is_dir() {
                continue;
            }
            for file in std::fs::read_dir(&dataset).unwrap() {
                let file = file.unwrap().path();
                let path = format!(
                    "/{}/{}",
                    dataset.file_name().unwrap().to_string_lossy(),
                    file.file_name().unwrap().to_string_lossy()
                );
                self.put(&path, Served::file(std::fs::read(&file).unwrap()));
            }
        }
    }

    fn requests(&self) -> Vec<(String, Option<String>)> {
        self.requests.lock().unwrap().clone()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

fn serve(
    mut stream: TcpStream,
    files: &Mutex<HashMap<String, Served>>,
    requests: &Mutex<Vec<(String, Option<String>)>>,
) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
    let range = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("range")
            .then(|| value.trim().to_string())
    });
    requests.lock().unwrap().push((path.clone(), range.clone()));
    let (served, drop_after) = {
        let mut files = files.lock().unwrap();
        match files.get_mut(&path) {
            Some(served) => {
                let drop_after = served.drops.pop_front();
                (Some(served.clone()), drop_after)
            }
            None => (None, None),
        }
    };
    let Some(served) = served else {
        let _ = stream.write_all(
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 9\r\nconnection: close\r\n\r\nnot found",
        );
        return;
    };
    let length = served.body.len();
    let start = range
        .as_deref()
        .filter(|_| served.honour_range)
        .and_then(|range| range.strip_prefix("bytes="))
        .and_then(|range| range.trim_end_matches('-').parse::<usize>().ok());
    let (status, start, extra) = match start {
        Some(start) if start >= length => {
            let _ = stream.write_all(
                format!("HTTP/1.1 416 Range Not Satisfiable\r\ncontent-range: bytes */{length}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .as_bytes(),
            );
            return;
        }
        Some(start) => (
            "206 Partial Content",
            start,
            format!("content-range: bytes {start}-{}/{length}\r\n", length - 1),
        ),
        None => ("200 OK", 0, String::new()),
    };
    let body = &served.body[start..];
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/octet-stream\r\ncontent-length: {}\r\n{extra}connection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let sent = drop_after.map_or(body.len(), |limit| limit.min(body.len()));
    let _ = stream.write_all(&body[..sent]);
    let _ = stream.flush();
    if drop_after.is_some() {
        let _ = stream.shutdown(std::net::Shutdown::Both);
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers.

fn grsu(arguments: &[&str], environment: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_grsu"));
    command
        .args(arguments)
        .env_remove("GRSU_DATA")
        .env_remove("GRSU_DATA_MIRROR")
        .env("GRSU_LOG", "info");
    // The server is on 127.0.0.1: a proxy of the machine running the tests must not see it.
    for proxy in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        command.env_remove(proxy);
    }
    for (name, value) in environment {
        command.env(name, value);
    }
    command.output().expect("run grsu")
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

fn succeeded(output: &Output) -> String {
    let (stdout, stderr) = text(output);
    assert!(
        output.status.success(),
        "grsu failed ({:?}):\n{stdout}\n{stderr}",
        output.status.code()
    );
    stdout
}

fn sha256_of(bytes: &[u8]) -> (u64, String) {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("bytes");
    std::fs::write(&path, bytes).unwrap();
    grsu::data::fetch::hash_file(&path).unwrap()
}

/// A synthetic movie2info catalog of about `items` films (a few hundred KB for 2,000).
fn catalog_bytes(items: usize) -> Vec<u8> {
    let mut catalog = serde_json::Map::new();
    for index in 0..items {
        catalog.insert(
            format!("Film number {index} ({})", 1950 + index % 70),
            serde_json::json!({
                "genre": ["Drama", "Comedy"],
                "star": [format!("Actor {index}"), format!("Actress {index}")],
                "director": [format!("Director {}", index % 97)],
                "writer": [format!("Writer {}", index % 89)],
                "plot": format!("Film {index} is about a person who does something {index} times."),
            }),
        );
    }
    serde_json::to_vec(&catalog).unwrap()
}

/// One row of a replacement table.
struct Row<'a> {
    dataset: &'a str,
    file: &'a str,
    url: String,
    /// Checksum and size; `None`: a size bound of `min_size` and a format check.
    checksum: Option<(u64, String)>,
    min_size: u64,
    role: &'a str,
}

fn write_table(folder: &Path, rows: &[Row<'_>]) -> PathBuf {
    let mut table = String::new();
    for row in rows {
        table.push_str(&format!(
            "[[source]]\ndataset = \"{}\"\nfile = \"{}\"\nurl = \"{}\"\nrole = {}\n",
            row.dataset, row.file, row.url, row.role
        ));
        match &row.checksum {
            Some((size, sha256)) => {
                table.push_str(&format!("size = {size}\nsha256 = \"{sha256}\"\n\n"))
            }
            None => table.push_str(&format!("min_size = {}\n\n", row.min_size)),
        }
    }
    let path = folder.join("sources.toml");
    std::fs::write(&path, table).unwrap();
    path
}

const CATALOG_ROLE: &str = "{ kind = \"catalog\", format = \"movie2info\" }";

/// A table of one checksummed catalog file served at `/films/movie2info.json`.
fn one_file_table(folder: &Path, server: &Server, bytes: &[u8]) -> PathBuf {
    write_table(
        folder,
        &[Row {
            dataset: "films",
            file: "movie2info.json",
            url: server.url("/films/movie2info.json"),
            checksum: Some(sha256_of(bytes)),
            min_size: 0,
            role: CATALOG_ROLE,
        }],
    )
}

fn fetch_with_table(table: &Path, to: &Path, extra: &[&str]) -> Output {
    let (table, to) = (table.display().to_string(), to.display().to_string());
    let mut arguments = vec![
        "data",
        "fetch",
        "films",
        "--sources",
        &table,
        "--to",
        &to,
        "--retry-delay-ms",
        "1",
    ];
    arguments.extend_from_slice(extra);
    grsu(&arguments, &[])
}

/// Nothing at the final path and no partial file either.
fn assert_nothing_left(to: &Path, relative: &str) {
    let target = to.join(relative);
    assert!(!target.exists(), "{} was left in place", target.display());
    let partial = to.join(format!("{relative}.partial"));
    assert!(!partial.exists(), "{} was left", partial.display());
}

// ---------------------------------------------------------------------------------------------
// The built-in table, through a mirror and from a folder.

#[test]
fn a_mirror_of_the_shared_data_gives_every_redial_file_and_a_second_run_downloads_nothing() {
    let Some(shared) = shared_data() else {
        return;
    };
    let server = Server::start();
    server.serve_folder(&shared);
    let to = tempfile::tempdir().unwrap();
    let target = to.path().join("data");
    let target_text = target.display().to_string();
    let output = grsu(
        &["data", "fetch", "redial", "--to", &target_text],
        &[("GRSU_DATA_MIRROR", &server.base)],
    );
    let stdout = succeeded(&output);
    for file in [
        "test_data_processed.jsonl",
        "valid_data_processed.jsonl",
        "id2info.json",
    ] {
        let relative = format!("redial/{file}");
        assert_eq!(
            std::fs::read(target.join(&relative)).unwrap(),
            std::fs::read(shared.join(&relative)).unwrap(),
            "{relative}"
        );
        assert!(
            stdout.contains(&format!("{}", target.join(&relative).display())),
            "{stdout}"
        );
        assert!(!target.join(format!("{relative}.partial")).exists());
    }
    assert_eq!(stdout.matches("  downloaded, ").count(), 3, "{stdout}");
    assert_eq!(stdout.matches("sha256 verified").count(), 3, "{stdout}");
    assert!(
        stdout.contains(
            "stats redial/test_data_processed.jsonl (ievalm, catalog redial/id2info.json (6576 items), only new): 1318 conversations (1296 with samples), 2924 samples, 3805 labels"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("GRSU_DATA={target_text}")),
        "{stdout}"
    );
    assert_eq!(server.requests().len(), 3);

    // GRSU_DATA is the default target; every file is there and verified: nothing is asked for.
    let again = grsu(
        &["data", "fetch", "redial"],
        &[
            ("GRSU_DATA_MIRROR", &server.base),
            ("GRSU_DATA", &target_text),
        ],
    );
    let stdout = succeeded(&again);
    assert!(
        stdout.contains(&format!(
            "nothing to download: every file is present and verified in {target_text}"
        )),
        "{stdout}"
    );
    assert_eq!(stdout.matches("  present, ").count(), 3, "{stdout}");
    assert!(stdout.contains("2924 samples, 3805 labels"), "{stdout}");
    assert_eq!(server.requests().len(), 3, "the second run made requests");
}

#[test]
fn all_through_a_mirror_without_the_inspired_catalog_fails_for_that_file_alone() {
    let Some(shared) = shared_data() else {
        return;
    };
    if shared.join("inspired/movie2info.json").is_file() {
        eprintln!("skipping: the shared data has the INSPIRED catalog, so nothing answers 404");
        return;
    }
    let server = Server::start();
    server.serve_folder(&shared);
    let to = tempfile::tempdir().unwrap();
    let target = to.path().display().to_string();
    let output = grsu(
        &[
            "data",
            "fetch",
            "all",
            "--to",
            &target,
            "--mirror",
            &server.base,
        ],
        &[],
    );
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    let url = server.url("/inspired/movie2info.json");
    assert!(
        stderr.contains(&format!(
            "inspired/movie2info.json: http 404 not found (from {url})"
        )),
        "{stderr}"
    );
    assert!(stdout.contains("5 of 6 files in place"), "{stdout}");
    assert_nothing_left(to.path(), "inspired/movie2info.json");
    for relative in ["inspired/test_data_processed.jsonl", "inspired/test.tsv"] {
        assert_eq!(
            std::fs::read(to.path().join(relative)).unwrap(),
            std::fs::read(shared.join(relative)).unwrap()
        );
    }
    // INSPIRED's stats are printed anyway, without its catalog, and say why.
    assert!(
        stdout.contains("stats inspired/test.tsv (inspired-tsv, no catalog: inspired/movie2info.json is missing, only new): 99 conversations"),
        "{stdout}"
    );
}

#[test]
fn a_local_folder_is_copied_in_the_layout_or_flat() {
    let Some(shared) = shared_data() else {
        return;
    };
    let to = tempfile::tempdir().unwrap();
    let target = to.path().join("nested").display().to_string();
    let shared_text = shared.display().to_string();
    // `grsu data fetch DATASET --from FROM --to TO`.
    let fetch_from = |dataset: &str, from: &str, into: &str| {
        grsu(
            &["data", "fetch", dataset, "--from", from, "--to", into],
            &[],
        )
    };
    let output = fetch_from("redial", &shared_text, &target);
    let stdout = succeeded(&output);
    assert_eq!(stdout.matches("copied from ").count(), 3, "{stdout}");
    assert!(stdout.contains("2924 samples, 3805 labels"), "{stdout}");
    let again = fetch_from("redial", &shared_text, &target);
    assert!(
        succeeded(&again).contains("nothing to copy: every file is present and verified"),
        "a second copy"
    );

    // The same files flat in one folder.
    let flat = tempfile::tempdir().unwrap();
    for file in [
        "test_data_processed.jsonl",
        "valid_data_processed.jsonl",
        "id2info.json",
    ] {
        std::fs::copy(shared.join("redial").join(file), flat.path().join(file)).unwrap();
    }
    let flat_target = to.path().join("flat").display().to_string();
    let output = fetch_from("redial", &flat.path().display().to_string(), &flat_target);
    succeeded(&output);
    assert_eq!(
        std::fs::read(to.path().join("flat/redial/id2info.json")).unwrap(),
        std::fs::read(shared.join("redial/id2info.json")).unwrap()
    );

    // A flat folder holding ReDial's test split where INSPIRED's is expected: a checksum error
    // naming both, exit code 2 (bad input), nothing copied.
    let output = fetch_from("inspired", &flat.path().display().to_string(), &flat_target);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("inspired/test_data_processed.jsonl: ")
            && stderr.contains("is not the file of the table: size mismatch"),
        "{stderr}"
    );
    assert!(
        stderr.contains("inspired/test.tsv: not found in "),
        "{stderr}"
    );
    assert_nothing_left(
        &to.path().join("flat"),
        "inspired/test_data_processed.jsonl",
    );
}

#[test]
fn an_unknown_dataset_is_bad_input() {
    let output = grsu(&["data", "fetch", "movielens", "--to", "/nonexistent"], &[]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("unknown dataset `movielens`; expected one of: redial, inspired, all"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// Failures, with a replacement table and synthetic files (no shared data needed).

#[test]
fn a_truncated_copy_is_an_error_naming_the_file_and_nothing_is_left() {
    let server = Server::start();
    let bytes = catalog_bytes(2_000);
    server.put(
        "/films/movie2info.json",
        Served::file(bytes[..bytes.len() / 2].to_vec()),
    );
    let folder = tempfile::tempdir().unwrap();
    let table = one_file_table(folder.path(), &server, &bytes);
    let output = fetch_with_table(&table, &folder.path().join("data"), &[]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!(
            "films/movie2info.json: size mismatch: {} bytes, expected {}",
            bytes.len() / 2,
            bytes.len()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("the download was removed"), "{stderr}");
    assert!(
        stderr.contains(&server.url("/films/movie2info.json")),
        "{stderr}"
    );
    assert_nothing_left(&folder.path().join("data"), "films/movie2info.json");
}

#[test]
fn a_corrupted_copy_is_a_checksum_error_naming_the_file_and_nothing_is_left() {
    let server = Server::start();
    let bytes = catalog_bytes(2_000);
    let mut corrupted = bytes.clone();
    let middle = corrupted.len() / 2;
    corrupted[middle] ^= 0x20;
    server.put("/films/movie2info.json", Served::file(corrupted));
    let folder = tempfile::tempdir().unwrap();
    let table = one_file_table(folder.path(), &server, &bytes);
    let output = fetch_with_table(&table, &folder.path().join("data"), &[]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    let (_, expected) = sha256_of(&bytes);
    assert!(
        stderr.contains("films/movie2info.json: checksum mismatch: sha256 ")
            && stderr.contains(&format!("expected {expected}")),
        "{stderr}"
    );
    assert!(
        stdout.contains("films/movie2info.json  FAILED: checksum mismatch"),
        "{stdout}"
    );
    assert_nothing_left(&folder.path().join("data"), "films/movie2info.json");
}

#[test]
fn a_404_is_a_clear_error() {
    let server = Server::start();
    let folder = tempfile::tempdir().unwrap();
    let table = one_file_table(folder.path(), &server, b"whatever");
    let output = fetch_with_table(&table, &folder.path().join("data"), &[]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!(
            "films/movie2info.json: http 404 not found (from {})",
            server.url("/films/movie2info.json")
        )),
        "{stderr}"
    );
    // A client error is not retried.
    assert_eq!(server.requests().len(), 1);
    assert_nothing_left(&folder.path().join("data"), "films/movie2info.json");
}

#[test]
fn a_connection_dropped_mid_file_is_resumed_with_a_range_request() {
    let server = Server::start();
    let bytes = catalog_bytes(2_000);
    let mut served = Served::file(bytes.clone());
    served.drops = VecDeque::from([100_000, 50_000]);
    server.put("/films/movie2info.json", served);
    let folder = tempfile::tempdir().unwrap();
    let table = one_file_table(folder.path(), &server, &bytes);
    let output = fetch_with_table(&table, &folder.path().join("data"), &[]);
    let stdout = succeeded(&output);
    let (_, stderr) = text(&output);
    assert_eq!(
        std::fs::read(folder.path().join("data/films/movie2info.json")).unwrap(),
        bytes
    );
    let ranges: Vec<Option<String>> = server.requests().into_iter().map(|(_, r)| r).collect();
    assert_eq!(
        ranges,
        [
            None,
            Some("bytes=100000-".to_string()),
            Some("bytes=150000-".to_string())
        ]
    );
    assert!(
        stderr.contains("connection dropped after 100000 bytes"),
        "{stderr}"
    );
    assert!(stdout.contains("downloaded, "), "{stdout}");
    assert!(!folder
        .path()
        .join("data/films/movie2info.json.partial")
        .exists());
}

#[test]
fn a_server_that_ignores_ranges_is_downloaded_again_from_the_start() {
    let server = Server::start();
    let bytes = catalog_bytes(2_000);
    let mut served = Served::file(bytes.clone());
    served.honour_range = false;
    served.drops = VecDeque::from([70_000]);
    server.put("/films/movie2info.json", served);
    let folder = tempfile::tempdir().unwrap();
    let table = one_file_table(folder.path(), &server, &bytes);
    let output = fetch_with_table(&table, &folder.path().join("data"), &[]);
    succeeded(&output);
    let (_, stderr) = text(&output);
    assert!(
        stderr.contains("the server does not resume downloads; starting over from 0"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(folder.path().join("data/films/movie2info.json")).unwrap(),
        bytes
    );
}

#[test]
fn a_connection_that_keeps_dropping_fails_clearly_and_the_next_run_resumes() {
    let server = Server::start();
    let bytes = catalog_bytes(2_000);
    let mut served = Served::file(bytes.clone());
    // 1,000 bytes, then connections that bring nothing: three attempts without progress.
    served.drops = VecDeque::from([1_000, 0, 0, 0]);
    server.put("/films/movie2info.json", served);
    let folder = tempfile::tempdir().unwrap();
    let data = folder.path().join("data");
    let table = one_file_table(folder.path(), &server, &bytes);
    let output = fetch_with_table(&table, &data, &["--attempts", "3"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("films/movie2info.json: connection dropped after 1000 bytes; gave up after 3 attempts; what arrived is kept in "),
        "{stderr}"
    );
    assert!(!data.join("films/movie2info.json").exists());
    let partial = data.join("films/movie2info.json.partial");
    assert_eq!(std::fs::read(&partial).unwrap(), &bytes[..1_000]);

    // The server has recovered (one drop left, then whole answers): the next run resumes.
    let output = fetch_with_table(&table, &data, &[]);
    let stdout = succeeded(&output);
    assert_eq!(
        std::fs::read(data.join("films/movie2info.json")).unwrap(),
        bytes
    );
    assert!(!partial.exists());
    assert!(
        stdout.contains("downloaded (resumed at 1000 bytes)"),
        "{stdout}"
    );
    let ranges: Vec<Option<String>> = server.requests().into_iter().map(|(_, r)| r).collect();
    assert_eq!(ranges[0], None);
    assert!(
        ranges[1..]
            .iter()
            .all(|range| range.as_deref() == Some("bytes=1000-")),
        "{ranges:?}"
    );
}

#[test]
fn a_file_without_a_checksum_is_checked_by_size_and_format() {
    let server = Server::start();
    let bytes = catalog_bytes(2_000);
    server.put("/films/movie2info.json", Served::file(bytes.clone()));
    server.put(
        "/films/broken.json",
        Served::file(bytes[..bytes.len() - 10].to_vec()),
    );
    let folder = tempfile::tempdir().unwrap();
    let data = folder.path().join("data");
    let rows = [
        Row {
            dataset: "films",
            file: "movie2info.json",
            url: server.url("/films/movie2info.json"),
            checksum: None,
            min_size: 1_000,
            role: CATALOG_ROLE,
        },
        Row {
            dataset: "films",
            file: "broken.json",
            url: server.url("/films/broken.json"),
            checksum: None,
            min_size: 1_000,
            role: CATALOG_ROLE,
        },
    ];
    let table = write_table(folder.path(), &rows);
    let output = fetch_with_table(&table, &data, &[]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    let (_, sha256) = sha256_of(&bytes);
    assert!(
        stdout.contains(&format!(
            "no checksum in the table: size and format checked, sha256 {sha256}"
        )),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read(data.join("films/movie2info.json")).unwrap(),
        bytes
    );
    assert!(
        stderr.contains("films/broken.json: not a catalog: "),
        "{stderr}"
    );
    assert_nothing_left(&data, "films/broken.json");
}

#[test]
fn a_file_that_does_not_match_is_replaced_and_a_stale_partial_is_not_trusted() {
    let server = Server::start();
    let bytes = catalog_bytes(2_000);
    server.put("/films/movie2info.json", Served::file(bytes.clone()));
    let folder = tempfile::tempdir().unwrap();
    let data = folder.path().join("data");
    std::fs::create_dir_all(data.join("films")).unwrap();
    std::fs::write(data.join("films/movie2info.json"), b"{\"old\": {}}").unwrap();
    // A partial download of some other version: resumed, it does not match, so the file is
    // downloaded again from the start.
    std::fs::write(
        data.join("films/movie2info.json.partial"),
        vec![b'x'; 5_000],
    )
    .unwrap();
    let table = one_file_table(folder.path(), &server, &bytes);
    let output = fetch_with_table(&table, &data, &[]);
    let stdout = succeeded(&output);
    let (_, stderr) = text(&output);
    assert_eq!(
        std::fs::read(data.join("films/movie2info.json")).unwrap(),
        bytes
    );
    assert!(
        stdout.contains("(replaced a file that did not match: size mismatch"),
        "{stdout}"
    );
    assert!(
        stderr.contains("the resumed download does not match"),
        "{stderr}"
    );
    let ranges: Vec<Option<String>> = server.requests().into_iter().map(|(_, r)| r).collect();
    assert_eq!(ranges, [Some("bytes=5000-".to_string()), None]);
}
