//! The dataset readers (GRSU JSON lines, iEvaLM JSON lines, INSPIRED TSV and its merging of
//! consecutive utterances), the two catalog readers and the predictions reader.

use std::collections::HashSet;
use std::path::Path;
use std::sync::OnceLock;

use grsu::catalog::{Catalog, CatalogFormat};
use grsu::data::{Dataset, DatasetFormat, LoadOptions};
use grsu::predictions::parse_predictions;
use grsu::InputError;

use super::check_input_error;
use crate::rng::fnv1a;
use crate::seeds::{self, SeedFiles};
use crate::{Structure, Target, Verdict};

/// A small catalog for the readers' catalog restriction: the demo films.
fn demo_catalog() -> Option<&'static Catalog> {
    static CATALOG: OnceLock<Option<Catalog>> = OnceLock::new();
    CATALOG
        .get_or_init(|| {
            let path = SeedFiles::locate().repository_file("data/demo/movie2info.json");
            Catalog::load(&path, CatalogFormat::Auto).ok()
        })
        .as_ref()
}

/// Reads an input as a dataset, as [`Dataset::load`] reads a file.
fn load_dataset(path: &Path, input: &[u8], format: DatasetFormat) -> Result<Dataset, Verdict> {
    let text = match InputError::decode_text(path, input.to_vec()) {
        Ok(text) => text,
        Err(error) => {
            return Err(check_input_error(
                &error,
                path,
                &String::from_utf8_lossy(input),
            ))
        }
    };
    // Whether to restrict labels to a catalog and to drop samples whose labels were mentioned
    // before: drawn from the input, so a replay takes the same path.
    let hash = fnv1a(input);
    let options = LoadOptions {
        catalog: if hash & 1 == 0 { demo_catalog() } else { None },
        only_new: hash & 2 == 0,
    };
    Dataset::parse(path, &text, format, options)
        .map_err(|error| check_input_error(&error, path, &text))
}

/// Checks what every reader promises of its samples.
fn check_samples(dataset: &Dataset) -> Verdict {
    let mut ids = HashSet::new();
    for sample in &dataset.samples {
        if !ids.insert(sample.id.as_str()) {
            return Verdict::BadError(format!("sample id `{}` given twice", sample.id));
        }
        if sample.id != format!("{}:{}", sample.conversation, sample.turn) {
            return Verdict::BadError(format!(
                "sample id `{}` is not conversation:turn",
                sample.id
            ));
        }
        if sample.history.is_empty() {
            return Verdict::BadError(format!("sample `{}` has no history", sample.id));
        }
        let labels: HashSet<&String> = sample.labels.iter().collect();
        if sample.labels.is_empty() || labels.len() != sample.labels.len() {
            return Verdict::BadError(format!(
                "sample `{}` has empty or repeated labels",
                sample.id
            ));
        }
    }
    if dataset.stats.samples != dataset.samples.len() {
        return Verdict::BadError("the statistics count other samples".into());
    }
    Verdict::Accepted
}

/// One of the three dataset readers.
pub struct DatasetTarget {
    name: &'static str,
    format: DatasetFormat,
    path: &'static str,
}

impl DatasetTarget {
    pub fn grsu() -> Self {
        DatasetTarget {
            name: "dataset-grsu",
            format: DatasetFormat::Grsu,
            path: "fuzz-input/test_data_processed.jsonl",
        }
    }

    pub fn ievalm() -> Self {
        DatasetTarget {
            name: "dataset-ievalm",
            format: DatasetFormat::Ievalm,
            path: "fuzz-input/test_data_processed.jsonl",
        }
    }

    pub fn inspired_tsv() -> Self {
        DatasetTarget {
            name: "dataset-inspired-tsv",
            format: DatasetFormat::InspiredTsv,
            path: "fuzz-input/test.tsv",
        }
    }
}

