//! Rankings produced outside a run (CRSLab baselines, other systems) or exported from one:
//! JSON lines `{"sample": "<sample id>", "ranking": ["Title (year)", ...]}`.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::input_error::InputError;
use crate::json_record::for_each_line;

/// One sample's ranking, best first, as free-text titles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prediction {
    pub sample: String,
    pub ranking: Vec<String>,
}

/// Reads a predictions file. A sample predicted twice is an error naming both lines.
pub fn read_predictions(path: &Path) -> Result<Vec<Prediction>, InputError> {
    let text = InputError::read_text(path)?;
    parse_predictions(path, &text)
}

/// Reads predictions from their text, as [`read_predictions`] does from the file at `path` (which
/// errors name).
pub fn parse_predictions(path: &Path, text: &str) -> Result<Vec<Prediction>, InputError> {
    let mut predictions = Vec::new();
    let mut line_of: HashMap<String, usize> = HashMap::new();
    for_each_line(path, text, |record| {
        let sample = record.id("sample")?;
        let ranking = record.string_list("ranking")?;
        if let Some(first) = line_of.insert(sample.clone(), record.line()) {
            return Err(record.error(
                "sample",
                format!("sample `{sample}` predicted twice (first on line {first})"),
            ));
        }
        predictions.push(Prediction { sample, ranking });
        Ok(())
    })?;
    if predictions.is_empty() {
        return Err(InputError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(predictions)
}
