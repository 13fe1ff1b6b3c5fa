//! The diagnostics as tables, rendered into `report.md` and `report.html` from one model: the
//! same rows, the same numbers, formatted once. A value that is undefined is shown as `n/a` and
//! its reason listed under the tables (never as NaN or 0).

use std::fmt::Write;

use super::answers::MATCH_THRESHOLDS;
use super::figures::DiagnosticFigure;
use super::measures::Stat;
use super::{CellDiagnostics, Diagnostics};
use crate::report::html::{escape_html, figure_html};

/// One table of the section.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub id: &'static str,
    pub title: &'static str,
    pub caption: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// What the section says before its tables.
pub const INTRO: &str = "Computed from the store alone, per cell (its search's trees truncated \
    at its depth), all seeds pooled unless a table is per seed. Labels are only the items the \
    human recommender named in the dataset's turn, so the \"other\" items include items the user \
    would have accepted: AUC, average precision and calibration are measured against an \
    incomplete ground truth. Each (sample, item) counts once, with the mean of its scores over \
    the nodes (and seeds) that scored it.";

/// What a table shows where a measure does not apply (a cell that scores nothing, has no
/// critique or revised no list): no note, unlike `n/a`.
const NOT_APPLICABLE: &str = "-";

/// Undefined values and their reasons, each once.
#[derive(Default)]
struct Notes(Vec<String>);

impl Notes {
    fn add(&mut self, cell: &str, what: &str, reason: &str) {
        let note = format!("{cell} — {what}: {reason}");
        if !self.0.contains(&note) {
            self.0.push(note);
        }
    }
}

/// A fixed-point number, or `n/a` (noted).
fn number(stat: &Stat, places: usize, notes: &mut Notes, cell: &str, what: &str) -> String {
    match stat {
        Stat::Value(value) => format!("{value:.places$}"),
        Stat::Undefined(reason) => {
            notes.add(cell, what, reason);
            "n/a".into()
        }
    }
}

/// A share as a percentage with one decimal, or `n/a` (noted).
fn percent(stat: &Stat, notes: &mut Notes, cell: &str, what: &str) -> String {
    match stat {
        Stat::Value(value) => format!("{:.1} %", 100.0 * value),
        Stat::Undefined(reason) => {
            notes.add(cell, what, reason);
            "n/a".into()
        }
    }
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|value| value.to_string()).collect()
}

fn scoring_row(cell: &str, d: &Diagnostics, notes: &mut Notes) -> Vec<String> {
    let s = &d.scoring;
    vec![
        cell.to_string(),
        s.context.clone(),
        s.pairs.to_string(),
        s.label_pairs.to_string(),
        number(&s.auc, 3, notes, cell, "ROC AUC"),
        number(&s.average_precision, 3, notes, cell, "average precision"),
        format!(
            "{} / {}",
            number(&s.mean_label_score, 3, notes, cell, "mean label score"),
            number(&s.mean_other_score, 3, notes, cell, "mean other score")
        ),
        number(&s.ece, 3, notes, cell, "ECE"),
        number(&s.brier, 3, notes, cell, "Brier score"),
        number(
            &s.invalid_answers_per_score,
            3,
            notes,
            cell,
            "invalid answers per score",
        ),
        percent(&s.unreadable_share, notes, cell, "unreadable scores"),
        score_path(&s.score_paths),
    ]
}

/// The "score path" column: scoring answers read exactly through the Yes/No token ids, from the
/// top logprobs, and unreadable; `-` when the records do not count them.
fn score_path(paths: &crate::model::scoring::ScorePaths) -> String {
    if paths.is_empty() {
        return "-".into();
    }
    format!(
        "{} ids / {} top-k / {} unreadable",
        paths.token_ids, paths.top_logprobs, paths.unreadable
    )
}

