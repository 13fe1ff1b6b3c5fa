//! Checking a store entry by entry (`grsu verify`): the manifest is there and decodes; every record
//! decodes, sits under the key of its (search, seed, sample) and has the predictions and metrics
//! that its stored tree gives again; failures, imports and cached responses decode (responses
//! through [`super::response_cache::decode_entry`], the cache's own decoder, with the store's
//! dictionary); the format version reads and the response dictionary matches its hash.
//!
//! Checking only reads: a damaged entry is reported, never removed, so what is sound stays usable
//! and `grsu run` can redo what is not.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::format_version::{parse_format, FORMAT_KEY, META_TREE};
use super::response_dictionary::{read_stored, DICTIONARY_KEY};
use super::{
    record_key, FailureRecord, ImportedRankings, SampleRecord, Store, StoreError, SweepManifest,
};
use crate::metrics::{MetricValues, SampleMetrics};
use crate::search::{rank, OutputStrategy};

/// The trees a store has, in the order they are checked and shown.
const TREES: [&str; 6] = [
    META_TREE,
    "manifest",
    "records",
    "failures",
    "imports",
    "responses",
];

/// What checking a store found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VerifyReport {
    /// Entries per tree.
    pub trees: Vec<TreeCheck>,
    /// Every damaged entry.
    pub damaged: Vec<Damage>,
    /// Sound records outside the current manifest (other seeds or searches of an earlier
    /// configuration of the folder): kept, not reported, not damage.
    pub outside_manifest: Vec<String>,
}

impl VerifyReport {
    /// Whether nothing is damaged.
    pub fn is_clean(&self) -> bool {
        self.damaged.is_empty()
    }
}

/// The entries of one tree.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TreeCheck {
    pub tree: String,
    pub entries: u64,
    pub ok: u64,
    pub damaged: u64,
}

/// One damaged entry: its tree, its key (as text; hex for a response) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Damage {
    pub tree: String,
    pub key: String,
    pub problem: String,
}

/// Checks every entry of `store` (see the module doc). Reading a tree that fails midway is damage
/// of that tree, not an error: the rest is still checked.
pub fn verify(store: &Store) -> VerifyReport {
    let mut checker = Checker {
        store,
        report: VerifyReport::default(),
        manifest: None,
    };
    for tree in TREES {
        checker.check_tree(tree);
    }
    checker.report
}

struct Checker<'a> {
    store: &'a Store,
    report: VerifyReport,
    manifest: Option<SweepManifest>,
}

