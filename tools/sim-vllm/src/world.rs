//! The world the simulated models know: a catalog and a dataset, so that from the conversation in
//! a prompt the server finds the sample being worked on, and hence its labels.
//!
//! grsu's prompts open with the conversation rendered by [`grsu::prompts::render_history`]; the
//! world renders every sample's history the same way and indexes it by a hash, so a prompt's
//! `## Conversation` section leads back to the sample. Samples that share a history (the same
//! dialogue prefix in two conversations) share the labels of the first one. A conversation that
//! is not in the dataset is answered as an unknown user (no labels).
//!
//! Besides labels, the world keeps what the answers need per sample: the lowercase attribute values
//! of its labels (to tell whether a critique is informative and how close an item is to the
//! preference), and a popularity order of the catalog, from which the simulated CRS draws the
//! items that are not labels (so lists overlap, as an LLM's favourite titles do).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use grsu::catalog::{Catalog, CatalogFormat, Item, ItemIndex};
use grsu::data::{Dataset, DatasetFormat, LoadOptions, Sample};
use grsu::prompts::render_history;
use grsu::InputError;

use crate::random::{hash_str, Rng};

/// One sample as the simulator sees it.
#[derive(Debug, Clone)]
pub struct WorldSample {
    pub sample: Sample,
    /// The catalog items among the labels, in order.
    pub labels: Vec<ItemIndex>,
    /// The lowercase attribute values (genre, star, director, writer) of the labels.
    pub label_values: HashSet<String>,
}

impl WorldSample {
    pub fn is_label(&self, item: ItemIndex) -> bool {
        self.labels.contains(&item)
    }

    /// Whether `text` names an attribute value of a label (case-insensitive, values of at least 3
    /// characters): what makes a critique informative for the CRS.
    pub fn mentions_label_attribute(&self, text: &str) -> bool {
        let text = text.to_lowercase();
        self.label_values
            .iter()
            .any(|value| value.chars().count() >= 3 && text.contains(value.as_str()))
    }
}

/// The catalog and the samples, shared by every replica of a fleet.
#[derive(Debug, Clone)]
pub struct World {
    catalog: Catalog,
    samples: Vec<WorldSample>,
    by_history: HashMap<u64, usize>,
    /// Catalog items, most popular first.
    popularity: Vec<ItemIndex>,
    /// Cumulative popularity weights, in `popularity` order.
    cumulative: Vec<f64>,
}

/// The lowercase attribute values of an item (genre, star, director, writer).
pub fn attribute_values(item: &Item) -> impl Iterator<Item = String> + '_ {
    let attributes = &item.attributes;
    attributes
        .genre
        .iter()
        .chain(&attributes.star)
        .chain(&attributes.director)
        .chain(&attributes.writer)
        .map(|value| value.trim().to_lowercase())
        .filter(|value| !value.is_empty())
}

impl World {
    /// A world of `catalog` and the `samples` of a dataset read with that catalog.
    pub fn new(catalog: Catalog, samples: Vec<Sample>) -> Self {
        let mut by_history = HashMap::new();
        let samples: Vec<WorldSample> = samples
            .into_iter()
            .map(|sample| {
                let labels: Vec<ItemIndex> = sample
                    .labels
                    .iter()
                    .filter_map(|title| catalog.index_of(title))
                    .collect();
                let label_values = labels
                    .iter()
                    .flat_map(|&item| attribute_values(catalog.item(item)))
                    .collect();
                WorldSample {
                    sample,
                    labels,
                    label_values,
                }
            })
            .collect();
        for (index, sample) in samples.iter().enumerate() {
            by_history
                .entry(hash_str(&render_history(&sample.sample.history)))
                .or_insert(index);
        }
        // Popularity: a fixed pseudo-random order of the catalog (by title hash), with Zipf-like
        // weights 1 / (rank + 5), so a few dozen titles come up often and the rest now and then,
        // as an LLM's favourite titles do.
        let mut popularity: Vec<ItemIndex> = (0..catalog.len()).collect();
        popularity.sort_by_key(|&item| hash_str(&catalog.item(item).title));
        let mut total = 0.0;
        let cumulative = (0..popularity.len())
            .map(|rank| {
                total += 1.0 / (rank as f64 + 5.0);
                total
            })
            .collect();
        World {
            catalog,
            samples,
            by_history,
            popularity,
            cumulative,
        }
    }

