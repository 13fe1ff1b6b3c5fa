//! `grsu import --predictions preds.jsonl --name NAME --into <output>`: external rankings (e.g. a
//! CRSLab baseline) mapped onto the sweep's catalog and stored, so that `grsu report` scores and
//! tests them like the cells.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use grsu::catalog::Catalog;
use grsu::config::RunConfig;
use grsu::matching::TitleMatcher;
use grsu::predictions::read_predictions;
use grsu::prompts::match_list;
use grsu::report::method_scores::sample_labels;
use grsu::store::ImportedRankings;

use super::output_store::open_sweep;
use super::CliFailure;

#[derive(Debug, Args)]
pub struct ImportArguments {
    /// JSON lines `{"sample": "<conv>:<turn>", "ranking": ["title", ...]}`.
    #[arg(long)]
    predictions: PathBuf,
    /// The method's name in reports (an import of the same name is replaced).
    #[arg(long)]
    name: String,
    /// The sweep's output folder.
    #[arg(long)]
    into: PathBuf,
}

pub fn run(arguments: ImportArguments) -> Result<(), CliFailure> {
    let (store, manifest) = open_sweep(&arguments.into)?;
    let other = |error: grsu::store::StoreError| CliFailure::Other(error.into());
    if manifest
        .cells
        .iter()
        .any(|cell| cell.name == arguments.name)
    {
        return Err(CliFailure::Config(format!(
            "`{}` is the name of a cell of this sweep; choose another --name",
            arguments.name
        )));
    }
    // Titles are matched as the sweep's CRS answers were: its catalog, its minimum match score.
    let config: RunConfig = serde_json::from_value(manifest.cells[0].config.clone())?;
    let catalog = Catalog::load(&config.data.catalog, config.data.catalog_format)?;
    let matcher = TitleMatcher::new(&catalog, config.crs.min_match_score);
    let predictions = read_predictions(&arguments.predictions)?;
    let known = sample_labels(&manifest);
    let mut rankings = BTreeMap::new();
    let (mut unknown_samples, mut unmatched_titles) = (0, 0);
    for prediction in predictions {
        if !known.contains_key(prediction.sample.as_str()) {
            unknown_samples += 1;
            continue;
        }
        let matched = match_list(&prediction.ranking, &matcher, &catalog);
        unmatched_titles += prediction.ranking.len().saturating_sub(matched.len());
        rankings.insert(prediction.sample, matched);
    }
    let missing = known.len() - rankings.len();
    let imported = ImportedRankings {
        name: arguments.name.clone(),
        source: arguments.predictions.display().to_string(),
        rankings,
        unmatched_titles,
        unknown_samples,
    };
    store.put_import(&imported).map_err(other)?;
    println!(
        "imported `{}`: {} samples ranked, {} of the sweep's samples without a ranking (they count \
         as misses), {} predictions for samples the sweep does not have (ignored), {} titles \
         dropped (no catalog match, or repeated in a ranking)",
        imported.name,
        imported.rankings.len(),
        missing,
        unknown_samples,
        unmatched_titles
    );
    Ok(())
}
