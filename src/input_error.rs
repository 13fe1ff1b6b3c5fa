//! Errors for bad input files (datasets, catalogs, predictions).
//!
//! A researcher who points grsu at a 3,000-line file with one broken line needs to know which file,
//! which line and which field, not a backtrace. Every reader therefore reports through
//! [`InputError`], and loads are all-or-nothing: a reader that fails returns no partial data.

use std::path::{Path, PathBuf};

/// An input file that could not be used. Lines are 1-based, as editors show them.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file holds no record at all.
    #[error("{path}: the file is empty")]
    Empty { path: PathBuf },
    /// A line (or the whole file, for single-document JSON) is not valid JSON.
    #[error("{path}:{line}: malformed JSON: {message}")]
    MalformedJson {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// A record lacks a field, or a field has the wrong type or an unknown value.
    #[error("{path}:{line}: field `{field}`: {problem}")]
    Field {
        path: PathBuf,
        line: usize,
        field: String,
        problem: String,
    },
    /// The file is not UTF-8 text.
    #[error("{path}:{line}: not UTF-8 text (byte {column} of the line)")]
    Encoding {
        path: PathBuf,
        line: usize,
        column: usize,
    },
    /// A value given on the command line or in a config is not one of the accepted names.
    #[error("unknown {what} `{name}`; expected one of: {expected}")]
    UnknownName {
        what: &'static str,
        name: String,
        expected: String,
    },
}

impl InputError {
    /// A stable, machine-readable label per variant (for JSON output and logs).
    pub fn label(&self) -> &'static str {
        match self {
            InputError::Io { .. } => "io",
            InputError::Empty { .. } => "empty",
            InputError::MalformedJson { .. } => "malformed_json",
            InputError::Field { .. } => "field",
            InputError::Encoding { .. } => "encoding",
            InputError::UnknownName { .. } => "unknown_name",
        }
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        InputError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// The text of the file at `path`; bytes that are not UTF-8 are an error naming their line.
    pub(crate) fn read_text(path: &Path) -> Result<String, Self> {
        let bytes = std::fs::read(path).map_err(|source| InputError::io(path, source))?;
        Self::decode_text(path, bytes)
    }

    /// `bytes` (the contents of `path`) as text; bytes that are not UTF-8 are
    /// [`InputError::Encoding`] naming the 1-based line and byte of the first bad one.
    pub fn decode_text(path: &Path, bytes: Vec<u8>) -> Result<String, Self> {
        String::from_utf8(bytes).map_err(|error| {
            let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
            let line_start = valid
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |at| at + 1);
            InputError::Encoding {
                path: path.to_path_buf(),
                line: 1 + valid.iter().filter(|&&b| b == b'\n').count(),
                column: 1 + valid.len() - line_start,
            }
        })
    }
}

/// Where a record came from: the file and 1-based line, used to build precise errors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Location<'a> {
    pub path: &'a Path,
    pub line: usize,
}

impl Location<'_> {
    pub fn field(&self, field: impl Into<String>, problem: impl Into<String>) -> InputError {
        InputError::Field {
            path: self.path.to_path_buf(),
            line: self.line,
            field: field.into(),
            problem: problem.into(),
        }
    }

    pub fn malformed(&self, message: impl std::fmt::Display) -> InputError {
        InputError::MalformedJson {
            path: self.path.to_path_buf(),
            line: self.line,
            message: message.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_that_are_not_utf8_name_their_line() {
        let error =
            InputError::decode_text(Path::new("d.jsonl"), b"{}\n{\"a\": \"\xff\"}\n".to_vec())
                .unwrap_err();
        assert!(
            matches!(
                error,
                InputError::Encoding {
                    line: 2,
                    column: 8,
                    ..
                }
            ),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "d.jsonl:2: not UTF-8 text (byte 8 of the line)"
        );
        assert_eq!(error.label(), "encoding");
    }
}
