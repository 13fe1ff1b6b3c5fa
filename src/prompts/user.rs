//! The simulated user's prompts: critique (Eq. 3) and scoring (Eq. 2), and the training examples
//! that teach a model both (section 3.2.2, DESIGN §1.8).
//!
//! Both behaviours read the same context, the conversation and the recommended items with their
//! attributes, and differ only in the task description, which is the paper's, verbatim
//! ([`CRITIQUE_TASK`], [`SCORE_TASK`]): a model fine-tuned on the paper's instructions recognises
//! them, and one model serves both behaviours.
//!
//! Sections are ordered for the prefix cache. A critique prompt ends with its task description;
//! a scoring prompt puts the task description *before* the item asked about, so that the scoring
//! prompts of one sample share everything up to that item:
//! - `item` context (the reference, the default): conversation, task, then the one item;
//! - `list` context (Eq. 2 as written): conversation, the whole list, task, then the item asked
//!   about.
//!
//! Training examples are built by the same functions as inference prompts, so the fine-tuned model
//! sees at inference exactly the instruction it was trained on. The teacher prompt of critique
//! synthesis adds the ground-truth preference (the label items with attributes) just before the
//! instruction; the training example is the same prompt without it, so no label reaches the model
//! being trained except through the teacher's wording.

use super::conversation::render_history;
use super::item_text::{item_text, numbered_items, push_item_text, ItemView};
use crate::catalog::Item;
use crate::data::Turn;
use crate::model::scoring::ANSWER_PREFIX;
use crate::model::{ChatMessage, Choice, FinishReason};

/// d^c, the critique task description of Eq. 3, verbatim from the paper.
pub const CRITIQUE_TASK: &str = "You are the user to look for recommendations. Read the conversation and provide feedback on the recommendations given by the system.";

/// d^s, the scoring task description of Eq. 2, verbatim from the paper.
pub const SCORE_TASK: &str = "You are the user to look for recommendations. You need to provide feedback on the recommendations given by the system. For each recommendation, you should give feedback in the form of \"Accept the recommendation (Yes/No)? X\", where X is either \"Yes\" or \"No\"";

/// Attempts at one critique before it is given up (the reference's 3); a critique cut by the length
/// limit is invalid.
pub const CRITIQUE_MAX_ATTEMPTS: u32 = 3;

/// What the teacher is told about the ground-truth preference, after the paper's d^c.
const TEACHER_NOTE: &str = "Let your feedback follow your true preference (the \"Ground-Truth Preference\" part), through the attributes of the items, without naming its items: the system must not learn them from you.";

fn conversation_section(history: &[Turn]) -> String {
    format!("## Conversation\n\n{}", render_history(history))
}

fn list_section(list: &[&Item], view: ItemView) -> String {
    format!(
        "## Recommendation By System\n\n{}",
        numbered_items(list, view)
    )
}

/// The critique prompt of Eq. 3: the conversation, the list (with attributes unless the view is
/// titles only), and d^c.
pub fn critique_request(
    history: &[Turn],
    list: &[&Item],
    view: impl Into<ItemView>,
) -> Vec<ChatMessage> {
    let prompt = format!(
        "{}\n\n{}\n\n## Instruction\n\n{CRITIQUE_TASK}",
        conversation_section(history),
        list_section(list, view.into())
    );
    vec![ChatMessage::user(prompt)]
}

/// Why a critique cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidCritique {
    /// Cut by the `max_tokens` limit (the reference's only rejection).
    #[error("the critique was cut by the length limit")]
    Truncated,
    /// Nothing left once trimmed.
    #[error("the critique is empty")]
    Empty,
    /// A finish reason other than stop or length.
    #[error("the critique ended with finish reason {0:?}")]
    Unfinished(String),
}

/// Strips a leading label the model may echo (`Feedback:`, `**Feedback:**`, `User:`): the CRS
/// prompt shows the critique after its own `User: `.
fn strip_label(text: &str) -> &str {
    let mut text = text.trim();
    loop {
        let unbold = text.trim_start_matches('*').trim_start();
        let stripped = ["feedback:", "user:"].iter().find_map(|label| {
            let head = unbold.get(..label.len())?;
            head.eq_ignore_ascii_case(label)
                .then(|| unbold[label.len()..].trim_start_matches('*').trim())
        });
        match stripped {
            Some(rest) => text = rest,
            None => return text,
        }
    }
}

