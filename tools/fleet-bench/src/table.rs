//! The tables the benchmarks print: Markdown for people, JSON (the same rows, typed) for tools.

use serde::Serialize;

/// One table: a title, column headers, rows of cells, and notes printed under it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Table {
    pub title: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub notes: Vec<String>,
}

impl Table {
    pub fn new(title: impl Into<String>, headers: &[&str]) -> Self {
        Table {
            title: title.into(),
            headers: headers.iter().map(|header| header.to_string()).collect(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Adds a row; it must have one cell per header.
    pub fn row(&mut self, cells: Vec<String>) {
        assert_eq!(
            cells.len(),
            self.headers.len(),
            "a row of `{}` has {} cells for {} headers",
            self.title,
            cells.len(),
            self.headers.len()
        );
        self.rows.push(cells);
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// The table as Markdown: `### title`, the pipe table (numbers right-aligned), then the notes
    /// as a list. A `|` inside a cell is escaped.
    pub fn markdown(&self) -> String {
        let escape = |cell: &str| cell.replace('|', "\\|");
        let numeric: Vec<bool> = (0..self.headers.len())
            .map(|column| {
                !self.rows.is_empty()
                    && self
                        .rows
                        .iter()
                        .all(|row| looks_numeric(&row[column]) || row[column].is_empty())
            })
            .collect();
        let mut text = format!("### {}\n\n", self.title);
        let line = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
        text += &line(self.headers.iter().map(|h| escape(h)).collect());
        text += &line(
            numeric
                .iter()
                .map(|&right| if right { "---:" } else { "---" }.to_string())
                .collect(),
        );
        for row in &self.rows {
            text += &line(row.iter().map(|cell| escape(cell)).collect());
        }
        if !self.notes.is_empty() {
            text.push('\n');
            for note in &self.notes {
                text += &format!("- {note}\n");
            }
        }
        text
    }
}

/// Whether a cell reads as a number (with an optional unit or marker after it: `12.5 %`, `0.31*`,
/// `1.2 ± 0.1`, `×0.45`).
fn looks_numeric(cell: &str) -> bool {
    let cell = cell.trim().trim_start_matches('×');
    let first = cell.split_whitespace().next().unwrap_or("");
    let first = first.trim_end_matches(['*', '†', '%']);
    !first.is_empty() && first.replace(',', "").parse::<f64>().is_ok()
}

/// A number with `digits` decimals.
pub fn fixed(value: f64, digits: usize) -> String {
    if value.is_finite() {
        format!("{value:.digits$}")
    } else {
        "–".into()
    }
}

/// A share as a percentage with one decimal (`0.953` → `95.3 %`).
pub fn percent(share: f64) -> String {
    if share.is_finite() {
        format!("{:.1} %", share * 100.0)
    } else {
        "–".into()
    }
}

/// An integer with thousands separators (`1234567` → `1,234,567`).
pub fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut text = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

/// `part / whole`, or NaN when `whole` is 0.
pub fn ratio(part: f64, whole: f64) -> f64 {
    if whole != 0.0 {
        part / whole
    } else {
        f64::NAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_aligns_numbers_right_and_escapes_pipes() {
        let mut table = Table::new("Throughput", &["endpoints", "routing", "ratio"]);
        table.row(vec!["1".into(), "a|b".into(), "95.3 %".into()]);
        table.row(vec!["8".into(), "least outstanding".into(), "".into()]);
        table.note("window: 10–90 % of requests");
        assert_eq!(
            table.markdown(),
            "### Throughput\n\n\
             | endpoints | routing | ratio |\n\
             | ---: | --- | ---: |\n\
             | 1 | a\\|b | 95.3 % |\n\
             | 8 | least outstanding |  |\n\
             \n- window: 10–90 % of requests\n"
        );
    }

    #[test]
    #[should_panic(expected = "has 1 cells for 2 headers")]
    fn rows_must_fill_every_column() {
        Table::new("t", &["a", "b"]).row(vec!["1".into()]);
    }

    #[test]
    fn number_formats() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(percent(0.9534), "95.3 %");
        assert_eq!(fixed(f64::NAN, 2), "–");
        assert_eq!(fixed(1.0 / 3.0, 3), "0.333");
        assert!(ratio(1.0, 0.0).is_nan());
        assert!(looks_numeric("0.312*") && looks_numeric("×0.45") && looks_numeric("1,024"));
        assert!(looks_numeric("0.31 ± 0.02") && !looks_numeric("beam"));
    }
}
