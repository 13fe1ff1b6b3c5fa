//! The tokenizer of a GGUF model, rebuilt from the file's own metadata.
//!
//! A GGUF file carries its vocabulary (`tokenizer.ggml.tokens`), its BPE merges
//! (`tokenizer.ggml.merges`) and each token's type (`tokenizer.ggml.token_type`), so no separate
//! `tokenizer.json` has to be shipped or downloaded. For GPT-2 style byte-level BPE models such as
//! SmolLM2 this is enough to rebuild the Hugging Face tokenizer: a byte-level pre-tokenizer without
//! prefix space, the BPE model, a byte-level decoder, and the control tokens (type 3, e.g.
//! `<|im_start|>`) registered as special tokens so chat markup encodes as single tokens.
//!
//! Token texts handed out for logprobs are *decoded* (`ĠYes` becomes `" Yes"`), the way vLLM
//! reports them, so callers can compare them with plain strings.

use std::collections::HashMap;

use candle_core::quantized::gguf_file::Value;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer};

use crate::gguf_metadata::{integer_value, metadata_str, metadata_strings};
use crate::{candle_error, embedded_error};
use grsu::model::ModelError;

/// GGUF `tokenizer.ggml.token_type` of control tokens (llama.cpp's `LLAMA_TOKEN_TYPE_CONTROL`).
const CONTROL_TOKEN_TYPE: i64 = 3;

/// A byte-level BPE tokenizer built from GGUF metadata.
pub struct GgufTokenizer {
    tokenizer: Tokenizer,
    vocab_size: usize,
}

impl GgufTokenizer {
    /// Builds the tokenizer from a GGUF file's metadata.
    pub fn from_metadata(metadata: &HashMap<String, Value>) -> Result<Self, ModelError> {
        let model = metadata_str(metadata, "tokenizer.ggml.model").unwrap_or("gpt2");
        if model != "gpt2" {
            return Err(embedded_error(format!(
                "unsupported GGUF tokenizer model {model:?} (only byte-level BPE, \"gpt2\", is)"
            )));
        }
        let tokens = metadata_strings(metadata, "tokenizer.ggml.tokens")?;
        let merges = metadata_strings(metadata, "tokenizer.ggml.merges")?
            .into_iter()
            .map(|merge| {
                merge
                    .split_once(' ')
                    .map(|(left, right)| (left.to_owned(), right.to_owned()))
                    .ok_or_else(|| embedded_error(format!("malformed BPE merge {merge:?}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let token_types = match metadata.get("tokenizer.ggml.token_type") {
            Some(value) => value
                .to_vec()
                .map_err(candle_error)?
                .iter()
                .map(integer_value)
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };

        let vocab: Vocab = tokens
            .iter()
            .enumerate()
            .map(|(id, token)| (token.to_string(), id as u32))
            .collect();
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .build()
            .map_err(|e| embedded_error(format!("cannot build the BPE tokenizer: {e}")))?;
        let mut tokenizer = Tokenizer::new(bpe);
        tokenizer.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
        tokenizer.with_decoder(Some(ByteLevelDecoder::default()));
        let special: Vec<AddedToken> = tokens
            .iter()
            .zip(&token_types)
            .filter(|(_, &token_type)| token_type == CONTROL_TOKEN_TYPE)
            .map(|(token, _)| AddedToken::from(token.to_string(), true))
            .collect();
        tokenizer
            .add_special_tokens(special)
            .map_err(|e| embedded_error(format!("cannot register special tokens: {e}")))?;

        Ok(GgufTokenizer {
            tokenizer,
            vocab_size: tokens.len(),
        })
    }

    /// Number of tokens in the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    /// Encodes text that may contain special-token markup (a rendered chat prompt). Nothing is
    /// added around it: the chat template already wrote every marker the model expects.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, ModelError> {
        let encoding = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| embedded_error(format!("cannot tokenize: {e}")))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Decodes generated tokens into text, leaving special tokens out.
    pub fn decode(&self, ids: &[u32]) -> Result<String, ModelError> {
        self.tokenizer
            .decode(ids, true)
            .map_err(|e| embedded_error(format!("cannot decode tokens: {e}")))
    }

    /// The decoded text of one token, special tokens included (`" Yes"`, `"<|im_end|>"`). A token
    /// holding part of a multi-byte character decodes to U+FFFD, as in vLLM.
    pub fn token_text(&self, id: u32) -> Result<String, ModelError> {
        self.tokenizer
            .decode(&[id], false)
            .map_err(|e| embedded_error(format!("cannot decode token {id}: {e}")))
    }

    /// The id of a token given by its vocabulary string (`"<|im_end|>"`, `"ĠYes"`).
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.tokenizer.token_to_id(token)
    }

    /// The vocabulary string of a token id (`"ĠYes"`), undecoded.
    pub fn token_string(&self, id: u32) -> Option<String> {
        self.tokenizer.id_to_token(id)
    }
}
