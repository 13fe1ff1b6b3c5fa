//! The matcher: exact match, else the best QRatio in catalog order, with de-duplication within a
//! list and an optional minimum score.
//!
//! The result is exactly rapidfuzz's `extractOne` (the highest score, the first item in catalog
//! order among equal scores), found without scoring every title. The catalog is processed once:
//! each processed title is kept as small character ids (its characters ranked by frequency over
//! the catalog), with a histogram of them, and the titles are grouped by length. A query is turned
//! into the bit masks of its characters once, and the groups are visited by decreasing best
//! possible score (`2·min(m, n) / (m + n)`), so that a good score found early rules the rest out:
//! first whole groups by their lengths, then titles by the characters they share with the query
//! (the LCS is at most the sum over characters of the smaller count), and only the titles left are
//! scored, with a bit-parallel LCS (Hyyrö's; `ratio = 2·LCS / (m + n)`) on the query's masks.
//! A query whose processed form is a processed title scores 100 there by a hash lookup; one longer
//! than 255 characters once processed is scored against every title, as before.

use std::collections::{HashMap, HashSet};

use rapidfuzz::fuzz::{self, Args};

use super::memo::{BestItem, TitleMemo};
use super::process::default_process;
use crate::catalog::{Catalog, ItemIndex};

/// The result of matching one title.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TitleMatch {
    /// The catalog item, or `None` when the best score is under the minimum (or the catalog is empty).
    pub item: Option<ItemIndex>,
    /// The best score found, 0–100 (100 for an exact match), even when the title stays unmatched.
    pub score: f64,
}

/// Histogram buckets: the 31 most frequent characters of the catalog get one each, the rest share
/// the last (the bound stays valid, only looser; 32 bytes per title are two vector loads).
const BUCKETS: usize = 32;
const _: () = assert!(BUCKETS.is_multiple_of(16));

/// The processed catalog, titles sorted by (length, catalog order).
#[derive(Debug, Clone)]
struct Indexed {
    /// Character → id (1-based frequency rank); a character outside the catalog has none. Those
    /// under U+0100 in a table (0: none), the others in the map.
    latin1: [u32; 256],
    ids: HashMap<char, u32>,
    /// Ids of all titles, concatenated in sorted order; `offsets[k]..offsets[k + 1]` is title `k`.
    text: Vec<u32>,
    offsets: Vec<u32>,
    /// Character histogram of each sorted title (counts capped at 255: the bound stays valid, as a
    /// query on this path has at most 255 characters).
    histograms: Vec<Histogram>,
    /// Catalog index of each sorted title.
    items: Vec<u32>,
    /// (length, first, end) ranges of `items` with that processed length, by increasing length.
    groups: Vec<(usize, usize, usize)>,
    /// Processed title → first catalog index with it (a query equal to it scores 100 there first).
    processed_first: HashMap<String, ItemIndex>,
    /// The number of distinct character ids (the size of a query's mask table).
    alphabet: usize,
}

/// Matches titles against one catalog. Built once per catalog: it keeps the processed titles.
#[derive(Debug, Clone)]
pub struct TitleMatcher {
    exact: HashMap<String, ItemIndex>,
    processed: Vec<Vec<char>>,
    indexed: Indexed,
    min_score: Option<f64>,
    /// `None` when matching cold (benchmarks of the matching itself).
    memo: Option<TitleMemo>,
}

/// `fuzz.ratio` from the LCS, computed as rapidfuzz computes it: `1 − distance / (m + n)`, × 100.
#[inline]
fn ratio_of(lcs: usize, lensum: usize) -> f64 {
    let distance = lensum - 2 * lcs;
    (1.0 - distance as f64 / lensum as f64) * 100.0
}

/// Counts of characters by bucket, aligned for 16-byte loads.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(16))]
struct Histogram([u8; BUCKETS]);

