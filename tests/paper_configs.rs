//! The ready configs of `config/paper/` load as sweeps (every cell deserialises and validates) and
//! have the rows of the paper's tables and figures, sharing searches where the paper's rows only
//! differ in how the same tree is ranked or truncated.

use std::collections::BTreeMap;
use std::path::Path;

use grsu::model::role::Role;
use grsu::sweep::Sweep;
use grsu_test_support::{repository_root, shared_data};

/// A data folder like the user's: the shared ReDial and INSPIRED files, plus a stand-in for
/// INSPIRED's catalog (not in the shared data; loading a sweep only checks that it exists).
fn data_folder(shared: &Path) -> tempfile::TempDir {
    let folder = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(shared.join("redial"), folder.path().join("redial")).unwrap();
    let inspired = folder.path().join("inspired");
    std::fs::create_dir(&inspired).unwrap();
    std::os::unix::fs::symlink(
        shared.join("inspired/test_data_processed.jsonl"),
        inspired.join("test_data_processed.jsonl"),
    )
    .unwrap();
    std::fs::write(inspired.join("movie2info.json"), "{}").unwrap();
    folder
}

#[test]
fn every_paper_config_loads_with_the_rows_of_its_table() {
    let Some(shared) = shared_data() else {
        return;
    };
    let data = data_folder(&shared);
    // Only this test reads GRSU_DATA.
    std::env::set_var("GRSU_DATA", data.path());
    let folder = repository_root().join("config/paper");
    // (cells, shared searches) per config.
    let expected: BTreeMap<&str, (usize, usize)> = BTreeMap::from([
        ("table3", (5, 5)),
        ("table4", (7, 6)),
        ("table5", (3, 3)),
        ("table6", (5, 5)),
        ("figure2", (4, 3)),
        ("figure3", (5, 1)),
    ]);
    let mut seen = 0;
    for (prefix, (cells, searches)) in &expected {
        for dataset in ["redial", "inspired"] {
            let path = folder.join(format!("{prefix}_{dataset}.toml"));
            let sweep = Sweep::load(&path).unwrap_or_else(|error| panic!("{error}"));
            assert_eq!(sweep.cells.len(), *cells, "{}", path.display());
            assert_eq!(sweep.searches.len(), *searches, "{}", path.display());
            assert_eq!(sweep.seeds, vec![0, 1, 2]);
            assert!(sweep
                .output
                .ends_with(format!("results/paper/{prefix}_{dataset}")));
            assert!(sweep
                .cells
                .iter()
                .all(|cell| cell.config.data.path.starts_with(data.path())));
            seen += 1;
        }
    }
    assert_eq!(
        std::fs::read_dir(&folder).unwrap().count(),
        seen,
        "a config in config/paper/ is not checked here"
    );

    // Spot checks of what the rows mean.
    let table6 = Sweep::load(&folder.join("table6_redial.toml")).unwrap();
    let greedy = table6.cell("Greedy search (large)").unwrap();
    let settings = greedy.config.search_settings(0);
    assert_eq!((settings.beam_width, settings.expand_width), (1, 16));
    let table4 = Sweep::load(&folder.join("table4_inspired.toml")).unwrap();
    let base_critic = table4.cell("critiquing - instruction tuning").unwrap();
    assert_eq!(
        base_critic.config.role(Role::Critique).model.as_deref(),
        Some("meta-llama/Llama-3.1-8B-Instruct")
    );
    assert_eq!(
        base_critic.config.role(Role::User).model.as_deref(),
        Some("grsu-user")
    );
    let discriminative = table4.cell("discriminative scoring").unwrap();
    assert_eq!(discriminative.config.roles_used(), Role::RUN);
    let grsu = table4.cell("GRSU").unwrap();
    assert_eq!(
        grsu.config.roles_used(),
        [Role::Crs, Role::User, Role::Critique]
    );
    assert_eq!(
        grsu.config.role(Role::Critique),
        grsu.config.role(Role::User)
    );
}
