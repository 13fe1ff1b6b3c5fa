//! Typed access to GGUF metadata entries.
//!
//! candle's [`Value`] keeps each entry's stored width (a token type may be an `i32` in one file
//! and a `u32` in another, an id a `u32` or a `u64`), so these helpers accept any integer width
//! and report a missing or mistyped entry as a [`ModelError`] naming the key.

use std::collections::HashMap;

use candle_core::quantized::gguf_file::Value;

use crate::{candle_error, embedded_error};
use grsu::model::ModelError;

/// A string-valued metadata entry, if present.
pub(super) fn metadata_str<'a>(metadata: &'a HashMap<String, Value>, key: &str) -> Option<&'a str> {
    metadata
        .get(key)
        .and_then(|value| value.to_string().ok())
        .map(String::as_str)
}

/// An integer-valued metadata entry, if present.
pub(super) fn metadata_u32(metadata: &HashMap<String, Value>, key: &str) -> Option<u32> {
    metadata
        .get(key)
        .and_then(|value| integer_value(value).ok())
        .and_then(|value| u32::try_from(value).ok())
}

pub(super) fn metadata_strings<'a>(
    metadata: &'a HashMap<String, Value>,
    key: &str,
) -> Result<Vec<&'a str>, ModelError> {
    let values = metadata
        .get(key)
        .ok_or_else(|| embedded_error(format!("GGUF metadata lacks {key}")))?
        .to_vec()
        .map_err(candle_error)?;
    values
        .iter()
        .map(|value| value.to_string().map(String::as_str).map_err(candle_error))
        .collect()
}

pub(super) fn integer_value(value: &Value) -> Result<i64, ModelError> {
    Ok(match value {
        Value::U8(v) => i64::from(*v),
        Value::I8(v) => i64::from(*v),
        Value::U16(v) => i64::from(*v),
        Value::I16(v) => i64::from(*v),
        Value::U32(v) => i64::from(*v),
        Value::I32(v) => i64::from(*v),
        Value::U64(v) => i64::try_from(*v).unwrap_or(i64::MAX),
        Value::I64(v) => *v,
        other => {
            return Err(embedded_error(format!(
                "expected an integer in GGUF metadata, found {other:?}"
            )))
        }
    })
}
