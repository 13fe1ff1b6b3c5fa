//! The store's format version: written into the `meta` tree (key `format`, the version in decimal)
//! when a store is created, checked whenever one is opened, so that a grsu that reads another
//! encoding refuses the store with a clear error instead of misreading its entries.
//!
//! A store without the key that holds anything is the format written before versions were recorded:
//! version 1.

use std::path::Path;

use super::{StoreError, STORE_FORMAT_VERSION};

/// The tree and key the version lives under.
pub(super) const META_TREE: &str = "meta";
pub(super) const FORMAT_KEY: &str = "format";

/// The version of a store without a `format` key (stores written before it was recorded).
pub const UNVERSIONED_FORMAT: u32 = 1;

/// The format version of the store in `db`: `None` for a store that holds nothing yet.
pub(super) fn stored_format(db: &sled::Db, folder: &Path) -> Result<Option<u32>, StoreError> {
    let io = |error: sled::Error| StoreError::Open {
        path: folder.display().to_string(),
        message: error.to_string(),
    };
    let meta = db.open_tree(META_TREE).map_err(io)?;
    if let Some(bytes) = meta.get(FORMAT_KEY).map_err(io)? {
        return parse_format(&bytes)
            .map(Some)
            .ok_or_else(|| StoreError::Corrupt {
                tree: META_TREE,
                message: format!(
                    "the format version of the store at {} is unreadable ({:?})",
                    folder.display(),
                    String::from_utf8_lossy(&bytes)
                ),
            });
    }
    // Anything in any tree (the manifest, records, cached responses) makes it an existing store.
    for name in db.tree_names() {
        if name.as_ref() == META_TREE.as_bytes() {
            continue;
        }
        if !db.open_tree(&name).map_err(io)?.is_empty() {
            return Ok(Some(UNVERSIONED_FORMAT));
        }
    }
    Ok(None)
}

/// The version stored under the `format` key, if it reads as one.
pub(super) fn parse_format(bytes: &[u8]) -> Option<u32> {
    std::str::from_utf8(bytes).ok()?.trim().parse().ok()
}

/// Checks that the store in `db` is of a format this grsu reads and returns it, recording the
/// current version in a store that holds nothing yet.
pub(super) fn check_format(db: &sled::Db, folder: &Path) -> Result<u32, StoreError> {
    match stored_format(db, folder)? {
        // Older formats are still read (their entries decode as they were written).
        Some(found) if found <= STORE_FORMAT_VERSION => Ok(found),
        Some(found) => Err(StoreError::Version {
            path: folder.display().to_string(),
            found,
            supported: STORE_FORMAT_VERSION,
        }),
        None => {
            let meta = db.open_tree(META_TREE).map_err(write_failed(folder))?;
            meta.insert(FORMAT_KEY, STORE_FORMAT_VERSION.to_string().as_bytes())
                .and_then(|_| meta.flush())
                .map(|_| STORE_FORMAT_VERSION)
                .map_err(write_failed(folder))
        }
    }
}

/// Records `format` as the format of the store in `db` (which holds entries of that format now).
pub(super) fn raise_format(db: &sled::Db, format: u32) -> Result<(), StoreError> {
    db.open_tree(META_TREE)
        .and_then(|meta| {
            meta.insert(FORMAT_KEY, format.to_string().as_bytes())?;
            meta.flush()
        })
        .map(|_| ())
        .map_err(|error| StoreError::Io {
            operation: "format version write",
            message: error.to_string(),
        })
}

fn write_failed(folder: &Path) -> impl Fn(sled::Error) -> StoreError + '_ {
    move |error| StoreError::Open {
        path: folder.display().to_string(),
        message: format!("cannot record the store's format version: {error}"),
    }
}

/// Opening a store without letting the storage engine's own panics end the process: some damage
/// to its files (a snapshot whose length field was overwritten) makes sled panic instead of
/// returning an error. The panic becomes [`sled::Error::Unsupported`], with its message, and is not
/// printed as a crash.
pub(super) trait OpenGuarded {
    fn open_guarded(self) -> sled::Result<sled::Db>;
}

impl OpenGuarded for sled::Config {
    fn open_guarded(self) -> sled::Result<sled::Db> {
        install_quiet_hook();
        QUIET.with(|quiet| quiet.set(true));
        let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.open()));
        QUIET.with(|quiet| quiet.set(false));
        opened.unwrap_or_else(|_| {
            let message = PANIC_MESSAGE
                .with(|message| message.take())
                .unwrap_or_else(|| "no message".into());
            Err(sled::Error::Unsupported(format!(
                "the storage engine stopped on its own files ({message})"
            )))
        })
    }
}

thread_local! {
    /// Set while this thread opens a store: a panic then is recorded, not printed.
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static PANIC_MESSAGE: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Wraps the panic hook once: panics of a thread opening a store are recorded for
/// [`OpenGuarded`]; every other panic goes to the hook that was there.
fn install_quiet_hook() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if QUIET.with(|quiet| quiet.get()) {
                let message = info
                    .payload()
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| {
                        info.payload()
                            .downcast_ref::<&str>()
                            .map(|text| text.to_string())
                    })
                    .unwrap_or_default();
                let place = info
                    .location()
                    .map(|location| format!(" at {}:{}", location.file(), location.line()))
                    .unwrap_or_default();
                PANIC_MESSAGE.with(|slot| *slot.borrow_mut() = Some(format!("{message}{place}")));
            } else {
                previous(info);
            }
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn a_new_store_records_the_current_version() {
        let folder = tempfile::tempdir().unwrap();
        let store = Store::open(folder.path()).unwrap();
        assert_eq!(
            stored_format(&store.db, folder.path()).unwrap(),
            Some(STORE_FORMAT_VERSION)
        );
    }

    #[test]
    fn a_store_with_content_and_no_version_is_version_1() {
        let folder = tempfile::tempdir().unwrap();
        {
            let db = sled::open(folder.path()).unwrap();
            db.open_tree("records").unwrap().insert("a", "{}").unwrap();
            db.flush().unwrap();
        }
        let db = sled::open(folder.path()).unwrap();
        assert_eq!(
            stored_format(&db, folder.path()).unwrap(),
            Some(UNVERSIONED_FORMAT)
        );
    }

    #[test]
    fn another_version_is_refused_naming_the_folder_and_both_versions() {
        let folder = tempfile::tempdir().unwrap();
        {
            let db = sled::open(folder.path()).unwrap();
            db.open_tree(META_TREE)
                .unwrap()
                .insert(FORMAT_KEY, "99")
                .unwrap();
            db.flush().unwrap();
        }
        let error = Store::open(folder.path()).unwrap_err();
        assert!(matches!(
            error,
            StoreError::Version {
                found: 99,
                supported: STORE_FORMAT_VERSION,
                ..
            }
        ));
        let message = error.to_string();
        for expected in [
            folder.path().display().to_string(),
            "format version 99".to_string(),
            format!("reads format versions up to {STORE_FORMAT_VERSION}"),
        ] {
            assert!(message.contains(&expected), "`{expected}` in: {message}");
        }
    }
}
