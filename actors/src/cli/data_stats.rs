//! `grsu data stats`: what a dataset file holds under a catalog and the only-new protocol.

use std::path::PathBuf;

use clap::Args;

use super::dataset_arguments::DatasetArguments;
use super::CliFailure;

#[derive(Debug, Args)]
pub struct DataStatsArguments {
    #[command(flatten)]
    dataset: DatasetArguments,
    /// Catalog file; labels outside it are dropped and counted.
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(arguments: DataStatsArguments) -> Result<(), CliFailure> {
    let (catalog, dataset) = arguments.dataset.load(arguments.catalog.as_ref())?;
    let stats = &dataset.stats;
    if arguments.json {
        let mut value = serde_json::to_value(stats)?;
        value["path"] = serde_json::json!(arguments.dataset.path);
        value["format"] = serde_json::json!(arguments.dataset.format.name());
        value["catalog_items"] = serde_json::json!(catalog.as_ref().map(|catalog| catalog.len()));
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    let rows: Vec<(&str, String)> = vec![
        ("path", arguments.dataset.path.display().to_string()),
        ("format", arguments.dataset.format.to_string()),
        (
            "catalog items",
            catalog
                .as_ref()
                .map_or("(no catalog)".into(), |catalog| catalog.len().to_string()),
        ),
        ("only new", stats.only_new.to_string()),
        ("conversations in file", stats.conversations.to_string()),
        (
            "conversations with samples",
            stats.conversations_with_samples.to_string(),
        ),
        ("samples", stats.samples.to_string()),
        ("labels", stats.labels.to_string()),
        (
            "recommendation turns",
            stats.recommendation_turns.to_string(),
        ),
        ("dropped (label not new)", stats.dropped_not_new.to_string()),
        ("label mentions", stats.label_mentions.to_string()),
        (
            "labels not in catalog",
            stats
                .labels_not_in_catalog
                .map_or("(no catalog)".into(), |count| count.to_string()),
        ),
        (
            "mean history turns",
            format!("{:.2}", stats.mean_history_turns),
        ),
    ];
    let width = rows.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    for (name, value) in rows {
        println!("{name:<width$}  {value}");
    }
    Ok(())
}
