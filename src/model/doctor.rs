//! `grsu doctor`: what an endpoint can do, checked before a week-long sweep is started on it.
//!
//! Each probe is one small request. The probes run in order and stop as soon as a failure says
//! nothing about the feature being probed, so that a wrong model id or a dead server is reported
//! as what it is and never as a list of missing features:
//!
//! 1. `/v1/models`: a connection failure or timeout makes the endpoint *unreachable*; an error
//!    status (a bad API key, no such route) is reported as such; a listing without the model id
//!    reports the ids listed. Either way nothing else is probed.
//! 2. a plain chat completion (also the latency probe): when it fails, the probes built on chat
//!    completions (logprobs, `n`, `continue_final_message`) are not run.
//! 3. the features, each judged [`Check::Supported`], [`Check::Degraded`] (works, but the client
//!    has to make up for it), [`Check::Missing`] (the server answered and the answer shows the
//!    feature is absent or rejected) or [`Check::Unknown`] (the probe failed for a reason that
//!    says nothing about the feature: a timeout, a server error).
//!
//! Which probes run is the caller's choice ([`Probes`]): a classification model (the reward role,
//! vLLM's `/classify`) usually serves no chat completions, and a CRS needs no logprobs. The logprobs
//! and forced-scoring probes send the simulated user's real scoring prompt (Eq. 2), so that a
//! server answers them as it will answer the sweep. [`diagnose`] runs every chat probe, which is
//! what `grsu doctor --endpoint` shows; [`DoctorReport::can_serve`] says whether a scoring mode
//! can be served (`generate` needs logprobs with at least two alternatives; `forced` also needs
//! vLLM's `continue_final_message`).

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

use super::classify::ClassifyRequest;
use super::http::HttpBackend;
use super::scoring::{
    ids_came_back, read_score, scoring_request_with_ids, ScoreFormula, ScoringMode,
    ScoringSettings, YesNoTokenIds, ANSWER_PREFIX,
};
use super::{Backend, ChatMessage, ChatRequest, ModelError};
use crate::catalog::{Item, ItemAttributes};
use crate::data::{Role, Turn};
use crate::prompts::score_messages;

/// Top-logprob counts tried (with those a caller needs), largest first.
const TOP_LOGPROB_CANDIDATES: [u32; 5] = [50, 20, 10, 5, 1];
const LATENCY_PROBES: usize = 5;

/// A feature a probe checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Plain chat completions of the model.
    Chat,
    /// Token logprobs with top alternatives.
    Logprobs,
    /// Several choices per request.
    N,
    /// Continuing a pre-filled assistant turn (vLLM's `continue_final_message`).
    ContinueFinalMessage,
    /// Class probabilities at `/classify`.
    Classify,
    /// vLLM's `logprob_token_ids`: the logprobs of the Yes/No token ids (from `/tokenize`) at
    /// the answer position, for exact P(Yes) and P(No).
    LogprobTokenIds,
    /// vLLM's request `priority` (`--scheduling-policy priority`), probed with the value a config
    /// sends (`[models.user] scoring_priority`).
    Priority,
}

impl Capability {
    /// How the feature is named in messages.
    pub fn name(self) -> &'static str {
        match self {
            Capability::Chat => "chat completions",
            Capability::Logprobs => "logprobs",
            Capability::N => "`n`",
            Capability::ContinueFinalMessage => "continue_final_message",
            Capability::Classify => "classification (/classify)",
            Capability::LogprobTokenIds => "logprob_token_ids",
            Capability::Priority => "priority scheduling",
        }
    }
}

/// What a probe found out about one feature.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Check {
    Supported,
    /// It works, but the client has to make up for the server (e.g. a server that ignores `n`
    /// gets further requests for the missing choices).
    Degraded {
        reason: String,
    },
    /// The server answered, and the answer shows the feature is absent or rejected.
    Missing {
        reason: String,
    },
    /// The probe failed for a reason that says nothing about the feature (timeout, server error).
    Unknown {
        reason: String,
    },
}

impl Check {
    pub fn is_supported(&self) -> bool {
        matches!(self, Check::Supported)
    }

    /// The reason given, if any.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Check::Supported => None,
            Check::Degraded { reason } | Check::Missing { reason } | Check::Unknown { reason } => {
                Some(reason)
            }
        }
    }
}

