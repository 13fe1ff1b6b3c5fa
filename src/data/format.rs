//! The names of the dataset formats, as the CLI and configs spell them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::input_error::InputError;

/// A dataset file layout (see the [`crate::data`] module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetFormat {
    Grsu,
    Ievalm,
    InspiredTsv,
}

impl DatasetFormat {
    pub const NAMES: &'static str = "grsu, ievalm, inspired-tsv";

    pub fn name(self) -> &'static str {
        match self {
            DatasetFormat::Grsu => "grsu",
            DatasetFormat::Ievalm => "ievalm",
            DatasetFormat::InspiredTsv => "inspired-tsv",
        }
    }
}

impl fmt::Display for DatasetFormat {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

impl FromStr for DatasetFormat {
    type Err = InputError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "grsu" => Ok(DatasetFormat::Grsu),
            "ievalm" => Ok(DatasetFormat::Ievalm),
            "inspired-tsv" => Ok(DatasetFormat::InspiredTsv),
            other => Err(InputError::UnknownName {
                what: "dataset format",
                name: other.to_string(),
                expected: Self::NAMES.to_string(),
            }),
        }
    }
}