impl Checker<'_> {
    fn check_tree(&mut self, name: &'static str) {
        let mut check = TreeCheck {
            tree: name.to_string(),
            ..TreeCheck::default()
        };
        if name == "responses" {
            self.check_responses(&mut check);
            self.report.trees.push(check);
            return;
        }
        let tree = match self.store.tree(name) {
            Ok(tree) => tree,
            Err(error) => {
                self.damage(&mut check, name, "(tree)", error.to_string());
                self.report.trees.push(check);
                return;
            }
        };
        for entry in tree.iter() {
            let (key, value) = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    self.damage(
                        &mut check,
                        name,
                        "(scan)",
                        format!("reading the tree failed, later entries unchecked: {error}"),
                    );
                    break;
                }
            };
            let key_text = String::from_utf8_lossy(&key).into_owned();
            check.entries += 1;
            match self.check_entry(name, &key, &value) {
                Ok(()) => check.ok += 1,
                Err(problem) => self.damage(&mut check, name, &key_text, problem),
            }
        }
        if name == "manifest" && self.manifest.is_none() && check.damaged == 0 {
            self.damage(
                &mut check,
                name,
                "manifest",
                "missing: no sweep manifest in this store".into(),
            );
        }
        self.report.trees.push(check);
    }

    /// The responses, wherever the store keeps them (its log, or its tree before format 4).
    fn check_responses(&mut self, check: &mut TreeCheck) {
        let mut damaged = Vec::new();
        let unread = self.store.responses.each_entry(|key, value| {
            check.entries += 1;
            match self.check_entry("responses", key, value) {
                Ok(()) => check.ok += 1,
                Err(problem) => damaged.push((hex(key), problem)),
            }
            Ok(())
        });
        let unread = match unread {
            Ok(unread) => unread,
            Err(error) => vec![("(scan)".to_string(), error.to_string())],
        };
        for (key, problem) in damaged.into_iter().chain(unread) {
            self.damage(check, "responses", &key, problem);
        }
    }

    fn damage(&mut self, check: &mut TreeCheck, tree: &str, key: &str, problem: String) {
        check.damaged += 1;
        self.report.damaged.push(Damage {
            tree: tree.to_string(),
            key: key.to_string(),
            problem,
        });
    }

    fn check_entry(&mut self, tree: &'static str, key: &[u8], value: &[u8]) -> Result<(), String> {
        let decode_failed = |error: super::StoreError| format!("does not decode: {error}");
        match tree {
            META_TREE if key == FORMAT_KEY.as_bytes() => match parse_format(value) {
                Some(_) => Ok(()),
                None => Err(format!(
                    "an unreadable format version ({:?})",
                    String::from_utf8_lossy(value)
                )),
            },
            META_TREE if key == DICTIONARY_KEY.as_bytes() => read_stored(value).map(|_| ()),
            META_TREE => Ok(()),
            "manifest" => {
                if key != b"manifest" {
                    return Err("an unexpected key in the manifest tree".into());
                }
                let manifest: SweepManifest = Store::decode(tree, value).map_err(decode_failed)?;
                self.manifest = Some(manifest);
                Ok(())
            }
            "records" => {
                let record: SampleRecord = Store::decode(tree, value).map_err(decode_failed)?;
                let expected = record_key(&record.search, record.seed, &record.sample);
                if key != expected.as_bytes() {
                    return Err(format!(
                        "it holds the record of `{expected}`, not of its key"
                    ));
                }
                if !self.in_manifest(&record) {
                    self.report.outside_manifest.push(expected);
                }
                check_record(&record)
            }
            "failures" => {
                let failure: FailureRecord = Store::decode(tree, value).map_err(decode_failed)?;
                let expected = record_key(&failure.search, failure.seed, &failure.sample);
                if key != expected.as_bytes() {
                    return Err(format!(
                        "it holds the failure of `{expected}`, not of its key"
                    ));
                }
                Ok(())
            }
            "imports" => {
                let imported: ImportedRankings =
                    Store::decode(tree, value).map_err(decode_failed)?;
                if key != imported.name.as_bytes() {
                    return Err(format!(
                        "it holds the import `{}`, not its key",
                        imported.name
                    ));
                }
                Ok(())
            }
            "responses" => {
                if key.len() != 32 {
                    return Err(format!("a key of {} bytes, not 32", key.len()));
                }
                super::response_cache::decode_entry(value, &self.store.dictionary)
                    .map(|_| ())
                    .map_err(decode_failed)
            }
            _ => Ok(()),
        }
    }

    fn in_manifest(&self, record: &SampleRecord) -> bool {
        self.manifest.as_ref().is_some_and(|manifest| {
            manifest.seeds.contains(&record.seed)
                && manifest.search(&record.search).is_some_and(|search| {
                    search
                        .samples
                        .iter()
                        .any(|sample| sample.id == record.sample)
                })
        })
    }
}

/// The predictions and metrics of each output strategy of `record`, computed again from its tree
/// and labels with the functions that made them, compared with the stored ones.
fn check_record(record: &SampleRecord) -> Result<(), String> {
    let names: std::collections::BTreeSet<&String> = record
        .predictions
        .keys()
        .chain(record.metrics.keys())
        .collect();
    for name in names {
        let strategy: OutputStrategy = name
            .parse()
            .map_err(|_| format!("an unknown output strategy `{name}`"))?;
        let ranking = rank(&record.tree, strategy, None);
        if record.predictions.get(name) != Some(&ranking) {
            return Err(format!(
                "the `{name}` predictions differ from the ranking of its stored tree"
            ));
        }
        let recomputed = SampleMetrics::of_ranking(&ranking, &record.labels);
        let Some(stored) = record.metrics.get(name) else {
            return Err(format!("no `{name}` metrics"));
        };
        if let Some(difference) = metrics_difference(stored, &recomputed) {
            return Err(format!(
                "the `{name}` metrics differ from the ones its stored tree gives ({difference})"
            ));
        }
    }
    Ok(())
}

