//! An item as the simulated user sees it: its title, then one indented line per known attribute
//! (genre, stars, director, writer, and the plot when asked for).
//!
//! The attributes are what makes a critique specific ("I'd like more comedy, less horror"): the
//! paper's attribute-based critiquing (Eq. 3) and its ablation "critique without attributes", which
//! shows titles only. Unknown (empty) attributes are skipped rather than shown empty, so that the
//! model never reads "director: " as information.

use crate::catalog::Item;

/// How much of an item a prompt shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ItemView {
    /// The title only (the ablation "critique without attributes").
    TitleOnly,
    /// Title, genre, stars, director, writer (the paper's default).
    #[default]
    Attributes,
    /// As [`ItemView::Attributes`], plus the plot.
    AttributesWithPlot,
}

impl ItemView {
    /// The view for a `with_attributes` flag, without plot.
    pub fn with_attributes(with_attributes: bool) -> Self {
        if with_attributes {
            ItemView::Attributes
        } else {
            ItemView::TitleOnly
        }
    }

    /// The view for the two settings `with_attributes` and `with_plot` (plot needs attributes).
    pub fn from_settings(with_attributes: bool, with_plot: bool) -> Self {
        match (with_attributes, with_plot) {
            (false, _) => ItemView::TitleOnly,
            (true, false) => ItemView::Attributes,
            (true, true) => ItemView::AttributesWithPlot,
        }
    }
}

impl From<bool> for ItemView {
    fn from(with_attributes: bool) -> Self {
        ItemView::with_attributes(with_attributes)
    }
}

