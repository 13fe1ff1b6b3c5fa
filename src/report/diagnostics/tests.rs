//! Diagnostics of hand-made records whose values can be counted by hand (the counts are worked
//! out in the comments), with raw answers in a real response cache.
//!
//! The ranking statistics of the records were also computed with scikit-learn 1.9.1 and SciPy
//! 1.17.1 from the (sample, item) pairs listed in `the_two_sample_cell_counts_by_hand`:
//! `roc_auc_score` = 0.8611111111111112, `average_precision_score` = 0.5,
//! `brier_score_loss` = 0.18113636363636365, the ECE over `calibration_curve`'s 10 uniform bins =
//! 0.25, and `spearmanr(reward, recall)` over the 7 nodes = 0.41586342329095943.

use std::collections::BTreeMap;
use std::path::Path;

use super::measures::Stat;
use super::*;
use crate::model::{
    ChatMessage, ChatRequest, ChatResponse, Choice, FinishReason, TokenLogprob, TopLogprob,
};
use crate::store::key_prefix;

const CATALOG: &str = r#"{
 "Heat (1995)": {"genre": ["crime"], "star": ["Al Pacino"], "director": ["Michael Mann"], "writer": []},
 "Ronin (1998)": {"genre": ["action"], "star": ["Robert De Niro"], "director": ["John Frankenheimer"], "writer": []},
 "Alien (1979)": {"genre": ["horror"], "star": ["Sigourney Weaver"], "director": ["Ridley Scott"], "writer": []},
 "Up (2009)": {"genre": ["animation"], "star": ["Ed Asner"], "director": ["Pete Docter"], "writer": []},
 "Big (1988)": {"genre": ["comedy"], "star": ["Tom Hanks"], "director": ["Penny Marshall"], "writer": []},
 "Jaws (1975)": {"genre": ["thriller"], "star": ["Roy Scheider"], "director": ["Steven Spielberg"], "writer": []}
}"#;

/// A run config over a catalog file in `folder` (lists of 2, beam search to depth 2, forced
/// scoring in `context`).
fn config(folder: &Path, context: &str) -> RunConfig {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let catalog = folder.join("catalog.json");
    std::fs::write(&catalog, CATALOG).unwrap();
    let text = format!(
        "[run]\nname = \"t\"\noutput = \"out\"\n\n[data]\nformat = \"grsu\"\npath = \"{}\"\n\
         catalog = \"{}\"\n\n[search]\nbeam_width = 2\nexpand_width = 2\ndepth = 2\n\
         list_length = 2\n\n[user]\nscoring_mode = \"forced\"\nscore_context = \"{context}\"\n",
        root.join("data/demo/conversations.jsonl").display(),
        catalog.display(),
    );
    let path = folder.join("run.toml");
    std::fs::write(&path, text).unwrap();
    RunConfig::load(&path).expect("a config")
}

/// Puts answers into the cache and hands out their key prefixes.
struct Answers {
    cache: ResponseCache,
    next: usize,
}

impl Answers {
    async fn put(&mut self, choices: Vec<Choice>) -> String {
        self.next += 1;
        let request = ChatRequest::new(vec![ChatMessage::user(format!("request {}", self.next))]);
        let response = ChatResponse {
            model: "m".into(),
            choices,
            usage: Default::default(),
        };
        self.cache.put("m", &request, &response).await.unwrap();
        key_prefix(&ResponseCache::key("m", &request))
    }

    async fn texts(&mut self, texts: &[&str]) -> String {
        self.put(texts.iter().map(|text| text_choice(text)).collect())
            .await
    }
}

fn text_choice(text: &str) -> Choice {
    Choice {
        text: text.into(),
        finish_reason: FinishReason::Stop,
        logprobs: None,
    }
}

/// A forced scoring answer with P(Yes) = 0.7, readable.
fn readable_score() -> Choice {
    Choice {
        text: " Yes".into(),
        finish_reason: FinishReason::Stop,
        logprobs: Some(vec![TokenLogprob {
            token: " Yes".into(),
            logprob: 0.7f64.ln(),
            top_logprobs: vec![
                TopLogprob {
                    token: " Yes".into(),
                    logprob: 0.7f64.ln(),
                },
                TopLogprob {
                    token: " No".into(),
                    logprob: 0.3f64.ln(),
                },
            ],
        }]),
    }
}

