//! `grsu evaluate`: Recall/NDCG/MRR of a predictions file on a dataset.

use std::path::PathBuf;

use clap::Args;
use grsu::evaluation::evaluate;
use grsu::matching::TitleMatcher;
use grsu::metrics::{Averaging, CUTOFFS};
use grsu::predictions::read_predictions;

use super::dataset_arguments::DatasetArguments;
use super::CliFailure;

#[derive(Debug, Args)]
pub struct EvaluateArguments {
    #[command(flatten)]
    dataset: DatasetArguments,
    /// Catalog file: labels are restricted to it and predicted titles are matched onto it.
    #[arg(long)]
    catalog: PathBuf,
    /// Predictions, JSON lines `{"sample": "<id>", "ranking": ["Title (year)", ...]}`.
    #[arg(long)]
    predictions: PathBuf,
    /// Predicted titles whose best match score (0-100) is below this count as misses.
    #[arg(long)]
    min_score: Option<f64>,
    /// Average over all labels instead of over labels of a sample, then samples.
    #[arg(long)]
    per_label: bool,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(arguments: EvaluateArguments) -> Result<(), CliFailure> {
    let (catalog, dataset) = arguments.dataset.load(Some(&arguments.catalog))?;
    let catalog = catalog.expect("a catalog path was given");
    let predictions = read_predictions(&arguments.predictions)?;
    let matcher = TitleMatcher::new(&catalog, arguments.min_score);
    let averaging = if arguments.per_label {
        Averaging::PerLabel
    } else {
        Averaging::PerSample
    };
    let evaluation = evaluate(
        &dataset.samples,
        &catalog,
        &matcher,
        &predictions,
        averaging,
    );
    if arguments.json {
        println!("{}", serde_json::to_string_pretty(&evaluation)?);
        return Ok(());
    }
    println!(
        "samples {} (labels {}), predicted {}, missing {} (counted as misses), unknown ids {}, unmatched titles {}",
        evaluation.samples, evaluation.labels, evaluation.predicted, evaluation.missing, evaluation.unknown, evaluation.unmatched_titles
    );
    println!(
        "{:<8} {}",
        "metric",
        CUTOFFS.map(|k| format!("{:>8}", format!("@{k}"))).join("")
    );
    for (name, values) in [
        ("recall", evaluation.metrics.recall),
        ("ndcg", evaluation.metrics.ndcg),
        ("mrr", evaluation.metrics.mrr),
    ] {
        println!(
            "{name:<8} {}",
            values.map(|value| format!("{value:>8.4}")).join("")
        );
    }
    Ok(())
}
