//! Secrets stay secret, through the binary: an API key (read from the variable `api_key_env`
//! names) reaches the model server and nothing else. A sweep that runs, one whose server answers
//! 500 and 401 with error bodies that echo the `Authorization` header back, and one whose endpoint
//! is dead, each at several `GRSU_LOG` levels, then `grsu status`, `report`, `export`, `view
//! --bundle` and `doctor`: the key is in none of their outputs nor in any byte under the output
//! folders (the sled store's raw files, where the manifest and the response cache live, included).
//! A `${NAME}` in a config path is recorded in the manifest as written, not as its value.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};

use grsu_test_support::{demo_titles, repository_root, write_config, DeterministicServer, Grsu};

const GRSU: Grsu = Grsu::new(env!("CARGO_BIN_EXE_grsu"));

/// The API key, and the variable that holds it.
const KEY: &str = "sk-grsu-7f3a9cLEAKCHECKq81z";
const KEY_VARIABLE: &str = "GRSU_SECRETS_TEST_KEY";
/// A marker in the value of a variable a config path names (`${GRSU_SECRETS_TEST_DATA}`).
const PATH_SECRET: &str = "PATHSECRET5b21e0";
const PATH_VARIABLE: &str = "GRSU_SECRETS_TEST_DATA";

/// What the recording server does with each request.
#[derive(Clone, Copy)]
enum Answer {
    /// Forward it to this server and relay the answer.
    Forward(SocketAddr),
    /// Answer this status with an error body quoting the request's `Authorization` header.
    Echo(u16),
}

/// A server on 127.0.0.1:0 that keeps the head of every request it receives.
struct RecordingServer {
    address: SocketAddr,
    heads: Arc<Mutex<Vec<String>>>,
}

impl RecordingServer {
    fn start(answer: Answer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let server = RecordingServer {
            address: listener.local_addr().unwrap(),
            heads: Arc::default(),
        };
        let heads = server.heads.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let heads = heads.clone();
                std::thread::spawn(move || serve(stream, answer, &heads));
            }
        });
        server
    }

    fn url(&self) -> String {
        format!("http://{}/v1", self.address)
    }

    /// How many requests arrived with the key as their bearer token.
    fn keyed_requests(&self) -> usize {
        let bearer = format!("authorization: bearer {KEY}");
        self.heads
            .lock()
            .unwrap()
            .iter()
            .filter(|head| {
                head.to_ascii_lowercase()
                    .contains(&bearer.to_ascii_lowercase())
            })
            .count()
    }
}

/// One request (head and `content-length` body), whole, as it arrived.
fn read_request(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let read = stream.read(&mut chunk).ok()?;
        if read == 0 {
            return None;
        }
        bytes.extend_from_slice(&chunk[..read]);
        let Some(end) = bytes.windows(4).position(|window| window == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&bytes[..end]).to_string();
        let length = head
            .lines()
            .find_map(|line| {
                line.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|value| value.trim().parse::<usize>().unwrap_or(0))
            })
            .unwrap_or(0);
        if bytes.len() >= end + 4 + length {
            return Some((head, bytes));
        }
    }
}

fn serve(mut stream: TcpStream, answer: Answer, heads: &Mutex<Vec<String>>) {
    let Some((head, request)) = read_request(&mut stream) else {
        return;
    };
    heads.lock().unwrap().push(head.clone());
    match answer {
        Answer::Forward(upstream) => {
            let Ok(mut upstream) = TcpStream::connect(upstream) else {
                return;
            };
            if upstream.write_all(&request).is_ok() {
                // The deterministic server closes every connection after its answer.
                let _ = std::io::copy(&mut upstream, &mut stream);
            }
        }
        Answer::Echo(status) => {
            let authorization = head
                .lines()
                .find(|line| line.to_ascii_lowercase().starts_with("authorization:"))
                .unwrap_or("no authorization");
            let body = serde_json::json!({
                "error": {
                    "message": format!("invalid credentials: {authorization} (key {KEY} is not known)"),
                    "type": "invalid_request_error",
                    "code": status,
                }
            })
            .to_string();
            let response = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes());
        }
    }
}

