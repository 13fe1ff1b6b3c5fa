//! Reading the simulated user's score of an item from token log-probabilities (Eq. 2 of the paper).
//!
//! The user is asked whether it accepts the item and answers `Accept the recommendation (Yes/No)?
//! Yes` (or `No`). Two ways to get at the answer token ([`ScoringMode`]):
//! - `generate` (the reference): the model writes the answer line; the answer is the first `Yes` or
//!   `No` token after the last `)?` in the generated text.
//! - `forced`: the assistant turn is pre-filled up to `(Yes/No)?` (vLLM's `continue_final_message`)
//!   and one token is generated: 1 decode token per score instead of about 20.
//!
//! At the answer position, P(Yes) and P(No) sum the probabilities of the top alternatives that read
//! `Yes` / `No` once trimmed (servers differ on the leading space: vLLM `" Yes"`, llama.cpp `"Yes"`).
//! Two formulas ([`ScoreFormula`]): `reference` takes P(Yes) when the answer is Yes and 1 − P(No)
//! when it is No; `normalized` takes P(Yes) / (P(Yes) + P(No)).
//!
//! Exact probabilities ([`YesNoTokenIds`]): vLLM's chat API takes `logprob_token_ids`, and then
//! returns at each generated position the log-probabilities of exactly those ids (beside the
//! sampled token's) in place of the top alternatives. Asked for the Yes and No token ids, the
//! answer position carries P(Yes) and P(No) even when neither is among the top-k. A response where
//! the ids did not all come back (a server that ignores the parameter) is read from its top
//! alternatives as before; [`read_score_via`] says which [`ScorePath`] each score took.

use serde::{Deserialize, Serialize};

use super::{ChatMessage, ChatRequest, Choice, ModelError};

/// The text the simulated user's answer starts with, and the forced mode's pre-fill.
pub const ANSWER_PREFIX: &str = "Accept the recommendation (Yes/No)?";

/// [`ANSWER_PREFIX`] in the token pieces a vLLM server returns for it with a Llama-style tokenizer
/// (the answer token, `" Yes"` or `" No"`, follows): for test servers and tests that build
/// log-probabilities by hand.
pub const ANSWER_PREFIX_PIECES: [&str; 8] = [
    "Accept",
    " the",
    " recommendation",
    " (",
    "Yes",
    "/",
    "No",
    ")?",
];

/// How the answer token is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScoringMode {
    /// The model generates the answer line (the reference).
    #[default]
    Generate,
    /// The answer line is pre-filled and one token is generated.
    Forced,
}

/// How the score is computed from P(Yes) and P(No).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScoreFormula {
    /// P(Yes) when the answer is Yes, 1 − P(No) when it is No.
    #[default]
    Reference,
    /// P(Yes) / (P(Yes) + P(No)).
    Normalized,
}

/// The user's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Answer {
    Yes,
    No,
}

/// A score and what it was computed from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct YesNoScore {
    pub score: f64,
    pub answer: Answer,
    pub p_yes: f64,
    pub p_no: f64,
    /// The index of the answer token among the generated tokens.
    pub position: usize,
}

/// Settings of a scoring request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoringSettings {
    pub mode: ScoringMode,
    pub formula: ScoreFormula,
    /// Alternatives asked for at each position (vLLM's default limit is 20).
    pub top_logprobs: u32,
    /// Decode budget of the `generate` mode.
    pub generate_max_tokens: u32,
    /// vLLM's request `priority` for scoring requests (`[models.user] scoring_priority`).
    pub priority: Option<i32>,
}

impl Default for ScoringSettings {
    fn default() -> Self {
        ScoringSettings {
            mode: ScoringMode::Generate,
            formula: ScoreFormula::Reference,
            top_logprobs: 20,
            generate_max_tokens: 32,
            priority: None,
        }
    }
}

/// The token ids of the answers Yes and No (with and without a leading space, as the tokenizer
/// has them), for vLLM's `logprob_token_ids`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct YesNoTokenIds {
    pub yes: Vec<u32>,
    pub no: Vec<u32>,
}

impl YesNoTokenIds {
    /// Every id, Yes ids first, each once.
    pub fn all(&self) -> Vec<u32> {
        let mut ids = Vec::with_capacity(self.yes.len() + self.no.len());
        for id in self.yes.iter().chain(&self.no) {
            if !ids.contains(id) {
                ids.push(*id);
            }
        }
        ids
    }

    /// At least one id for each answer.
    pub fn is_usable(&self) -> bool {
        !self.yes.is_empty() && !self.no.is_empty()
    }
}

