//! The prefix cache: vLLM's automatic prefix caching, reduced to its bookkeeping.
//!
//! A prompt is cut into blocks of `block_size` tokens; each *full* block is identified by a hash of
//! its tokens chained with the hash of the block before it, so a block hash stands for the whole
//! prefix up to its end. A new prompt reuses the longest run of leading blocks already cached
//! (those tokens are not prefilled again, and vLLM reports them as `cached_tokens`), then its other
//! full blocks are added. As in vLLM, at least the last prompt token is always computed, so a
//! prompt identical to a cached one still recomputes its last block.
//!
//! Capacity is a number of blocks (the KV cache's size); the least recently used blocks are evicted
//! first, and a prompt's later blocks are older than its earlier ones, so a chain is evicted from
//! its tail, as vLLM's free-block queue does. Not simulated: blocks of running sequences being
//! pinned, and the KV memory of decoded tokens.

use std::collections::{BTreeMap, HashMap};

use crate::random::{hash_bytes, mix};

/// vLLM's default block size, in tokens.
pub const DEFAULT_BLOCK_SIZE: usize = 16;

/// An LRU set of block hashes.
#[derive(Debug, Clone)]
pub struct PrefixCache {
    block_size: usize,
    capacity_blocks: usize,
    /// Block hash → its last-use stamp.
    blocks: HashMap<u64, u64>,
    /// Last-use stamp → block hash, oldest first.
    by_age: BTreeMap<u64, u64>,
    clock: u64,
}

impl PrefixCache {
    /// A cache of `capacity_blocks` blocks of `block_size` tokens; capacity 0 disables caching.
    pub fn new(capacity_blocks: usize, block_size: usize) -> Self {
        PrefixCache {
            block_size: block_size.max(1),
            capacity_blocks,
            blocks: HashMap::new(),
            by_age: BTreeMap::new(),
            clock: 0,
        }
    }

    pub fn block_size(&self) -> usize {
        self.block_size
    }

    /// Blocks held now.
    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// Forgets every block.
    pub fn clear(&mut self) {
        self.blocks.clear();
        self.by_age.clear();
    }

    /// The chained hashes of the full blocks of `tokens`.
    pub fn block_hashes(&self, tokens: &[u64]) -> Vec<u64> {
        let mut parent = 0u64;
        tokens
            .chunks_exact(self.block_size)
            .map(|block| {
                let bytes: Vec<u8> = block.iter().flat_map(|token| token.to_le_bytes()).collect();
                parent = mix(parent, hash_bytes(&bytes));
                parent
            })
            .collect()
    }

    /// Serves a prompt: returns how many of its tokens were cached (a multiple of the block size),
    /// then caches its full blocks and marks them most recently used.
    pub fn lookup_and_insert(&mut self, tokens: &[u64]) -> usize {
        if self.capacity_blocks == 0 || tokens.is_empty() {
            return 0;
        }
        let hashes = self.block_hashes(tokens);
        // The last prompt token is always computed: hits stop at the last full block before it.
        let reusable = (tokens.len() - 1) / self.block_size;
        let hits = hashes
            .iter()
            .take(reusable)
            .take_while(|hash| self.blocks.contains_key(hash))
            .count();
        // Later blocks get older stamps, so that a chain is evicted from its tail.
        for hash in hashes.iter().rev() {
            self.clock += 1;
            if let Some(stamp) = self.blocks.insert(*hash, self.clock) {
                self.by_age.remove(&stamp);
            }
            self.by_age.insert(self.clock, *hash);
        }
        while self.blocks.len() > self.capacity_blocks {
            let Some((_, oldest)) = self.by_age.pop_first() else {
                break;
            };
            self.blocks.remove(&oldest);
        }
        hits * self.block_size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt(shared: u64, own: u64, length: u64) -> Vec<u64> {
        (0..length)
            .map(|index| {
                if index < shared {
                    index
                } else {
                    own * 1000 + index
                }
            })
            .collect()
    }

    #[test]
    fn cold_start_misses_and_a_repeat_hits_all_but_the_last_block() {
        let mut cache = PrefixCache::new(100, 16);
        let tokens = prompt(64, 0, 64);
        assert_eq!(cache.lookup_and_insert(&tokens), 0);
        assert_eq!(cache.len(), 4);
        // 64 tokens: the last token must be recomputed, so blocks 0..3 hit.
        assert_eq!(cache.lookup_and_insert(&tokens), 48);
        let longer = prompt(64, 0, 70);
        assert_eq!(cache.lookup_and_insert(&longer), 64);
    }

    #[test]
    fn a_shared_prefix_hits_up_to_its_last_full_block() {
        let mut cache = PrefixCache::new(100, 16);
        cache.lookup_and_insert(&prompt(40, 1, 100));
        // 40 shared tokens: blocks 0 and 1 (32 tokens) are identical, block 2 differs.
        assert_eq!(cache.lookup_and_insert(&prompt(40, 2, 100)), 32);
        assert_eq!(cache.lookup_and_insert(&prompt(0, 3, 100)), 0);
    }

    #[test]
    fn least_recently_used_chains_are_evicted_from_their_tail() {
        let mut cache = PrefixCache::new(6, 4);
        cache.lookup_and_insert(&prompt(0, 1, 16)); // 4 blocks of prompt 1
        cache.lookup_and_insert(&prompt(0, 2, 16)); // 4 blocks of prompt 2: 2 of prompt 1 go
        assert_eq!(cache.len(), 6);
        // Prompt 1 kept its first two blocks (its tail was evicted first).
        assert_eq!(cache.lookup_and_insert(&prompt(0, 1, 16)), 8);
        let mut disabled = PrefixCache::new(0, 4);
        disabled.lookup_and_insert(&prompt(0, 1, 16));
        assert_eq!(disabled.lookup_and_insert(&prompt(0, 1, 16)), 0);
        assert!(disabled.is_empty());
    }
}
