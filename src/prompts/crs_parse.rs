//! Reading a CRS answer back into catalog titles, and the rule that decides whether it is usable.
//!
//! Two parsers ([`ListParseMode`]):
//! - `strict`, the reference's rule: on every line holding a bold span `**...**`, the first such
//!   span is a title; nothing else is. (The reference does not require the line to be numbered, so
//!   neither does this mode: it reproduces the reference's counts.)
//! - `tolerant`, for models that do not follow the format: numbered lines (`1.` or `1)`) give one
//!   title each (the first bold span on the line, else the line's text), and only when there are
//!   none, bold spans in prose. Titles are cleaned of markdown, quotes and trailing descriptions
//!   (`Heat (1995) - a heist film`): text after the first `(year)` is cut, so a description is
//!   dropped while a title with a colon (`Mission: Impossible (1996)`) is kept. Repeated titles are
//!   kept once.
//!
//! Titles are then mapped onto the catalog ([`match_list`]), and a list is valid when it holds at
//! least k distinct catalog items, cut to k ([`validate_list`]). An invalid answer is requested
//! again: up to [`CRS_MAX_ATTEMPTS`] attempts, the first at the configured temperature (0 for
//! greedy), the later ones at temperature 1 when the first was greedy
//! ([`retry_temperature`](super::retry::retry_temperature)), as the reference does.

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::matching::TitleMatcher;

/// Attempts at one CRS list before the request is given up (the reference's 5): the first at the
/// configured temperature, the others at temperature 1 if that was 0.
pub const CRS_MAX_ATTEMPTS: u32 = 5;

/// How titles are read out of a CRS answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListParseMode {
    /// The reference: the first bold span of each line that has one.
    #[default]
    Strict,
    /// Numbered lines, bold or not, else bold spans in prose; cleaned and de-duplicated.
    Tolerant,
}

/// A CRS answer that does not give k distinct catalog items.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the recommendation has {found} distinct items, {wanted} are needed")]
pub struct InvalidList {
    pub wanted: usize,
    pub found: usize,
}

/// The contents of the `**...**` spans of a line, left to right, as the reference's non-greedy
/// `\*\*(.*?)\*\*` finds them.
fn bold_spans(line: &str) -> Vec<&str> {
    let mut spans = Vec::new();
    let mut rest = line;
    while let Some(open) = rest.find("**") {
        let after = &rest[open + 2..];
        match after.find("**") {
            Some(close) => {
                spans.push(&after[..close]);
                rest = &after[close + 2..];
            }
            None => break,
        }
    }
    spans
}

/// The text after a list number (`12.` or `12)` and a space), if the line starts with one.
fn after_number(line: &str) -> Option<&str> {
    let digits = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 || digits > 3 {
        return None;
    }
    let rest = &line[digits..];
    let rest = rest.strip_prefix('.').or_else(|| rest.strip_prefix(')'))?;
    if rest.is_empty() || rest.starts_with(char::is_whitespace) || rest.starts_with('*') {
        Some(rest)
    } else {
        None
    }
}

/// The byte index just after the first `(dddd)` of the text, if any.
fn end_of_year(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(5)).find_map(|at| {
        let window = &bytes[at..at + 6];
        (window[0] == b'(' && window[1..5].iter().all(u8::is_ascii_digit) && window[5] == b')')
            .then_some(at + 6)
    })
}

