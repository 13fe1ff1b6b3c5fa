//! Critique synthesis (paper, section 3.2.2): for every list of every history, the teacher reads
//! the conversation, the list with attributes, the ground-truth preference (the history's label
//! items with attributes) and d^c, and writes a critique; the training example is the engine's
//! critique prompt for that list, *without* the preference, with the critique as the answer.
//!
//! A critique is asked again, with the next attempt's seed, when it is invalid for the engine
//! ([`validate_critique`]: cut by the length limit, empty) or when it leaks the preference: names a
//! label item that is not in the list, or echoes the preference section's wording. The model being
//! trained never sees the preference, so it must not learn to name items it cannot know (ours; the
//! paper relies on the teacher's wording). After
//! [`CRITIQUE_MAX_ATTEMPTS`] the list gives no example and is counted as failed.
//!
//! Lists are worked on `max_in_flight` at a time and their examples come out in the order of the
//! histories and their lists, whatever order the teacher answers in, so the output is the same
//! file on every run.

use std::cell::RefCell;

use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

use super::config::CritiqueSection;
use super::example::{ExampleKind, ExampleMeta, TrainingExample};
use super::lists::{critique_lists, label_items, CritiqueList, HistoryLists};
use super::progress::SynthProgress;
use super::subsets::subset_count;
use super::teacher::{teacher_context, Teacher};
use crate::catalog::{Catalog, Item};
use crate::data::Sample;
use crate::model::{ChatRequest, ModelError};
use crate::prompts::{
    critique_teacher_request, critique_training_example, retry_temperature, validate_critique,
    CRITIQUE_MAX_ATTEMPTS,
};
use crate::seeds::request_seed;

/// What critique synthesis produced and left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CritiqueCounts {
    /// Histories (recommendation turns) read.
    pub histories: u64,
    /// Their label items.
    pub labels: u64,
    /// Label subsets of fewer than k items, before the cap.
    pub subsets_total: u64,
    /// Subsets left out by `max_subsets_per_history`.
    pub subsets_capped: u64,
    /// Histories that had subsets left out.
    pub histories_capped: u64,
    /// Lists holding label items (one per kept subset).
    pub lists_with_labels: u64,
    /// Lists of negatives only.
    pub lists_without_labels: u64,
    /// Examples written (one per list that got a valid critique).
    pub critique_examples: u64,
    /// Of which from lists holding label items.
    pub examples_with_labels: u64,
    /// Lists without a valid critique after every attempt.
    pub failed_lists: u64,
    /// Teacher answers rejected as invalid (cut by the length limit, empty).
    pub invalid_answers: u64,
    /// Teacher answers rejected for leaking the preference (naming a label item absent from the
    /// list, or echoing the preference section).
    pub answers_leaking_preference: u64,
    /// Lists whose teacher call failed (connection, server): asked again by the next run.
    pub teacher_errors: u64,
}

impl CritiqueCounts {
    /// Adds the history-level counts of one history's lists.
    fn add_history(&mut self, lists: &HistoryLists) {
        self.histories += 1;
        self.labels += lists.labels.len() as u64;
        self.subsets_total += lists.subsets_total.min(u64::MAX as u128) as u64;
        self.subsets_capped += lists.subsets_capped.min(u64::MAX as u128) as u64;
        self.histories_capped += u64::from(lists.subsets_capped > 0);
        for list in &lists.lists {
            if list.labels_in_list > 0 {
                self.lists_with_labels += 1;
            } else {
                self.lists_without_labels += 1;
            }
        }
    }
}

/// The lists critique synthesis would make, counted without asking the teacher (the example
/// and failure counts stay 0): what a synthesis will cost before it is run.
pub fn plan_critiques(
    samples: &[Sample],
    catalog: &Catalog,
    settings: &CritiqueSection,
    seed: u64,
) -> CritiqueCounts {
    let mut counts = CritiqueCounts::default();
    for sample in samples {
        counts.add_history(&critique_lists(sample, catalog, settings, seed));
    }
    counts
}

/// The number of lists critique synthesis will make for `samples` (for a progress bar).
pub fn planned_lists(samples: &[Sample], catalog: &Catalog, settings: &CritiqueSection) -> u64 {
    samples
        .iter()
        .map(|sample| {
            let labels = label_items(sample, catalog).len();
            let subsets = subset_count(labels, settings.list_length)
                .min(settings.max_subsets_per_history as u128);
            subsets as u64 + settings.lists_without_labels as u64
        })
        .sum()
}

