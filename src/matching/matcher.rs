//! The matcher: exact match, else the best QRatio in catalog order, with de-duplication within a
//! list and an optional minimum score.

use std::collections::{HashMap, HashSet};

use rapidfuzz::fuzz::{self, Args};

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

/// Matches titles against one catalog. Built once per catalog: it keeps the processed titles.
#[derive(Debug, Clone)]
pub struct TitleMatcher {
    exact: HashMap<String, ItemIndex>,
    processed: Vec<Vec<char>>,
    min_score: Option<f64>,
}

impl TitleMatcher {
    /// `min_score`: a title whose best score is below it stays unmatched. `None` reproduces the
    /// reference, which maps every title to some item.
    pub fn new(catalog: &Catalog, min_score: Option<f64>) -> Self {
        TitleMatcher {
            exact: catalog
                .items()
                .iter()
                .enumerate()
                .map(|(index, item)| (item.title.clone(), index))
                .collect(),
            processed: catalog
                .items()
                .iter()
                .map(|item| default_process(&item.title).chars().collect())
                .collect(),
            min_score,
        }
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
        if let Some(&index) = self.exact.get(query) {
            if !used.contains(&index) {
                return TitleMatch {
                    item: Some(index),
                    score: 100.0,
                };
            }
        }
        let processed: Vec<char> = default_process(query).chars().collect();
        let mut best: Option<(ItemIndex, f64)> = None;
        if processed.is_empty() {
            // QRatio is 0 against everything: the first unused item wins, as in rapidfuzz.
            best = (0..self.processed.len())
                .find(|index| !used.contains(index))
                .map(|index| (index, 0.0));
        } else {
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
        }
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
}
