//! The sweep a view shows: a snapshot of its store, reloaded when the store has changed and no
//! run holds it.
//!
//! Opening a sled store takes its lock, so the view opens it only to read a snapshot (or one
//! sample's raw answers) and closes it at once. A run that holds the store makes the open fail;
//! the view then keeps its last snapshot and shows the run's `progress.json`. The store's files
//! (sizes and modification times) tell whether a new snapshot is needed; they are checked at
//! most every [`CHECK_INTERVAL`].

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use grsu::catalog::Catalog;
use grsu::config::RunConfig;
use grsu::explore::replay::replay_requests;
use grsu::explore::Explorer;
use grsu::store::Store;
use serde_json::{json, Value};

use crate::engine::progress::ProgressSnapshot;
use crate::engine::store_path;

/// How often the store's files are looked at for a change.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(2);

/// The store's files, as sizes and modification times: equal stamps, same content.
type StoreStamp = Vec<(PathBuf, u64, Option<SystemTime>)>;

/// A snapshot and the documents made from it once.
pub struct Snapshot {
    pub explorer: Explorer,
    /// The sample table as JSON.
    pub samples_json: Arc<String>,
}

/// Why there is no snapshot, or what else the page should say about it.
#[derive(Default)]
struct Loaded {
    snapshot: Option<Arc<Snapshot>>,
    stamp: Option<StoreStamp>,
    checked: Option<Instant>,
    /// The last open failed: a run holds the store.
    held: bool,
    /// The last failure to read the store, other than its being held.
    error: Option<String>,
}

/// The sweep of one output folder.
pub struct ViewSource {
    output: PathBuf,
    loaded: Mutex<Loaded>,
    /// Catalogs of the searches (for rebuilding prompts), by path and format.
    catalogs: Mutex<std::collections::HashMap<(PathBuf, String), Arc<Catalog>>>,
}

/// A view request that cannot be answered.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unavailable(String),
}

impl ViewSource {
    /// The source of `output`; fails when the folder holds no sweep.
    pub fn open(output: &Path) -> anyhow::Result<Arc<ViewSource>> {
        let store = store_path(output);
        if !store.is_dir() {
            anyhow::bail!(
                "{} holds no sweep (no store at {})",
                output.display(),
                store.display()
            );
        }
        let source = Arc::new(ViewSource {
            output: output.to_path_buf(),
            loaded: Mutex::new(Loaded::default()),
            catalogs: Mutex::default(),
        });
        source.refresh(true);
        Ok(source)
    }