/// The critique text of one choice, or why it is invalid.
pub fn validate_critique(choice: &Choice) -> Result<String, InvalidCritique> {
    match &choice.finish_reason {
        FinishReason::Stop => {}
        FinishReason::Length => return Err(InvalidCritique::Truncated),
        FinishReason::Other(reason) => return Err(InvalidCritique::Unfinished(reason.clone())),
    }
    let text = strip_label(&choice.text);
    if text.is_empty() {
        return Err(InvalidCritique::Empty);
    }
    Ok(text.to_string())
}

/// The scoring prompt of Eq. 2 for `item`, to pass to
/// [`scoring_request`](crate::model::scoring::scoring_request). With `list_context` the whole list
/// is shown before the task description and the item is named after it (by its number when it is
/// in the list); without, the item alone follows the task description. The item always comes last.
pub fn score_messages(
    history: &[Turn],
    item: &Item,
    list_context: Option<&[&Item]>,
    view: impl Into<ItemView>,
) -> Vec<ChatMessage> {
    score_messages_in(&ScoreConversation::of(history), item, list_context, view)
}

/// The conversation section of a sample's scoring prompts, rendered once for every item of a
/// list ([`score_messages_in`]).
#[derive(Debug, Clone)]
pub struct ScoreConversation(String);

impl ScoreConversation {
    pub fn of(history: &[Turn]) -> Self {
        ScoreConversation(conversation_section(history))
    }
}

/// [`score_messages`] with the conversation already rendered.
pub fn score_messages_in(
    conversation: &ScoreConversation,
    item: &Item,
    list_context: Option<&[&Item]>,
    view: impl Into<ItemView>,
) -> Vec<ChatMessage> {
    let view = view.into();
    let conversation = &conversation.0;
    let prompt = match list_context {
        None => item_prompt(conversation, 512, |prompt| {
            push_item_text(prompt, item, view)
        }),
        Some(list) => {
            let asked = match list.iter().position(|other| other.title == item.title) {
                Some(index) => format!("{}. {}", index + 1, item.title),
                None => item_text(item, view),
            };
            format!(
                "{conversation}\n\n{}\n\n## Instruction\n\n{SCORE_TASK}\n\n## Recommendation To Answer\n\n{asked}",
                list_section(list, view)
            )
        }
    };
    vec![ChatMessage::user(prompt)]
}

/// [`score_messages_in`] without list context, the item already rendered (`item_text`, as
/// [`super::ItemTexts`] keeps it).
pub fn score_messages_of_shown(conversation: &ScoreConversation, shown: &str) -> Vec<ChatMessage> {
    vec![ChatMessage::user(item_prompt(
        &conversation.0,
        shown.len(),
        |prompt| prompt.push_str(shown),
    ))]
}

/// The scoring prompt of one item without list context, pushed into one string: a sweep builds
/// one of these per item scored.
fn item_prompt(
    conversation: &str,
    item_bytes: usize,
    push_item: impl FnOnce(&mut String),
) -> String {
    let mut prompt = String::with_capacity(conversation.len() + SCORE_TASK.len() + 64 + item_bytes);
    prompt.push_str(conversation);
    prompt.push_str("\n\n## Instruction\n\n");
    prompt.push_str(SCORE_TASK);
    prompt.push_str("\n\n## Recommendation By System\n\n1. ");
    push_item(&mut prompt);
    prompt
}

/// The ground-truth preference block of the teacher prompt: the label items with attributes.
pub fn preference_text(labels: &[&Item], view: impl Into<ItemView>) -> String {
    format!(
        "## Ground-Truth Preference\n\nThe items you are really looking for (known to you, not to \
         the system):\n{}",
        numbered_items(labels, view.into())
    )
}

/// The teacher prompt of critique synthesis: the critique prompt with the ground-truth preference
/// inserted before the instruction, and a note to follow it without naming its items.
pub fn critique_teacher_request(
    history: &[Turn],
    list: &[&Item],
    labels: &[&Item],
    view: impl Into<ItemView>,
) -> Vec<ChatMessage> {
    let view = view.into();
    let prompt = format!(
        "{}\n\n{}\n\n{}\n\n## Instruction\n\n{CRITIQUE_TASK} {TEACHER_NOTE}",
        conversation_section(history),
        list_section(list, view),
        preference_text(labels, view)
    );
    vec![ChatMessage::user(prompt)]
}