/// `Σ min(a, b)` over the buckets: an upper bound of the LCS of the two strings.
#[inline]
fn shared_characters(a: &Histogram, b: &Histogram) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_add_epi64, _mm_cvtsi128_si64, _mm_load_si128, _mm_min_epu8, _mm_sad_epu8,
            _mm_setzero_si128, _mm_unpackhi_epi64,
        };
        // SAFETY: SSE2 is part of x86_64; both histograms are `BUCKETS` (a multiple of 16) bytes
        // aligned to 16, read as 16-byte vectors.
        unsafe {
            let a = a.0.as_ptr() as *const __m128i;
            let b = b.0.as_ptr() as *const __m128i;
            let zero = _mm_setzero_si128();
            let mut sum = zero;
            for lane in 0..BUCKETS / 16 {
                let smaller =
                    _mm_min_epu8(_mm_load_si128(a.add(lane)), _mm_load_si128(b.add(lane)));
                sum = _mm_add_epi64(sum, _mm_sad_epu8(smaller, zero));
            }
            let total = _mm_add_epi64(sum, _mm_unpackhi_epi64(sum, sum));
            _mm_cvtsi128_si64(total) as usize
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        a.0.iter()
            .zip(b.0.iter())
            .map(|(&a, &b)| a.min(b) as usize)
            .sum()
    }
}

fn bucket(id: u32) -> usize {
    (id as usize - 1).min(BUCKETS - 1)
}

impl Indexed {
    fn id_of(&self, character: char) -> Option<u32> {
        match u8::try_from(character) {
            Ok(byte) => Some(self.latin1[byte as usize]).filter(|&id| id > 0),
            Err(_) => self.ids.get(&character).copied(),
        }
    }

    fn new(processed: &[Vec<char>]) -> Self {
        let mut latin1_counts = [0usize; 256];
        let mut counts: HashMap<char, usize> = HashMap::new();
        for title in processed {
            for &character in title {
                match u8::try_from(character) {
                    Ok(byte) => latin1_counts[byte as usize] += 1,
                    Err(_) => *counts.entry(character).or_default() += 1,
                }
            }
        }
        let mut ranked: Vec<(char, usize)> = counts.into_iter().collect();
        ranked.extend(
            (0..=255u8)
                .filter(|&byte| latin1_counts[byte as usize] > 0)
                .map(|byte| (char::from(byte), latin1_counts[byte as usize])),
        );
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut latin1 = [0u32; 256];
        let mut ids: HashMap<char, u32> = HashMap::new();
        for (rank, &(character, _)) in ranked.iter().enumerate() {
            let id = (rank + 1) as u32;
            match u8::try_from(character) {
                Ok(byte) => latin1[byte as usize] = id,
                Err(_) => {
                    ids.insert(character, id);
                }
            }
        }
        let id_of = |character: char| match u8::try_from(character) {
            Ok(byte) => latin1[byte as usize],
            Err(_) => ids[&character],
        };
        let mut order: Vec<usize> = (0..processed.len()).collect();
        order.sort_by_key(|&index| (processed[index].len(), index));
        let mut text = Vec::new();
        let mut offsets = vec![0u32];
        let mut histograms = Vec::with_capacity(order.len());
        let mut items = Vec::with_capacity(order.len());
        let mut groups: Vec<(usize, usize, usize)> = Vec::new();
        for (position, &index) in order.iter().enumerate() {
            let title = &processed[index];
            let mut histogram = Histogram([0u8; BUCKETS]);
            for character in title {
                let id = id_of(*character);
                text.push(id);
                let slot = &mut histogram.0[bucket(id)];
                *slot = slot.saturating_add(1);
            }
            offsets.push(text.len() as u32);
            histograms.push(histogram);
            items.push(index as u32);
            match groups.last_mut() {
                Some(group) if group.0 == title.len() => group.2 = position + 1,
                _ => groups.push((title.len(), position, position + 1)),
            }
        }
        let mut processed_first = HashMap::new();
        for (index, title) in processed.iter().enumerate() {
            processed_first
                .entry(title.iter().collect::<String>())
                .or_insert(index);
        }
        Indexed {
            alphabet: ranked.len() + 1,
            latin1,
            ids,
            text,
            offsets,
            histograms,
            items,
            groups,
            processed_first,
        }
    }
}

