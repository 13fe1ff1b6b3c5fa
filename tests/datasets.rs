//! Dataset readers on the shared ReDial and INSPIRED files, and on broken inputs.

use grsu::catalog::{Catalog, CatalogFormat};
use grsu::data::{Dataset, DatasetFormat, LoadOptions, Role};
use grsu::InputError;
use grsu_test_support::{shared_data, temp_file};

fn load(
    path: &std::path::Path,
    format: DatasetFormat,
    catalog: Option<&Catalog>,
    only_new: bool,
) -> Result<Dataset, InputError> {
    Dataset::load(path, format, LoadOptions { catalog, only_new })
}

#[test]
fn redial_test_counts_match_the_paper_protocol() {
    let Some(data) = shared_data() else {
        return;
    };
    let catalog = Catalog::load(&data.join("redial/id2info.json"), CatalogFormat::Id2info).unwrap();
    assert_eq!(catalog.duplicate_titles(), 7);
    let path = data.join("redial/test_data_processed.jsonl");
    let new_only = load(&path, DatasetFormat::Ievalm, Some(&catalog), true).unwrap();
    assert_eq!(new_only.stats.conversations, 1318);
    assert_eq!(new_only.stats.conversations_with_samples, 1296);
    assert_eq!(new_only.stats.samples, 2924);
    assert_eq!(new_only.stats.labels, 3805);
    let all = load(&path, DatasetFormat::Ievalm, Some(&catalog), false).unwrap();
    assert_eq!(all.stats.samples, 3341);
    assert_eq!(all.stats.labels, 4499);
    assert_eq!(all.stats.labels_not_in_catalog, Some(0));
    // Ids are `dialog:turn`, histories alternate starting with the seeker, labels are in the catalog.
    let first = &all.samples[0];
    assert_eq!(first.id, "20001:1");
    assert_eq!(first.history[0].role, Role::User);
    assert!(all
        .samples
        .iter()
        .all(|sample| sample.labels.iter().all(|label| catalog.contains(label))));
}

