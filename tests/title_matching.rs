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
