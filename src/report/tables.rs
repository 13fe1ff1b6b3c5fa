//! Markdown and CSV renderings of a [`Report`]: the main table in the paper's layout (one row per
//! method, mean ± std over seeds with significance markers, then cost columns and the invalid
//! answers per request of each model role), the bootstrap intervals and p-values, the paired
//! tests against the baseline (difference with its interval, d_z, t-test raw and Holm-adjusted,
//! Wilcoxon), the sharing line and the status of every cell.
//!
//! The CSV writes every number as a plain decimal (`0.066000`, never `6.6e-2`): spreadsheets and
//! simple parsers read it as it is, and the columns of one file look alike.

use std::collections::BTreeSet;

use super::status::status_table;
use super::summary::{format_invalid_answers, ColumnSummary, MethodSummary, INVALID_ANSWERS_NOTE};
use super::Report;
use crate::statistics::PairedDifference;

/// A table cell of the main table: `mean ± std` (mean alone with one seed) and the significance
/// marker; `report.html` shows the same.
pub(super) fn value_cell(method: &MethodSummary, column: usize, seeds: usize) -> String {
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
         significantly better than the baseline `{}` (paired t-test per sample, Holm-adjusted p \
         < 0.05 over the methods tested against the baseline in that column), `†`: \
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
    text.push_str(
        " calls | prompt tokens | completion tokens | invalid / request | sample-seconds |\n|---|---|",
    );
    text.push_str(&"---|".repeat(report.columns.len() + 5));
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
            " {} | {} | {} | {} | {:.1} |\n",
            method.cost.calls,
            method.cost.prompt_tokens,
            method.cost.completion_tokens,
            format_invalid_answers(&method.cost.invalid_answers),
            method.cost.wall_ms as f64 / 1000.0
        ));
    }
    text.push_str(&format!("\nInvalid / request: {INVALID_ANSWERS_NOTE}.\n"));
    text.push_str(
        "\n## Bootstrap 95 % intervals and raw t-test p-values against the baseline\n\n| method |",
    );
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
    text.push_str(&paired_tests(report));
    let sharing = &report.sharing;
    text.push_str(&format!(
        "\n## Sharing between cells\n\n{} cells ran as {} searches. This counts sharing between \
         cells only (requests one cell answered for another: through a shared search, the response \
         cache or a request in flight): {} model calls made, {} if each cell had run alone with \
         only its own per-sample cache; {} calls saved by sharing between cells.\n",
        sharing.cells,
        sharing.searches,
        sharing.calls_made,
        sharing.calls_alone,
        sharing.calls_saved
    ));
    text.push_str("\n## Cells\n\n");
    text.push_str(&status_table(&report.cells));
    text.push('\n');
    text.push_str(&diagnostics_section(report));
    text
}

/// The diagnostics of the simulated user, the CRS and the search (`## Diagnostics`), with the
/// files of their figures; empty when no cell has a record.
fn diagnostics_section(report: &Report) -> String {
    let figures = super::diagnostics::figures::files(&report.diagnostics);
    super::diagnostics::render::markdown(&report.diagnostics, &figures)
}

/// What the paired tests' cells hold, to follow "Against the baseline X" (`report.md` and
/// `report.html` print it).
pub(super) fn paired_tests_note(report: &Report) -> String {
    let mut families: Vec<usize> = report
        .methods
        .iter()
        .flat_map(|method| method.columns.iter().map(|column| column.holm_family))
        .filter(|family| *family > 0)
        .collect();
    families.sort_unstable();
    families.dedup();
    let family = match families.as_slice() {
        [1] => "the one method tested against the baseline".to_string(),
        [only] => format!("the {only} methods tested against the baseline in the column"),
        _ => "the methods tested against the baseline in the column".to_string(),
    };
    format!(
        "on the samples both have (each averaged over seeds). Δ: the \
         mean over samples of (method − baseline), with its paired bootstrap 95 % interval (2,000 \
         resamples of the samples, fixed seed); d_z: Cohen's d_z, Δ over the standard deviation \
         of the per-sample differences; p_t: the paired t-test, raw and (in parentheses) \
         Holm-adjusted over {family}, which the markers use; p_W: the two-sided Wilcoxon \
         signed-rank test, zero differences dropped (SciPy's defaults: exact up to 50 pairs \
         without ties or zero differences, exact over every sign flip up to 13 pairs with them, \
         otherwise the normal approximation with tie correction and no continuity correction). \
         A dash: not computed (d_z when every difference is equal, p_t with fewer than two \
         pairs)."
    )
}