/// The teacher request for `list` of `sample`, at attempt `attempt` (0-based).
pub fn teacher_request(
    sample: &Sample,
    catalog: &Catalog,
    labels: &[&Item],
    list: &CritiqueList,
    settings: &CritiqueSection,
    seed: u64,
    attempt: u32,
) -> ChatRequest {
    let items: Vec<&Item> = list
        .items
        .iter()
        .map(|&index| catalog.item(index))
        .collect();
    let mut request = ChatRequest::new(critique_teacher_request(
        &sample.history,
        &items,
        labels,
        settings.view(),
    ));
    request.temperature = retry_temperature(settings.temperature, attempt);
    request.max_tokens = settings.max_tokens;
    request.stop = settings.stop.clone();
    request.seed = Some(request_seed(seed, &sample.id, &list.path, attempt));
    request
}

/// The training example of `list` with the teacher's `critique`: the engine's critique prompt
/// (no preference) and the critique.
pub fn critique_example(
    sample: &Sample,
    catalog: &Catalog,
    list: &CritiqueList,
    settings: &CritiqueSection,
    critique: &str,
) -> TrainingExample {
    let items: Vec<&Item> = list
        .items
        .iter()
        .map(|&index| catalog.item(index))
        .collect();
    TrainingExample {
        messages: critique_training_example(&sample.history, &items, settings.view(), critique),
        meta: ExampleMeta {
            kind: ExampleKind::Critique,
            sample: sample.id.clone(),
            list: Some(list.path.clone()),
            labels_in_list: Some(list.labels_in_list),
            item: None,
            answer: None,
        },
    }
}

/// The title without a trailing ` (year)`.
fn bare_title(title: &str) -> &str {
    match title.rsplit_once(" (") {
        Some((name, year))
            if year.len() == 5
                && year.ends_with(')')
                && year[..4].bytes().all(|b| b.is_ascii_digit()) =>
        {
            name
        }
        _ => title,
    }
}

fn contains_words(text: &str, words: &str) -> bool {
    let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
    text.match_indices(words).any(|(at, found)| {
        boundary(text[..at].chars().next_back())
            && boundary(text[at + found.len()..].chars().next())
    })
}

/// Wording of the teacher's preference section ([`crate::prompts::preference_text`]) that a
/// critique must not echo.
pub const PREFERENCE_WORDING: [&str; 2] =
    ["ground-truth preference", "known to you, not to the system"];

/// Whether `critique` leaks the preference: it echoes [`PREFERENCE_WORDING`], or names one of
/// `hidden` (titles) by its full title, or by the title without its year when that is at least
/// four characters, as whole words; case is ignored.
pub fn leaks_preference(critique: &str, hidden: &[&str]) -> bool {
    let text = critique.to_lowercase();
    if PREFERENCE_WORDING
        .iter()
        .any(|wording| text.contains(wording))
    {
        return true;
    }
    hidden.iter().any(|title| {
        let full = title.to_lowercase();
        let bare = bare_title(&full);
        contains_words(&text, &full) || (bare.chars().count() >= 4 && contains_words(&text, bare))
    })
}

/// How one list ended.
enum ListOutcome {
    Example(Box<TrainingExample>),
    Failed,
    Error(ModelError),
}

struct ListResult {
    outcome: ListOutcome,
    invalid_answers: u64,
    leaking: u64,
}

/// What every list of one critique synthesis shares.
pub struct CritiqueContext<'a> {
    pub catalog: &'a Catalog,
    pub settings: &'a CritiqueSection,
    pub seed: u64,
    /// Lists worked on at once.
    pub max_in_flight: usize,
    pub teacher: &'a Teacher,
    pub progress: &'a SynthProgress,
}

