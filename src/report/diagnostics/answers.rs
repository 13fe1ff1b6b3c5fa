//! What the raw model answers behind a record say, read back from the response cache: for each
//! CRS request the answers that were invalid, the titles it wrote and how well each matches the
//! catalog (hallucinated titles), repeated titles; for each critique request its invalid
//! answers; for each score request the answers that had a readable Yes/No.
//!
//! A record names the response-cache keys of every request of its search
//! ([`SampleRecord::requests`], attempts included), so this needs nothing but the store. It is
//! computed once per record (cells that share a search share it) and then filtered by each
//! cell's depth.

use std::cell::RefCell;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, ItemIndex};
use crate::config::RunConfig;
use crate::matching::{default_process, TitleMatcher};
use crate::model::scoring::{read_score, ScoreFormula, ScoringMode};
use crate::model::ChatResponse;
use crate::prompts::{parse_list, validate_critique, ListParseMode};
use crate::store::{ResponseCache, SampleRecord};

/// The two match scores the hallucination rate is reported at (and the run's own
/// `[crs] min_match_score` when it has one).
pub const MATCH_THRESHOLDS: [f64; 2] = [80.0, 90.0];

/// The answers of one CRS request (`recommend/<parent>/<i>`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecommendAnswers {
    /// The depth of the lists it made (1 below the root).
    pub depth: u32,
    /// Model requests (attempts, and one per list without `batch_lists`).
    pub requests: usize,
    /// Answers (choices) read.
    pub answers: usize,
    /// Answers that gave no valid list (fewer than k distinct catalog items).
    pub invalid: usize,
    /// Titles parsed from the answers.
    pub titles: usize,
    /// Titles whose best catalog match scores below 80, below 90 (exact matches score 100).
    pub below: [usize; 2],
    /// Titles whose best match is below the run's `min_match_score` (0 without one).
    pub below_run_minimum: usize,
    /// Titles that name the same catalog item (best match) as an earlier title of their answer.
    pub duplicates: usize,
    /// Answers with at least one such duplicate.
    pub answers_with_duplicates: usize,
}

/// The answers of one critique request (`critique/<node>/0`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CritiqueAnswers {
    /// The depth of the node critiqued.
    pub depth: u32,
    pub answers: usize,
    /// Choices cut by the length limit, unfinished or empty.
    pub invalid: usize,
}

/// The answers of one node's score request (`score/<node>/0`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScoreAnswers {
    pub depth: u32,
    /// Items of the node.
    pub items: usize,
    /// Model answers (first attempts and retries).
    pub answers: usize,
    /// Answers with a readable Yes/No (one per item that got a score).
    pub readable: usize,
}

/// Everything read from the raw answers of one record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecordAnswers {
    pub recommend: Vec<RecommendAnswers>,
    pub critiques: Vec<CritiqueAnswers>,
    /// One per scored node (its last score request, in path order).
    pub scores: Vec<ScoreAnswers>,
    /// Keys of the record without an entry in the response cache (or not a chat answer).
    pub missing: usize,
    /// Whether titles were matched to the catalog (hallucination and duplicate counts need it).
    pub matched: bool,
}

/// The depth a request path is about: `recommend/root/0` makes depth 1, `recommend/d2.3.0/1`
/// depth 3; `critique/d1.3/0` and `score/d1.3/0` are about a node of depth 1.
pub fn request_depth(path: &str) -> Option<(&str, u32)> {
    let mut parts = path.splitn(3, '/');
    let kind = parts.next()?;
    let node = parts.next()?;
    let node_depth =
        |node: &str| -> Option<u32> { node.strip_prefix('d')?.split('.').next()?.parse().ok() };
    match kind {
        "recommend" if node == "root" => Some((kind, 1)),
        "recommend" => Some((kind, node_depth(node)? + 1)),
        "critique" | "score" => Some((kind, node_depth(node)?)),
        _ => None,
    }
}

