//! One target per parser that reads outside data, and the checks on its errors.
//!
//! File-based readers are driven through their from-text entry points with the path a real load
//! would have (`Dataset::parse`, `Catalog::parse`, `parse_predictions`, `RunConfig::parse`,
//! `Sweep::parse`, `SynthConfig::parse`), after the same UTF-8 decoding as the load
//! ([`InputError::decode_text`], [`grsu::config::load::ConfigFile::from_bytes`]).

mod config;
mod data;
mod openai;
mod selftest;
mod store;

use std::path::Path;

use grsu::config::ConfigError;
use grsu::InputError;

use crate::{Target, Verdict};

pub use config::prepare_environment;

/// Every target that `--target all` runs, in order.
pub fn all() -> Vec<Box<dyn Target>> {
    vec![
        Box::new(data::DatasetTarget::grsu()),
        Box::new(data::DatasetTarget::ievalm()),
        Box::new(data::DatasetTarget::inspired_tsv()),
        Box::new(data::TsvMerge),
        Box::new(data::CatalogTarget::movie2info()),
        Box::new(data::CatalogTarget::id2info()),
        Box::new(data::Predictions),
        Box::new(config::RunConfigTarget),
        Box::new(config::SweepTarget),
        Box::new(config::SynthConfigTarget),
        Box::new(config::EnvPaths),
        Box::new(openai::Response),
        Box::new(openai::ErrorBody),
        Box::new(openai::CrsList::new()),
        Box::new(openai::Critique),
        Box::new(openai::Score::generate()),
        Box::new(openai::Score::forced()),
        Box::new(store::Record),
        Box::new(store::Manifest),
    ]
}

/// Targets that check the harness itself (a panic, a hang, an unbounded allocation on a marker
/// byte); never part of `all`.
pub fn self_tests() -> Vec<Box<dyn Target>> {
    selftest::all()
}

/// The target named `name`, self-tests included.
pub fn by_name(name: &str) -> Option<Box<dyn Target>> {
    all()
        .into_iter()
        .chain(self_tests())
        .find(|target| target.name() == name)
}

/// The lines of a text as editors count them (a final line without `\n` counts).
fn line_count(text: &str) -> usize {
    text.split('\n').count().max(1)
}

/// Whether a dataset, catalog or predictions error says where: it names the file, and a line
/// within the file (and a field, where it is about one).
pub fn check_input_error(error: &InputError, path: &Path, text: &str) -> Verdict {
    let shown = error.to_string();
    let file = path.display().to_string();
    if !shown.contains(&file) {
        return Verdict::BadError(format!("the error does not name the file {file}: {shown}"));
    }
    let lines = line_count(text);
    match error {
        InputError::Field { line, field, .. } => {
            if field.trim().is_empty() {
                return Verdict::BadError(format!("the error names no field: {shown}"));
            }
            if *line == 0 || *line > lines {
                return Verdict::BadError(format!(
                    "the error names line {line} of a file of {lines} lines: {shown}"
                ));
            }
        }
        InputError::MalformedJson { line, .. } | InputError::Encoding { line, .. } => {
            if *line == 0 || *line > lines {
                return Verdict::BadError(format!(
                    "the error names line {line} of a file of {lines} lines: {shown}"
                ));
            }
        }
        InputError::Empty { .. } => {}
        InputError::Io { .. } | InputError::UnknownName { .. } => {
            return Verdict::BadError(format!("not an error about the file's contents: {shown}"));
        }
    }
    Verdict::Rejected
}

/// Whether a config error says where: it names the file (or its cell), and the key or the line.
pub fn check_config_error(error: &ConfigError, path: &Path) -> Verdict {
    let shown = error.to_string();
    let file = path.display().to_string();
    if !shown.starts_with(&file) {
        return Verdict::BadError(format!("the error does not name the file {file}: {shown}"));
    }
    match error {
        ConfigError::Read { .. } => {
            Verdict::BadError(format!("a read error for text given in memory: {shown}"))
        }
        ConfigError::Parse { message, .. } if message.trim().is_empty() => {
            Verdict::BadError(format!("the error has no message: {shown}"))
        }
        ConfigError::Invalid { key: "", .. } => {
            Verdict::BadError(format!("the error names no key: {shown}"))
        }
        _ => Verdict::Rejected,
    }
}
