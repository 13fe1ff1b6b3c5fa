//! The CRS prompts of Eq. 1: recommend k items from the conversation alone, or revise a previous
//! list after the simulated user's critique.
//!
//! The answer format is the reference's: numbered lines with the title in bold
//! (`1. **Title (year)**`), which [`crate::prompts::crs_parse`] reads back. The prompts open with
//! the conversation, which every CRS request of a sample shares, and end with what varies (the
//! previous list, the critique, the instruction naming k), so a server's prefix cache reads the
//! conversation once per sample. [`list_stop_sequence`] ends generation after the k-th item: models
//! like to add an item or a closing paragraph that costs decode time and is thrown away.

use super::conversation::render_history;
use crate::data::Turn;
use crate::model::ChatMessage;

fn conversation_section(history: &[Turn]) -> String {
    format!("## Conversation\n\n{}", render_history(history))
}

fn format_instruction(list_length: usize) -> String {
    format!(
        "Answer with exactly {list_length} numbered lines and nothing else, one item per line in the \
         form `[index]. **[title] (year)**`, for example `1. **Title (year)**`. Do not describe the \
         items."
    )
}

/// The first recommendation of a sample: the conversation and the instruction to recommend
/// `list_length` items.
pub fn recommend_request(history: &[Turn], list_length: usize) -> Vec<ChatMessage> {
    let prompt = format!(
        "{}\n\n## Instruction\n\nYou are the system, recommending items to the user. Read the \
         \"Conversation\" part and recommend {list_length} items that the user is likely to \
         accept. If the conversation tells nothing useful about the user's taste, recommend \
         {list_length} items of your choice. {}",
        conversation_section(history),
        format_instruction(list_length)
    );
    vec![ChatMessage::user(prompt)]
}

/// A revised recommendation: the conversation, the previous list (as the CRS wrote it, numbered
/// and bold), the user's critique when there is one, and the instruction to recommend
/// `list_length` items different from the previous ones. Without feedback (the "no critiquing"
/// ablation) the user is only said not to have accepted the previous list.
pub fn revise_request(
    history: &[Turn],
    previous: &[String],
    feedback: Option<&str>,
    list_length: usize,
) -> Vec<ChatMessage> {
    let previous_list = previous
        .iter()
        .enumerate()
        .map(|(index, title)| format!("{}. **{}**", index + 1, title))
        .collect::<Vec<_>>()
        .join("\n");
    let mut prompt = format!(
        "{}\n\n## Previous Recommendation\n\nSystem:\n{previous_list}",
        conversation_section(history)
    );
    let revision = match feedback.map(str::trim).filter(|text| !text.is_empty()) {
        Some(feedback) => {
            prompt.push_str(&format!("\n\n## Feedback\n\nUser: {feedback}"));
            format!(
                "Read the \"Conversation\" part, revise your recommendation according to the \
                 user's feedback (the \"Feedback\" part), and recommend {list_length} items \
                 different from those in the \"Previous Recommendation\" part."
            )
        }
        None => format!(
            "Read the \"Conversation\" part. The user did not accept the items in the \"Previous \
             Recommendation\" part: recommend {list_length} items different from those."
        ),
    };
    prompt.push_str(&format!(
        "\n\n## Instruction\n\nYou are the system, recommending items to the user. {revision} {}",
        format_instruction(list_length)
    ));
    vec![ChatMessage::user(prompt)]
}

/// Stop sequences that end generation once the `list_length`-th item is written: the start of the
/// next numbered line, in both numbering styles (`11.` and `11)`).
pub fn list_stop_sequence(list_length: usize) -> Vec<String> {
    let next = list_length + 1;
    vec![format!("\n{next}."), format!("\n{next})")]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Role;

    fn history() -> Vec<Turn> {
        vec![Turn {
            role: Role::User,
            text: "I love heist films like Heat.".into(),
        }]
    }

    #[test]
    fn recommend_opens_with_the_conversation_and_names_k() {
        let messages = recommend_request(&history(), 10);
        assert_eq!(messages.len(), 1);
        let prompt = &messages[0].content;
        assert!(prompt.starts_with("## Conversation\n\nUser: I love heist films like Heat.\n\n"));
        assert!(prompt.contains("recommend 10 items"));
        assert!(prompt.contains("`1. **Title (year)**`"));
    }

    #[test]
    fn revision_shares_the_conversation_prefix_and_ends_with_what_varies() {
        let previous = vec!["Heat (1995)".to_string(), "Ronin (1998)".to_string()];
        let first = &recommend_request(&history(), 2)[0].content;
        let revised = &revise_request(&history(), &previous, Some("Too violent."), 2)[0].content;
        let shared = "## Conversation\n\nUser: I love heist films like Heat.\n\n## ";
        assert!(first.starts_with(shared) && revised.starts_with(shared));
        let list_at = revised
            .find("1. **Heat (1995)**\n2. **Ronin (1998)**")
            .unwrap();
        let feedback_at = revised.find("User: Too violent.").unwrap();
        let instruction_at = revised.find("## Instruction").unwrap();
        assert!(list_at < feedback_at && feedback_at < instruction_at);
        assert!(revised.contains("2 items different from those"));
        let blind = &revise_request(&history(), &previous, None, 2)[0].content;
        assert!(!blind.contains("## Feedback") && blind.contains("different from those"));
    }

    #[test]
    fn generation_stops_at_the_next_item() {
        assert_eq!(list_stop_sequence(10), vec!["\n11.", "\n11)"]);
    }
}
