//! Mutations: byte-level (bit flips, inserts, deletes, duplicates, splices of two seeds,
//! interesting values) and structure-aware ones for the formats the parsers read (JSON, JSON
//! lines, TOML, TSV), which keep an input well-formed enough to reach the checks behind the
//! syntax.

use crate::rng::Rng;

/// The shape of a target's input, which decides the structure-aware mutations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Structure {
    /// One JSON document.
    Json,
    /// One JSON document per line.
    JsonLines,
    /// A TOML document.
    Toml,
    /// Tab-separated rows with a header.
    Tsv,
    /// Free text.
    Text,
}

/// Values that break parsers: numeric edges, huge lengths, deep nesting, bad encodings.
const INTERESTING: &[&[u8]] = &[
    b"0",
    b"-1",
    b"18446744073709551615",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"4294967296",
    b"NaN",
    b"nan",
    b"inf",
    b"-inf",
    b"1e308",
    b"-1e308",
    b"1e309",
    b"1e-400",
    b"0.0",
    b"-0",
    b"999999999999999999999999999999",
    b"null",
    b"true",
    b"\"\"",
    b"[]",
    b"{}",
    b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    b"{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":",
    b"\xff\xfe",
    b"\xc3",
    b"\xed\xa0\x80",
    b"\xf0\x9f\x98",
    b"\0",
    b"\r\n",
    b"\r",
    b"\t",
    b"\n\n",
    b"\\u0000",
    b"\\ud800",
    b"\\",
    b"\"",
    b"${",
    b"${GRSU_DATA}",
    b"${GRSU_DATA:-",
    b"${UNSET_FUZZ_VARIABLE}",
    b"${=}",
    b"}",
    b"**",
    b"1. **",
    b")?",
    b" Yes",
    b"No",
    b"(1995)",
    b"QUOTATION_MARK",
    b"SEEKER",
    b"RECOMMENDER",
    b"[grid]\n",
    b"[[variant]]\nname = \"v\"\n",
    "\u{2018}".as_bytes(),
    "\u{201c}".as_bytes(),
    "\u{feff}".as_bytes(),
];

/// Applies one to four mutations to `input`, drawing splice partners from `seeds`; the result is
/// at most `max_len` bytes.
pub fn mutate(
    rng: &mut Rng,
    input: &mut Vec<u8>,
    seeds: &[Vec<u8>],
    structure: Structure,
    max_len: usize,
) {
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        // Structure-aware mutations half of the time, when the input still parses.
        let structured = structure != Structure::Text && rng.one_in(2) && {
            match structure {
                Structure::Json => json_document(rng, input),
                Structure::JsonLines => json_lines(rng, input),
                Structure::Toml => toml_document(rng, input),
                Structure::Tsv => tsv(rng, input),
                Structure::Text => false,
            }
        };
        if !structured {
            bytes(rng, input, seeds, structure);
        }
    }
    input.truncate(max_len);
}

fn range(rng: &mut Rng, len: usize) -> (usize, usize) {
    let start = rng.below(len + 1);
    let span = 1 + {
        let bound = if rng.one_in(4) { 256 } else { 16 };
        rng.below(bound)
    };
    (start, (start + span).min(len))
}