/// Every table of the section, and the notes on undefined values.
pub fn tables(diagnostics: &[CellDiagnostics]) -> (Vec<Table>, Vec<String>) {
    let mut notes = Notes::default();
    let mut tables = Vec::new();
    let scored: Vec<&CellDiagnostics> = diagnostics.iter().filter(|c| c.scores_items).collect();
    if !scored.is_empty() {
        tables.push(Table {
            id: "diagnostics-scoring",
            title: "Scoring quality",
            caption: "ROC AUC and average precision of the scores, label items against the other \
                      scored items ((sample, item) pairs); mean score of each group; expected \
                      calibration error over 10 equal-width bins and Brier score against the \
                      labels; invalid scoring answers (no readable Yes/No, asked again or given \
                      up) per score, and the scores left unreadable (scored 0); score path: the \
                      scoring answers whose P(Yes) and P(No) were read exactly from the Yes/No \
                      token ids (`[models.user] yes_no_token_ids`), from the top logprobs, or \
                      not at all (`-`: not counted in these records)."
                .into(),
            header: strings(&[
                "cell",
                "context",
                "pairs",
                "label pairs",
                "ROC AUC",
                "avg precision",
                "mean score label / other",
                "ECE",
                "Brier",
                "invalid / score",
                "unreadable",
                "score path",
            ]),
            rows: scored
                .iter()
                .map(|cell| scoring_row(&cell.cell, &cell.all, &mut notes))
                .collect(),
        });
    }
    let listed: Vec<&CellDiagnostics> = scored
        .iter()
        .copied()
        .filter(|cell| !cell.all.scoring.position_bias.is_empty())
        .collect();
    if !listed.is_empty() {
        let positions = listed
            .iter()
            .map(|cell| cell.all.scoring.position_bias.len())
            .max()
            .unwrap_or(0);
        let mut header = vec!["cell".to_string()];
        header.extend((1..=positions).map(|position| format!("pos {position}")));
        tables.push(Table {
            id: "diagnostics-position",
            title: "Position bias (list-context scoring)",
            caption: "Mean score by position of the item in the list it was scored in (every \
                      score of every scored list)."
                .into(),
            header,
            rows: listed
                .iter()
                .map(|cell| {
                    let mut row = vec![cell.cell.clone()];
                    for position in 1..=positions {
                        row.push(
                            cell.all
                                .scoring
                                .position_bias
                                .iter()
                                .find(|p| p.position == position)
                                .map_or("-".into(), |p| format!("{:.3}", p.mean)),
                        );
                    }
                    row
                })
                .collect(),
        });
    }
    let critiqued: Vec<&CellDiagnostics> = diagnostics
        .iter()
        .filter(|cell| cell.all.critiques.critiques > 0 || cell.all.critiques.answers > 0)
        .collect();
    if !critiqued.is_empty() {
        tables.push(Table {
            id: "diagnostics-critiques",
            title: "Critique quality",
            caption: "The critiques that produced the trees' lists: mean length in words; the \
                      share naming (as whole words) an attribute value of an item of the \
                      critiqued list, of a label item, and the title of a label item (a leak); \
                      the share repeating an earlier critique of the same sample; invalid \
                      critique answers (cut, unfinished or empty) among those read."
                .into(),
            header: strings(&[
                "cell",
                "critiques",
                "words",
                "names list attribute",
                "names label attribute",
                "names label title",
                "repeats",
                "invalid answers",
            ]),
            rows: critiqued
                .iter()
                .map(|cell| {
                    let (name, c) = (cell.cell.as_str(), &cell.all.critiques);
                    vec![
                        name.to_string(),
                        c.critiques.to_string(),
                        number(&c.mean_words, 1, &mut notes, name, "critique length"),
                        percent(
                            &c.names_list_attribute,
                            &mut notes,
                            name,
                            "list attributes named",
                        ),
                        percent(
                            &c.names_label_attribute,
                            &mut notes,
                            name,
                            "label attributes named",
                        ),
                        percent(&c.names_label_title, &mut notes, name, "label titles named"),
                        percent(&c.repeats_earlier, &mut notes, name, "repeated critiques"),
                        percent(&c.invalid_share, &mut notes, name, "invalid critiques"),
                    ]
                })
                .collect(),
        });
    }
    tables.push(Table {
        id: "diagnostics-crs",
        title: "CRS behaviour",
        caption: format!(
            "CRS answers read from the response cache: invalid answers (no valid list) per \
             model request; titles whose best catalog match scores below {} and below {} \
             (hallucinated titles; exact matches score 100), and below the run's \
             min_match_score when it had one; titles naming the same item as an earlier title \
             of their answer; revised lists: mean share of their items taken from the list \
             they revise, and share of them with any.",
            MATCH_THRESHOLDS[0], MATCH_THRESHOLDS[1]
        ),
        header: strings(&[
            "cell",
            "requests",
            "invalid / request",
            "titles",
            "match < 80",
            "match < 90",
            "< run min",
            "duplicate titles",
            "revised lists",
            "items from revised list",
            "lists repeating",
        ]),
        rows: diagnostics
            .iter()
            .map(|cell| {
                let (name, c) = (cell.cell.as_str(), &cell.all.crs);
                vec![
                    name.to_string(),
                    c.requests.to_string(),
                    number(
                        &c.invalid_per_request,
                        3,
                        &mut notes,
                        name,
                        "invalid CRS answers",
                    ),
                    c.titles.to_string(),
                    percent(&c.below_80, &mut notes, name, "titles matched below 80"),
                    percent(&c.below_90, &mut notes, name, "titles matched below 90"),
                    match c.run_min_match_score {
                        Some(minimum) => format!(
                            "{} (< {minimum})",
                            percent(&c.below_run_minimum, &mut notes, name, "titles below min")
                        ),
                        None => "-".into(),
                    },
                    percent(&c.duplicate_titles, &mut notes, name, "duplicate titles"),
                    c.revised_lists.to_string(),
                    if c.revised_lists == 0 {
                        NOT_APPLICABLE.into()
                    } else {
                        percent(
                            &c.repeated_from_parent,
                            &mut notes,
                            name,
                            "items from revised list",
                        )
                    },
                    if c.revised_lists == 0 {
                        NOT_APPLICABLE.into()
                    } else {
                        percent(
                            &c.lists_repeating_parent,
                            &mut notes,
                            name,
                            "lists repeating items",
                        )
                    },
                ]
            })
            .collect(),
    });
    let deepest = diagnostics
        .iter()
        .map(|cell| cell.all.crs.by_depth.len())
        .max()
        .unwrap_or(0);
    if deepest > 0 {
        let mut header = vec!["cell".to_string()];
        header.extend((1..=deepest).map(|depth| format!("depth {depth}")));
        let by_depth = |pick: &dyn Fn(&super::crs::DepthItems) -> String| -> Vec<Vec<String>> {
            diagnostics
                .iter()
                .map(|cell| {
                    let mut row = vec![cell.cell.clone()];
                    for depth in 1..=deepest as u32 {
                        row.push(
                            cell.all
                                .crs
                                .by_depth
                                .iter()
                                .find(|d| d.depth == depth)
                                .map_or("-".into(), pick),
                        );
                    }
                    row
                })
                .collect()
        };
        tables.push(Table {
            id: "diagnostics-labels-by-depth",
            title: "New label items found at each depth",
            caption: "Per sample, the label items first seen at each depth (in no shallower \
                      node), and in parentheses the share of all labels that makes."
                .into(),
            header: header.clone(),
            rows: by_depth(&|d| {
                format!("{:.2} ({:.1} %)", d.new_labels, 100.0 * d.new_label_share)
            }),
        });
        tables.push(Table {
            id: "diagnostics-items-by-depth",
            title: "Distinct items per sample by depth",
            caption: "Mean number of distinct items in the nodes of depth up to each depth.".into(),
            header,
            rows: by_depth(&|d| format!("{:.1}", d.distinct_items)),
        });
    }
    let searched: Vec<&CellDiagnostics> = diagnostics
        .iter()
        .filter(|cell| cell.all.search.scored_nodes > 0)
        .collect();
    if !searched.is_empty() {
        let deepest = searched
            .iter()
            .map(|cell| cell.all.search.by_depth.len())
            .max()
            .unwrap_or(0);
        let mut header = strings(&["cell", "scored nodes", "ρ(reward, recall)"]);
        header.extend((1..=deepest).map(|depth| format!("kept reward d{depth}")));
        tables.push(Table {
            id: "diagnostics-reward",
            title: "Does the reward guide the search?",
            caption: "Spearman's rank correlation between a node's reward and its recall of the \
                      labels (share of the sample's labels in its list) over every scored node, \
                      samples pooled; mean reward of the nodes the beam kept at each depth (of \
                      all scored nodes in parentheses)."
                .into(),
            header,
            rows: searched
                .iter()
                .map(|cell| {
                    let (name, s) = (cell.cell.as_str(), &cell.all.search);
                    let mut row = vec![
                        name.to_string(),
                        s.scored_nodes.to_string(),
                        number(
                            &s.reward_recall_spearman,
                            3,
                            &mut notes,
                            name,
                            "ρ(reward, recall)",
                        ),
                    ];
                    for depth in 1..=deepest as u32 {
                        row.push(s.by_depth.iter().find(|d| d.depth == depth).map_or(
                            "-".into(),
                            |d| {
                                format!(
                                    "{} ({})",
                                    number(&d.kept_mean_reward, 3, &mut notes, name, "kept reward"),
                                    number(&d.mean_reward, 3, &mut notes, name, "mean reward")
                                )
                            },
                        ));
                    }
                    row
                })
                .collect(),
        });
    }
    tables.push(Table {
        id: "diagnostics-oracle",
        title: "Search loss and ranking loss",
        caption: "Recall@k each output strategy reached, the oracle (the best Recall@k any \
                  ranking of the items the search saw could reach: seen labels first), the \
                  search loss (1 − oracle: labels never seen) and the ranking loss (oracle − \
                  achieved: labels seen but ranked below k); means over samples × seeds."
            .into(),
        header: strings(&[
            "cell · strategy",
            "R@10",
            "oracle R@10",
            "search loss @10",
            "ranking loss @10",
            "R@50",
            "oracle R@50",
            "ranking loss @50",
        ]),
        rows: diagnostics
            .iter()
            .flat_map(|cell| {
                let oracle = &cell.all.search.oracle;
                let mut strategies: Vec<&str> = Vec::new();
                for gap in oracle {
                    if !strategies.contains(&gap.strategy.as_str()) {
                        strategies.push(&gap.strategy);
                    }
                }
                strategies.into_iter().map(move |strategy| {
                    let at = |k: usize| oracle.iter().find(|g| g.strategy == strategy && g.k == k);
                    let show = |k: usize, pick: fn(&super::search::OracleGap) -> f64| {
                        at(k).map_or("-".to_string(), |gap| format!("{:.3}", pick(gap)))
                    };
                    vec![
                        format!("{} · {strategy}", cell.cell),
                        show(10, |g| g.achieved),
                        show(10, |g| g.oracle),
                        show(10, |g| g.search_loss),
                        show(10, |g| g.ranking_loss),
                        show(50, |g| g.achieved),
                        show(50, |g| g.oracle),
                        show(50, |g| g.ranking_loss),
                    ]
                })
            })
            .collect(),
    });
    let seeded: Vec<&CellDiagnostics> = diagnostics
        .iter()
        .filter(|cell| !cell.per_seed.is_empty())
        .collect();
    if !seeded.is_empty() {
        let mut rows = Vec::new();
        for cell in &seeded {
            for seed in &cell.per_seed {
                let name = format!("{} (seed {})", cell.cell, seed.seed);
                let d = &seed.diagnostics;
                let scored = |stat: &Stat, what: &str, notes: &mut Notes| {
                    if cell.scores_items {
                        number(stat, 3, notes, &name, what)
                    } else {
                        NOT_APPLICABLE.to_string()
                    }
                };
                let oracle = d.search.oracle.iter().find(|gap| gap.k == 10);
                rows.push(vec![
                    cell.cell.clone(),
                    seed.seed.to_string(),
                    d.records.to_string(),
                    scored(&d.scoring.auc, "ROC AUC", &mut notes),
                    scored(
                        &d.scoring.average_precision,
                        "average precision",
                        &mut notes,
                    ),
                    scored(&d.scoring.ece, "ECE", &mut notes),
                    scored(&d.scoring.brier, "Brier score", &mut notes),
                    if d.critiques.critiques == 0 {
                        NOT_APPLICABLE.to_string()
                    } else {
                        percent(
                            &d.critiques.names_label_attribute,
                            &mut notes,
                            &name,
                            "label attributes named",
                        )
                    },
                    scored(
                        &d.search.reward_recall_spearman,
                        "ρ(reward, recall)",
                        &mut notes,
                    ),
                    oracle.map_or("-".into(), |gap| format!("{:.3}", gap.oracle)),
                    oracle.map_or("-".into(), |gap| {
                        format!("{:.3} ({})", gap.achieved, gap.strategy)
                    }),
                ]);
            }
        }
        tables.push(Table {
            id: "diagnostics-seeds",
            title: "Per seed",
            caption: "The main diagnostics of each seed of the cells with several (the search \
                      samples differently per seed; each (sample, item) once within a seed)."
                .into(),
            header: strings(&[
                "cell",
                "seed",
                "samples",
                "ROC AUC",
                "avg precision",
                "ECE",
                "Brier",
                "names label attribute",
                "ρ(reward, recall)",
                "oracle R@10",
                "achieved R@10",
            ]),
            rows,
        });
    }
    let mut all_notes = notes.0;
    for cell in diagnostics {
        for note in &cell.notes {
            all_notes.push(format!("{} — {note}", cell.cell));
        }
    }
    (tables, all_notes)
}