impl Target for DatasetTarget {
    fn name(&self) -> &'static str {
        self.name
    }

    fn structure(&self) -> Structure {
        match self.format {
            DatasetFormat::InspiredTsv => Structure::Tsv,
            _ => Structure::JsonLines,
        }
    }

    fn seeds(&self, files: &SeedFiles) -> Vec<Vec<u8>> {
        let seeds = match self.format {
            DatasetFormat::Grsu => vec![
                seeds::lines(&files.data_file("inspired/test_data_processed.jsonl"), 0, 2, 6000),
                seeds::lines(&files.data_file("inspired/test_data_processed.jsonl"), 50, 1, 6000),
                seeds::lines(&files.repository_file("data/demo/conversations.jsonl"), 0, 3, 4000),
                Some(
                    br#"{"conversationId": 7, "messages": [{"turn_id": 0, "role": "user", "text": "a heist film?", "item": []}, {"turn_id": 1, "role": "system", "text": "Heat", "item": ["Heat (1995)"]}]}"#
                        .to_vec(),
                ),
            ],
            DatasetFormat::Ievalm => vec![
                seeds::lines(&files.data_file("redial/test_data_processed.jsonl"), 0, 6, 5000),
                seeds::lines(&files.data_file("redial/valid_data_processed.jsonl"), 100, 4, 4000),
                Some(
                    br#"{"dialog_id": "1", "turn_id": 1, "context": ["", "hi", "a heist film?"], "entity": [], "rec": ["Heat (1995)"], "resp": "Heat"}"#
                        .to_vec(),
                ),
            ],
            DatasetFormat::InspiredTsv => vec![
                seeds::tsv_rows(&files.data_file("inspired/test.tsv"), 0, 20, 6000),
                seeds::tsv_rows(&files.data_file("inspired/test.tsv"), 1500, 15, 5000),
            ],
        };
        seeds.into_iter().flatten().collect()
    }

    fn run(&self, input: &[u8]) -> Verdict {
        match load_dataset(Path::new(self.path), input, self.format) {
            Ok(dataset) => check_samples(&dataset),
            Err(verdict) => verdict,
        }
    }
}

/// The INSPIRED reader's merging of consecutive utterances of one speaker into turns, on the
/// four columns it reads: merged turns are numbered from 0 within their dialogue, texts are
/// cleaned, and a sample's history holds only turns before it.
pub struct TsvMerge;

const MERGE_HEADER: &str = "dialog_id\tspeaker\ttext\tmovies";

impl Target for TsvMerge {
    fn name(&self) -> &'static str {
        "tsv-merge"
    }

    fn structure(&self) -> Structure {
        Structure::Tsv
    }

    fn seeds(&self, files: &SeedFiles) -> Vec<Vec<u8>> {
        // The required columns of real rows, in the reader's order and in another.
        let Ok(text) = std::fs::read_to_string(files.data_file("inspired/test.tsv")) else {
            return vec![format!(
                "{MERGE_HEADER}\nd1\tSEEKER\thi\t\nd1\tSEEKER\ta heist film?\t\nd1\tRECOMMENDER\tHeat\tHeat (1995)\n"
            )
            .into_bytes()];
        };
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
        let column = |name: &str| header.iter().position(|column| *column == name);
        let (Some(dialog), Some(speaker), Some(said), Some(movies)) = (
            column("dialog_id"),
            column("speaker"),
            column("text"),
            column("movies"),
        ) else {
            return Vec::new();
        };
        let rows: Vec<Vec<&str>> = lines.map(|line| line.split('\t').collect()).collect();
        let mut seeds = Vec::new();
        for (start, order) in [
            (0, [dialog, speaker, said, movies]),
            (700, [movies, said, dialog, speaker]),
        ] {
            let mut seed = order
                .iter()
                .map(|&index| header[index])
                .collect::<Vec<_>>()
                .join("\t");
            seed.push('\n');
            for row in rows.iter().skip(start).take(30) {
                let fields: Vec<&str> = order
                    .iter()
                    .map(|&index| row.get(index).copied().unwrap_or(""))
                    .collect();
                seed.push_str(&fields.join("\t"));
                seed.push('\n');
            }
            seeds.push(seed.into_bytes());
        }
        seeds
    }

    fn run(&self, input: &[u8]) -> Verdict {
        let path = Path::new("fuzz-input/merge.tsv");
        let dataset = match load_dataset(path, input, DatasetFormat::InspiredTsv) {
            Ok(dataset) => dataset,
            Err(verdict) => return verdict,
        };
        if let Verdict::BadError(message) = check_samples(&dataset) {
            return Verdict::BadError(message);
        }
        for sample in &dataset.samples {
            let Ok(turn) = sample.turn.parse::<usize>() else {
                return Verdict::BadError(format!("merged turn `{}` is not a number", sample.turn));
            };
            if sample.history.len() > turn {
                return Verdict::BadError(format!(
                    "sample `{}` has {} history turns before merged turn {turn}",
                    sample.id,
                    sample.history.len()
                ));
            }
            for said in &sample.history {
                let text = &said.text;
                if text.is_empty()
                    || text.trim() != text
                    || text.contains("  ")
                    || text.contains(['\t', '\n'])
                    || text.contains("QUOTATION_MARK")
                {
                    return Verdict::BadError(format!("merged text not cleaned: {text:?}"));
                }
            }
        }
        Verdict::Accepted
    }
}

/// One of the two catalog readers (with its format given, or detected).
pub struct CatalogTarget {
    name: &'static str,
    format: CatalogFormat,
}

