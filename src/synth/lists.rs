//! The item lists of critique synthesis (paper, section 3.2.2 and 4.1): for one history, a list per
//! kept subset of its labels, padded to k items with negatives, plus lists of negatives only.
//!
//! Negatives are drawn uniformly from the catalog minus *every* label of the history (not only the
//! subset's) and minus the items already in the list; the list is then shuffled, so label items
//! sit anywhere in it rather than always on top. Each list draws from its own stream, named by
//! what it is (`critique/subset/{rank}`, `critique/no-label/{j}`), so a list is the same whatever
//! the cap keeps or however many lists come before it; that name is also the path of its teacher
//! requests' seeds.

use std::collections::BTreeSet;

use super::config::CritiqueSection;
use super::sampling::{choice_rng, sample_negatives};
use super::subsets::kept_subsets;
use crate::catalog::{Catalog, ItemIndex};
use crate::data::Sample;

/// One list to critique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CritiqueList {
    /// What the list is (`critique/subset/{rank}` or `critique/no-label/{j}`): its random stream and
    /// the path of its teacher requests' seeds.
    pub path: String,
    /// The items, in the order shown.
    pub items: Vec<ItemIndex>,
    /// How many of them are labels.
    pub labels_in_list: usize,
}

/// The lists of one history and what the cap left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryLists {
    /// The history's labels in the catalog, in order of mention.
    pub labels: Vec<ItemIndex>,
    /// Lists with label items first (in subset order), then lists without.
    pub lists: Vec<CritiqueList>,
    /// Label subsets of fewer than k items, before the cap.
    pub subsets_total: u128,
    /// Subsets left out by the cap.
    pub subsets_capped: u128,
}

/// The history's labels as catalog items (a reader given the catalog only yields such labels).
pub fn label_items(sample: &Sample, catalog: &Catalog) -> Vec<ItemIndex> {
    sample
        .labels
        .iter()
        .filter_map(|title| catalog.index_of(title))
        .collect()
}

