//! The per-run memo of title matching: a title matched once costs a hash lookup afterwards.
//!
//! A sweep's lists repeat titles all the time (a revised list keeps most of its parent's items,
//! every seed and cell of a grid asks for the same popular films), and matching one title against
//! the catalog costs tens of microseconds. The memo keeps each title's best item in the whole
//! catalog (the result without the list's de-duplication); a list that has already used that item
//! is matched afresh, since then the best *unused* item is wanted. Bounded: when it holds
//! [`MEMO_CAPACITY`] titles it starts over.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::catalog::ItemIndex;

/// The most titles remembered (about 100 bytes each).
pub const MEMO_CAPACITY: usize = 200_000;

/// A title's best item in the whole catalog and its score; `None`: the catalog is empty.
pub(super) type BestItem = Option<(ItemIndex, f64)>;

/// Remembered matches, shared by every clone of a matcher (one per run).
#[derive(Debug, Clone, Default)]
pub(super) struct TitleMemo {
    entries: Arc<Mutex<HashMap<Box<str>, BestItem>>>,
}

impl TitleMemo {
    pub(super) fn get(&self, query: &str) -> Option<BestItem> {
        self.entries
            .lock()
            .expect("the title memo's lock")
            .get(query)
            .copied()
    }

    pub(super) fn insert(&self, query: &str, best: BestItem) {
        let mut entries = self.entries.lock().expect("the title memo's lock");
        if entries.len() >= MEMO_CAPACITY {
            entries.clear();
        }
        entries.insert(query.into(), best);
    }

    pub(super) fn len(&self) -> usize {
        self.entries.lock().expect("the title memo's lock").len()
    }
}
