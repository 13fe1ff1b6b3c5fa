//! Turning conversations into samples: the one place where labels are restricted to the catalog,
//! de-duplicated, filtered by "only new items", and counted.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::{Dataset, DatasetStats, LoadOptions, Role, Sample, Turn};
use crate::input_error::{InputError, Location};

/// A turn as a reader found it: who spoke, what was said, which items it mentions.
pub(super) struct RawTurn {
    pub turn: String,
    pub role: Role,
    pub text: String,
    pub items: Vec<String>,
}

/// The most history text (and turn records) the samples of one dataset may hold together: each
/// sample of a whole conversation holds its own copy of the history before it, so a conversation
/// of n turns costs O(n²); a file with one conversation of a hundred thousand turns must be an
/// error, not an exhausted memory. Real datasets hold a few hundred MB at most (the ReDial test
/// split: about 3 MB).
pub(super) const MAX_HISTORY_BYTES: usize = 1 << 30;

/// Collects samples from readers and counts what the statistics report.
pub(super) struct SampleCollector<'a> {
    path: &'a Path,
    options: LoadOptions<'a>,
    /// History bytes the samples hold so far, and the most they may hold.
    history_bytes: usize,
    history_limit: usize,
    samples: Vec<Sample>,
    line_of_id: HashMap<String, usize>,
    conversations: HashSet<String>,
    conversations_with_samples: HashSet<String>,
    recommendation_turns: usize,
    dropped_not_new: usize,
    label_mentions: usize,
    labels_not_in_catalog: usize,
}

impl<'a> SampleCollector<'a> {
    pub fn new(path: &'a Path, options: LoadOptions<'a>) -> Self {
        SampleCollector {
            path,
            options,
            history_bytes: 0,
            history_limit: MAX_HISTORY_BYTES,
            samples: Vec::new(),
            line_of_id: HashMap::new(),
            conversations: HashSet::new(),
            conversations_with_samples: HashSet::new(),
            recommendation_turns: 0,
            dropped_not_new: 0,
            label_mentions: 0,
            labels_not_in_catalog: 0,
        }
    }