/// A title cleaned of markdown, list numbers, quotes and a description after its year.
fn clean_title(raw: &str) -> String {
    let text: String = raw
        .chars()
        .filter(|c| !matches!(c, '*' | '`' | '"' | '\u{201c}' | '\u{201d}'))
        .collect();
    let mut text = text.trim().trim_matches('_').trim();
    if let Some(rest) = after_number(text) {
        text = rest.trim();
    }
    if let Some(end) = end_of_year(text) {
        text = &text[..end];
    }
    let mut text = text.trim().trim_end_matches([',', ';']).trim();
    for (open, close) in [('\'', '\''), ('\u{2018}', '\u{2019}')] {
        if text.len() > 2 && text.starts_with(open) {
            if let Some(inner) = text[open.len_utf8()..].strip_suffix(close) {
                text = inner.trim();
            } else if let Some(quote_end) = text[open.len_utf8()..].find(close) {
                // `'Heat' (1995)`: the quotes close before the year.
                let inner = &text[open.len_utf8()..open.len_utf8() + quote_end];
                let after = &text[open.len_utf8() + quote_end + close.len_utf8()..];
                if after.trim_start().starts_with('(') {
                    return format!("{} {}", inner.trim(), after.trim());
                }
            }
        }
    }
    text.to_string()
}

fn strict(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| bold_spans(line).first().map(|span| span.trim().to_string()))
        .filter(|title| !title.is_empty())
        .collect()
}

fn tolerant(text: &str) -> Vec<String> {
    let mut numbered = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        let unmarked = trimmed.trim_start_matches(['*', '_', ' ']);
        let Some(rest) = after_number(unmarked) else {
            continue;
        };
        let from_bold = bold_spans(trimmed)
            .first()
            .map(|span| clean_title(span))
            .filter(|title| !title.is_empty() && !title.chars().all(|c| c.is_ascii_digit()));
        let title = from_bold.unwrap_or_else(|| clean_title(rest));
        if !title.is_empty() {
            numbered.push(title);
        }
    }
    let titles = if numbered.is_empty() {
        text.lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .flat_map(bold_spans)
            .filter(|span| !span.trim().ends_with(':'))
            .map(clean_title)
            .filter(|title| !title.is_empty())
            .collect()
    } else {
        numbered
    };
    let mut seen = std::collections::HashSet::new();
    titles
        .into_iter()
        .filter(|title| seen.insert(title.to_lowercase()))
        .collect()
}

/// The titles of a CRS answer, in order, as written (not yet matched to the catalog).
pub fn parse_list(text: &str, mode: ListParseMode) -> Vec<String> {
    match mode {
        ListParseMode::Strict => strict(text),
        ListParseMode::Tolerant => tolerant(text),
    }
}

/// The catalog titles of parsed titles, in order, through [`TitleMatcher::match_list`] (which never
/// gives one item twice); titles left unmatched (under the matcher's minimum score) are dropped.
pub fn match_list<S: AsRef<str>>(
    titles: &[S],
    matcher: &TitleMatcher,
    catalog: &Catalog,
) -> Vec<String> {
    matcher
        .match_list(titles)
        .into_iter()
        .filter_map(|found| found.item)
        .map(|index| catalog.item(index).title.clone())
        .collect()
}

