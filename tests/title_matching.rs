//! Title matching against the ReDial catalog, checked case by case against Python rapidfuzz.

use grsu::catalog::{Catalog, CatalogFormat, Item, ItemAttributes};
use grsu::matching::TitleMatcher;
use grsu_test_support::shared_data;

fn catalog_of(titles: &[&str]) -> Catalog {
    Catalog::from_items(titles.iter().map(|title| Item {
        title: title.to_string(),
        attributes: ItemAttributes::default(),
    }))
}

#[test]
fn every_fixture_case_matches_python_rapidfuzz() {
    let Some(data) = shared_data() else {
        return;
    };
    let catalog = Catalog::load(&data.join("redial/id2info.json"), CatalogFormat::Auto).unwrap();
    assert_eq!(catalog.len(), 6576);
    let matcher = TitleMatcher::new(&catalog, None);
    let cases = std::fs::read_to_string(data.join("../fixtures/title_match_cases.jsonl")).unwrap();
    let mut failures = Vec::new();
    let mut count = 0;
    for line in cases.lines() {
        let case: serde_json::Value = serde_json::from_str(line).unwrap();
        let query = case["query"].as_str().unwrap();
        let expected = case["match"].as_str().unwrap();
        let expected_score = case["score"].as_f64().unwrap();
        let found = matcher.match_title(query);
        let title = found.item.map(|item| catalog.item(item).title.as_str());
        count += 1;
        if title != Some(expected) || (found.score - expected_score).abs() > 1e-3 {
            failures.push(format!(
                "{query:?}: got {title:?} {:.4}, want {expected:?} {expected_score}",
                found.score
            ));
        }
    }
    assert_eq!(count, 300);
    assert!(
        failures.is_empty(),
        "{} of {count} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// 400 noisy titles (typos, dropped or shifted years, case, punctuation, extra words; generated with
/// their own seed) in 40 lists of 10, some repeating a title: Python rapidfuzz's answer for each
/// title on its own, and within its list with the items of earlier titles removed from the choices
/// (tests/fixtures/title_match_noisy_lists.jsonl). Ties included: Python's list is the catalog in
/// order, so the first title wins there too.
#[test]
fn noisy_lists_match_python_rapidfuzz_on_their_own_and_deduplicated() {
    let Some(data) = shared_data() else {
        return;
    };
    let catalog = Catalog::load(&data.join("redial/id2info.json"), CatalogFormat::Auto).unwrap();
    let remembering = TitleMatcher::new(&catalog, None);
    let cold = TitleMatcher::new(&catalog, None).without_memo();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/title_match_noisy_lists.jsonl");
    let cases: Vec<serde_json::Value> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(cases.len(), 400);
    let round4 = |score: f64| (score * 1e4).round() / 1e4;
    let mut failures = Vec::new();
    // Cold, then with the memo twice: first filling it (each title's best item remembered while
    // its list is matched), then answering from it, where a list that used a remembered item
    // must still get its best unused one.
    let passes = [
        ("cold", &cold),
        ("memo", &remembering),
        ("memo, warm", &remembering),
    ];
    for ((pass, matcher), list) in passes.iter().flat_map(|pass| {
        cases
            .chunk_by(|a, b| a["list"] == b["list"])
            .map(move |list| (*pass, list))
    }) {
        let queries: Vec<&str> = list
            .iter()
            .map(|case| case["query"].as_str().unwrap())
            .collect();
        let in_list = matcher.match_list(&queries);
        for (case, in_list) in list.iter().zip(in_list) {
            let query = case["query"].as_str().unwrap();
            let alone = matcher.match_title(query);
            for (found, key, score_key) in [
                (alone, "match", "score"),
                (in_list, "list_match", "list_score"),
            ] {
                let title = found.item.map(|item| catalog.item(item).title.as_str());
                let expected = case[key].as_str();
                let expected_score = case[score_key].as_f64().unwrap();
                if title != expected || (round4(found.score) - expected_score).abs() > 1e-9 {
                    failures.push(format!(
                        "{pass}: {query:?} ({key}): got {title:?} {}, want {expected:?} {expected_score}",
                        round4(found.score)
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(remembering.remembered() > 300);
    assert_eq!(cold.remembered(), 0);
}

#[test]
fn exact_title_wins_and_ties_go_to_catalog_order() {
    let catalog = catalog_of(&["Heat (1995)", "heat 1995", "Heat (1986)"]);
    let matcher = TitleMatcher::new(&catalog, None);
    // Exact match first, even though the processed forms of the first two are equal.
    let found = matcher.match_title("heat 1995");
    assert_eq!(found.item, Some(1));
    assert_eq!(found.score, 100.0);
    // A tie between the first two processed titles: the first in catalog order.
    assert_eq!(matcher.match_title("HEAT (1995)").item, Some(0));
}

#[test]
fn a_list_never_maps_two_titles_to_one_item() {
    let catalog = catalog_of(&["Alien (1979)", "Aliens (1986)", "Heat (1995)"]);
    let matcher = TitleMatcher::new(&catalog, None);
    let found = matcher.match_list(&["Alien (1979)", "alien 1979", "ALIEN"]);
    let items: Vec<_> = found.iter().map(|found| found.item).collect();
    assert_eq!(items, vec![Some(0), Some(1), Some(2)]);
    // Each title on its own would take the same item.
    assert_eq!(matcher.match_title("alien 1979").item, Some(0));
}

#[test]
fn minimum_score_leaves_hallucinations_unmatched() {
    let catalog = catalog_of(&["The Matrix (1999)", "Heat (1995)"]);
    let reference = TitleMatcher::new(&catalog, None);
    let strict = TitleMatcher::new(&catalog, Some(80.0));
    let invented = "Quantum Llamas of Saturn (2031)";
    assert!(
        reference.match_title(invented).item.is_some(),
        "the reference maps everything"
    );
    let found = strict.match_title(invented);
    assert_eq!(found.item, None);
    assert!(found.score > 0.0 && found.score < 80.0);
    assert_eq!(strict.match_title("The Matrix 1999").item, Some(0));
    // A title of punctuation only scores 0 everywhere.
    assert_eq!(strict.match_title("***").item, None);
    assert_eq!(
        reference.match_title("***"),
        grsu::matching::TitleMatch {
            item: Some(0),
            score: 0.0
        }
    );
}
