//! Config errors name the true key: the whole dotted key as written in the file (array positions
//! 0-based, a grid axis with the position of its value, a variant by its position among the
//! `[[variant]]` tables), the file, and the line the key is written on. Each case edits one value
//! of a valid sweep config and loads it as `grsu run` does.

use grsu::sweep::Sweep;

/// A valid config; its lines are numbered for the cases below (line 1 is `[run]`).
const BASE: &str = r#"[run]
name = "t"
output = "out"

[data]
format = "grsu"
path = "DATA/conversations.jsonl"
catalog = "DATA/movie2info.json"

[models.crs]
endpoints = ["http://a:8000/v1"]
model = "c"

[models.user]
endpoints = ["http://a:8000/v1", "http://b:8000/v1"]
model = "u"

[search]
strategy = "beam"
beam_width = 2
"#;

/// The error of `BASE` with `from` replaced by `to` (`from` empty: `to` appended), as
/// `(key, message)`, the folder replaced by `DIR`.
fn error_of(from: &str, to: &str) -> (String, String) {
    let folder = tempfile::tempdir().unwrap();
    let demo = grsu_test_support::repository_root().join("data/demo");
    let base = BASE.replace("DATA", &demo.display().to_string());
    let text = if from.is_empty() {
        format!("{base}{to}")
    } else {
        assert!(base.contains(from), "{from}");
        base.replacen(from, to, 1)
    };
    let path = folder.path().join("sweep.toml");
    std::fs::write(&path, text).unwrap();
    let error = match Sweep::load(&path) {
        Ok(_) => panic!("{from} → {to}: loaded"),
        Err(error) => error,
    };
    let message = error
        .to_string()
        .replace(&folder.path().display().to_string(), "DIR");
    (error.file_key().unwrap_or_default(), message)
}

/// Asserts the key, that the message says it after the file, what else it says, and the line.
fn assert_names(case: (String, String), key: &str, says: &str, line: usize) {
    let (found, message) = case;
    assert_eq!(found, key, "{message}");
    assert!(message.starts_with("DIR/sweep.toml"), "{message}");
    assert!(message.contains(&format!(": {key}: ")), "{message}");
    assert!(message.contains(says), "{message}");
    assert!(
        message.ends_with(&format!("(at line {line}, column 1)")),
        "{message}"
    );
}

#[test]
fn a_value_of_the_wrong_type_is_named_by_its_dotted_key() {
    assert_names(
        error_of("beam_width = 2", "beam_width = 2\ndepth = \"three\""),
        "search.depth",
        "invalid type: string \"three\", expected u32",
        21,
    );
    assert_names(
        error_of("model = \"c\"", "model = \"c\"\nmax_concurrency = \"many\""),
        "models.crs.max_concurrency",
        "expected usize",
        13,
    );
    assert_names(
        error_of("format = \"grsu\"", "format = \"grsu\"\nlimit = -1"),
        "data.limit",
        "integer `-1`, expected usize",
        7,
    );
}

#[test]
fn an_unknown_key_is_named_with_its_table() {
    assert_names(
        error_of("beam_width = 2", "beam_widht = 2"),
        "search.beam_widht",
        "unknown field `beam_widht`, expected one of `strategy`, `beam_width`",
        20,
    );
    assert_names(
        error_of("", "\n[models.crss]\nmodel = \"x\"\n"),
        "models.crss",
        "unknown field `crss`",
        22,
    );
}

#[test]
fn an_element_of_a_list_is_named_by_its_position() {
    assert_names(
        error_of("\"http://b:8000/v1\"", "\"gpu-02:8000\""),
        "models.user.endpoints[1]",
        "endpoint `gpu-02:8000` is not an http(s) URL",
        15,
    );
    assert_names(
        error_of("\"http://b:8000/v1\"", "3"),
        "models.user.endpoints[1]",
        "invalid type: integer `3`, expected a string",
        15,
    );
    assert_names(
        error_of("output = \"out\"", "output = \"out\"\nseeds = [0, \"a\"]"),
        "run.seeds[1]",
        "expected u64",
        4,
    );
}

