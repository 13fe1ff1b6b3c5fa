//! `grsu match`: titles on stdin mapped onto a catalog, one per line.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use clap::Args;
use grsu::catalog::{Catalog, CatalogFormat};
use grsu::matching::TitleMatcher;

use super::CliFailure;

#[derive(Debug, Args)]
pub struct MatchArguments {
    /// Catalog file.
    #[arg(long)]
    catalog: PathBuf,
    /// Catalog format: auto, movie2info (GRSU), id2info (iEvaLM).
    #[arg(long, default_value = "auto")]
    catalog_format: CatalogFormat,
    /// Titles whose best score (0-100) is below this stay unmatched (the reference matches all).
    #[arg(long)]
    min_score: Option<f64>,
    /// Print JSON lines `{"query", "match", "score"}` instead of tab-separated lines.
    #[arg(long)]
    json: bool,
}

pub fn run(arguments: MatchArguments) -> Result<(), CliFailure> {
    let catalog = Catalog::load(&arguments.catalog, arguments.catalog_format)?;
    let matcher = TitleMatcher::new(&catalog, arguments.min_score);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for line in std::io::stdin().lock().lines() {
        let query = line?;
        let query = query.trim_end_matches('\r');
        let found = matcher.match_title(query);
        let title = found
            .item
            .map_or("", |item| catalog.item(item).title.as_str());
        let score = round4(found.score);
        if arguments.json {
            let value = serde_json::json!({"query": query, "match": found.item.map(|_| title), "score": score});
            writeln!(out, "{value}")?;
        } else {
            writeln!(out, "{query}\t{title}\t{score}")?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Four decimals, as the fixtures and rapidfuzz's usual printing show scores.
fn round4(score: f64) -> f64 {
    (score * 1e4).round() / 1e4
}
