//! CRS behaviour: its invalid answers per request, the titles it wrote that match no catalog item
//! well (the hallucination rate at match scores 80 and 90, and at the run's own
//! `[crs] min_match_score`), repeated titles within an answer, items repeated from the list being
//! revised (the revision prompt asks for different ones), the new label items each depth finds
//! and the distinct items a sample's tree holds by depth.
//!
//! Answers, titles and duplicates are read from the raw answers ([`super::answers`]); titles
//! repeated within an answer are counted there, before matching, because a node's list holds
//! distinct catalog items by construction (the matcher never gives one item twice, and a repeated
//! title is given the next best item instead: a spurious item). The rest comes from the trees.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::measures::Stat;
use super::View;

/// Per depth: new label items and distinct items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DepthItems {
    pub depth: u32,
    /// Mean over records of the labels first seen at this depth (in no shallower node).
    pub new_labels: f64,
    /// The same as a share of all labels of the records.
    pub new_label_share: f64,
    /// Mean over records of the distinct items of the nodes of depth ≤ this one.
    pub distinct_items: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrsDiagnostics {
    /// CRS model requests, answers read, and answers that gave no valid list.
    pub requests: usize,
    pub answers: usize,
    pub invalid_per_request: Stat,
    /// Titles written in the answers.
    pub titles: usize,
    /// Share of titles whose best catalog match scores below 80 and below 90.
    pub below_80: Stat,
    pub below_90: Stat,
    /// The run's `[crs] min_match_score`, and the share of titles under it.
    pub run_min_match_score: Option<f64>,
    pub below_run_minimum: Stat,
    /// Share of titles naming the same catalog item as an earlier title of their answer, and of
    /// answers with such a title.
    pub duplicate_titles: Stat,
    pub answers_with_duplicates: Stat,
    /// Revised lists (nodes with a parent): the mean share of their items that were in the
    /// parent's list, and the share of revised lists with at least one such item.
    pub revised_lists: usize,
    pub repeated_from_parent: Stat,
    pub lists_repeating_parent: Stat,
    pub by_depth: Vec<DepthItems>,
}

pub fn crs(
    views: &[View],
    no_answers: Option<&str>,
    unmatched: Option<&str>,
    run_min_match_score: Option<f64>,
) -> CrsDiagnostics {
    let (mut requests, mut answers, mut invalid, mut titles) = (0, 0, 0, 0);
    let (mut below, mut below_minimum, mut duplicates, mut duplicated) = ([0; 2], 0, 0, 0);
    let mut read = true;
    let mut matched = true;
    for view in views {
        let Some(record) = view.answers else {
            read = false;
            continue;
        };
        matched &= record.matched;
        for request in record.recommend.iter().filter(|r| r.depth <= view.depth) {
            requests += request.requests;
            answers += request.answers;
            invalid += request.invalid;
            titles += request.titles;
            below[0] += request.below[0];
            below[1] += request.below[1];
            below_minimum += request.below_run_minimum;
            duplicates += request.duplicates;
            duplicated += request.answers_with_duplicates;
        }
    }
    let no_titles = "no title was read";
    let raw = |numerator: usize, denominator: usize, needs_catalog: bool, empty: &str| match (
        read, no_answers,
    ) {
        (true, None) if needs_catalog && !matched => {
            Stat::undefined(unmatched.unwrap_or("the titles were not matched to the catalog"))
        }
        (true, None) => Stat::ratio(numerator as f64, denominator as f64, empty),
        (_, reason) => Stat::undefined(reason.unwrap_or(super::scoring::NO_ANSWERS)),
    };
    let (mut revised, mut repeated_share_sum, mut repeating) = (0usize, 0.0, 0usize);
    for view in views {
        for node in view.tree.nodes() {
            let Some(parent) = node.parent.and_then(|parent| view.tree.get(parent)) else {
                continue;
            };
            if node.items.is_empty() {
                continue;
            }
            revised += 1;
            let repeated = node
                .items
                .iter()
                .filter(|item| parent.items.contains(item))
                .count();
            repeated_share_sum += repeated as f64 / node.items.len() as f64;
            repeating += usize::from(repeated > 0);
        }
    }
    let deepest = views
        .iter()
        .map(|view| view.tree.max_depth())
        .max()
        .unwrap_or(0);
    let labels_total: usize = views.iter().map(|view| view.record.labels.len()).sum();
    let by_depth = (1..=deepest)
        .map(|depth| {
            let (mut new, mut distinct) = (0usize, 0usize);
            for view in views {
                let items = |max: u32| -> BTreeSet<&str> {
                    view.tree
                        .nodes()
                        .iter()
                        .filter(|node| node.depth <= max)
                        .flat_map(|node| node.items.iter().map(String::as_str))
                        .collect()
                };
                let (now, before) = (items(depth), items(depth - 1));
                distinct += now.len();
                new += view
                    .record
                    .labels
                    .iter()
                    .filter(|label| {
                        now.contains(label.as_str()) && !before.contains(label.as_str())
                    })
                    .count();
            }
            let records = views.len().max(1) as f64;
            DepthItems {
                depth,
                new_labels: new as f64 / records,
                new_label_share: if labels_total > 0 {
                    new as f64 / labels_total as f64
                } else {
                    0.0
                },
                distinct_items: distinct as f64 / records,
            }
        })
        .collect();
    let no_revision = "no list was revised (depth 1 only)";
    CrsDiagnostics {
        requests,
        answers,
        invalid_per_request: raw(invalid, requests, false, "no CRS request"),
        titles,
        below_80: raw(below[0], titles, true, no_titles),
        below_90: raw(below[1], titles, true, no_titles),
        run_min_match_score,
        below_run_minimum: match run_min_match_score {
            Some(_) => raw(below_minimum, titles, true, no_titles),
            None => Stat::undefined("the run used no min_match_score"),
        },
        duplicate_titles: raw(duplicates, titles, false, no_titles),
        answers_with_duplicates: raw(duplicated, answers, false, "no CRS answer"),
        revised_lists: revised,
        repeated_from_parent: Stat::ratio(repeated_share_sum, revised as f64, no_revision),
        lists_repeating_parent: Stat::ratio(repeating as f64, revised as f64, no_revision),
        by_depth,
    }
}
