//! `grsu view --bundle DIR`: the explorer as static files that work from `file://` (to share a
//! sweep, or as supplementary material): the page and, for each document the server would
//! answer, a `data/<name>.js` file that hands it to the page (`grsuData(name, document)`), since
//! a page opened from disk may load scripts but not fetch files.

use std::path::Path;

use anyhow::Context;
use serde_json::Value;

use super::assets::{index_html, APP_CSS, APP_JS};
use super::source::{open_store, read_answers, ViewSource};

/// What a bundle holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BundleCounts {
    pub samples: usize,
    pub files: usize,
}

/// Writes the bundle of the sweep in `output` into `folder`.
pub fn write_bundle(output: &Path, folder: &Path) -> anyhow::Result<BundleCounts> {
    let source = ViewSource::open(output)?;
    let snapshot = source.snapshot().ok_or_else(|| {
        anyhow::anyhow!(
            "cannot read the sweep in {}: {}",
            output.display(),
            source.sweep_document()["note"]
                .as_str()
                .unwrap_or("is a run holding its store?")
        )
    })?;
    let data = folder.join("data");
    std::fs::create_dir_all(&data).with_context(|| format!("cannot create {}", data.display()))?;
    let write = |path: &Path, text: &str| {
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
    };
    let mut files = 0;
    write(&folder.join("index.html"), &index_html(true))?;
    write(&folder.join("app.js"), APP_JS)?;
    write(&folder.join("app.css"), APP_CSS)?;
    files += 3;
    let mut sweep = source.sweep_document();
    // A bundle is a finished picture: no run, no progress to follow.
    sweep["running"] = Value::Bool(false);
    sweep["note"] = Value::Null;
    write(
        &data.join("sweep.js"),
        &data_script("sweep", &sweep.to_string()),
    )?;
    write(
        &data.join("samples.js"),
        &data_script("samples", &snapshot.samples_json),
    )?;
    files += 2;
    let store = open_store(output)
        .with_context(|| format!("cannot read the raw answers in {}", output.display()))?;
    let samples = snapshot.explorer.samples.rows.len();
    for index in 0..samples {
        let page = snapshot
            .explorer
            .sample_page(index)
            .expect("an index of the table");
        let name = format!("sample/{index}");
        write(
            &data.join(format!("sample-{index}.js")),
            &data_script(&name, &serde_json::to_string(&page)?),
        )?;
        let mut answers = read_answers(&store, &snapshot.explorer.request_keys_of(index))
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        let (prompts, notes) = source.replay_prompts(&store, &snapshot.explorer, index);
        answers["prompts"] = prompts;
        answers["prompt_notes"] = notes;
        write(
            &data.join(format!("answers-{index}.js")),
            &data_script(&format!("answers/{index}"), &answers.to_string()),
        )?;
        files += 2;
        if (index + 1) % 100 == 0 && index + 1 < samples {
            eprintln!("bundled {} of {samples} samples", index + 1);
        }
    }
    Ok(BundleCounts { samples, files })
}

/// A data file: a call handing `json` to the page. JSON is a JavaScript expression, and the file
/// is loaded as a script of its own (never inlined in HTML), so nothing in it can end the script.
fn data_script(name: &str, json: &str) -> String {
    format!(
        "grsuData({}, {json});\n",
        serde_json::to_string(name).expect("a name serialises")
    )
}