    pub fn output(&self) -> &Path {
        &self.output
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Loaded> {
        self.loaded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Reloads the snapshot if the store changed and is free; at most every [`CHECK_INTERVAL`]
    /// unless `now`.
    pub fn refresh(&self, now: bool) {
        let mut loaded = self.lock();
        if !now
            && loaded
                .checked
                .is_some_and(|at| at.elapsed() < CHECK_INTERVAL)
        {
            return;
        }
        loaded.checked = Some(Instant::now());
        let stamp = store_stamp(&store_path(&self.output));
        if loaded.snapshot.is_some() && loaded.stamp.as_ref() == Some(&stamp) {
            loaded.held = false;
            return;
        }
        match open_store(&self.output) {
            Err(_) => loaded.held = true,
            Ok(store) => {
                loaded.held = false;
                match Explorer::from_store(&store) {
                    Ok(explorer) => {
                        let samples_json = Arc::new(
                            serde_json::to_string(&explorer.samples)
                                .expect("the sample table serialises"),
                        );
                        loaded.snapshot = Some(Arc::new(Snapshot {
                            explorer,
                            samples_json,
                        }));
                        loaded.error = None;
                    }
                    Err(error) => loaded.error = Some(error.to_string()),
                }
                drop(store);
                // Taken after the store is closed: opening it may touch its files.
                loaded.stamp = Some(store_stamp(&store_path(&self.output)));
            }
        }
    }

    /// The snapshot, if one could be read.
    pub fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.lock().snapshot.clone()
    }

    /// The sweep page's document: the report, the run's progress and what to say about them.
    pub fn sweep_document(&self) -> Value {
        self.refresh(false);
        let (snapshot, held, error) = {
            let loaded = self.lock();
            (loaded.snapshot.clone(), loaded.held, loaded.error.clone())
        };
        let progress: Option<ProgressSnapshot> =
            std::fs::read_to_string(self.output.join("progress.json"))
                .ok()
                .and_then(|text| serde_json::from_str(&text).ok());
        let running = held || progress.as_ref().is_some_and(is_running);
        let note = match (&snapshot, held, &error) {
            (_, _, Some(error)) => Some(format!("the store cannot be read: {error}")),
            (None, true, _) => Some(
                "a run holds the store: its results appear here when it releases it".to_string(),
            ),
            (Some(_), true, _) => Some(
                "a run holds the store: these results are from before it started; new ones appear when it releases the store"
                    .to_string(),
            ),
            _ => None,
        };
        json!({
            "output": self.output.display().to_string(),
            "report": snapshot.as_ref().map(|snapshot| &snapshot.explorer.report),
            "progress": progress,
            "running": running,
            "note": note,
        })
    }

    /// The sample table as JSON.
    pub fn samples_document(&self) -> Result<Arc<String>, ViewError> {
        self.refresh(false);
        self.snapshot()
            .map(|snapshot| snapshot.samples_json.clone())
            .ok_or_else(|| self.unavailable())
    }

    /// The page of the sample at `index`.
    pub fn sample_document(&self, index: usize) -> Result<Value, ViewError> {
        let snapshot = self.snapshot().ok_or_else(|| self.unavailable())?;
        let page = snapshot
            .explorer
            .sample_page(index)
            .ok_or_else(|| ViewError::NotFound(format!("no sample number {index}")))?;
        Ok(serde_json::to_value(page).expect("a sample page serialises"))
    }

    /// The raw answers behind the sample at `index`, read from the response cache: `{"answers":
    /// {key prefix: response}}`.
    pub fn answers_document(&self, index: usize) -> Result<Value, ViewError> {
        let snapshot = self.snapshot().ok_or_else(|| self.unavailable())?;
        if snapshot.explorer.samples.rows.get(index).is_none() {
            return Err(ViewError::NotFound(format!("no sample number {index}")));
        }
        let store = open_store(&self.output).map_err(|_| {
            ViewError::Unavailable(
                "a run holds the store: raw answers can be read when it releases it".into(),
            )
        })?;
        let mut answers = read_answers(&store, &snapshot.explorer.request_keys_of(index))?;
        let (prompts, notes) = self.replay_prompts(&store, &snapshot.explorer, index);
        answers["prompts"] = prompts;
        answers["prompt_notes"] = notes;
        drop(store);
        // Opening the store may have touched its files; that is no change of the sweep.
        self.lock().stamp = Some(store_stamp(&store_path(&self.output)));
        Ok(answers)
    }

    /// The requests behind the sample at `index`, rebuilt by replaying its searches from the
    /// response cache (`{key prefix: request}`), and a note per search that could not be replayed.
    pub fn replay_prompts(
        &self,
        store: &Store,
        explorer: &Explorer,
        index: usize,
    ) -> (Value, Value) {
        let mut prompts = serde_json::Map::new();
        let mut notes = Vec::new();
        let Ok(cache) = store.response_cache() else {
            return (
                Value::Object(prompts),
                json!(["the response cache cannot be read"]),
            );
        };
        // On a thread of its own with its own runtime, so that it may be called from anywhere
        // (an async test, a blocking task of the server, the bundle writer).
        let finished = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    self.replay_on_this_thread(&cache, explorer, index, &mut prompts, &mut notes)
                })
                .join()
                .is_ok()
        });
        if !finished {
            notes.push("the replay failed".into());
        }
        (Value::Object(prompts), json!(notes))
    }

    fn replay_on_this_thread(
        &self,
        cache: &grsu::store::ResponseCache,
        explorer: &Explorer,
        index: usize,
        prompts: &mut serde_json::Map<String, Value>,
        notes: &mut Vec<String>,
    ) {
        let runtime = match tokio::runtime::Builder::new_current_thread().build() {
            Ok(runtime) => runtime,
            Err(error) => return notes.push(error.to_string()),
        };
        for input in explorer.replay_inputs(index) {
            let name = format!("search {} seed {}", input.record.search, input.record.seed);
            let Some(config) = input.config else {
                notes.push(format!(
                    "{name}: its config cannot be read from the manifest"
                ));
                continue;
            };
            let catalog = match self.catalog(&config) {
                Ok(catalog) => catalog,
                Err(error) => {
                    notes.push(format!("{name}: prompts need the catalog: {error}"));
                    continue;
                }
            };
            let replayed = runtime.block_on(replay_requests(
                &config,
                catalog,
                &input.record,
                &input.identities,
                cache,
            ));
            match replayed {
                Ok(requests) => {
                    for (key, request) in requests {
                        prompts.insert(key, serde_json::to_value(request).unwrap_or_default());
                    }
                }
                Err(error) => notes.push(format!("{name}: prompts not rebuilt: {error}")),
            }
        }
    }

    /// The catalog a search's config names, loaded once.
    fn catalog(&self, config: &RunConfig) -> anyhow::Result<Arc<Catalog>> {
        let key = (
            config.data.catalog.clone(),
            format!("{:?}", config.data.catalog_format),
        );
        let mut catalogs = self
            .catalogs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(catalog) = catalogs.get(&key) {
            return Ok(catalog.clone());
        }
        let catalog = Arc::new(Catalog::load(
            &config.data.catalog,
            config.data.catalog_format,
        )?);
        catalogs.insert(key, catalog.clone());
        Ok(catalog)
    }

    fn unavailable(&self) -> ViewError {
        let loaded = self.lock();
        ViewError::Unavailable(match (&loaded.error, loaded.held) {
            (Some(error), _) => format!("the store cannot be read: {error}"),
            (None, true) => "a run holds the store; the samples appear when it releases it".into(),
            (None, false) => "the sweep has not been read yet".into(),
        })
    }
}

