//! Where a store keeps its cached responses: a sled tree (stores before format 4, which go on
//! being written as they were) or the response log ([`super::response_log`], format 4 on). The
//! response cache, `grsu merge` and `grsu verify` see the two through this one type.

use std::sync::Arc;

use super::group_commit::Written;
use super::response_log::{KeyedEntry, LogDamage, ResponseLog};
use super::StoreError;

/// The responses of one store. Cheap to clone.
#[derive(Debug, Clone)]
pub(super) enum ResponseStorage {
    /// The `responses` tree of a store before format 4.
    Tree(sled::Tree),
    /// The response log of a store of format 4 or later.
    Log(Arc<ResponseLog>),
}

fn sled_error(operation: &'static str) -> impl Fn(sled::Error) -> StoreError {
    move |error| StoreError::Io {
        operation,
        message: error.to_string(),
    }
}

impl ResponseStorage {
    /// The entry under `key`.
    pub(super) fn get(&self, key: &[u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            ResponseStorage::Tree(tree) => Ok(tree
                .get(key)
                .map_err(sled_error("cache read"))?
                .map(|bytes| bytes.to_vec())),
            ResponseStorage::Log(log) => log.get(key),
        }
    }

    /// Stores `value` under `key`; durable after the next flush of what [`Self::written`] says.
    pub(super) fn insert(&self, key: &[u8; 32], value: Vec<u8>) -> Result<(), StoreError> {
        match self {
            ResponseStorage::Tree(tree) => tree
                .insert(key, value)
                .map(|_| ())
                .map_err(sled_error("cache write")),
            ResponseStorage::Log(log) => log.append(key, &value).map(|_| ()),
        }
    }

    /// Stores `value` under `key` unless an entry is there; whether it was stored.
    pub(super) fn insert_new(&self, key: &[u8; 32], value: Vec<u8>) -> Result<bool, StoreError> {
        match self {
            ResponseStorage::Tree(tree) => Ok(tree
                .compare_and_swap(key, None as Option<&[u8]>, Some(value))
                .map_err(sled_error("merge write"))?
                .is_ok()),
            ResponseStorage::Log(log) => log.append(key, &value),
        }
    }

    /// What a write here needs the group commit to flush.
    pub(super) fn written(&self) -> Written {
        match self {
            ResponseStorage::Tree(_) => Written::Trees,
            ResponseStorage::Log(_) => Written::ResponseLog,
        }
    }

    /// Makes every write so far durable, now.
    pub(super) fn flush(&self) -> Result<(), StoreError> {
        match self {
            ResponseStorage::Tree(tree) => {
                tree.flush().map(|_| ()).map_err(sled_error("cache flush"))
            }
            ResponseStorage::Log(log) => log.sync(),
        }
    }

    /// The key and entry of the smallest key starting with `prefix`.
    pub(super) fn find_prefix(&self, prefix: &[u8]) -> Result<Option<KeyedEntry>, StoreError> {
        match self {
            ResponseStorage::Tree(tree) => {
                let Some(entry) = tree.scan_prefix(prefix).next() else {
                    return Ok(None);
                };
                let (key, value) = entry.map_err(sled_error("cache read"))?;
                let key: [u8; 32] = key.as_ref().try_into().map_err(|_| StoreError::Corrupt {
                    tree: "responses",
                    message: "a key that is not 32 bytes".into(),
                })?;
                Ok(Some((key, value.to_vec())))
            }
            ResponseStorage::Log(log) => log.find_prefix(prefix),
        }
    }

    /// Every entry: `visit` is called with each key (as stored: a tree's may not be 32 bytes)
    /// and value. What could not be read is returned as `(where, problem)`, and reading goes on
    /// past it where it can.
    pub(super) fn each_entry(
        &self,
        mut visit: impl FnMut(&[u8], &[u8]) -> Result<(), StoreError>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        match self {
            ResponseStorage::Tree(tree) => {
                for entry in tree.iter() {
                    match entry {
                        Ok((key, value)) => visit(&key, &value)?,
                        Err(error) => {
                            return Ok(vec![(
                                "(scan)".into(),
                                format!(
                                    "reading the tree failed, later entries unchecked: {error}"
                                ),
                            )])
                        }
                    }
                }
                Ok(Vec::new())
            }
            ResponseStorage::Log(log) => {
                // A write cut short at the end is a crash's, and holds nothing acknowledged
                // (opening the log warned of it); damage in the middle fails the opening.
                let damage = log.each_entry(|key, value| visit(key, value))?;
                Ok(damage
                    .into_iter()
                    .filter(|damage| damage.in_the_middle)
                    .map(
                        |LogDamage {
                             offset, problem, ..
                         }| {
                            (
                                format!("{} byte {offset}", super::response_log::LOG_FILE),
                                problem,
                            )
                        },
                    )
                    .collect())
            }
        }
    }

    pub(super) fn len(&self) -> usize {
        match self {
            ResponseStorage::Tree(tree) => tree.len(),
            ResponseStorage::Log(log) => log.len(),
        }
    }
}