/// Queries up to this many characters (after processing) take the bit-parallel path; a histogram
/// count of the query then fits in a byte.
const MAX_BIT_PARALLEL: usize = 255;

/// Titles scored at once on the one-word path.
const LANES: usize = 4;

/// The LCS of a query of one word (its masks by character id) and each of up to [`LANES`] titles
/// of length `n` (sorted positions), their recurrences interleaved.
// One offset indexes the four texts and the four states: a range reads best here.
#[allow(clippy::needless_range_loop)]
fn lcs_single_word(
    indexed: &Indexed,
    masks: &[u64],
    positions: &[usize],
    n: usize,
    length_mask: u64,
) -> [usize; LANES] {
    // Missing lanes repeat the first title.
    let texts: [&[u32]; LANES] = std::array::from_fn(|lane| {
        let position = positions.get(lane).copied().unwrap_or(positions[0]);
        let start = indexed.offsets[position] as usize;
        &indexed.text[start..start + n]
    });
    let mut state = [u64::MAX; LANES];
    for offset in 0..n {
        for lane in 0..LANES {
            let id = texts[lane][offset] as usize;
            // SAFETY: every id of the catalog's text is below `alphabet`, the length of `masks`
            // for a one-word query.
            let matches = state[lane] & unsafe { *masks.get_unchecked(id) };
            state[lane] = state[lane].wrapping_add(matches) | (state[lane] - matches);
        }
    }
    state.map(|state| (!state & length_mask).count_ones() as usize)
}

/// Hyyrö's bit-parallel LCS of a query of `words` 64-bit words (its masks by character id) and a
/// title, the carry of each word's addition going into the next.
fn lcs_blockwise(masks: &[u64], words: usize, text: &[u32], length_mask: u64) -> usize {
    let mut state = [u64::MAX; MAX_BIT_PARALLEL.div_ceil(64)];
    let state = &mut state[..words];
    for &id in text {
        let row = &masks[id as usize * words..(id as usize + 1) * words];
        let mut carry = false;
        for (word, &mask) in state.iter_mut().zip(row) {
            let matches = *word & mask;
            let (sum, overflow) = word.overflowing_add(matches);
            let (sum, overflow_carry) = sum.overflowing_add(carry as u64);
            carry = overflow | overflow_carry;
            *word = sum | (*word - matches);
        }
    }
    let (last, full) = state.split_last().expect("at least one word");
    full.iter()
        .map(|word| (!word).count_ones() as usize)
        .sum::<usize>()
        + (!last & length_mask).count_ones() as usize
}

/// The best (score, catalog index) so far: a higher score, or an equal one earlier in the catalog.
struct Best {
    score: f64,
    index: usize,
}

impl Best {
    fn beaten_by(&self, score: f64, index: usize) -> bool {
        score > self.score || (score == self.score && index < self.index)
    }
}

/// The smallest LCS in `0..=limit` whose score against `lensum` is above `floor` (`strict`) or at
/// least `floor`; `limit + 1` when none is.
fn smallest_lcs(limit: usize, lensum: usize, floor: f64, strict: bool) -> usize {
    let passes = |lcs: usize| {
        let score = ratio_of(lcs, lensum);
        if strict {
            score > floor
        } else {
            score >= floor
        }
    };
    let (mut low, mut high) = (0, limit + 1);
    while low < high {
        let middle = (low + high) / 2;
        if passes(middle) {
            high = middle;
        } else {
            low = middle + 1;
        }
    }
    low
}

impl TitleMatcher {
    /// `min_score`: a title whose best score is below it stays unmatched. `None` reproduces the
    /// reference, which maps every title to some item.
    pub fn new(catalog: &Catalog, min_score: Option<f64>) -> Self {
        let processed: Vec<Vec<char>> = catalog
            .items()
            .iter()
            .map(|item| default_process(&item.title).chars().collect())
            .collect();
        TitleMatcher {
            exact: catalog
                .items()
                .iter()
                .enumerate()
                .map(|(index, item)| (item.title.clone(), index))
                .collect(),
            indexed: Indexed::new(&processed),
            processed,
            min_score,
            memo: Some(TitleMemo::default()),
        }
    }

