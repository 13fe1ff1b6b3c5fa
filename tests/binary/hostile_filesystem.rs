//! `grsu` on a hostile filesystem, through the binary: a full disk (a tiny tmpfs where this machine
//! lets the tests mount one, and always a file-size limit on the process), a read-only output
//! folder, store files truncated or with bytes flipped, a store of another format version. Each
//! gives a clear error and a non-zero exit, never a silently lost or wrong record, and what is
//! sound is kept: resuming in room to write gives the predictions of an undisturbed run.
//!
//! Every message is printed (`--nocapture` shows them): the README's table of cases quotes them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use grsu::store::STORE_FORMAT_VERSION;
use grsu_test_support::{
    demo_titles, predictions, repository_root, write_config, DeterministicServer, Grsu,
};
use serde_json::Value;

const GRSU: Grsu = Grsu::new(env!("CARGO_BIN_EXE_grsu"));
const SAMPLES: usize = 6;

/// A test server on its own runtime (the binary runs on the test's thread).
struct Server {
    _runtime: tokio::runtime::Runtime,
    server: DeterministicServer,
}

impl Server {
    fn start() -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let server = runtime.block_on(DeterministicServer::start(
            demo_titles(&repository_root()),
            Duration::ZERO,
        ));
        Server {
            _runtime: runtime,
            server,
        }
    }

    fn url(&self) -> String {
        self.server.url()
    }
}

