//! Mapping the titles a model writes onto catalog items.
//!
//! A CRS writes `**The Matrix (1999)**`, `the matrix`, or a title that does not exist. The reference
//! implementation maps each to a catalog item with Python rapidfuzz's `process.extractOne(query,
//! names, scorer=fuzz.QRatio, processor=utils.default_process)`, after trying an exact match. We
//! reproduce that exactly ([`default_process`], [`qratio`], catalog order for ties; the fixtures
//! computed with Python rapidfuzz are a test), and fix what it gets wrong: a list is de-duplicated
//! (a title already used maps to the best unused item), and an optional minimum score leaves
//! hallucinated titles unmatched instead of crediting them with some arbitrary item.

mod matcher;
mod memo;
mod process;

pub use matcher::{TitleMatch, TitleMatcher};
pub use memo::MEMO_CAPACITY;
pub use process::{default_process, qratio, qratio_processed};
