//! Where the paper's data files come from: the one table `grsu data fetch` reads.
//!
//! Every file the paper's protocol uses is one row: the dataset folder and file name it gets in the
//! target layout (the layout `config/paper/*.toml` read through `GRSU_DATA`), its public URL (a
//! `raw.githubusercontent.com` address at a pinned commit, so the bytes never change under the
//! checksum), its SHA-256 and size, and what the file is (samples in a dataset format, or a
//! catalog) so that `grsu data fetch` can print the `grsu data stats` line of each dataset. A file
//! that moves is one edit here; docs/datasets.md shows the same table to people.
//!
//! The checksums were computed from the repositories' blobs at those commits and agree with the
//! copies in the project's shared test data. One file, the INSPIRED catalog, is larger than what
//! the tools that computed them could bring in: its row has no checksum, only a lower bound on its
//! size (its length in characters), and the download is checked by parsing it as a `movie2info`
//! catalog instead.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::catalog::CatalogFormat;
use crate::data::DatasetFormat;

/// What a fetched file is, so that it can be loaded after download.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "format", rename_all = "lowercase")]
pub enum FileRole {
    /// Recommendation samples in this dataset format; stats are printed for each such file.
    Samples(DatasetFormat),
    /// The dataset's item catalog; samples files of the same dataset are loaded with it.
    Catalog(CatalogFormat),
}

/// One file to fetch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The dataset, also the folder in the target layout (`redial`, `inspired`).
    pub dataset: Cow<'static, str>,
    /// The file name in that folder.
    pub file: Cow<'static, str>,
    /// The public address it is downloaded from.
    pub url: Cow<'static, str>,
    /// Lower-case hex SHA-256 of the file; `None` when it is not known (then the format is checked).
    #[serde(default)]
    pub sha256: Option<Cow<'static, str>>,
    /// The exact size in bytes, when known.
    #[serde(default)]
    pub size: Option<u64>,
    /// A lower bound on the size, for a file whose exact size is not known.
    #[serde(default)]
    pub min_size: Option<u64>,
    /// What the file is.
    pub role: FileRole,
    /// Where it comes from, for people: repository, path and commit.
    #[serde(default)]
    pub origin: Cow<'static, str>,
}

impl Source {
    /// `dataset/file`: the file's path in the target layout and in a mirror, and its name in
    /// messages.
    pub fn relative_path(&self) -> String {
        format!("{}/{}", self.dataset, self.file)
    }
}

/// The built-in table: ReDial as iEvaLM-CRS processed it, INSPIRED as the GRSU release has it plus
/// the original INSPIRED test TSV.
pub const SOURCES: &[Source] = &[
    Source {
        dataset: Cow::Borrowed("redial"),
        file: Cow::Borrowed("test_data_processed.jsonl"),
        url: Cow::Borrowed("https://raw.githubusercontent.com/RUCAIBox/iEvaLM-CRS/162e2f442fb0799550af587dce0285a2d5ca897f/data/redial_eval/test_data_processed.jsonl"),
        sha256: Some(Cow::Borrowed(
            "8c8855aa872ade097691bb9feaeed6aaf4cfafa21575ebfcd8271b1e263f352b",
        )),
        size: Some(3_415_404),
        min_size: None,
        role: FileRole::Samples(DatasetFormat::Ievalm),
        origin: Cow::Borrowed(
            "RUCAIBox/iEvaLM-CRS data/redial_eval/test_data_processed.jsonl @ 162e2f4",
        ),
    },
    Source {
        dataset: Cow::Borrowed("redial"),
        file: Cow::Borrowed("valid_data_processed.jsonl"),
        url: Cow::Borrowed("https://raw.githubusercontent.com/RUCAIBox/iEvaLM-CRS/162e2f442fb0799550af587dce0285a2d5ca897f/data/redial_eval/valid_data_processed.jsonl"),
        sha256: Some(Cow::Borrowed(
            "20f0672f83c2be2f1f6c43867ba0ab1c2c483ca221a360ddc58679294afa472f",
        )),
        size: Some(2_779_311),
        min_size: None,
        role: FileRole::Samples(DatasetFormat::Ievalm),
        origin: Cow::Borrowed(
            "RUCAIBox/iEvaLM-CRS data/redial_eval/valid_data_processed.jsonl @ 162e2f4",
        ),
    },
    Source {
        dataset: Cow::Borrowed("redial"),
        file: Cow::Borrowed("id2info.json"),
        url: Cow::Borrowed("https://raw.githubusercontent.com/RUCAIBox/iEvaLM-CRS/162e2f442fb0799550af587dce0285a2d5ca897f/data/redial/id2info.json"),
        sha256: Some(Cow::Borrowed(
            "7bdfe9a9c7f1b4d59aa9a5aeba0029071fd5a7232b61c8257212a335ffe424f7",
        )),
        size: Some(2_745_351),
        min_size: None,
        role: FileRole::Catalog(CatalogFormat::Id2info),
        origin: Cow::Borrowed("RUCAIBox/iEvaLM-CRS data/redial/id2info.json @ 162e2f4"),
    },
    Source {
        dataset: Cow::Borrowed("inspired"),
        file: Cow::Borrowed("test_data_processed.jsonl"),
        url: Cow::Borrowed("https://raw.githubusercontent.com/RUCAIBox/GRSU/82ac06298485472b28d8ce3842c2a9f445b47b89/dataset/inspired/test_data_processed.jsonl"),
        sha256: Some(Cow::Borrowed(
            "303fb076fdae26aaec647dfba4dac864ecffd7664ffe6a4fc077cb2131669cc7",
        )),
        size: Some(273_306),
        min_size: None,
        role: FileRole::Samples(DatasetFormat::Grsu),
        origin: Cow::Borrowed("RUCAIBox/GRSU dataset/inspired/test_data_processed.jsonl @ 82ac062"),
    },
    Source {
        dataset: Cow::Borrowed("inspired"),
        file: Cow::Borrowed("test.tsv"),
        url: Cow::Borrowed("https://raw.githubusercontent.com/sweetpeach/Inspired/782d7c1845d11f75d2542809c7f2a51b63ef0304/data/dialog_data/test.tsv"),
        sha256: Some(Cow::Borrowed(
            "a10f63ff26045158460730d4829ffba74bee86fb744d9f48c1c1c511ef609993",
        )),
        size: Some(1_239_679),
        min_size: None,
        role: FileRole::Samples(DatasetFormat::InspiredTsv),
        origin: Cow::Borrowed("sweetpeach/Inspired data/dialog_data/test.tsv @ 782d7c1"),
    },
    Source {
        dataset: Cow::Borrowed("inspired"),
        file: Cow::Borrowed("movie2info.json"),
        url: Cow::Borrowed("https://raw.githubusercontent.com/RUCAIBox/GRSU/82ac06298485472b28d8ce3842c2a9f445b47b89/dataset/inspired/movie2info.json"),
        // 7,226,094 characters (some of them multi-byte), too large for the tools that computed
        // the other checksums: checked by size and by loading it as a movie2info catalog.
        sha256: None,
        size: None,
        min_size: Some(7_226_094),
        role: FileRole::Catalog(CatalogFormat::Movie2info),
        origin: Cow::Borrowed("RUCAIBox/GRSU dataset/inspired/movie2info.json @ 82ac062"),
    },
];
