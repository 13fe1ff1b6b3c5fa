//! What the simulated models answer: CRS lists, critiques, Yes/No scores, all valid for grsu's
//! parsers and all drawn from seeds.
//!
//! The answers know the sample's labels (through the [`World`]) and use them the way a decent CRS
//! and a fine-tuned simulated user would, so that the method's machinery has something to find:
//! - **CRS lists** ([`Task::Recommend`]): `k` numbered bold catalog titles (`1. **Title (year)**`).
//!   A share [`BehaviourConfig::label_reachability`] of a sample's labels can be found at all;
//!   each slot holds such a label not yet used with probability [`BehaviourConfig::skill`], raised to
//!   [`BehaviourConfig::skill_after_critique`] when the request's feedback names an attribute of a
//!   label (so critiquing helps). Other slots come mostly from a small set of titles drawn once
//!   per conversation ([`BehaviourConfig::candidate_pool`]), else from the whole catalog by
//!   popularity: lists overlap as an LLM's do, so the frequency of an item in a search tree says
//!   little and its score says more. Items of the previous list are never repeated. Some answers are chatty (an intro, an extra
//!   item, a closing line), which the stop sequence `\n{k+1}.` cuts, and some titles lose their
//!   year (title matching then has work to do).
//! - **Critiques** ([`Task::Critique`]): a short sentence naming attributes (genre, star, director,
//!   writer) of a label with probability [`BehaviourConfig::critique_informativeness`] (lower when
//!   the prompt shows titles only), else a generic complaint.
//! - **Scores** ([`Task::Score`]): P(Yes) is [`BehaviourConfig::yes_label`] for a label and
//!   [`BehaviourConfig::yes_other`] otherwise, raised for items close to the labels' attributes,
//!   with Gaussian noise on the logit keyed by the prompt (so the same question always gets the
//!   same probabilities, as a greedy model's would). `forced` answers one token (` Yes`/` No`),
//!   `generate` the line `Accept the recommendation (Yes/No)? Yes`; the answer token's
//!   `top_logprobs` hold ` Yes`, ` No` and small alternatives.
//!
//! Sampling follows vLLM: temperature 0 is greedy (the answer depends on the prompt only), else
//! choice `i` of a request with seed `s` is drawn with seed `s + i`, so a request for `n` choices
//! and `n` requests seeded `s, s+1, ...` agree. Then, as a server does: the pre-filled answer is
//! continued, stop strings end the text (not included), and `max_tokens` cuts it (finish reason
//! `length`). Token counts use the approximate tokenizer ([`crate::tokens`]).

use std::collections::HashSet;
use std::sync::Arc;

use grsu::catalog::ItemIndex;
use grsu::model::{
    ChatRequest, ChatResponse, Choice, FinishReason, TokenLogprob, TopLogprob, Usage,
};
use serde::{Deserialize, Serialize};

use crate::prompt::{read_prompt, ReadPrompt, Task};
use crate::random::{hash_str, mix, unit, Rng};
use crate::tokens;
use crate::world::{World, WorldSample};

/// How well the simulated models do: the knobs that make search and scoring measurably useful.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BehaviourConfig {
    /// Share of (sample, label) pairs the CRS can find at all (drawn once per pair from the
    /// seed): the others never appear in its lists, however long the search, as a real CRS misses
    /// items it does not associate with the conversation.
    pub label_reachability: f64,
    /// Probability that a slot of a CRS list holds a reachable label (a list of 10 then holds a
    /// given reachable label with probability about 10 × skill).
    pub skill: f64,
    /// The same after a critique that names an attribute of a label.
    pub skill_after_critique: f64,
    /// Size of the set of non-label titles the CRS associates with a conversation (drawn once per
    /// conversation by popularity): LLMs repeat the same few titles across samples of a list.
    pub candidate_pool: usize,
    /// Probability that a non-label slot is drawn from that set (else from the whole catalog by
    /// popularity).
    pub pool_share: f64,
    /// Probability that a critique names attributes of a label, when the prompt shows attributes.
    pub critique_informativeness: f64,
    /// The same when the prompt shows titles only (the "critique without attributes" ablation).
    pub critique_informativeness_without_attributes: f64,
    /// P(Yes) of a label before noise.
    pub yes_label: f64,
    /// P(Yes) of another item before noise.
    pub yes_other: f64,
    /// Logit added to a non-label's P(Yes) per unit of closeness (the fraction of its attribute
    /// values the labels share).
    pub attribute_bonus: f64,
    /// Standard deviation of the Gaussian noise on the logit of P(Yes).
    pub score_noise: f64,
    /// Probability that a CRS answer has an intro, an extra item and a closing line.
    pub crs_chatter: f64,
    /// Probability that a CRS title is written without its year.
    pub title_noise: f64,
}

