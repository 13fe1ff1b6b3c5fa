//! Where a key of a cell's document is written in the config file: in the file's own tables, as
//! one value of a `[grid]` axis, or in a `[[variant]]`. An error about a cell names the key as
//! written there (`grid."search.depth"[2]`, `variant[1].search.beam_width`), so that it points at
//! the value that broke the cell, not at the base value the cell replaced.

use crate::config::ConfigError;

/// Where the values a cell sets come from.
#[derive(Debug, Clone, Default)]
pub struct CellOrigin<'a> {
    /// The grid's axes (dotted paths) and the position of the cell's value on each.
    pub grid: Vec<(&'a str, usize)>,
    /// The position of the cell's variant among the `[[variant]]` tables (0-based), and the
    /// dotted paths it sets.
    pub variant: Option<(usize, Vec<&'a str>)>,
}

impl CellOrigin<'_> {
    /// `key` (a dotted key of the cell's document, array positions included) as written in the
    /// file where a grid axis or the variant sets it; `None` where the file's own tables do.
    /// `named`: the error is about the key's name (an unknown key), not its value, so a grid
    /// axis is named without the value's position.
    pub fn file_key(&self, key: &str, named: bool) -> Option<String> {
        // Grid values are applied after the variant's, so they are what the cell holds.
        for (axis, position) in &self.grid {
            if let Some(rest) = under(key, axis) {
                return Some(if named && rest.is_empty() {
                    format!("grid.\"{axis}\"")
                } else {
                    format!("grid.\"{axis}\"[{position}]{rest}")
                });
            }
        }
        let (index, paths) = self.variant.as_ref()?;
        paths
            .iter()
            .any(|path| under(key, path).is_some())
            .then(|| format!("variant[{index}].{key}"))
    }

    /// `error`, about a cell's document, with its key as written in the file.
    pub fn in_file(&self, error: ConfigError) -> ConfigError {
        match error {
            ConfigError::Parse {
                path,
                key: Some(key),
                message,
                source,
            } => {
                let named = message.starts_with("unknown field");
                ConfigError::Parse {
                    path,
                    key: Some(self.file_key(&key, named).unwrap_or(key)),
                    message,
                    source,
                }
            }
            ConfigError::Invalid {
                path,
                table,
                key,
                problem,
                source,
            } => match self.file_key(&format!("{table}.{key}"), false) {
                Some(file_key) => ConfigError::Parse {
                    path,
                    key: Some(file_key),
                    message: problem,
                    source,
                },
                None => ConfigError::Invalid {
                    path,
                    table,
                    key,
                    problem,
                    source,
                },
            },
            other => other,
        }
    }
}

/// What follows `prefix` in `key` when `key` is `prefix` or under it (`""`, `.endpoints`, `[1]`).
fn under<'k>(key: &'k str, prefix: &str) -> Option<&'k str> {
    key.strip_prefix(prefix)
        .filter(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_set_by_the_grid_or_a_variant_are_named_there() {
        let origin = CellOrigin {
            grid: vec![("search.depth", 2), ("models.user", 0)],
            variant: Some((1, vec!["search.beam_width", "models.crs.endpoints"])),
        };
        let key = |key: &str, named: bool| origin.file_key(key, named);
        assert_eq!(
            key("search.depth", false).as_deref(),
            Some("grid.\"search.depth\"[2]")
        );
        assert_eq!(
            key("search.depth", true).as_deref(),
            Some("grid.\"search.depth\"")
        );
        assert_eq!(
            key("models.user.endpoints[1]", false).as_deref(),
            Some("grid.\"models.user\"[0].endpoints[1]")
        );
        assert_eq!(
            key("models.crs.endpoints[1]", false).as_deref(),
            Some("variant[1].models.crs.endpoints[1]")
        );
        assert_eq!(
            key("search.beam_width", false).as_deref(),
            Some("variant[1].search.beam_width")
        );
        assert_eq!(key("search.depthx", false), None);
        assert_eq!(key("search.list_length", false), None);
    }
}
