//! Markdown and CSV renderings of a [`Report`]: the main table in the paper's layout (one row per
//! method, mean ± std over seeds with significance markers, then cost columns), the bootstrap
//! intervals and p-values, the sharing line and the status of every cell.

use super::status::status_table;
use super::summary::MethodSummary;
use super::Report;

fn value_cell(method: &MethodSummary, column: usize, seeds: usize) -> String {
    let summary = &method.columns[column];
    let marker = summary.significance.marker();
    if seeds > 1 {
        format!("{:.3} ± {:.3}{marker}", summary.mean, summary.std)
    } else {
        format!("{:.3}{marker}", summary.mean)
    }
}

/// The report as Markdown.
pub fn markdown(report: &Report) -> String {
    let mut text = format!(
        "# {}\n\nSeeds {:?}; mean ± std over seeds (each seed averaged over its samples). `*`: \
         significantly better than the baseline `{}` (paired t-test per sample, p < 0.05), `†`: \
         significantly worse. Cost: model calls and tokens of the method's search (cells sharing a \
         search show the same), sample-seconds = the wall time of its samples added up.\n\n",
        report.name,
        report.seeds,
        report.baseline.as_deref().unwrap_or("-")
    );
    text.push_str("| method | samples |");
    for column in &report.columns {
        text.push_str(&format!(" {column} |"));
    }
    text.push_str(" calls | prompt tokens | completion tokens | sample-seconds |\n|---|---|");
    text.push_str(&"---|".repeat(report.columns.len() + 4));
    text.push('\n');
    for method in &report.methods {
        text.push_str(&format!("| {} | {} |", method.name, method.samples));
        for column in 0..report.columns.len() {
            text.push_str(&format!(
                " {} |",
                value_cell(method, column, method.seeds.len())
            ));
        }
        text.push_str(&format!(
            " {} | {} | {} | {:.1} |\n",
            method.cost.calls,
            method.cost.prompt_tokens,
            method.cost.completion_tokens,
            method.cost.wall_ms as f64 / 1000.0
        ));
    }
    text.push_str("\n## Bootstrap 95 % intervals and p-values against the baseline\n\n| method |");
    for column in &report.columns {
        text.push_str(&format!(" {column} |"));
    }
    text.push_str("\n|---|");
    text.push_str(&"---|".repeat(report.columns.len()));
    text.push('\n');
    for method in &report.methods {
        text.push_str(&format!("| {} |", method.name));
        for summary in &method.columns {
            let interval = summary.interval.map_or("-".to_string(), |(low, high)| {
                format!("[{low:.3}, {high:.3}]")
            });
            let p = summary
                .p_value
                .map_or(String::new(), |p| format!(" p={}", format_p(p)));
            text.push_str(&format!(" {interval}{p} |"));
        }
        text.push('\n');
    }
    let sharing = &report.sharing;
    text.push_str(&format!(
        "\n## Sharing\n\n{} cells ran as {} searches: {} model calls made, {} if each cell had run \
         alone with only its own per-sample cache: {} calls saved.\n",
        sharing.cells,
        sharing.searches,
        sharing.calls_made,
        sharing.calls_alone,
        sharing.calls_saved
    ));
    text.push_str("\n## Cells\n\n");
    text.push_str(&status_table(&report.cells));
    text.push('\n');
    text
}

/// A p-value with three significant digits, in scientific notation below 0.001.
fn format_p(p: f64) -> String {
    if p < 1e-3 {
        format!("{p:.2e}")
    } else {
        format!("{p:.3}")
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// The report as CSV: one row per method; per column its mean, std, interval bounds and p-value.
pub fn csv(report: &Report) -> String {
    let mut header = vec!["method".to_string(), "samples".into(), "seeds".into()];
    for column in &report.columns {
        for part in [
            "mean",
            "std",
            "ci_low",
            "ci_high",
            "p_value",
            "significance",
        ] {
            header.push(format!("{column} {part}"));
        }
    }
    header.extend(
        [
            "calls",
            "cache_hits",
            "prompt_tokens",
            "completion_tokens",
            "wall_ms",
        ]
        .map(String::from),
    );
    let mut text = header
        .iter()
        .map(|field| csv_field(field))
        .collect::<Vec<_>>()
        .join(",");
    text.push('\n');
    for method in &report.methods {
        let mut row = vec![
            csv_field(&method.name),
            method.samples.to_string(),
            method.seeds.len().to_string(),
        ];
        for summary in &method.columns {
            let (low, high) = summary
                .interval
                .map_or((String::new(), String::new()), |(low, high)| {
                    (format!("{low:.6}"), format!("{high:.6}"))
                });
            row.extend([
                format!("{:.6}", summary.mean),
                format!("{:.6}", summary.std),
                low,
                high,
                summary
                    .p_value
                    .map_or(String::new(), |p| format!("{p:.6e}")),
                serde_json::to_value(summary.significance)
                    .ok()
                    .and_then(|value| value.as_str().map(String::from))
                    .unwrap_or_default(),
            ]);
        }
        row.extend([
            method.cost.calls.to_string(),
            method.cost.cache_hits.to_string(),
            method.cost.prompt_tokens.to_string(),
            method.cost.completion_tokens.to_string(),
            method.cost.wall_ms.to_string(),
        ]);
        text.push_str(&row.join(","));
        text.push('\n');
    }
    text
}