impl Default for BehaviourConfig {
    fn default() -> Self {
        BehaviourConfig {
            label_reachability: 0.6,
            skill: 0.01,
            skill_after_critique: 0.03,
            candidate_pool: 40,
            pool_share: 0.8,
            critique_informativeness: 0.8,
            critique_informativeness_without_attributes: 0.4,
            yes_label: 0.8,
            yes_other: 0.25,
            attribute_bonus: 1.0,
            score_noise: 1.0,
            crs_chatter: 0.3,
            title_noise: 0.05,
        }
    }
}

impl BehaviourConfig {
    /// Checks that probabilities are probabilities and the rest finite.
    pub fn validate(&self) -> Result<(), String> {
        let probabilities = [
            ("label_reachability", self.label_reachability),
            ("skill", self.skill),
            ("skill_after_critique", self.skill_after_critique),
            ("pool_share", self.pool_share),
            ("critique_informativeness", self.critique_informativeness),
            (
                "critique_informativeness_without_attributes",
                self.critique_informativeness_without_attributes,
            ),
            ("crs_chatter", self.crs_chatter),
            ("title_noise", self.title_noise),
        ];
        for (name, value) in probabilities {
            if !(0.0..=1.0).contains(&value) {
                return Err(format!(
                    "behaviour.{name} must be within 0..=1, not {value}"
                ));
            }
        }
        for (name, value) in [("yes_label", self.yes_label), ("yes_other", self.yes_other)] {
            if !(value > 0.0 && value < 1.0) {
                return Err(format!("behaviour.{name} must be within 0..1, not {value}"));
            }
        }
        for (name, value) in [
            ("attribute_bonus", self.attribute_bonus),
            ("score_noise", self.score_noise),
        ] {
            if !value.is_finite() || value < 0.0 {
                return Err(format!(
                    "behaviour.{name} must be a finite number ≥ 0, not {value}"
                ));
            }
        }
        Ok(())
    }
}

/// Why a choice ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    Stop,
    Length,
}

/// A generated token with its log-probability and the alternatives at its position.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedToken {
    pub token: String,
    pub logprob: f64,
    /// Most likely first; as many as the request's `top_logprobs`.
    pub top: Vec<(String, f64)>,
}

/// One choice of an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedChoice {
    pub text: String,
    pub finish: Finish,
    /// The stop string that ended the text, if one did.
    pub stop_reason: Option<String>,
    /// The generated tokens (their count is the choice's completion tokens).
    pub tokens: Vec<GeneratedToken>,
}

/// An answer to one request, before the capacity model and the wire format.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// `crs`, `critique`, `score` or `other`.
    pub kind: &'static str,
    /// Whether the conversation was found in the world.
    pub known_sample: bool,
    pub choices: Vec<GeneratedChoice>,
}

impl Answer {
    pub fn completion_tokens(&self) -> usize {
        self.choices.iter().map(|choice| choice.tokens.len()).sum()
    }
}

/// Alternatives shown after the chosen token at ordinary positions.
const FILLERS: [&str; 24] = [
    " the", ",", ".", " a", "\n", " and", " I", " to", " of", " it", " in", " is", " that", " for",
    " this", " you", " with", " on", " not", " be", " as", " are", " have", " but",
];

/// Alternatives after ` Yes` and ` No` at the answer position (none reads as Yes or No).
const ANSWER_FILLERS: [&str; 20] = [
    " yes",
    " no",
    " Maybe",
    " I",
    " It",
    " The",
    "\n",
    " Not",
    " Sure",
    " Definitely",
    " Yeah",
    " Nope",
    " Possibly",
    " Absolutely",
    " Perhaps",
    " This",
    " Well",
    " YES",
    " NO",
    " Probably",
];