/// The texts whose token ids [`YesNoTokenIds`] holds, asked of a server's `/tokenize`: Yes
/// texts first. A text that is more than one token is not an answer token and is left out.
pub const YES_NO_TEXTS: [(&str, Answer); 4] = [
    (" Yes", Answer::Yes),
    ("Yes", Answer::Yes),
    (" No", Answer::No),
    ("No", Answer::No),
];

/// Where a score's P(Yes) and P(No) came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScorePath {
    /// From the log-probabilities of the Yes/No token ids the request named (exact).
    TokenIds,
    /// From the top alternatives at the answer position (Yes or No may be missing from them).
    TopLogprobs,
    /// Neither: the answer could not be read (asked again, as the method says).
    Unreadable,
}

/// How many scoring answers were read through each [`ScorePath`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ScorePaths {
    pub token_ids: u64,
    pub top_logprobs: u64,
    pub unreadable: u64,
}

impl ScorePaths {
    pub fn count(&mut self, path: ScorePath) {
        match path {
            ScorePath::TokenIds => self.token_ids += 1,
            ScorePath::TopLogprobs => self.top_logprobs += 1,
            ScorePath::Unreadable => self.unreadable += 1,
        }
    }

    pub fn add(&mut self, other: &ScorePaths) {
        // Counts read back from a store may be anything: they saturate rather than overflow.
        self.token_ids = self.token_ids.saturating_add(other.token_ids);
        self.top_logprobs = self.top_logprobs.saturating_add(other.top_logprobs);
        self.unreadable = self.unreadable.saturating_add(other.unreadable);
    }

    pub fn total(&self) -> u64 {
        self.token_ids + self.top_logprobs + self.unreadable
    }

    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }
}

/// The request that scores one item, given the conversation with the simulated user up to the
/// scoring question. Greedy, with logprobs.
pub fn scoring_request(messages: Vec<ChatMessage>, settings: &ScoringSettings) -> ChatRequest {
    scoring_request_with_ids(messages, settings, None)
}

/// [`scoring_request`], naming the Yes/No token ids (vLLM's `logprob_token_ids`) when `ids` are
/// given and usable; without them the request is exactly [`scoring_request`]'s.
pub fn scoring_request_with_ids(
    messages: Vec<ChatMessage>,
    settings: &ScoringSettings,
    ids: Option<&YesNoTokenIds>,
) -> ChatRequest {
    let mut request = ChatRequest::new(messages);
    if let Some(ids) = ids.filter(|ids| ids.is_usable()) {
        request.logprob_token_ids = ids.all();
    }
    request.temperature = 0.0;
    request.logprobs = true;
    request.top_logprobs = Some(settings.top_logprobs);
    request.priority = settings.priority;
    match settings.mode {
        ScoringMode::Generate => {
            request.max_tokens = settings.generate_max_tokens;
        }
        ScoringMode::Forced => {
            request.messages.push(ChatMessage::assistant(ANSWER_PREFIX));
            request.continue_final_message = true;
            request.add_generation_prompt = false;
            request.max_tokens = 1;
        }
    }
    request
}

fn yes_or_no(token: &str) -> Option<Answer> {
    match token.trim() {
        "Yes" => Some(Answer::Yes),
        "No" => Some(Answer::No),
        _ => None,
    }
}

/// The index of the answer token: in `forced` mode the first generated token; in `generate` mode
/// the first Yes/No token that starts at or after the end of the last `)?` in the text.
fn answer_position(tokens: &[super::TokenLogprob], mode: ScoringMode) -> Option<usize> {
    match mode {
        ScoringMode::Forced => (!tokens.is_empty()).then_some(0),
        ScoringMode::Generate => {
            let mut starts = Vec::with_capacity(tokens.len());
            let mut text = String::new();
            for token in tokens {
                starts.push(text.len());
                text.push_str(&token.token);
            }
            let after = text.rfind(")?").map(|at| at + 2)?;
            (0..tokens.len()).find(|&index| {
                starts[index] + tokens[index].token.len() > after
                    && yes_or_no(&tokens[index].token).is_some()
            })
        }
    }
}

/// Reads the score from one choice of a scoring request. An error (for the caller to retry as the
/// method says) when the choice has no logprobs, no answer position, or neither Yes nor No there.
pub fn read_score(
    choice: &Choice,
    mode: ScoringMode,
    formula: ScoreFormula,
) -> Result<YesNoScore, ModelError> {
    read_score_via(choice, mode, formula, None).0
}

