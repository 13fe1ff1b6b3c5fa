//! Readers for the two catalog formats.
//!
//! - GRSU `movie2info.json`: `{"Title (year)": {"genre": [...], "star": [...], ...}}`.
//! - iEvaLM `id2info.json`: `{"id": {"name": "Title (year)", "genre": [...], ...}}`.
//!
//! Attribute values may be a list of strings or a single string; anything else is an error naming
//! the item and the attribute. Both formats are one JSON document, so errors report line 1 unless
//! serde_json gives a line.

use std::path::Path;
use std::str::FromStr;

use serde_json::Value;

use super::{Catalog, Item, ItemAttributes};
use crate::input_error::{InputError, Location};
use crate::json_record::kind;

/// The layout of a catalog file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CatalogFormat {
    /// Detect: `id2info` when every entry has a `name`, else `movie2info`.
    #[default]
    Auto,
    /// GRSU: title → attributes.
    Movie2info,
    /// iEvaLM: id → {name, attributes}.
    Id2info,
}

impl FromStr for CatalogFormat {
    type Err = InputError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "auto" => Ok(CatalogFormat::Auto),
            "movie2info" => Ok(CatalogFormat::Movie2info),
            "id2info" => Ok(CatalogFormat::Id2info),
            other => Err(InputError::UnknownName {
                what: "catalog format",
                name: other.to_string(),
                expected: "auto, movie2info, id2info".to_string(),
            }),
        }
    }
}

pub(super) fn load_catalog(path: &Path, format: CatalogFormat) -> Result<Catalog, InputError> {
    let text = InputError::read_text(path)?;
    parse_catalog(path, &text, format)
}

pub(super) fn parse_catalog(
    path: &Path,
    text: &str,
    format: CatalogFormat,
) -> Result<Catalog, InputError> {
    if text.trim().is_empty() {
        return Err(InputError::Empty {
            path: path.to_path_buf(),
        });
    }
    let document: Value = serde_json::from_str(text).map_err(|error| {
        Location {
            path,
            line: error.line().max(1),
        }
        .malformed(error)
    })?;
    let whole_file = Location { path, line: 1 };
    let Value::Object(entries) = document else {
        return Err(whole_file.field(
            "(document)",
            format!("expected an object of items, found {}", kind(&document)),
        ));
    };
    if entries.is_empty() {
        return Err(InputError::Empty {
            path: path.to_path_buf(),
        });
    }
    let format = match format {
        CatalogFormat::Auto if entries.values().all(|info| info.get("name").is_some()) => {
            CatalogFormat::Id2info
        }
        CatalogFormat::Auto => CatalogFormat::Movie2info,
        explicit => explicit,
    };
    let mut items = Vec::with_capacity(entries.len());
    for (index, (key, info)) in entries.iter().enumerate() {
        // How errors name the entry: its key, or its position when the key is blank.
        let item = if key.trim().is_empty() {
            format!("(entry {} with key {key:?})", index + 1)
        } else {
            key.clone()
        };
        let Value::Object(info) = info else {
            return Err(whole_file.field(
                item.clone(),
                format!("expected an object, found {}", kind(info)),
            ));
        };
        let title = match format {
            CatalogFormat::Id2info => match info.get("name") {
                Some(Value::String(name)) => name.trim().to_string(),
                Some(other) => {
                    return Err(whole_file.field(
                        format!("{item}.name"),
                        format!("expected a string, found {}", kind(other)),
                    ))
                }
                None => return Err(whole_file.field(format!("{item}.name"), "missing")),
            },
            _ => key.trim().to_string(),
        };
        if title.is_empty() {
            return Err(whole_file.field(item.clone(), "empty title"));
        }
        let list = |attribute: &str| -> Result<Vec<String>, InputError> {
            match info.get(attribute) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::String(text)) if text.is_empty() => Ok(Vec::new()),
                Some(Value::String(text)) => Ok(vec![text.clone()]),
                Some(Value::Array(values)) => values
                    .iter()
                    .map(|value| match value {
                        Value::String(text) => Ok(text.clone()),
                        other => Err(whole_file.field(
                            format!("{item}.{attribute}"),
                            format!("expected strings, found {}", kind(other)),
                        )),
                    })
                    .collect(),
                Some(other) => Err(whole_file.field(
                    format!("{item}.{attribute}"),
                    format!("expected a list of strings, found {}", kind(other)),
                )),
            }
        };
        let plot = match info.get("plot") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) if text.trim().is_empty() => None,
            Some(Value::String(text)) => Some(text.clone()),
            Some(other) => {
                return Err(whole_file.field(
                    format!("{item}.plot"),
                    format!("expected a string, found {}", kind(other)),
                ))
            }
        };
        items.push(Item {
            title,
            attributes: ItemAttributes {
                genre: list("genre")?,
                star: list("star")?,
                director: list("director")?,
                writer: list("writer")?,
                plot,
            },
        });
    }
    Ok(Catalog::from_items(items))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_with_a_blank_key_is_named_by_its_position() {
        let path = Path::new("movie2info.json");
        let text = r#"{"Heat (1995)": {"genre": ["crime"]}, " ": {"genre": []}}"#;
        let error = parse_catalog(path, text, CatalogFormat::Movie2info).unwrap_err();
        assert_eq!(
            error.to_string(),
            r#"movie2info.json:1: field `(entry 2 with key " ")`: empty title"#
        );
        let text = r#"{"": {"name": 3}}"#;
        let error = parse_catalog(path, text, CatalogFormat::Id2info).unwrap_err();
        assert_eq!(
            error.to_string(),
            r#"movie2info.json:1: field `(entry 1 with key "").name`: expected a string, found a number"#
        );
    }
}
