//! The scoring examples of one history (paper, section 4.1: "we sample one additional item as a
//! negative sample for each ground-truth item"): per label item, the engine's scoring prompt about
//! it with the answer `Accept the recommendation (Yes/No)? Yes`, and per sampled negative the same
//! prompt with `No`.
//!
//! The prompts are [`score_messages`](crate::prompts::score_messages), the very function the
//! engine asks with, so the answer is read back by the engine's parser exactly as at inference (a
//! test feeds it through `read_score`). Negatives are distinct items of the catalog minus every
//! label of the history, drawn from the stream `score/negatives` of the sample.
//!
//! With `item` context (the default, the reference's) the prompt holds the asked item alone. With
//! `list` context each label gets a list of k items: the label, its negatives and further
//! negatives, shuffled (stream `score/list/{p}` for the label at position p); the label and each of
//! its negatives are asked about within that list.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::config::ScoreSection;
use super::example::{ExampleKind, ExampleMeta, TrainingExample};
use super::lists::label_items;
use super::sampling::{choice_rng, sample_negatives};
use crate::catalog::{Catalog, Item, ItemIndex};
use crate::config::ScoreContext;
use crate::data::Sample;
use crate::prompts::score_training_example;

/// What scoring synthesis produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ScoreCounts {
    /// Histories (recommendation turns) read.
    pub histories: u64,
    /// Examples answered Yes (one per label item).
    pub positives: u64,
    /// Examples answered No.
    pub negatives: u64,
    /// All examples.
    pub score_examples: u64,
    /// Negatives short of `negatives_per_positive` per label (a catalog too small to supply them).
    pub negatives_missing: u64,
}

fn example(
    sample: &Sample,
    item: &Item,
    list: Option<&[&Item]>,
    settings: &ScoreSection,
    accept: bool,
) -> TrainingExample {
    TrainingExample {
        messages: score_training_example(&sample.history, item, list, settings.view(), accept),
        meta: ExampleMeta {
            kind: ExampleKind::Score,
            sample: sample.id.clone(),
            list: None,
            labels_in_list: None,
            item: Some(item.title.clone()),
            answer: Some(if accept { "Yes" } else { "No" }.to_string()),
        },
    }
}