/// Probability mass at the answer position outside ` Yes` and ` No`.
const ANSWER_ELSEWHERE: f64 = 0.01;

const OPENINGS: [&str; 5] = [
    "These are not quite what I want.",
    "Hmm, none of these really grab me.",
    "I'm not convinced by these.",
    "Not really what I'm after.",
    "I'm not keen on these.",
];

const GENERIC: [&str; 4] = [
    "Could you suggest something different?",
    "Maybe something with a different mood?",
    "I'd like something that fits what I said better.",
    "Can you try again with other films?",
];

/// The answering side of the simulator: no time, no capacity, just what the models say.
#[derive(Debug, Clone)]
pub struct Answerer {
    world: Arc<World>,
    behaviour: BehaviourConfig,
    seed: u64,
}

impl Answerer {
    /// Answers over `world`; `seed` makes a fleet's answers differ from another fleet's.
    pub fn new(world: Arc<World>, behaviour: BehaviourConfig, seed: u64) -> Self {
        Answerer {
            world,
            behaviour,
            seed,
        }
    }

    pub fn world(&self) -> &World {
        &self.world
    }

    /// Answers a request as the protocol response a backend returns (usage counted with the
    /// approximate tokenizer, no prefix cache, no time): for tests and in-process use.
    pub fn respond(&self, request: &ChatRequest) -> ChatResponse {
        let read = read_prompt(&request.messages, request.continue_final_message);
        let answer = self.answer(request, &read, 0, request.max_tokens as usize);
        let prompt_tokens = tokens::prompt_token_ids(
            &request.messages,
            request.add_generation_prompt,
            request.continue_final_message,
        )
        .len() as u64;
        ChatResponse {
            model: "sim".into(),
            usage: Usage {
                prompt_tokens,
                completion_tokens: answer.completion_tokens() as u64,
            },
            choices: answer
                .choices
                .into_iter()
                .map(|choice| Choice {
                    text: choice.text,
                    finish_reason: match choice.finish {
                        Finish::Stop => FinishReason::Stop,
                        Finish::Length => FinishReason::Length,
                    },
                    logprobs: request.logprobs.then(|| {
                        choice
                            .tokens
                            .into_iter()
                            .map(|token| TokenLogprob {
                                token: token.token.into(),
                                logprob: token.logprob,
                                top_logprobs: token
                                    .top
                                    .into_iter()
                                    .map(|(token, logprob)| TopLogprob {
                                        token: token.into(),
                                        logprob,
                                    })
                                    .collect(),
                            })
                            .collect()
                    }),
                })
                .collect(),
        }
    }

    /// The answer to a request read as `read`. `entropy` seeds requests that are sampled without
    /// a seed; `max_tokens` is the decode budget of each choice.
    pub fn answer(
        &self,
        request: &ChatRequest,
        read: &ReadPrompt,
        entropy: u64,
        max_tokens: usize,
    ) -> Answer {
        let sample = read
            .conversation
            .as_deref()
            .and_then(|conversation| self.world.sample_of_conversation(conversation));
        let asked: String = request
            .messages
            .iter()
            .filter(|message| message.role != "assistant")
            .map(|message| message.content.as_str())
            .collect::<Vec<_>>()
            .join("\n\n");
        let prompt_key = mix(self.seed, hash_str(&asked));
        let whole_key = mix(prompt_key, hash_str(read.prefill.as_deref().unwrap_or("")));
        // With `logprob_token_ids` (vLLM) the named ids replace the top alternatives: every
        // alternative is drawn, then only the sampled token and the named ones are kept.
        let named = request.logprobs && !request.logprob_token_ids.is_empty();
        let top = if named {
            usize::MAX
        } else if request.logprobs {
            request.top_logprobs.unwrap_or(0) as usize
        } else {
            0
        };
        let choices = (0..request.n.max(1) as u64)
            .map(|child| {
                let choice_seed = if request.temperature <= 0.0 {
                    whole_key
                } else {
                    match request.seed {
                        Some(seed) => mix(whole_key, seed.wrapping_add(child)),
                        None => mix(whole_key, mix(entropy, child)),
                    }
                };
                let mut rng = Rng::new(choice_seed);
                let (text, answer_yes) = self.raw_text(&mut rng, read, sample, request, prompt_key);
                let mut choice =
                    finish_choice(&mut rng, text, answer_yes, request, max_tokens, top);
                if named {
                    for token in &mut choice.tokens {
                        name_alternatives(token, &request.logprob_token_ids);
                    }
                }
                choice
            })
            .collect();
        Answer {
            kind: read.task.kind(),
            known_sample: sample.is_some(),
            choices,
        }
    }

