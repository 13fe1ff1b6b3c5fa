use std::path::PathBuf;

use super::*;
use crate::config::StrategyName;

fn demo(file: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data/demo")
        .join(file)
        .display()
        .to_string()
}

/// Writes `extra` after a valid base config into a temporary folder and loads it.
fn load(extra: &str) -> (tempfile::TempDir, Result<Sweep, ConfigError>) {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("sweep.toml");
    let text = format!(
        r#"
[run]
name = "ablation"
seeds = [0, 1]
output = "out"

[data]
format = "grsu"
path = "{}"
catalog = "{}"

[search]
strategy = "beam"
beam_width = 2
expand_width = 2
depth = 3
list_length = 4

[output]
strategies = ["reward-mean"]
{extra}
"#,
        demo("conversations.jsonl"),
        demo("movie2info.json")
    );
    std::fs::write(&path, text).unwrap();
    let sweep = Sweep::load(&path);
    (folder, sweep)
}

#[test]
fn a_plain_config_is_one_cell_named_after_the_run() {
    let (_folder, sweep) = load("");
    let sweep = sweep.unwrap();
    assert_eq!(sweep.cells.len(), 1);
    assert_eq!(sweep.cells[0].name, "ablation");
    assert_eq!(sweep.searches.len(), 1);
    assert_eq!(sweep.seeds, vec![0, 1]);
    assert!(sweep.output.ends_with("out"));
}

#[test]
fn a_grid_is_the_cartesian_product_in_file_order() {
    let (_folder, sweep) = load(
        "[grid]\n\"user.critique\" = [true, false]\n\"search.strategy\" = [\"beam\", \"greedy\"]\n",
    );
    let sweep = sweep.unwrap();
    let names: Vec<&str> = sweep.cells.iter().map(|cell| cell.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "critique=true, strategy=beam",
            "critique=true, strategy=greedy",
            "critique=false, strategy=beam",
            "critique=false, strategy=greedy"
        ]
    );
    assert_eq!(sweep.cells[3].config.search.strategy, StrategyName::Greedy);
    assert!(!sweep.cells[3].config.user.critique);
    // Four different searches: strategy and critique both change the requests.
    assert_eq!(sweep.searches.len(), 4);
}

#[test]
fn output_strategies_and_depths_share_one_search() {
    let (_folder, sweep) = load(
        "[grid]\n\"output.strategies\" = [[\"reward-mean\"], [\"vote\"]]\n\"search.depth\" = [1, 3]\n",
    );
    let sweep = sweep.unwrap();
    assert_eq!(sweep.cells.len(), 4);
    assert_eq!(sweep.searches.len(), 1, "one search serves every cell");
    let search = &sweep.searches[0];
    assert_eq!(search.config.search.depth, 3);
    assert_eq!(
        search.config.output.strategies,
        vec![OutputStrategy::RewardMean, OutputStrategy::Vote]
    );
    let depths: Vec<Option<u32>> = sweep.cells.iter().map(|cell| cell.depth).collect();
    // Every cell names its depth, the deepest too: a store searched deeper later must still
    // report each cell at its own depth.
    assert_eq!(depths, [Some(1), Some(3), Some(1), Some(3)]);
}

#[test]
fn depth_is_not_shared_by_search_methods_that_ignore_it() {
    let (_folder, sweep) =
        load("[grid]\n\"search.strategy\" = [\"none\"]\n\"search.depth\" = [1, 3]\n");
    let sweep = sweep.unwrap();
    assert_eq!(sweep.searches.len(), 2);
    assert!(sweep.cells.iter().all(|cell| cell.depth.is_none()));
}

#[test]
fn variants_multiply_the_grid_and_name_the_cells() {
    let (_folder, sweep) = load(
        "[[variant]]\nname = \"GRSU\"\n[[variant]]\nname = \"- critiquing\"\nuser.critique = false\n[grid]\n\"search.depth\" = [2, 3]\n",
    );
    let sweep = sweep.unwrap();
    let names: Vec<&str> = sweep.cells.iter().map(|cell| cell.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "GRSU, depth=2",
            "GRSU, depth=3",
            "- critiquing, depth=2",
            "- critiquing, depth=3"
        ]
    );
    assert!(sweep.cells[0].config.user.critique);
    assert!(!sweep.cells[2].config.user.critique);
    assert_eq!(sweep.searches.len(), 2);
    assert_eq!(
        sweep.cells[2].assignments[0],
        ("user.critique".to_string(), "false".to_string())
    );
}

