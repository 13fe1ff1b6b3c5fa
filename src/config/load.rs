//! Reading a config file, the one way run configs ([`super::RunConfig::load`]), sweeps
//! ([`crate::sweep::Sweep::load_with`]) and synthesis configs ([`crate::synth::SynthConfig::load`])
//! do it: the file is read ([`ConfigFile::read`]), its text parsed into a TOML document
//! ([`ConfigFile::document`]) and deserialised ([`deserialize`]) with errors naming the file, its
//! paths expanded and resolved ([`PathResolver`]: `${NAME}` and `${NAME:-default}`, then relative
//! paths against the config's folder), and any error of the whole gets the line and column of its
//! key in the file ([`ConfigFile::build`]).

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::models::{table_of, ModelRoleConfig};
use super::run_config::DataSection;
use super::ConfigError;
use crate::model::role::Role;

/// A config file's path and text.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    path: PathBuf,
    text: String,
}

impl ConfigFile {
    /// Reads the file; an unreadable one is [`ConfigError::Read`] naming it.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        ConfigFile::from_bytes(path, bytes)
    }

    /// A config's bytes as if read from `path`; bytes that are not UTF-8 are
    /// [`ConfigError::Parse`] naming the line and column of the first bad one.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Self, ConfigError> {
        let text = String::from_utf8(bytes).map_err(|error| {
            let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
            let line_start = valid
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |at| at + 1);
            ConfigError::parse(
                path.display().to_string(),
                format!(
                    "not UTF-8 text at line {}, column {}",
                    1 + valid.iter().filter(|&&b| b == b'\n').count(),
                    1 + valid.len() - line_start
                ),
            )
        })?;
        Ok(ConfigFile::from_text(path, text))
    }

    /// A config's text as if read from `path` (its relative paths resolve against its folder).
    pub fn from_text(path: &Path, text: impl Into<String>) -> Self {
        ConfigFile {
            path: path.to_path_buf(),
            text: text.into(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// How errors name the file.
    pub fn label(&self) -> String {
        self.path.display().to_string()
    }

    /// The TOML document; a syntax error names the file, the line and the column.
    pub fn document(&self) -> Result<toml::Table, ConfigError> {
        self.text
            .parse::<toml::Table>()
            .map_err(|error| ConfigError::parse(self.label(), error.to_string()).with_source(error))
    }

    /// Runs `build` on this file; an error it returns gets the line and column of its key.
    pub fn build<T>(
        &self,
        build: impl FnOnce(&ConfigFile) -> Result<T, ConfigError>,
    ) -> Result<T, ConfigError> {
        build(self).map_err(|error| error.located(&self.text))
    }
}

/// Deserialises a document (a config file's, or a sweep cell's) into a config type; an unknown
/// key or a bad value is [`ConfigError::Parse`] naming `label` and the whole dotted key, array
/// positions included (`models.user.endpoints[1]`, `search.beam_widht`), which
/// [`ConfigError::located`] turns into a line and column.
pub fn deserialize<T: DeserializeOwned>(
    document: toml::Table,
    label: &str,
) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(toml::Value::Table(document)).map_err(|error| {
        let path = error.path().to_string();
        let error = error.into_inner();
        let message = error
            .message()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        // An unknown or missing key may be reported at its table: the key is the table's and its.
        let named = super::locate::key_in_message(&message).filter(|_| {
            message.starts_with("unknown field") || message.starts_with("missing field")
        });
        let key = match (path.as_str(), named) {
            (".", Some(named)) => named.to_string(),
            (path, Some(named)) if path.rsplit('.').next() != Some(named) => {
                format!("{path}.{named}")
            }
            (".", None) => return ConfigError::parse(label, message).with_source(error),
            (path, _) => path.to_string(),
        };
        ConfigError::at_key(label, key, message).with_source(error)
    })
}

/// Resolves the paths of a config: `${NAME}` and `${NAME:-default}` are expanded, then a relative
/// path is taken from the folder of the config file.
#[derive(Debug, Clone, Copy)]
pub struct PathResolver<'a> {
    base: &'a Path,
    label: &'a str,
}