    /// The whole text the model would write, with no limit, and for a score the P(Yes) of its
    /// last token (the answer).
    fn raw_text(
        &self,
        rng: &mut Rng,
        read: &ReadPrompt,
        sample: Option<&WorldSample>,
        request: &ChatRequest,
        prompt_key: u64,
    ) -> (String, Option<f64>) {
        let prefill = read.prefill.as_deref();
        match &read.task {
            Task::Recommend {
                k,
                previous,
                feedback,
            } => {
                let conversation_key = mix(
                    self.seed,
                    hash_str(read.conversation.as_deref().unwrap_or("")),
                );
                let body = self.recommend_text(
                    rng,
                    sample,
                    *k,
                    previous,
                    feedback.as_deref(),
                    conversation_key,
                );
                let text = match prefill {
                    Some(prefill) => continue_after(prefill, &body.list),
                    None => body.standalone(),
                };
                (text, None)
            }
            Task::Critique {
                list,
                with_attributes,
            } => {
                let text = self.critique_text(rng, sample, list, *with_attributes);
                (continue_text(prefill, &text), None)
            }
            Task::Score { item, forced } => {
                let item = item
                    .as_deref()
                    .and_then(|title| self.world.catalog().index_of(title));
                let p_yes = self.p_yes(sample, item, prompt_key);
                let yes = if request.temperature <= 0.0 {
                    p_yes >= 0.5
                } else {
                    rng.chance(p_yes)
                };
                let answer = if yes { " Yes" } else { " No" };
                let text = if *forced {
                    answer.to_string()
                } else {
                    format!("{}{answer}", grsu::model::scoring::ANSWER_PREFIX)
                };
                (text, Some(p_yes))
            }
            Task::Other => (continue_text(prefill, "Yes."), None),
        }
    }

    /// P(Yes) of `item` for `sample`: the label or other base, the closeness bonus, the noise.
    fn p_yes(&self, sample: Option<&WorldSample>, item: Option<ItemIndex>, key: u64) -> f64 {
        let behaviour = &self.behaviour;
        let label = matches!((sample, item), (Some(sample), Some(item)) if sample.is_label(item));
        let mut logit = logit(if label {
            behaviour.yes_label
        } else {
            behaviour.yes_other
        });
        if let (false, Some(sample), Some(item)) = (label, sample, item) {
            logit += behaviour.attribute_bonus * self.world.closeness(item, sample);
        }
        logit += behaviour.score_noise * Rng::new(mix(key, 0x5c0e)).normal();
        (1.0 / (1.0 + (-logit).exp())).clamp(0.02, 0.98)
    }

    fn recommend_items(
        &self,
        rng: &mut Rng,
        sample: Option<&WorldSample>,
        k: usize,
        previous: &[String],
        feedback: Option<&str>,
        conversation_key: u64,
    ) -> Vec<ItemIndex> {
        let catalog = self.world.catalog();
        let mut used: HashSet<ItemIndex> = previous
            .iter()
            .filter_map(|title| catalog.index_of(title))
            .collect();
        let labels: Vec<ItemIndex> = sample.map(|s| s.labels.clone()).unwrap_or_default();
        let mut labels_left: Vec<ItemIndex> = labels
            .iter()
            .copied()
            .filter(|item| !used.contains(item))
            .filter(|&item| {
                unit(mix(conversation_key, item as u64)) < self.behaviour.label_reachability
            })
            .collect();
        let informed =
            matches!((sample, feedback), (Some(s), Some(f)) if s.mentions_label_attribute(f));
        let p_label = if informed {
            self.behaviour.skill_after_critique
        } else {
            self.behaviour.skill
        };
        let pool = self.candidate_pool(conversation_key, &labels);
        let length = k.min(catalog.len().saturating_sub(used.len()));
        let mut chosen = Vec::with_capacity(length);
        while chosen.len() < length {
            let item = if !labels_left.is_empty() && rng.chance(p_label) {
                Some(labels_left.swap_remove(rng.below(labels_left.len())))
            } else {
                let free: Vec<ItemIndex> = pool
                    .iter()
                    .copied()
                    .filter(|item| !used.contains(item))
                    .collect();
                if !free.is_empty() && rng.chance(self.behaviour.pool_share) {
                    Some(*rng.pick(&free))
                } else {
                    self.other_item(rng, &used, &labels)
                }
            };
            let Some(item) = item else { break };
            used.insert(item);
            chosen.push(item);
        }
        chosen
    }

