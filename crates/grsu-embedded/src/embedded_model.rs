//! [`EmbeddedModel`]: a quantised chat model run on the CPU inside the process.
//!
//! One GGUF file holds everything: the weights (run by candle's quantised Llama), the tokenizer
//! and the chat template (in the metadata). Reading it once at [`EmbeddedModel::load`] gives a
//! model that answers [`ChatRequest`]s exactly like the HTTP backends do, which lets the whole
//! system run, and its tests use a real model, without any server.
//!
//! Calls are synchronous and take `&mut self`, so requests run one at a time. A request whose
//! prompt begins like a recent one (the same conversation with another item at the end, or the
//! same prompt with another seed) reads only the tokens after the shared beginning, from the
//! model state kept in a `PrefixCache`; the answers are the same as from a fresh model.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use candle_core::quantized::gguf_file;
use candle_core::Device;
use candle_transformers::models::quantized_llama::{ModelWeights, MAX_SEQ_LEN};

use crate::chat_template::ChatTemplate;
use crate::choice_generation::{generate_choice, PromptState, Vocabulary};
use crate::cpu_weight_format::{has_quantized_weights, unpack_to_f32};
use crate::gguf_metadata::{metadata_str, metadata_u32};
use crate::gguf_tokenizer::GgufTokenizer;
use crate::prefix_cache::PrefixCache;
use crate::token_choice::TokenChooser;
use crate::{candle_error, embedded_error};
use grsu::model::{ChatRequest, ChatResponse, Choice, ModelError, Usage};

/// The ChatML end-of-turn marker.
const CHATML_END_OF_TURN: &str = "<|im_end|>";

/// A GGUF chat model loaded for CPU inference.
pub struct EmbeddedModel {
    name: String,
    identity: String,
    /// The weights, with an empty KV cache.
    weights: ModelWeights,
    prefix_cache: PrefixCache,
    tokenizer: GgufTokenizer,
    template: ChatTemplate,
    end_token_ids: Vec<u32>,
}

impl EmbeddedModel {
    /// Loads the GGUF model at `path`: weights, tokenizer, chat template and end-of-turn tokens.
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let file = File::open(path).map_err(|e| {
            embedded_error(format!("cannot open model file {}: {e}", path.display()))
        })?;
        let size = file.metadata().map(|meta| meta.len()).unwrap_or(0);
        let mut reader = BufReader::new(file);
        let content = gguf_file::Content::read(&mut reader).map_err(|e| {
            embedded_error(format!(
                "{} is not a readable GGUF file: {e}",
                path.display()
            ))
        })?;
        let metadata = &content.metadata;

        let tokenizer = GgufTokenizer::from_metadata(metadata)?;
        let token_text = |key: &str| -> Result<String, ModelError> {
            match metadata_u32(metadata, key) {
                Some(id) => tokenizer.token_text(id),
                None => Ok(String::new()),
            }
        };
        let bos_token = token_text("tokenizer.ggml.bos_token_id")?;
        let eos_token = token_text("tokenizer.ggml.eos_token_id")?;
        let template_source = metadata_str(metadata, "tokenizer.chat_template")
            .ok_or_else(|| embedded_error("the GGUF file has no tokenizer.chat_template"))?;
        let template = ChatTemplate::new(template_source, &bos_token, &eos_token)?;

        let mut end_token_ids: Vec<u32> = metadata_u32(metadata, "tokenizer.ggml.eos_token_id")
            .into_iter()
            .chain(tokenizer.token_id(CHATML_END_OF_TURN))
            .collect();
        end_token_ids.sort_unstable();
        end_token_ids.dedup();
        if end_token_ids.is_empty() {
            return Err(embedded_error(
                "the model declares no end-of-sequence or end-of-turn token",
            ));
        }

        let weights = if has_quantized_weights(&content) {
            let (converted, mut image) = unpack_to_f32(&content, &mut reader)?;
            ModelWeights::from_gguf(converted, &mut image, &Device::Cpu)
        } else {
            ModelWeights::from_gguf(content, &mut reader, &Device::Cpu)
        }
        .map_err(candle_error)?;

        let file_name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_else(|| "embedded".to_owned());
        Ok(EmbeddedModel {
            identity: format!("embedded:{file_name}:{size}"),
            name,
            weights,
            prefix_cache: PrefixCache::default(),
            tokenizer,
            template,
            end_token_ids,
        })
    }

    /// The model's name: its file name without the extension.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `embedded:<file name>:<size in bytes>`: stable across runs and machines for the same file.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The tokenizer read from the model file.
    pub fn tokenizer(&self) -> &GgufTokenizer {
        &self.tokenizer
    }

    /// Tokens that end a generated answer (end of sequence, end of turn).
    pub fn end_token_ids(&self) -> &[u32] {
        &self.end_token_ids
    }

    /// The prompt text the model reads for `request`.
    pub fn render_prompt(&self, request: &ChatRequest) -> Result<String, ModelError> {
        self.template.render_prompt(request)
    }

    /// Forgets the model states kept for recent prompts (the next request reads its whole prompt).
    pub fn clear_prefix_cache(&mut self) {
        self.prefix_cache.clear();
    }

    /// Answers `request` with `request.n` choices.
    pub fn complete(&mut self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let prompt = self.render_prompt(request)?;
        let prompt_tokens = self.tokenizer.encode(&prompt)?;
        if prompt_tokens.is_empty() {
            return Err(embedded_error("the prompt is empty"));
        }
        if prompt_tokens.len() >= MAX_SEQ_LEN {
            return Err(embedded_error(format!(
                "the prompt has {} tokens, the embedded model reads at most {}",
                prompt_tokens.len(),
                MAX_SEQ_LEN - 1
            )));
        }

        let (choices, completion_tokens) = self.generate_choices(request, &prompt_tokens)?;
        Ok(ChatResponse {
            model: self.name.clone(),
            choices,
            usage: Usage {
                prompt_tokens: prompt_tokens.len() as u64,
                completion_tokens,
            },
        })
    }

    fn generate_choices(
        &mut self,
        request: &ChatRequest,
        prompt_tokens: &[u32],
    ) -> Result<(Vec<Choice>, u64), ModelError> {
        let (weights, logits) = self
            .prefix_cache
            .read_prompt(&self.weights, prompt_tokens)?;
        let prompt = PromptState {
            weights: &weights,
            logits: &logits,
            prompt_len: prompt_tokens.len(),
        };
        let vocabulary = Vocabulary {
            tokenizer: &self.tokenizer,
            end_token_ids: &self.end_token_ids,
        };
        let seed = request.seed.unwrap_or(0);
        let mut choices = Vec::with_capacity(request.n as usize);
        let mut completion_tokens = 0;
        for index in 0..request.n {
            let chooser = TokenChooser::new(request.temperature, seed, index);
            let generated = generate_choice(&prompt, &vocabulary, request, chooser)?;
            completion_tokens += generated.completion_tokens;
            choices.push(generated.choice);
        }
        Ok((choices, completion_tokens))
    }
}

impl std::fmt::Debug for EmbeddedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedModel")
            .field("identity", &self.identity)
            .field("end_token_ids", &self.end_token_ids)
            .finish_non_exhaustive()
    }
}