/// The lists to critique for one history.
pub fn critique_lists(
    sample: &Sample,
    catalog: &Catalog,
    settings: &CritiqueSection,
    seed: u64,
) -> HistoryLists {
    let labels = label_items(sample, catalog);
    let k = settings.list_length;
    let all_labels: BTreeSet<ItemIndex> = labels.iter().copied().collect();
    let kept = kept_subsets(
        labels.len(),
        k,
        settings.max_subsets_per_history,
        &mut choice_rng(seed, &sample.id, "critique/subsets"),
    );
    let padded = |path: String, chosen: Vec<ItemIndex>| {
        let mut rng = choice_rng(seed, &sample.id, &path);
        let labels_in_list = chosen.len();
        let mut items = chosen;
        items.extend(sample_negatives(
            &mut rng,
            catalog.len(),
            &all_labels,
            k - labels_in_list,
        ));
        rng.shuffle(&mut items);
        CritiqueList {
            path,
            items,
            labels_in_list,
        }
    };
    let mut lists: Vec<CritiqueList> = kept
        .subsets
        .iter()
        .map(|subset| {
            let chosen = subset
                .labels
                .iter()
                .map(|&position| labels[position])
                .collect();
            padded(format!("critique/subset/{}", subset.rank), chosen)
        })
        .collect();
    lists.extend(
        (0..settings.lists_without_labels)
            .map(|j| padded(format!("critique/no-label/{j}"), Vec::new())),
    );
    HistoryLists {
        labels,
        lists,
        subsets_total: kept.total,
        subsets_capped: kept.capped(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::catalog::{Item, ItemAttributes};
    use crate::data::{Role, Turn};

    pub(crate) fn catalog(size: usize) -> Catalog {
        Catalog::from_items((0..size).map(|i| Item {
            title: format!("Film {i} (2000)"),
            attributes: ItemAttributes {
                genre: vec![format!("genre{}", i % 7)],
                ..Default::default()
            },
        }))
    }

    pub(crate) fn sample(id: &str, labels: &[usize]) -> Sample {
        Sample {
            id: id.into(),
            conversation: "c".into(),
            turn: "1".into(),
            history: vec![Turn {
                role: Role::User,
                text: "Something tense, please.".into(),
            }],
            labels: labels.iter().map(|i| format!("Film {i} (2000)")).collect(),
        }
    }

    fn settings(cap: usize) -> CritiqueSection {
        CritiqueSection {
            max_subsets_per_history: cap,
            ..CritiqueSection::default()
        }
    }

    #[test]
    fn every_subset_is_a_list_of_k_with_no_other_label_and_one_list_has_none() {
        let catalog = catalog(300);
        let sample = sample("c:1", &[4, 17, 250]);
        let lists = critique_lists(&sample, &catalog, &settings(64), 0);
        assert_eq!(lists.labels, vec![4, 17, 250]);
        assert_eq!((lists.subsets_total, lists.subsets_capped), (7, 0));
        assert_eq!(lists.lists.len(), 7 + 1);
        let labels: BTreeSet<ItemIndex> = lists.labels.iter().copied().collect();
        let mut subsets_seen = BTreeSet::new();
        for list in &lists.lists {
            assert_eq!(list.items.len(), 10);
            let distinct: BTreeSet<_> = list.items.iter().copied().collect();
            assert_eq!(distinct.len(), 10, "no item twice in a list");
            let in_list: Vec<ItemIndex> = list
                .items
                .iter()
                .copied()
                .filter(|item| labels.contains(item))
                .collect();
            assert_eq!(in_list.len(), list.labels_in_list);
            let mut sorted = in_list.clone();
            sorted.sort_unstable();
            subsets_seen.insert(sorted);
        }
        // Seven distinct label subsets, and the empty one for the list without labels.
        assert_eq!(subsets_seen.len(), 8);
        let last = lists.lists.last().unwrap();
        assert_eq!(
            (last.labels_in_list, last.path.as_str()),
            (0, "critique/no-label/0")
        );
        assert_eq!(
            lists
                .lists
                .iter()
                .map(|l| l.labels_in_list)
                .collect::<Vec<_>>(),
            vec![1, 1, 1, 2, 2, 2, 3, 0]
        );
    }

    #[test]
    fn the_cap_counts_what_it_leaves_out_and_lists_do_not_depend_on_it() {
        let catalog = catalog(500);
        let sample = sample("c:2", &[1, 2, 3, 4, 5, 6]);
        let all = critique_lists(&sample, &catalog, &settings(1000), 9);
        assert_eq!((all.subsets_total, all.subsets_capped), (63, 0));
        let capped = critique_lists(&sample, &catalog, &settings(5), 9);
        assert_eq!((capped.subsets_total, capped.subsets_capped), (63, 58));
        assert_eq!(capped.lists.len(), 5 + 1);
        // A kept subset's list is the same list with or without the cap.
        for list in &capped.lists {
            assert!(all.lists.contains(list), "{list:?}");
        }
    }

    #[test]
    fn lists_are_deterministic_given_the_seed() {
        let catalog = catalog(300);
        let sample = sample("c:3", &[7, 8]);
        let a = critique_lists(&sample, &catalog, &settings(64), 3);
        assert_eq!(a, critique_lists(&sample, &catalog, &settings(64), 3));
        assert_ne!(a, critique_lists(&sample, &catalog, &settings(64), 4));
        let no_label = CritiqueSection {
            lists_without_labels: 3,
            ..settings(64)
        };
        let more = critique_lists(&sample, &catalog, &no_label, 3);
        assert_eq!(more.lists.len(), 3 + 3);
        assert!(more.lists[3..].iter().all(|list| list.labels_in_list == 0));
    }

    #[test]
    fn labels_as_many_as_k_give_subsets_below_k_only() {
        let catalog = catalog(100);
        let sample = sample("c:4", &[0, 1, 2, 3]);
        let short = CritiqueSection {
            list_length: 3,
            ..settings(1000)
        };
        let lists = critique_lists(&sample, &catalog, &short, 0);
        assert_eq!(lists.subsets_total, 4 + 6);
        assert!(lists.lists.iter().all(|list| list.items.len() == 3));
        assert!(lists.lists.iter().all(|list| list.labels_in_list < 3));
    }
}