/// A scoring answer without logprobs: unreadable.
fn unreadable_score() -> Choice {
    text_choice(" Maybe")
}

fn titles(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| name.to_string()).collect()
}

/// (parent, child index, items, critique, scores, kept)
type NodeSpec<'a> = (
    Option<usize>,
    usize,
    &'a [&'a str],
    Option<&'a str>,
    &'a [f64],
    bool,
);

fn tree(nodes: &[NodeSpec]) -> SearchTree {
    let mut tree = SearchTree::new();
    for (parent, index, items, critique, scores, kept) in nodes {
        let id = tree.add_node(
            parent.map(crate::search::NodeId),
            *index,
            titles(items),
            critique.map(String::from),
        );
        tree.set_scores(id, scores.to_vec());
        tree.set_kept(id, *kept);
    }
    tree
}

fn record(
    search: &str,
    seed: u64,
    sample: &str,
    labels: &[&str],
    tree: SearchTree,
    requests: &[(&str, &str, Vec<String>)],
) -> SampleRecord {
    let requests: BTreeMap<String, serde_json::Value> = requests
        .iter()
        .map(|(path, role, keys)| {
            (
                path.to_string(),
                serde_json::json!({"role": role, "keys": keys}),
            )
        })
        .collect();
    serde_json::from_value(serde_json::json!({
        "search": search,
        "seed": seed,
        "sample": sample,
        "labels": labels,
        "tree": tree,
        "searched_depth": 2,
        "predictions": {},
        "metrics": {},
        "calls": {},
        "unscored_items": 0,
        "requests": requests,
        "wall_ms": 0,
    }))
    .expect("a record")
}

fn dummy_keys(count: usize) -> Vec<String> {
    (0..count)
        .map(|i| format!("{:016x}", 0xdead_0000 + i))
        .collect()
}

