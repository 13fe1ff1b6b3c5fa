//! [`ConfigError`]: a config that cannot be used, naming the file (or sweep cell), the table and
//! the key, with the line and column where the key is written, and the error it came from.

/// The error a config error came from (a TOML error, a search-settings rule, a model role's).
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A config that cannot be used, naming the file and the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Not TOML, an unknown key, a value of the wrong type or an unusable one: the key as written
    /// in the file, and where it is written once [`ConfigError::located`].
    #[error("{path}: {}", keyed(.key.as_deref(), .message))]
    Parse {
        path: String,
        /// The dotted key as written in the file, array positions 0-based:
        /// `models.user.endpoints[1]`, `grid."search.depth"[2]`, `variant[1].search.beam_width`;
        /// `None` where the error is not about one key (a syntax error, an unreadable cell) or
        /// the message names it.
        key: Option<String>,
        message: String,
        #[source]
        source: Option<Cause>,
    },
    /// A value that breaks a rule of the config.
    #[error("{path}: [{table}] {key}: {problem}")]
    Invalid {
        path: String,
        table: &'static str,
        key: &'static str,
        problem: String,
        #[source]
        source: Option<Cause>,
    },
}

impl ConfigError {
    /// [`ConfigError::Parse`] without a source.
    pub fn parse(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Parse {
            path: path.into(),
            key: None,
            message: message.into(),
            source: None,
        }
    }

    /// [`ConfigError::Parse`] about the value (or the name) of `key`, as written in the file.
    pub fn at_key(
        path: impl Into<String>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ConfigError::Parse {
            path: path.into(),
            key: Some(key.into()),
            message: message.into(),
            source: None,
        }
    }

    /// The dotted key the error is about, as written in the file (`search.depth`,
    /// `models.user.endpoints[1]`, `grid."search.depth"[2]`); `None` where it is about no one
    /// key.
    pub fn file_key(&self) -> Option<String> {
        match self {
            ConfigError::Parse { key, .. } => key.clone(),
            ConfigError::Invalid { table: "", key, .. } => Some(key.to_string()),
            ConfigError::Invalid { table, key, .. } => Some(format!("{table}.{key}")),
            ConfigError::Read { .. } => None,
        }
    }

    /// [`ConfigError::Invalid`] without a source.
    pub fn invalid(
        path: impl Into<String>,
        table: &'static str,
        key: &'static str,
        problem: impl Into<String>,
    ) -> Self {
        ConfigError::Invalid {
            path: path.into(),
            table,
            key,
            problem: problem.into(),
            source: None,
        }
    }

    /// The error with `cause` as its source (a read error keeps its own).
    pub fn with_source(mut self, cause: impl Into<Cause>) -> Self {
        match &mut self {
            ConfigError::Parse { source, .. } | ConfigError::Invalid { source, .. } => {
                *source = Some(cause.into());
            }
            ConfigError::Read { .. } => {}
        }
        self
    }

    /// The error with the line and column of its key in `text` (the config file), where the key
    /// is written there.
    pub fn located(mut self, text: &str) -> Self {
        use super::locate::{locate, locate_message};
        match &mut self {
            ConfigError::Invalid {
                table,
                key,
                problem,
                ..
            } => {
                if let Some(location) = locate(text, table, key) {
                    *problem = format!("{problem} (at {location})");
                }
            }
            ConfigError::Parse {
                key: Some(key),
                message,
                ..
            } if !message.contains(" line ") => {
                if let Some(location) = super::locate::locate_key(text, key) {
                    *message = format!("{message} (at {location})");
                }
            }
            ConfigError::Parse { message, .. } if !message.contains(" line ") => {
                // The deserialiser's messages span lines ("…\nin `search`\n"): one line here.
                let one_line = message.split_whitespace().collect::<Vec<_>>().join(" ");
                *message = match locate_message(text, &one_line) {
                    Some(location) => format!("{one_line} (at {location})"),
                    None => one_line,
                };
            }
            _ => {}
        }
        self
    }
}

/// `key: message`, or the message alone.
fn keyed(key: Option<&str>, message: &str) -> String {
    match key {
        Some(key) => format!("{key}: {message}"),
        None => message.to_string(),
    }
}