/// Where two sample metrics differ, beyond the last digit JSON keeps of a float.
fn metrics_difference(stored: &SampleMetrics, recomputed: &SampleMetrics) -> Option<String> {
    if stored.labels != recomputed.labels {
        return Some(format!(
            "{} labels stored, {} recomputed",
            stored.labels, recomputed.labels
        ));
    }
    let values = |metrics: &MetricValues| {
        BTreeMap::from([
            ("recall", metrics.recall),
            ("ndcg", metrics.ndcg),
            ("mrr", metrics.mrr),
        ])
    };
    let (stored_values, recomputed_values) = (values(&stored.sum), values(&recomputed.sum));
    for (metric, stored_row) in &stored_values {
        for (position, (&kept, &again)) in stored_row
            .iter()
            .zip(&recomputed_values[metric])
            .enumerate()
        {
            if (kept - again).abs() > 1e-9 * again.abs().max(1.0) {
                return Some(format!(
                    "{metric}@{}: {kept} stored, {again} recomputed",
                    crate::metrics::CUTOFFS[position]
                ));
            }
        }
    }
    None
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Whether the store could not be opened because another process (a running sweep) holds it.
pub fn held_by_a_run(error: &StoreError) -> bool {
    matches!(error, StoreError::Open { message, .. } if message.contains("could not acquire lock"))
}

/// Why the store at `path` cannot be opened, and what to do: wait for the sweep holding it, make
/// its folder writable (the storage engine opens a store for writing, even to read it), or know
/// which of its files are damaged.
pub fn explain_open_failure(path: &Path, error: &StoreError) -> String {
    let StoreError::Open { message, .. } = error else {
        return error.to_string();
    };
    if held_by_a_run(error) {
        return format!(
            "{error} (is a `grsu run` still writing it? its progress is on that process's terminal)"
        );
    }
    if ["No space left", "File too large"]
        .iter()
        .any(|full| message.contains(full))
    {
        return format!(
            "{error} (the disk is full: make room, or move the output folder to a larger disk, \
             and run again; what was stored before is kept)"
        );
    }
    if ["Read-only file system", "Permission denied"]
        .iter()
        .any(|denied| message.contains(denied))
    {
        return format!(
            "{error} (the storage engine opens a store for writing, even to read it: make {} \
             writable, or copy the output folder somewhere writable and use the copy)",
            path.display()
        );
    }
    if message.starts_with("IO error") {
        return error.to_string();
    }
    if message.starts_with(super::LOG_FILE) {
        return format!(
            "the store at {} is damaged and the storage engine cannot open it: {message}. The \
             records are not in that file: moving `{}` aside keeps every finished sample, and \
             a resumed sweep asks the model again for the answers it held; `grsu verify` checks \
             a copy and leaves the store as it is",
            path.display(),
            super::LOG_FILE
        );
    }
    let files = damaged_files(path);
    let damaged = if !files.is_empty() {
        files.join("; ")
    } else if message.contains("stopped on its own files") {
        "a file it read is overwritten where no checksum covers it (such as the length field at \
         the end of the snapshot `snap.*`)"
            .to_string()
    } else {
        "`db` (the log) holds a damaged entry".to_string()
    };
    format!(
        "the store at {} is damaged and the storage engine cannot open it: {damaged} (it said: \
         {message}). The storage engine's recovery may have cut its log at the damage; `grsu \
         verify` checks a copy and leaves the store as it is. Sweeping again into a new output \
         folder pays its model calls anew",
        path.display()
    )
}

/// What is wrong with the storage engine's own files in `folder` (sled's `conf`, its latest
/// `snap.*` and its log `db`), for a store that cannot be opened: each file found damaged, with
/// what its checksum or length says. Empty when none of these checks finds the damage.
pub fn damaged_files(folder: &Path) -> Vec<String> {
    let mut damaged = Vec::new();
    match std::fs::read(folder.join("conf")) {
        Err(_) => damaged.push("`conf` is missing or unreadable".to_string()),
        Ok(bytes) if bytes.len() <= 8 => damaged.push(format!(
            "`conf` is cut to {} bytes (the storage engine falls back to its defaults)",
            bytes.len()
        )),
        Ok(bytes) if !checksum_holds(&bytes[..bytes.len() - 4], &bytes[bytes.len() - 4..]) => {
            damaged.push("`conf` fails its checksum (truncated or overwritten)".to_string())
        }
        Ok(_) => {}
    }
    let mut snapshots: Vec<String> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("snap.") && !name.ends_with(".generating"))
        .collect();
    snapshots.sort();
    let mut snapshot_lsn = None;
    if let Some(name) = snapshots.last() {
        match std::fs::read(folder.join(name)) {
            Err(error) => damaged.push(format!("`{name}` is unreadable: {error}")),
            Ok(bytes) if bytes.len() <= 12 => damaged.push(format!(
                "`{name}` (the snapshot) is cut to {} bytes",
                bytes.len()
            )),
            Ok(bytes) => {
                let body = &bytes[..bytes.len() - 12];
                if checksum_holds(body, &bytes[bytes.len() - 4..]) {
                    snapshot_lsn = u64::from_str_radix(&name["snap.".len()..], 16).ok();
                } else {
                    damaged.push(format!(
                        "`{name}` (the snapshot) fails its checksum (truncated or overwritten)"
                    ));
                }
            }
        }
    }
    match used_length(&folder.join("db")) {
        Err(_) => damaged.push("`db` (the log) is missing or unreadable".to_string()),
        Ok(used) => {
            if let Some(lsn) = snapshot_lsn.filter(|&lsn| used < lsn) {
                damaged.push(format!(
                    "`db` (the log) holds {used} bytes, fewer than the {lsn} its snapshot counts: \
                     truncated"
                ));
            }
        }
    }
    damaged
}