/// The first `k` distinct titles, or [`InvalidList`] when there are fewer than `k`.
pub fn validate_list(titles: &[String], k: usize) -> Result<Vec<String>, InvalidList> {
    let mut seen = std::collections::HashSet::new();
    let distinct: Vec<String> = titles
        .iter()
        .filter(|title| seen.insert(title.as_str()))
        .cloned()
        .collect();
    if distinct.len() < k {
        return Err(InvalidList {
            wanted: k,
            found: distinct.len(),
        });
    }
    Ok(distinct.into_iter().take(k).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Item, ItemAttributes};

    fn tolerant(text: &str) -> Vec<String> {
        parse_list(text, ListParseMode::Tolerant)
    }

    #[test]
    fn strict_reads_the_reference_format() {
        let answer = "Here are my picks:\n1. **Heat (1995)**\n2. **Ronin (1998)**.\n3. **The Town (2010)** - Boston";
        assert_eq!(
            parse_list(answer, ListParseMode::Strict),
            vec!["Heat (1995)", "Ronin (1998)", "The Town (2010)"]
        );
    }

    #[test]
    fn strict_rejects_lines_without_bold() {
        let answer = "1. Heat (1995)\n2. \"Ronin\" (1998)\n3) Thief (1981)";
        assert!(parse_list(answer, ListParseMode::Strict).is_empty());
        let mixed = "1. Heat (1995)\n2. **Ronin (1998)**";
        assert_eq!(
            parse_list(mixed, ListParseMode::Strict),
            vec!["Ronin (1998)"]
        );
    }

    #[test]
    fn strict_keeps_duplicates_for_the_matcher_to_resolve() {
        let answer = "1. **Heat (1995)**\n2. **Heat (1995)**";
        assert_eq!(parse_list(answer, ListParseMode::Strict).len(), 2);
    }

    #[test]
    fn tolerant_cuts_descriptions_after_the_year() {
        let answer = "1. **Heat (1995)** - a heist film with a **great** shootout\n\
                      2. Ronin (1998) - car chases in Paris\n\
                      3. Thief (1981): Michael Mann's first feature\n\
                      4. Mission: Impossible (1996)\n\
                      5. The Italian Job (2003), a remake";
        assert_eq!(
            tolerant(answer),
            vec![
                "Heat (1995)",
                "Ronin (1998)",
                "Thief (1981)",
                "Mission: Impossible (1996)",
                "The Italian Job (2003)"
            ]
        );
    }

    #[test]
    fn tolerant_strips_quotes_and_markdown_and_parenthesised_numbers() {
        let answer = "1) \"Heat\" (1995)\n2) “Ronin” (1998)\n3. *Thief (1981)*\n4. 'Inside Man' (2006)\n**5.** Sexy Beast (2000)\n6. Schindler's List (1993)";
        assert_eq!(
            tolerant(answer),
            vec![
                "Heat (1995)",
                "Ronin (1998)",
                "Thief (1981)",
                "Inside Man (2006)",
                "Sexy Beast (2000)",
                "Schindler's List (1993)"
            ]
        );
    }

    #[test]
    fn tolerant_reads_bold_titles_in_prose_without_numbered_lines() {
        let answer = "**My suggestions:**\nYou might enjoy **Heat (1995)** and **Ronin (1998)**. \
                      If you want something lighter, **Ocean's Eleven (2001)** is fun.";
        assert_eq!(
            tolerant(answer),
            vec!["Heat (1995)", "Ronin (1998)", "Ocean's Eleven (2001)"]
        );
    }

    #[test]
    fn tolerant_drops_repeated_titles() {
        let answer = "1. **Heat (1995)**\n2. **heat (1995)**\n3. **Ronin (1998)**";
        assert_eq!(tolerant(answer), vec!["Heat (1995)", "Ronin (1998)"]);
    }

    #[test]
    fn titles_map_onto_the_catalog_and_unmatched_ones_are_dropped() {
        let item = |title: &str| Item {
            title: title.into(),
            attributes: ItemAttributes::default(),
        };
        let catalog = Catalog::from_items([item("Heat (1995)"), item("Ronin (1998)")]);
        let matcher = TitleMatcher::new(&catalog, Some(90.0));
        let titles = ["heat (1995)", "Zzyzx Road", "Ronin (1998)"];
        assert_eq!(
            match_list(&titles, &matcher, &catalog),
            vec!["Heat (1995)", "Ronin (1998)"]
        );
    }

    #[test]
    fn validate_list_cuts_extras_and_rejects_short_lists() {
        let titles: Vec<String> = ["A", "B", "A", "C", "D"].map(String::from).to_vec();
        assert_eq!(validate_list(&titles, 3).unwrap(), vec!["A", "B", "C"]);
        assert_eq!(validate_list(&titles, 4).unwrap(), vec!["A", "B", "C", "D"]);
        assert_eq!(
            validate_list(&titles, 5).unwrap_err(),
            InvalidList {
                wanted: 5,
                found: 4
            }
        );
    }
}
