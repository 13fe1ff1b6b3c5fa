//! The arguments that name a dataset, shared by `data stats` and `evaluate`.

use std::path::PathBuf;

use clap::Args;
use grsu::catalog::{Catalog, CatalogFormat};
use grsu::data::{Dataset, DatasetFormat, LoadOptions};
use grsu::InputError;

#[derive(Debug, Args)]
pub struct DatasetArguments {
    /// Dataset format: grsu (conversation JSONL), ievalm (per-sample JSONL), inspired-tsv.
    #[arg(long)]
    pub format: DatasetFormat,
    /// Dataset file.
    #[arg(long)]
    pub path: PathBuf,
    /// Drop samples one of whose labels was mentioned earlier in the conversation.
    #[arg(long)]
    pub only_new: bool,
    /// Catalog format: auto, movie2info (GRSU), id2info (iEvaLM).
    #[arg(long, default_value = "auto")]
    pub catalog_format: CatalogFormat,
}

impl DatasetArguments {
    /// Loads the catalog (if any) and the dataset with labels restricted to it.
    pub fn load(
        &self,
        catalog_path: Option<&PathBuf>,
    ) -> Result<(Option<Catalog>, Dataset), InputError> {
        let catalog = catalog_path
            .map(|path| Catalog::load(path, self.catalog_format))
            .transpose()?;
        let dataset = Dataset::load(
            &self.path,
            self.format,
            LoadOptions {
                catalog: catalog.as_ref(),
                only_new: self.only_new,
            },
        )?;
        Ok((catalog, dataset))
    }
}