impl CatalogTarget {
    pub fn movie2info() -> Self {
        CatalogTarget {
            name: "catalog-movie2info",
            format: CatalogFormat::Movie2info,
        }
    }

    pub fn id2info() -> Self {
        CatalogTarget {
            name: "catalog-id2info",
            format: CatalogFormat::Id2info,
        }
    }
}

impl Target for CatalogTarget {
    fn name(&self) -> &'static str {
        self.name
    }

    fn structure(&self) -> Structure {
        Structure::Json
    }

    fn seeds(&self, files: &SeedFiles) -> Vec<Vec<u8>> {
        let seeds = match self.format {
            CatalogFormat::Id2info => vec![
                seeds::object_entries(&files.data_file("redial/id2info.json"), 0, 6),
                seeds::object_entries(&files.data_file("redial/id2info.json"), 3000, 4),
            ],
            _ => vec![
                seeds::object_entries(&files.repository_file("data/demo/movie2info.json"), 0, 8),
                seeds::object_entries(&files.repository_file("data/demo/movie2info.json"), 150, 5),
            ],
        };
        seeds.into_iter().flatten().collect()
    }

    fn run(&self, input: &[u8]) -> Verdict {
        let path = Path::new("fuzz-input/catalog.json");
        let text = match InputError::decode_text(path, input.to_vec()) {
            Ok(text) => text,
            Err(error) => return check_input_error(&error, path, &String::from_utf8_lossy(input)),
        };
        let format = if fnv1a(input) & 1 == 0 {
            self.format
        } else {
            CatalogFormat::Auto
        };
        match Catalog::parse(path, &text, format) {
            Ok(catalog) => {
                if catalog.is_empty() {
                    return Verdict::BadError("an empty catalog was accepted".into());
                }
                for (index, item) in catalog.items().iter().enumerate() {
                    if item.title.is_empty() || item.title.trim() != item.title {
                        return Verdict::BadError(format!("title {:?} not trimmed", item.title));
                    }
                    if catalog.index_of(&item.title) != Some(index) {
                        return Verdict::BadError(format!(
                            "title {:?} indexed elsewhere",
                            item.title
                        ));
                    }
                }
                Verdict::Accepted
            }
            Err(error) => check_input_error(&error, path, &text),
        }
    }
}

/// The predictions reader.
pub struct Predictions;

impl Target for Predictions {
    fn name(&self) -> &'static str {
        "predictions"
    }

    fn structure(&self) -> Structure {
        Structure::JsonLines
    }

    fn seeds(&self, files: &SeedFiles) -> Vec<Vec<u8>> {
        // Rankings of real samples over real catalog titles.
        let ids: Vec<String> =
            std::fs::read_to_string(files.data_file("redial/test_data_processed.jsonl"))
                .unwrap_or_default()
                .lines()
                .take(8)
                .filter_map(|line| {
                    let value: serde_json::Value = serde_json::from_str(line).ok()?;
                    Some(format!(
                        "{}:{}",
                        value.get("dialog_id")?.as_str()?,
                        value.get("turn_id")?
                    ))
                })
                .collect();
        let titles: Vec<String> =
            seeds::object_entries(&files.data_file("redial/id2info.json"), 0, 12)
                .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
                .and_then(|value| {
                    value.as_object().map(|entries| {
                        entries
                            .values()
                            .filter_map(|info| info.get("name")?.as_str().map(str::to_string))
                            .collect()
                    })
                })
                .unwrap_or_else(|| vec!["Heat (1995)".into(), "Ronin (1998)".into()]);
        let mut seed = String::new();
        for (index, id) in ids.iter().enumerate() {
            let ranking: Vec<&String> = titles.iter().cycle().skip(index).take(10).collect();
            seed.push_str(&serde_json::json!({"sample": id, "ranking": ranking}).to_string());
            seed.push('\n');
        }
        let mut seeds = vec![br#"{"sample": 5, "ranking": ["Heat (1995)"]}"#.to_vec()];
        if !seed.is_empty() {
            seeds.push(seed.into_bytes());
        }
        seeds
    }

    fn run(&self, input: &[u8]) -> Verdict {
        let path = Path::new("fuzz-input/predictions.jsonl");
        let text = match InputError::decode_text(path, input.to_vec()) {
            Ok(text) => text,
            Err(error) => return check_input_error(&error, path, &String::from_utf8_lossy(input)),
        };
        match parse_predictions(path, &text) {
            Ok(predictions) => {
                let samples: HashSet<&String> = predictions.iter().map(|p| &p.sample).collect();
                if samples.len() != predictions.len() {
                    return Verdict::BadError("a sample predicted twice was accepted".into());
                }
                Verdict::Accepted
            }
            Err(error) => check_input_error(&error, path, &text),
        }
    }
}
