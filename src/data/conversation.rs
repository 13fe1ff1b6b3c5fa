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

/// Collects samples from readers and counts what the statistics report.
pub(super) struct SampleCollector<'a> {
    path: &'a Path,
    options: LoadOptions<'a>,
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
        let mut mentioned: HashSet<String> = HashSet::new();
        for raw in turns {
            if raw.role == Role::System {
                let labels = self.labels_of(&raw.items);
                if !labels.is_empty() && !history.is_empty() {
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
                history.push(Turn {
                    role: raw.role,
                    text: raw.text,
                });
            }
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
