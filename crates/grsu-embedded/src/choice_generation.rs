//! The decoding loop of one choice: feed a token, choose the next, stop when due.
//!
//! Every choice of a request starts from the same state, the model after reading the prompt (its
//! KV cache and the logits of the prompt's last position), so the prompt is read once per request
//! whatever `n` is. A choice ends at an end-of-turn token (`Stop`), when a stop sequence appears in
//! the text (`Stop`, text cut before it), or when `max_tokens` tokens or the model's context are
//! used up (`Length`). Like vLLM, the end-of-turn token counts as a completion token and has a
//! logprob entry, but never appears in the text.

use candle_core::{Device, Tensor};
use candle_transformers::models::quantized_llama::{ModelWeights, MAX_SEQ_LEN};

use crate::gguf_tokenizer::GgufTokenizer;
use crate::stop_sequences::earliest_stop;
use crate::token_choice::{log_softmax, top_tokens, TokenChooser};
use crate::{candle_error, embedded_error};
use grsu::model::{ChatRequest, Choice, FinishReason, ModelError, TokenLogprob, TopLogprob};

/// The model state right after the prompt.
pub struct PromptState<'a> {
    /// The weights with the prompt in their KV cache (cloned per choice; tensors are shared).
    pub weights: &'a ModelWeights,
    /// Logits for the first generated position.
    pub logits: &'a [f32],
    /// Number of prompt tokens: the position of the first generated token.
    pub prompt_len: usize,
}

/// What the loop needs to know about the model's vocabulary.
pub struct Vocabulary<'a> {
    pub tokenizer: &'a GgufTokenizer,
    /// Tokens that end the assistant's turn.
    pub end_token_ids: &'a [u32],
}

/// A finished choice and the number of tokens it generated.
pub struct GeneratedChoice {
    pub choice: Choice,
    pub completion_tokens: u64,
}

/// Generates one choice of `request` from `prompt` with `chooser`.
pub fn generate_choice(
    prompt: &PromptState<'_>,
    vocabulary: &Vocabulary<'_>,
    request: &ChatRequest,
    mut chooser: TokenChooser,
) -> Result<GeneratedChoice, ModelError> {
    let mut weights = prompt.weights.clone();
    let mut logits = prompt.logits.to_vec();
    let mut position = prompt.prompt_len;
    let max_tokens = request.max_tokens as usize;
    let top_count = request.top_logprobs.unwrap_or(0) as usize;

    let mut text_tokens: Vec<u32> = Vec::new();
    let mut logprobs: Vec<TokenLogprob> = Vec::new();
    let mut generated = 0usize;
    let mut stop_cut: Option<usize> = None;

    let finish_reason = loop {
        if generated >= max_tokens {
            break FinishReason::Length;
        }
        let token = chooser.choose(&logits);
        generated += 1;
        if request.logprobs {
            logprobs.push(token_logprob(
                vocabulary.tokenizer,
                &logits,
                token,
                top_count,
            )?);
        }
        if vocabulary.end_token_ids.contains(&token) {
            break FinishReason::Stop;
        }
        text_tokens.push(token);
        if !request.stop.is_empty() {
            let text = vocabulary.tokenizer.decode(&text_tokens)?;
            if let Some(cut) = earliest_stop(&text, &request.stop) {
                stop_cut = Some(cut);
                break FinishReason::Stop;
            }
        }
        if generated >= max_tokens || position + 1 > MAX_SEQ_LEN {
            break FinishReason::Length;
        }
        logits = next_logits(&mut weights, token, position)?;
        position += 1;
    };

    let mut text = vocabulary.tokenizer.decode(&text_tokens)?;
    if let Some(cut) = stop_cut {
        text.truncate(cut);
    }
    Ok(GeneratedChoice {
        choice: Choice {
            text,
            finish_reason,
            logprobs: request.logprobs.then_some(logprobs),
        },
        completion_tokens: generated as u64,
    })
}

/// Runs `tokens` through the model starting at `position` and returns the logits of the last one.
/// Position 0 makes the model drop whatever its KV cache held.
pub fn forward_logits(
    weights: &mut ModelWeights,
    tokens: &[u32],
    position: usize,
) -> Result<Vec<f32>, ModelError> {
    if tokens.is_empty() {
        return Err(embedded_error("cannot run the model on no tokens"));
    }
    let input = Tensor::new(tokens, &Device::Cpu)
        .and_then(|tensor| tensor.unsqueeze(0))
        .map_err(candle_error)?;
    weights
        .forward(&input, position)
        .and_then(|logits| logits.squeeze(0))
        .and_then(|logits| logits.to_dtype(candle_core::DType::F32))
        .and_then(|logits| logits.to_vec1::<f32>())
        .map_err(candle_error)
}

fn next_logits(
    weights: &mut ModelWeights,
    token: u32,
    position: usize,
) -> Result<Vec<f32>, ModelError> {
    forward_logits(weights, &[token], position)
}

fn token_logprob(
    tokenizer: &GgufTokenizer,
    logits: &[f32],
    token: u32,
    top_count: usize,
) -> Result<TokenLogprob, ModelError> {
    let logprobs = log_softmax(logits);
    let top_logprobs = top_tokens(&logprobs, top_count)
        .into_iter()
        .map(|(id, logprob)| {
            Ok(TopLogprob {
                token: tokenizer.token_text(id)?.into(),
                logprob,
            })
        })
        .collect::<Result<Vec<_>, ModelError>>()?;
    Ok(TokenLogprob {
        token: tokenizer.token_text(token)?.into(),
        logprob: logprobs[token as usize],
        top_logprobs,
    })
}