    /// The same matcher without the memo: every title is matched against the catalog, however
    /// often it comes (to measure the matching itself).
    pub fn without_memo(mut self) -> Self {
        self.memo = None;
        self
    }

    /// How many titles the memo holds.
    pub fn remembered(&self) -> usize {
        self.memo.as_ref().map_or(0, TitleMemo::len)
    }

    /// Matches one title on its own.
    pub fn match_title(&self, query: &str) -> TitleMatch {
        self.best_unused(query, &HashSet::new())
    }

    /// Matches the titles of one list in order; an item already taken by an earlier title of the
    /// list is not given again (the title gets the best unused item instead).
    pub fn match_list<S: AsRef<str>>(&self, queries: &[S]) -> Vec<TitleMatch> {
        let mut used = HashSet::new();
        queries
            .iter()
            .map(|query| {
                let found = self.best_unused(query.as_ref(), &used);
                if let Some(item) = found.item {
                    used.insert(item);
                }
                found
            })
            .collect()
    }

    fn best_unused(&self, query: &str, used: &HashSet<ItemIndex>) -> TitleMatch {
        let best = match &self.memo {
            None => self.search(query, used),
            Some(memo) => match memo.get(query) {
                // The best item of the whole catalog, if the list has not used it, is also the
                // best unused one (the first in catalog order with the highest score).
                Some(Some((index, score))) if !used.contains(&index) => Some((index, score)),
                Some(None) => None,
                Some(Some(_)) => self.search(query, used),
                None => {
                    let anywhere = self.search(query, &HashSet::new());
                    memo.insert(query, anywhere);
                    match anywhere {
                        Some((index, _)) if used.contains(&index) => self.search(query, used),
                        found => found,
                    }
                }
            },
        };
        match best {
            Some((index, score)) if self.min_score.is_none_or(|minimum| score >= minimum) => {
                TitleMatch {
                    item: Some(index),
                    score,
                }
            }
            Some((_, score)) => TitleMatch { item: None, score },
            None => TitleMatch {
                item: None,
                score: 0.0,
            },
        }
    }

    /// The best unused item and its score, searched in the catalog.
    fn search(&self, query: &str, used: &HashSet<ItemIndex>) -> BestItem {
        if let Some(&index) = self.exact.get(query) {
            if !used.contains(&index) {
                return Some((index, 100.0));
            }
        }
        let processed_text = default_process(query);
        if processed_text.is_empty() {
            // QRatio is 0 against everything: the first unused item wins, as in rapidfuzz.
            (0..self.processed.len())
                .find(|index| !used.contains(index))
                .map(|index| (index, 0.0))
        } else if let Some(&index) = self
            .indexed
            .processed_first
            .get(&processed_text)
            .filter(|index| !used.contains(index))
        {
            // 100 is the highest score, and this is the first title in catalog order with it.
            Some((index, 100.0))
        } else {
            let processed: Vec<char> = processed_text.chars().collect();
            if processed.len() <= MAX_BIT_PARALLEL {
                self.best_bit_parallel(&processed, used)
            } else {
                self.best_by_scan(&processed, used)
            }
        }
    }