/// The scoring examples of one history, and adds them to `counts`.
pub fn score_examples(
    sample: &Sample,
    catalog: &Catalog,
    settings: &ScoreSection,
    seed: u64,
    counts: &mut ScoreCounts,
) -> Vec<TrainingExample> {
    let labels = label_items(sample, catalog);
    let per_label = settings.negatives_per_positive;
    let mut excluded: BTreeSet<ItemIndex> = labels.iter().copied().collect();
    let drawn = sample_negatives(
        &mut choice_rng(seed, &sample.id, "score/negatives"),
        catalog.len(),
        &excluded,
        labels.len() * per_label,
    );
    excluded.extend(drawn.iter().copied());
    counts.histories += 1;
    counts.negatives_missing += (labels.len() * per_label - drawn.len()) as u64;
    let mut examples = Vec::with_capacity(labels.len() * (1 + per_label));
    for (position, &label) in labels.iter().enumerate() {
        let negatives: Vec<ItemIndex> = drawn
            .iter()
            .skip(position * per_label)
            .take(per_label)
            .copied()
            .collect();
        let list: Option<Vec<ItemIndex>> = match settings.score_context {
            ScoreContext::Item => None,
            ScoreContext::List => {
                let mut rng = choice_rng(seed, &sample.id, &format!("score/list/{position}"));
                let mut list = vec![label];
                list.extend(&negatives);
                let padding = settings.list_length.saturating_sub(list.len());
                list.extend(sample_negatives(
                    &mut rng,
                    catalog.len(),
                    &excluded,
                    padding,
                ));
                rng.shuffle(&mut list);
                Some(list)
            }
        };
        let list_items: Option<Vec<&Item>> = list
            .as_ref()
            .map(|list| list.iter().map(|&index| catalog.item(index)).collect());
        let shown = list_items.as_deref();
        examples.push(example(sample, catalog.item(label), shown, settings, true));
        counts.positives += 1;
        for &negative in &negatives {
            examples.push(example(
                sample,
                catalog.item(negative),
                shown,
                settings,
                false,
            ));
            counts.negatives += 1;
        }
    }
    counts.score_examples += examples.len() as u64;
    examples
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::scoring::ANSWER_PREFIX;
    use crate::prompts::{score_messages, SCORE_TASK};
    use crate::synth::lists::tests::{catalog, sample};

    fn settings(negatives: usize, context: ScoreContext) -> ScoreSection {
        ScoreSection {
            negatives_per_positive: negatives,
            score_context: context,
            ..ScoreSection::default()
        }
    }

    #[test]
    fn one_positive_and_n_negatives_per_label_none_of_them_a_label() {
        let catalog = catalog(200);
        let sample = sample("c:1", &[3, 40, 41]);
        let labels: BTreeSet<String> = sample.labels.iter().cloned().collect();
        for negatives in [1, 3] {
            let mut counts = ScoreCounts::default();
            let examples = score_examples(
                &sample,
                &catalog,
                &settings(negatives, ScoreContext::Item),
                0,
                &mut counts,
            );
            assert_eq!(examples.len(), 3 * (1 + negatives));
            assert_eq!(
                counts,
                ScoreCounts {
                    histories: 1,
                    positives: 3,
                    negatives: 3 * negatives as u64,
                    score_examples: examples.len() as u64,
                    negatives_missing: 0,
                }
            );
            let mut asked_negatives = BTreeSet::new();
            for (index, example) in examples.iter().enumerate() {
                let item = example.meta.item.clone().unwrap();
                let positive = index % (1 + negatives) == 0;
                assert_eq!(labels.contains(&item), positive, "{item}");
                let answer = if positive { "Yes" } else { "No" };
                assert_eq!(example.meta.answer.as_deref(), Some(answer));
                assert_eq!(example.target(), format!("{ANSWER_PREFIX} {answer}"));
                // Exactly the engine's prompt (item context), and it names no other label.
                let index = catalog.index_of(&item).unwrap();
                let asked = score_messages(&sample.history, catalog.item(index), None, true);
                assert_eq!(example.prompt(), &asked[..]);
                let prompt = &example.prompt()[0].content;
                assert!(prompt.contains(SCORE_TASK));
                for label in labels.iter().filter(|label| **label != item) {
                    assert!(!prompt.contains(label.as_str()));
                }
                if !positive {
                    assert!(asked_negatives.insert(item), "a negative used twice");
                }
            }
        }
    }

    #[test]
    fn list_context_asks_within_a_list_of_k_holding_one_label() {
        let catalog = catalog(200);
        let sample = sample("c:2", &[5, 6]);
        let mut counts = ScoreCounts::default();
        let examples = score_examples(
            &sample,
            &catalog,
            &settings(2, ScoreContext::List),
            1,
            &mut counts,
        );
        assert_eq!(examples.len(), 2 * 3);
        for example in &examples {
            let prompt = &example.prompt()[0].content;
            let list = prompt
                .split("## Recommendation By System\n\n")
                .nth(1)
                .unwrap()
                .split("\n\n## Instruction")
                .next()
                .unwrap();
            let numbered = list.lines().filter(|line| !line.starts_with(' ')).count();
            assert_eq!(numbered, 10);
            let shown_labels = sample
                .labels
                .iter()
                .filter(|label| list.contains(label.as_str()))
                .count();
            assert_eq!(shown_labels, 1);
            assert!(prompt.contains("## Recommendation To Answer"));
        }
    }

    #[test]
    fn examples_are_deterministic_given_the_seed() {
        let catalog = catalog(200);
        let sample = sample("c:3", &[1, 2]);
        let run = |seed| {
            score_examples(
                &sample,
                &catalog,
                &settings(1, ScoreContext::Item),
                seed,
                &mut ScoreCounts::default(),
            )
        };
        assert_eq!(run(0), run(0));
        assert_ne!(run(0), run(1));
    }
}
