//! Critique quality: the critiques that produced the lists of a cell's trees (one per node below
//! depth 1, `Node::critique`), how long they are, whether they name what the list shows and what
//! the user wants, whether they repeat themselves, and how often the critique model's answers
//! were invalid.
//!
//! "Names an attribute value" means the value (a genre, star, director or writer of the catalog;
//! values of fewer than three characters are skipped) occurs in the critique as whole words,
//! case ignored: `Action` in "more action, please", not in "reaction". An item of the list is an
//! item of the list the critique was written about (the parent node's); a label item is one of
//! the sample's labels. "Names a label's title" is the leak a user simulator should not commit:
//! the label's full title, or its title without the year when that has at least four
//! characters, as whole words. A critique repeats an earlier one when its text, case and spacing
//! ignored, equals the text of a critique of an earlier node of the same record.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::measures::Stat;
use super::View;
use crate::catalog::{Catalog, Item};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CritiqueDiagnostics {
    /// Critiques of the nodes (those that produced a list).
    pub critiques: usize,
    /// Mean length in words (whitespace-separated).
    pub mean_words: Stat,
    /// Share naming an attribute value of an item of the critiqued list.
    pub names_list_attribute: Stat,
    /// Share naming an attribute value of a label item.
    pub names_label_attribute: Stat,
    /// Share naming the title of a label item.
    pub names_label_title: Stat,
    /// Share repeating an earlier critique of the same record.
    pub repeats_earlier: Stat,
    /// Critique answers (choices) read from the cache, and the share of them that were invalid.
    pub answers: usize,
    pub invalid_share: Stat,
}

/// Lower-cased words of `text` joined by single spaces, with a space at each end, so that a
/// phrase occurs as whole words when ` phrase ` is a substring.
fn words(text: &str) -> String {
    let mut out = String::from(" ");
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
    {
        out.push_str(&word.to_lowercase());
        out.push(' ');
    }
    out
}

/// Whether `phrase` occurs in the text whose [`words`] are `haystack`, as whole words.
fn names(haystack: &str, phrase: &str) -> bool {
    let needle = words(phrase);
    needle.trim().chars().count() >= 3 && haystack.contains(&needle)
}

/// The attribute values of an item.
fn attribute_values(item: &Item) -> impl Iterator<Item = &str> {
    let attributes = &item.attributes;
    attributes
        .genre
        .iter()
        .chain(&attributes.star)
        .chain(&attributes.director)
        .chain(&attributes.writer)
        .map(String::as_str)
}

fn names_attribute_of<'a>(
    haystack: &str,
    catalog: &'a Catalog,
    titles: impl IntoIterator<Item = &'a String>,
) -> bool {
    titles
        .into_iter()
        .filter_map(|title| catalog.index_of(title).map(|index| catalog.item(index)))
        .any(|item| attribute_values(item).any(|value| names(haystack, value)))
}

/// The title without a trailing `(year)`.
fn without_year(title: &str) -> &str {
    match title.rfind(" (") {
        Some(at) if title.ends_with(')') => &title[..at],
        _ => title,
    }
}

fn names_title(haystack: &str, title: &str) -> bool {
    let short = without_year(title);
    names(haystack, title) || (short.chars().count() >= 4 && names(haystack, short))
}

/// The critique diagnostics of `views`; attribute shares need the catalog (`Err`: why it is
/// missing), the invalid share the raw answers (`no_answers`: why they are missing).
pub fn critiques(
    views: &[View],
    catalog: Result<&Catalog, &str>,
    no_answers: Option<&str>,
) -> CritiqueDiagnostics {
    let (mut count, mut words_total) = (0usize, 0usize);
    let (mut list_attribute, mut label_attribute, mut label_title, mut repeats) = (0, 0, 0, 0);
    for view in views {
        let mut earlier: BTreeSet<String> = BTreeSet::new();
        for node in view.tree.nodes() {
            let Some(text) = &node.critique else {
                continue;
            };
            count += 1;
            words_total += text.split_whitespace().count();
            let haystack = words(text);
            let normalized = haystack.trim().to_string();
            repeats += usize::from(!earlier.insert(normalized));
            label_title += usize::from(
                view.record
                    .labels
                    .iter()
                    .any(|label| names_title(&haystack, label)),
            );
            if let Ok(catalog) = catalog {
                let parent = node.parent.and_then(|parent| view.tree.get(parent));
                let list = parent.map(|parent| parent.items.as_slice()).unwrap_or(&[]);
                list_attribute += usize::from(names_attribute_of(&haystack, catalog, list));
                label_attribute +=
                    usize::from(names_attribute_of(&haystack, catalog, &view.record.labels));
            }
        }
    }
    let none = "the cell has no critique (no node below depth 1 came from one)";
    let share = |numerator: usize| Stat::ratio(numerator as f64, count as f64, none);
    let with_catalog = |numerator: usize| match catalog {
        Ok(_) => share(numerator),
        Err(reason) => Stat::undefined(reason),
    };
    let (mut answers, mut invalid, mut read) = (0usize, 0usize, true);
    for view in views {
        match view.answers {
            // A node of depth d is critiqued to make depth d + 1.
            Some(record) => {
                for critique in record.critiques.iter().filter(|c| c.depth < view.depth) {
                    answers += critique.answers;
                    invalid += critique.invalid;
                }
            }
            None => read = false,
        }
    }
    CritiqueDiagnostics {
        critiques: count,
        mean_words: Stat::ratio(words_total as f64, count as f64, none),
        names_list_attribute: with_catalog(list_attribute),
        names_label_attribute: with_catalog(label_attribute),
        names_label_title: share(label_title),
        repeats_earlier: share(repeats),
        answers,
        invalid_share: match (read, no_answers) {
            (true, None) => {
                Stat::ratio(invalid as f64, answers as f64, "no critique was asked for")
            }
            (_, reason) => Stat::undefined(reason.unwrap_or(super::scoring::NO_ANSWERS)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_are_named_as_whole_words_case_ignored() {
        let haystack = words("More ACTION, less reaction; something by Michael Mann?");
        assert!(names(&haystack, "Action"));
        assert!(names(&haystack, "michael mann"));
        assert!(!names(&haystack, "Mann, Michael"));
        assert!(!names(&haystack, "act"));
        // Too short to count.
        assert!(!names(&words("an ox"), "ox"));
        assert!(names_title(&words("I loved Heat!"), "Heat (1995)"));
        assert!(names_title(&words("like Heat (1995)"), "Heat (1995)"));
        assert!(!names_title(&words("the heat is on"), "It (2017)"));
        assert_eq!(without_year("Heat (1995)"), "Heat");
        assert_eq!(without_year("Heat"), "Heat");
    }
}
