//! Where the embedded model's GGUF file is looked for: the path logic alone, so that the config
//! (`[models.<role>] embedded_model`, default [`default_model_path`]) and `grsu model path` know it
//! without compiling the model. Loading and fetching the model are the `grsu-embedded` crate's.

use std::path::PathBuf;

/// The GGUF file the embedded model uses.
pub const DEFAULT_MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// Environment variable overriding the model directory.
pub const MODEL_DIR_ENV: &str = "GRSU_MODEL_DIR";

/// The directory holding embedded model files: `$GRSU_MODEL_DIR`, else
/// `$XDG_CACHE_HOME/grsu/models`, else `$HOME/.cache/grsu/models`, else `.grsu/models` in the
/// working directory (no home at all, as in some containers).
pub fn default_model_dir() -> PathBuf {
    let non_empty = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    if let Some(dir) = non_empty(MODEL_DIR_ENV) {
        return PathBuf::from(dir);
    }
    if let Some(cache) = non_empty("XDG_CACHE_HOME") {
        return PathBuf::from(cache).join("grsu").join("models");
    }
    if let Some(home) = non_empty("HOME") {
        return PathBuf::from(home)
            .join(".cache")
            .join("grsu")
            .join("models");
    }
    PathBuf::from(".grsu").join("models")
}

/// Where the default model file is (or will be, once fetched).
pub fn default_model_path() -> PathBuf {
    default_model_dir().join(DEFAULT_MODEL_FILE)
}