/// Byte-level mutations.
fn bytes(rng: &mut Rng, input: &mut Vec<u8>, seeds: &[Vec<u8>], structure: Structure) {
    let len = input.len();
    match rng.below(12) {
        0 if len > 0 => {
            let at = rng.below(len);
            input[at] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let at = rng.below(len);
            input[at] = rng.byte();
        }
        2 => {
            let at = rng.below(len + 1);
            let count = 1 + rng.below(8);
            for _ in 0..count {
                input.insert(at, rng.byte());
            }
        }
        3 if len > 0 => {
            let (start, end) = range(rng, len);
            input.drain(start..end);
        }
        4 if len > 0 => {
            let (start, end) = range(rng, len);
            let copy = input[start..end].to_vec();
            let at = rng.below(input.len() + 1);
            input.splice(at..at, copy);
        }
        5 if !seeds.is_empty() => {
            // Splice: a prefix of this input and a suffix of another seed.
            let other = rng.pick(seeds);
            let cut = rng.below(len + 1);
            let from = rng.below(other.len() + 1);
            input.truncate(cut);
            input.extend_from_slice(&other[from..]);
        }
        6 if len > 0 => {
            // A very long line.
            let at = rng.below(len + 1);
            let filler = *rng.pick(b"a *[{\"9\t");
            let count = 1000 + rng.below(20_000);
            input.splice(at..at, std::iter::repeat_n(filler, count));
        }
        7 => {
            // Deep nesting.
            let at = rng.below(len + 1);
            let depth = 1 + rng.below(2000);
            let (open, close) = *rng.pick(&[(b"[", b"]"), (b"{", b"}")]);
            let mut nested = Vec::with_capacity(depth * 2);
            nested.extend(std::iter::repeat_n(open[0], depth));
            if rng.one_in(2) {
                nested.extend(std::iter::repeat_n(close[0], depth));
            }
            input.splice(at..at, nested);
        }
        8 if len > 0 && structure != Structure::Text => {
            // Line-level: delete, duplicate or swap lines.
            let mut lines: Vec<Vec<u8>> =
                input.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
            let count = lines.len();
            let a = rng.below(count);
            let b = rng.below(count);
            match rng.below(3) {
                0 => {
                    lines.remove(a);
                }
                1 => {
                    let copy = lines[a].clone();
                    let times = 1 + {
                        let bound = if rng.one_in(8) { 200 } else { 3 };
                        rng.below(bound)
                    };
                    for _ in 0..times {
                        lines.insert(b.min(lines.len()), copy.clone());
                    }
                }
                _ => lines.swap(a, b),
            }
            *input = lines.join(&b'\n');
        }
        9 => {
            // CRLF line ends.
            let mut converted = Vec::with_capacity(input.len() + input.len() / 16);
            for &byte in input.iter() {
                if byte == b'\n' {
                    converted.push(b'\r');
                }
                converted.push(byte);
            }
            *input = converted;
        }
        _ => {
            let value = *rng.pick(INTERESTING);
            let at = rng.below(len + 1);
            if len > 0 && rng.one_in(2) {
                // Replace a number or a token in place.
                let end = (at + 1 + rng.below(8)).min(len);
                input.splice(at..end, value.iter().copied());
            } else {
                input.splice(at..at, value.iter().copied());
            }
        }
    }
}

// ---- JSON ----

use serde_json::{Map, Value};

/// A JSON value of another type, or an edge of one.
fn odd_json(rng: &mut Rng) -> Value {
    match rng.below(16) {
        0 => Value::Null,
        1 => Value::Bool(rng.one_in(2)),
        2 => Value::from(-1),
        3 => Value::from(u64::MAX),
        4 => Value::from(i64::MIN),
        5 => serde_json::Number::from_f64(1e308).map_or(Value::Null, Value::Number),
        6 => Value::from(0.5),
        7 => Value::String(String::new()),
        8 => Value::String("x".repeat(1 + rng.below(5000))),
        9 => Value::Array(Vec::new()),
        10 => Value::Object(Map::new()),
        11 => {
            let mut value = Value::Null;
            for _ in 0..rng.below(200) {
                value = Value::Array(vec![value]);
            }
            value
        }
        12 => Value::Array(
            (0..rng.below(2000))
                .map(|i| Value::from(i as u64))
                .collect(),
        ),
        13 => Value::String("\u{0}\u{fffd}\r\n\t\"**(1995)".into()),
        14 => Value::String(
            [
                "Yes", " Yes", "No", " No", ")?", "stop", "length", "user", "system",
            ][rng.below(9)]
            .into(),
        ),
        _ => Value::from(rng.next_u64() as i64 % 1000),
    }
}

/// Paths to every value of a document, as indices into arrays and objects.
fn collect_paths(value: &Value, path: &mut Vec<usize>, paths: &mut Vec<Vec<usize>>) {
    paths.push(path.clone());
    if paths.len() > 4096 {
        return;
    }
    match value {
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                path.push(index);
                collect_paths(item, path, paths);
                path.pop();
            }
        }
        Value::Object(map) => {
            for (index, item) in map.values().enumerate() {
                path.push(index);
                collect_paths(item, path, paths);
                path.pop();
            }
        }
        _ => {}
    }
}

fn value_at<'a>(value: &'a mut Value, path: &[usize]) -> &'a mut Value {
    match path.split_first() {
        None => value,
        Some((&index, rest)) => {
            let child = match value {
                Value::Array(items) => &mut items[index],
                Value::Object(map) => map.values_mut().nth(index).expect("path from the value"),
                _ => unreachable!("paths lead into containers"),
            };
            value_at(child, rest)
        }
    }
}