/// The two records of search `s0` (seed `seed`), their raw answers put into `answers`.
///
/// Record A (`c1:1`, label Heat):
/// - d1.0 [Ronin .3, Alien .9] kept; d1.1 [Heat .8, Up .2] kept, its score answers: readable,
///   unreadable, readable;
/// - d2.0.0 (of d1.0) [Heat .9, Big .1] kept, critique "Something by Michael Mann, please.";
/// - d2.1.0 (of d1.1) [Up .4, Jaws .5], critique "something by michael mann please" (a repeat).
///
/// Record B (`c2:1`, labels Big and Jaws):
/// - d1.0 [Big .6, Alien .6] kept; d1.1 [Up .4, Ronin 0] (Ronin unreadable: 1 + 3 answers);
/// - d2.0.0 (of d1.0) [Alien .6, Heat .2] kept, critique "More Ridley Scott".
async fn search_records(answers: &mut Answers, seed: u64) -> Vec<SampleRecord> {
    let a_tree = tree(&[
        (
            None,
            0,
            &["Ronin (1998)", "Alien (1979)"],
            None,
            &[0.3, 0.9],
            true,
        ),
        (
            None,
            1,
            &["Heat (1995)", "Up (2009)"],
            None,
            &[0.8, 0.2],
            true,
        ),
        (
            Some(0),
            0,
            &["Heat (1995)", "Big (1988)"],
            Some("Something by Michael Mann, please."),
            &[0.9, 0.1],
            true,
        ),
        (
            Some(1),
            0,
            &["Up (2009)", "Jaws (1975)"],
            Some("something by michael mann please"),
            &[0.4, 0.5],
            false,
        ),
    ]);
    // Root: an answer with no title (invalid), then a retry whose "Heat" has no year (its best
    // match scores 61.5: below 80 and 90).
    let root_first = answers
        .texts(&[
            "1. **Ronin (1998)**\n2. **Alien (1979)**",
            "Sorry, I can't.",
        ])
        .await;
    let root_retry = answers.texts(&["1. **Heat**\n2. **Up (2009)**"]).await;
    let below_first = answers
        .texts(&["1. **Heat (1995)**\n2. **Big (1988)**"])
        .await;
    // A repeated title (strict parsing keeps it): one duplicate.
    let below_second = answers
        .texts(&["1. **Up (2009)**\n2. **Jaws (1975)**\n3. **Up (2009)**"])
        .await;
    let mut cut = text_choice("Something by");
    cut.finish_reason = FinishReason::Length;
    let critique_first = answers
        .put(vec![text_choice("Something by Michael Mann, please."), cut])
        .await;
    let critique_second = answers.texts(&["something by michael mann please"]).await;
    let a_scores = vec![
        answers.put(vec![readable_score()]).await,
        answers.put(vec![unreadable_score()]).await,
        answers.put(vec![readable_score()]).await,
    ];
    let a = record(
        "s0",
        seed,
        "c1:1",
        &["Heat (1995)"],
        a_tree,
        &[
            ("recommend/root/0", "crs", vec![root_first, root_retry]),
            ("recommend/d1.0/0", "crs", vec![below_first]),
            ("recommend/d1.1/0", "crs", vec![below_second]),
            ("critique/d1.0/0", "user", vec![critique_first]),
            ("critique/d1.1/0", "user", vec![critique_second]),
            ("score/d1.0/0", "user", dummy_keys(2)),
            ("score/d1.1/0", "user", a_scores),
            ("score/d2.0.0/0", "user", dummy_keys(2)),
            ("score/d2.1.0/0", "user", dummy_keys(2)),
        ],
    );
    let b_tree = tree(&[
        (
            None,
            0,
            &["Big (1988)", "Alien (1979)"],
            None,
            &[0.6, 0.6],
            true,
        ),
        (
            None,
            1,
            &["Up (2009)", "Ronin (1998)"],
            None,
            &[0.4, 0.0],
            false,
        ),
        (
            Some(0),
            0,
            &["Alien (1979)", "Heat (1995)"],
            Some("More Ridley Scott"),
            &[0.6, 0.2],
            true,
        ),
    ]);
    let b_root = answers
        .texts(&[
            "1. **Big (1988)**\n2. **Alien (1979)**",
            "1. **Up (2009)**\n2. **Ronin (1998)**",
        ])
        .await;
    let b_below = answers
        .texts(&["1. **Alien (1979)**\n2. **Heat (1995)**"])
        .await;
    let b_critique = answers.texts(&["More Ridley Scott"]).await;
    let b_scores = vec![
        answers.put(vec![readable_score()]).await,
        answers.put(vec![unreadable_score()]).await,
        answers.put(vec![unreadable_score()]).await,
        answers.put(vec![unreadable_score()]).await,
    ];
    let b = record(
        "s0",
        seed,
        "c2:1",
        &["Big (1988)", "Jaws (1975)"],
        b_tree,
        &[
            ("recommend/root/0", "crs", vec![b_root]),
            ("recommend/d1.0/0", "crs", vec![b_below]),
            ("critique/d1.0/0", "user", vec![b_critique]),
            ("score/d1.0/0", "user", dummy_keys(2)),
            ("score/d1.1/0", "user", b_scores),
            ("score/d2.0.0/0", "user", dummy_keys(2)),
        ],
    );
    vec![a, b]
}

fn manifest(cells: serde_json::Value) -> SweepManifest {
    serde_json::from_value(serde_json::json!({
        "name": "hand",
        "config_text": "",
        "sweep_hash": "h",
        "code_version": "test",
        "seeds": [0, 1],
        "cells": cells,
        "searches": [],
        "created_unix": 0,
    }))
    .expect("a manifest")
}

fn cell(name: &str, search: &str, depth: Option<u32>, config: &RunConfig) -> serde_json::Value {
    let assignments: Vec<(String, String)> = depth
        .map(|depth| vec![("search.depth".to_string(), depth.to_string())])
        .unwrap_or_default();
    serde_json::json!({
        "name": name,
        "assignments": assignments,
        "search": search,
        "depth": depth,
        "strategies": ["reward-mean", "best-list"],
        "config": serde_json::to_value(config).unwrap(),
    })
}