/// Whether the alternatives at the answer position are the answer to `logprob_token_ids = ids`:
/// every id came back (as many Yes/No entries as ids) and nothing else but the sampled token (a
/// server that ignores the parameter returns its top-k instead).
pub(crate) fn ids_came_back(top: &[super::TopLogprob], ids: &YesNoTokenIds) -> bool {
    let wanted = ids.all().len();
    let answers = top
        .iter()
        .filter(|top| yes_or_no(&top.token).is_some())
        .count();
    answers >= wanted && top.len() <= wanted + 1
}

/// [`read_score`] for a request that named the Yes/No token ids `ids` (or `None`), and the path
/// the score was read through: [`ScorePath::TokenIds`] when the ids' log-probabilities came back,
/// [`ScorePath::TopLogprobs`] when the score was read from the top alternatives,
/// [`ScorePath::Unreadable`] with the error.
pub fn read_score_via(
    choice: &Choice,
    mode: ScoringMode,
    formula: ScoreFormula,
    ids: Option<&YesNoTokenIds>,
) -> (Result<YesNoScore, ModelError>, ScorePath) {
    match read_score_at(choice, mode, formula) {
        Ok((score, top)) => {
            let path = match ids {
                Some(ids) if ids.is_usable() && ids_came_back(top, ids) => ScorePath::TokenIds,
                _ => ScorePath::TopLogprobs,
            };
            (Ok(score), path)
        }
        Err(error) => (Err(error), ScorePath::Unreadable),
    }
}