/// Mutates a parsed JSON value in place; the returned text holds a duplicated key when one was
/// asked for (serde_json's maps cannot hold one).
fn mutate_json(rng: &mut Rng, value: &mut Value) -> Option<String> {
    let mut paths = Vec::new();
    collect_paths(value, &mut Vec::new(), &mut paths);
    let path = rng.pick(&paths).clone();
    let target = value_at(value, &path);
    match rng.below(6) {
        0 | 1 => *target = odd_json(rng),
        2 => match target {
            Value::Object(map) if !map.is_empty() => {
                let key = map
                    .keys()
                    .nth(rng.below(map.len()))
                    .cloned()
                    .unwrap_or_default();
                map.shift_remove(&key);
            }
            Value::Array(items) if !items.is_empty() => {
                let at = rng.below(items.len());
                items.remove(at);
            }
            other => *other = odd_json(rng),
        },
        3 => match target {
            Value::Array(items) if !items.is_empty() => {
                let at = rng.below(items.len());
                let copy = items[at].clone();
                let times = 1 + {
                    let bound = if rng.one_in(8) { 500 } else { 3 };
                    rng.below(bound)
                };
                for _ in 0..times {
                    items.insert(at, copy.clone());
                }
            }
            Value::Object(map) if !map.is_empty() => {
                // Duplicate a key: written by hand below.
                let key = map
                    .keys()
                    .nth(rng.below(map.len()))
                    .cloned()
                    .unwrap_or_default();
                let duplicate = odd_json(rng);
                let mut text = String::from("{");
                for (index, (name, item)) in map.iter().enumerate() {
                    if index > 0 {
                        text.push(',');
                    }
                    text.push_str(&Value::String(name.clone()).to_string());
                    text.push(':');
                    text.push_str(&item.to_string());
                    if *name == key {
                        text.push(',');
                        text.push_str(&Value::String(name.clone()).to_string());
                        text.push(':');
                        text.push_str(&duplicate.to_string());
                    }
                }
                text.push('}');
                let marker = format!("\u{1}dup{}\u{1}", rng.next_u64());
                *target = Value::String(marker.clone());
                let whole = value.to_string();
                return Some(whole.replace(&Value::String(marker).to_string(), &text));
            }
            other => *other = odd_json(rng),
        },
        4 => match target {
            Value::Object(map) => {
                let key = [
                    "name",
                    "genre",
                    "plot",
                    "role",
                    "text",
                    "item",
                    "messages",
                    "turn_id",
                    "conv_id",
                    "conversationId",
                    "dialog_id",
                    "context",
                    "entity",
                    "rec",
                    "sample",
                    "ranking",
                    "choices",
                    "logprobs",
                    "content",
                    "top_logprobs",
                    "logprob",
                    "token",
                    "finish_reason",
                    "index",
                    "error",
                    "message",
                    "detail",
                    "tree",
                    "nodes",
                    "parent",
                    "depth",
                    "shard",
                    "count",
                    "cells",
                    "searches",
                ][rng.below(35)];
                map.insert(key.to_string(), odd_json(rng));
            }
            Value::String(text) => {
                let cut = rng.below(text.len() + 1);
                if text.is_char_boundary(cut) {
                    text.insert_str(
                        cut,
                        ["**", "\n", ")?", "${", "(2001)", "\t", ";"][rng.below(7)],
                    );
                }
            }
            Value::Number(_) => {
                *target = [
                    Value::from(0),
                    Value::from(-1),
                    Value::from(u64::MAX),
                    Value::from(u32::MAX as u64 + 1),
                    Value::from(1.5),
                    Value::from(-1e300),
                ][rng.below(6)]
                .clone();
            }
            other => *other = odd_json(rng),
        },
        _ => {
            // Swap two values of the document.
            let other_path = rng.pick(&paths).clone();
            if !path.starts_with(&other_path) && !other_path.starts_with(&path) {
                let first = std::mem::take(value_at(value, &path));
                let second = std::mem::replace(value_at(value, &other_path), first);
                *value_at(value, &path) = second;
            }
        }
    }
    None
}

fn json_document(rng: &mut Rng, input: &mut Vec<u8>) -> bool {
    let Ok(mut value) = serde_json::from_slice::<Value>(input) else {
        return false;
    };
    let text = mutate_json(rng, &mut value).unwrap_or_else(|| {
        if rng.one_in(2) {
            value.to_string()
        } else {
            serde_json::to_string_pretty(&value).unwrap_or_default()
        }
    });
    *input = text.into_bytes();
    true
}