/// A local address nothing listens on.
fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}/v1")
}

/// Everything the tests read for the key: what each command printed, and the files they wrote.
#[derive(Default)]
struct Seen {
    /// `(what, bytes)`.
    outputs: Vec<(String, Vec<u8>)>,
}

impl Seen {
    fn command(&mut self, what: &str, output: &Output) {
        self.outputs
            .push((format!("{what}: stdout"), output.stdout.clone()));
        self.outputs
            .push((format!("{what}: stderr"), output.stderr.clone()));
    }

    /// Every file under `folder`, byte for byte.
    fn files(&mut self, folder: &Path) {
        let mut folders = vec![folder.to_path_buf()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    folders.push(path);
                } else {
                    let bytes = std::fs::read(&path).unwrap();
                    self.outputs.push((path.display().to_string(), bytes));
                }
            }
        }
    }

    /// The places that hold `needle`.
    fn holding(&self, needle: &str) -> Vec<&str> {
        self.outputs
            .iter()
            .filter(|(_, bytes)| {
                bytes
                    .windows(needle.len())
                    .any(|window| window == needle.as_bytes())
            })
            .map(|(what, _)| what.as_str())
            .collect()
    }
}

/// `grsu ARGUMENTS` with the key's and the data path's variables set, logging at `log` (`None`:
/// the default level).
fn grsu(arguments: &[&str], log: Option<&str>, data: &Path) -> Output {
    let mut command = GRSU.command();
    command
        .args(arguments)
        .env(KEY_VARIABLE, KEY)
        .env(PATH_VARIABLE, data)
        .env_remove("GRSU_LOG");
    if let Some(log) = log {
        command.env("GRSU_LOG", log);
    }
    command.output().expect("run grsu")
}

/// The harness's config for `server`, with both roles keyed through `api_key_env` and the data
/// path written with `${GRSU_SECRETS_TEST_DATA}`.
fn keyed_config(folder: &Path, server: &str, output: &Path, extra: &str) -> PathBuf {
    let config = write_config(folder, server, output, 2, extra);
    let root = repository_root();
    let text = std::fs::read_to_string(&config).unwrap();
    let plain_path = format!(
        "path = \"{}/data/demo/conversations.jsonl\"",
        root.display()
    );
    assert!(text.contains(&plain_path));
    let text = text
        .replace(
            &plain_path,
            &format!("path = \"${{{PATH_VARIABLE}}}/conversations.jsonl\""),
        )
        .replace(
            "model = \"det\"",
            &format!("model = \"det\"\napi_key_env = \"{KEY_VARIABLE}\""),
        );
    std::fs::write(&config, text).unwrap();
    config
}