#[test]
fn inspired_grsu_file_and_original_tsv_agree() {
    let Some(data) = shared_data() else {
        return;
    };
    for only_new in [false, true] {
        let grsu = load(
            &data.join("inspired/test_data_processed.jsonl"),
            DatasetFormat::Grsu,
            None,
            only_new,
        )
        .unwrap();
        let tsv = load(
            &data.join("inspired/test.tsv"),
            DatasetFormat::InspiredTsv,
            None,
            only_new,
        )
        .unwrap();
        assert_eq!(grsu.stats.conversations, 99);
        assert_eq!(tsv.stats.conversations, 99);
        assert_eq!(grsu.stats.samples, tsv.stats.samples);
        assert_eq!(grsu.stats.labels, tsv.stats.labels);
        // Same turns, same histories, sample by sample (conversation ids differ between releases);
        // the GRSU release rewrote a few titles (`Akira ()` became `Akira `).
        let mut relabelled = Vec::new();
        for (a, b) in grsu.samples.iter().zip(&tsv.samples) {
            assert_eq!(a.turn, b.turn);
            assert_eq!(a.history.len(), b.history.len());
            assert_eq!(a.labels.len(), b.labels.len());
            relabelled.extend(
                a.labels
                    .iter()
                    .zip(&b.labels)
                    .filter(|(x, y)| x != y)
                    .map(|(x, y)| format!("{x:?} / {y:?}")),
            );
        }
        assert_eq!(relabelled, vec![r#""Akira " / "Akira ()""#.to_string()]);
    }
    let all = load(
        &data.join("inspired/test.tsv"),
        DatasetFormat::InspiredTsv,
        None,
        false,
    )
    .unwrap();
    assert_eq!(all.stats.samples, 264);
    // Quotation marks are restored.
    assert!(all.samples.iter().all(|sample| sample
        .history
        .iter()
        .all(|turn| !turn.text.contains("QUOTATION_MARK"))));
}

#[test]
fn only_new_keeps_the_dropped_turn_in_later_histories() {
    let lines = [
        r#"{"conv_id": 1, "messages": ["#,
        r#"{"turn_id": 0, "role": "user", "text": "I loved Heat (1995)", "item": ["Heat (1995)"]},"#,
        r#"{"turn_id": 1, "role": "system", "text": "Then watch Heat (1995) again", "item": ["Heat (1995)"]},"#,
        r#"{"turn_id": 2, "role": "user", "text": "Something else?", "item": []},"#,
        r#"{"turn_id": 3, "role": "system", "text": "Try Ronin (1998)", "item": ["Ronin (1998)", "Ronin (1998)"]}"#,
        r#"]}"#,
    ];
    let (_folder, path) = temp_file("conversations.jsonl", &(lines.concat() + "\n"));
    let all = load(&path, DatasetFormat::Grsu, None, false).unwrap();
    assert_eq!(all.samples.len(), 2);
    let new_only = load(&path, DatasetFormat::Grsu, None, true).unwrap();
    assert_eq!(new_only.samples.len(), 1);
    assert_eq!(new_only.stats.dropped_not_new, 1);
    let sample = &new_only.samples[0];
    assert_eq!(sample.id, "1:3");
    assert_eq!(
        sample.labels,
        vec!["Ronin (1998)".to_string()],
        "labels are de-duplicated"
    );
    let texts: Vec<&str> = sample
        .history
        .iter()
        .map(|turn| turn.text.as_str())
        .collect();
    assert_eq!(
        texts,
        [
            "I loved Heat (1995)",
            "Then watch Heat (1995) again",
            "Something else?"
        ]
    );
}

#[test]
fn conversation_id_may_be_spelled_conversation_id() {
    let line = r#"{"conversationId": "abc", "messages": [{"turn_id": 0, "role": "user", "text": "hi", "item": []}, {"turn_id": 1, "role": "system", "text": "X", "item": ["X (2000)"]}]}"#;
    let (_folder, path) = temp_file("redial.jsonl", line);
    let dataset = load(&path, DatasetFormat::Grsu, None, false).unwrap();
    assert_eq!(dataset.samples[0].id, "abc:1");
}

fn error_of(name: &str, contents: &str, format: DatasetFormat) -> InputError {
    let (_folder, path) = temp_file(name, contents);
    load(&path, format, None, false).expect_err("bad input must fail")
}

#[test]
fn bad_input_names_file_line_and_field() {
    let good =
        r#"{"conv_id": 1, "messages": [{"turn_id": 0, "role": "user", "text": "hi", "item": []}]}"#;
    let malformed = error_of(
        "a.jsonl",
        &format!("{good}\n{{\"conv_id\": 2,"),
        DatasetFormat::Grsu,
    );
    assert!(
        matches!(malformed, InputError::MalformedJson { line: 2, .. }),
        "{malformed}"
    );
    assert!(malformed.to_string().contains("a.jsonl:2"), "{malformed}");

    let missing = error_of(
        "b.jsonl",
        r#"{"conv_id": 1, "messages": [{"turn_id": 0, "role": "user", "item": []}]}"#,
        DatasetFormat::Grsu,
    );
    match &missing {
        InputError::Field { line, field, .. } => {
            assert_eq!(*line, 1);
            assert_eq!(field, "messages[0].text");
        }
        other => panic!("unexpected {other}"),
    }

    let role = error_of(
        "c.jsonl",
        &good.replace("\"user\"", "\"assistant\""),
        DatasetFormat::Grsu,
    );
    assert!(
        role.to_string().contains("messages[0].role") && role.to_string().contains("assistant"),
        "{role}"
    );

    let wrong_type = error_of(
        "d.jsonl",
        r#"{"dialog_id": "1", "turn_id": 1, "context": "hi", "entity": [], "rec": []}"#,
        DatasetFormat::Ievalm,
    );
    assert!(
        wrong_type
            .to_string()
            .contains("field `context`: expected an array"),
        "{wrong_type}"
    );

    let empty = error_of("e.jsonl", "\n\n", DatasetFormat::Ievalm);
    assert!(matches!(empty, InputError::Empty { .. }), "{empty}");

    let tsv = error_of(
        "f.tsv",
        "dialog_id\tspeaker\ttext\tmovies\nd1\tSEEKER\thi\n",
        DatasetFormat::InspiredTsv,
    );
    assert!(tsv.to_string().contains("f.tsv:2"), "{tsv}");
    let speaker = error_of(
        "g.tsv",
        "dialog_id\tspeaker\ttext\tmovies\nd1\tBOT\thi\t\n",
        DatasetFormat::InspiredTsv,
    );
    assert!(speaker.to_string().contains("field `speaker`"), "{speaker}");
    let header = error_of(
        "h.tsv",
        "dialog_id\ttext\tmovies\nd1\thi\t\n",
        DatasetFormat::InspiredTsv,
    );
    assert!(
        header
            .to_string()
            .contains("field `speaker`: column missing"),
        "{header}"
    );

    let duplicate = error_of("i.jsonl", "{\"dialog_id\": \"1\", \"turn_id\": 1, \"context\": [\"a\"], \"entity\": [], \"rec\": [\"X\"]}\n".repeat(2).as_str(), DatasetFormat::Ievalm);
    assert!(
        duplicate.to_string().contains("duplicate sample id `1:1`"),
        "{duplicate}"
    );

    let unknown: Result<DatasetFormat, _> = "redial".parse();
    assert!(unknown
        .unwrap_err()
        .to_string()
        .contains("grsu, ievalm, inspired-tsv"));

    let absent = load(
        std::path::Path::new("/nonexistent/x.jsonl"),
        DatasetFormat::Grsu,
        None,
        false,
    )
    .unwrap_err();
    assert!(matches!(absent, InputError::Io { .. }));
}

#[test]
fn catalog_formats_load_and_reject_bad_attributes() {
    let (_a, movie2info) = temp_file(
        "movie2info.json",
        r#"{"Heat (1995)": {"genre": ["Crime"], "star": ["Al Pacino"], "director": ["Michael Mann"], "writer": [], "plot": "A heist."}, "Ronin (1998)": {"genre": "Action"}}"#,
    );
    let catalog = Catalog::load(&movie2info, CatalogFormat::Auto).unwrap();
    assert_eq!(catalog.len(), 2);
    assert_eq!(
        catalog.item(0).attributes.director,
        vec!["Michael Mann".to_string()]
    );
    assert_eq!(catalog.item(1).attributes.genre, vec!["Action".to_string()]);
    let (_b, id2info) = temp_file(
        "id2info.json",
        r#"{"7": {"name": "Heat (1995)", "genre": ["crime"]}, "8": {"name": "Heat (1995)"}, "9": {"name": "Up (2009)"}}"#,
    );
    let catalog = Catalog::load(&id2info, CatalogFormat::Auto).unwrap();
    assert_eq!(catalog.len(), 2);
    assert_eq!(catalog.duplicate_titles(), 1);
    assert_eq!(catalog.index_of("Up (2009)"), Some(1));
    let (_c, bad) = temp_file("bad.json", r#"{"Heat (1995)": {"genre": [1, 2]}}"#);
    let error = Catalog::load(&bad, CatalogFormat::Movie2info).unwrap_err();
    assert!(error.to_string().contains("Heat (1995).genre"), "{error}");
}