/// The length of `file` up to its last non-zero byte: the log is allocated ahead of what it holds
/// (and extended again by a failed open), so its length alone does not show a truncation.
fn used_length(file: &Path) -> std::io::Result<u64> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(file)?;
    let mut end = file.metadata()?.len();
    let mut chunk = vec![0u8; 1 << 16];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let part = &mut chunk[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(part)?;
        if let Some(last) = part.iter().rposition(|&byte| byte != 0) {
            return Ok(start + last as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// Whether `stored` (4 bytes, little-endian) is the CRC-32 of `body`, as the storage engine writes
/// it after its `conf` and snapshot files.
fn checksum_holds(body: &[u8], stored: &[u8]) -> bool {
    let mut crc = !0u32;
    for &byte in body {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    stored == (!crc).to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{FinishedSearch, SampleLabels, SearchManifest};

    fn sample(id: &str, labels: &[&str]) -> crate::data::Sample {
        crate::data::Sample {
            id: id.into(),
            conversation: "c".into(),
            turn: "1".into(),
            history: Vec::new(),
            labels: labels.iter().map(|label| label.to_string()).collect(),
        }
    }

    fn record(sample_id: &str) -> SampleRecord {
        let mut tree = crate::search::SearchTree::new();
        let first = tree.add_node(None, 0, vec!["Heat".into(), "Up".into()], None);
        tree.set_scores(first, vec![0.8, 0.3]);
        let second = tree.add_node(None, 1, vec!["Alien".into(), "Heat".into()], None);
        tree.set_scores(second, vec![0.9, 0.6]);
        SampleRecord::of_search(
            FinishedSearch {
                search: "s0".into(),
                seed: 0,
                searched_depth: 1,
                tree,
                calls: BTreeMap::new(),
                requests: BTreeMap::new(),
                unscored_items: 0,
                wall_ms: 1,
            },
            &sample(sample_id, &["Heat"]),
            &OutputStrategy::ALL,
        )
    }

    fn manifest() -> SweepManifest {
        SweepManifest {
            name: "t".into(),
            config_text: String::new(),
            overrides: Vec::new(),
            sweep_hash: "h".into(),
            code_version: "0".into(),
            seeds: vec![0],
            cells: Vec::new(),
            searches: vec![SearchManifest {
                key: "s0".into(),
                models: BTreeMap::new(),
                samples: ["a", "b"]
                    .into_iter()
                    .map(|id| SampleLabels {
                        id: id.into(),
                        labels: vec!["Heat".into()],
                    })
                    .collect(),
            }],
            shard: None,
            shard_source: None,
            created_unix: 0,
        }
    }

    /// A store with a manifest, records `a` and `b`, and one cached response.
    async fn sound_store(folder: &std::path::Path) -> Store {
        let store = Store::open(folder).unwrap();
        store.put_manifest(&manifest()).unwrap();
        store.put_record(&record("a")).await.unwrap();
        store.put_record(&record("b")).await.unwrap();
        let request = crate::model::ChatRequest::new(vec![crate::model::ChatMessage::user("hi")]);
        let response = crate::model::ChatResponse {
            model: "m".into(),
            choices: Vec::new(),
            usage: crate::model::Usage::default(),
        };
        store
            .response_cache()
            .unwrap()
            .put_from("m", &request, &response, 7)
            .await
            .unwrap();
        store
    }

    fn counts(report: &VerifyReport, tree: &str) -> (u64, u64, u64) {
        let check = report
            .trees
            .iter()
            .find(|check| check.tree == tree)
            .unwrap();
        (check.entries, check.ok, check.damaged)
    }

    #[test]
    fn the_checksum_is_crc_32() {
        assert!(checksum_holds(b"123456789", &0xCBF4_3926u32.to_le_bytes()));
    }

    #[tokio::test]
    async fn damaged_engine_files_are_named() {
        let folder = tempfile::tempdir().unwrap();
        let store = sound_store(folder.path()).await;
        store.flush().unwrap();
        drop(store);
        assert_eq!(damaged_files(folder.path()), Vec::<String>::new());
        let conf = folder.path().join("conf");
        let mut bytes = std::fs::read(&conf).unwrap();
        bytes[3] ^= 0xff;
        std::fs::write(&conf, bytes).unwrap();
        std::fs::remove_file(folder.path().join("db")).unwrap();
        assert_eq!(
            damaged_files(folder.path()),
            vec![
                "`conf` fails its checksum (truncated or overwritten)".to_string(),
                "`db` (the log) is missing or unreadable".to_string(),
            ]
        );
    }

    #[tokio::test]
    async fn a_sound_store_is_clean() {
        let folder = tempfile::tempdir().unwrap();
        let store = sound_store(folder.path()).await;
        let report = verify(&store);
        assert!(report.is_clean(), "{report:?}");
        assert_eq!(counts(&report, "records"), (2, 2, 0));
        assert_eq!(counts(&report, "responses"), (1, 1, 0));
        assert_eq!(counts(&report, "meta"), (1, 1, 0));
        assert!(report.outside_manifest.is_empty());
    }

    #[tokio::test]
    async fn every_kind_of_damage_is_named_by_tree_and_key() {
        let folder = tempfile::tempdir().unwrap();
        let store = sound_store(folder.path()).await;
        let records = store.tree("records").unwrap();
        // Undecodable bytes.
        records
            .insert(record_key("s0", 0, "a"), &b"{\"search\": \"s0\", \"se"[..])
            .unwrap();
        // A record under another unit's key.
        records
            .insert(
                record_key("s0", 0, "z"),
                serde_json::to_vec(&record("b")).unwrap(),
            )
            .unwrap();
        // Metrics that its tree does not give.
        let mut wrong = record("b");
        wrong.metrics.get_mut("vote").unwrap().sum.recall[0] = 0.0;
        records
            .insert(
                record_key("s0", 0, "b"),
                serde_json::to_vec(&wrong).unwrap(),
            )
            .unwrap();
        // A cached response cut short, and one that is not JSON.
        let responses = &store.responses;
        responses.insert(&[1u8; 32], vec![0x01, 2, 3]).unwrap();
        responses.insert(&[2u8; 32], b"{not json".to_vec()).unwrap();
        store.tree("failures").unwrap().insert("x", "[]").unwrap();

        let report = verify(&store);
        assert!(!report.is_clean());
        assert_eq!(counts(&report, "records"), (3, 0, 3));
        assert_eq!(counts(&report, "responses"), (3, 1, 2));
        assert_eq!(counts(&report, "failures"), (1, 0, 1));
        let problem = |key: &str| {
            report
                .damaged
                .iter()
                .find(|damage| damage.key == key)
                .map(|damage| damage.problem.clone())
                .unwrap_or_else(|| panic!("{key} not reported: {report:?}"))
        };
        assert!(problem(&record_key("s0", 0, "a")).contains("does not decode"));
        assert!(problem(&record_key("s0", 0, "z")).contains("holds the record of `s0/"));
        assert!(problem(&record_key("s0", 0, "b")).contains("`vote` metrics differ"));
        assert!(problem(&hex(&[1u8; 32])).contains("truncated"));
        assert!(problem(&hex(&[2u8; 32])).contains("does not decode"));
    }

    #[tokio::test]
    async fn a_missing_manifest_and_records_of_earlier_configurations() {
        let folder = tempfile::tempdir().unwrap();
        let store = sound_store(folder.path()).await;
        let mut other_seed = record("a");
        other_seed.seed = 5;
        store.put_record(&other_seed).await.unwrap();
        let report = verify(&store);
        assert!(report.is_clean(), "{report:?}");
        assert_eq!(report.outside_manifest, vec![record_key("s0", 5, "a")]);

        store.tree("manifest").unwrap().remove("manifest").unwrap();
        let report = verify(&store);
        assert_eq!(
            report.damaged,
            vec![Damage {
                tree: "manifest".into(),
                key: "manifest".into(),
                problem: "missing: no sweep manifest in this store".into(),
            }]
        );
    }
}