/// A catalog with its title matcher (no minimum score) and the best match of every title met so
/// far: titles repeat across lists, cells and searches of one report, and fuzzy matching is the
/// costly part of reading answers.
pub struct MatchedCatalog {
    pub catalog: Catalog,
    matcher: TitleMatcher,
    matches: RefCell<HashMap<String, (Option<ItemIndex>, f64)>>,
}

impl MatchedCatalog {
    pub fn new(catalog: Catalog) -> MatchedCatalog {
        MatchedCatalog {
            matcher: TitleMatcher::new(&catalog, None),
            catalog,
            matches: RefCell::new(HashMap::new()),
        }
    }

    /// The best catalog item of `title` and its score (exact matches score 100).
    fn best_match(&self, title: &str) -> (Option<ItemIndex>, f64) {
        if let Some(found) = self.matches.borrow().get(title) {
            return *found;
        }
        let found = self.matcher.match_title(title);
        let found = (found.item, found.score);
        self.matches.borrow_mut().insert(title.to_string(), found);
        found
    }
}

/// Reads raw answers the way the run read them (its config's parser, pre-fill, list length,
/// minimum match score and scoring mode), matching titles against its catalog when it has one.
pub struct AnswerReader<'a> {
    cache: &'a ResponseCache,
    catalog: Option<&'a MatchedCatalog>,
    parse_mode: ListParseMode,
    prefix: String,
    list_length: usize,
    min_match_score: Option<f64>,
    run_matcher: Option<TitleMatcher>,
    scoring_mode: ScoringMode,
    score_formula: ScoreFormula,
}

