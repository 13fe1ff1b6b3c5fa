//! The run, sweep (`[grid]`, `[[variant]]`) and synthesis config loaders, and `${NAME}` expansion
//! in config paths.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use grsu::config::env_paths::expand_env_path;
use grsu::config::load::ConfigFile;
use grsu::config::RunConfig;
use grsu::sweep::{Overrides, Sweep};
use grsu::synth::SynthConfig;

use super::check_config_error;
use crate::seeds::{self, SeedFiles};
use crate::{Structure, Target, Verdict};

/// Where `${GRSU_DATA}` points during a fuzz run: a temporary folder with small stand-ins of the
/// shared dataset files (their first lines), so that a config that validates does not hash
/// megabytes for each input. Call it before any thread starts (it sets the variable).
pub fn prepare_environment() {
    static PREPARED: OnceLock<()> = OnceLock::new();
    PREPARED.get_or_init(|| {
        // One folder for every run (the same small files each time), not one per process.
        let folder = std::env::temp_dir().join("grsu-fuzz-data");
        let files = SeedFiles::locate();
        for relative in [
            "redial/test_data_processed.jsonl",
            "redial/valid_data_processed.jsonl",
            "inspired/test_data_processed.jsonl",
            "inspired/test.tsv",
        ] {
            let small = seeds::lines(&files.data_file(relative), 0, 3, 4000).unwrap_or_default();
            write_stand_in(&folder.join(relative), &small);
        }
        let catalog = seeds::object_entries(&files.data_file("redial/id2info.json"), 0, 5)
            .unwrap_or_else(|| b"{}".to_vec());
        write_stand_in(&folder.join("redial/id2info.json"), &catalog);
        write_stand_in(
            &folder.join("inspired/movie2info.json"),
            b"{\"Heat (1995)\": {}}",
        );
        std::env::set_var("GRSU_DATA", &folder);
        std::env::set_var("GRSU_FUZZ_EMPTY", "");
    });
}

fn write_stand_in(path: &Path, contents: &[u8]) {
    if let Some(parent) = path.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    let _ = std::fs::write(path, contents);
}

/// The configs of the repository under `folder` (`config`, `config/paper`, `config/synth`).
fn configs(files: &SeedFiles, folder: &str) -> Vec<Vec<u8>> {
    seeds::files_in(&files.repository_file(folder), ".toml")
        .iter()
        .filter_map(|path| seeds::whole(path, 16 * 1024))
        .collect()
}

/// Decodes the bytes as a config file would be (UTF-8, or an error naming the line).
fn config_text(path: &Path, input: &[u8]) -> Result<String, Verdict> {
    ConfigFile::from_bytes(path, input.to_vec())
        .map(|file| file.text().to_string())
        .map_err(|error| check_config_error(&error, path))
}

fn config_path(files: &SeedFiles, relative: &str) -> PathBuf {
    files.repository_file(relative)
}

/// `RunConfig::load` (a plain config; one with a grid is refused with an error).
pub struct RunConfigTarget;

impl Target for RunConfigTarget {
    fn name(&self) -> &'static str {
        "config-run"
    }

    fn structure(&self) -> Structure {
        Structure::Toml
    }

    fn seeds(&self, files: &SeedFiles) -> Vec<Vec<u8>> {
        // The repository's configs as they are (a grid is refused) and without their cells.
        let mut seeds = configs(files, "config");
        seeds.extend(configs(files, "config/paper"));
        let plain: Vec<Vec<u8>> = seeds
            .iter()
            .filter_map(|config| {
                let mut table: toml::Table = std::str::from_utf8(config).ok()?.parse().ok()?;
                table.remove("grid");
                table.remove("variant");
                toml::to_string(&table).ok().map(String::into_bytes)
            })
            .collect();
        seeds.extend(plain);
        seeds
    }

    fn run(&self, input: &[u8]) -> Verdict {
        static PATH: OnceLock<PathBuf> = OnceLock::new();
        let path = PATH.get_or_init(|| config_path(&SeedFiles::locate(), "config/fuzz-input.toml"));
        let text = match config_text(path, input) {
            Ok(text) => text,
            Err(verdict) => return verdict,
        };
        match RunConfig::parse(&text, path) {
            Ok(_) => Verdict::Accepted,
            Err(error) => check_config_error(&error, path),
        }
    }
}

/// `Sweep::load`: every `[grid]` and `[[variant]]` cell expanded and validated.
pub struct SweepTarget;