#[test]
fn an_api_key_and_a_path_variable_appear_in_no_output_log_error_or_stored_byte() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let root = repository_root();
    let upstream = runtime.block_on(DeterministicServer::start(
        demo_titles(&root),
        std::time::Duration::ZERO,
    ));
    let folder = tempfile::tempdir().unwrap();
    // The data, in a folder whose name is the secret a config path's variable holds.
    let data = folder.path().join(format!("data-{PATH_SECRET}"));
    std::fs::create_dir(&data).unwrap();
    std::fs::copy(
        root.join("data/demo/conversations.jsonl"),
        data.join("conversations.jsonl"),
    )
    .unwrap();
    let mut seen = Seen::default();

    // A sweep that runs to the end (logging everything), then resumes (nothing left to do).
    let good = RecordingServer::start(Answer::Forward(upstream.address));
    let good_folder = folder.path().join("good");
    std::fs::create_dir(&good_folder).unwrap();
    let output = good_folder.join("out");
    let config = keyed_config(&good_folder, &good.url(), &output, "");
    let config_arg = config.to_str().unwrap();
    let ran = grsu(&["run", config_arg], Some("trace"), &data);
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    seen.command("run (trace)", &ran);
    for log in ["debug", "info"] {
        let resumed = grsu(&["run", config_arg], Some(log), &data);
        assert!(resumed.status.success());
        seen.command(&format!("resumed run ({log})"), &resumed);
    }
    assert!(good.keyed_requests() > 0, "the server got the key");
    assert!(upstream.traffic().total() > 0);

    // Error paths: a server that refuses with 500 (retried) then 401, quoting the key back; and a
    // dead endpoint.
    let refusing = RecordingServer::start(Answer::Echo(401));
    let failing = RecordingServer::start(Answer::Echo(500));
    let mut failed_outputs = Vec::new();
    for (name, url, logs) in [
        ("refused", refusing.url(), [Some("trace"), None]),
        ("server-error", failing.url(), [Some("debug"), Some("warn")]),
        ("dead", dead_url(), [Some("trace"), Some("info")]),
    ] {
        let case = folder.path().join(name);
        std::fs::create_dir(&case).unwrap();
        let failed_output = case.join("out");
        let config = keyed_config(&case, &url, &failed_output, "");
        for log in logs {
            let ran = grsu(
                &[
                    "run",
                    config.to_str().unwrap(),
                    "--set",
                    "run.give_up_after_s=2",
                ],
                log,
                &data,
            );
            assert!(!ran.status.success(), "{name} cannot succeed");
            seen.command(&format!("{name} run ({log:?})"), &ran);
        }
        let doctor = grsu(
            &[
                "doctor",
                "--config",
                config.to_str().unwrap(),
                "--timeout-s",
                "5",
            ],
            Some("trace"),
            &data,
        );
        seen.command(&format!("{name} doctor"), &doctor);
        failed_outputs.push((name, failed_output));
    }
    assert!(refusing.keyed_requests() > 0 && failing.keyed_requests() > 0);
    // The refusals reached grsu and were reported (without the key they quoted).
    let refused_stderr = &seen
        .outputs
        .iter()
        .find(|(what, _)| what == "refused run (Some(\"trace\")): stderr")
        .unwrap()
        .1;
    assert!(
        String::from_utf8_lossy(refused_stderr).contains("invalid credentials"),
        "{}",
        String::from_utf8_lossy(refused_stderr)
    );

    // What reads the stores back.
    let bundle = folder.path().join("bundle");
    for (name, out) in std::iter::once(("good", output.clone())).chain(failed_outputs.clone()) {
        let out = out.to_str().unwrap();
        for arguments in [
            vec!["status", out],
            vec!["status", out, "--json"],
            vec!["report", out],
            vec!["report", out, "--format", "json"],
            vec!["export", out],
        ] {
            let ran = grsu(&arguments, Some("trace"), &data);
            seen.command(&format!("{name}: {}", arguments.join(" ")), &ran);
        }
    }
    let viewed = grsu(
        &[
            "view",
            output.to_str().unwrap(),
            "--bundle",
            bundle.to_str().unwrap(),
        ],
        Some("trace"),
        &data,
    );
    assert!(
        viewed.status.success(),
        "{}",
        String::from_utf8_lossy(&viewed.stderr)
    );
    seen.command("view --bundle", &viewed);
    for file in ["report.md", "report.json", "progress.json"] {
        assert!(output.join(file).is_file(), "{file} missing");
    }
    for (_, out) in &failed_outputs {
        seen.files(out);
    }
    seen.files(&output);
    seen.files(&bundle);

    assert_eq!(seen.holding(KEY), Vec::<&str>::new(), "the key leaked");
    assert_eq!(
        seen.holding("LEAKCHECK"),
        Vec::<&str>::new(),
        "part of the key leaked"
    );

    // The manifest records the data path as written, not the variable's value; nothing else
    // stored holds the value either.
    let stored: Vec<&str> = seen
        .holding(PATH_SECRET)
        .into_iter()
        .filter(|what| what.starts_with('/'))
        .collect();
    assert_eq!(
        stored,
        Vec::<&str>::new(),
        "the path variable's value was stored"
    );
    let store = grsu::store::Store::open(&output.join("store")).unwrap();
    let manifest = serde_json::to_string(&store.manifest().unwrap().unwrap()).unwrap();
    assert!(!manifest.contains(PATH_SECRET), "{manifest}");
    assert!(
        manifest.contains(&format!("${{{PATH_VARIABLE}}}/conversations.jsonl")),
        "{manifest}"
    );
}