impl<'a> AnswerReader<'a> {
    pub fn new(
        cache: &'a ResponseCache,
        config: &RunConfig,
        catalog: Option<&'a MatchedCatalog>,
    ) -> AnswerReader<'a> {
        let min_match_score = config.crs.min_match_score;
        AnswerReader {
            cache,
            catalog,
            parse_mode: config.crs.list_parse,
            prefix: config.crs.answer_prefix.clone().unwrap_or_default(),
            list_length: config.crs_list_length(),
            min_match_score,
            run_matcher: catalog
                .filter(|_| min_match_score.is_some())
                .map(|matched| TitleMatcher::new(&matched.catalog, min_match_score)),
            scoring_mode: config.user.scoring_mode,
            score_formula: config.user.score_formula,
        }
    }

    fn response(&self, prefix: &str) -> Option<ChatResponse> {
        let (value, _) = self.cache.get_by_prefix(prefix).ok()??;
        serde_json::from_value(value).ok()
    }

    fn best_match(&self, title: &str) -> Option<(Option<ItemIndex>, f64)> {
        self.catalog.map(|matched| matched.best_match(title))
    }

    /// Whether an answer's titles make a valid list, as the run decided it.
    fn valid(&self, titles: &[String]) -> bool {
        match (&self.run_matcher, self.catalog) {
            (Some(matcher), Some(catalog)) => {
                let matched = crate::prompts::match_list(titles, matcher, &catalog.catalog);
                crate::prompts::validate_list(&matched, self.list_length).is_ok()
            }
            // Without a minimum score every title maps to a distinct item (the matcher never
            // gives one item twice in a list), so a list is valid when it has k titles.
            _ => titles.len() >= self.list_length,
        }
    }

    /// The answers of one record.
    pub fn read(&self, record: &SampleRecord) -> RecordAnswers {
        let mut out = RecordAnswers {
            matched: self.catalog.is_some(),
            ..RecordAnswers::default()
        };
        let node_items: HashMap<&str, usize> = record
            .tree
            .nodes()
            .iter()
            .map(|node| (node.path.as_str(), node.items.len()))
            .collect();
        let mut last_scored: Option<&str> = None;
        for (path, requests) in &record.requests {
            let Some((kind, depth)) = request_depth(path) else {
                continue;
            };
            match kind {
                "recommend" => {
                    let mut facts = RecommendAnswers {
                        depth,
                        requests: requests.keys.len(),
                        ..RecommendAnswers::default()
                    };
                    for key in &requests.keys {
                        let Some(response) = self.response(key) else {
                            out.missing += 1;
                            continue;
                        };
                        for choice in &response.choices {
                            self.add_list_answer(&mut facts, &choice.text);
                        }
                    }
                    out.recommend.push(facts);
                }
                "critique" => {
                    let mut facts = CritiqueAnswers {
                        depth,
                        ..CritiqueAnswers::default()
                    };
                    for key in &requests.keys {
                        let Some(response) = self.response(key) else {
                            out.missing += 1;
                            continue;
                        };
                        for choice in &response.choices {
                            facts.answers += 1;
                            facts.invalid += usize::from(validate_critique(choice).is_err());
                        }
                    }
                    out.critiques.push(facts);
                }
                _ => {
                    let node = path.split('/').nth(1).unwrap_or_default();
                    let items = node_items.get(node).copied().unwrap_or(0);
                    let answers = requests.keys.len();
                    // One answer per item: every first answer was readable, nothing to read.
                    let readable = if answers <= items || requests.role == "reward" {
                        answers
                    } else {
                        let mut readable = 0;
                        for key in &requests.keys {
                            match self.response(key) {
                                Some(response) => {
                                    readable += usize::from(response.choices.first().is_some_and(
                                        |choice| {
                                            read_score(
                                                choice,
                                                self.scoring_mode,
                                                self.score_formula,
                                            )
                                            .is_ok()
                                        },
                                    ))
                                }
                                None => out.missing += 1,
                            }
                        }
                        readable
                    };
                    let facts = ScoreAnswers {
                        depth,
                        items,
                        answers,
                        readable,
                    };
                    // Paths come in order, so a node's requests are next to each other.
                    if last_scored == Some(node) {
                        *out.scores.last_mut().expect("the node's earlier entry") = facts;
                    } else {
                        out.scores.push(facts);
                    }
                    last_scored = Some(node);
                }
            }
        }
        out
    }

    fn add_list_answer(&self, facts: &mut RecommendAnswers, text: &str) {
        let answer = format!("{}{text}", self.prefix);
        let titles = parse_list(&answer, self.parse_mode);
        facts.answers += 1;
        facts.invalid += usize::from(!self.valid(&titles));
        facts.titles += titles.len();
        let mut seen: Vec<String> = Vec::new();
        let mut duplicates = 0;
        for title in &titles {
            let identity = match self.best_match(title) {
                Some((item, score)) => {
                    for (count, threshold) in facts.below.iter_mut().zip(MATCH_THRESHOLDS) {
                        *count += usize::from(score < threshold);
                    }
                    if let Some(minimum) = self.min_match_score {
                        facts.below_run_minimum += usize::from(score < minimum);
                    }
                    item.map_or_else(|| default_process(title), |item| format!("#{item}"))
                }
                None => default_process(title),
            };
            if seen.contains(&identity) {
                duplicates += 1;
            } else {
                seen.push(identity);
            }
        }
        facts.duplicates += duplicates;
        facts.answers_with_duplicates += usize::from(duplicates > 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_paths_name_their_depth() {
        assert_eq!(request_depth("recommend/root/0"), Some(("recommend", 1)));
        assert_eq!(request_depth("recommend/d1.3/2"), Some(("recommend", 2)));
        assert_eq!(request_depth("recommend/d2.3.0/1"), Some(("recommend", 3)));
        assert_eq!(request_depth("critique/d1.3/0"), Some(("critique", 1)));
        assert_eq!(request_depth("score/d12.3.0/0"), Some(("score", 12)));
        assert_eq!(request_depth("other/d1/0"), None);
        assert_eq!(request_depth("score/root"), None);
    }
}