    /// The titles this CRS associates with a conversation: `candidate_pool` items drawn by
    /// popularity with the conversation's seed, never labels.
    fn candidate_pool(&self, conversation_key: u64, labels: &[ItemIndex]) -> Vec<ItemIndex> {
        let size = self.behaviour.candidate_pool;
        let mut rng = Rng::new(mix(conversation_key, 0x9001));
        let mut pool = Vec::with_capacity(size);
        for _ in 0..size * 20 {
            if pool.len() >= size {
                break;
            }
            if let Some(item) = self.world.popular_item(&mut rng) {
                if !labels.contains(&item) && !pool.contains(&item) {
                    pool.push(item);
                }
            }
        }
        pool
    }

    /// A popular item that is neither used nor a label (any unused item when popularity keeps
    /// giving used ones).
    fn other_item(
        &self,
        rng: &mut Rng,
        used: &HashSet<ItemIndex>,
        labels: &[ItemIndex],
    ) -> Option<ItemIndex> {
        let free = |item: &ItemIndex| !used.contains(item) && !labels.contains(item);
        (0..64)
            .filter_map(|_| self.world.popular_item(rng))
            .find(free)
            .or_else(|| {
                let count = self.world.catalog().len();
                let start = rng.below(count.max(1));
                (0..count).map(|offset| (start + offset) % count).find(free)
            })
    }

    fn written_title(&self, rng: &mut Rng, item: ItemIndex) -> String {
        let title = &self.world.catalog().item(item).title;
        if rng.chance(self.behaviour.title_noise) {
            if let Some(open) = title.rfind(" (") {
                if title.ends_with(')') && open > 0 {
                    return title[..open].to_string();
                }
            }
        }
        title.clone()
    }

    fn recommend_text(
        &self,
        rng: &mut Rng,
        sample: Option<&WorldSample>,
        k: usize,
        previous: &[String],
        feedback: Option<&str>,
        conversation_key: u64,
    ) -> ListText {
        let items = self.recommend_items(rng, sample, k, previous, feedback, conversation_key);
        let mut list = items
            .iter()
            .enumerate()
            .map(|(index, &item)| format!("{}. **{}**", index + 1, self.written_title(rng, item)))
            .collect::<Vec<_>>()
            .join("\n");
        let chatty = rng.chance(self.behaviour.crs_chatter);
        if chatty {
            let used: HashSet<ItemIndex> = items.iter().copied().collect();
            if let Some(extra) = self.other_item(rng, &used, &[]) {
                list.push_str(&format!(
                    "\n{}. **{}**",
                    items.len() + 1,
                    self.world.catalog().item(extra).title
                ));
            }
            list.push_str("\n\nI hope you enjoy them! Tell me if you want more like any of these.");
        }
        ListText {
            intro: chatty
                .then(|| format!("Here are {k} recommendations based on our conversation:\n\n")),
            list,
        }
    }