async fn critique_list(
    context: &CritiqueContext<'_>,
    sample: &Sample,
    labels: &[&Item],
    list: &CritiqueList,
) -> ListResult {
    let CritiqueContext {
        catalog,
        settings,
        seed,
        teacher,
        progress,
        ..
    } = *context;
    let hidden: Vec<&str> = labels
        .iter()
        .filter(|label| {
            !list
                .items
                .iter()
                .any(|&index| catalog.item(index).title == label.title)
        })
        .map(|label| label.title.as_str())
        .collect();
    let mut result = ListResult {
        outcome: ListOutcome::Failed,
        invalid_answers: 0,
        leaking: 0,
    };
    for attempt in 0..CRITIQUE_MAX_ATTEMPTS {
        let request = teacher_request(sample, catalog, labels, list, settings, seed, attempt);
        let answer = match teacher.chat(&request, &teacher_context(&sample.id)).await {
            Ok(answer) => answer,
            Err(error) => {
                result.outcome = ListOutcome::Error(error);
                return result;
            }
        };
        if answer.cached {
            SynthProgress::add(&progress.cache_hits, 1);
        } else {
            SynthProgress::add(&progress.teacher_calls, 1);
            let usage = answer.response.usage;
            SynthProgress::add(
                &progress.tokens,
                usage.prompt_tokens.saturating_add(usage.completion_tokens),
            );
        }
        let Some(choice) = answer.response.choices.first() else {
            result.invalid_answers += 1;
            continue;
        };
        match validate_critique(choice) {
            Ok(critique) if leaks_preference(&critique, &hidden) => result.leaking += 1,
            Ok(critique) => {
                result.outcome = ListOutcome::Example(Box::new(critique_example(
                    sample, catalog, list, settings, &critique,
                )));
                return result;
            }
            Err(_) => result.invalid_answers += 1,
        }
    }
    result
}