/// The section of `report.md` (a `## Diagnostics` heading, its tables and notes), empty when
/// no cell has a record.
pub fn markdown(diagnostics: &[CellDiagnostics], figures: &[String]) -> String {
    if diagnostics.is_empty() {
        return String::new();
    }
    let (tables, notes) = tables(diagnostics);
    let mut text = format!("\n## Diagnostics\n\n{INTRO}\n");
    for table in &tables {
        let _ = write!(text, "\n### {}\n\n{}\n\n|", table.title, table.caption);
        for column in &table.header {
            let _ = write!(text, " {} |", column.replace('|', "\\|"));
        }
        text.push_str("\n|");
        text.push_str(&"---|".repeat(table.header.len()));
        text.push('\n');
        for row in &table.rows {
            text.push('|');
            for value in row {
                let _ = write!(text, " {} |", value.replace('|', "\\|"));
            }
            text.push('\n');
        }
    }
    if !figures.is_empty() {
        text.push_str("\nFigures: ");
        text.push_str(
            &figures
                .iter()
                .map(|file| format!("`figures/{file}.svg`"))
                .collect::<Vec<_>>()
                .join(", "),
        );
        text.push_str(".\n");
    }
    if !notes.is_empty() {
        text.push_str("\nNot available (n/a):\n\n");
        for note in &notes {
            let _ = writeln!(text, "- {note}");
        }
    }
    text
}

