//! The GRSU reference format: one conversation per line,
//! `{"conv_id": 900, "messages": [{"turn_id": 0, "role": "system", "text": "...", "item": [...]}]}`
//! (ReDial in this format names the id `conversationId`).

use std::path::Path;

use super::conversation::{RawTurn, SampleCollector};
use super::Role;
use crate::input_error::InputError;
use crate::json_record::for_each_line;

pub(super) fn read(
    path: &Path,
    text: &str,
    collector: &mut SampleCollector<'_>,
) -> Result<(), InputError> {
    for_each_line(path, text, |record| {
        let conversation = record.id_from_any(&["conv_id", "conversationId"])?;
        let mut turns = Vec::new();
        for message in record.records("messages")? {
            let role = match message.string("role")? {
                "user" => Role::User,
                "system" => Role::System,
                other => {
                    return Err(message.error(
                        "role",
                        format!("unknown role `{other}`; expected `user` or `system`"),
                    ))
                }
            };
            turns.push(RawTurn {
                turn: message.id("turn_id")?,
                role,
                text: message.string("text")?.trim().to_string(),
                items: message.string_list("item")?,
            });
        }
        collector.add_conversation(&conversation, record.line(), turns)
    })?;
    debug_assert_eq!(collector.path(), path);
    Ok(())
}