impl Target for SweepTarget {
    fn name(&self) -> &'static str {
        "config-sweep"
    }

    fn structure(&self) -> Structure {
        Structure::Toml
    }

    fn seeds(&self, files: &SeedFiles) -> Vec<Vec<u8>> {
        let mut seeds = configs(files, "config");
        seeds.extend(configs(files, "config/paper"));
        seeds
    }

    fn run(&self, input: &[u8]) -> Verdict {
        static PATH: OnceLock<PathBuf> = OnceLock::new();
        let path = PATH.get_or_init(|| config_path(&SeedFiles::locate(), "config/fuzz-input.toml"));
        let text = match config_text(path, input) {
            Ok(text) => text,
            Err(verdict) => return verdict,
        };
        match Sweep::parse(&text, path, &Overrides::default()) {
            Ok(sweep) => {
                if sweep.cells.is_empty() {
                    return Verdict::BadError("a sweep without cells was accepted".into());
                }
                let names: std::collections::HashSet<&str> =
                    sweep.cells.iter().map(|cell| cell.name.as_str()).collect();
                if names.len() != sweep.cells.len() {
                    return Verdict::BadError("two cells share a name".into());
                }
                let _ = sweep.hash();
                Verdict::Accepted
            }
            Err(error) => check_config_error(&error, path),
        }
    }
}

/// `SynthConfig::load`.
pub struct SynthConfigTarget;

impl Target for SynthConfigTarget {
    fn name(&self) -> &'static str {
        "config-synth"
    }

    fn structure(&self) -> Structure {
        Structure::Toml
    }

    fn seeds(&self, files: &SeedFiles) -> Vec<Vec<u8>> {
        configs(files, "config/synth")
    }

    fn run(&self, input: &[u8]) -> Verdict {
        static PATH: OnceLock<PathBuf> = OnceLock::new();
        let path =
            PATH.get_or_init(|| config_path(&SeedFiles::locate(), "config/synth/fuzz-input.toml"));
        let text = match config_text(path, input) {
            Ok(text) => text,
            Err(verdict) => return verdict,
        };
        match SynthConfig::parse(&text, path) {
            Ok(config) => {
                let _ = config.output_hash("critique");
                Verdict::Accepted
            }
            Err(error) => check_config_error(&error, path),
        }
    }
}

/// `${NAME}` and `${NAME:-default}` expansion of one config path.
pub struct EnvPaths;

impl Target for EnvPaths {
    fn name(&self) -> &'static str {
        "config-env-paths"
    }

    fn structure(&self) -> Structure {
        Structure::Text
    }

    fn seeds(&self, files: &SeedFiles) -> Vec<Vec<u8>> {
        // The path values of the repository's configs, and a few written for the syntax.
        let mut seeds: Vec<Vec<u8>> = ["config", "config/paper", "config/synth"]
            .iter()
            .flat_map(|folder| configs(files, folder))
            .filter_map(|config| {
                let table: toml::Table = std::str::from_utf8(&config).ok()?.parse().ok()?;
                let data = table.get("data")?.as_table()?;
                Some(
                    ["path", "catalog"]
                        .iter()
                        .filter_map(|key| data.get(*key)?.as_str().map(|s| s.as_bytes().to_vec()))
                        .collect::<Vec<_>>(),
                )
            })
            .flatten()
            .collect();
        for written in [
            "${GRSU_DATA}/redial/id2info.json",
            "${UNSET_FUZZ_VARIABLE:-../data}/a.jsonl",
            "${GRSU_FUZZ_EMPTY:-fallback}/x",
            "${A}${B:-b}${C:-}",
            "${",
            "plain/path",
        ] {
            seeds.push(written.as_bytes().to_vec());
        }
        seeds
    }

    fn max_len(&self) -> usize {
        4096
    }

    fn run(&self, input: &[u8]) -> Verdict {
        #[cfg(unix)]
        let path = {
            use std::os::unix::ffi::OsStrExt;
            Path::new(std::ffi::OsStr::from_bytes(input))
        };
        #[cfg(not(unix))]
        let owned = String::from_utf8_lossy(input).into_owned();
        #[cfg(not(unix))]
        let path = Path::new(&owned);
        match expand_env_path(path) {
            Ok(_) => Verdict::Accepted,
            Err(problem) => {
                let text = path.to_string_lossy();
                if problem.contains(text.as_ref()) {
                    Verdict::Rejected
                } else {
                    Verdict::BadError(format!("the error does not quote the path: {problem}"))
                }
            }
        }
    }
}