/// Which probes to run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Probes {
    /// A plain chat completion and the latency probes; the three below need it.
    pub chat: bool,
    pub logprobs: bool,
    /// `top_logprobs` counts to try besides 50, 20, 10, 5 and 1 (those a config asks for, so that
    /// a limit between two candidates is not mistaken for the smaller one).
    pub top_logprobs: Vec<u32>,
    pub n: bool,
    pub continue_final_message: bool,
    /// `/classify` (and its latency when no chat probe runs).
    pub classify: bool,
    /// `/tokenize` for the Yes/No token ids, and whether `logprob_token_ids` is honoured (after
    /// the logprobs probe, which it needs).
    pub logprob_token_ids: bool,
    /// A request `priority` to send once (after the chat probe): accepted, or refused by a server
    /// without priority scheduling.
    pub priority: Option<i32>,
}

impl Probes {
    /// Every chat-completion probe (what `grsu doctor --endpoint` runs).
    pub fn chat() -> Self {
        Probes {
            chat: true,
            logprobs: true,
            top_logprobs: Vec::new(),
            n: true,
            continue_final_message: true,
            classify: false,
            logprob_token_ids: true,
            priority: None,
        }
    }
}

/// What one endpoint can do.
#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    pub endpoint: String,
    pub model: String,
    /// Whether `/v1/models` answered at all (a connection was made and a response came back).
    pub reachable: bool,
    /// Model ids listed at `/v1/models`.
    pub models_listed: Vec<String>,
    pub model_listed: bool,
    /// Why no feature was probed: the endpoint is unreachable, `/v1/models` failed, or the model
    /// id is not listed. The capability fields then say nothing about the server.
    pub stopped: Option<String>,
    /// What each probe that ran found.
    pub checks: BTreeMap<Capability, Check>,
    /// Logprobs are returned (the logprobs check is supported).
    pub logprobs: bool,
    /// The largest `top_logprobs` the server accepted, of 50, 20, 10, 5, 1 and those asked for.
    pub max_top_logprobs: Option<u32>,
    /// Whether one request with `n = 2` returned two choices (else the client tops up).
    pub honours_n: bool,
    /// Whether a pre-filled answer is continued (forced scoring works).
    pub continue_final_message: bool,
    /// Whether `/classify` returned class probabilities.
    pub classify: bool,
    /// The Yes/No token ids the server's `/tokenize` gave (single tokens, with and without the
    /// leading space).
    pub yes_no_token_ids: Option<YesNoTokenIds>,
    /// Whether a request naming them in `logprob_token_ids` got their logprobs back.
    pub logprob_token_ids: bool,
    /// Median latency of a one-token request (or of a classification), in milliseconds.
    pub median_latency_ms: Option<f64>,
    /// What went wrong, in words.
    pub problems: Vec<String>,
}

impl DoctorReport {
    fn new(backend: &HttpBackend) -> Self {
        DoctorReport {
            endpoint: backend.base_url().to_string(),
            model: backend.model().to_string(),
            reachable: false,
            models_listed: Vec::new(),
            model_listed: false,
            stopped: None,
            checks: BTreeMap::new(),
            logprobs: false,
            max_top_logprobs: None,
            honours_n: false,
            continue_final_message: false,
            classify: false,
            yes_no_token_ids: None,
            logprob_token_ids: false,
            median_latency_ms: None,
            problems: Vec::new(),
        }
    }

    /// Whether the endpoint can score items in `mode`.
    pub fn can_serve(&self, mode: ScoringMode) -> bool {
        let base =
            self.reachable && self.logprobs && self.max_top_logprobs.is_some_and(|top| top >= 2);
        match mode {
            ScoringMode::Generate => base,
            ScoringMode::Forced => base && self.continue_final_message,
        }
    }

    /// What the probe of `capability` found; `None` when it did not run.
    pub fn check(&self, capability: Capability) -> Option<&Check> {
        self.checks.get(&capability)
    }

    fn record(&mut self, capability: Capability, check: Check) {
        match &check {
            Check::Supported => {}
            Check::Degraded { reason } | Check::Missing { reason } => self
                .problems
                .push(format!("{}: {reason}", capability.name())),
            Check::Unknown { reason } => self.problems.push(format!(
                "{}: could not be checked: {reason}",
                capability.name()
            )),
        }
        let supported = !matches!(check, Check::Missing { .. } | Check::Unknown { .. });
        match capability {
            Capability::Logprobs => self.logprobs = supported,
            Capability::N => self.honours_n = check.is_supported(),
            Capability::ContinueFinalMessage => self.continue_final_message = supported,
            Capability::Classify => self.classify = supported,
            Capability::LogprobTokenIds => self.logprob_token_ids = check.is_supported(),
            Capability::Chat | Capability::Priority => {}
        }
        self.checks.insert(capability, check);
    }