fn json_lines(rng: &mut Rng, input: &mut Vec<u8>) -> bool {
    let mut lines: Vec<Vec<u8>> = input.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    let parsed: Vec<usize> = (0..lines.len())
        .filter(|&index| serde_json::from_slice::<Value>(&lines[index]).is_ok())
        .collect();
    if parsed.is_empty() {
        return false;
    }
    let index = *rng.pick(&parsed);
    let mut value: Value = serde_json::from_slice(&lines[index]).unwrap_or_default();
    let text = mutate_json(rng, &mut value).unwrap_or_else(|| value.to_string());
    lines[index] = text.into_bytes();
    *input = lines.join(&b'\n');
    true
}

// ---- TOML ----

fn odd_toml(rng: &mut Rng) -> toml::Value {
    use toml::Value as T;
    match rng.below(14) {
        0 => T::Integer(0),
        1 => T::Integer(-1),
        2 => T::Integer(i64::MAX),
        3 => T::Integer(i64::MIN),
        4 => T::Float(f64::NAN),
        5 => T::Float(1e308),
        6 => T::Float(f64::INFINITY),
        7 => T::String(String::new()),
        8 => T::String(
            [
                "${GRSU_DATA}/x",
                "${UNSET_FUZZ_VARIABLE}",
                "${GRSU_DATA:-../data}",
                "${",
                "${A:-${B}}",
                "/",
                "..",
                "/dev/null",
                "beam",
                "none",
                "monte-carlo",
                "http://127.0.0.1:1/v1",
                "http://",
                "forced",
                "list",
            ][rng.below(15)]
            .into(),
        ),
        9 => T::Boolean(rng.one_in(2)),
        10 => T::Array(Vec::new()),
        11 => T::Array(
            (0..1 + rng.below(40))
                .map(|i| T::Integer(i as i64))
                .collect(),
        ),
        12 => T::Table(toml::Table::new()),
        _ => T::Integer(rng.below(100) as i64),
    }
}

/// Dotted paths of the leaves of a table.
fn toml_leaves(table: &toml::Table, prefix: &str, leaves: &mut Vec<String>) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner) => toml_leaves(inner, &path, leaves),
            _ => leaves.push(path),
        }
    }
}

fn toml_get<'a>(table: &'a mut toml::Table, path: &str) -> Option<(&'a mut toml::Table, String)> {
    let mut segments: Vec<&str> = path.split('.').collect();
    let last = segments.pop()?.to_string();
    let mut table = table;
    for segment in segments {
        table = match table.get_mut(segment)? {
            toml::Value::Table(inner) => inner,
            _ => return None,
        };
    }
    Some((table, last))
}

fn toml_document(rng: &mut Rng, input: &mut Vec<u8>) -> bool {
    let Ok(text) = std::str::from_utf8(input) else {
        return false;
    };
    let Ok(mut table) = text.parse::<toml::Table>() else {
        return false;
    };
    let mut leaves = Vec::new();
    toml_leaves(&table, "", &mut leaves);
    if leaves.is_empty() {
        return false;
    }
    let leaf = rng.pick(&leaves).clone();
    match rng.below(6) {
        0 | 1 => {
            if let Some((parent, key)) = toml_get(&mut table, &leaf) {
                parent.insert(key, odd_toml(rng));
            }
        }
        2 => {
            if let Some((parent, key)) = toml_get(&mut table, &leaf) {
                parent.remove(&key);
            }
        }
        3 => {
            // Grid axes over real keys (several axes multiply the cells).
            let axes = if rng.one_in(8) { 2 + rng.below(12) } else { 1 };
            for _ in 0..axes {
                let leaf = rng.pick(&leaves).clone();
                let length = if rng.one_in(4) { 30 } else { 3 };
                let length = 1 + rng.below(length);
                let values: Vec<toml::Value> = (0..length).map(|_| odd_toml(rng)).collect();
                let grid = table
                    .entry("grid")
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                if let toml::Value::Table(grid) = grid {
                    grid.insert(leaf, toml::Value::Array(values));
                } else {
                    *grid = odd_toml(rng);
                }
            }
        }
        4 => {
            // A variant overriding a real key.
            let mut variant = toml::Table::new();
            if !rng.one_in(8) {
                variant.insert(
                    "name".into(),
                    toml::Value::String(format!("v{}", rng.below(4))),
                );
            }
            variant.insert(leaf, odd_toml(rng));
            let variants = table
                .entry("variant")
                .or_insert_with(|| toml::Value::Array(Vec::new()));
            if let toml::Value::Array(variants) = variants {
                variants.push(toml::Value::Table(variant));
            } else {
                *variants = odd_toml(rng);
            }
        }
        _ => {
            // A string path with an environment reference.
            if let Some((parent, key)) = toml_get(&mut table, &leaf) {
                let reference = [
                    "${GRSU_DATA}",
                    "${GRSU_DATA:-}",
                    "${UNSET_FUZZ_VARIABLE:-../data}",
                    "${UNSET_FUZZ_VARIABLE}",
                    "${",
                    "${}",
                    "${:-}",
                    "$${GRSU_DATA}}",
                ][rng.below(8)];
                let value = match parent.get(&key) {
                    Some(toml::Value::String(text)) => {
                        let cut = rng.below(text.len() + 1);
                        let mut text = text.clone();
                        if text.is_char_boundary(cut) {
                            text.insert_str(cut, reference);
                        }
                        text
                    }
                    _ => reference.to_string(),
                };
                parent.insert(key, toml::Value::String(value));
            }
        }
    }
    match toml::to_string(&table) {
        Ok(text) => {
            *input = text.into_bytes();
            true
        }
        Err(_) => false,
    }
}

