//! Prompts and their parsers: the text the CRS and the simulated user read, and what is taken back
//! out of their answers.
//!
//! Everything here is a pure function from domain values ([`Turn`](crate::data::Turn),
//! [`Item`](crate::catalog::Item)) to [`ChatMessage`](crate::model::ChatMessage)s, or from model
//! text to domain values, so that the exact wording of every prompt is reviewed and tested in one
//! place, and the actors only send what these functions build.
//!
//! Prompts are laid out *prefix-friendly*: what is shared by many requests of one sample (the
//! conversation, then the task description) comes first and what varies (the previous list, the
//! critique, the item asked about) comes last, so that a server's prefix cache serves the shared
//! part once per sample.
//!
//! ## Layout
//!
//! - [`conversation`]: the dialogue history as `User: ...` / `System: ...` lines.
//! - [`item_text`](mod@item_text): an item and a numbered list of items as the simulated user sees them.
//! - [`crs`]: the CRS prompts of Eq. 1 (recommend, revise) and the stop sequence after k items.
//! - [`crs_parse`]: titles out of a CRS answer, onto the catalog, and the k-titles validity rule.
//! - [`user`]: the simulated user's critique (Eq. 3) and scoring (Eq. 2) prompts, and the training
//!   examples of instruction-data synthesis.
//! - [`retry`]: the temperature of a retried request.

pub mod conversation;
pub mod crs;
pub mod crs_parse;
pub mod item_text;
pub mod item_texts;
pub mod retry;
pub mod user;

pub use conversation::render_history;
pub use crs::{list_stop_sequence, recommend_request, revise_request};
pub use crs_parse::{
    match_list, parse_list, validate_list, InvalidList, ListParseMode, CRS_MAX_ATTEMPTS,
};
pub use item_text::{item_text, numbered_items, ItemView};
pub use item_texts::ItemTexts;
pub use retry::retry_temperature;
pub use user::{
    critique_request, critique_teacher_request, critique_training_example, preference_text,
    score_messages, score_messages_in, score_messages_of_shown, score_training_example,
    validate_critique, InvalidCritique, ScoreConversation, CRITIQUE_MAX_ATTEMPTS, CRITIQUE_TASK,
    SCORE_TASK,
};