#[test]
fn a_misspelt_grid_key_fails_naming_the_cell_and_key() {
    let (_folder, sweep) = load("[grid]\n\"search.detph\" = [1, 2]\n");
    let message = sweep.unwrap_err().to_string();
    assert!(message.contains("cell `detph=1`"), "{message}");
    assert!(message.contains("detph"), "{message}");
}

#[test]
fn an_invalid_cell_value_fails_naming_the_cell() {
    let (_folder, sweep) = load("[grid]\n\"search.beam_width\" = [2, 0]\n");
    let message = sweep.unwrap_err().to_string();
    assert!(message.contains("cell `beam_width=0`"), "{message}");
}

#[test]
fn run_keys_cannot_vary_and_grid_values_must_be_lists() {
    let (_folder, sweep) = load("[grid]\n\"run.seeds\" = [[0], [1]]\n");
    assert!(sweep
        .unwrap_err()
        .to_string()
        .contains("belongs to the whole sweep"));
    let (_folder, sweep) = load("[grid]\n\"search.depth\" = 3\n");
    assert!(sweep
        .unwrap_err()
        .to_string()
        .contains("grid values are lists"));
    let (_folder, sweep) = load("[grid]\n\"search.depth\" = []\n");
    assert!(sweep
        .unwrap_err()
        .to_string()
        .contains("at least one value"));
}

#[test]
fn duplicate_variant_names_are_refused() {
    let (_folder, sweep) = load("[[variant]]\nname = \"a\"\n[[variant]]\nname = \"a\"\n");
    assert!(sweep
        .unwrap_err()
        .to_string()
        .contains("two cells are named `a`"));
}

#[test]
fn a_grid_of_too_many_cells_is_refused_before_it_is_expanded() {
    // 10^8 cells: expanding them first would exhaust memory.
    let axes: String = ["depth", "beam_width", "expand_width", "list_length"]
        .iter()
        .flat_map(|key| {
            ["search", "user"]
                .map(|table| format!("\"{table}.{key}\" = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"))
        })
        .collect();
    let (_folder, sweep) = load(&format!("[grid]\n{axes}"));
    let error = sweep.unwrap_err().to_string();
    assert!(error.contains("more than 10000 cells"), "{error}");
    assert!(error.contains("sweep.toml"), "{error}");
    // Exactly the limit is accepted as far as the count goes.
    let (_folder, sweep) = load("[grid]\n\"search.depth\" = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n");
    assert_eq!(sweep.unwrap().cells.len(), 10);
}

#[test]
fn the_hash_changes_with_the_cells_and_not_with_the_output_folder() {
    let (_a, first) = load("[grid]\n\"search.depth\" = [1, 3]\n");
    let (_b, same) = load("[grid]\n\"search.depth\" = [1, 3]\n");
    let (_c, other) = load("[grid]\n\"search.depth\" = [1, 2]\n");
    let (first, same, other) = (first.unwrap(), same.unwrap(), other.unwrap());
    assert_ne!(first.output, same.output, "different temporary folders");
    assert_eq!(first.hash(), same.hash());
    assert_ne!(first.hash(), other.hash());
}

#[test]
fn a_plain_run_config_refuses_a_grid() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("c.toml");
    std::fs::write(&path, "[grid]\n\"search.depth\" = [1]\n").unwrap();
    let message = RunConfig::load(&path).unwrap_err().to_string();
    assert!(message.contains("load the file as a sweep"), "{message}");
}

#[test]
fn the_crs_token_budget_fits_the_list_unless_set() {
    let (_folder, sweep) = load(
        "[[variant]]\nname = \"search\"\n[[variant]]\nname = \"zero shot\"\nsearch.strategy = \"none\"\n[[variant]]\nname = \"set\"\nsearch.strategy = \"none\"\ncrs.max_tokens = 300\n",
    );
    let sweep = sweep.unwrap();
    let budgets: Vec<u32> = sweep
        .cells
        .iter()
        .map(|cell| cell.config.crs_max_tokens())
        .collect();
    // k = 4 with search; 50 items without (40 tokens each); an explicit budget wins.
    assert_eq!(budgets, [512, 2000, 300]);
}