#[test]
fn a_model_role_setting_is_named_in_its_table() {
    assert_names(
        error_of("model = \"c\"", "model = \"c\"\ntimeout_s = 0"),
        "models.crs.timeout_s",
        "must be a positive number of seconds, not 0",
        13,
    );
    assert_names(
        error_of(
            "model = \"u\"",
            "model = \"u\"\nyes_no_token_ids = [[1], \"x\"]",
        ),
        "models.user.yes_no_token_ids",
        "expected \"off\", \"auto\"",
        17,
    );
}

#[test]
fn an_unusable_ca_file_is_named_when_the_config_is_read() {
    let (key, message) = error_of("model = \"c\"", "model = \"c\"\nca_file = \"nowhere.pem\"");
    assert_eq!(key, "models.crs.ca_file");
    assert!(
        message.starts_with(
            "DIR/sweep.toml: [models.crs] ca_file: cannot read the CA file DIR/nowhere.pem"
        ) && message.ends_with("(at line 13, column 1)"),
        "{message}"
    );
}

#[test]
fn a_bad_grid_value_is_named_by_its_axis_and_position() {
    let (key, message) = error_of("", "\n[grid]\n\"search.depth\" = [2, 3, \"x\"]\n");
    assert!(message.contains("(cell `depth=x`)"), "{message}");
    assert_names(
        (key, message),
        "grid.\"search.depth\"[2]",
        "invalid type: string \"x\", expected u32",
        23,
    );
    // A rule of the search broken by a grid value points at the grid, not at `[search]`.
    assert_names(
        error_of("", "\n[grid]\n\"search.beam_width\" = [1, 0]\n"),
        "grid.\"search.beam_width\"[1]",
        "beam width B must be at least 1",
        23,
    );
    // An unknown key as an axis is the axis itself.
    assert_names(
        error_of("", "\n[grid]\n\"search.bem_width\" = [1, 2]\n"),
        "grid.\"search.bem_width\"",
        "unknown field `bem_width`",
        23,
    );
}

#[test]
fn a_bad_variant_value_is_named_by_the_variant_and_its_key() {
    let two =
        "\n[[variant]]\nname = \"a\"\n\n[[variant]]\nname = \"b\"\nsearch.beam_width = \"wide\"\n";
    let (key, message) = error_of("", two);
    assert!(message.contains("(cell `b`)"), "{message}");
    assert_names(
        (key, message),
        "variant[1].search.beam_width",
        "expected u32",
        27,
    );
    assert_names(
        error_of("", "\n[[variant]]\nname = \"a\"\nuser.critiq = false\n"),
        "variant[0].user.critiq",
        "unknown field `critiq`",
        24,
    );
    let endpoints =
        "\n[[variant]]\nname = \"a\"\nmodels.user.endpoints = [\"http://x:1/v1\", \"ftp://y\"]\n";
    assert_names(
        error_of("", endpoints),
        "variant[0].models.user.endpoints[1]",
        "endpoint `ftp://y` is not an http(s) URL",
        24,
    );
    // In a subtable of the variant.
    let subtable = "\n[[variant]]\nname = \"a\"\n[variant.search]\nbeam_width = 0\n";
    assert_names(
        error_of("", subtable),
        "variant[0].search.beam_width",
        "beam width B must be at least 1",
        25,
    );
}

#[test]
fn a_rule_of_the_files_own_tables_is_named_there() {
    let (key, message) = error_of("beam_width = 2", "beam_width = 0");
    assert_eq!(key, "search.beam_width");
    assert_eq!(
        message,
        "DIR/sweep.toml: [search] beam_width: beam width B must be at least 1 (at line 20, column 1)"
    );
}
