//! Datasets: recommendation samples read from the three formats the community uses.
//!
//! A *sample* is one recommendation turn of a conversation: the dialogue before the recommender's
//! turn and the catalog items the recommender named in it (the labels). Every reader yields the same
//! [`Sample`] type, with id `"{conversation}:{turn}"`, so that the search, the store and the metrics
//! never see where a sample came from.
//!
//! Readers:
//! - [`DatasetFormat::Grsu`]: one conversation per line (`conv_id` or `conversationId`, `messages`
//!   of `{turn_id, role, text, item}`), the GRSU reference format.
//! - [`DatasetFormat::Ievalm`]: one sample per line (`dialog_id`, `turn_id`, `context`, `entity`,
//!   `rec`), the iEvaLM-CRS processed ReDial.
//! - [`DatasetFormat::InspiredTsv`]: the original INSPIRED release, one utterance per row;
//!   consecutive utterances of one speaker are merged into one turn.
//!
//! "Only new items" (the paper's protocol) drops a sample when one of its labels was mentioned
//! earlier in the conversation. Unlike the reference, the dropped recommender turn stays in the
//! history of later samples: the user saw it, so the recommender must too.

mod conversation;
pub mod fetch;
mod format;
mod grsu_jsonl;
mod ievalm_jsonl;
mod inspired_tsv;
mod stats;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::input_error::InputError;

pub use format::DatasetFormat;
pub use stats::DatasetStats;

/// Who spoke a turn. The prompts call them `User` and `System`, as the paper does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The seeker: the person looking for a recommendation.
    User,
    /// The recommender.
    System,
}

impl Role {
    /// The speaker's name as dialogue lines show it (`User: ...`, `System: ...`).
    pub fn speaker(self) -> &'static str {
        match self {
            Role::User => "User",
            Role::System => "System",
        }
    }
}

/// One turn of dialogue history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Turn {
    pub role: Role,
    pub text: String,
}

/// One recommendation turn to predict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// `"{conversation}:{turn}"`, unique within a dataset.
    pub id: String,
    pub conversation: String,
    pub turn: String,
    /// The dialogue before the recommender's turn; never empty.
    pub history: Vec<Turn>,
    /// The catalog items the recommender named in this turn, distinct, in order of mention.
    pub labels: Vec<String>,
}

/// What a reader needs besides the file.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions<'a> {
    /// Labels are restricted to this catalog's titles; without one every mentioned item counts.
    pub catalog: Option<&'a Catalog>,
    /// Drop samples one of whose labels was mentioned earlier in the conversation.
    pub only_new: bool,
}

/// The samples of a dataset file and what the reader counted on the way.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub samples: Vec<Sample>,
    pub stats: DatasetStats,
}

impl Dataset {
    /// Reads a whole dataset file; on any error nothing is returned.
    pub fn load(
        path: &Path,
        format: DatasetFormat,
        options: LoadOptions<'_>,
    ) -> Result<Self, InputError> {
        let text = InputError::read_text(path)?;
        Self::parse(path, &text, format, options)
    }

    /// Reads a dataset from its text, as [`Dataset::load`] does from the file at `path` (which
    /// errors name).
    pub fn parse(
        path: &Path,
        text: &str,
        format: DatasetFormat,
        options: LoadOptions<'_>,
    ) -> Result<Self, InputError> {
        let mut collector = conversation::SampleCollector::new(path, options);
        match format {
            DatasetFormat::Grsu => grsu_jsonl::read(path, text, &mut collector)?,
            DatasetFormat::Ievalm => ievalm_jsonl::read(path, text, &mut collector)?,
            DatasetFormat::InspiredTsv => inspired_tsv::read(path, text, &mut collector)?,
        }
        collector.finish()
    }
}