/// A tmpfs mounted on a temporary folder, unmounted when dropped.
struct Tmpfs {
    point: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts one of `size` (mount's syntax: `1m`), or `None` where this machine does not allow
    /// it.
    fn mount(size: &str) -> Option<Self> {
        let point = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(point.path())
            .output()
            .is_ok_and(|output| output.status.success());
        mounted.then_some(Tmpfs { point })
    }

    fn path(&self) -> &Path {
        self.point.path()
    }

    /// `mount -o remount,OPTIONS`.
    fn remount(&self, options: &str) {
        let output = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(self.path())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", text(&output));
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.path()).output();
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Prints what a case printed (the README quotes these).
fn show(case: &str, output: &Output) {
    eprintln!(
        "=== {case}: exit {:?}\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).trim_end()
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !stdout.trim().is_empty() {
        eprintln!("--- stdout:\n{}", stdout.trim_end());
    }
}

/// Asserts a clear failure: a non-zero exit, no panic, each of `expected` in the message.
fn assert_fails_clearly(case: &str, output: &Output, expected: &[&str]) {
    show(case, output);
    let all = text(output);
    assert!(!output.status.success(), "{case}: succeeded\n{all}");
    assert!(!all.contains("panicked"), "{case}: a panic\n{all}");
    for expected in expected {
        assert!(
            all.contains(expected),
            "{case}: `{expected}` missing:\n{all}"
        );
    }
}

fn run(config: &Path) -> Output {
    GRSU.output(&["run", config.to_str().unwrap()])
}

/// The predictions of the undisturbed run of `SAMPLES` samples against `server`.
fn reference(server: &Server) -> BTreeMap<String, Value> {
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("out");
    let config = write_config(folder.path(), &server.url(), &output, SAMPLES, "");
    let ran = run(&config);
    assert!(ran.status.success(), "{}", text(&ran));
    let expected = predictions(&GRSU.export(&output));
    assert_eq!(expected.len(), SAMPLES);
    expected
}

/// After resuming: every record there once, predictions equal to the undisturbed run, and the
/// store verified clean.
fn assert_complete(output: &Path, expected: &BTreeMap<String, Value>) {
    let records = GRSU.export(output);
    let mut ids: Vec<&str> = records
        .iter()
        .map(|record| record["sample"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), records.len(), "a record was duplicated");
    assert_eq!(&predictions(&records), expected, "records lost or wrong");
    let verified = GRSU.output(&["verify", output.to_str().unwrap()]);
    assert!(verified.status.success(), "{}", text(&verified));
}

#[test]
fn a_full_disk_stops_the_run_clearly_and_a_resume_with_room_loses_nothing() {
    let Some(disk) = Tmpfs::mount("160k") else {
        eprintln!(
            "mounting a tmpfs is not allowed here: the file-size limit test covers a full disk"
        );
        return;
    };
    let server = Server::start();
    let expected = reference(&server);
    let config_folder = tempfile::tempdir().unwrap();
    let output = disk.path().join("out");
    let config = write_config(config_folder.path(), &server.url(), &output, SAMPLES, "");
    let ran = run(&config);
    assert_fails_clearly(
        "full disk (tmpfs of 160 KiB)",
        &ran,
        &[
            "No space left on device",
            &output.display().to_string(),
            "again",
        ],
    );

    disk.remount("size=64m");
    let resumed = run(&config);
    assert!(resumed.status.success(), "{}", text(&resumed));
    assert_complete(&output, &expected);
}

#[test]
fn a_disk_full_before_the_store_exists_is_a_clear_error() {
    let Some(disk) = Tmpfs::mount("16k") else {
        eprintln!(
            "mounting a tmpfs is not allowed here: the file-size limit test covers a full disk"
        );
        return;
    };
    let server = Server::start();
    let folder = tempfile::tempdir().unwrap();
    let output = disk.path().join("out");
    let config = write_config(folder.path(), &server.url(), &output, SAMPLES, "");
    assert_fails_clearly(
        "full disk before the store exists (tmpfs of 16 KiB)",
        &run(&config),
        &[
            "No space left on device",
            &output.display().to_string(),
            "again",
        ],
    );
}

#[test]
fn a_file_size_limit_stops_the_run_clearly_and_a_resume_loses_nothing() {
    let server = Server::start();
    let expected = reference(&server);
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("out");
    let config = write_config(folder.path(), &server.url(), &output, SAMPLES, "");
    // Writes past 100 KiB fail with EFBIG (SIGXFSZ ignored, as a full disk fails them with
    // ENOSPC): a write failure at the store's boundary, on any machine.
    let limited = Command::new("sh")
        .args(["-c", "trap '' XFSZ; ulimit -f 200; exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_grsu"))
        .args(["run", config.to_str().unwrap()])
        .env("GRSU_LOG", "warn")
        .output()
        .unwrap();
    assert_fails_clearly(
        "file-size limit (ulimit -f)",
        &limited,
        &["File too large", &output.display().to_string(), "again"],
    );

    let resumed = run(&config);
    assert!(resumed.status.success(), "{}", text(&resumed));
    assert_complete(&output, &expected);
}

#[test]
fn a_read_only_output_folder_is_a_clear_error() {
    let Some(disk) = Tmpfs::mount("64m") else {
        eprintln!("mounting a tmpfs is not allowed here: no read-only folder as root");
        return;
    };
    let server = Server::start();
    let folder = tempfile::tempdir().unwrap();
    // A sweep half done, then its filesystem made read-only.
    let output = disk.path().join("out");
    let config = write_config(folder.path(), &server.url(), &output, 3, "");
    let ran = run(&config);
    assert!(ran.status.success(), "{}", text(&ran));
    disk.remount("ro");

    let fresh_folder = folder.path().join("fresh");
    std::fs::create_dir_all(&fresh_folder).unwrap();
    let fresh = write_config(
        &fresh_folder,
        &server.url(),
        &disk.path().join("new"),
        SAMPLES,
        "",
    );
    assert_fails_clearly(
        "read-only: a new output folder",
        &run(&fresh),
        &["Read-only file system"],
    );
    let resume = write_config(folder.path(), &server.url(), &output, SAMPLES, "");
    assert_fails_clearly(
        "read-only: resuming",
        &run(&resume),
        &["Read-only file system"],
    );
    let output_text = output.to_str().unwrap();
    for command in ["report", "export", "status"] {
        assert_fails_clearly(
            &format!("read-only: grsu {command}"),
            &GRSU.output(&[command, output_text]),
            &["Read-only file system", "make", "writable"],
        );
    }
    // Verify reads a copy: a read-only store is checked all the same.
    let verified = GRSU.output(&["verify", output_text]);
    show("read-only: grsu verify", &verified);
    assert!(verified.status.success(), "{}", text(&verified));
    let in_place = GRSU.output(&["verify", "--in-place", output_text]);
    assert_eq!(in_place.status.code(), Some(2), "{}", text(&in_place));
    assert_fails_clearly(
        "read-only: grsu verify --in-place",
        &in_place,
        &["Read-only file system", "writable"],
    );
    disk.remount("rw");
}

/// Damage done to a store's folder.
type Damage = Box<dyn Fn(&Path)>;

/// A finished sweep of `SAMPLES` samples in `folder/out`.
fn finished_sweep(server: &Server, folder: &Path) -> PathBuf {
    let output = folder.join("out");
    let config = write_config(folder, &server.url(), &output, SAMPLES, "");
    let ran = run(&config);
    assert!(ran.status.success(), "{}", text(&ran));
    output
}

fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_folder(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn truncated_or_flipped_store_files_never_give_a_wrong_record() {
    let server = Server::start();
    let folder = tempfile::tempdir().unwrap();
    let output = finished_sweep(&server, folder.path());
    let expected = predictions(&GRSU.export(&output));
    let store = output.join("store");
    let mut files: Vec<(String, u64)> = Vec::new();
    for entry in walk(&store) {
        // The log is preallocated: only the bytes up to its last non-zero one hold anything.
        let bytes = std::fs::read(&entry).unwrap();
        let size = bytes
            .iter()
            .rposition(|&byte| byte != 0)
            .map_or(0, |last| last as u64 + 1);
        files.push((
            entry.strip_prefix(&store).unwrap().display().to_string(),
            size,
        ));
    }
    eprintln!("store files: {files:?}");
    let mut cases: Vec<(String, Damage)> = Vec::new();
    for (file, size) in files.iter().filter(|(_, size)| *size > 0) {
        let size = *size;
        for (label, keep) in [
            ("half", size / 2),
            ("empty", 0),
            ("all but 1 byte", size - 1),
        ] {
            let file = file.clone();
            cases.push((
                format!("{file} truncated to {label} ({keep} of {size} used bytes)"),
                Box::new(move |store: &Path| {
                    let handle = std::fs::OpenOptions::new()
                        .write(true)
                        .open(store.join(&file))
                        .unwrap();
                    handle.set_len(keep).unwrap();
                }),
            ));
        }
        for fraction in [0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99] {
            let at = ((size as f64 * fraction) as u64).min(size - 1);
            let file = file.clone();
            cases.push((
                format!("{file}: byte {at} of {size} used bytes flipped"),
                Box::new(move |store: &Path| {
                    let path = store.join(&file);
                    let mut bytes = std::fs::read(&path).unwrap();
                    bytes[at as usize] ^= 0xff;
                    std::fs::write(&path, bytes).unwrap();
                }),
            ));
        }
    }
    let mut summary = Vec::new();
    for (index, (case, damage)) in cases.iter().enumerate() {
        let copy = folder.path().join(format!("damaged-{index}"));
        copy_folder(&output, &copy);
        damage(&copy.join("store"));
        let copy_text = copy.to_str().unwrap();
        let before = contents(&copy.join("store"));
        let verified = GRSU.output(&["verify", copy_text]);
        assert!(
            contents(&copy.join("store")) == before,
            "{case}: grsu verify changed the store"
        );
        show(&format!("{case}: grsu verify"), &verified);
        let all = text(&verified);
        assert!(!all.contains("panicked"), "{case}: a panic\n{all}");
        match verified.status.code() {
            Some(2) => {
                assert!(
                    all.contains("is damaged and the storage engine cannot open it")
                        && all.contains(&copy.join("store").display().to_string()),
                    "{case}: {all}"
                );
                // Damage to the response log is named as such, not blamed on sled's files.
                if case.starts_with(grsu::store::LOG_FILE) {
                    assert!(
                        all.contains(&format!(
                            "{} (the cached responses) is damaged",
                            grsu::store::LOG_FILE
                        )) || all.contains("is not a grsu response log"),
                        "{case}: {all}"
                    );
                }
            }
            Some(0) | Some(4) => {}
            code => panic!("{case}: verify exited with {code:?}\n{all}"),
        }
        summary.push(format!(
            "{case} | verify {:?} | {}",
            verified.status.code(),
            String::from_utf8_lossy(&verified.stderr)
                .lines()
                .last()
                .unwrap_or("no damage found")
        ));
        for command in ["report", "status"] {
            let read = GRSU.output(&[command, copy_text]);
            let all = text(&read);
            assert!(
                !all.contains("panicked"),
                "{case}: grsu {command}: a panic\n{all}"
            );
            assert_eq!(
                read.status.success(),
                verified.status.success(),
                "{case}: grsu {command} and grsu verify disagree\n{all}"
            );
        }
        let exported = GRSU.output(&["export", copy_text]);
        if exported.status.success() {
            let records: Vec<Value> = String::from_utf8_lossy(&exported.stdout)
                .lines()
                .map(|line| serde_json::from_str(line).unwrap())
                .collect();
            // Whatever reads back is exactly what was written, and nothing is missing.
            assert_eq!(
                predictions(&records),
                expected,
                "{case}: records lost or wrong"
            );
        } else {
            assert!(
                !verified.status.success(),
                "{case}: export failed on a clean store"
            );
        }
    }
    eprintln!("=== summary\n{}", summary.join("\n"));
}

/// Every file of `folder` and its bytes.
fn contents(folder: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    walk(folder)
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect()
}

fn walk(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// Opens `output`'s store with the storage engine itself, lets `change` write it, and closes it.
fn with_raw_store(output: &Path, change: impl FnOnce(&sled::Db)) {
    // With the compression the store was written with (a mismatch is refused before anything is
    // written).
    let open = |compressed: bool| {
        sled::Config::new()
            .path(output.join("store"))
            .mode(sled::Mode::LowSpace)
            .use_compression(compressed)
            .open()
    };
    let db = open(true).or_else(|_| open(false)).unwrap();
    change(&db);
    db.flush().unwrap();
    drop(db);
    // The engine's flusher lets go of the folder's lock a moment after the store is closed.
    std::thread::sleep(Duration::from_millis(300));
}

#[test]
fn a_store_of_another_format_version_is_refused_by_every_command() {
    let server = Server::start();
    let folder = tempfile::tempdir().unwrap();
    let output = finished_sweep(&server, folder.path());
    with_raw_store(&output, |db| {
        db.open_tree("meta")
            .unwrap()
            .insert("format", "99")
            .unwrap();
    });
    let store = output.join("store").display().to_string();
    let reads = format!("this grsu reads format versions up to {STORE_FORMAT_VERSION}");
    let expected = [
        store.as_str(),
        "is in format version 99",
        reads.as_str(),
        "read it with the grsu version that wrote it",
    ];
    let config = folder.path().join("config.toml");
    assert_fails_clearly("format version 99: grsu run", &run(&config), &expected);
    for command in ["report", "export", "status", "verify"] {
        let output = GRSU.output(&[command, output.to_str().unwrap()]);
        assert_fails_clearly(
            &format!("format version 99: grsu {command}"),
            &output,
            &expected,
        );
    }
}

#[test]
fn a_damaged_record_is_reported_and_searched_again() {
    let server = Server::start();
    let folder = tempfile::tempdir().unwrap();
    let output = finished_sweep(&server, folder.path());
    let expected = predictions(&GRSU.export(&output));
    let mut damaged_key = String::new();
    with_raw_store(&output, |db| {
        let records = db.open_tree("records").unwrap();
        let (key, value) = records.iter().nth(2).unwrap().unwrap();
        damaged_key = String::from_utf8(key.to_vec()).unwrap();
        records.insert(key, &value[..value.len() / 2]).unwrap();
    });
    let output_text = output.to_str().unwrap();

    let verified = GRSU.output(&["verify", output_text]);
    assert_eq!(verified.status.code(), Some(4), "{}", text(&verified));
    show("a record cut in half: grsu verify", &verified);
    let table = String::from_utf8_lossy(&verified.stdout);
    assert!(
        table.contains(&format!("records  {damaged_key}  does not decode")),
        "{table}"
    );
    assert!(
        text(&verified).contains("1 damaged entry"),
        "{}",
        text(&verified)
    );
    let json = GRSU.output(&["verify", "--json", output_text]);
    assert_eq!(json.status.code(), Some(4));
    let report: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["clean"], false);
    assert_eq!(report["damaged"][0]["tree"], "records");
    assert_eq!(report["damaged"][0]["key"], damaged_key.as_str());

    assert_fails_clearly(
        "a record cut in half: grsu report",
        &GRSU.output(&["report", output_text]),
        &["corrupt store entry in `records`"],
    );

    // `grsu run` searches the damaged unit again (from the response cache) and replaces it.
    let resumed = run(&folder.path().join("config.toml"));
    show("a record cut in half: grsu run", &resumed);
    assert!(resumed.status.success(), "{}", text(&resumed));
    assert!(
        text(&resumed).contains(&format!(
            "the record of {damaged_key} in `records` cannot be read"
        )),
        "{}",
        text(&resumed)
    );
    assert!(
        text(&resumed).contains("1 samples finished now, 5 already stored"),
        "{}",
        text(&resumed)
    );
    assert_complete(&output, &expected);
}