// ---- TSV ----

fn tsv(rng: &mut Rng, input: &mut Vec<u8>) -> bool {
    let Ok(text) = std::str::from_utf8(input) else {
        return false;
    };
    let mut rows: Vec<Vec<String>> = text
        .split('\n')
        .map(|line| line.split('\t').map(str::to_string).collect())
        .collect();
    if rows.is_empty() {
        return false;
    }
    let columns = rows[0].len();
    let (a, b) = (rng.below(columns), rng.below(columns));
    let row = rng.below(rows.len());
    match rng.below(7) {
        0 => {
            // Swap two columns in every row.
            for fields in &mut rows {
                if a < fields.len() && b < fields.len() {
                    fields.swap(a, b);
                }
            }
        }
        1 => {
            // Drop a column everywhere.
            for fields in &mut rows {
                if a < fields.len() {
                    fields.remove(a);
                }
            }
        }
        2 => {
            // Drop or add a field in one row.
            if rng.one_in(2) && a < rows[row].len() {
                rows[row].remove(a);
            } else {
                rows[row].push(String::new());
            }
        }
        3 => {
            // Same speaker many times in a row (the merger's case).
            let copy = rows[row].clone();
            for _ in 0..1 + rng.below(50) {
                rows.insert(row, copy.clone());
            }
        }
        4 => {
            // Swap the speaker or give an unknown one.
            if a < rows[row].len() {
                rows[row][a] = [
                    "SEEKER",
                    "RECOMMENDER",
                    "",
                    " SEEKER ",
                    "seeker",
                    "QUOTATION_MARK",
                ][rng.below(6)]
                .into();
            }
        }
        5 => {
            if a < rows[row].len() {
                rows[row][a] = [
                    "",
                    ";",
                    ";;;",
                    "Heat (1995);Heat (1995)",
                    "QUOTATION_MARK",
                    " ",
                    "\"",
                    "0",
                    "-1",
                ][rng.below(9)]
                .into();
            }
        }
        _ => {
            // Move a row elsewhere (dialogues interleaved).
            let moved = rows.remove(row);
            let at = rng.below(rows.len() + 1);
            rows.insert(at, moved);
        }
    }
    *input = rows
        .iter()
        .map(|fields| fields.join("\t"))
        .collect::<Vec<_>>()
        .join("\n")
        .into_bytes();
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_stay_within_the_length_and_are_deterministic() {
        let seeds = vec![
            b"{\"a\": [1, 2, {\"b\": \"c\"}]}".to_vec(),
            b"x = 1\n[y]\nz = \"w\"\n".to_vec(),
        ];
        for structure in [
            Structure::Json,
            Structure::JsonLines,
            Structure::Toml,
            Structure::Tsv,
            Structure::Text,
        ] {
            let (mut first, mut second) = (Rng::new(7), Rng::new(7));
            for seed in &seeds {
                let (mut a, mut b) = (seed.clone(), seed.clone());
                for _ in 0..200 {
                    mutate(&mut first, &mut a, &seeds, structure, 4096);
                    mutate(&mut second, &mut b, &seeds, structure, 4096);
                    assert!(a.len() <= 4096);
                }
                assert_eq!(a, b);
            }
        }
    }

    #[test]
    fn json_mutations_can_duplicate_a_key() {
        let mut rng = Rng::new(1);
        let mut saw_duplicate = false;
        for _ in 0..2000 {
            let mut value: Value = serde_json::json!({"a": 1, "b": {"c": 2}});
            if let Some(text) = mutate_json(&mut rng, &mut value) {
                saw_duplicate |=
                    text.matches("\"a\"").count() > 1 || text.matches("\"c\"").count() > 1;
            }
        }
        assert!(saw_duplicate);
    }
}