impl<'a> PathResolver<'a> {
    /// For the config at `config_path`; `label` names it (or its cell) in errors.
    pub fn new(config_path: &'a Path, label: &'a str) -> Self {
        PathResolver {
            base: config_path.parent().unwrap_or(Path::new(".")),
            label,
        }
    }

    /// Resolves `path`, the value of `key` in `table`; an unset variable without a default is an
    /// error naming the key.
    pub fn resolve(
        &self,
        table: &'static str,
        key: &'static str,
        path: &mut PathBuf,
    ) -> Result<(), ConfigError> {
        let expanded = super::env_paths::expand_env_path(path)
            .map_err(|problem| ConfigError::invalid(self.label, table, key, problem))?;
        *path = if expanded.is_relative() {
            self.base.join(expanded)
        } else {
            expanded
        };
        Ok(())
    }

    /// Resolves the paths of a `[data]` table: `path` and `catalog`.
    pub fn resolve_data(&self, data: &mut DataSection) -> Result<(), ConfigError> {
        self.resolve("data", "path", &mut data.path)?;
        self.resolve("data", "catalog", &mut data.catalog)
    }

    /// Resolves the paths of `role`'s table, where they are set: `embedded_model` and `ca_file`.
    pub fn resolve_embedded_model(
        &self,
        role: Role,
        settings: &mut ModelRoleConfig,
    ) -> Result<(), ConfigError> {
        self.resolve_optional(
            table_of(role),
            "embedded_model",
            settings.embedded_model.as_mut(),
        )?;
        self.resolve_optional(table_of(role), "ca_file", settings.ca_file.as_mut())
    }

    /// [`PathResolver::resolve`] for an optional path.
    pub fn resolve_optional(
        &self,
        table: &'static str,
        key: &'static str,
        path: Option<&mut PathBuf>,
    ) -> Result<(), ConfigError> {
        match path {
            Some(path) => self.resolve(table, key, path),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_expand_then_resolve_against_the_config_folder() {
        let resolver = PathResolver::new(Path::new("/configs/run.toml"), "run.toml");
        let mut relative = PathBuf::from("${GRSU_TEST_SURELY_UNSET:-data}/a.jsonl");
        resolver.resolve("data", "path", &mut relative).unwrap();
        assert_eq!(relative, Path::new("/configs/data/a.jsonl"));
        let mut absolute = PathBuf::from("/srv/a.jsonl");
        resolver.resolve("data", "path", &mut absolute).unwrap();
        assert_eq!(absolute, Path::new("/srv/a.jsonl"));
        let mut unset = PathBuf::from("${GRSU_TEST_SURELY_UNSET}/a.jsonl");
        let error = resolver
            .resolve("data", "catalog", &mut unset)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("run.toml: [data] catalog: ") && error.contains("is not set"),
            "{error}"
        );
    }

    #[test]
    fn syntax_errors_name_the_file_and_line() {
        let file = ConfigFile::from_text(Path::new("/configs/bad.toml"), "[run\nname = 1\n");
        let error = file.document().unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with("/configs/bad.toml: ") && message.contains("line 1"),
            "{message}"
        );
        assert!(
            std::error::Error::source(&error).is_some(),
            "the TOML error is kept"
        );
        let bytes = b"[run]\nname = \"\xc3(\"\n".to_vec();
        let error = ConfigFile::from_bytes(Path::new("/configs/bad.toml"), bytes).unwrap_err();
        assert_eq!(
            error.to_string(),
            "/configs/bad.toml: not UTF-8 text at line 2, column 9"
        );
        let missing = ConfigFile::read(Path::new("/nowhere/at/all.toml")).unwrap_err();
        assert!(matches!(missing, ConfigError::Read { .. }));
        assert!(std::error::Error::source(&missing).is_some());
    }
}
