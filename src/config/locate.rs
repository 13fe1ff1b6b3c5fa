//! Where in a config file a key is written, so that an error about it can give its line and
//! column. A sweep's cells are deserialised from edited documents that have lost their spans, so
//! the key is looked up in the file's text instead: in its table (`[search]`, `[models.crs]`, a
//! `[[variant]]`), written plainly, quoted or dotted (`search.depth = 3`, `"search.depth" = [..]`).

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "line {}, column {}", self.line, self.column)
    }
}

/// The first place `key` of `table` (dotted, e.g. `search` or `models.crs`) is assigned in
/// `text`; with no such assignment, the table's header; `None` when neither is written.
pub fn locate(text: &str, table: &str, key: &str) -> Option<Location> {
    let full = if table.is_empty() {
        key.to_string()
    } else {
        format!("{table}.{key}")
    };
    let mut current = String::new();
    let mut header = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let at = |column: usize| Location {
            line: index + 1,
            column: indent + column + 1,
        };
        if let Some(name) = table_header(trimmed) {
            // `[models.crss]` is where the key `crss` of `models` is written.
            if within(&name, &full) {
                return Some(at(0));
            }
            current = name;
            if !table.is_empty() && current == table && header.is_none() {
                header = Some(at(0));
            }
            continue;
        }
        let Some((assigned, _)) = trimmed.split_once('=') else {
            continue;
        };
        let assigned = unquote(assigned.trim());
        let path = if current.is_empty() || current == "variant" || current == "grid" {
            assigned.clone()
        } else {
            format!("{current}.{assigned}")
        };
        if within(&path, &full) || (current == table && within(&assigned, key)) {
            return Some(at(0));
        }
    }
    header
}

