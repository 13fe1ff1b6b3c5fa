//! Dotted-path edits of a TOML document: how grid values and variant overrides are applied to the
//! base config before it is deserialised, so that every cell goes through the same
//! `deny_unknown_fields` checks as a plain config (a misspelt grid key is an error naming it).

use toml::{Table, Value};

/// Flattens nested tables into `(dotted.path, leaf)` pairs, so that `{search = {depth = [1, 2]}}`
/// and `{"search.depth" = [1, 2]}` give the same pair. Lists are leaves.
pub fn flatten(table: &Table) -> Vec<(String, Value)> {
    let mut pairs = Vec::new();
    flatten_into(table, "", &mut pairs);
    pairs
}

fn flatten_into(table: &Table, prefix: &str, pairs: &mut Vec<(String, Value)>) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Value::Table(inner) => flatten_into(inner, &path, pairs),
            leaf => pairs.push((path, leaf.clone())),
        }
    }
}

/// Sets `path` (dotted) to `value` in `document`, creating missing tables on the way.
pub fn set_path(document: &mut Table, path: &str, value: Value) -> Result<(), String> {
    let segments: Vec<&str> = path.split('.').collect();
    if segments.iter().any(|segment| segment.trim().is_empty()) {
        return Err(format!("`{path}` is not a dotted config path"));
    }
    let (last, parents) = segments
        .split_last()
        .expect("split gives one segment at least");
    let mut table = document;
    for (depth, segment) in parents.iter().enumerate() {
        let entry = table
            .entry(segment.to_string())
            .or_insert_with(|| Value::Table(Table::new()));
        table = match entry {
            Value::Table(inner) => inner,
            _ => {
                return Err(format!(
                    "`{path}`: `{}` is a value, not a table",
                    segments[..=depth].join(".")
                ))
            }
        };
    }
    table.insert(last.to_string(), value);
    Ok(())
}

/// A short display of a value for cell names: strings without quotes, lists and tables as TOML.
pub fn display_value(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(display_value)
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_and_dotted_keys_flatten_to_the_same_paths() {
        let nested: Table = toml::from_str("[search]\ndepth = [1, 2]\n").unwrap();
        let dotted: Table = toml::from_str("\"search.depth\" = [1, 2]\n").unwrap();
        assert_eq!(flatten(&nested), flatten(&dotted));
        assert_eq!(flatten(&nested)[0].0, "search.depth");
    }

    #[test]
    fn set_path_creates_tables_and_refuses_to_descend_into_values() {
        let mut document: Table = toml::from_str("[run]\nname = \"x\"\n").unwrap();
        set_path(&mut document, "user.critique", Value::Boolean(false)).unwrap();
        assert_eq!(document["user"]["critique"], Value::Boolean(false));
        let error = set_path(&mut document, "run.name.first", Value::Integer(1)).unwrap_err();
        assert!(error.contains("`run.name` is a value"), "{error}");
        assert!(set_path(&mut document, "search..depth", Value::Integer(1)).is_err());
    }

    #[test]
    fn values_display_without_quotes() {
        assert_eq!(display_value(&Value::String("beam".into())), "beam");
        assert_eq!(
            display_value(&Value::Array(vec![Value::String("vote".into())])),
            "[vote]"
        );
        assert_eq!(display_value(&Value::Boolean(false)), "false");
    }
}