    fn stop(&mut self, reason: String) {
        self.problems.push(reason.clone());
        self.stopped = Some(reason);
    }
}

/// A rejection (HTTP 4xx) shows the server refuses what was asked; anything else (a timeout, a
/// broken connection, a server error, junk) says nothing about the feature.
fn judged(error: &ModelError, what: impl FnOnce(&ModelError) -> String) -> Check {
    match error {
        ModelError::Rejected { .. } => Check::Missing {
            reason: what(error),
        },
        _ => Check::Unknown {
            reason: error.to_string(),
        },
    }
}

fn probe_request(max_tokens: u32) -> ChatRequest {
    let mut request = ChatRequest::new(vec![ChatMessage::user(
        "Answer with one word: is the sky blue?",
    )]);
    request.max_tokens = max_tokens;
    request.seed = Some(0);
    request
}

/// The simulated user's scoring prompt about one film, after a one-turn conversation.
fn scoring_messages() -> Vec<ChatMessage> {
    let history = [Turn {
        role: Role::User,
        text: "I loved Inception. Any other mind-bending science fiction?".into(),
    }];
    let item = Item {
        title: "The Matrix (1999)".into(),
        attributes: ItemAttributes {
            genre: vec!["Action".into(), "Sci-Fi".into()],
            star: vec!["Keanu Reeves".into()],
            director: vec!["Lana Wachowski".into(), "Lilly Wachowski".into()],
            writer: vec!["Lana Wachowski".into(), "Lilly Wachowski".into()],
            plot: None,
        },
    };
    score_messages(&history, &item, None, true)
}

fn median(mut samples: Vec<f64>) -> Option<f64> {
    samples.sort_by(f64::total_cmp);
    samples.get(samples.len() / 2).copied()
}

/// Runs every chat-completion probe against one endpoint.
pub async fn diagnose(backend: &HttpBackend) -> DoctorReport {
    diagnose_with(backend, &Probes::chat()).await
}

/// Runs the chosen probes against one endpoint.
pub async fn diagnose_with(backend: &HttpBackend, probes: &Probes) -> DoctorReport {
    let mut report = DoctorReport::new(backend);
    match backend.list_models().await {
        Ok(models) => {
            report.reachable = true;
            report.model_listed = models.iter().any(|model| model == backend.model());
            report.models_listed = models;
            if !report.model_listed {
                let listed = if report.models_listed.is_empty() {
                    "the server lists no models".to_string()
                } else {
                    format!("the server lists: {}", report.models_listed.join(", "))
                };
                report.stop(format!("model `{}` not listed ({listed})", backend.model()));
                return report;
            }
        }
        Err(error @ (ModelError::Connection { .. } | ModelError::Timeout { .. })) => {
            report.stop(format!("unreachable: {error}"));
            return report;
        }
        Err(error) => {
            report.reachable = true;
            report.stop(format!("/v1/models failed: {error}"));
            return report;
        }
    }
    if probes.chat {
        chat_probes(backend, probes, &mut report).await;
    }
    if probes.classify {
        classify_probe(backend, !probes.chat, &mut report).await;
    }
    report
}