fn value(stat: &Stat) -> f64 {
    stat.value()
        .unwrap_or_else(|| panic!("undefined: {stat:?}"))
}

fn close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 1e-9,
        "{actual} is not {expected}"
    );
}

struct Fixture {
    _folder: tempfile::TempDir,
    store: Store,
    cache: ResponseCache,
    config: RunConfig,
    records: Vec<SampleRecord>,
}

async fn fixture(context: &str, seeds: &[u64]) -> Fixture {
    let folder = tempfile::tempdir().unwrap();
    let store = Store::open(&folder.path().join("store")).unwrap();
    let cache = store.response_cache().unwrap();
    let config = config(folder.path(), context);
    let mut answers = Answers {
        cache: cache.clone(),
        next: 0,
    };
    let mut records = Vec::new();
    for &seed in seeds {
        records.extend(search_records(&mut answers, seed).await);
    }
    Fixture {
        _folder: folder,
        store,
        cache,
        config,
        records,
    }
}

fn by_cell<'a>(
    cells: &[(&'a str, Vec<&'a SampleRecord>)],
) -> BTreeMap<&'a str, Vec<&'a SampleRecord>> {
    cells.iter().cloned().collect()
}

#[tokio::test]
async fn the_two_sample_cell_counts_by_hand() {
    let f = fixture("item", &[0]).await;
    // Record C, of another search: one sample, its label never scored.
    let lost = record(
        "s1",
        0,
        "c3:1",
        &["Jaws (1975)"],
        tree(&[(
            None,
            0,
            &["Heat (1995)", "Up (2009)"],
            None,
            &[0.7, 0.3],
            true,
        )]),
        &[],
    );
    let manifest = manifest(serde_json::json!([
        cell("GRSU, depth=1", "s0", Some(1), &f.config),
        cell("GRSU, depth=2", "s0", Some(2), &f.config),
        cell("lost", "s1", None, &f.config),
        cell("empty", "s2", None, &f.config),
    ]));
    let records: Vec<&SampleRecord> = f.records.iter().collect();
    let cells = by_cell(&[
        ("GRSU, depth=1", records.clone()),
        ("GRSU, depth=2", records.clone()),
        ("lost", vec![&lost]),
        ("empty", Vec::new()),
    ]);
    let diagnostics = diagnose_with(&manifest, &cells, Ok(&f.cache));
    assert_eq!(
        diagnostics.len(),
        3,
        "a cell without records has no diagnostics"
    );
    let deep = &diagnostics[1];
    assert_eq!(deep.cell, "GRSU, depth=2");
    assert_eq!(deep.variant, "GRSU");
    assert_eq!((deep.samples, deep.all.records), (2, 2));
    assert!(deep.per_seed.is_empty(), "one seed");
    assert!(deep.notes.is_empty(), "{:?}", deep.notes);

    // Scoring. Pairs (each (sample, item) once, mean of its scores):
    //   A: Ronin .3, Alien .9, Heat (.8 + .9) / 2 = .85 (label), Up (.2 + .4) / 2 = .3, Big .1,
    //      Jaws .5;  B: Big .6 (label), Alien (.6 + .6) / 2 = .6, Up .4, Ronin 0, Heat .2.
    // AUC: .85 beats 8 of the 9 others (not Alien .9); .6 beats 7, ties 1 (Alien of B), loses
    // 1: (8 + 7.5) / 18 = 0.861111 (scikit-learn: 0.8611111111111112).
    let s = &deep.all.scoring;
    assert_eq!((s.scores, s.pairs, s.label_pairs), (14, 11, 2));
    close(value(&s.auc), 0.861_111_111_111_111_2);
    // Thresholds .9 (0 of 1), .85 (1 of 2: recall .5, precision .5), .6 (2 of 4: recall 1,
    // precision .5): AP = .5 · .5 + .5 · .5 = 0.5.
    close(value(&s.average_precision), 0.5);
    close(value(&s.brier), 0.181_136_363_636_363_65);
    close(value(&s.ece), 0.25);
    close(value(&s.mean_label_score), (0.85 + 0.6) / 2.0);
    assert_eq!(s.histogram_labels.iter().sum::<usize>(), 2);
    assert_eq!(s.histogram_others.iter().sum::<usize>(), 9);
    assert_eq!(s.calibration.iter().map(|bin| bin.count).sum::<usize>(), 11);
    // Score answers: 14 items, 17 answers (A's d1.1 three for two items, B's d1.1 four for
    // two), 13 readable: 4 invalid answers, 1 item unreadable.
    close(value(&s.invalid_answers_per_score), 4.0 / 14.0);
    close(value(&s.unreadable_share), 1.0 / 14.0);
    assert!(s.position_bias.is_empty(), "item context");
    assert_eq!(s.context, "item");

    // Critiques: 5 + 5 + 3 words; A's first names Michael Mann (Heat, a label, not in its list
    // [Ronin, Alien]); A's second names him too, Heat being in its list [Heat, Up], and repeats
    // the first; B's names Ridley Scott (Alien, in its list [Big, Alien]; no label's).
    let c = &deep.all.critiques;
    assert_eq!(c.critiques, 3);
    close(value(&c.mean_words), 13.0 / 3.0);
    close(value(&c.names_list_attribute), 2.0 / 3.0);
    close(value(&c.names_label_attribute), 2.0 / 3.0);
    close(value(&c.names_label_title), 0.0);
    close(value(&c.repeats_earlier), 1.0 / 3.0);
    // 4 critique answers, one cut by the length limit.
    assert_eq!(c.answers, 4);
    close(value(&c.invalid_share), 0.25);

    // CRS: 6 requests (A: 2 at the root, 1, 1; B: 1, 1), 8 answers, 1 invalid; 15 titles, one
    // ("Heat" without its year) matched below 80 and 90, one duplicate (A's repeated Up).
    let r = &deep.all.crs;
    assert_eq!((r.requests, r.answers, r.titles), (6, 8, 15));
    close(value(&r.invalid_per_request), 1.0 / 6.0);
    close(value(&r.below_80), 1.0 / 15.0);
    close(value(&r.below_90), 1.0 / 15.0);
    assert_eq!(
        r.below_run_minimum,
        Stat::undefined("the run used no min_match_score")
    );
    close(value(&r.duplicate_titles), 1.0 / 15.0);
    close(value(&r.answers_with_duplicates), 1.0 / 8.0);
    // Revised lists: A d2.0.0 repeats nothing of [Ronin, Alien], A d2.1.0 repeats Up, B d2.0.0
    // repeats Alien: mean share (0 + .5 + .5) / 3, two lists of three.
    assert_eq!(r.revised_lists, 3);
    close(value(&r.repeated_from_parent), 1.0 / 3.0);
    close(value(&r.lists_repeating_parent), 2.0 / 3.0);
    // New labels: Heat (A) and Big (B) at depth 1, Jaws never: 2 of 3 labels, 1 per sample.
    // Distinct items: A 4 then 6, B 4 then 5.
    assert_eq!(r.by_depth.len(), 2);
    close(r.by_depth[0].new_labels, 1.0);
    close(r.by_depth[0].new_label_share, 2.0 / 3.0);
    close(r.by_depth[1].new_labels, 0.0);
    close(r.by_depth[0].distinct_items, 4.0);
    close(r.by_depth[1].distinct_items, 5.5);

    // Search. Kept rewards: depth 1 A .6, .5 and B .6; depth 2 A .5 and B .4. All nodes of
    // depth 1: .6, .5, .6, .2.
    let g = &deep.all.search;
    close(
        value(&g.by_depth[0].kept_mean_reward),
        (0.6 + 0.5 + 0.6) / 3.0,
    );
    close(
        value(&g.by_depth[0].mean_reward),
        (0.6 + 0.5 + 0.6 + 0.2) / 4.0,
    );
    close(value(&g.by_depth[1].kept_mean_reward), 0.45);
    assert_eq!(g.scored_nodes, 7);
    // Rewards [.6 .5 .5 .45 | .6 .2 .4], recalls [0 1 1 0 | .5 0 0]: SciPy 0.41586342329095943.
    close(value(&g.reward_recall_spearman), 0.415_863_423_290_959_43);
    // Oracle at 10: A saw Heat (1), B saw Big but not Jaws (.5): 0.75, search loss .25.
    // reward-mean ranks every seen item within 10: achieved .75; best-list gives A's best node
    // d1.0 [Ronin, Alien] (0) and B's d1.0 [Big, Alien] (.5): .25, ranking loss .5.
    let gap = |strategy: &str, k: usize| {
        g.oracle
            .iter()
            .find(|gap| gap.strategy == strategy && gap.k == k)
            .unwrap()
            .clone()
    };
    let mean = gap("reward-mean", 10);
    close(mean.oracle, 0.75);
    close(mean.search_loss, 0.25);
    close(mean.achieved, 0.75);
    close(mean.ranking_loss, 0.0);
    let best = gap("best-list", 10);
    close(best.achieved, 0.25);
    close(best.ranking_loss, 0.5);

    // The depth-1 cell reads the trees truncated: pairs A Ronin .3, Alien .9, Heat .8, Up .2;
    // B Big .6, Alien .6, Up .4, Ronin 0. AUC (5 + 4.5) / 12.
    let shallow = &diagnostics[0];
    close(value(&shallow.all.scoring.auc), 9.5 / 12.0);
    // Score answers of depth 1: 8 items, 11 answers, 7 readable.
    close(
        value(&shallow.all.scoring.invalid_answers_per_score),
        4.0 / 8.0,
    );
    // Only the root's CRS requests (3: A's 2, B's 1), no critique.
    assert_eq!(shallow.all.crs.requests, 3);
    close(value(&shallow.all.crs.invalid_per_request), 1.0 / 3.0);
    assert_eq!(shallow.all.critiques.critiques, 0);
    assert_eq!(
        shallow.all.critiques.invalid_share,
        Stat::undefined("no critique was asked for")
    );
    assert_eq!(
        shallow.all.crs.repeated_from_parent,
        Stat::undefined("no list was revised (depth 1 only)")
    );

    // One sample, its label never scored: AUC and AP are undefined, said so (not NaN).
    let lost = &diagnostics[2];
    assert_eq!(lost.samples, 1);
    assert_eq!(
        lost.all.scoring.auc,
        Stat::undefined("no label item was scored")
    );
    assert!(lost.all.scoring.average_precision.value().is_none());
    close(value(&lost.all.scoring.brier), (0.49 + 0.09) / 2.0);
    close(lost.all.search.oracle[0].oracle, 0.0);
    assert_eq!(
        lost.all.search.reward_recall_spearman,
        Stat::undefined("fewer than two nodes")
    );
    let json = serde_json::to_string(&diagnostics).unwrap();
    assert!(!json.contains("NaN"));
    assert!(json.contains(r#""auc":{"undefined":"no label item was scored"}"#));
    // The JSON reads back (to the last bit but for serde_json's float parsing).
    let back: Vec<CellDiagnostics> = serde_json::from_str(&json).unwrap();
    assert_eq!(back.len(), 3);
    assert_eq!(back[2].all.scoring.auc, diagnostics[2].all.scoring.auc);

    // The section says n/a with the reason, never NaN.
    let text = render::markdown(&diagnostics, &figures::files(&diagnostics));
    println!("{text}");
    assert!(text.contains("## Diagnostics"));
    assert!(text.contains("| GRSU, depth=2 | item | 11 | 2 | 0.861 | 0.500 |"));
    assert!(text.contains("- lost — ROC AUC: no label item was scored"));
    assert!(!text.contains("NaN"));
    assert!(text.contains("`figures/diagnostics/1-grsu-scores.svg`"));
}

#[tokio::test]
async fn list_context_reports_position_bias_and_seeds_are_reported_each() {
    let f = fixture("list", &[0, 1]).await;
    let manifest = manifest(serde_json::json!([cell("GRSU", "s0", None, &f.config)]));
    let records: Vec<&SampleRecord> = f.records.iter().collect();
    let diagnostics = diagnose_with(&manifest, &by_cell(&[("GRSU", records)]), Ok(&f.cache));
    let cell = &diagnostics[0];
    assert_eq!(cell.seeds, [0, 1]);
    assert_eq!((cell.samples, cell.all.records), (2, 4));
    // Position 1 holds .3 .8 .9 .4 | .6 .4 .6; position 2 .9 .2 .1 .5 | .6 0 .2 (each twice).
    let bias = &cell.all.scoring.position_bias;
    assert_eq!(bias.len(), 2);
    assert_eq!(bias[0].scores, 14);
    close(
        bias[0].mean,
        (0.3 + 0.8 + 0.9 + 0.4 + 0.6 + 0.4 + 0.6) / 7.0,
    );
    close(
        bias[1].mean,
        (0.9 + 0.2 + 0.1 + 0.5 + 0.6 + 0.0 + 0.2) / 7.0,
    );
    // Pooled over seeds each (sample, item) is still one pair: the two seeds' trees are equal.
    assert_eq!(cell.all.scoring.pairs, 11);
    close(value(&cell.all.scoring.auc), 0.861_111_111_111_111_2);
    assert_eq!(cell.per_seed.len(), 2);
    for seed in &cell.per_seed {
        assert_eq!(seed.diagnostics.records, 2);
        close(
            value(&seed.diagnostics.scoring.auc),
            0.861_111_111_111_111_2,
        );
    }
    let text = render::markdown(&diagnostics, &[]);
    assert!(text.contains("### Position bias (list-context scoring)"));
    assert!(text.contains("### Per seed"));
    assert!(text.contains("| GRSU | 1 | 2 | 0.861 |"), "{text}");
}

#[tokio::test]
async fn without_the_catalog_or_the_cache_the_shares_are_unavailable_with_the_reason() {
    let f = fixture("item", &[0]).await;
    let manifest = manifest(serde_json::json!([cell("GRSU", "s0", None, &f.config)]));
    std::fs::remove_file(&f.config.data.catalog).unwrap();
    let records: Vec<&SampleRecord> = f.records.iter().collect();
    let cells = by_cell(&[("GRSU", records)]);
    let diagnostics = diagnose_with(&manifest, &cells, Ok(&f.cache));
    let cell = &diagnostics[0];
    let Stat::Undefined(reason) = &cell.all.critiques.names_label_attribute else {
        panic!("defined without a catalog");
    };
    assert!(reason.contains("cannot be read"), "{reason}");
    assert!(cell.all.crs.below_80.value().is_none());
    assert!(cell.notes[0].contains("attribute and hallucination shares are unavailable"));
    // What needs no catalog is still there.
    close(value(&cell.all.critiques.repeats_earlier), 1.0 / 3.0);
    close(value(&cell.all.crs.invalid_per_request), 1.0 / 6.0);
    close(value(&cell.all.scoring.auc), 0.861_111_111_111_111_2);

    let diagnostics = diagnose_with(&manifest, &cells, Err("the response cache is gone"));
    let cell = &diagnostics[0];
    assert_eq!(
        cell.all.scoring.unreadable_share,
        Stat::undefined("the response cache is gone")
    );
    assert_eq!(
        cell.all.crs.invalid_per_request,
        Stat::undefined("the response cache is gone")
    );
    close(value(&cell.all.scoring.auc), 0.861_111_111_111_111_2);
    let text = render::markdown(&diagnostics, &[]);
    assert!(text.contains("GRSU — invalid CRS answers: the response cache is gone"));
}

#[tokio::test]
async fn the_html_section_escapes_every_name_and_draws_the_figures() {
    let f = fixture("item", &[0]).await;
    let manifest = manifest(serde_json::json!([cell(
        "<script>alert(1)</script>",
        "s0",
        None,
        &f.config
    )]));
    let records: Vec<&SampleRecord> = f.records.iter().collect();
    let diagnostics = diagnose_with(
        &manifest,
        &by_cell(&[("<script>alert(1)</script>", records)]),
        Ok(&f.cache),
    );
    let figures = figures::render(&diagnostics).expect("figures");
    assert_eq!(figures.len(), 2);
    assert_eq!(
        figures[0].file,
        "diagnostics/1-script-alert-1-script-scores"
    );
    let (body, tables) = render::html(&diagnostics, &figures, 5, 4);
    assert!(tables >= 5);
    assert!(!body.contains("<script"));
    assert!(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(body.contains("<b>Table 5.</b>"));
    assert!(body.contains("<b>Figure 4.</b>") && body.contains("<b>Figure 5.</b>"));
    assert_eq!(body.matches("<svg").count(), 2);
    // Deterministic figures, written and rewritten without leftovers.
    let again = figures::render(&diagnostics).unwrap();
    assert_eq!(figures[0].figure, again[0].figure);
    let folder = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(folder.path().join("diagnostics")).unwrap();
    std::fs::write(folder.path().join("diagnostics/9-old-scores.svg"), "old").unwrap();
    figures::write(&figures, folder.path()).unwrap();
    let mut written: Vec<String> = std::fs::read_dir(folder.path().join("diagnostics"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(
        written,
        [
            "1-script-alert-1-script-reliability.png",
            "1-script-alert-1-script-reliability.svg",
            "1-script-alert-1-script-scores.png",
            "1-script-alert-1-script-scores.svg",
        ]
    );
    if let Some(folder) = std::env::var_os("GRSU_DIAGNOSTICS_FIGURES") {
        figures::write(&figures, Path::new(&folder)).unwrap();
    }
}

#[tokio::test]
async fn a_report_read_record_by_record_is_the_report_of_the_whole_records() {
    let f = fixture("item", &[0, 1]).await;
    for record in &f.records {
        f.store.put_record(record).await.unwrap();
    }
    // The first cell of the search cannot read answers (no config): the next one reads them.
    let mut unreadable = cell("unreadable", "s0", None, &f.config);
    unreadable["config"] = serde_json::Value::Null;
    let mut manifest = manifest(serde_json::json!([
        unreadable,
        cell("GRSU, depth=1", "s0", Some(1), &f.config),
        cell("GRSU, depth=2", "s0", Some(2), &f.config),
    ]));
    let mut samples: Vec<crate::store::SampleLabels> = Vec::new();
    for record in &f.records {
        if samples.iter().all(|sample| sample.id != record.sample) {
            samples.push(crate::store::SampleLabels {
                id: record.sample.clone(),
                labels: record.labels.clone(),
            });
        }
    }
    manifest.searches = vec![crate::store::SearchManifest {
        key: "s0".into(),
        models: BTreeMap::new(),
        samples,
    }];
    f.store.put_manifest(&manifest).unwrap();
    let options = crate::report::ReportOptions::default();
    let streamed = crate::report::Report::from_store(&f.store, &options).unwrap();
    let whole = f.store.records().unwrap();
    assert!(whole.iter().all(|record| !record.requests.is_empty()));
    let from_whole =
        crate::report::Report::from_records(&f.store, &manifest, &whole, &options).unwrap();
    assert_eq!(
        serde_json::to_value(&streamed).unwrap(),
        serde_json::to_value(&from_whole).unwrap()
    );
    // The raw answers were read (the counts come from them), once per record for both depths.
    let deep = &streamed.diagnostics[2];
    assert_eq!(deep.cell, "GRSU, depth=2");
    assert!(deep.all.crs.requests > 0, "{deep:?}");
    assert!(deep.notes.is_empty(), "{:?}", deep.notes);
    // Depth 1: 3 CRS requests per seed (`the_two_sample_cell_counts_by_hand`), two seeds.
    assert_eq!(streamed.diagnostics[1].all.crs.requests, 6);
    let unreadable = &streamed.diagnostics[0];
    assert!(!unreadable.notes.is_empty());
    assert_eq!(unreadable.all.crs.answers, 0, "its answers are unavailable");
}
