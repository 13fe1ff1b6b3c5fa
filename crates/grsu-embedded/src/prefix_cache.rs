//! [`PrefixCache`]: model states after recent prompt prefixes, so that a prompt sharing a long
//! beginning with a recent one reads only its new tokens.
//!
//! candle's [`ModelWeights`] keeps its KV cache private and only ever appends to it, but cloning
//! it is cheap (tensors are shared, and appending makes new tensors), so the cache keeps clones:
//! the state after each recent prompt (with its last logits), and the state after the longest
//! prefix a new prompt shared with a cached one (where the next prompts of a series, the same
//! conversation ending with a different item, will branch again).
//!
//! The answers do not depend on the cache: every prompt is read in blocks of [`BLOCK_TOKENS`]
//! tokens that start at multiples of it, with or without a cache, and only states at block
//! boundaries (or after a whole identical prompt) are reused. Reading the same block after the
//! same state is bit-for-bit the same computation, whereas reading a prompt in pieces of other
//! sizes would change the matrix shapes, hence the rounding (by about 1e-5 in logprobs).

use candle_transformers::models::quantized_llama::ModelWeights;

use crate::choice_generation::forward_logits;
use grsu::model::ModelError;

/// Prompts are read in blocks of this many tokens; cached prefixes end at block boundaries.
const BLOCK_TOKENS: usize = 32;
/// States kept (each about 46 KB per token for SmolLM2-135M).
const CAPACITY: usize = 4;

/// The model after reading `tokens`.
struct CachedPrefix {
    tokens: Vec<u32>,
    weights: ModelWeights,
    /// Logits of the position after `tokens`.
    logits: Vec<f32>,
}

/// Recent prompt states, least recently used first.
#[derive(Default)]
pub struct PrefixCache {
    entries: Vec<CachedPrefix>,
}

impl PrefixCache {
    /// Drops every cached state.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Reads `prompt` (not empty) from the longest cached prefix, or with `fresh` (a model with an
    /// empty KV cache) from position 0, and returns the model state and the logits after it.
    pub fn read_prompt(
        &mut self,
        fresh: &ModelWeights,
        prompt: &[u32],
    ) -> Result<(ModelWeights, Vec<f32>), ModelError> {
        let reusable = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, entry)| {
                let len = entry.tokens.len();
                (len == prompt.len() || len % BLOCK_TOKENS == 0)
                    && prompt.starts_with(&entry.tokens)
            })
            .max_by_key(|(_, entry)| entry.tokens.len())
            .map(|(index, _)| index);
        let (mut weights, mut logits, mut position) = match reusable {
            Some(index) => {
                let entry = self.touch(index);
                (
                    entry.weights.clone(),
                    entry.logits.clone(),
                    entry.tokens.len(),
                )
            }
            None => (fresh.clone(), Vec::new(), 0),
        };
        if position == prompt.len() {
            return Ok((weights, logits));
        }

        // Where this prompt leaves a cached one (down to a block boundary): a branching point
        // worth keeping, from which the next prompts of a series will likely read on.
        let branch = self
            .entries
            .iter()
            .map(|entry| common_prefix_len(&entry.tokens, prompt) / BLOCK_TOKENS * BLOCK_TOKENS)
            .max()
            .unwrap_or(0);
        while position < prompt.len() {
            let end = ((position / BLOCK_TOKENS + 1) * BLOCK_TOKENS).min(prompt.len());
            logits = forward_logits(&mut weights, &prompt[position..end], position)?;
            position = end;
            if position == branch {
                self.insert(&prompt[..branch], &weights, &logits);
            }
        }
        self.insert(prompt, &weights, &logits);
        Ok((weights, logits))
    }

    /// Moves entry `index` to the most recently used end and returns it.
    fn touch(&mut self, index: usize) -> &CachedPrefix {
        let entry = self.entries.remove(index);
        self.entries.push(entry);
        self.entries.last().expect("just pushed")
    }

    fn insert(&mut self, tokens: &[u32], weights: &ModelWeights, logits: &[f32]) {
        self.entries.retain(|entry| entry.tokens != tokens);
        if self.entries.len() >= CAPACITY {
            self.entries.remove(0);
        }
        self.entries.push(CachedPrefix {
            tokens: tokens.to_vec(),
            weights: weights.clone(),
            logits: logits.to_vec(),
        });
    }
}

fn common_prefix_len(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}
