//! Reading grsu's prompts back: which task a request asks for and what it names.
//!
//! The formats are those of `grsu::prompts` (`crs.rs`, `user.rs`, `item_text.rs`): markdown
//! sections `## Conversation`, `## Previous Recommendation`, `## Feedback`, `## Recommendation By
//! System`, `## Recommendation To Answer`, `## Instruction`, and the paper's task descriptions
//! [`CRITIQUE_TASK`] and [`SCORE_TASK`]. A request is
//! - a score when it holds [`SCORE_TASK`], or when its pre-filled answer ends with `(Yes/No)?`
//!   (`grsu doctor`'s probe of forced scoring);
//! - a critique when it holds [`CRITIQUE_TASK`];
//! - a CRS request when it asks to "recommend K items" (a revision when it shows a previous list);
//! - anything else otherwise.

use grsu::model::ChatMessage;
use grsu::prompts::{parse_list, ListParseMode, CRITIQUE_TASK, SCORE_TASK};

/// What a request asks the model to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Task {
    /// A CRS list of `k` items; a revision shows the `previous` list and maybe a `feedback`.
    Recommend {
        k: usize,
        previous: Vec<String>,
        feedback: Option<String>,
    },
    /// The simulated user's critique of the titles of a list; `with_attributes` when the prompt
    /// shows item attributes.
    Critique {
        list: Vec<String>,
        with_attributes: bool,
    },
    /// The simulated user's Yes/No answer about one item (`forced`: the answer line is pre-filled).
    Score { item: Option<String>, forced: bool },
    /// Something else (a probe, a chat).
    Other,
}

impl Task {
    /// The name used in statistics.
    pub fn kind(&self) -> &'static str {
        match self {
            Task::Recommend { .. } => "crs",
            Task::Critique { .. } => "critique",
            Task::Score { .. } => "score",
            Task::Other => "other",
        }
    }
}

/// A request as the simulator reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadPrompt {
    /// The text of the `## Conversation` section (the rendered history), if any.
    pub conversation: Option<String>,
    pub task: Task,
    /// The pre-filled start of the answer (the last assistant message, with
    /// `continue_final_message`).
    pub prefill: Option<String>,
}

/// The text of the section after `heading` up to the next `\n\n## ` (or the end).
fn section<'a>(text: &'a str, heading: &str) -> Option<&'a str> {
    let start = text.find(heading)? + heading.len();
    let rest = &text[start..];
    Some(rest.find("\n\n## ").map_or(rest, |end| &rest[..end]))
}

/// `N. text` → `text`.
fn after_number(line: &str) -> Option<&str> {
    let (number, rest) = line.split_once(". ")?;
    number
        .trim()
        .parse::<u32>()
        .ok()
        .map(|_| rest.trim())
        .filter(|rest| !rest.is_empty())
}

/// The K of "recommend K items".
fn list_length(text: &str) -> Option<usize> {
    text.match_indices("recommend ").find_map(|(at, found)| {
        let rest = &text[at + found.len()..];
        let (number, after) = rest.split_once(' ')?;
        after
            .starts_with("items")
            .then(|| number.parse().ok())
            .flatten()
    })
}