/// `+0.012 [-0.004, +0.030]`: a paired difference and its interval.
pub(super) fn format_difference(difference: &PairedDifference) -> String {
    let interval = difference.interval.map_or(String::new(), |(low, high)| {
        format!(" [{low:+.3}, {high:+.3}]")
    });
    format!("{:+.3}{interval}", difference.mean)
}

/// Cohen's d_z with two decimals, `-` when undefined.
pub(super) fn format_d_z(d_z: Option<f64>) -> String {
    d_z.map_or("-".into(), |d_z| format!("{d_z:.2}"))
}

/// `0.034 (0.170)`: the t-test's raw and Holm-adjusted p, `-` without a t-test.
pub(super) fn format_t_test(summary: &ColumnSummary) -> String {
    match (summary.p_value, summary.p_holm) {
        (Some(p), Some(holm)) => format!("{} ({})", format_p(p), format_p(holm)),
        (Some(p), None) => format_p(p),
        _ => "-".into(),
    }
}

/// The Wilcoxon test's p, `-` without one.
pub(super) fn format_wilcoxon(summary: &ColumnSummary) -> String {
    summary
        .wilcoxon
        .map_or("-".into(), |test| format_p(test.p_value))
}

/// Methods with paired statistics against the baseline (every one but the baseline, when there
/// is one and it shares samples with them).
pub(super) fn paired_methods(report: &Report) -> impl Iterator<Item = &MethodSummary> {
    report
        .methods
        .iter()
        .filter(|method| method.columns.iter().any(|c| c.difference.is_some()))
}

/// The Markdown section "Paired tests against the baseline".
fn paired_tests(report: &Report) -> String {
    let mut text = String::from("\n## Paired tests against the baseline\n\n");
    if paired_methods(report).next().is_none() {
        text.push_str("No method shares samples with a baseline.\n");
        return text;
    }
    text.push_str(&format!(
        "Against the baseline `{}`, {}",
        report.baseline.as_deref().unwrap_or("-"),
        paired_tests_note(report)
    ));
    text.push_str(" Each cell: Δ [95 % interval]; d_z; p_t (Holm); p_W.\n\n| method |");
    for column in &report.columns {
        text.push_str(&format!(" {column} |"));
    }
    text.push_str("\n|---|");
    text.push_str(&"---|".repeat(report.columns.len()));
    text.push('\n');
    for method in paired_methods(report) {
        text.push_str(&format!("| {} |", method.name));
        for summary in &method.columns {
            match &summary.difference {
                Some(difference) => text.push_str(&format!(
                    " {}; d_z {}; p_t {}; p_W {} |",
                    format_difference(difference),
                    format_d_z(difference.d_z),
                    format_t_test(summary),
                    format_wilcoxon(summary)
                )),
                None => text.push_str(" - |"),
            }
        }
        text.push('\n');
    }
    text
}

/// A p-value with three significant digits, in scientific notation below 0.001.
pub(super) fn format_p(p: f64) -> String {
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

/// A plain decimal with six places (`1.000000`, `0.066000`); empty when not finite.
fn decimal(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.6}")
    } else {
        String::new()
    }
}

/// A p-value as a plain decimal with at least six places and six significant digits, so that a
/// small one keeps its digits (`0.000000123457`, not `1.234570e-7`); empty when not finite.
fn p_decimal(p: f64) -> String {
    if !p.is_finite() {
        return String::new();
    }
    let places = if p == 0.0 {
        6
    } else {
        (5 - p.abs().log10().floor() as i64).clamp(6, 400) as usize
    };
    format!("{p:.places$}")
}

