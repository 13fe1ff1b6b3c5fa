//! The original INSPIRED release: one utterance per row of a tab-separated file with a header
//! (`dialog_id`, `speaker` RECOMMENDER/SEEKER, `text`, `movies` separated by `;`, and more).
//!
//! Fields are never quoted (texts contain bare `"`), so rows are split on tabs only. Consecutive
//! utterances of one speaker form one turn, numbered from 0 within the dialogue as the GRSU file
//! numbers its messages. The release writes quotation marks as `QUOTATION_MARK`; they are restored.

use std::collections::HashMap;
use std::path::Path;

use super::conversation::{RawTurn, SampleCollector};
use super::Role;
use crate::input_error::{InputError, Location};

const REQUIRED_COLUMNS: [&str; 4] = ["dialog_id", "speaker", "text", "movies"];

pub(super) fn read(
    path: &Path,
    text: &str,
    collector: &mut SampleCollector<'_>,
) -> Result<(), InputError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty());
    let Some((header_index, header)) = lines.next() else {
        return Err(InputError::Empty {
            path: path.to_path_buf(),
        });
    };
    let header: Vec<&str> = header.split('\t').map(str::trim).collect();
    let header_location = Location {
        path,
        line: header_index + 1,
    };
    let column = |name: &str| -> Result<usize, InputError> {
        header
            .iter()
            .position(|column| *column == name)
            .ok_or_else(|| header_location.field(name, "column missing from the header"))
    };
    let [dialog_column, speaker_column, text_column, movies_column] = [
        column(REQUIRED_COLUMNS[0])?,
        column(REQUIRED_COLUMNS[1])?,
        column(REQUIRED_COLUMNS[2])?,
        column(REQUIRED_COLUMNS[3])?,
    ];

    // Dialogues in order of first appearance, each with its merged turns and its first line.
    let mut order: Vec<(String, usize)> = Vec::new();
    let mut turns_of: HashMap<String, Vec<RawTurn>> = HashMap::new();
    for (index, row) in lines {
        let location = Location {
            path,
            line: index + 1,
        };
        let fields: Vec<&str> = row.split('\t').collect();
        if fields.len() != header.len() {
            return Err(location.field(
                "(row)",
                format!(
                    "{} tab-separated fields, the header has {}",
                    fields.len(),
                    header.len()
                ),
            ));
        }
        let dialog = fields[dialog_column].trim();
        if dialog.is_empty() {
            return Err(location.field("dialog_id", "empty"));
        }
        let role = match fields[speaker_column].trim() {
            "SEEKER" => Role::User,
            "RECOMMENDER" => Role::System,
            other => {
                return Err(location.field(
                    "speaker",
                    format!("unknown speaker `{other}`; expected SEEKER or RECOMMENDER"),
                ))
            }
        };
        let text = clean_text(fields[text_column]);
        let items: Vec<String> = fields[movies_column]
            .split(';')
            .map(str::trim)
            .filter(|movie| !movie.is_empty())
            .map(str::to_string)
            .collect();
        let turns = turns_of.entry(dialog.to_string()).or_insert_with(|| {
            order.push((dialog.to_string(), location.line));
            Vec::new()
        });
        match turns.last_mut() {
            Some(last) if last.role == role => {
                if !text.is_empty() {
                    if !last.text.is_empty() {
                        last.text.push(' ');
                    }
                    last.text.push_str(&text);
                }
                last.items.extend(items);
            }
            _ => turns.push(RawTurn {
                turn: turns.len().to_string(),
                role,
                text,
                items,
            }),
        }
    }
    for (dialog, line) in order {
        let turns = turns_of.remove(&dialog).unwrap_or_default();
        collector.add_conversation(&dialog, line, turns)?;
    }
    Ok(())
}

/// Restores quotation marks and collapses runs of whitespace.
fn clean_text(raw: &str) -> String {
    raw.replace("QUOTATION_MARK", "\"")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
