//! The dialogue history as the prompts show it: one `User: ...` or `System: ...` line per turn, the
//! names the paper and the reference use, so that a model fine-tuned on the reference's data reads
//! our prompts as it read its training data.

use crate::data::Turn;

/// The history as lines `Speaker: text`, joined by newlines. A turn's own line breaks are kept.
pub fn render_history(history: &[Turn]) -> String {
    history
        .iter()
        .map(|turn| format!("{}: {}", turn.role.speaker(), turn.text.trim()))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Role;

    #[test]
    fn history_lines_name_the_speakers() {
        let history = vec![
            Turn {
                role: Role::User,
                text: "Hi! Any good heist films?".into(),
            },
            Turn {
                role: Role::System,
                text: " Do you like older ones? ".into(),
            },
        ];
        assert_eq!(
            render_history(&history),
            "User: Hi! Any good heist films?\nSystem: Do you like older ones?"
        );
    }
}