    /// Every title scored in catalog order (queries longer than [`MAX_BIT_PARALLEL`] characters,
    /// after processing).
    fn best_by_scan(&self, processed: &[char], used: &HashSet<ItemIndex>) -> Option<(usize, f64)> {
        let mut best: Option<(ItemIndex, f64)> = None;
        // `fuzz::ratio_with_args` and not rapidfuzz 0.5's `RatioBatchComparator`: the latter
        // normalises by twice the longer length (ratio("screamers", "scream") = 0.667, not 0.8).
        for (index, title) in self.processed.iter().enumerate() {
            if used.contains(&index) {
                continue;
            }
            let floor = best.map_or(0.0, |(_, score)| score);
            let score = if title.is_empty() {
                Some(0.0)
            } else {
                fuzz::ratio_with_args(
                    processed.iter().copied(),
                    title.iter().copied(),
                    &Args::default().score_cutoff(floor / 100.0),
                )
                .map(|similarity| similarity * 100.0)
            };
            // Strictly greater: the first item in catalog order wins ties.
            if let Some(score) = score {
                if best.is_none_or(|(_, best_score)| score > best_score) {
                    best = Some((index, score));
                }
            }
        }
        best
    }

    /// The best title for a query of 1 to [`MAX_BIT_PARALLEL`] characters: groups by decreasing
    /// length bound, titles by their character bound, then the bit-parallel LCS (one 64-bit word
    /// per 64 characters of the query).
    fn best_bit_parallel(
        &self,
        processed: &[char],
        used: &HashSet<ItemIndex>,
    ) -> Option<(usize, f64)> {
        let indexed = &self.indexed;
        let m = processed.len();
        let words = m.div_ceil(64);
        // `masks[id * words + w]`: the positions of character `id` in the query, word `w`.
        let mut masks = vec![0u64; indexed.alphabet * words];
        let mut histogram = Histogram([0u8; BUCKETS]);
        for (position, character) in processed.iter().enumerate() {
            if let Some(id) = indexed.id_of(*character) {
                masks[id as usize * words + position / 64] |= 1u64 << (position % 64);
                histogram.0[bucket(id)] += 1;
            }
        }
        let last_bits = m - 64 * (words - 1);
        let length_mask = if last_bits == 64 {
            u64::MAX
        } else {
            (1u64 << last_bits) - 1
        };
        // Groups by their best possible score, highest first (equal bounds: shorter first).
        let mut groups: Vec<(f64, usize)> = indexed
            .groups
            .iter()
            .enumerate()
            .map(|(group, &(n, _, _))| (ratio_of(m.min(n), m + n), group))
            .collect();
        groups.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut best = Best {
            score: -1.0,
            index: usize::MAX,
        };
        for (bound, group) in groups {
            if bound < best.score {
                break;
            }
            let (n, first, end) = indexed.groups[group];
            let lensum = m + n;
            let limit = m.min(n);
            // The LCS a title needs to beat the best: `above` to score higher, `equal` to tie (and
            // win when earlier in the catalog).
            let thresholds = |best: &Best| {
                if best.score < 0.0 {
                    (0, 0)
                } else {
                    (
                        smallest_lcs(limit, lensum, best.score, true),
                        smallest_lcs(limit, lensum, best.score, false),
                    )
                }
            };
            let (mut above, mut equal) = thresholds(&best);
            // Titles that pass the bounds wait in `pending` and are scored four at a time (one
            // query word: four independent chains of the LCS recurrence keep the core busy), then
            // taken in order against the best as it stands. Filtering some of them against an
            // older best only costs work: the best is a maximum, whatever the order of visits.
            let mut pending = [0usize; LANES];
            let mut count = 0;
            let mut position = first;
            loop {
                let at_end = position == end;
                if !at_end {
                    let index = indexed.items[position] as usize;
                    let needed = if index < best.index { equal } else { above };
                    if needed <= limit
                        && shared_characters(&histogram, &indexed.histograms[position]) >= needed
                        && (used.is_empty() || !used.contains(&index))
                    {
                        pending[count] = position;
                        count += 1;
                    }
                    position += 1;
                }
                if count == LANES || (at_end && count > 0) {
                    let lcs = if words == 1 {
                        lcs_single_word(indexed, &masks, &pending[..count], n, length_mask)
                    } else {
                        let mut lcs = [0; LANES];
                        for (lcs, &position) in lcs.iter_mut().zip(&pending[..count]) {
                            let start = indexed.offsets[position] as usize;
                            let text = &indexed.text[start..start + n];
                            *lcs = lcs_blockwise(&masks, words, text, length_mask);
                        }
                        lcs
                    };
                    for (&position, &lcs) in pending[..count].iter().zip(&lcs) {
                        let index = indexed.items[position] as usize;
                        let needed = if index < best.index { equal } else { above };
                        // `lcs >= needed` exactly when its score beats the best (higher, or equal
                        // and earlier in the catalog).
                        if lcs >= needed {
                            let score = ratio_of(lcs, lensum);
                            debug_assert!(best.beaten_by(score, index));
                            best = Best { score, index };
                            (above, equal) = thresholds(&best);
                        }
                    }
                    count = 0;
                }
                if at_end {
                    break;
                }
            }
        }
        (best.score >= 0.0).then_some((best.index, best.score))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Item, ItemAttributes};

