//! How a subcommand fails: bad input (exit code 2) or anything else (exit code 1).

use std::fmt;

use grsu::InputError;

/// A failed subcommand, with the exit code it maps to.
#[derive(Debug)]
pub enum CliFailure {
    /// A file or argument that cannot be used; exit code 2.
    Input(InputError),
    /// A config (or output folder) that cannot be used; exit code 2.
    Config(String),
    /// A run that stopped before its work was done, with the exit code that says why (3: a
    /// model role's endpoints all kept failing, 143: SIGTERM, 130: Ctrl-C), or a check that
    /// found damage (4: `grsu verify`).
    Stopped { code: u8, message: String },
    /// Anything else (an I/O failure on stdout, a bug); exit code 1.
    Other(anyhow::Error),
}

impl CliFailure {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliFailure::Input(_) | CliFailure::Config(_) => 2,
            CliFailure::Stopped { code, .. } => *code,
            CliFailure::Other(_) => 1,
        }
    }
}

impl fmt::Display for CliFailure {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliFailure::Input(error) => write!(formatter, "{error}"),
            CliFailure::Config(message) | CliFailure::Stopped { message, .. } => {
                write!(formatter, "{message}")
            }
            CliFailure::Other(error) => write!(formatter, "{error:#}"),
        }
    }
}

impl From<InputError> for CliFailure {
    fn from(error: InputError) -> Self {
        CliFailure::Input(error)
    }
}

impl From<std::io::Error> for CliFailure {
    fn from(error: std::io::Error) -> Self {
        CliFailure::Other(error.into())
    }
}

impl From<serde_json::Error> for CliFailure {
    fn from(error: serde_json::Error) -> Self {
        CliFailure::Other(error.into())
    }
}