/// A critique training example: the inference critique prompt (no preference) and the teacher's
/// critique as the answer.
pub fn critique_training_example(
    history: &[Turn],
    list: &[&Item],
    view: impl Into<ItemView>,
    critique: &str,
) -> Vec<ChatMessage> {
    let mut messages = critique_request(history, list, view);
    messages.push(ChatMessage::assistant(critique.trim()));
    messages
}

/// A scoring training example: the inference scoring prompt and the answer
/// `Accept the recommendation (Yes/No)? Yes` (or `No`).
pub fn score_training_example(
    history: &[Turn],
    item: &Item,
    list_context: Option<&[&Item]>,
    view: impl Into<ItemView>,
    label: bool,
) -> Vec<ChatMessage> {
    let mut messages = score_messages(history, item, list_context, view);
    let answer = if label { "Yes" } else { "No" };
    messages.push(ChatMessage::assistant(format!("{ANSWER_PREFIX} {answer}")));
    messages
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Role;
    use crate::model::scoring::{
        read_score, Answer, ScoreFormula, ScoringMode, ANSWER_PREFIX_PIECES,
    };
    use crate::model::{TokenLogprob, TopLogprob};
    use crate::prompts::item_text::tests::{heat, ronin};

    fn history() -> Vec<Turn> {
        vec![
            Turn {
                role: Role::User,
                text: "I want a tense crime film.".into(),
            },
            Turn {
                role: Role::System,
                text: "Any actors you like?".into(),
            },
        ]
    }

    fn choice(text: &str, finish_reason: FinishReason) -> Choice {
        Choice {
            text: text.into(),
            finish_reason,
            logprobs: None,
        }
    }

    #[test]
    fn critique_prompt_has_the_paper_task_and_attributes_only_when_asked() {
        let (a, b) = (heat(), ronin());
        let with = &critique_request(&history(), &[&a, &b], true)[0].content;
        assert!(with.contains(CRITIQUE_TASK));
        assert!(with.ends_with(CRITIQUE_TASK));
        assert!(with.starts_with(
            "## Conversation\n\nUser: I want a tense crime film.\nSystem: Any actors you like?"
        ));
        assert!(with.contains("1. Heat (1995)\n  - genre: Action, Crime"));
        assert!(with.contains("  - director: John Frankenheimer"));
        let without = &critique_request(&history(), &[&a, &b], false)[0].content;
        assert!(without.contains("1. Heat (1995)\n2. Ronin (1998)\n"));
        assert!(!without.contains("genre") && !without.contains("Michael Mann"));
        assert!(without.contains(CRITIQUE_TASK));
    }

    #[test]
    fn a_prompt_of_a_kept_item_text_is_the_prompt_of_the_item() {
        let conversation = ScoreConversation::of(&history());
        let item = heat();
        for view in [
            ItemView::TitleOnly,
            ItemView::Attributes,
            ItemView::AttributesWithPlot,
        ] {
            let shown = score_messages_of_shown(&conversation, &item_text(&item, view));
            assert_eq!(shown, score_messages_in(&conversation, &item, None, view));
            assert!(shown[0].content.ends_with(&format!(
                "## Recommendation By System\n\n1. {}",
                item_text(&item, view)
            )));
        }
    }

    #[test]
    fn task_descriptions_are_the_papers() {
        assert_eq!(
            CRITIQUE_TASK,
            "You are the user to look for recommendations. Read the conversation and provide \
             feedback on the recommendations given by the system."
        );
        assert_eq!(
            SCORE_TASK,
            "You are the user to look for recommendations. You need to provide feedback on the \
             recommendations given by the system. For each recommendation, you should give \
             feedback in the form of \"Accept the recommendation (Yes/No)? X\", where X is either \
             \"Yes\" or \"No\""
        );
        assert!(SCORE_TASK.contains(ANSWER_PREFIX));
    }

    #[test]
    fn score_prompts_end_with_the_asked_item() {
        let (a, b) = (heat(), ronin());
        let alone = &score_messages(&history(), &b, None, true)[0].content;
        assert!(alone.contains(SCORE_TASK));
        assert!(alone.ends_with(&format!("1. {}", item_text(&b, ItemView::Attributes))));
        assert!(!alone.contains("Heat (1995)"));
        let in_list = &score_messages(&history(), &b, Some(&[&a, &b]), true)[0].content;
        assert!(in_list.contains("1. Heat (1995)\n  - genre: Action, Crime"));
        assert!(in_list.ends_with("## Recommendation To Answer\n\n2. Ronin (1998)"));
        // The prompts for the items of one list differ only at their end.
        let other = &score_messages(&history(), &a, Some(&[&a, &b]), true)[0].content;
        let shared = in_list.rfind("## Recommendation To Answer").unwrap();
        assert_eq!(in_list[..shared], other[..shared]);
        assert!(other.ends_with("1. Heat (1995)"));
    }

    #[test]
    fn truncated_critiques_are_invalid_and_labels_are_stripped() {
        assert_eq!(
            validate_critique(&choice("Too violent, I", FinishReason::Length)),
            Err(InvalidCritique::Truncated)
        );
        assert_eq!(
            validate_critique(&choice(" Feedback: Too violent. ", FinishReason::Stop)).unwrap(),
            "Too violent."
        );
        assert_eq!(
            validate_critique(&choice(
                "**Feedback:** I'd like comedy.",
                FinishReason::Stop
            ))
            .unwrap(),
            "I'd like comedy."
        );
        assert_eq!(
            validate_critique(&choice("Feedback:", FinishReason::Stop)),
            Err(InvalidCritique::Empty)
        );
        assert_eq!(CRITIQUE_MAX_ATTEMPTS, 3);
    }

    #[test]
    fn score_training_answer_reads_back_through_the_scorer() {
        let item = heat();
        let messages = score_training_example(&history(), &item, None, true, true);
        let answer = &messages.last().unwrap().content;
        assert_eq!(answer, "Accept the recommendation (Yes/No)? Yes");
        assert_eq!(
            messages[..messages.len() - 1],
            score_messages(&history(), &item, None, true)[..]
        );
        let mut pieces = ANSWER_PREFIX_PIECES.to_vec();
        pieces.push(" Yes");
        assert_eq!(pieces.concat(), *answer);
        let (p_yes, p_no) = (0.9f64, 0.08f64);
        let tokens: Vec<TokenLogprob> = pieces
            .iter()
            .map(|piece| {
                let top = if *piece == " Yes" {
                    vec![
                        TopLogprob {
                            token: " Yes".into(),
                            logprob: p_yes.ln(),
                        },
                        TopLogprob {
                            token: " No".into(),
                            logprob: p_no.ln(),
                        },
                    ]
                } else {
                    vec![TopLogprob {
                        token: (*piece).into(),
                        logprob: -0.01,
                    }]
                };
                TokenLogprob {
                    token: (*piece).into(),
                    logprob: top[0].logprob,
                    top_logprobs: top,
                }
            })
            .collect();
        let answer_choice = Choice {
            text: answer.clone(),
            finish_reason: FinishReason::Stop,
            logprobs: Some(tokens),
        };
        let score = read_score(
            &answer_choice,
            ScoringMode::Generate,
            ScoreFormula::Reference,
        )
        .unwrap();
        assert_eq!(score.answer, Answer::Yes);
        assert_eq!(score.position, 8);
        assert!((score.score - p_yes).abs() < 1e-12);
        let no = score_training_example(&history(), &item, None, true, false);
        assert_eq!(
            no.last().unwrap().content,
            "Accept the recommendation (Yes/No)? No"
        );
    }

    #[test]
    fn teacher_sees_the_preference_and_the_training_example_does_not() {
        let label = Item {
            title: "Thief (1981)".into(),
            attributes: crate::catalog::ItemAttributes {
                genre: vec!["Crime".into()],
                star: vec!["James Caan".into()],
                ..Default::default()
            },
        };
        let (a, b) = (heat(), ronin());
        let teacher = &critique_teacher_request(&history(), &[&a, &b], &[&label], true)[0].content;
        assert!(teacher.contains("## Ground-Truth Preference"));
        assert!(teacher.contains("1. Thief (1981)\n  - genre: Crime\n  - star: James Caan"));
        assert!(teacher.contains(CRITIQUE_TASK));
        let critique = "I'd rather see something with James Caan.";
        let example = critique_training_example(&history(), &[&a, &b], true, critique);
        assert_eq!(example.len(), 2);
        assert_eq!(
            example[..1],
            critique_request(&history(), &[&a, &b], true)[..]
        );
        assert_eq!(example[1], ChatMessage::assistant(critique));
        let prompt = &example[0].content;
        assert!(!prompt.contains("Thief") && !prompt.contains("Ground-Truth"));
        assert!(prompt.ends_with(CRITIQUE_TASK));
    }
}