    fn critique_text(
        &self,
        rng: &mut Rng,
        sample: Option<&WorldSample>,
        list: &[String],
        with_attributes: bool,
    ) -> String {
        let informativeness = if with_attributes {
            self.behaviour.critique_informativeness
        } else {
            self.behaviour.critique_informativeness_without_attributes
        };
        let opening = *rng.pick(&OPENINGS);
        let catalog = self.world.catalog();
        let label = sample
            .filter(|sample| !sample.labels.is_empty())
            .map(|sample| catalog.item(*rng.pick(&sample.labels)));
        if let Some(label) = label.filter(|_| rng.chance(informativeness)) {
            let attributes = &label.attributes;
            let kinds: Vec<(&str, &Vec<String>)> = [
                ("genre", &attributes.genre),
                ("star", &attributes.star),
                ("director", &attributes.director),
                ("writer", &attributes.writer),
            ]
            .into_iter()
            .filter(|(_, values)| values.iter().any(|value| !value.trim().is_empty()))
            .collect();
            if !kinds.is_empty() {
                let first = rng.below(kinds.len());
                let mut text = format!("{opening} {}", clause(rng, kinds[first]));
                if kinds.len() > 1 && rng.chance(0.3) {
                    let second = (first + 1 + rng.below(kinds.len() - 1)) % kinds.len();
                    text.push(' ');
                    text.push_str(&clause(rng, kinds[second]));
                }
                return text;
            }
        }
        let disliked: Vec<&String> = list
            .iter()
            .filter(|title| {
                catalog
                    .index_of(title)
                    .is_none_or(|item| !sample.is_some_and(|sample| sample.is_label(item)))
            })
            .collect();
        let mut text = opening.to_string();
        if !disliked.is_empty() && rng.chance(0.5) {
            text.push_str(&format!(" I didn't enjoy {}.", rng.pick(&disliked)));
        }
        let generic = rng.pick(&GENERIC);
        text.push(' ');
        text.push_str(generic);
        text
    }
}

/// A CRS list and the intro a chatty answer starts with.
struct ListText {
    intro: Option<String>,
    list: String,
}

impl ListText {
    fn standalone(self) -> String {
        format!("{}{}", self.intro.unwrap_or_default(), self.list)
    }
}