/// Appends `text` with every run of whitespace made one space and none at either end (what
/// `split_whitespace().join(" ")` gives), without building the words first: a scoring prompt shows
/// an item's attributes, and a sweep builds millions of them. Most values are already one line
/// ([`is_one_line`]) and are copied as they are.
fn push_one_line(out: &mut String, text: &str) {
    if is_one_line(text) {
        out.push_str(text);
        return;
    }
    for (index, word) in text.split_whitespace().enumerate() {
        if index > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
}

/// Whether `text` is its own one-line form: no whitespace at either end, none but single spaces
/// inside. Exact by bytes: a byte that could begin a whitespace character other than the ASCII
/// ones (U+0085, U+00A0: lead byte 0xC2; U+1680: 0xE1; U+2000 to U+205F: 0xE2; U+3000: 0xE3)
/// sends the text to the general path, and lead bytes never occur inside another character.
fn is_one_line(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.first() == Some(&b' ') || bytes.last() == Some(&b' ') {
        return false;
    }
    let mut after_space = false;
    for &byte in bytes {
        match byte {
            b' ' if after_space => return false,
            b' ' => after_space = true,
            b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0xc2 | 0xe1 | 0xe2 | 0xe3 => return false,
            _ => after_space = false,
        }
    }
    true
}

fn has_words(text: &str) -> bool {
    if is_one_line(text) {
        return !text.is_empty();
    }
    text.split_whitespace().next().is_some()
}

fn push_list(out: &mut String, name: &str, values: &[String]) {
    let mut shown = values.iter().filter(|value| has_words(value));
    let Some(first) = shown.next() else {
        return;
    };
    out.push_str("\n  - ");
    out.push_str(name);
    out.push_str(": ");
    push_one_line(out, first);
    for value in shown {
        out.push_str(", ");
        push_one_line(out, value);
    }
}

/// The item's title and, depending on `view`, its attribute lines (`  - genre: a, b`).
pub fn item_text(item: &Item, view: ItemView) -> String {
    let mut out = String::with_capacity(256);
    push_item_text(&mut out, item, view);
    out
}

/// [`item_text`] appended to `out`.
pub fn push_item_text(out: &mut String, item: &Item, view: ItemView) {
    out.push_str(&item.title);
    if view == ItemView::TitleOnly {
        return;
    }
    let attributes = &item.attributes;
    push_list(out, "genre", &attributes.genre);
    push_list(out, "star", &attributes.star);
    push_list(out, "director", &attributes.director);
    push_list(out, "writer", &attributes.writer);
    if view == ItemView::AttributesWithPlot {
        if let Some(plot) = attributes.plot.as_deref().filter(|plot| has_words(plot)) {
            out.push_str("\n  - plot: ");
            push_one_line(out, plot);
        }
    }
}

/// The items numbered from 1 (`1. Title` and its attribute lines), one after the other.
pub fn numbered_items(items: &[&Item], view: ItemView) -> String {
    let mut out = String::with_capacity(items.len() * 256);
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        out.push_str(&(index + 1).to_string());
        out.push_str(". ");
        push_item_text(&mut out, item, view);
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::catalog::ItemAttributes;

    pub(crate) fn heat() -> Item {
        Item {
            title: "Heat (1995)".into(),
            attributes: ItemAttributes {
                genre: vec!["Action".into(), "Crime".into()],
                star: vec!["Al Pacino".into(), "Robert De Niro".into()],
                director: vec!["Michael Mann".into()],
                writer: vec![],
                plot: Some("A group of  professional\nbank robbers...".into()),
            },
        }
    }

    pub(crate) fn ronin() -> Item {
        Item {
            title: "Ronin (1998)".into(),
            attributes: ItemAttributes {
                genre: vec!["Action".into(), "Thriller".into()],
                star: vec!["Robert De Niro".into()],
                director: vec!["John Frankenheimer".into()],
                writer: vec!["J.D. Zeik".into()],
                plot: None,
            },
        }
    }

    #[test]
    fn attributes_skip_empty_ones_and_plot_is_optional() {
        let item = heat();
        assert_eq!(
            item_text(&item, ItemView::Attributes),
            "Heat (1995)\n  - genre: Action, Crime\n  - star: Al Pacino, Robert De Niro\n  - director: Michael Mann"
        );
        assert!(item_text(&item, ItemView::AttributesWithPlot)
            .ends_with("\n  - plot: A group of professional bank robbers..."));
        assert_eq!(item_text(&item, ItemView::TitleOnly), "Heat (1995)");
    }

    #[test]
    fn lists_are_numbered_from_one() {
        let (a, b) = (heat(), ronin());
        assert_eq!(
            numbered_items(&[&a, &b], ItemView::TitleOnly),
            "1. Heat (1995)\n2. Ronin (1998)"
        );
        let full = numbered_items(&[&a, &b], ItemView::Attributes);
        assert!(full.contains("\n2. Ronin (1998)\n  - genre: Action, Thriller"));
        assert!(full.contains("  - writer: J.D. Zeik"));
    }

    /// The general form, as the fast path must give it.
    fn one_line_by_words(text: &str) -> String {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn a_value_is_made_one_line_exactly_as_by_its_words_whatever_its_whitespace() {
        let mut cases: Vec<String> = [
            "",
            " ",
            "Al Pacino",
            " Al Pacino",
            "Al Pacino ",
            "Al  Pacino",
            "Al\tPacino",
            "Al\nPacino",
            "Al\u{a0}Pacino",
            "Al\u{85}Pacino",
            "Al\u{1680}Pacino",
            "Al\u{2003}Pacino",
            "Al\u{2028}Pacino",
            "Al\u{205f}Pacino",
            "Al\u{3000}Pacino",
            "Zoë Kravitz",
            "宮崎 駿",
            "Penélope Cruz",
            "\u{feff}Title",
            "a\u{200b}b",
        ]
        .map(String::from)
        .to_vec();
        // Random strings over letters, accented and wide letters, and every kind of whitespace.
        let alphabet = [
            "a", "Z", ".", "é", "ß", "駿", "ア", "\u{200b}", " ", "  ", "\t", "\n", "\r", "\u{b}",
            "\u{c}", "\u{85}", "\u{a0}", "\u{1680}", "\u{2000}", "\u{200a}", "\u{2028}",
            "\u{2029}", "\u{202f}", "\u{205f}", "\u{3000}",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..5_000 {
            let mut text = String::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            for _ in 0..state % 9 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            cases.push(text);
        }
        let mut fast = 0;
        for case in &cases {
            let mut out = String::new();
            push_one_line(&mut out, case);
            assert_eq!(out, one_line_by_words(case), "{case:?}");
            assert_eq!(has_words(case), !out.is_empty(), "{case:?}");
            fast += usize::from(is_one_line(case));
        }
        // Both paths were taken.
        assert!(
            fast > 100 && fast < cases.len() - 100,
            "{fast} of {}",
            cases.len()
        );
    }
}