async fn chat_probes(backend: &HttpBackend, probes: &Probes, report: &mut DoctorReport) {
    let mut latencies = Vec::with_capacity(LATENCY_PROBES);
    for _ in 0..LATENCY_PROBES {
        let started = Instant::now();
        match backend.chat_once(&probe_request(1)).await {
            Ok(response) if response.choices.is_empty() => {
                if latencies.is_empty() {
                    report.record(
                        Capability::Chat,
                        Check::Missing {
                            reason: "a response without choices".into(),
                        },
                    );
                }
                break;
            }
            Ok(_) => latencies.push(started.elapsed().as_secs_f64() * 1e3),
            Err(error) if latencies.is_empty() => {
                report.record(Capability::Chat, judged(&error, ModelError::to_string));
                break;
            }
            Err(error) => {
                report.problems.push(format!("latency probe: {error}"));
                break;
            }
        }
    }
    if latencies.is_empty() {
        // Every other probe is a chat completion too: it would fail for the same reason, which
        // must not be read as a missing feature.
        return;
    }
    report.median_latency_ms = median(latencies);
    report.record(Capability::Chat, Check::Supported);

    if probes.logprobs {
        logprobs_probe(backend, &probes.top_logprobs, report).await;
    }
    if probes.n {
        n_probe(backend, report).await;
    }
    if probes.continue_final_message {
        continue_probe(backend, report).await;
    }
    if probes.logprob_token_ids && report.logprobs {
        token_ids_probe(backend, report).await;
    }
    if let Some(priority) = probes.priority {
        priority_probe(backend, priority, report).await;
    }
}

/// A plain chat completion carrying `priority`: vLLM without `--scheduling-policy priority`
/// refuses any value but 0 with a 400.
async fn priority_probe(backend: &HttpBackend, priority: i32, report: &mut DoctorReport) {
    let mut request = probe_request(1);
    request.priority = Some(priority);
    let check = match backend.chat_once(&request).await {
        Ok(_) => Check::Supported,
        Err(error @ ModelError::Rejected { .. }) => Check::Missing {
            reason: format!("a request with priority {priority} was refused: {error}"),
        },
        Err(error) => Check::Unknown {
            reason: error.to_string(),
        },
    };
    report.record(Capability::Priority, check);
}

/// Asks `/tokenize` for the Yes/No token ids, then a scoring request naming them in
/// `logprob_token_ids`: supported when their logprobs come back at the answer position. The
/// request asks for a single top alternative, so that a server that does not know the parameter
/// (and returns its top-1) is told apart from one that does.
async fn token_ids_probe(backend: &HttpBackend, report: &mut DoctorReport) {
    let ids = match backend.yes_no_token_ids().await {
        Ok(ids) if ids.is_usable() => ids,
        Ok(ids) => {
            report.yes_no_token_ids = Some(ids);
            report.record(
                Capability::LogprobTokenIds,
                Check::Missing {
                    reason: "/tokenize gives no single-token Yes and No".into(),
                },
            );
            return;
        }
        Err(error) => {
            let check = match &error {
                ModelError::Rejected { .. } | ModelError::Malformed { .. } => Check::Missing {
                    reason: format!("no token ids from /tokenize: {error}"),
                },
                _ => Check::Unknown {
                    reason: error.to_string(),
                },
            };
            report.record(Capability::LogprobTokenIds, check);
            return;
        }
    };
    report.yes_no_token_ids = Some(ids.clone());
    let settings = ScoringSettings {
        mode: if report.continue_final_message {
            ScoringMode::Forced
        } else {
            ScoringMode::Generate
        },
        top_logprobs: 1,
        ..ScoringSettings::default()
    };
    let mut request = scoring_request_with_ids(scoring_messages(), &settings, Some(&ids));
    request.max_tokens = 1;
    request.seed = Some(0);
    let check = match backend.chat_once(&request).await {
        Ok(response) => {
            let top = response
                .choices
                .first()
                .and_then(|choice| choice.logprobs.as_ref())
                .and_then(|tokens| tokens.first())
                .map(|token| token.top_logprobs.as_slice())
                .unwrap_or_default();
            if ids_came_back(top, &ids) {
                Check::Supported
            } else {
                Check::Missing {
                    reason: "not honoured: the named ids' logprobs did not come back, so scores are read from the top logprobs".into(),
                }
            }
        }
        Err(error) => judged(&error, |error| format!("rejected: {error}")),
    };
    report.record(Capability::LogprobTokenIds, check);
}

