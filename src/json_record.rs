//! Typed access to the fields of one JSON record, with errors that name the file, line and field.
//!
//! Readers parse a line into a `serde_json::Value` and pull fields through [`Record`] rather than
//! deriving `Deserialize`: serde's messages do not say which field had the wrong type, and the
//! datasets we read spell the same thing several ways (`conv_id` or `conversationId`, ids as numbers
//! or strings).

use std::path::Path;

use serde_json::{Map, Value};

use crate::input_error::{InputError, Location};

/// Reads JSON lines: each non-blank line of `text` (the contents of `path`) is parsed and handed to
/// `each` as a top-level [`Record`]; a malformed line or a line that is not an object is an error
/// naming its 1-based line, and so is any error `each` returns. Stops at the first error.
pub(crate) fn for_each_line(
    path: &Path,
    text: &str,
    mut each: impl FnMut(&Record<'_>) -> Result<(), InputError>,
) -> Result<(), InputError> {
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let location = Location {
            path,
            line: index + 1,
        };
        let value: Value = serde_json::from_str(line).map_err(|error| location.malformed(error))?;
        each(&Record::top(location, &value)?)?;
    }
    Ok(())
}

/// One JSON object and where it came from. `prefix` is the path of the object inside the line
/// (`messages[3]`), so that nested errors still name the field exactly.
pub(crate) struct Record<'a> {
    location: Location<'a>,
    prefix: String,
    object: &'a Map<String, Value>,
}

impl<'a> Record<'a> {
    /// The top-level object of a line; an error when the line is not an object.
    pub fn top(location: Location<'a>, value: &'a Value) -> Result<Self, InputError> {
        match value {
            Value::Object(object) => Ok(Record {
                location,
                prefix: String::new(),
                object,
            }),
            other => Err(location.field(
                "(record)",
                format!("expected a JSON object, found {}", kind(other)),
            )),
        }
    }

    /// The 1-based line of the file this record stands on.
    pub fn line(&self) -> usize {
        self.location.line
    }

    /// The full name of a field of this record, for error messages.
    pub fn path_of(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{}", self.prefix, name)
        }
    }

    pub fn error(&self, name: &str, problem: impl Into<String>) -> InputError {
        self.location.field(self.path_of(name), problem)
    }

    fn required(&self, name: &str) -> Result<&'a Value, InputError> {
        self.object
            .get(name)
            .ok_or_else(|| self.error(name, "missing"))
    }

    pub fn has(&self, name: &str) -> bool {
        self.object.contains_key(name)
    }

    pub fn string(&self, name: &str) -> Result<&'a str, InputError> {
        match self.required(name)? {
            Value::String(text) => Ok(text),
            other => Err(self.error(name, format!("expected a string, found {}", kind(other)))),
        }
    }

    /// An identifier, which datasets write either as a string or as an integer.
    pub fn id(&self, name: &str) -> Result<String, InputError> {
        match self.required(name)? {
            Value::String(text) if !text.is_empty() => Ok(text.clone()),
            Value::Number(number) if number.is_u64() || number.is_i64() => Ok(number.to_string()),
            other => Err(self.error(
                name,
                format!("expected a string or integer id, found {}", kind(other)),
            )),
        }
    }

    /// The first of several alternative field names that is present, as an id.
    pub fn id_from_any(&self, names: &[&str]) -> Result<String, InputError> {
        match names.iter().find(|name| self.has(name)) {
            Some(name) => self.id(name),
            None => Err(self.error(&names.join("` or `"), "missing")),
        }
    }

    pub fn array(&self, name: &str) -> Result<&'a Vec<Value>, InputError> {
        match self.required(name)? {
            Value::Array(items) => Ok(items),
            other => Err(self.error(name, format!("expected an array, found {}", kind(other)))),
        }
    }

    pub fn string_list(&self, name: &str) -> Result<Vec<String>, InputError> {
        self.array(name)?
            .iter()
            .enumerate()
            .map(|(index, value)| match value {
                Value::String(text) => Ok(text.clone()),
                other => Err(self.error(
                    &format!("{name}[{index}]"),
                    format!("expected a string, found {}", kind(other)),
                )),
            })
            .collect()
    }

    /// The objects of an array field, each as a nested record.
    pub fn records(&self, name: &str) -> Result<Vec<Record<'a>>, InputError> {
        self.array(name)?
            .iter()
            .enumerate()
            .map(|(index, value)| {
                let prefix = self.path_of(&format!("{name}[{index}]"));
                match value {
                    Value::Object(object) => Ok(Record {
                        location: self.location,
                        prefix,
                        object,
                    }),
                    other => Err(self
                        .location
                        .field(prefix, format!("expected an object, found {}", kind(other)))),
                }
            })
            .collect()
    }
}

/// A JSON value's kind in words, for error messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
