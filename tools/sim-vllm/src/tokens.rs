//! The approximate tokenizer: how the simulator counts and cuts tokens.
//!
//! A real server counts tokens with the model's BPE tokenizer; the simulator needs only counts of
//! the right size (about 4 characters of English per token, as Llama-3's tokenizer gives) and a
//! deterministic split, so that usage, `max_tokens`, per-token logprobs and the prefix cache agree
//! with one another. The rules:
//! - letters and digits form words; a word of up to [`WORD_CHARS`] characters is one token, a
//!   longer one a token per [`WORD_CHARS`] characters;
//! - every other visible character (punctuation, `*`, `(`) is a token of its own;
//! - a single space belongs to the token after it (`" the"`, `" Yes"`, as BPE vocabularies do);
//! - a run of newlines is one token, and so is any other run of whitespace.
//!
//! The prompt is the chat template applied to the messages ([`prompt_token_ids`]), Llama-3 style:
//! `<|begin_of_text|>`, then per message `<|start_header_id|>role<|end_header_id|>\n\ncontent
//! <|eot_id|>`, then the assistant header when `add_generation_prompt`; with
//! `continue_final_message` the last message stays open (no `<|eot_id|>`). Special tokens count
//! one each. Token ids are hashes of the token text, so equal text prefixes give equal id prefixes,
//! which is all the prefix cache needs.

use grsu::model::ChatMessage;

use crate::random::hash_str;

/// The longest word that is a single token.
pub const WORD_CHARS: usize = 6;

const BEGIN_OF_TEXT: u64 = 1;
const START_HEADER: u64 = 2;
const END_HEADER: u64 = 3;
const END_OF_TURN: u64 = 4;

/// The tokens of `text`, as slices that concatenate back to it.
pub fn pieces(text: &str) -> Vec<&str> {
    Pieces::of(text).collect()
}

/// The tokens of a text one after another (what [`pieces`] collects; the prompt's ids are read
/// from it without a vector per message).
pub struct Pieces<'a> {
    rest: &'a str,
}

impl<'a> Pieces<'a> {
    pub fn of(text: &'a str) -> Self {
        Pieces { rest: text }
    }
}

impl<'a> Iterator for Pieces<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest;
        let first = rest.chars().next()?;
        let len = if first == '\n' {
            rest.find(|c| c != '\n').unwrap_or(rest.len())
        } else if first.is_whitespace() {
            let after = &rest[first.len_utf8()..];
            if first == ' ' && after.chars().next().is_some_and(|c| !c.is_whitespace()) {
                1 + word_len(after)
            } else {
                rest.find(|c: char| !c.is_whitespace() || c == '\n')
                    .unwrap_or(rest.len())
            }
        } else {
            word_len(rest)
        };
        let (piece, after) = rest.split_at(len);
        self.rest = after;
        Some(piece)
    }
}

/// The length in bytes of the token at the start of `text` (a visible character): a word of up to
/// [`WORD_CHARS`] letters or digits, or one other character.
fn word_len(text: &str) -> usize {
    let mut chars = text.char_indices();
    let Some((_, first)) = chars.next() else {
        return 0;
    };
    if !first.is_alphanumeric() {
        return first.len_utf8();
    }
    for (taken, (at, c)) in (1..).zip(chars) {
        if taken == WORD_CHARS || !c.is_alphanumeric() {
            return at;
        }
    }
    text.len()
}

/// How many tokens `text` is.
pub fn count(text: &str) -> usize {
    pieces(text).len()
}

/// The token id of a piece of text (never one of the special ids).
fn piece_id(piece: &str) -> u64 {
    hash_str(piece) | (1 << 63)
}

/// The id `/tokenize` and `logprob_token_ids` use for a piece of text: a small id (below
/// [`VOCAB_SIZE`], above the special ids) hashed from the text, as a vocabulary's ids are.
pub fn vocab_id(piece: &str) -> u32 {
    16 + (hash_str(piece) % (VOCAB_SIZE as u64 - 16)) as u32
}

/// The size of the id space of [`vocab_id`] (Llama-3's vocabulary is 128 256 tokens).
pub const VOCAB_SIZE: u32 = 128_256;

