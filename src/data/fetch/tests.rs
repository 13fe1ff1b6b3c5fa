use std::path::PathBuf;

use super::*;

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared data folder, as tests/support finds it: skipped when absent, except under CI.
fn shared_data() -> Option<PathBuf> {
    let path = std::env::var_os("GRSU_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| repository().join("../shared/data"));
    if path.join("redial/id2info.json").is_file() {
        return Some(path);
    }
    assert!(
        std::env::var("CI").map_or(true, |value| value != "true"),
        "shared data not found at {} (set GRSU_SHARED_DATA)",
        path.display()
    );
    eprintln!("skipping: shared data not found at {}", path.display());
    None
}

fn row(dataset: &'static str, file: &'static str, contents: &[u8]) -> Source {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("x");
    std::fs::write(&path, contents).unwrap();
    let (size, sha256) = hash_file(&path).unwrap();
    Source {
        dataset: dataset.into(),
        file: file.into(),
        url: "http://127.0.0.1:9/unused".into(),
        sha256: Some(sha256.into()),
        size: Some(size),
        min_size: None,
        role: FileRole::Samples(crate::data::DatasetFormat::Ievalm),
        origin: "".into(),
    }
}

#[test]
fn the_builtin_table_is_pinned_and_checkable() {
    check_table(SOURCES).unwrap();
    assert_eq!(datasets(SOURCES), ["redial", "inspired"]);
    for source in SOURCES {
        let path = source.relative_path();
        let rest = source
            .url
            .strip_prefix("https://raw.githubusercontent.com/")
            .unwrap_or_else(|| panic!("{path}: not a raw.githubusercontent.com url"));
        let commit = rest.split('/').nth(2).unwrap();
        assert!(
            commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit()),
            "{path}: the url is not pinned to a commit: {}",
            source.url
        );
        assert!(
            source.sha256.is_some() && source.size.is_some() || source.min_size.is_some(),
            "{path}: neither a checksum and size nor a size bound"
        );
        assert!(!source.origin.is_empty(), "{path}: no origin");
    }
    for dataset in datasets(SOURCES) {
        let catalogs = SOURCES
            .iter()
            .filter(|source| source.dataset == dataset)
            .filter(|source| matches!(source.role, FileRole::Catalog(_)))
            .count();
        assert_eq!(catalogs, 1, "{dataset}: one catalog");
    }
}

/// Every `${GRSU_DATA:-…}/<path>` of the paper configs is a file of the table, so that a fetched
/// folder is what they read.
#[test]
fn the_layout_is_what_the_paper_configs_read() {
    let mut read = 0;
    for entry in std::fs::read_dir(repository().join("config/paper")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
        {
            let Some(at) = line.find("${GRSU_DATA") else {
                continue;
            };
            let after = &line[at..];
            let relative = after[after.find('}').unwrap() + 2..]
                .trim_end_matches('"')
                .to_string();
            assert!(
                SOURCES
                    .iter()
                    .any(|source| source.relative_path() == relative),
                "{}: reads {relative}, which the table does not fetch",
                path.display()
            );
            read += 1;
        }
    }
    assert!(read >= 24, "the configs read {read} data paths");
}

#[test]
fn datasets_are_selected_by_name() {
    assert_eq!(select(SOURCES, "all").unwrap().len(), SOURCES.len());
    let redial = select(SOURCES, "redial").unwrap();
    assert_eq!(redial.len(), 3);
    assert!(redial.iter().all(|source| source.dataset == "redial"));
    let error = select(SOURCES, "movielens").unwrap_err();
    assert_eq!(
        error,
        "unknown dataset `movielens`; expected one of: redial, inspired, all"
    );
}

#[test]
fn a_mirror_replaces_the_base_of_every_url() {
    let source = &SOURCES[2];
    assert_eq!(
        url_of(source, Some("http://mirror.lan/grsu/")),
        "http://mirror.lan/grsu/redial/id2info.json"
    );
    assert_eq!(url_of(source, None), source.url);
}

#[test]
fn a_replacement_table_is_read_and_checked() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("sources.toml");
    std::fs::write(
        &path,
        r#"
[[source]]
dataset = "redial"
file = "id2info.json"
url = "http://127.0.0.1:1/redial/id2info.json"
sha256 = "7bdfe9a9c7f1b4d59aa9a5aeba0029071fd5a7232b61c8257212a335ffe424f7"
size = 2745351
role = { kind = "catalog", format = "id2info" }

[[source]]
dataset = "redial"
file = "test_data_processed.jsonl"
url = "http://127.0.0.1:1/redial/test_data_processed.jsonl"
min_size = 10
role = { kind = "samples", format = "ievalm" }
"#,
    )
    .unwrap();
    let table = load_table(&path).unwrap();
    assert_eq!(table.len(), 2);
    assert_eq!(
        table[0].role,
        FileRole::Catalog(crate::catalog::CatalogFormat::Id2info)
    );
    assert_eq!(table[1].sha256, None);

    std::fs::write(
        &path,
        "[[source]]\ndataset = \"a\"\nfile = \"../b\"\nurl = \"u\"\nrole = { kind = \"catalog\", format = \"auto\" }\n",
    )
    .unwrap();
    let error = load_table(&path).unwrap_err();
    assert!(
        error.contains("`../b` is not a plain folder or file name"),
        "{error}"
    );
    std::fs::write(&path, "[[source]]\ndataset = 1\n").unwrap();
    let error = load_table(&path).unwrap_err();
    assert!(error.contains("not a source table"), "{error}");
}

