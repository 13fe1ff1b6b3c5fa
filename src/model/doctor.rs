//! `grsu doctor`: what an endpoint can do, checked before a week-long sweep is started on it.
//!
//! Each probe is one small request; the report says whether the endpoint can serve a scoring mode
//! (`generate` needs logprobs with at least two alternatives; `forced` also needs vLLM's
//! `continue_final_message`).

use std::time::Instant;

use serde::Serialize;

use super::http::HttpBackend;
use super::scoring::{read_score, scoring_request, ScoreFormula, ScoringMode, ScoringSettings};
use super::{ChatMessage, ChatRequest};

/// Top-logprob counts tried, largest first.
const TOP_LOGPROB_CANDIDATES: [u32; 5] = [50, 20, 10, 5, 1];
const LATENCY_PROBES: usize = 5;

/// What one endpoint can do.
#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    pub endpoint: String,
    pub model: String,
    pub reachable: bool,
    /// Model ids listed at `/v1/models`.
    pub models_listed: Vec<String>,
    pub model_listed: bool,
    pub logprobs: bool,
    /// The largest `top_logprobs` the server accepted, of 50, 20, 10, 5, 1.
    pub max_top_logprobs: Option<u32>,
    /// Whether one request with `n = 2` returned two choices (else the client tops up).
    pub honours_n: bool,
    /// Whether a pre-filled answer is continued (forced scoring works).
    pub continue_final_message: bool,
    /// Median latency of a one-token request, in milliseconds.
    pub median_latency_ms: Option<f64>,
    /// What went wrong, probe by probe.
    pub problems: Vec<String>,
}

impl DoctorReport {
    /// Whether the endpoint can score items in `mode`.
    pub fn can_serve(&self, mode: ScoringMode) -> bool {
        let base =
            self.reachable && self.logprobs && self.max_top_logprobs.is_some_and(|top| top >= 2);
        match mode {
            ScoringMode::Generate => base,
            ScoringMode::Forced => base && self.continue_final_message,
        }
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

/// Runs every probe against one endpoint.
pub async fn diagnose(backend: &HttpBackend) -> DoctorReport {
    let mut report = DoctorReport {
        endpoint: backend.base_url().to_string(),
        model: backend.model().to_string(),
        reachable: false,
        models_listed: Vec::new(),
        model_listed: false,
        logprobs: false,
        max_top_logprobs: None,
        honours_n: false,
        continue_final_message: false,
        median_latency_ms: None,
        problems: Vec::new(),
    };
    match backend.list_models().await {
        Ok(models) => {
            report.reachable = true;
            report.model_listed = models.iter().any(|model| model == backend.model());
            if !report.model_listed {
                report.problems.push(format!(
                    "model `{}` is not among the listed models {models:?}",
                    backend.model()
                ));
            }
            report.models_listed = models;
        }
        Err(error) => {
            report.problems.push(format!("/models: {error}"));
            return report;
        }
    }

    let mut latencies = Vec::with_capacity(LATENCY_PROBES);
    for _ in 0..LATENCY_PROBES {
        let started = Instant::now();
        match backend.chat_once(&probe_request(1)).await {
            Ok(_) => latencies.push(started.elapsed().as_secs_f64() * 1e3),
            Err(error) => {
                report.problems.push(format!("chat: {error}"));
                break;
            }
        }
    }
    if !latencies.is_empty() {
        latencies.sort_by(f64::total_cmp);
        report.median_latency_ms = Some(latencies[latencies.len() / 2]);
    }

    for top in TOP_LOGPROB_CANDIDATES {
        let mut request = probe_request(1);
        request.logprobs = true;
        request.top_logprobs = Some(top);
        match backend.chat_once(&request).await {
            Ok(response) => {
                let tokens = response
                    .choices
                    .first()
                    .and_then(|choice| choice.logprobs.as_ref());
                report.logprobs = tokens.is_some_and(|tokens| !tokens.is_empty());
                if report.logprobs {
                    report.max_top_logprobs = Some(top);
                } else {
                    report
                        .problems
                        .push("logprobs were asked for but not returned".into());
                }
                break;
            }
            Err(error) if !error.is_retryable() => continue,
            Err(error) => {
                report.problems.push(format!("logprobs: {error}"));
                break;
            }
        }
    }
    if report.max_top_logprobs.is_none() && report.logprobs {
        report
            .problems
            .push("no top_logprobs count was accepted".into());
    }

    let mut pair = probe_request(4);
    pair.n = 2;
    pair.temperature = 1.0;
    match backend.chat_once(&pair).await {
        Ok(response) => report.honours_n = response.choices.len() == 2,
        Err(error) => report.problems.push(format!("n = 2: {error}")),
    }
    if !report.honours_n {
        report.problems.push(
            "the server ignores `n`: missing samples are asked for in further requests".into(),
        );
    }

    let settings = ScoringSettings {
        mode: ScoringMode::Forced,
        top_logprobs: report.max_top_logprobs.unwrap_or(1).min(20),
        ..ScoringSettings::default()
    };
    let forced = scoring_request(
        vec![ChatMessage::user(
            "Here is a recommendation: The Matrix (1999). Would you watch it?",
        )],
        &settings,
    );
    match backend.chat_once(&forced).await {
        Ok(response) => match response.choices.first() {
            Some(choice) if !choice.text.trim_start().starts_with("Accept") => {
                match read_score(choice, ScoringMode::Forced, ScoreFormula::Reference) {
                    Ok(_) => report.continue_final_message = true,
                    Err(error) => report
                        .problems
                        .push(format!("continue_final_message: {error}")),
                }
            }
            Some(_) => report
                .problems
                .push("continue_final_message: the pre-filled answer was not continued".into()),
            None => report
                .problems
                .push("continue_final_message: no choice returned".into()),
        },
        Err(error) => report
            .problems
            .push(format!("continue_final_message: {error}")),
    }
    report
}
