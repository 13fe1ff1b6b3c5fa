//! Seeds: small slices of the real files, read at run time from the shared data folder
//! (`GRSU_SHARED_DATA`, default `../shared/data` from the repository root), its `fixtures`
//! neighbour and the repository's own configs and demo data. Each seed is kept to a few KB so that
//! one input runs in microseconds. A missing file gives no seed (the built-in ones remain).

use std::path::{Path, PathBuf};

/// Where seeds are read from.
#[derive(Debug, Clone)]
pub struct SeedFiles {
    /// The repository root.
    pub repository: PathBuf,
    /// The shared data folder (`redial/`, `inspired/`).
    pub data: PathBuf,
    /// The shared fixtures folder (`openai/`, `title_match_cases.jsonl`).
    pub fixtures: PathBuf,
}

impl SeedFiles {
    /// The default locations (the shared data folder from `GRSU_SHARED_DATA`).
    pub fn locate() -> Self {
        let repository = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let data = match std::env::var_os("GRSU_SHARED_DATA") {
            Some(path) => {
                let path = PathBuf::from(path);
                if path.is_relative() {
                    repository.join(path)
                } else {
                    path
                }
            }
            None => repository.join("../shared/data"),
        };
        let fixtures = data.join("../fixtures");
        SeedFiles {
            repository,
            data,
            fixtures,
        }
    }

    pub fn data_file(&self, relative: &str) -> PathBuf {
        self.data.join(relative)
    }

    pub fn fixture(&self, relative: &str) -> PathBuf {
        self.fixtures.join(relative)
    }

    pub fn repository_file(&self, relative: &str) -> PathBuf {
        self.repository.join(relative)
    }
}

/// Lines `skip..skip + count` of a file, stopping early past `max_bytes` (one line at least).
pub fn lines(path: &Path, skip: usize, count: usize, max_bytes: usize) -> Option<Vec<u8>> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut seed = String::new();
    for line in text.lines().skip(skip).take(count) {
        if !seed.is_empty() && seed.len() + line.len() > max_bytes {
            break;
        }
        seed.push_str(line);
        seed.push('\n');
    }
    (!seed.is_empty()).then(|| seed.into_bytes())
}

/// The header and rows `skip..skip + count` of a tab-separated file.
pub fn tsv_rows(path: &Path, skip: usize, count: usize, max_bytes: usize) -> Option<Vec<u8>> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut all = text.lines();
    let header = all.next()?;
    let mut seed = format!("{header}\n");
    for line in all.skip(skip).take(count) {
        if seed.len() + line.len() > max_bytes {
            break;
        }
        seed.push_str(line);
        seed.push('\n');
    }
    Some(seed.into_bytes())
}

/// Entries `skip..skip + count` of a JSON object file, as a smaller object.
pub fn object_entries(path: &Path, skip: usize, count: usize) -> Option<Vec<u8>> {
    let text = std::fs::read_to_string(path).ok()?;
    let serde_json::Value::Object(entries) = serde_json::from_str(&text).ok()? else {
        return None;
    };
    let slice: serde_json::Map<String, serde_json::Value> =
        entries.into_iter().skip(skip).take(count).collect();
    serde_json::to_vec(&slice).ok()
}

/// A whole small file (cut to `max_bytes`).
pub fn whole(path: &Path, max_bytes: usize) -> Option<Vec<u8>> {
    let mut bytes = std::fs::read(path).ok()?;
    bytes.truncate(max_bytes);
    Some(bytes)
}

/// The files of a folder whose names end with `suffix`, sorted.
pub fn files_in(folder: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.to_string_lossy().ends_with(suffix))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}
