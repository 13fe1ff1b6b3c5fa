//! The iEvaLM-CRS processed ReDial: one sample per line,
//! `{"dialog_id": "20001", "turn_id": 3, "context": [...], "entity": [...], "rec": [...]}`.
//!
//! `context` alternates speakers starting with the seeker; an empty string stands for the seeker's
//! missing first turn when the recommender spoke first, so empty utterances keep their place in the
//! alternation but are left out of the history. `entity` lists what was mentioned so far, which is
//! what "only new items" tests the labels against.

use std::path::Path;

use super::conversation::SampleCollector;
use super::{Role, Turn};
use crate::input_error::InputError;
use crate::json_record::for_each_line;

pub(super) fn read(
    path: &Path,
    text: &str,
    collector: &mut SampleCollector<'_>,
) -> Result<(), InputError> {
    for_each_line(path, text, |record| {
        let conversation = record.id("dialog_id")?;
        let turn = record.id("turn_id")?;
        let history = record
            .string_list("context")?
            .into_iter()
            .enumerate()
            .filter_map(|(position, text)| {
                let text = text.trim().to_string();
                let role = if position % 2 == 0 {
                    Role::User
                } else {
                    Role::System
                };
                (!text.is_empty()).then_some(Turn { role, text })
            })
            .collect();
        let entity = record.string_list("entity")?;
        let rec = record.string_list("rec")?;
        collector.add_sample(&conversation, &turn, record.line(), history, &entity, &rec)
    })
}
