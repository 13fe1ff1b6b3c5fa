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
/// an item's attributes, and a sweep builds millions of them.
fn push_one_line(out: &mut String, text: &str) {
    for (index, word) in text.split_whitespace().enumerate() {
        if index > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
}

fn has_words(text: &str) -> bool {
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
}