    /// A small deterministic generator (64-bit LCG, high bits).
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, bound: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) % bound as u64) as usize
        }

        fn text(&mut self, alphabet: &[char], max_length: usize) -> String {
            let length = self.below(max_length + 1);
            (0..length)
                .map(|_| alphabet[self.below(alphabet.len())])
                .collect()
        }
    }

    /// The pruned bit-parallel search gives exactly what scoring every title in catalog order
    /// gives (same item, same score to the bit), on a catalog built for collisions: a tiny
    /// alphabet (many equal scores, so ties must go to catalog order), empty and long titles, and
    /// items already used.
    #[test]
    fn bit_parallel_search_equals_the_full_scan() {
        let alphabet: Vec<char> = "ab c1É-é".chars().collect();
        let mut random = Lcg(20261201);
        let mut titles: Vec<String> = (0..400).map(|_| random.text(&alphabet, 24)).collect();
        titles.push("a".repeat(90));
        titles.push("ab c".repeat(40));
        titles.push(String::new());
        titles.push("--".into());
        let catalog = Catalog::from_items(titles.iter().map(|title| Item {
            title: title.clone(),
            attributes: ItemAttributes::default(),
        }));
        let matcher = TitleMatcher::new(&catalog, None);
        let (mut checked, mut long) = (0, 0);
        for round in 0..3000 {
            let query = random.text(&alphabet, if round % 10 == 0 { 200 } else { 28 });
            let processed: Vec<char> = default_process(&query).chars().collect();
            if processed.is_empty() || processed.len() > MAX_BIT_PARALLEL {
                continue;
            }
            let mut used = HashSet::new();
            if round % 3 == 0 {
                for _ in 0..random.below(40) {
                    used.insert(random.below(catalog.len()));
                }
            }
            let fast = matcher.best_bit_parallel(&processed, &used);
            let scan = matcher.best_by_scan(&processed, &used);
            assert_eq!(
                fast.map(|(index, score)| (index, score.to_bits())),
                scan.map(|(index, score)| (index, score.to_bits())),
                "query {query:?}"
            );
            checked += 1;
            long += usize::from(processed.len() > 64);
        }
        assert!(
            checked > 2000 && long > 100,
            "{checked} queries, {long} over 64 characters"
        );
    }

    #[test]
    fn a_title_processed_to_the_query_scores_100_at_its_first_occurrence() {
        let titles = ["Heat", "Alien (1979)", "alien 1979", "ALIEN  1979"];
        let catalog = Catalog::from_items(titles.iter().map(|title| Item {
            title: title.to_string(),
            attributes: ItemAttributes::default(),
        }));
        let matcher = TitleMatcher::new(&catalog, None);
        // "alien  1979" (two spaces) is the processed form of items 1 and 3: item 1 wins.
        let found = matcher.match_title("ALIEN (1979)");
        assert_eq!((found.item, found.score), (Some(1), 100.0));
        // With item 1 taken, item 3 is the next with 100.
        let found = matcher.match_list(&["Alien (1979)", "ALIEN (1979)"]);
        assert_eq!(found[1].item, Some(3));
        assert_eq!(found[1].score, 100.0);
    }
}