    /// Reads a catalog and, optionally, a dataset (all its samples, labels restricted to the
    /// catalog), with grsu's own readers.
    pub fn load(
        catalog: &Path,
        catalog_format: CatalogFormat,
        data: Option<(&Path, DatasetFormat)>,
    ) -> Result<Self, InputError> {
        let catalog = Catalog::load(catalog, catalog_format)?;
        let samples = match data {
            Some((path, format)) => {
                let options = LoadOptions {
                    catalog: Some(&catalog),
                    only_new: false,
                };
                Dataset::load(path, format, options)?.samples
            }
            None => Vec::new(),
        };
        Ok(World::new(catalog, samples))
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn samples(&self) -> &[WorldSample] {
        &self.samples
    }

    /// The sample whose rendered history is `conversation` (the text of a prompt's
    /// `## Conversation` section).
    pub fn sample_of_conversation(&self, conversation: &str) -> Option<&WorldSample> {
        self.by_history
            .get(&hash_str(conversation))
            .map(|&index| &self.samples[index])
    }

    /// The sample with this id.
    pub fn sample_by_id(&self, id: &str) -> Option<&WorldSample> {
        self.samples.iter().find(|sample| sample.sample.id == id)
    }

    /// A catalog item drawn by popularity.
    pub fn popular_item(&self, rng: &mut Rng) -> Option<ItemIndex> {
        let total = *self.cumulative.last()?;
        let target = rng.unit() * total;
        let rank = self.cumulative.partition_point(|&weight| weight <= target);
        Some(self.popularity[rank.min(self.popularity.len() - 1)])
    }

    /// The fraction of `item`'s attribute values that the sample's labels share (0 without any).
    pub fn closeness(&self, item: ItemIndex, sample: &WorldSample) -> f64 {
        let values: Vec<String> = attribute_values(self.catalog.item(item)).collect();
        if values.is_empty() {
            return 0.0;
        }
        let shared = values
            .iter()
            .filter(|value| sample.label_values.contains(*value))
            .count();
        shared as f64 / values.len() as f64
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The project's demo world (data/demo).
    pub(crate) fn demo_world() -> World {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/demo");
        World::load(
            &root.join("movie2info.json"),
            CatalogFormat::Auto,
            Some((&root.join("conversations.jsonl"), DatasetFormat::Grsu)),
        )
        .expect("the demo dataset loads")
    }

    #[test]
    fn conversations_lead_back_to_their_samples() {
        let world = demo_world();
        assert!(world.samples().len() >= 10);
        for sample in world.samples() {
            let found = world
                .sample_of_conversation(&render_history(&sample.sample.history))
                .unwrap();
            assert_eq!(found.labels, sample.labels);
        }
        assert!(world.sample_of_conversation("User: hello").is_none());
        let with_labels = world
            .samples()
            .iter()
            .find(|s| !s.labels.is_empty())
            .unwrap();
        let label = world.catalog().item(with_labels.labels[0]);
        let director = &label.attributes.director[0];
        assert!(with_labels.mentions_label_attribute(&format!("Something by {director}?")));
        assert!(!with_labels.mentions_label_attribute("nothing in particular"));
        assert!(world.closeness(with_labels.labels[0], with_labels) > 0.99);
    }

    #[test]
    fn popular_items_come_up_more_often() {
        let world = demo_world();
        let mut rng = Rng::new(3);
        let mut counts = HashMap::new();
        for _ in 0..5000 {
            *counts
                .entry(world.popular_item(&mut rng).unwrap())
                .or_insert(0) += 1;
        }
        let top = counts.get(&world.popularity[0]).copied().unwrap_or(0);
        let tail = counts
            .get(world.popularity.last().unwrap())
            .copied()
            .unwrap_or(0);
        assert!(top > 3 * tail.max(1), "{top} vs {tail}");
    }
}