    pub fn path(&self) -> &'a Path {
        self.path
    }

    /// The labels of a recommender turn: its items in the catalog, distinct, in order of mention.
    fn labels_of(&mut self, items: &[String]) -> Vec<String> {
        let mut labels: Vec<String> = Vec::with_capacity(items.len());
        for item in items {
            self.label_mentions += 1;
            let known = self
                .options
                .catalog
                .is_none_or(|catalog| catalog.contains(item));
            if !known {
                self.labels_not_in_catalog += 1;
            } else if !labels.contains(item) {
                labels.push(item.clone());
            }
        }
        labels
    }

    /// A whole conversation (GRSU JSONL, INSPIRED TSV): every recommender turn with at least one
    /// catalog label and some history before it is a sample.
    pub fn add_conversation(
        &mut self,
        conversation: &str,
        line: usize,
        turns: Vec<RawTurn>,
    ) -> Result<(), InputError> {
        self.conversations.insert(conversation.to_string());
        let mut history: Vec<Turn> = Vec::with_capacity(turns.len());
        let mut history_size = 0;
        let mut mentioned: HashSet<String> = HashSet::new();
        for raw in turns {
            if raw.role == Role::System {
                let labels = self.labels_of(&raw.items);
                if !labels.is_empty() && !history.is_empty() {
                    self.hold_history(history_size, line)?;
                    let not_new = labels.iter().any(|label| mentioned.contains(label));
                    self.push(
                        conversation,
                        &raw.turn,
                        line,
                        history.clone(),
                        labels,
                        not_new,
                    )?;
                }
            }
            mentioned.extend(raw.items);
            if !raw.text.is_empty() {
                history_size += std::mem::size_of::<Turn>() + raw.text.len();
                history.push(Turn {
                    role: raw.role,
                    text: raw.text,
                });
            }
        }
        Ok(())
    }

    /// Counts `size` more history bytes held by samples; past the limit, an error naming the
    /// conversation's line.
    fn hold_history(&mut self, size: usize, line: usize) -> Result<(), InputError> {
        self.history_bytes = self.history_bytes.saturating_add(size);
        if self.history_bytes > self.history_limit {
            return Err(Location {
                path: self.path,
                line,
            }
            .field(
                "(conversation)",
                format!(
                    "the samples' histories would hold more than {} MiB: each recommendation turn \
                     repeats the dialogue before it, so conversations this long (or this many) \
                     cannot be loaded",
                    self.history_limit >> 20
                ),
            ));
        }
        Ok(())
    }

    /// One sample given whole (iEvaLM JSONL): its history, the items mentioned before it, and the
    /// items the recommender named.
    pub fn add_sample(
        &mut self,
        conversation: &str,
        turn: &str,
        line: usize,
        history: Vec<Turn>,
        mentioned_before: &[String],
        items: &[String],
    ) -> Result<(), InputError> {
        self.conversations.insert(conversation.to_string());
        let labels = self.labels_of(items);
        if labels.is_empty() || history.is_empty() {
            return Ok(());
        }
        let not_new = labels.iter().any(|label| mentioned_before.contains(label));
        self.push(conversation, turn, line, history, labels, not_new)
    }

    fn push(
        &mut self,
        conversation: &str,
        turn: &str,
        line: usize,
        history: Vec<Turn>,
        labels: Vec<String>,
        not_new: bool,
    ) -> Result<(), InputError> {
        self.recommendation_turns += 1;
        let id = format!("{conversation}:{turn}");
        if let Some(first) = self.line_of_id.insert(id.clone(), line) {
            return Err(Location {
                path: self.path,
                line,
            }
            .field(
                "turn_id",
                format!("duplicate sample id `{id}` (first seen on line {first})"),
            ));
        }
        if self.options.only_new && not_new {
            self.dropped_not_new += 1;
            return Ok(());
        }
        self.conversations_with_samples
            .insert(conversation.to_string());
        self.samples.push(Sample {
            id,
            conversation: conversation.to_string(),
            turn: turn.to_string(),
            history,
            labels,
        });
        Ok(())
    }

    /// The dataset, or an error when the file held no record at all.
    pub fn finish(self) -> Result<Dataset, InputError> {
        if self.conversations.is_empty() {
            return Err(InputError::Empty {
                path: self.path.to_path_buf(),
            });
        }
        let history_turns: usize = self.samples.iter().map(|sample| sample.history.len()).sum();
        let labels: usize = self.samples.iter().map(|sample| sample.labels.len()).sum();
        let stats = DatasetStats {
            conversations: self.conversations.len(),
            conversations_with_samples: self.conversations_with_samples.len(),
            samples: self.samples.len(),
            labels,
            recommendation_turns: self.recommendation_turns,
            dropped_not_new: self.dropped_not_new,
            label_mentions: self.label_mentions,
            labels_not_in_catalog: self.options.catalog.map(|_| self.labels_not_in_catalog),
            mean_history_turns: if self.samples.is_empty() {
                0.0
            } else {
                history_turns as f64 / self.samples.len() as f64
            },
            only_new: self.options.only_new,
        };
        Ok(Dataset {
            samples: self.samples,
            stats,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(index: usize) -> RawTurn {
        RawTurn {
            turn: index.to_string(),
            role: if index.is_multiple_of(2) {
                Role::User
            } else {
                Role::System
            },
            text: "x".repeat(100),
            items: vec!["Heat (1995)".into()],
        }
    }

    #[test]
    fn a_conversation_whose_samples_repeat_too_much_history_is_an_error() {
        let path = Path::new("long.jsonl");
        let turns = |count: usize| (0..count).map(turn).collect::<Vec<_>>();
        let mut collector = SampleCollector::new(path, LoadOptions::default());
        collector.history_limit = 1 << 20;
        // 100 turns: 50 samples holding about 50 × 50 turns of 100 bytes, well under 1 MiB.
        collector.add_conversation("short", 1, turns(100)).unwrap();
        // 1,000 turns: 500 samples holding about 500 × 500 turns, over it.
        let error = collector
            .add_conversation("long", 2, turns(1000))
            .unwrap_err();
        assert!(
            matches!(error, InputError::Field { line: 2, .. }),
            "{error:?}"
        );
        assert!(
            error
                .to_string()
                .starts_with("long.jsonl:2: field `(conversation)`"),
            "{error}"
        );
        assert!(error.to_string().contains("more than 1 MiB"), "{error}");
    }
}
