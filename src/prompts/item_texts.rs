//! Items as prompts show them ([`item_text`]), rendered once per item and view and kept.
//!
//! A scoring prompt shows one item with its attributes, and a sweep shows each item thousands of
//! times (every list that names it, at every depth, in every cell and seed). Rendering an item
//! normalises the whitespace of each of its attributes (cast lists run to dozens of names), which
//! was the largest part of building a scoring prompt. Kept lazily: only items that are shown
//! are rendered, each once, whichever sample asks first.

use std::sync::{Arc, OnceLock};

use crate::catalog::{Catalog, ItemIndex};

use super::item_text::{item_text, ItemView};

/// One view's texts: a cell per item of the catalog, filled when the item is first shown.
type ViewTexts = Box<[OnceLock<Box<str>>]>;

/// The rendered items of one catalog.
#[derive(Debug)]
pub struct ItemTexts {
    catalog: Arc<Catalog>,
    /// Per view, its texts (made at the view's first use).
    views: [OnceLock<ViewTexts>; 3],
}

impl ItemTexts {
    pub fn new(catalog: Arc<Catalog>) -> Self {
        ItemTexts {
            catalog,
            views: Default::default(),
        }
    }

    /// [`item_text`] of the catalog's item at `index` (an index of this catalog).
    pub fn text(&self, index: ItemIndex, view: ItemView) -> &str {
        let slot = match view {
            ItemView::TitleOnly => 0,
            ItemView::Attributes => 1,
            ItemView::AttributesWithPlot => 2,
        };
        let cells = self.views[slot]
            .get_or_init(|| (0..self.catalog.len()).map(|_| OnceLock::new()).collect());
        cells[index].get_or_init(|| item_text(self.catalog.item(index), view).into_boxed_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompts::item_text::tests::{heat, ronin};

    #[test]
    fn a_kept_text_is_the_rendered_one_for_each_view_and_item() {
        let catalog = Arc::new(Catalog::from_items([heat(), ronin()]));
        let texts = ItemTexts::new(catalog.clone());
        for _ in 0..2 {
            for view in [
                ItemView::Attributes,
                ItemView::TitleOnly,
                ItemView::AttributesWithPlot,
            ] {
                for index in 0..catalog.len() {
                    assert_eq!(
                        texts.text(index, view),
                        item_text(catalog.item(index), view),
                        "{view:?} {index}"
                    );
                }
            }
        }
        // Kept: the same text is handed out again.
        assert!(std::ptr::eq(
            texts.text(1, ItemView::Attributes),
            texts.text(1, ItemView::Attributes)
        ));
    }
}