/// Reads the messages of a chat request.
pub fn read_prompt(messages: &[ChatMessage], continue_final_message: bool) -> ReadPrompt {
    let prefill = continue_final_message
        .then(|| messages.last())
        .flatten()
        .filter(|message| message.role == "assistant")
        .map(|message| message.content.clone());
    let text = messages
        .iter()
        .filter(|message| message.role != "assistant")
        .map(|message| message.content.as_str())
        .collect::<Vec<_>>()
        .join("\n\n");
    let conversation = section(&text, "## Conversation\n\n").map(str::to_string);
    let forced = prefill
        .as_deref()
        .is_some_and(|prefill| prefill.trim_end().ends_with("(Yes/No)?"));
    let task = if text.contains(SCORE_TASK) || forced {
        let asked = section(&text, "## Recommendation To Answer\n\n")
            .or_else(|| section(&text, "## Recommendation By System\n\n"));
        // `N. Title` (numbered), or the bare title of an item asked about outside its list.
        let item = asked
            .and_then(|asked| asked.lines().next())
            .map(|line| after_number(line).unwrap_or(line.trim()))
            .filter(|title| !title.is_empty())
            .map(str::to_string);
        Task::Score { item, forced }
    } else if text.contains(CRITIQUE_TASK) {
        let shown = section(&text, "## Recommendation By System\n\n").unwrap_or("");
        Task::Critique {
            list: shown
                .lines()
                .filter(|line| !line.starts_with(' '))
                .filter_map(after_number)
                .map(str::to_string)
                .collect(),
            with_attributes: shown.contains("\n  - "),
        }
    } else if let Some(k) = list_length(&text) {
        let previous = section(&text, "## Previous Recommendation\n\n")
            .map(|shown| parse_list(shown, ListParseMode::Strict))
            .unwrap_or_default();
        let feedback = section(&text, "## Feedback\n\n")
            .map(|feedback| feedback.trim_start_matches("User:").trim().to_string())
            .filter(|feedback| !feedback.is_empty());
        Task::Recommend {
            k,
            previous,
            feedback,
        }
    } else {
        Task::Other
    };
    ReadPrompt {
        conversation,
        task,
        prefill,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use grsu::catalog::{Item, ItemAttributes};
    use grsu::data::{Role, Turn};
    use grsu::model::scoring::{scoring_request, ScoringMode, ScoringSettings};
    use grsu::prompts::{
        critique_request, recommend_request, render_history, revise_request, score_messages,
    };

    fn history() -> Vec<Turn> {
        vec![
            Turn {
                role: Role::User,
                text: "I love heist films like Heat.".into(),
            },
            Turn {
                role: Role::System,
                text: "Anything recent?".into(),
            },
        ]
    }

    fn item(title: &str) -> Item {
        Item {
            title: title.into(),
            attributes: ItemAttributes {
                genre: vec!["crime".into()],
                director: vec!["Michael Mann".into()],
                ..Default::default()
            },
        }
    }

    #[test]
    fn crs_prompts_give_k_the_previous_list_and_the_feedback() {
        let read = read_prompt(&recommend_request(&history(), 50), false);
        assert_eq!(
            read.conversation.as_deref(),
            Some(&*render_history(&history()))
        );
        assert_eq!(
            read.task,
            Task::Recommend {
                k: 50,
                previous: vec![],
                feedback: None
            }
        );
        let previous = vec!["Heat (1995)".to_string(), "Ronin (1998)".to_string()];
        let messages = revise_request(&history(), &previous, Some("More Michael Mann."), 10);
        let read = read_prompt(&messages, false);
        assert_eq!(
            read.task,
            Task::Recommend {
                k: 10,
                previous: previous.clone(),
                feedback: Some("More Michael Mann.".into())
            }
        );
        let blind = read_prompt(&revise_request(&history(), &previous, None, 4), false);
        assert!(matches!(
            blind.task,
            Task::Recommend {
                k: 4,
                feedback: None,
                ..
            }
        ));
        let mut prefilled = recommend_request(&history(), 4);
        prefilled.push(ChatMessage::assistant("1. **"));
        assert_eq!(
            read_prompt(&prefilled, true).prefill.as_deref(),
            Some("1. **")
        );
    }

    #[test]
    fn critique_prompts_give_the_titles_shown() {
        let (a, b) = (item("Heat (1995)"), item("Thief (1981)"));
        let with = read_prompt(&critique_request(&history(), &[&a, &b], true), false);
        assert_eq!(
            with.task,
            Task::Critique {
                list: vec!["Heat (1995)".into(), "Thief (1981)".into()],
                with_attributes: true
            }
        );
        let without = read_prompt(&critique_request(&history(), &[&a, &b], false), false);
        assert!(matches!(
            without.task,
            Task::Critique {
                with_attributes: false,
                ..
            }
        ));
    }

    #[test]
    fn score_prompts_give_the_item_in_both_contexts_and_modes() {
        let (a, b) = (item("Heat (1995)"), item("Thief (1981)"));
        let alone = score_messages(&history(), &b, None, true);
        let read = read_prompt(&alone, false);
        assert_eq!(
            read.task,
            Task::Score {
                item: Some("Thief (1981)".into()),
                forced: false
            }
        );
        let in_list = score_messages(&history(), &b, Some(&[&a, &b]), true);
        let settings = ScoringSettings {
            mode: ScoringMode::Forced,
            ..ScoringSettings::default()
        };
        let forced = scoring_request(in_list, &settings);
        let read = read_prompt(&forced.messages, forced.continue_final_message);
        assert_eq!(
            read.task,
            Task::Score {
                item: Some("Thief (1981)".into()),
                forced: true
            }
        );
        assert!(read.conversation.is_some());
        // grsu doctor's probe: no task description, a pre-filled answer line.
        let probe = scoring_request(vec![ChatMessage::user("Would you watch it?")], &settings);
        assert_eq!(
            read_prompt(&probe.messages, true).task,
            Task::Score {
                item: None,
                forced: true
            }
        );
        assert_eq!(
            read_prompt(&[ChatMessage::user("Is the sky blue?")], false).task,
            Task::Other
        );
    }
}