/// The report as CSV: one row per method; per column its mean, std, interval bounds, the t-test's
/// raw p-value, the significance (from the Holm-adjusted p), the Holm-adjusted p, the Wilcoxon
/// test's statistic and p-value, the mean paired difference to the baseline with its interval
/// bounds, and Cohen's d_z (empty where not computed);
/// the cost; per model role its invalid answers, requests and invalid answers per request (empty
/// for a method without that role, e.g. an import).
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
            "p_holm",
            "wilcoxon_statistic",
            "wilcoxon_p",
            "difference",
            "difference_ci_low",
            "difference_ci_high",
            "d_z",
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
    let roles: BTreeSet<&str> = report
        .methods
        .iter()
        .flat_map(|method| method.cost.invalid_answers.keys())
        .map(String::as_str)
        .collect();
    for role in &roles {
        for part in ["invalid_answers", "requests", "invalid_per_request"] {
            header.push(format!("{role} {part}"));
        }
    }
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
                    (decimal(low), decimal(high))
                });
            row.extend([
                decimal(summary.mean),
                decimal(summary.std),
                low,
                high,
                summary.p_value.map_or(String::new(), p_decimal),
                serde_json::to_value(summary.significance)
                    .ok()
                    .and_then(|value| value.as_str().map(String::from))
                    .unwrap_or_default(),
                summary.p_holm.map_or(String::new(), p_decimal),
            ]);
            let wilcoxon = summary.wilcoxon;
            row.push(wilcoxon.map_or(String::new(), |test| decimal(test.statistic)));
            row.push(wilcoxon.map_or(String::new(), |test| p_decimal(test.p_value)));
            let difference = summary.difference;
            let (low, high) = difference
                .and_then(|difference| difference.interval)
                .map_or((String::new(), String::new()), |(low, high)| {
                    (decimal(low), decimal(high))
                });
            row.extend([
                difference.map_or(String::new(), |difference| decimal(difference.mean)),
                low,
                high,
                difference
                    .and_then(|difference| difference.d_z)
                    .map_or(String::new(), decimal),
            ]);
        }
        row.extend([
            method.cost.calls.to_string(),
            method.cost.cache_hits.to_string(),
            method.cost.prompt_tokens.to_string(),
            method.cost.completion_tokens.to_string(),
            method.cost.wall_ms.to_string(),
        ]);
        for role in &roles {
            match method.cost.invalid_answers.get(*role) {
                Some(invalid) => row.extend([
                    invalid.invalid_answers.to_string(),
                    invalid.requests.to_string(),
                    decimal(invalid.per_request),
                ]),
                None => row.extend([String::new(), String::new(), String::new()]),
            }
        }
        text.push_str(&row.join(","));
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::report::method_scores::MethodSource;
    use crate::report::status::CellStatus;
    use crate::report::summary::{
        invalid_answers_per_role, ColumnSummary, CostSummary, Significance,
    };
    use crate::report::Sharing;
    use crate::statistics::{WilcoxonMethod, WilcoxonTest};
    use crate::store::CallCounts;

    /// A column; with a p-value, tested against the baseline in a Holm family of two (p_holm =
    /// min(1, 2p)), with a Wilcoxon test of the same p and a paired difference of −0.25.
    fn column(label: &str, mean: f64, p_value: Option<f64>) -> ColumnSummary {
        ColumnSummary {
            column: label.into(),
            mean,
            std: 0.0,
            per_seed: BTreeMap::from([(0, mean)]),
            interval: Some((mean * 0.5, 1.0)),
            p_value,
            t: p_value.map(|_| 1.0),
            paired_samples: 3,
            significance: Significance::NotSignificant,
            p_holm: p_value.map(|p| (2.0 * p).min(1.0)),
            holm_family: if p_value.is_some() { 2 } else { 0 },
            wilcoxon: p_value.map(|p| WilcoxonTest {
                statistic: 1.5,
                p_value: p,
                nonzero: 3,
                zeros: 0,
                ties: true,
                method: WilcoxonMethod::Permutation,
                z: None,
            }),
            difference: p_value.map(|_| PairedDifference {
                mean: -0.25,
                interval: Some((-0.5, 0.125)),
                d_z: Some(-0.866),
                pairs: 3,
            }),
        }
    }

    fn counts(calls: u64, cache_hits: u64, invalid_answers: u64) -> CallCounts {
        CallCounts {
            calls,
            cache_hits,
            invalid_answers,
            prompt_tokens: 100 * calls,
            completion_tokens: 10 * calls,
            ..CallCounts::default()
        }
    }

    /// A report of a cell with two output strategies (the demo's 13 invalid CRS answers in 5
    /// calls) and an import, by hand.
    fn report() -> Report {
        let calls = BTreeMap::from([
            ("crs".to_string(), counts(5, 0, 13)),
            ("user".to_string(), counts(30, 10, 4)),
        ]);
        let cell = |strategy: &str, p_value: Option<f64>| MethodSummary {
            name: format!("GRSU · {strategy}"),
            source: MethodSource::Cell {
                cell: "GRSU".into(),
                strategy: strategy.into(),
                search: "s0".into(),
                depth: Some(2),
            },
            seeds: vec![0],
            samples: 3,
            columns: vec![
                column("Recall@10", 1.0, p_value),
                column("NDCG@10", 0.066, p_value),
            ],
            cost: CostSummary::of(&calls, 12_345),
            variant: Some("GRSU".into()),
        };
        Report {
            name: "demo".into(),
            sweep_hash: "hash".into(),
            seeds: vec![0],
            baseline: Some("GRSU · reward-mean".into()),
            columns: vec!["Recall@10".into(), "NDCG@10".into()],
            methods: vec![
                cell("reward-mean", None),
                cell("best-list", Some(1.0)),
                MethodSummary {
                    name: "crslab".into(),
                    source: MethodSource::Imported {
                        source: "preds.jsonl".into(),
                    },
                    seeds: vec![0],
                    samples: 3,
                    columns: vec![
                        column("Recall@10", 0.0, Some(1.234_567e-9)),
                        column("NDCG@10", 1e-7, Some(0.0)),
                    ],
                    cost: CostSummary::default(),
                    variant: None,
                },
            ],
            depth_curves: Vec::new(),
            sharing: Sharing {
                cells: 1,
                searches: 1,
                calls_alone: 50,
                calls_made: 35,
                calls_saved: 15,
            },
            cells: vec![CellStatus {
                cell: "GRSU".into(),
                search: "s0".into(),
                done: 3,
                total: 3,
                calls: 35,
                cache_hits: 10,
                prompt_tokens: 3500,
                completion_tokens: 350,
                invalid_answers: invalid_answers_per_role(&calls),
                errors: 0,
                last_error: None,
            }],
            diagnostics: Vec::new(),
        }
    }

    #[test]
    fn invalid_answers_are_per_request_of_each_role() {
        let invalid = &report().methods[0].cost.invalid_answers;
        assert_eq!(invalid["crs"].invalid_answers, 13);
        assert_eq!(invalid["crs"].requests, 5);
        assert!((invalid["crs"].per_request - 2.6).abs() < 1e-12);
        // Requests are model calls and cache hits: 4 invalid answers in 30 + 10.
        assert_eq!(invalid["user"].requests, 40);
        assert_eq!(format_invalid_answers(invalid), "crs 2.60, user 0.10");
        assert_eq!(format_invalid_answers(&BTreeMap::new()), "-");
    }

    #[test]
    fn the_markdown_table_shows_invalid_answers_and_says_what_they_are() {
        let text = markdown(&report());
        println!("{text}");
        assert!(text.contains(
            "| method | samples | Recall@10 | NDCG@10 | calls | prompt tokens | completion tokens \
             | invalid / request | sample-seconds |\n|---|---|---|---|---|---|---|---|---|\n"
        ));
        assert!(
            text.contains("| GRSU · reward-mean | 3 | 1.000 | 0.066 | 35 | 3500 | 350 | crs 2.60, user 0.10 | 12.3 |"),
            "{text}"
        );
        assert!(text.contains("| crslab | 3 | 0.000 | 0.000 | 0 | 0 | 0 | - | 0.0 |"));
        assert!(text.contains(
            "Invalid / request: invalid answers per request of each model role (requests: its \
             model calls and cache hits): answers that could not be parsed (CRS lists), were cut \
             (critiques) or had no Yes/No (scores), each asked again."
        ));
        assert!(text.contains("sharing between cells only (requests one cell answered for another"));
        assert!(text.contains("15 calls saved by sharing between cells."));
        // The cells' table has the same figure.
        assert!(text.contains("| invalid / request | errors |"));
        assert!(
            text.contains("| 3500 | 350 | crs 2.60, user 0.10 | 0 |"),
            "{text}"
        );
    }

    #[test]
    fn the_markdown_says_the_markers_are_holm_adjusted_and_shows_the_paired_tests() {
        let text = markdown(&report());
        assert!(
            text.contains(
                "(paired t-test per sample, Holm-adjusted p < 0.05 over the methods tested \
                 against the baseline in that column)"
            ),
            "{text}"
        );
        let section = &text[text
            .find(
                "## Paired tests against the baseline\n\nAgainst the baseline \
                 `GRSU · reward-mean`, on the samples",
            )
            .expect("the section")..];
        assert!(section.contains(
            "Holm-adjusted over the 2 methods tested against the baseline in the column"
        ));
        assert!(section.contains(
            "Each cell: Δ [95 % interval]; d_z; p_t (Holm); p_W.\n\n\
             | method | Recall@10 | NDCG@10 |\n|---|---|---|\n"
        ));
        // The baseline has no row; the others show raw and adjusted p.
        assert!(!section.contains("| GRSU · reward-mean |"));
        assert!(section.contains(
            "| GRSU · best-list | -0.250 [-0.500, +0.125]; d_z -0.87; p_t 1.000 (1.000); p_W 1.000 \
             | -0.250 [-0.500, +0.125]; d_z -0.87; p_t 1.000 (1.000); p_W 1.000 |\n"
        ), "{section}");
        assert!(section.contains(
            "| crslab | -0.250 [-0.500, +0.125]; d_z -0.87; p_t 1.23e-9 (2.47e-9); p_W 1.23e-9 |"
        ), "{section}");
        // Without a baseline to pair with, a sentence.
        let mut alone = report();
        for method in &mut alone.methods {
            for column in &mut method.columns {
                column.difference = None;
            }
        }
        assert!(markdown(&alone).contains(
            "## Paired tests against the baseline\n\nNo method shares samples with a baseline.\n"
        ));
    }

    #[test]
    fn the_csv_writes_plain_decimals_and_invalid_answers_per_role() {
        let text = csv(&report());
        println!("{text}");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        let header: Vec<&str> = lines[0].split(',').collect();
        let rows: Vec<Vec<&str>> = lines[1..]
            .iter()
            .map(|line| line.split(',').collect())
            .collect();
        let field = |row: usize, name: &str| {
            let index = header.iter().position(|h| *h == name).unwrap();
            rows[row][index]
        };
        assert_eq!(field(0, "Recall@10 mean"), "1.000000");
        assert_eq!(field(0, "NDCG@10 mean"), "0.066000");
        assert_eq!(field(0, "Recall@10 p_value"), "");
        assert_eq!(field(1, "Recall@10 p_value"), "1.000000");
        // Small values keep six significant digits, still without an exponent.
        assert_eq!(field(2, "Recall@10 p_value"), "0.00000000123457");
        assert_eq!(field(2, "NDCG@10 p_value"), "0.000000");
        assert_eq!(field(2, "NDCG@10 mean"), "0.000000");
        // The Holm-adjusted p beside the raw one, the Wilcoxon test and the paired difference.
        assert_eq!(field(1, "Recall@10 p_holm"), "1.000000");
        assert_eq!(field(2, "Recall@10 p_holm"), "0.00000000246913");
        assert_eq!(field(0, "Recall@10 p_holm"), "");
        assert_eq!(field(2, "Recall@10 wilcoxon_p"), "0.00000000123457");
        assert_eq!(field(2, "Recall@10 wilcoxon_statistic"), "1.500000");
        assert_eq!(field(1, "NDCG@10 difference"), "-0.250000");
        assert_eq!(field(1, "NDCG@10 difference_ci_low"), "-0.500000");
        assert_eq!(field(1, "NDCG@10 difference_ci_high"), "0.125000");
        assert_eq!(field(1, "NDCG@10 d_z"), "-0.866000");
        assert_eq!(
            field(0, "NDCG@10 d_z"),
            "",
            "the baseline has no difference"
        );
        assert_eq!(field(0, "crs invalid_answers"), "13");
        assert_eq!(field(0, "crs requests"), "5");
        assert_eq!(field(0, "crs invalid_per_request"), "2.600000");
        assert_eq!(field(0, "user invalid_per_request"), "0.100000");
        assert_eq!(
            field(2, "crs invalid_per_request"),
            "",
            "an import has no calls"
        );
        for row in &rows {
            assert_eq!(row.len(), header.len());
            for (name, value) in header.iter().zip(row) {
                if *name == "method" || name.ends_with("significance") || value.is_empty() {
                    continue;
                }
                let digits = value.strip_prefix('-').unwrap_or(value);
                assert!(
                    digits.chars().all(|c| c.is_ascii_digit() || c == '.'),
                    "{name}: `{value}` is not a plain decimal"
                );
            }
        }
    }
}
