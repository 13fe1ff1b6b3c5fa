//! `report.html`: the whole report in one self-contained page, laid out like a paper's results
//! section: the title and the sweep (name, hash, seeds, baseline), the main table (methods × the
//! report's columns, mean ± std over seeds with the significance markers of `report.md`), the
//! figures with captions, the bootstrap intervals with the paired tests against the baseline
//! (difference, interval, d_z, t-test raw and Holm-adjusted, Wilcoxon), the cost of each method
//! (calls, tokens, invalid answers, wall time) and the sharing between cells, the cells' status, and the
//! diagnostics (`id="diagnostics"`) of the simulated user, the CRS and the search, with their
//! figures.
//!
//! The page needs nothing but itself: no script, no network, no file beside it. The style is
//! inline CSS and the figures are inline SVG, rendered by the same chart functions as
//! `figures/*.svg` (path-only SVG: their text is glyph outlines, so no font is needed and no
//! string of the store reaches the SVG as text). Every string that may come from a user or a
//! model (sweep, method, cell, variant and import names, error messages) goes through
//! [`escape_html`]. The numbers are those of `report.md`, formatted by the same functions.

use std::fmt::Write;

use super::diagnostics::figures::DiagnosticFigure;
use super::figures::ReportFigure;
use super::method_scores::MethodSource;
use super::status::CellStatus;
use super::summary::{format_invalid_answers, MethodSummary, INVALID_ANSWERS_NOTE};
use super::tables::{
    format_d_z, format_difference, format_t_test, format_wilcoxon, paired_tests_note, value_cell,
};
use super::Report;

/// `text` with the characters that mean something in HTML (`& < > " '`) written as entities,
/// safe in element content and in quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// An integer with thin spaces between groups of three digits (`2 050 788`), as papers print
/// large counts.
fn grouped(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push('\u{2009}');
        }
        out.push(digit);
    }
    out
}