/// One sentence about an attribute value of a label.
fn clause(rng: &mut Rng, (kind, values): (&str, &Vec<String>)) -> String {
    let values: Vec<&String> = values.iter().filter(|v| !v.trim().is_empty()).collect();
    let value = rng.pick(&values).trim();
    let templates: &[&str] = match kind {
        "genre" => &[
            "I'd prefer something more {}.",
            "I'm in the mood for a {} film.",
        ],
        "star" => &[
            "I'd love something starring {}.",
            "Anything with {} would be great.",
        ],
        "director" => &[
            "Something directed by {} would be ideal.",
            "I really like films by {}.",
        ],
        _ => &[
            "I liked films written by {}.",
            "Maybe something written by {}?",
        ],
    };
    rng.pick(templates).replace("{}", value)
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

/// The continuation of a pre-filled answer whose full form would be `body`: the part of `body`
/// after the longest end of `prefill` that `body` starts with (`"...\n1. **"` + `"1. **Heat**"` →
/// `"Heat**"`), or `body` on a new line when they do not overlap.
fn continue_after(prefill: &str, body: &str) -> String {
    let overlap = (1..=prefill.len().min(body.len()))
        .rev()
        .filter(|&length| prefill.is_char_boundary(prefill.len() - length))
        .find(|&length| body.starts_with(&prefill[prefill.len() - length..]));
    match overlap {
        Some(length) => body[length..].to_string(),
        None if prefill.is_empty() || prefill.ends_with(char::is_whitespace) => body.to_string(),
        None => format!("\n{body}"),
    }
}

/// A free text after an optional pre-fill: separated by a space unless the pre-fill ends with one.
fn continue_text(prefill: Option<&str>, text: &str) -> String {
    match prefill {
        Some(prefill) if !prefill.is_empty() && !prefill.ends_with(char::is_whitespace) => {
            format!(" {text}")
        }
        _ => text.to_string(),
    }
}

/// Applies stop strings and the token budget, and gives every token its logprobs. `answer_yes`
/// is the P(Yes) of the last token of `text` (a score's answer).
fn finish_choice(
    rng: &mut Rng,
    text: String,
    answer_yes: Option<f64>,
    request: &ChatRequest,
    max_tokens: usize,
    top: usize,
) -> GeneratedChoice {
    let full_tokens = tokens::count(&text);
    let mut finish = Finish::Stop;
    let mut stop_reason = None;
    let mut text = text;
    if let Some((at, stop)) = request
        .stop
        .iter()
        .filter(|stop| !stop.is_empty())
        .filter_map(|stop| text.find(stop.as_str()).map(|at| (at, stop)))
        .min_by_key(|(at, _)| *at)
    {
        text.truncate(at);
        stop_reason = Some(stop.clone());
    }
    let pieces: Vec<String> = tokens::pieces(&text)
        .into_iter()
        .map(str::to_string)
        .collect();
    let kept = if pieces.len() > max_tokens {
        finish = Finish::Length;
        stop_reason = None;
        text = pieces[..max_tokens].concat();
        max_tokens
    } else {
        pieces.len()
    };
    let answer_at = answer_yes.map(|_| full_tokens - 1);
    let tokens = pieces
        .into_iter()
        .take(kept)
        .enumerate()
        .map(|(index, piece)| match (answer_at, answer_yes) {
            (Some(at), Some(p_yes)) if at == index => answer_token(piece, p_yes, top),
            _ => ordinary_token(rng, piece, top),
        })
        .collect();
    GeneratedChoice {
        text,
        finish,
        stop_reason,
        tokens,
    }
}

/// A token the model was sure of, with fillers as its alternatives.
fn ordinary_token(rng: &mut Rng, token: String, top: usize) -> GeneratedToken {
    let p_token = 1.0 - (0.001 + 0.3 * rng.unit());
    let mut alternatives = vec![(token.clone(), p_token.ln())];
    let rest = FILLERS.iter().filter(|filler| **filler != token);
    for (rank, filler) in rest.take(top.saturating_sub(1)).enumerate() {
        let p = (1.0 - p_token) * 0.5f64.powi(rank as i32 + 1);
        alternatives.push((filler.to_string(), p.ln()));
    }
    alternatives.truncate(top);
    GeneratedToken {
        logprob: p_token.ln(),
        token,
        top: alternatives,
    }
}

/// The text of a token id of the simulator's vocabulary ([`tokens::vocab_id`]) among the tokens
/// it ever generates as alternatives; another id reads as `<|id|>`.
pub fn id_text(id: u32) -> String {
    [" Yes", "Yes", " No", "No"]
        .into_iter()
        .chain(ANSWER_FILLERS)
        .chain(FILLERS)
        .find(|text| tokens::vocab_id(text) == id)
        .map_or_else(|| format!("<|{id}|>"), str::to_string)
}

/// vLLM's answer to `logprob_token_ids`: at each position the sampled token, then each named id
/// (once) with its log-probability (−9999, vLLM's floor, for a token the position gives no
/// probability), in place of the top alternatives.
fn name_alternatives(token: &mut GeneratedToken, ids: &[u32]) {
    let mut named = vec![(token.token.clone(), token.logprob)];
    for id in ids {
        let text = id_text(*id);
        if named.iter().any(|(known, _)| *known == text) {
            continue;
        }
        let logprob = token
            .top
            .iter()
            .find(|(alternative, _)| *alternative == text)
            .map_or(-9999.0, |(_, logprob)| *logprob);
        named.push((text, logprob));
    }
    token.top = named;
}

/// The answer token of a score: ` Yes` and ` No` with their probabilities, then small fillers.
fn answer_token(token: String, p_yes: f64, top: usize) -> GeneratedToken {
    let spread = 1.0 - ANSWER_ELSEWHERE;
    let mut alternatives = vec![
        (" Yes".to_string(), (p_yes * spread).ln()),
        (" No".to_string(), ((1.0 - p_yes) * spread).ln()),
    ];
    alternatives.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (rank, filler) in ANSWER_FILLERS.iter().enumerate() {
        let p = ANSWER_ELSEWHERE * 0.5f64.powi(rank as i32 + 1);
        alternatives.push((filler.to_string(), p.ln()));
    }
    let logprob = alternatives
        .iter()
        .find(|(alternative, _)| alternative.trim() == token.trim())
        .map_or(-0.01, |(_, logprob)| *logprob);
    alternatives.truncate(top);
    GeneratedToken {
        token,
        logprob,
        top: alternatives,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::tests::demo_world;
    use grsu::model::scoring::{read_score, ScoreFormula, ScoringMode};
    use grsu::model::ChatMessage;

    #[test]
    fn continuation_overlaps_the_prefill() {
        assert_eq!(
            continue_after("Here are my picks:\n1. **", "1. **Heat**\n2. **Ronin**"),
            "Heat**\n2. **Ronin**"
        );
        assert_eq!(continue_after("Sure:", "1. **Heat**"), "\n1. **Heat**");
        assert_eq!(continue_after("Sure:\n", "1. **Heat**"), "1. **Heat**");
        assert_eq!(continue_text(Some("Feedback:"), "Too long."), " Too long.");
    }

    #[test]
    fn stop_strings_and_budgets_cut_like_a_server() {
        let mut rng = Rng::new(0);
        let mut request = ChatRequest::new(vec![ChatMessage::user("x")]);
        request.stop = vec!["\n3.".into()];
        let text = "1. **A**\n2. **B**\n3. **C**".to_string();
        let choice = finish_choice(&mut rng, text.clone(), None, &request, 100, 0);
        assert_eq!(choice.text, "1. **A**\n2. **B**");
        assert_eq!(choice.finish, Finish::Stop);
        assert_eq!(choice.stop_reason.as_deref(), Some("\n3."));
        assert_eq!(choice.tokens.len(), tokens::count("1. **A**\n2. **B**"));
        let cut = finish_choice(&mut rng, text, None, &request, 3, 5);
        assert_eq!((cut.text.as_str(), cut.finish), ("1. *", Finish::Length));
        assert!(cut.tokens.iter().all(|token| token.top.len() == 5));
        assert_eq!(cut.tokens[0].top[0].0, "1");
    }

    #[test]
    fn answer_tokens_read_back_through_grsu() {
        let token = answer_token(" Yes".into(), 0.8, 20);
        assert_eq!(token.top.len(), 20);
        let choice = grsu::model::Choice {
            text: " Yes".into(),
            finish_reason: FinishReason::Length,
            logprobs: Some(vec![TokenLogprob {
                token: token.token.as_str().into(),
                logprob: token.logprob,
                top_logprobs: token
                    .top
                    .iter()
                    .map(|(token, logprob)| TopLogprob {
                        token: token.as_str().into(),
                        logprob: *logprob,
                    })
                    .collect(),
            }]),
        };
        let score = read_score(&choice, ScoringMode::Forced, ScoreFormula::Normalized).unwrap();
        assert!((score.score - 0.8).abs() < 1e-9, "{score:?}");
        let reference = read_score(&choice, ScoringMode::Forced, ScoreFormula::Reference).unwrap();
        assert!((reference.score - 0.8 * 0.99).abs() < 1e-9);
    }

    #[test]
    fn informative_critiques_raise_the_label_rate_of_revisions() {
        let world = Arc::new(demo_world());
        let behaviour = BehaviourConfig {
            label_reachability: 1.0,
            skill: 0.05,
            skill_after_critique: 0.3,
            title_noise: 0.0,
            ..BehaviourConfig::default()
        };
        let answerer = Answerer::new(world.clone(), behaviour, 1);
        let sample = world
            .samples()
            .iter()
            .find(|s| !s.labels.is_empty())
            .unwrap();
        let label = world.catalog().item(sample.labels[0]);
        let informative = format!("I'd love something starring {}.", label.attributes.star[0]);
        let rate = |feedback: Option<&str>| {
            let mut hits = 0;
            for seed in 0..200u64 {
                let messages =
                    grsu::prompts::revise_request(&sample.sample.history, &[], feedback, 10);
                let mut request = ChatRequest::new(messages);
                request.temperature = 1.0;
                request.seed = Some(seed);
                let text = &answerer.respond(&request).choices[0].text;
                let titles = grsu::prompts::parse_list(text, grsu::prompts::ListParseMode::Strict);
                assert!(titles.len() >= 10, "{text}");
                hits += titles
                    .iter()
                    .take(10)
                    .filter(|title| {
                        world
                            .catalog()
                            .index_of(title)
                            .is_some_and(|i| sample.is_label(i))
                    })
                    .count();
            }
            hits as f64 / 2000.0
        };
        let blind = rate(Some("Something else please."));
        let informed = rate(Some(&informative));
        assert!(
            blind > 0.0 && informed > 2.0 * blind,
            "{blind} vs {informed}"
        );
    }
}