/// Makes the critique examples of `samples`, in order, handing each to `sink`.
pub async fn synthesize_critiques(
    samples: &[Sample],
    context: &CritiqueContext<'_>,
    mut sink: impl FnMut(&TrainingExample) -> std::io::Result<()>,
) -> std::io::Result<CritiqueCounts> {
    let CritiqueContext {
        catalog,
        settings,
        seed,
        progress,
        ..
    } = *context;
    SynthProgress::add(&progress.total, planned_lists(samples, catalog, settings));
    // History-level counts are taken as the lists are planned, list outcomes as they come back;
    // both on this one task, so a RefCell suffices.
    let counts = RefCell::new(CritiqueCounts::default());
    let jobs = samples.iter().flat_map(|sample| {
        let lists = std::rc::Rc::new(critique_lists(sample, catalog, settings, seed));
        counts.borrow_mut().add_history(&lists);
        (0..lists.lists.len()).map(move |index| (sample, lists.clone(), index))
    });
    let mut results = stream::iter(jobs)
        .map(|(sample, lists, index)| async move {
            let labels: Vec<&Item> = lists.labels.iter().map(|&i| catalog.item(i)).collect();
            critique_list(context, sample, &labels, &lists.lists[index]).await
        })
        .buffered(context.max_in_flight);
    while let Some(result) = results.next().await {
        let mut counts = counts.borrow_mut();
        counts.invalid_answers += result.invalid_answers;
        counts.answers_leaking_preference += result.leaking;
        match result.outcome {
            ListOutcome::Example(example) => {
                sink(&example)?;
                counts.critique_examples += 1;
                if example.meta.labels_in_list.unwrap_or(0) > 0 {
                    counts.examples_with_labels += 1;
                }
            }
            ListOutcome::Failed => {
                counts.failed_lists += 1;
                SynthProgress::add(&progress.failed, 1);
            }
            ListOutcome::Error(error) => {
                tracing::warn!(%error, "a teacher call failed; the next run asks it again");
                counts.teacher_errors += 1;
                SynthProgress::add(&progress.failed, 1);
            }
        }
        SynthProgress::add(&progress.done, 1);
    }
    drop(results);
    Ok(counts.into_inner())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    use async_trait::async_trait;

    use super::*;
    use crate::model::{Backend, ChatResponse, Choice, FinishReason, Usage};
    use crate::prompts::{critique_request, preference_text, CRITIQUE_TASK};
    use crate::store::Store;
    use crate::synth::lists::tests::{catalog, sample};

    /// A teacher that answers from a script keyed by attempt: each request's seed tells the
    /// attempt apart, so the script is a function of the request.
    struct ScriptedTeacher {
        calls: AtomicU64,
        answer: fn(&ChatRequest) -> (String, FinishReason),
    }

    #[async_trait]
    impl Backend for ScriptedTeacher {
        fn identity(&self) -> String {
            "scripted".into()
        }

        async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            let (text, finish_reason) = (self.answer)(request);
            Ok(ChatResponse {
                model: "scripted".into(),
                choices: vec![Choice {
                    text,
                    finish_reason,
                    logprobs: None,
                }],
                usage: Usage::default(),
            })
        }
    }

    fn teacher(
        answer: fn(&ChatRequest) -> (String, FinishReason),
    ) -> (Teacher, Arc<ScriptedTeacher>, tempfile::TempDir) {
        let folder = tempfile::tempdir().unwrap();
        let store = Store::open(folder.path()).unwrap();
        let backend = Arc::new(ScriptedTeacher {
            calls: AtomicU64::new(0),
            answer,
        });
        (
            Teacher::shared(backend.clone(), store.response_cache().unwrap()),
            backend,
            folder,
        )
    }

    #[test]
    fn hidden_labels_are_found_by_title_or_bare_name_and_the_preference_wording_too() {
        let hidden = ["The Shining (1980)", "It (2017)"];
        assert!(leaks_preference("Try THE SHINING (1980).", &hidden));
        assert!(leaks_preference(
            "something like the shining, please",
            &hidden
        ));
        assert!(!leaks_preference("the shiningest cast", &hidden));
        // Too short to tell from ordinary words without the year.
        assert!(!leaks_preference("it is too slow", &hidden));
        assert!(leaks_preference("unlike It (2017) this is dull", &hidden));
        // The preference section's own words, as the 135M embedded teacher once echoed them.
        let echo = "The items you are really looking for (known to you, not to the system):";
        assert!(leaks_preference(echo, &[]));
        let section = preference_text(&[], true).to_lowercase();
        for wording in PREFERENCE_WORDING {
            assert!(section.contains(wording), "{wording} is not in {section}");
        }
        assert_eq!(bare_title("Heat (1995)"), "Heat");
        assert_eq!(bare_title("Heat"), "Heat");
    }

    #[test]
    fn the_teacher_sees_the_preference_and_the_example_only_the_engines_prompt() {
        let catalog = catalog(300);
        let sample = sample("c:1", &[10, 20, 30]);
        let settings = CritiqueSection::default();
        let lists = critique_lists(&sample, &catalog, &settings, 0);
        let labels: Vec<&Item> = lists.labels.iter().map(|&i| catalog.item(i)).collect();
        let preference = preference_text(&labels, settings.view());
        for list in &lists.lists {
            let request = teacher_request(&sample, &catalog, &labels, list, &settings, 0, 0);
            let teacher_prompt = &request.messages[0].content;
            assert!(teacher_prompt.contains(&preference));
            for label in &labels {
                assert!(teacher_prompt.contains(&label.title));
            }
            let example = critique_example(&sample, &catalog, list, &settings, "More comedy.");
            let items: Vec<&Item> = list.items.iter().map(|&i| catalog.item(i)).collect();
            // Exactly what the engine asks at inference: one user message, no system message.
            assert_eq!(
                example.prompt(),
                &critique_request(&sample.history, &items, settings.view())[..]
            );
            assert_eq!(example.messages.len(), 2);
            assert_eq!(example.messages[1].role, "assistant");
            let prompt = &example.prompt()[0].content;
            assert!(prompt.ends_with(CRITIQUE_TASK));
            assert!(!prompt.contains(&preference) && !prompt.contains("Ground-Truth"));
            // A label appears only when the list holds it.
            for label in &labels {
                assert_eq!(
                    prompt.contains(&label.title),
                    items.iter().any(|item| item.title == label.title),
                    "{}",
                    label.title
                );
            }
        }
    }

    #[tokio::test]
    async fn examples_come_in_order_invalid_answers_are_retried_and_the_cache_replays() {
        let catalog = catalog(300);
        let samples = vec![sample("c:1", &[1, 2]), sample("c:2", &[3])];
        let settings = CritiqueSection {
            max_subsets_per_history: 2,
            ..CritiqueSection::default()
        };
        // Attempt 0 is cut by the length limit on every list; attempt 1 names label Film 1 for
        // the lists of c:1 (a hidden label where the list lacks it); the rest are fine. The sample
        // and attempt are read off the request's seed.
        fn answer(request: &ChatRequest) -> (String, FinishReason) {
            let paths = ["subset/0", "subset/1", "subset/2", "no-label/0"];
            let (sample, attempt) = ["c:1", "c:2"]
                .iter()
                .flat_map(|sample| (0..3).map(move |attempt| (*sample, attempt)))
                .find(|(sample, attempt)| {
                    paths.iter().any(|path| {
                        request.seed
                            == Some(request_seed(
                                0,
                                sample,
                                &format!("critique/{path}"),
                                *attempt,
                            ))
                    })
                })
                .unwrap();
            match (sample, attempt) {
                (_, 0) => ("I would like".into(), FinishReason::Length),
                ("c:1", 1) => (
                    "Feedback: show me Film 1 (2000).".into(),
                    FinishReason::Stop,
                ),
                _ => (
                    "Feedback: less genre3, more genre5.".into(),
                    FinishReason::Stop,
                ),
            }
        }
        let (teacher, backend, _folder) = teacher(answer);
        let progress = SynthProgress::default();
        let mut written = Vec::new();
        let counts = synthesize_critiques(
            &samples,
            &CritiqueContext {
                catalog: &catalog,
                settings: &settings,
                seed: 0,
                max_in_flight: 3,
                teacher: &teacher,
                progress: &progress,
            },
            |example| {
                written.push(example.clone());
                Ok(())
            },
        )
        .await
        .unwrap();
        // c:1 has 3 subsets capped to 2, plus a list without labels; c:2 has 1 subset plus one.
        assert_eq!(counts.histories, 2);
        assert_eq!((counts.subsets_total, counts.subsets_capped), (4, 1));
        assert_eq!(counts.histories_capped, 1);
        assert_eq!(
            (counts.lists_with_labels, counts.lists_without_labels),
            (3, 2)
        );
        assert_eq!(counts.critique_examples, 5);
        assert_eq!(counts.failed_lists, 0);
        let plan = plan_critiques(&samples, &catalog, &settings, 0);
        assert_eq!(
            (
                plan.lists_with_labels,
                plan.subsets_capped,
                plan.critique_examples
            ),
            (3, 1, 0)
        );
        assert_eq!(counts.invalid_answers, 5);
        assert_eq!(
            written
                .iter()
                .map(|e| e.meta.sample.as_str())
                .collect::<Vec<_>>(),
            vec!["c:1", "c:1", "c:1", "c:2", "c:2"]
        );
        // Naming Film 1 is kept only where the list shows it.
        let first_lists = critique_lists(&samples[0], &catalog, &settings, 0).lists;
        let hiding = first_lists
            .iter()
            .filter(|list| !list.items.contains(&1))
            .count();
        assert!(hiding > 0 && hiding < first_lists.len());
        assert_eq!(counts.answers_leaking_preference, hiding as u64);
        for example in &written {
            let shows_film_1 = example.prompt()[0].content.contains("Film 1 (2000)");
            let names_film_1 = example.target() == "show me Film 1 (2000).";
            assert_eq!(names_film_1, example.meta.sample == "c:1" && shows_film_1);
            if !names_film_1 {
                assert_eq!(example.target(), "less genre3, more genre5.");
            }
        }
        let calls = backend.calls.load(Ordering::Relaxed);
        assert_eq!(progress.snapshot().teacher_calls, calls);
        assert_eq!(progress.snapshot().done, 5);

        // A second run asks nothing and writes the same examples.
        let again_progress = SynthProgress::default();
        let mut again = Vec::new();
        let again_counts = synthesize_critiques(
            &samples,
            &CritiqueContext {
                catalog: &catalog,
                settings: &settings,
                seed: 0,
                max_in_flight: 2,
                teacher: &teacher,
                progress: &again_progress,
            },
            |example| {
                again.push(example.clone());
                Ok(())
            },
        )
        .await
        .unwrap();
        assert_eq!(backend.calls.load(Ordering::Relaxed), calls);
        assert_eq!(again_progress.snapshot().cache_hits, calls);
        assert_eq!((again, again_counts), (written, counts));
    }

    #[tokio::test]
    async fn a_list_without_a_valid_critique_is_counted_as_failed() {
        let catalog = catalog(100);
        let samples = vec![sample("c:9", &[1])];
        let (teacher, backend, _folder) = teacher(|_| ("".into(), FinishReason::Stop));
        let counts = synthesize_critiques(
            &samples,
            &CritiqueContext {
                catalog: &catalog,
                settings: &CritiqueSection::default(),
                seed: 0,
                max_in_flight: 1,
                teacher: &teacher,
                progress: &SynthProgress::default(),
            },
            |_| Ok(()),
        )
        .await
        .unwrap();
        assert_eq!(counts.failed_lists, 2);
        assert_eq!(counts.critique_examples, 0);
        assert_eq!(counts.invalid_answers, 2 * u64::from(CRITIQUE_MAX_ATTEMPTS));
        assert_eq!(
            backend.calls.load(Ordering::Relaxed),
            2 * u64::from(CRITIQUE_MAX_ATTEMPTS)
        );
    }
}
