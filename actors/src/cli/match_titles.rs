//! `grsu match`: titles on stdin mapped onto a catalog, one per line.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use clap::Args;
use grsu::catalog::{Catalog, CatalogFormat};
use grsu::matching::{TitleMatch, TitleMatcher};
use grsu::InputError;

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
    // Every line matched against the catalog (no memo): lines are independent, and the memo's
    // lock would be shared by every core.
    let matcher = TitleMatcher::new(&catalog, arguments.min_score).without_memo();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut input = std::io::stdin().lock();
    let threads = std::thread::available_parallelism().map_or(1, |count| count.get());
    let mut line_number = 0usize;
    loop {
        // A batch: the next line, and the lines already read behind it (a pipe gives thousands, a
        // terminal one), matched on all cores and written in order.
        let mut queries = Vec::new();
        while queries.len() < BATCH && (queries.is_empty() || !input.fill_buf()?.is_empty()) {
            let mut line = Vec::new();
            if input.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            line_number += 1;
            queries.push(query_of(line, line_number)?);
        }
        if queries.is_empty() {
            break;
        }
        let found = match_all(&matcher, &queries, threads);
        for (query, found) in queries.iter().zip(found) {
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
    }
    Ok(())
}

/// One line of stdin without its line ending; a line that is not UTF-8 is bad input (exit code
/// 2), named by its number and the offset of its first invalid byte.
fn query_of(mut line: Vec<u8>, line_number: usize) -> Result<String, CliFailure> {
    if line.last() == Some(&b'\n') {
        line.pop();
    }
    while line.last() == Some(&b'\r') {
        line.pop();
    }
    String::from_utf8(line).map_err(|error| {
        CliFailure::Input(InputError::Field {
            path: PathBuf::from("<stdin>"),
            line: line_number,
            field: "title".into(),
            problem: format!(
                "not UTF-8 (invalid byte at offset {})",
                error.utf8_error().valid_up_to()
            ),
        })
    })
}

/// The most lines matched at once.
const BATCH: usize = 4096;

/// Each title matched on its own, the batch split across `threads` threads when it is large.
fn match_all(matcher: &TitleMatcher, queries: &[String], threads: usize) -> Vec<TitleMatch> {
    let chunk = queries.len().div_ceil(threads.max(1)).max(64);
    if chunk >= queries.len() {
        return queries
            .iter()
            .map(|query| matcher.match_title(query))
            .collect();
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = queries
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|query| matcher.match_title(query))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().expect("a matching thread panicked"))
            .collect()
    })
}

/// Four decimals, as the fixtures and rapidfuzz's usual printing show scores.
fn round4(score: f64) -> f64 {
    (score * 1e4).round() / 1e4
}
