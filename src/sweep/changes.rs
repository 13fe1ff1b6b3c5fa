//! What changed between the sweep an output folder last ran and the one about to run there.
//!
//! An output folder follows its latest config: records are keyed by their search, so a changed
//! key either leaves results as they were, extends them (deeper trees, more seeds or samples,
//! other output strategies), or starts a new search (see [`crate::config::reference`]). Nothing of
//! that may happen without a word: a run that reuses, continues or replaces stored results says
//! which keys made it do so.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::config::reference::{self, OnChange};
use crate::store::{CellManifest, SweepManifest};

/// One line per change, for the log of the run that takes the folder over.
pub fn describe(previous: &SweepManifest, next: &SweepManifest) -> Vec<String> {
    let mut lines = Vec::new();
    let pairs: Vec<(Option<&CellManifest>, Option<&CellManifest>)> =
        if previous.cells.len() == 1 && next.cells.len() == 1 {
            // A plain config: its one cell is named after the run, which may be renamed.
            vec![(previous.cells.first(), next.cells.first())]
        } else {
            let mut pairs: Vec<_> = next
                .cells
                .iter()
                .map(|cell| (previous.cell(&cell.name), Some(cell)))
                .collect();
            pairs.extend(
                previous
                    .cells
                    .iter()
                    .filter(|cell| next.cell(&cell.name).is_none())
                    .map(|cell| (Some(cell), None)),
            );
            pairs
        };
    for pair in pairs {
        match pair {
            (Some(before), Some(after)) => lines.extend(cell_changes(before, after)),
            (None, Some(after)) => lines.push(format!(
                "cell `{}` is new: it runs (requests equal to earlier ones are answered from the response cache)",
                after.name
            )),
            (Some(before), None) => lines.push(format!(
                "cell `{}` is no longer in the config: it is not reported (its records stay in the store)",
                before.name
            )),
            (None, None) => {}
        }
    }
    lines
}

/// The changed keys of one cell, each with what it does to the stored results.
fn cell_changes(before: &CellManifest, after: &CellManifest) -> Vec<String> {
    let prefix = if before.name == after.name {
        format!("cell `{}`", after.name)
    } else {
        format!("cell `{}` (was `{}`)", after.name, before.name)
    };
    let old = leaves(&before.config);
    let new = leaves(&after.config);
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut lines = Vec::new();
    let mut explained_new_search = false;
    for key in keys {
        let (was, now) = (old.get(key), new.get(key));
        if was == now {
            continue;
        }
        let show = |value: Option<&Value>| value.map_or("(absent)".to_string(), Value::to_string);
        let (was_text, now_text) = (show(was), show(now));
        let on_change = on_change_of(key);
        let effect = match (on_change, key.as_str()) {
            (OnChange::Extended, "search.depth") if depth_is_continued(after) => {
                let deeper = now.and_then(Value::as_u64) > was.and_then(Value::as_u64);
                if deeper {
                    "stored trees are continued to the new depth (their calls replayed from the response cache)"
                } else {
                    "results are reported from the stored trees truncated at the new depth"
                }
            }
            (OnChange::Extended, "search.depth") => {
                explained_new_search = true;
                "this search has no depth: it is searched again (from the response cache)"
            }
            (OnChange::Extended, "run.seeds") => {
                "records of kept seeds are reused, new seeds run, dropped ones are not reported"
            }
            (OnChange::Extended, "data.limit") => {
                "records of kept samples are reused, new samples run, dropped ones are not reported"
            }
            (OnChange::Extended, _) => "computed from the stored trees",
            (OnChange::Reused, _) => "results are unchanged; stored records are reused",
            // The search key says whether anything is searched again: a value written
            // differently that resolves to the same thing (a path as `${NAME}` where the store
            // recorded it expanded) leaves the search as it was.
            (OnChange::Rerun, _) if before.search == after.search => {
                "the search is unchanged (the same settings and files): stored records are reused"
            }
            (OnChange::Rerun, _) => {
                explained_new_search = true;
                "a new search runs (requests equal to earlier ones are answered from the response cache)"
            }
        };
        lines.push(format!(
            "{prefix}: `{key}` {was_text} → {now_text} ({}): {effect}",
            on_change.as_str()
        ));
    }
    if before.search != after.search && !explained_new_search {
        lines.push(format!(
            "{prefix}: its data files changed since the last run: a new search runs (requests equal to earlier ones are answered from the response cache)"
        ));
    }
    lines
}

