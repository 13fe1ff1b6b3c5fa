//! The chat-completion protocol shared by every backend: an OpenAI-compatible subset with the
//! fields the method needs (n, seed, logprobs, top-logprobs, stop) and vLLM's extras.
//!
//! A [`ChatRequest`] serialises canonically (fields in declaration order, no endpoint, no API key),
//! so its JSON is the response cache's key together with the model identity.

use serde::{Deserialize, Serialize};

/// One chat message. Roles are `system`, `user`, `assistant`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn system(content: impl Into<String>) -> Self {
        ChatMessage {
            role: "system".into(),
            content: content.into(),
        }
    }

    pub fn user(content: impl Into<String>) -> Self {
        ChatMessage {
            role: "user".into(),
            content: content.into(),
        }
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        ChatMessage {
            role: "assistant".into(),
            content: content.into(),
        }
    }
}

/// A chat-completion request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub messages: Vec<ChatMessage>,
    /// 0 means greedy decoding.
    pub temperature: f32,
    pub max_tokens: u32,
    /// Number of choices wanted. Servers that ignore it (llama.cpp) are topped up by the client.
    pub n: u32,
    /// Sampling seed; requests with a seed are deterministic values.
    pub seed: Option<u64>,
    /// Return the log-probability of each generated token.
    pub logprobs: bool,
    /// With `logprobs`, also the this many most likely tokens at each position.
    pub top_logprobs: Option<u32>,
    /// Stop sequences (not included in the returned text).
    pub stop: Vec<String>,
    /// vLLM: the last message is an assistant message to continue, not to answer.
    pub continue_final_message: bool,
    /// vLLM: append the assistant header after the messages (false with `continue_final_message`).
    pub add_generation_prompt: bool,
    /// vLLM: with `logprobs`, the log-probabilities of exactly these token ids at each generated
    /// position (besides the sampled token's), in place of the top alternatives. Left out of the
    /// serialised request when empty, so that requests without it (and their cache keys) are
    /// what they were before the field existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logprob_token_ids: Vec<u32>,
    /// vLLM: the request's scheduling priority (lower first; `--scheduling-policy priority`).
    /// Not serialised here: it changes when an answer comes, not what it is, so it is no part of
    /// the request's identity (its cache key); the wire request carries it.
    #[serde(skip)]
    pub priority: Option<i32>,
}

impl ChatRequest {
    /// A request with the given messages and defaults: greedy, 256 tokens, one choice, no logprobs.
    pub fn new(messages: Vec<ChatMessage>) -> Self {
        ChatRequest {
            messages,
            temperature: 0.0,
            max_tokens: 256,
            n: 1,
            seed: None,
            logprobs: false,
            top_logprobs: None,
            stop: Vec::new(),
            continue_final_message: false,
            add_generation_prompt: true,
            logprob_token_ids: Vec::new(),
            priority: None,
        }
    }
}

/// Why generation of a choice ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// End of sequence or a stop sequence.
    Stop,
    /// The `max_tokens` limit: the text is cut.
    Length,
    /// Anything else a server reports.
    Other(String),
}

/// A token's decoded text. Held inline up to 24 bytes (every token of a real vocabulary but the
/// longest): a scoring answer names 20 alternatives, and a sweep reads thousands of answers a
/// second, so each `String` would be an allocation on the hot path.
pub type TokenText = compact_str::CompactString;

/// One alternative token at a position, with its log-probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopLogprob {
    /// The decoded token text, with its leading space if any (`" Yes"`), as vLLM returns it.
    pub token: TokenText,
    pub logprob: f64,
}

/// A generated token, its log-probability, and the most likely alternatives at its position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenLogprob {
    pub token: TokenText,
    pub logprob: f64,
    pub top_logprobs: Vec<TopLogprob>,
}

/// One generated answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub text: String,
    pub finish_reason: FinishReason,
    /// Present when the request asked for logprobs.
    pub logprobs: Option<Vec<TokenLogprob>>,
}

/// Token counts of a response (all choices together).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// A chat-completion response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// The model id the server reported.
    pub model: String,
    pub choices: Vec<Choice>,
    pub usage: Usage,
}