async fn logprobs_probe(backend: &HttpBackend, wanted: &[u32], report: &mut DoctorReport) {
    let mut candidates: Vec<u32> = TOP_LOGPROB_CANDIDATES
        .iter()
        .chain(wanted)
        .copied()
        .filter(|top| *top >= 1)
        .collect();
    candidates.sort_unstable_by(|a, b| b.cmp(a));
    candidates.dedup();
    let mut last_rejection = None;
    for top in candidates {
        let mut request = ChatRequest::new(scoring_messages());
        request.max_tokens = 1;
        request.seed = Some(0);
        request.logprobs = true;
        request.top_logprobs = Some(top);
        match backend.chat_once(&request).await {
            Ok(response) => {
                let returned = response
                    .choices
                    .first()
                    .and_then(|choice| choice.logprobs.as_ref())
                    .is_some_and(|tokens| !tokens.is_empty());
                if returned {
                    report.max_top_logprobs = Some(top);
                    report.record(Capability::Logprobs, Check::Supported);
                } else {
                    report.record(
                        Capability::Logprobs,
                        Check::Missing {
                            reason: "asked for but not returned".into(),
                        },
                    );
                }
                return;
            }
            // Too many alternatives asked for (vLLM's --max-logprobs): try fewer.
            Err(error @ ModelError::Rejected { .. }) => last_rejection = Some(error),
            Err(error) => {
                report.record(
                    Capability::Logprobs,
                    Check::Unknown {
                        reason: error.to_string(),
                    },
                );
                return;
            }
        }
    }
    let last = last_rejection.map_or_else(String::new, |error| format!(" (last: {error})"));
    report.record(
        Capability::Logprobs,
        Check::Missing {
            reason: format!("every request with logprobs was rejected{last}"),
        },
    );
}

async fn n_probe(backend: &HttpBackend, report: &mut DoctorReport) {
    let mut pair = probe_request(4);
    pair.n = 2;
    pair.temperature = 1.0;
    let check = match backend.chat_once(&pair).await {
        Ok(response) if response.choices.len() >= 2 => Check::Supported,
        Ok(response) => Check::Degraded {
            reason: format!(
                "ignored: {} choice(s) for n = 2, so the missing ones are asked for in further requests",
                response.choices.len()
            ),
        },
        Err(error) => judged(&error, |error| format!("n = 2 rejected: {error}")),
    };
    report.record(Capability::N, check);
}

async fn continue_probe(backend: &HttpBackend, report: &mut DoctorReport) {
    let mut forced = ChatRequest::new(scoring_messages());
    forced.messages.push(ChatMessage::assistant(ANSWER_PREFIX));
    forced.continue_final_message = true;
    forced.add_generation_prompt = false;
    forced.max_tokens = 1;
    forced.temperature = 0.0;
    forced.seed = Some(0);
    // Logprobs only where they work, so that their absence is not read as this feature's.
    if report.logprobs {
        forced.logprobs = true;
        forced.top_logprobs = Some(report.max_top_logprobs.unwrap_or(1).min(20));
    }
    let check = match backend.chat_once(&forced).await {
        Ok(response) => match response.choices.first() {
            None => Check::Unknown {
                reason: "no choice returned".into(),
            },
            Some(choice) if choice.text.trim_start().starts_with("Accept") => Check::Missing {
                reason: "the pre-filled answer was not continued (a new answer was started)".into(),
            },
            Some(choice) if forced.logprobs => {
                match read_score(choice, ScoringMode::Forced, ScoreFormula::Reference) {
                    Ok(_) => Check::Supported,
                    Err(error) => Check::Missing {
                        reason: format!("the continued answer gives no score: {error}"),
                    },
                }
            }
            Some(_) => Check::Supported,
        },
        Err(error) => judged(&error, |error| format!("rejected: {error}")),
    };
    report.record(Capability::ContinueFinalMessage, check);
}

async fn classify_probe(backend: &HttpBackend, measure_latency: bool, report: &mut DoctorReport) {
    let input = scoring_messages()
        .into_iter()
        .map(|message| message.content)
        .collect::<Vec<_>>()
        .join("\n");
    let request = ClassifyRequest { input: vec![input] };
    let rounds = if measure_latency { LATENCY_PROBES } else { 1 };
    let mut latencies = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        match backend.classify(&request).await {
            Ok(_) => latencies.push(started.elapsed().as_secs_f64() * 1e3),
            Err(error) if latencies.is_empty() => {
                let check = match &error {
                    // A body that is no classification: the server does not classify.
                    ModelError::Malformed { .. } => Check::Missing {
                        reason: error.to_string(),
                    },
                    _ => judged(&error, ModelError::to_string),
                };
                report.record(Capability::Classify, check);
                return;
            }
            Err(error) => {
                report.problems.push(format!("latency probe: {error}"));
                break;
            }
        }
    }
    if measure_latency {
        report.median_latency_ms = median(latencies);
    }
    report.record(Capability::Classify, Check::Supported);
}