/// The body of the section of `report.html` (after its heading): the introduction, every
/// table (numbered from `first_table`), the figures (numbered from `first_figure`) and the
/// notes, every string escaped. Returns the body and the number of tables it used.
pub fn html(
    diagnostics: &[CellDiagnostics],
    figures: &[DiagnosticFigure],
    first_table: usize,
    first_figure: usize,
) -> (String, usize) {
    if diagnostics.is_empty() {
        return (
            "<p class=\"note\">No cell has a finished sample yet: nothing to diagnose.</p>\n"
                .into(),
            0,
        );
    }
    let (tables, notes) = tables(diagnostics);
    let mut page = format!("<p>{}</p>\n", escape_html(INTRO));
    for (index, table) in tables.iter().enumerate() {
        let _ = write!(
            page,
            "<h3>{}</h3>\n<p class=\"caption\"><b>Table {}.</b> {}</p>\n<div class=\"table-wrap\">\n\
             <table id=\"{}\">\n<thead>\n<tr>",
            escape_html(table.title),
            first_table + index,
            escape_html(&table.caption),
            table.id
        );
        for column in &table.header {
            let _ = write!(page, "<th>{}</th>", escape_html(column));
        }
        page.push_str("</tr>\n</thead>\n<tbody>\n");
        for row in &table.rows {
            page.push_str("<tr>");
            for (column, value) in row.iter().enumerate() {
                let class = if column == 0 { " class=\"method\"" } else { "" };
                let _ = write!(page, "<td{class}>{}</td>", escape_html(value));
            }
            page.push_str("</tr>\n");
        }
        page.push_str("</tbody>\n</table>\n</div>\n");
    }
    if !figures.is_empty() {
        page.push_str("<div class=\"figures\">\n");
        for (index, figure) in figures.iter().enumerate() {
            figure_html(
                &mut page,
                &format!("Figure {}", first_figure + index),
                &figure.file,
                &figure.figure.svg,
                &figure.caption,
            );
        }
        page.push_str("</div>\n");
    }
    if !notes.is_empty() {
        page.push_str("<p class=\"note\">Not available (n/a):</p>\n<ul class=\"errors\">\n");
        for note in &notes {
            let _ = writeln!(page, "<li>{}</li>", escape_html(note));
        }
        page.push_str("</ul>\n");
    }
    (page, tables.len())
}