/// Whether the dotted `path` is `key` or a key under it.
fn within(path: &str, key: &str) -> bool {
    path.strip_prefix(key)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// The first assignment of a key whose last part is `key`, in any table; else the first table
/// header or dotted key with `key` as one of its parts (`[models.crss]`, `serch.depth = 2`).
pub fn locate_anywhere(text: &str, key: &str) -> Option<Location> {
    let at = |index: usize, line: &str| Location {
        line: index + 1,
        column: line.len() - line.trim_start().len() + 1,
    };
    let assigned = |line: &str| {
        let (assigned, _) = line.trim_start().split_once('=')?;
        Some(unquote(assigned.trim()))
    };
    text.lines()
        .enumerate()
        .find(|(_, line)| {
            table_header(line.trim_start()).is_none()
                && assigned(line).is_some_and(|name| name.rsplit('.').next() == Some(key))
        })
        .or_else(|| {
            text.lines().enumerate().find(|(_, line)| {
                table_header(line.trim_start())
                    .or_else(|| assigned(line))
                    .is_some_and(|name| name.split('.').any(|part| part == key))
            })
        })
        .map(|(index, line)| at(index, line))
}

/// Where the key a deserialiser's message is about is written: the message names it (`unknown
/// field `detph``), the table it is in (`in `search``), or both.
pub fn locate_message(text: &str, message: &str) -> Option<Location> {
    let place = message.rfind(" in `").and_then(|start| {
        let rest = &message[start + " in `".len()..];
        rest.split('`').next().filter(|place| !place.is_empty())
    });
    match (key_in_message(message), place) {
        (Some(key), Some(table)) => locate(text, table, key).or_else(|| locate_anywhere(text, key)),
        (Some(key), None) => locate_anywhere(text, key),
        (None, Some(path)) => {
            let (table, key) = path.rsplit_once('.').unwrap_or(("", path));
            locate(text, table, key).or_else(|| locate_anywhere(text, key))
        }
        (None, None) => None,
    }
}

/// Where a key named as [`super::ConfigError::file_key`] writes it is: `search.depth`,
/// `models.user.endpoints[1]` (the key's line), `grid."search.depth"[2]` (the grid's line of that
/// axis), `variant[1].search.beam_width` (the key in the second `[[variant]]`, else its header).
pub fn locate_key(text: &str, key: &str) -> Option<Location> {
    if let Some(axis) = key.strip_prefix("grid.\"") {
        let axis = axis.split('"').next()?;
        return locate(text, "grid", axis);
    }
    if let Some(rest) = key.strip_prefix("variant[") {
        let (index, rest) = rest.split_once(']')?;
        let index = index.parse().ok()?;
        return locate_in_variant(
            text,
            index,
            &without_positions(rest.trim_start_matches('.')),
        );
    }
    let key = without_positions(key);
    let (table, last) = key.rsplit_once('.').unwrap_or(("", &key));
    locate(text, table, last).or_else(|| locate_anywhere(text, last))
}

/// `models.user.endpoints[1]` → `models.user.endpoints`.
fn without_positions(key: &str) -> String {
    let mut plain = String::new();
    let mut depth = 0;
    for character in key.chars() {
        match character {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ if depth == 0 => plain.push(character),
            _ => {}
        }
    }
    plain
}

/// The assignment of `key` (dotted, within the variant) in the `index`-th `[[variant]]` table
/// (0-based), or a key it is under or that is under it; else that table's header.
fn locate_in_variant(text: &str, index: usize, key: &str) -> Option<Location> {
    let mut seen = 0;
    let mut header = None;
    // The subtable of the variant the lines are in (`[variant.search]`: `search`), while in it.
    let mut inside: Option<String> = None;
    for (line_index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let at = Location {
            line: line_index + 1,
            column: line.len() - trimmed.len() + 1,
        };
        if let Some(name) = table_header(trimmed) {
            if trimmed.starts_with("[[") && name == "variant" {
                seen += 1;
                if seen == index + 1 {
                    header = Some(at);
                    inside = Some(String::new());
                    continue;
                }
            }
            inside = match (&inside, name.strip_prefix("variant.")) {
                (Some(_), Some(sub)) if !trimmed.starts_with("[[") => Some(sub.to_string()),
                _ => None,
            };
            if inside.is_none() && header.is_some() {
                break;
            }
            continue;
        }
        let (Some(sub), Some((assigned, _))) = (&inside, trimmed.split_once('=')) else {
            continue;
        };
        let assigned = unquote(assigned.trim());
        let path = if sub.is_empty() {
            assigned
        } else {
            format!("{sub}.{assigned}")
        };
        if within(&path, key) || within(key, &path) {
            return Some(at);
        }
    }
    header
}

/// `[search]` → `search`, `[[variant]]` → `variant`, `[models.crs]` → `models.crs`.
fn table_header(line: &str) -> Option<String> {
    let inner = line
        .strip_prefix("[[")
        .and_then(|rest| rest.split_once("]]"))
        .or_else(|| line.strip_prefix('[').and_then(|rest| rest.split_once(']')))?
        .0;
    Some(unquote(inner.trim()))
}

/// Removes the quotes of every part of a dotted key: `"search.depth"` and `search."depth"` both
/// give `search.depth`.
fn unquote(key: &str) -> String {
    key.split('.')
        .map(|part| part.trim().trim_matches('"').trim_matches('\''))
        .collect::<Vec<_>>()
        .join(".")
}

/// The key named in a deserialiser's message: `unknown field `detph``, `missing field `x``,
/// `invalid value ... for key `search.depth``.
pub fn key_in_message(message: &str) -> Option<&str> {
    for marker in [
        "unknown field `",
        "missing field `",
        "for key `",
        "duplicate key `",
    ] {
        if let Some(start) = message.find(marker) {
            let rest = &message[start + marker.len()..];
            return rest.split('`').next();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "[run]\nname = \"x\"\n\n[search]\n  depth = 3\nbeam_width = 2\n\n[models.crs]\nmodel = \"m\"\n\n[grid]\n\"search.depth\" = [1, 2]\n";

    #[test]
    fn keys_are_found_in_their_table() {
        assert_eq!(
            locate(TEXT, "search", "depth"),
            Some(Location { line: 5, column: 3 })
        );
        assert_eq!(
            locate(TEXT, "models.crs", "model"),
            Some(Location { line: 9, column: 1 })
        );
        assert_eq!(
            locate(TEXT, "run", "name"),
            Some(Location { line: 2, column: 1 })
        );
    }

    #[test]
    fn an_absent_key_points_at_its_table_and_an_absent_table_at_nothing() {
        assert_eq!(
            locate(TEXT, "search", "samples"),
            Some(Location { line: 4, column: 1 })
        );
        assert_eq!(locate(TEXT, "user", "critique"), None);
    }

    #[test]
    fn a_subtable_and_a_deserialiser_message_point_at_their_key() {
        let text = "[run]\nname = \"x\"\n\n[models.crss]\nmodel = \"m\"\n\n[search]\ndepth = -3\n";
        let header = Some(Location { line: 4, column: 1 });
        assert_eq!(locate(text, "models", "crss"), header);
        assert_eq!(
            locate_message(
                text,
                "unknown field `crss`, expected one of `crs`, `user` in `models`"
            ),
            header
        );
        assert_eq!(
            locate_message(
                text,
                "invalid value: integer `-3`, expected u32 in `search.depth`"
            ),
            Some(Location { line: 8, column: 1 })
        );
        let variant = "[[variant]]\nname = \"Typo\"\nserch.depth = 2\n";
        assert_eq!(
            locate_message(variant, "unknown field `serch`, expected one of `run`"),
            Some(Location { line: 3, column: 1 })
        );
    }

    #[test]
    fn keys_are_read_out_of_deserialiser_messages() {
        assert_eq!(
            key_in_message("unknown field `detph`, expected one of `strategy`"),
            Some("detph")
        );
        assert_eq!(key_in_message("missing field `output`"), Some("output"));
        assert_eq!(key_in_message("no key here"), None);
    }
}