const STYLE: &str = r#"
:root { --ink: #1d1d1f; --muted: #5f6368; --rule: #1d1d1f; --hair: #d9d9de; --accent: #0072b2;
  --band: #f6f6f8; }
* { box-sizing: border-box; }
html { background: #fff; }
body { margin: 0; color: var(--ink);
  font: 16px/1.55 "Charter", "Bitstream Charter", "Sitka Text", Cambria, Georgia, "DejaVu Serif", serif; }
main { max-width: 1200px; margin: 0 auto; padding: 40px 32px 64px; }
header { border-bottom: 1px solid var(--hair); margin-bottom: 28px; padding-bottom: 14px; }
h1 { font-size: 30px; line-height: 1.2; margin: 0 0 6px; font-weight: 600; letter-spacing: -0.01em; }
h2 { font-size: 20px; margin: 38px 0 10px; font-weight: 600; }
h2 .number { color: var(--muted); margin-right: 0.45em; font-weight: 500; }
p { margin: 8px 0; max-width: 60em; }
.meta { color: var(--muted); font-size: 15px; margin: 2px 0; }
.meta b { color: var(--ink); font-weight: 600; }
code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.86em;
  background: var(--band); padding: 1px 4px; border-radius: 3px; }
.table-wrap { overflow-x: auto; margin: 6px 0 6px; }
table { border-collapse: collapse; font-size: 13px; line-height: 1.35;
  font-family: "Source Sans 3", "Segoe UI", "Helvetica Neue", "DejaVu Sans", Arial, sans-serif;
  font-variant-numeric: tabular-nums; border-top: 2px solid var(--rule);
  border-bottom: 2px solid var(--rule); }
p.caption { font-size: 14.5px; margin: 14px 0 6px; max-width: none; }
p.caption b, figcaption b { font-weight: 600; }
th, td { padding: 3.5px 7px; text-align: right; white-space: nowrap; vertical-align: baseline; }
th:first-child, td:first-child { text-align: left; }
thead th { font-weight: 600; border-bottom: 1px solid var(--rule); }
tbody tr.variant-start td { border-top: 1px solid var(--hair); }
tbody tr:hover td { background: var(--band); }
td.method { font-weight: 500; }
td.best { font-weight: 700; }
td .p { display: block; font-size: 11.5px; color: var(--muted); line-height: 1.2; }
.sig { color: var(--accent); font-weight: 700; }
td .sig { display: inline-block; width: 0.75em; text-align: left; padding-left: 1px; }
.sig.worse { color: #b3261e; }
.tag { display: inline-block; font-size: 11px; line-height: 1.4; padding: 0 5px; margin-left: 6px;
  border: 1px solid var(--hair); border-radius: 8px; color: var(--muted); font-weight: 500;
  vertical-align: 1px; }
.status-done { color: #137333; }
.status-partial { color: #a05a00; }
.status-errors { color: #b3261e; font-weight: 600; }
.note { color: var(--muted); font-size: 14px; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(500px, 1fr));
  gap: 22px 32px; margin-top: 12px; }
figure { margin: 0; }
figure svg { display: block; width: 100%; height: auto; border: 1px solid var(--hair); }
figcaption { font-size: 14px; margin-top: 8px; line-height: 1.45; }
.errors { font-size: 14px; margin: 8px 0 0; padding-left: 20px; }
.errors li { margin: 2px 0; }
#diagnostics table { font-size: 12.5px; }
#diagnostics thead th { white-space: normal; vertical-align: bottom; max-width: 110px; }
#diagnostics .placeholder { border: 1px dashed #b9b9c0; border-radius: 6px; padding: 14px 18px;
  color: var(--muted); background: #fbfbfc; max-width: none; }
footer { margin-top: 48px; border-top: 1px solid var(--hair); padding-top: 10px; color: var(--muted);
  font-size: 13px; }
@media print { main { padding: 0; } .figures { display: block; } figure { break-inside: avoid; margin-bottom: 18px; } }
"#;

/// Numbers of sections and tables, in the order the page shows them.
#[derive(Default)]
struct Numbers {
    section: usize,
    table: usize,
}

impl Numbers {
    fn section(&mut self) -> usize {
        self.section += 1;
        self.section
    }

    fn table(&mut self) -> usize {
        self.table += 1;
        self.table
    }
}

/// A section's heading.
fn heading(page: &mut String, id: &str, number: usize, title: &str) {
    let _ = write!(
        page,
        "<section id=\"{id}\">\n<h2><span class=\"number\">{number}</span>{title}</h2>\n"
    );
}

/// A table's caption, above it and as wide as the text (not the table, which may scroll).
fn caption(page: &mut String, number: usize, text: &str) {
    let _ = writeln!(
        page,
        "<p class=\"caption\"><b>Table {number}.</b> {text}</p>"
    );
}

/// The page: every part of the report, escaped, with `figures` inline (and the diagnostics'
/// tables, without their figures: see [`html_with_diagnostics`]).
pub fn html(report: &Report, figures: &[ReportFigure]) -> String {
    html_with_diagnostics(report, figures, &[])
}

/// The page with the diagnostics' figures too (rendered by
/// [`super::diagnostics::figures::render`]), as `grsu report` writes it.
pub fn html_with_diagnostics(
    report: &Report,
    figures: &[ReportFigure],
    diagnostic_figures: &[DiagnosticFigure],
) -> String {
    let name = escape_html(&report.name);
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{name} · grsu report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
    );
    header(&mut page, report);
    let mut numbers = Numbers::default();
    results_table(&mut page, report, &mut numbers);
    if !figures.is_empty() {
        figures_section(&mut page, figures, numbers.section());
    }
    intervals_table(&mut page, report, &mut numbers);
    cost(&mut page, report, &mut numbers);
    cells(&mut page, &report.cells, &mut numbers);
    diagnostics_section(
        &mut page,
        report,
        figures.len(),
        diagnostic_figures,
        &mut numbers,
    );
    page.push_str(
        "<footer>Written by <code>grsu report</code> from the sweep's store alone: the numbers \
         of <code>report.md</code>, <code>report.csv</code> and <code>report.json</code>, the \
         figures of <code>figures/</code>. This page loads nothing from elsewhere.</footer>\n\
         </main>\n</body>\n</html>\n",
    );
    page
}

/// The diagnostics of the simulated user, the critiques, the CRS and the search
/// ([`super::diagnostics::render::html`]), their tables and figures numbered after the page's.
fn diagnostics_section(
    page: &mut String,
    report: &Report,
    figures_before: usize,
    diagnostic_figures: &[DiagnosticFigure],
    numbers: &mut Numbers,
) {
    heading(
        page,
        "diagnostics",
        numbers.section(),
        "Diagnostics of the simulated user, the CRS and the search",
    );
    let (body, tables) = super::diagnostics::render::html(
        &report.diagnostics,
        diagnostic_figures,
        numbers.table + 1,
        figures_before + 1,
    );
    numbers.table += tables;
    page.push_str(&body);
    page.push_str("</section>\n");
}

fn header(page: &mut String, report: &Report) {
    let seeds = report
        .seeds
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let imports = report
        .methods
        .iter()
        .filter(|m| matches!(m.source, MethodSource::Imported { .. }))
        .count();
    let _ = write!(
        page,
        "<header>\n<h1>{}</h1>\n<p class=\"meta\">Sweep <code>{}</code> · seeds <b>{}</b> · {} \
         cells in {} searches · {} methods{}</p>\n<p class=\"meta\">Baseline of the significance \
         tests: <b>{}</b></p>\n</header>\n",
        escape_html(&report.name),
        escape_html(&report.sweep_hash),
        escape_html(&seeds),
        report.sharing.cells,
        report.sharing.searches,
        report.methods.len(),
        if imports > 0 {
            format!(" ({imports} imported)")
        } else {
            String::new()
        },
        escape_html(report.baseline.as_deref().unwrap_or("-")),
    );
}

/// The method cell: its name, tagged when it is the baseline or an import.
fn method_cell(report: &Report, method: &MethodSummary) -> String {
    let mut cell = escape_html(&method.name);
    if report.baseline.as_deref() == Some(method.name.as_str()) {
        cell.push_str("<span class=\"tag\">baseline</span>");
    }
    if let MethodSource::Imported { source } = &method.source {
        let _ = write!(
            cell,
            "<span class=\"tag\" title=\"{}\">imported</span>",
            escape_html(source)
        );
    }
    cell
}

/// Per column, the best mean of the methods that have samples (shown bold).
fn best_means(report: &Report) -> Vec<Option<f64>> {
    (0..report.columns.len())
        .map(|column| {
            report
                .methods
                .iter()
                .filter(|m| m.samples > 0)
                .map(|m| m.columns[column].mean)
                .filter(|mean| mean.is_finite())
                .fold(None, |best: Option<f64>, mean| {
                    Some(best.map_or(mean, |best| best.max(mean)))
                })
        })
        .collect()
}

/// The rows of a per-method table, each with a rule above the first row of a variant.
fn method_rows(report: &Report) -> impl Iterator<Item = (&'static str, &MethodSummary)> {
    let group = |m: &MethodSummary| m.variant.clone().unwrap_or_else(|| m.name.clone());
    report
        .methods
        .iter()
        .enumerate()
        .map(move |(index, method)| {
            let starts = index > 0 && group(&report.methods[index - 1]) != group(method);
            (
                if starts {
                    " class=\"variant-start\""
                } else {
                    ""
                },
                method,
            )
        })
}

fn results_table(page: &mut String, report: &Report, numbers: &mut Numbers) {
    heading(page, "results", numbers.section(), "Results");
    let baseline = escape_html(report.baseline.as_deref().unwrap_or("-"));
    let number = numbers.table();
    caption(
        page,
        number,
        &format!(
            "Mean ± std over seeds (each seed averaged over its samples); the best mean of each \
             column in bold. <span class=\"sig\">*</span> significantly better, \
             <span class=\"sig worse\">†</span> significantly worse than the baseline \
             <i>{baseline}</i> (paired t-test per sample, Holm-adjusted p &lt; 0.05 over the \
             methods tested against the baseline in that column; Table {tests} has the tests).",
            tests = number + 1
        ),
    );
    page.push_str(
        "<div class=\"table-wrap\">\n<table id=\"results-table\">\n<thead>\n<tr><th>method</th>\
         <th>samples</th>",
    );
    for column in &report.columns {
        let _ = write!(page, "<th>{}</th>", escape_html(column));
    }
    page.push_str("</tr>\n</thead>\n<tbody>\n");
    let best = best_means(report);
    for (class, method) in method_rows(report) {
        let _ = write!(
            page,
            "<tr{class}><td class=\"method\">{}</td><td>{}</td>",
            method_cell(report, method),
            method.samples
        );
        for (column, summary) in method.columns.iter().enumerate() {
            let text = value_cell(method, column, method.seeds.len());
            let marker = summary.significance.marker();
            let value = text.strip_suffix(marker).unwrap_or(&text);
            let is_best = method.samples > 0 && best[column] == Some(summary.mean);
            let marker = match marker {
                // An empty marker keeps the values of a column aligned.
                "" => "<span class=\"sig\"></span>".to_string(),
                "†" => "<span class=\"sig worse\">†</span>".to_string(),
                other => format!("<span class=\"sig\">{}</span>", escape_html(other)),
            };
            let _ = write!(
                page,
                "<td{}>{}{marker}</td>",
                if is_best { " class=\"best\"" } else { "" },
                escape_html(value),
            );
        }
        page.push_str("</tr>\n");
    }
    page.push_str("</tbody>\n</table>\n</div>\n</section>\n");
}

/// One figure: grsu-plot's SVG (paths only, its text as glyph outlines) labelled for screen
/// readers, with its numbered caption; `file` names its anchor (`/` becomes `-`).
pub(super) fn figure_html(page: &mut String, label: &str, file: &str, svg: &str, caption: &str) {
    let svg = svg.trim_end().replacen(
        "<svg ",
        &format!(
            "<svg role=\"img\" aria-label=\"{}\" ",
            escape_html(&format!("{label}: {caption}"))
        ),
        1,
    );
    let _ = write!(
        page,
        "<figure id=\"figure-{}\">\n{svg}\n<figcaption><b>{label}.</b> {}</figcaption>\n\
         </figure>\n",
        escape_html(&file.replace('/', "-")),
        escape_html(caption)
    );
}

fn figures_section(page: &mut String, figures: &[ReportFigure], number: usize) {
    heading(page, "figures", number, "Figures");
    page.push_str("<div class=\"figures\">\n");
    for (index, figure) in figures.iter().enumerate() {
        figure_html(
            page,
            &format!("Figure {}", index + 1),
            figure.file,
            &figure.figure.svg,
            &figure.caption,
        );
    }
    page.push_str("</div>\n</section>\n");
}

fn intervals_table(page: &mut String, report: &Report, numbers: &mut Numbers) {
    heading(
        page,
        "intervals",
        numbers.section(),
        "Confidence intervals and significance",
    );
    caption(
        page,
        numbers.table(),
        &format!(
            "Bootstrap 95 % interval of the mean over samples (each sample averaged over seeds) \
             and, under it, Δ [95 % interval] · d<sub>z</sub>, then p<sub>t</sub> (Holm) · \
             p<sub>W</sub> against the baseline <i>{}</i>, {}",
            escape_html(report.baseline.as_deref().unwrap_or("-")),
            escape_html(&paired_tests_note(report))
        ),
    );
    page.push_str(
        "<div class=\"table-wrap\">\n<table id=\"intervals-table\">\n<thead>\n<tr>\
         <th>method</th>",
    );
    for column in &report.columns {
        let _ = write!(page, "<th>{}</th>", escape_html(column));
    }
    page.push_str("</tr>\n</thead>\n<tbody>\n");
    for (class, method) in method_rows(report) {
        let _ = write!(
            page,
            "<tr{class}><td class=\"method\">{}</td>",
            method_cell(report, method)
        );
        for summary in &method.columns {
            let interval = summary.interval.map_or("-".to_string(), |(low, high)| {
                format!("[{low:.3}, {high:.3}]")
            });
            // The paired tests: the difference and d_z, then the p-values.
            let paired = summary.difference.map_or(String::new(), |difference| {
                format!(
                    "<span class=\"p\">Δ {} · d<sub>z</sub> {}</span>\
                     <span class=\"p\">p<sub>t</sub> {} · p<sub>W</sub> {}</span>",
                    escape_html(&format_difference(&difference)),
                    escape_html(&format_d_z(difference.d_z)),
                    escape_html(&format_t_test(summary)),
                    escape_html(&format_wilcoxon(summary))
                )
            });
            let _ = write!(page, "<td>{}{paired}</td>", escape_html(&interval));
        }
        page.push_str("</tr>\n");
    }
    page.push_str("</tbody>\n</table>\n</div>\n</section>\n");
}

fn cost(page: &mut String, report: &Report, numbers: &mut Numbers) {
    heading(page, "cost", numbers.section(), "Cost and sharing");
    caption(
        page,
        numbers.table(),
        "What each method cost: model calls and tokens of its search (cells sharing a search \
         show the same), invalid answers per request of each model role, and sample-seconds \
         (the wall time of its samples added up).",
    );
    page.push_str(
        "<div class=\"table-wrap\">\n<table id=\"cost-table\">\n<thead>\n<tr><th>method</th>\
         <th>calls</th><th>prompt tokens</th><th>completion tokens</th>\
         <th>invalid / request</th><th>sample-seconds</th></tr>\n</thead>\n<tbody>\n",
    );
    for (class, method) in method_rows(report) {
        let _ = writeln!(
            page,
            "<tr{class}><td class=\"method\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{:.1}</td></tr>",
            method_cell(report, method),
            grouped(method.cost.calls),
            grouped(method.cost.prompt_tokens),
            grouped(method.cost.completion_tokens),
            escape_html(&format_invalid_answers(&method.cost.invalid_answers)),
            method.cost.wall_ms as f64 / 1000.0
        );
    }
    let _ = writeln!(
        page,
        "</tbody>\n</table>\n</div>\n<p class=\"note\">Invalid / request: {}.</p>",
        escape_html(INVALID_ANSWERS_NOTE)
    );
    let sharing = &report.sharing;
    let share = if sharing.calls_alone > 0 {
        format!(
            " ({:.1} % of them)",
            100.0 * sharing.calls_saved as f64 / sharing.calls_alone as f64
        )
    } else {
        String::new()
    };
    let _ = write!(
        page,
        "<p id=\"sharing\"><b>Sharing between cells.</b> {} cells ran as {} searches. This counts \
         sharing between cells only (requests one cell answered for another: through a shared \
         search, the response cache or a request in flight): <b>{}</b> model calls made, {} if \
         each cell had run alone with only its own per-sample cache; <b>{}</b> calls saved by \
         sharing between cells{share}.</p>\n</section>\n",
        sharing.cells,
        sharing.searches,
        grouped(sharing.calls_made),
        grouped(sharing.calls_alone),
        grouped(sharing.calls_saved),
    );
}

fn cells(page: &mut String, status: &[CellStatus], numbers: &mut Numbers) {
    heading(page, "cells", numbers.section(), "Cells");
    caption(
        page,
        numbers.table(),
        "The sweep's cells: finished units (seeds × samples) of their search, what the \
         search's finished samples cost, and the samples whose last attempt failed.",
    );
    page.push_str(
        "<div class=\"table-wrap\">\n<table id=\"cells-table\">\n<thead>\n<tr><th>cell</th>\
         <th>search</th><th>done</th><th>calls</th><th>cache hits</th><th>prompt tokens</th>\
         <th>completion tokens</th><th>invalid / request</th><th>errors</th></tr>\n</thead>\n\
         <tbody>\n",
    );
    for cell in status {
        let done_class = if cell.done >= cell.total {
            "status-done"
        } else {
            "status-partial"
        };
        let _ = writeln!(
            page,
            "<tr><td class=\"method\">{}</td><td><code>{}</code></td><td class=\"{done_class}\">\
             {}/{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td{}>{}</td></tr>",
            escape_html(&cell.cell),
            escape_html(&cell.search),
            cell.done,
            cell.total,
            grouped(cell.calls),
            grouped(cell.cache_hits),
            grouped(cell.prompt_tokens),
            grouped(cell.completion_tokens),
            escape_html(&format_invalid_answers(&cell.invalid_answers)),
            if cell.errors > 0 {
                " class=\"status-errors\""
            } else {
                ""
            },
            cell.errors
        );
    }
    page.push_str("</tbody>\n</table>\n</div>\n");
    let failing: Vec<&CellStatus> = status.iter().filter(|c| c.last_error.is_some()).collect();
    if !failing.is_empty() {
        page.push_str("<ul class=\"errors\">\n");
        for cell in failing {
            let _ = writeln!(
                page,
                "<li><b>{}</b>: last error: {}</li>",
                escape_html(&cell.cell),
                escape_html(cell.last_error.as_deref().unwrap_or_default())
            );
        }
        page.push_str("</ul>\n");
    }
    page.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::figures::render_figures;
    use crate::report::figures::tests::sweep_report;
    use crate::report::summary::Significance;

    #[test]
    fn escape_html_writes_markup_and_quotes_as_entities() {
        assert_eq!(
            escape_html("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            escape_html(r#"a "b" & 'c'"#),
            "a &quot;b&quot; &amp; &#39;c&#39;"
        );
        assert_eq!(
            escape_html("- critiquing · vote ± †"),
            "- critiquing · vote ± †"
        );
        assert_eq!(escape_html("&amp;"), "&amp;amp;");
        assert_eq!(grouped(2_050_788), "2\u{2009}050\u{2009}788");
        assert_eq!(grouped(692), "692");
        assert_eq!(grouped(0), "0");
    }

    /// The 36-method sweep with one import, hostile names and a failing cell.
    fn hostile_report() -> Report {
        let mut report = sweep_report(
            &["GRSU", "- critiquing", "- scoring"],
            &[1, 2, 3],
            &["reward-mean", "reward-sum", "vote", "best-list"],
            1,
        );
        report.name = r#"sweep "<b>bold</b>" & co"#.into();
        report.methods[5].name = "<script>alert(1)</script>".into();
        report.methods[5].columns[0].significance = Significance::Better;
        report.methods[6].columns[1].significance = Significance::Worse;
        let import = report.methods.len() - 1;
        report.methods[import].name = r#"crslab "kbrd" <img src=x onerror=alert(2)>"#.into();
        report.cells = vec![crate::report::status::CellStatus {
            cell: "<i>cell</i>".into(),
            search: "s0".into(),
            done: 3,
            total: 4,
            calls: 1234,
            cache_hits: 5,
            prompt_tokens: 100_000,
            completion_tokens: 1000,
            invalid_answers: Default::default(),
            errors: 1,
            last_error: Some("model said <script>x</script>".into()),
        }];
        report
    }

    /// The body of the table with `id`.
    fn table<'a>(page: &'a str, id: &str) -> &'a str {
        let start = page
            .find(&format!("<table id=\"{id}\">"))
            .unwrap_or_else(|| panic!("no table {id}"));
        let end = start + page[start..].find("</table>").expect("closed");
        &page[start..end]
    }

    #[test]
    fn the_page_is_self_contained_escaped_and_complete() {
        let report = hostile_report();
        let figures = render_figures(&report).expect("figures");
        assert_eq!(figures.len(), 3, "two depth figures and the ablation");
        let page = html(&report, &figures);
        if let Some(path) = std::env::var_os("GRSU_REPORT_HTML") {
            std::fs::write(path, &page).unwrap();
        }
        // Self-contained: nothing fetched, nothing run.
        let lower = page.to_lowercase();
        for needle in [
            "src=\"http",
            "href=\"http",
            "src='http",
            "href='http",
            "url(",
            "@import",
            "<link",
            "<script",
            "<iframe",
            "<img",
        ] {
            assert!(!lower.contains(needle), "the page holds `{needle}`");
        }
        // No tag has a source or a link (escaped text has no `<`, so every `<` opens a tag).
        for tag in lower.split('<').skip(1) {
            let tag = &tag[..tag.find('>').expect("a closed tag")];
            for attribute in [" src=", " href=", " srcset=", " action="] {
                assert!(!tag.contains(attribute), "<{tag}>");
            }
        }
        // Escaped: the hostile names are shown as text.
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("crslab &quot;kbrd&quot; &lt;img src=x onerror=alert(2)&gt;"));
        assert!(page.contains("<h1>sweep &quot;&lt;b&gt;bold&lt;/b&gt;&quot; &amp; co</h1>"));
        assert!(page.contains("&lt;i&gt;cell&lt;/i&gt;"));
        assert!(page.contains("model said &lt;script&gt;x&lt;/script&gt;"));
        // An SVG per figure, inline.
        assert_eq!(page.matches("<svg").count(), figures.len());
        for figure in &figures {
            assert!(page.contains(&format!("<figure id=\"figure-{}\">", figure.file)));
        }
        // A row per method in each per-method table, in the table's order.
        for id in ["results-table", "intervals-table", "cost-table"] {
            let body = table(&page, id);
            assert_eq!(
                body.matches("<tr").count(),
                report.methods.len() + 1,
                "{id}: a header row and a row per method"
            );
        }
        let results = table(&page, "results-table");
        let first = results.find("GRSU, depth=1 · reward-mean").unwrap();
        let last = results.find("- scoring, depth=3 · best-list").unwrap();
        assert!(first < last);
        assert_eq!(table(&page, "cells-table").matches("<tr").count(), 2);
        // The markers of report.md, after the same numbers.
        let markdown = crate::report::tables::markdown(&report);
        let better = value_cell(&report.methods[5], 0, 2);
        assert!(better.ends_with('*') && markdown.contains(&better));
        assert!(page.contains(&format!(
            "{}<span class=\"sig\">*</span>",
            better.trim_end_matches('*')
        )));
        let worse = value_cell(&report.methods[6], 1, 2);
        assert!(worse.ends_with('†') && markdown.contains(&worse));
        assert!(page.contains(&format!(
            "{}<span class=\"sig worse\">†</span>",
            worse.trim_end_matches('†')
        )));
        // The place the diagnostics issue fills.
        assert!(page.contains("<section id=\"diagnostics\">"));
        assert!(page.contains("No cell has a finished sample yet: nothing to diagnose."));
        // The baseline and the sharing numbers.
        assert!(page.contains("<span class=\"tag\">baseline</span>"));
        assert!(page.contains("<p id=\"sharing\">"));
        // Deterministic.
        assert_eq!(page, html(&report, &figures));
    }

    #[test]
    fn a_report_without_figures_still_has_its_tables() {
        let mut report = sweep_report(&["GRSU"], &[1], &["reward-mean"], 0);
        report.methods[0].samples = 0;
        let figures = render_figures(&report).expect("figures");
        assert!(figures.is_empty());
        let page = html(&report, &figures);
        assert!(!page.contains("<svg"));
        assert!(!page.contains("id=\"figures\""));
        assert_eq!(table(&page, "results-table").matches("<tr").count(), 2);
        assert!(page.contains("<section id=\"diagnostics\">"));
    }

    #[test]
    fn the_intervals_table_shows_the_paired_tests_and_the_captions_say_holm() {
        use crate::statistics::{PairedDifference, WilcoxonMethod, WilcoxonTest};
        let mut report = hostile_report();
        let column = &mut report.methods[5].columns[0];
        column.p_value = Some(0.012);
        column.p_holm = Some(0.4);
        column.holm_family = 35;
        column.wilcoxon = Some(WilcoxonTest {
            statistic: 3.0,
            p_value: 0.0004,
            nonzero: 12,
            zeros: 1,
            ties: false,
            method: WilcoxonMethod::Normal,
            z: Some(-3.5),
        });
        column.difference = Some(PairedDifference {
            mean: -0.0125,
            interval: Some((-0.03, 0.004)),
            d_z: Some(-0.5),
            pairs: 13,
        });
        let page = html(&report, &[]);
        let results = &page[page.find("id=\"results\"").unwrap()..];
        assert!(results.contains(
            "(paired t-test per sample, Holm-adjusted p &lt; 0.05 over the methods tested \
             against the baseline in that column; Table 2 has the tests)"
        ));
        let intervals = &page[page.find("id=\"intervals\"").unwrap()..];
        assert!(intervals.contains(&format!(
            "p<sub>W</sub> against the baseline <i>{}</i>, on the samples both have",
            escape_html(report.baseline.as_deref().unwrap())
        )));
        assert!(intervals.contains(
            "Holm-adjusted over the 35 methods tested against the baseline in the column"
        ));
        assert!(intervals.contains("Cohen&#39;s d_z"), "escaped");
        let body = table(&page, "intervals-table");
        assert!(
            body.contains(
                "<span class=\"p\">Δ -0.013 [-0.030, +0.004] · d<sub>z</sub> -0.50</span>\
             <span class=\"p\">p<sub>t</sub> 0.012 (0.400) · p<sub>W</sub> 4.00e-4</span>"
            ),
            "{body}"
        );
        // The hostile method's name stays escaped in this table too.
        assert!(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert_eq!(
            body.matches("p<sub>t</sub>").count(),
            1,
            "only the tested column"
        );
    }
}