/// The ids `/tokenize` gives for `text`: its pieces, after `<|begin_of_text|>` (id 1) with
/// `add_special_tokens`.
pub fn text_token_ids(text: &str, add_special_tokens: bool) -> Vec<u32> {
    let mut ids = Vec::new();
    if add_special_tokens {
        ids.push(BEGIN_OF_TEXT as u32);
    }
    ids.extend(Pieces::of(text).map(vocab_id));
    ids
}

/// The token ids of the prompt the server would build from `messages` with its chat template.
pub fn prompt_token_ids(
    messages: &[ChatMessage],
    add_generation_prompt: bool,
    continue_final_message: bool,
) -> Vec<u64> {
    // About four characters a token.
    let characters: usize = messages.iter().map(|message| message.content.len()).sum();
    let mut ids = Vec::with_capacity(characters / 3 + 8 * messages.len() + 8);
    ids.push(BEGIN_OF_TEXT);
    for (index, message) in messages.iter().enumerate() {
        ids.push(START_HEADER);
        ids.extend(Pieces::of(&message.role).map(piece_id));
        ids.push(END_HEADER);
        ids.push(piece_id("\n\n"));
        ids.extend(Pieces::of(&message.content).map(piece_id));
        let open = continue_final_message && index + 1 == messages.len();
        if !open {
            ids.push(END_OF_TURN);
        }
    }
    if add_generation_prompt && !continue_final_message {
        ids.push(START_HEADER);
        ids.push(piece_id("assistant"));
        ids.push(END_HEADER);
        ids.push(piece_id("\n\n"));
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_concatenate_back_and_attach_spaces_to_the_next_word() {
        let text = "Accept the recommendation (Yes/No)? Yes\n\n1. **Heat (1995)**  é";
        let split = pieces(text);
        assert_eq!(split.concat(), text);
        assert_eq!(
            &split[..10],
            &["Accept", " the", " recomm", "endati", "on", " (", "Yes", "/", "No", ")"]
        );
        assert!(split.contains(&" Yes") && split.contains(&"\n\n") && split.contains(&"  "));
        assert_eq!(pieces(" Yes"), vec![" Yes"]);
        assert_eq!(count(""), 0);
        // Runs of whitespace, a space before whitespace, words longer than WORD_CHARS, letters
        // beyond ASCII, a space at the end.
        assert_eq!(
            pieces("a \t\n\n\nb  c\u{a0}d abcdefghij éééééééx 9 "),
            [
                "a",
                " \t",
                "\n\n\n",
                "b",
                "  ",
                "c",
                "\u{a0}",
                "d",
                " abcdef",
                "ghij",
                " éééééé",
                "éx",
                " 9",
                " "
            ]
        );
    }

    #[test]
    fn english_text_is_about_four_characters_a_token() {
        let text = "I'm in the mood for a gangster movie. Goodfellas (1990) and The Godfather \
                    (1972) are two of my all-time favorites, anything more recent?";
        let ratio = text.len() as f64 / count(text) as f64;
        assert!((3.0..5.0).contains(&ratio), "{ratio}");
    }

    #[test]
    fn prompts_share_ids_as_far_as_their_text_is_shared() {
        let a = vec![ChatMessage::user(
            "## Conversation\n\nUser: hi\n\n## Task A",
        )];
        let b = vec![ChatMessage::user(
            "## Conversation\n\nUser: hi\n\n## Task B",
        )];
        let (ids_a, ids_b) = (
            prompt_token_ids(&a, true, false),
            prompt_token_ids(&b, true, false),
        );
        let shared = ids_a.iter().zip(&ids_b).take_while(|(x, y)| x == y).count();
        assert_eq!(ids_a.len(), ids_b.len());
        assert_eq!(
            shared,
            1 + 4 + count("## Conversation\n\nUser: hi\n\n## Task")
        );
        let mut forced = a.clone();
        forced.push(ChatMessage::assistant("Accept"));
        let open = prompt_token_ids(&forced, false, true);
        assert_eq!(open.last(), Some(&piece_id("Accept")));
    }
}