fn depth_is_continued(cell: &CellManifest) -> bool {
    cell.depth.is_some()
}

/// What changing `key` does; keys the reference does not know are taken as starting a new search.
fn on_change_of(key: &str) -> OnChange {
    let generic = role_generic(key);
    reference::KEYS
        .iter()
        .find(|entry| entry.path == generic)
        .map_or(OnChange::Rerun, |entry| entry.on_change)
}

/// `models.crs.endpoints` → `models.<role>.endpoints`.
fn role_generic(key: &str) -> String {
    match key.strip_prefix("models.") {
        Some(rest) => match rest.split_once('.') {
            Some((_, field)) => format!("models.<role>.{field}"),
            None => key.to_string(),
        },
        None => key.to_string(),
    }
}

/// The leaves of a config as `dotted path → value` (lists are leaves).
fn leaves(value: &Value) -> BTreeMap<String, Value> {
    fn walk(prefix: &str, value: &Value, into: &mut BTreeMap<String, Value>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    walk(&path, value, into);
                }
            }
            _ => {
                into.insert(prefix.to_string(), value.clone());
            }
        }
    }
    let mut into = BTreeMap::new();
    walk("", value, &mut into);
    into
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cell(name: &str, search: &str, config: Value) -> CellManifest {
        CellManifest {
            name: name.into(),
            assignments: Vec::new(),
            search: search.into(),
            depth: Some(2),
            limit: None,
            strategies: vec!["reward-mean".into()],
            config,
        }
    }

    fn manifest(cells: Vec<CellManifest>) -> SweepManifest {
        SweepManifest {
            name: "s".into(),
            config_text: String::new(),
            overrides: Vec::new(),
            sweep_hash: String::new(),
            code_version: String::new(),
            seeds: vec![0],
            cells,
            searches: Vec::new(),
            shard: None,
            shard_source: None,
            created_unix: 0,
        }
    }

    #[test]
    fn each_changed_key_is_named_with_its_effect() {
        let before = manifest(vec![cell(
            "run",
            "a",
            json!({"search": {"depth": 2, "beam_width": 2}, "models": {"crs": {"timeout_s": 600.0}}}),
        )]);
        let after = manifest(vec![cell(
            "renamed",
            "b",
            json!({"search": {"depth": 3, "beam_width": 4}, "models": {"crs": {"timeout_s": 60.0}}}),
        )]);
        let lines = describe(&before, &after);
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(lines[0].contains("`models.crs.timeout_s` 600.0 → 60.0 (reused)"));
        assert!(lines[1].contains("`search.beam_width` 2 → 4 (rerun): a new search runs"));
        assert!(lines[2].contains("`search.depth` 2 → 3 (extended): stored trees are continued"));
        assert!(lines[2].starts_with("cell `renamed` (was `run`)"));
    }

    #[test]
    fn a_rerun_key_written_anew_for_the_same_search_reuses_its_records() {
        // A store that recorded the expanded path, a config that writes it with `${NAME}`.
        let before = manifest(vec![cell(
            "run",
            "a",
            json!({"data": {"path": "/data/redial/test.jsonl"}}),
        )]);
        let after = manifest(vec![cell(
            "run",
            "a",
            json!({"data": {"path": "${GRSU_DATA}/redial/test.jsonl"}}),
        )]);
        let lines = describe(&before, &after);
        assert_eq!(lines.len(), 1, "{lines:#?}");
        assert!(
            lines[0].contains("`data.path`") && lines[0].contains("stored records are reused"),
            "{lines:#?}"
        );
        assert!(!lines[0].contains("a new search runs"), "{lines:#?}");
    }

    #[test]
    fn new_and_removed_cells_and_changed_data_are_said() {
        let config = json!({"search": {"depth": 2}});
        let before = manifest(vec![
            cell("a", "x", config.clone()),
            cell("b", "y", config.clone()),
        ]);
        let after = manifest(vec![
            cell("a", "x2", config.clone()),
            cell("c", "y", config.clone()),
        ]);
        let lines = describe(&before, &after);
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(lines[0].contains("cell `a`: its data files changed"));
        assert!(lines[1].contains("cell `c` is new"));
        assert!(lines[2].contains("cell `b` is no longer in the config"));
        assert!(describe(&before, &before).is_empty());
    }
}