/// Opens the store of `output`, waiting a little for a lock that is being released (sled's
/// flusher lets go of a closed store a moment after it is dropped); a store held by a run stays
/// an error.
pub fn open_store(output: &Path) -> Result<Store, grsu::store::StoreError> {
    let deadline = Instant::now() + Duration::from_millis(600);
    loop {
        match Store::open(&store_path(output)) {
            Ok(store) => return Ok(store),
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(error) => return Err(error),
        }
    }
}

/// Whether the run that wrote `progress` is still going: it has not written its last snapshot
/// and wrote one lately (a run killed with `kill -9` writes no last snapshot).
fn is_running(progress: &ProgressSnapshot) -> bool {
    let now = SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |now| now.as_secs());
    !progress.finished && now.saturating_sub(progress.updated_unix) <= STALE_PROGRESS_S
}

/// A `progress.json` not updated for this long belongs to a run that died.
const STALE_PROGRESS_S: u64 = 30;

/// The responses behind `keys` (key prefixes), as `{"answers": {prefix: response}}`.
pub fn read_answers(store: &Store, keys: &[String]) -> Result<Value, ViewError> {
    let cache = store
        .response_cache()
        .map_err(|error| ViewError::Unavailable(error.to_string()))?;
    let mut answers = serde_json::Map::new();
    for key in keys {
        if answers.contains_key(key) {
            continue;
        }
        match cache.get_by_prefix(key) {
            Ok(Some((response, _origin))) => {
                answers.insert(key.clone(), response);
            }
            Ok(None) => {}
            Err(error) => return Err(ViewError::Unavailable(error.to_string())),
        }
    }
    Ok(json!({ "answers": answers }))
}

/// Sizes and modification times of the files in `folder` and one level below.
fn store_stamp(folder: &Path) -> StoreStamp {
    let mut stamp = Vec::new();
    let mut folders = vec![(folder.to_path_buf(), 0)];
    while let Some((folder, level)) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(metadata) = entry.metadata() else {
                continue;
            };
            if metadata.is_dir() {
                if level < 1 {
                    folders.push((entry.path(), level + 1));
                }
            } else {
                stamp.push((entry.path(), metadata.len(), metadata.modified().ok()));
            }
        }
    }
    stamp.sort();
    stamp
}