fn read_score_at(
    choice: &Choice,
    mode: ScoringMode,
    formula: ScoreFormula,
) -> Result<(YesNoScore, &[super::TopLogprob]), ModelError> {
    let tokens = choice
        .logprobs
        .as_deref()
        .ok_or_else(|| ModelError::Unusable {
            message: "the scoring answer has no logprobs".into(),
        })?;
    let position = answer_position(tokens, mode).ok_or_else(|| ModelError::Unusable {
        message: format!(
            "no Yes/No answer after `)?` in {:?}",
            choice.text.chars().take(200).collect::<String>()
        ),
    })?;
    let at = &tokens[position];
    // A log-probability is at most 0 (NaN from a cache or a server bug, or a positive value,
    // would give a probability that is not one); -inf is a probability of 0.
    let entries = std::iter::once((&at.token, at.logprob))
        .chain(at.top_logprobs.iter().map(|top| (&top.token, top.logprob)));
    for (token, logprob) in entries {
        if logprob.is_nan() || logprob > 0.0 {
            return Err(ModelError::Unusable {
                message: format!(
                    "logprob {logprob} of {token:?} at the answer position is not a \
                     log-probability (NaN or positive)"
                ),
            });
        }
    }
    let (mut p_yes, mut p_no) = (0.0, 0.0);
    for top in &at.top_logprobs {
        match yes_or_no(&top.token) {
            Some(Answer::Yes) => p_yes += top.logprob.exp(),
            Some(Answer::No) => p_no += top.logprob.exp(),
            None => {}
        }
    }
    // A server that returns no alternatives still gives the generated token's own probability.
    if at.top_logprobs.is_empty() {
        match yes_or_no(&at.token) {
            Some(Answer::Yes) => p_yes = at.logprob.exp(),
            Some(Answer::No) => p_no = at.logprob.exp(),
            None => {}
        }
    }
    if p_yes == 0.0 && p_no == 0.0 {
        return Err(ModelError::Unusable {
            message: format!(
                "neither Yes nor No among the tokens at the answer position (generated {:?})",
                at.token
            ),
        });
    }
    let answer = yes_or_no(&at.token).unwrap_or(if p_yes >= p_no {
        Answer::Yes
    } else {
        Answer::No
    });
    let score = match formula {
        ScoreFormula::Reference => match answer {
            Answer::Yes => p_yes,
            Answer::No => 1.0 - p_no,
        },
        ScoreFormula::Normalized => p_yes / (p_yes + p_no),
    };
    Ok((
        YesNoScore {
            score: score.clamp(0.0, 1.0),
            answer,
            p_yes: p_yes.min(1.0),
            p_no: p_no.min(1.0),
            position,
        },
        &at.top_logprobs,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FinishReason, TokenLogprob, TopLogprob};

    #[test]
    fn score_path_counts_saturate() {
        let mut paths = ScorePaths {
            unreadable: u64::MAX,
            ..ScorePaths::default()
        };
        paths.add(&paths.clone());
        assert_eq!(paths.unreadable, u64::MAX);
    }

    fn token(text: &str, logprob: f64, top: &[(&str, f64)]) -> TokenLogprob {
        TokenLogprob {
            token: text.into(),
            logprob,
            top_logprobs: top
                .iter()
                .map(|(token, logprob)| TopLogprob {
                    token: (*token).into(),
                    logprob: *logprob,
                })
                .collect(),
        }
    }

    fn choice(tokens: Vec<TokenLogprob>) -> Choice {
        Choice {
            text: tokens.iter().map(|token| token.token.as_str()).collect(),
            finish_reason: FinishReason::Stop,
            logprobs: Some(tokens),
        }
    }

    #[test]
    fn forced_reads_the_first_token_with_and_without_leading_space() {
        let (yes, no) = (0.7f64, 0.2f64);
        let spaced = choice(vec![token(
            " Yes",
            yes.ln(),
            &[(" Yes", yes.ln()), (" No", no.ln())],
        )]);
        let bare = choice(vec![token(
            "Yes",
            yes.ln(),
            &[("Yes", yes.ln()), ("No", no.ln())],
        )]);
        for answer in [spaced, bare] {
            let reference =
                read_score(&answer, ScoringMode::Forced, ScoreFormula::Reference).unwrap();
            assert!((reference.score - 0.7).abs() < 1e-12);
            let normalized =
                read_score(&answer, ScoringMode::Forced, ScoreFormula::Normalized).unwrap();
            assert!((normalized.score - 0.7 / 0.9).abs() < 1e-12);
        }
    }

    #[test]
    fn a_no_answer_scores_one_minus_p_no() {
        let answer = choice(vec![token(
            " No",
            0.6f64.ln(),
            &[(" No", 0.6f64.ln()), (" Yes", 0.3f64.ln()), ("No", -9999.0)],
        )]);
        let score = read_score(&answer, ScoringMode::Forced, ScoreFormula::Reference).unwrap();
        assert_eq!(score.answer, Answer::No);
        assert!((score.score - 0.4).abs() < 1e-9);
    }

    #[test]
    fn generate_finds_the_answer_after_the_question_mark() {
        let tokens = vec![
            token("No", -0.1, &[("No", -0.1)]), // a "No" before the question does not count
            token(" way", -0.1, &[]),
            token(". Accept", -0.1, &[]),
            token(" the recommendation (Yes/No", -0.1, &[]),
            token(")?", -0.1, &[]),
            token(
                " Yes",
                0.8f64.ln(),
                &[(" Yes", 0.8f64.ln()), (" No", 0.15f64.ln())],
            ),
        ];
        let score = read_score(
            &choice(tokens),
            ScoringMode::Generate,
            ScoreFormula::Reference,
        )
        .unwrap();
        assert_eq!(score.position, 5);
        assert!((score.score - 0.8).abs() < 1e-12);
    }

    #[test]
    fn neither_yes_nor_no_is_an_error() {
        let answer = choice(vec![token(
            " Maybe",
            -0.1,
            &[(" Maybe", -0.1), (" I", -3.0)],
        )]);
        let error = read_score(&answer, ScoringMode::Forced, ScoreFormula::Reference).unwrap_err();
        assert_eq!(error.label(), "unusable");
        let no_question = choice(vec![token(" Yes", -0.1, &[(" Yes", -0.1)])]);
        assert!(read_score(&no_question, ScoringMode::Generate, ScoreFormula::Reference).is_err());
    }

    #[test]
    fn missing_nan_or_positive_logprobs_are_unreadable_on_both_paths() {
        let ids = YesNoTokenIds {
            yes: vec![1],
            no: vec![2],
        };
        let missing = Choice {
            text: " Yes".into(),
            finish_reason: FinishReason::Stop,
            logprobs: None,
        };
        let nan = choice(vec![token(" Yes", f64::NAN, &[(" Yes", f64::NAN)])]);
        let positive_top = choice(vec![token(" Yes", -0.1, &[(" Yes", 0.5), (" No", -2.0)])]);
        let positive_sampled = choice(vec![token(" No", 0.25, &[])]);
        for answer in [&missing, &nan, &positive_top, &positive_sampled] {
            for formula in [ScoreFormula::Reference, ScoreFormula::Normalized] {
                let error = read_score(answer, ScoringMode::Forced, formula).unwrap_err();
                assert_eq!(error.label(), "unusable");
                let (via, path) = read_score_via(answer, ScoringMode::Forced, formula, Some(&ids));
                assert_eq!(path, ScorePath::Unreadable);
                assert_eq!(via.unwrap_err().to_string(), error.to_string());
            }
        }
        let message =
            read_score(&positive_top, ScoringMode::Forced, ScoreFormula::Reference).unwrap_err();
        assert!(message.to_string().contains("logprob 0.5"), "{message}");
        // A logprob of 0 (certainty) and -inf (impossible) are log-probabilities.
        let certain = choice(vec![token(
            " Yes",
            0.0,
            &[(" Yes", 0.0), (" No", f64::NEG_INFINITY)],
        )]);
        let score = read_score(&certain, ScoringMode::Forced, ScoreFormula::Normalized).unwrap();
        assert_eq!((score.score, score.p_yes, score.p_no), (1.0, 1.0, 0.0));
    }

    #[test]
    fn the_answer_prefix_pieces_spell_the_answer_prefix() {
        assert_eq!(ANSWER_PREFIX_PIECES.concat(), ANSWER_PREFIX);
    }

    #[test]
    fn forced_request_prefills_and_decodes_one_token() {
        let settings = ScoringSettings {
            mode: ScoringMode::Forced,
            ..ScoringSettings::default()
        };
        let request = scoring_request(
            vec![ChatMessage::user("Do you like Heat (1995)?")],
            &settings,
        );
        assert_eq!(request.max_tokens, 1);
        assert!(request.continue_final_message && !request.add_generation_prompt);
        assert_eq!(request.messages.last().unwrap().content, ANSWER_PREFIX);
    }

    #[test]
    fn named_token_ids_are_read_as_the_exact_path_and_top_k_as_the_fallback() {
        let ids = YesNoTokenIds {
            yes: vec![7, 8],
            no: vec![9],
        };
        // The server honoured `logprob_token_ids`: the sampled token and the named ids.
        let named = choice(vec![token(
            " Maybe",
            0.9f64.ln(),
            &[
                (" Maybe", 0.9f64.ln()),
                (" Yes", 0.01f64.ln()),
                ("Yes", 0.002f64.ln()),
                (" No", 0.05f64.ln()),
            ],
        )]);
        let (score, path) = read_score_via(
            &named,
            ScoringMode::Forced,
            ScoreFormula::Normalized,
            Some(&ids),
        );
        assert_eq!(path, ScorePath::TokenIds);
        let score = score.unwrap();
        assert!((score.p_yes - 0.012).abs() < 1e-12 && (score.p_no - 0.05).abs() < 1e-12);
        // A server that ignored it: its top-k, read as before.
        let top_k = choice(vec![token(
            " Maybe",
            0.9f64.ln(),
            &[
                (" Maybe", 0.9f64.ln()),
                (" I", 0.04f64.ln()),
                (" Perhaps", 0.03f64.ln()),
                (" No", 0.02f64.ln()),
                (" Yes", 0.005f64.ln()),
            ],
        )]);
        let (score, path) = read_score_via(
            &top_k,
            ScoringMode::Forced,
            ScoreFormula::Reference,
            Some(&ids),
        );
        assert_eq!(path, ScorePath::TopLogprobs);
        assert!((score.unwrap().p_no - 0.02).abs() < 1e-12);
        let (_, path) = read_score_via(&top_k, ScoringMode::Forced, ScoreFormula::Reference, None);
        assert_eq!(path, ScorePath::TopLogprobs);
        let unreadable = choice(vec![token(" Maybe", -0.1, &[(" Maybe", -0.1)])]);
        let (score, path) = read_score_via(
            &unreadable,
            ScoringMode::Forced,
            ScoreFormula::Reference,
            Some(&ids),
        );
        assert!(score.is_err());
        assert_eq!(path, ScorePath::Unreadable);
    }

    #[test]
    fn a_request_names_the_ids_only_when_given_and_serialises_as_before_without_them() {
        let settings = ScoringSettings {
            mode: ScoringMode::Forced,
            ..ScoringSettings::default()
        };
        let messages = vec![ChatMessage::user("Do you like Heat (1995)?")];
        let plain = scoring_request(messages.clone(), &settings);
        assert!(plain.logprob_token_ids.is_empty());
        let json = serde_json::to_string(&plain).unwrap();
        assert!(!json.contains("logprob_token_ids"), "{json}");
        let ids = YesNoTokenIds {
            yes: vec![7, 8],
            no: vec![9, 7],
        };
        let named = scoring_request_with_ids(messages.clone(), &settings, Some(&ids));
        assert_eq!(named.logprob_token_ids, vec![7, 8, 9]);
        let half = YesNoTokenIds {
            yes: vec![7],
            no: vec![],
        };
        assert_eq!(
            scoring_request_with_ids(messages, &settings, Some(&half)),
            plain
        );
    }
}
