//! Item catalogs: the set of items a recommender may name, with the attributes the simulated user
//! sees when it critiques a list (genre, stars, director, writer, plot).
//!
//! Two file formats are read ([`CatalogFormat`]); both become one [`Catalog`] whose item order is
//! the file's order. That order matters: title matching breaks ties by catalog order, as the
//! reference does with its list of names.

mod load;

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::input_error::InputError;

pub use load::CatalogFormat;

/// Index of an item in its catalog.
pub type ItemIndex = usize;

/// The attributes of an item, as the critique prompt shows them. Empty lists are attributes the
/// catalog does not know.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ItemAttributes {
    pub genre: Vec<String>,
    pub star: Vec<String>,
    pub director: Vec<String>,
    pub writer: Vec<String>,
    pub plot: Option<String>,
}

/// One catalog item: its title (`Title (year)` for films) and attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub title: String,
    pub attributes: ItemAttributes,
}

/// The items of a dataset, in file order, with distinct titles.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    items: Vec<Item>,
    by_title: HashMap<String, ItemIndex>,
    duplicate_titles: usize,
}

impl Catalog {
    /// Builds a catalog from items in order. A title seen twice keeps its first entry (the iEvaLM
    /// ReDial catalog has 6,583 ids for 6,576 names); the number dropped is kept for statistics.
    pub fn from_items(items: impl IntoIterator<Item = Item>) -> Self {
        let mut catalog = Catalog::default();
        for item in items {
            if catalog.by_title.contains_key(&item.title) {
                catalog.duplicate_titles += 1;
                continue;
            }
            catalog
                .by_title
                .insert(item.title.clone(), catalog.items.len());
            catalog.items.push(item);
        }
        catalog
    }

    /// Reads a catalog file in the given format ([`CatalogFormat::Auto`] detects it).
    pub fn load(path: &Path, format: CatalogFormat) -> Result<Self, InputError> {
        load::load_catalog(path, format)
    }

    /// Reads a catalog from its text, as [`Catalog::load`] does from the file at `path` (which
    /// errors name).
    pub fn parse(path: &Path, text: &str, format: CatalogFormat) -> Result<Self, InputError> {
        load::parse_catalog(path, text, format)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn items(&self) -> &[Item] {
        &self.items
    }

    pub fn item(&self, index: ItemIndex) -> &Item {
        &self.items[index]
    }

    /// The index of the item with exactly this title.
    pub fn index_of(&self, title: &str) -> Option<ItemIndex> {
        self.by_title.get(title).copied()
    }

    pub fn contains(&self, title: &str) -> bool {
        self.by_title.contains_key(title)
    }

    /// How many entries of the source file were dropped because their title was already present.
    pub fn duplicate_titles(&self) -> usize {
        self.duplicate_titles
    }
}