#[test]
fn verification_names_what_differs() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("file");
    std::fs::write(&path, b"hello").unwrap();
    let mut source = row("d", "file", b"hello");
    assert!(verify(&path, &source).unwrap().checksum_checked);
    std::fs::write(&path, b"hellO").unwrap();
    let error = verify(&path, &source).unwrap_err();
    assert!(error.starts_with("checksum mismatch: sha256 "), "{error}");
    std::fs::write(&path, b"hell").unwrap();
    let error = verify(&path, &source).unwrap_err();
    assert!(
        error.starts_with("size mismatch: 4 bytes, expected 5"),
        "{error}"
    );

    // Without a checksum: a size bound and a load in the file's format.
    source.sha256 = None;
    source.size = None;
    source.min_size = Some(10);
    source.role = FileRole::Catalog(crate::catalog::CatalogFormat::Movie2info);
    let catalog = r#"{"Heat (1995)": {"genre": ["Crime"], "star": [], "director": [], "writer": [], "plot": ""}}"#;
    std::fs::write(&path, catalog).unwrap();
    let verified = verify(&path, &source).unwrap();
    assert!(!verified.checksum_checked);
    assert_eq!(verified.sha256.len(), 64);
    std::fs::write(&path, &catalog[..catalog.len() - 3]).unwrap();
    let error = verify(&path, &source).unwrap_err();
    assert!(error.starts_with("not a catalog: "), "{error}");
    std::fs::write(&path, "{}").unwrap();
    let error = verify(&path, &source).unwrap_err();
    assert!(error.starts_with("too small: 2 bytes"), "{error}");
}

#[tokio::test]
async fn a_local_folder_is_copied_nested_or_flat_and_a_second_run_copies_nothing() {
    let from = tempfile::tempdir().unwrap();
    let to = tempfile::tempdir().unwrap();
    std::fs::create_dir(from.path().join("a")).unwrap();
    std::fs::write(from.path().join("a/one.txt"), b"one").unwrap();
    std::fs::write(from.path().join("two.txt"), b"two").unwrap();
    let table = vec![
        row("a", "one.txt", b"one"),
        row("a", "two.txt", b"two"),
        row("b", "three.txt", b"three"),
    ];
    let options = FetchOptions::new(
        to.path().to_path_buf(),
        FetchFrom::Folder(from.path().to_path_buf()),
    );
    let report = fetch(&table, &options, &Silent).await;
    assert_eq!(report.transferred(), 2);
    assert_eq!(std::fs::read(to.path().join("a/one.txt")).unwrap(), b"one");
    assert_eq!(std::fs::read(to.path().join("a/two.txt")).unwrap(), b"two");
    assert_eq!(report.failures.len(), 1);
    let failure = &report.failures[0];
    assert_eq!(failure.file, "b/three.txt");
    assert_eq!(failure.kind, FailureKind::NotFound);
    assert!(failure.local);
    assert!(!to.path().join("b/three.txt").exists());

    let again = fetch(&table[..2], &options, &Silent).await;
    assert_eq!(again.transferred(), 0);
    assert!(again
        .files
        .iter()
        .all(|file| file.action == Action::Present));
}

#[tokio::test]
async fn a_wrong_local_file_is_not_copied_and_a_wrong_present_file_is_replaced() {
    let from = tempfile::tempdir().unwrap();
    let to = tempfile::tempdir().unwrap();
    std::fs::write(from.path().join("one.txt"), b"ONE").unwrap();
    let table = vec![row("a", "one.txt", b"one")];
    let options = FetchOptions::new(
        to.path().to_path_buf(),
        FetchFrom::Folder(from.path().to_path_buf()),
    );
    let report = fetch(&table, &options, &Silent).await;
    let failure = &report.failures[0];
    assert_eq!(failure.kind, FailureKind::Mismatch);
    assert!(failure.message.contains("checksum mismatch"), "{failure}");
    assert!(failure.to_string().starts_with("a/one.txt: "), "{failure}");
    assert!(!to.path().join("a/one.txt").exists());
    assert!(!to.path().join("a/one.txt.partial").exists());

    std::fs::write(from.path().join("one.txt"), b"one").unwrap();
    std::fs::write(to.path().join("a/one.txt"), b"old").unwrap();
    let report = fetch(&table, &options, &Silent).await;
    assert!(report.failures.is_empty());
    assert!(report.files[0].replaced.is_some());
    assert_eq!(std::fs::read(to.path().join("a/one.txt")).unwrap(), b"one");
}

/// The built-in checksums are those of the shared copies of the public files.
#[test]
fn the_shared_copies_match_the_table() {
    let Some(data) = shared_data() else {
        return;
    };
    let mut checked = 0;
    for source in SOURCES {
        let path = target_path(&data, source);
        if !path.is_file() {
            continue;
        }
        let verified = verify(&path, source).unwrap_or_else(|error| panic!("{path:?}: {error}"));
        assert!(verified.checksum_checked, "{}", source.relative_path());
        checked += 1;
    }
    assert_eq!(checked, 5, "redial's three files and inspired's two");
}

#[test]
fn stats_are_those_of_the_paper_protocol() {
    let Some(data) = shared_data() else {
        return;
    };
    let lines = dataset_stats(SOURCES, &data);
    let redial = lines
        .iter()
        .find(|line| line.file == "redial/test_data_processed.jsonl")
        .unwrap();
    let stats = redial.stats.as_ref().unwrap();
    assert_eq!((stats.samples, stats.labels), (2924, 3805));
    assert_eq!(redial.catalog.as_ref().unwrap().0, "redial/id2info.json");
    let inspired = lines
        .iter()
        .find(|line| line.file == "inspired/test_data_processed.jsonl")
        .unwrap();
    assert!(inspired.stats.is_ok());
    if !data.join("inspired/movie2info.json").is_file() {
        assert_eq!(
            inspired.catalog_missing.as_deref(),
            Some("inspired/movie2info.json is missing")
        );
    }
}
