//! What comes back from model servers: OpenAI-compatible response bodies and error bodies, the
//! CRS's list answers, the simulated user's critiques and its scores (generate and forced).

use std::sync::OnceLock;

use grsu::catalog::{Catalog, CatalogFormat};
use grsu::matching::TitleMatcher;
use grsu::model::http::{error_message_of, read_response, WireRequest, WireResponse};
use grsu::model::scoring::{
    read_score_via, ScoreFormula, ScoringMode, YesNoTokenIds, ANSWER_PREFIX_PIECES,
};
use grsu::model::{Choice, FinishReason};
use grsu::prompts::{match_list, parse_list, validate_critique, validate_list, ListParseMode};

use crate::rng::fnv1a;
use crate::seeds::{self, SeedFiles};
use crate::{Structure, Target, Verdict};

/// The response bodies of the shared fixtures (`openai/*.json`).
fn response_bodies(files: &SeedFiles) -> Vec<Vec<u8>> {
    seeds::files_in(&files.fixture("openai"), ".json")
        .iter()
        .filter_map(|path| seeds::whole(path, 8 * 1024))
        .collect()
}

/// A generate-mode scoring answer as vLLM writes it: the answer line token by token, the answer
/// token's alternatives last.
fn generated_answer() -> Vec<u8> {
    let mut tokens: Vec<serde_json::Value> = ANSWER_PREFIX_PIECES
        .iter()
        .map(|piece| serde_json::json!({"token": piece, "logprob": -0.01, "top_logprobs": [{"token": piece, "logprob": -0.01}]}))
        .collect();
    tokens.push(serde_json::json!({"token": " Yes", "logprob": -0.2, "top_logprobs": [{"token": " Yes", "logprob": -0.2}, {"token": " No", "logprob": -1.8}]}));
    let text: String = ANSWER_PREFIX_PIECES.concat() + " Yes";
    serde_json::json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "grsu-user",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                     "logprobs": {"content": tokens}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 9, "total_tokens": 19}
    })
    .to_string()
    .into_bytes()
}

/// Parses a response body as the HTTP backend does (`chat_once`).
fn parse_response(input: &[u8]) -> Option<grsu::model::ChatResponse> {
    let text = String::from_utf8_lossy(input);
    read_response(&text).ok()
}

/// `/chat/completions` bodies: the response the client reads, and the request `grsu serve` reads.
pub struct Response;

impl Target for Response {
    fn name(&self) -> &'static str {
        "openai-response"
    }

    fn structure(&self) -> Structure {
        Structure::Json
    }

    fn seeds(&self, files: &SeedFiles) -> Vec<Vec<u8>> {
        let mut seeds = response_bodies(files);
        seeds.push(generated_answer());
        seeds.push(
            br#"{"model": "m", "messages": [{"role": "user", "content": "hi"}], "n": 2, "logprobs": true, "top_logprobs": 20, "stop": "\n", "max_completion_tokens": 8, "logprob_token_ids": [9583, 2360]}"#
                .to_vec(),
        );
        seeds
    }

    fn run(&self, input: &[u8]) -> Verdict {
        let mut accepted = false;
        if let Some(response) = parse_response(input) {
            accepted = true;
            let _ = serde_json::to_string(&WireResponse::from_response("id".into(), 0, &response));
        }
        let text = String::from_utf8_lossy(input);
        if let Ok(request) = serde_json::from_str::<WireRequest>(&text) {
            accepted = true;
            let _ = request.to_request(64);
        }
        if accepted {
            Verdict::Accepted
        } else {
            Verdict::Rejected
        }
    }
}

/// The message of an error body, whatever its shape (JSON or text), cut to 500 bytes.
pub struct ErrorBody;

impl Target for ErrorBody {
    fn name(&self) -> &'static str {
        "openai-error-body"
    }

    fn structure(&self) -> Structure {
        Structure::Json
    }

    fn seeds(&self, files: &SeedFiles) -> Vec<Vec<u8>> {
        let mut seeds: Vec<Vec<u8>> = seeds::files_in(&files.fixture("openai"), "")
            .iter()
            .filter(|path| path.to_string_lossy().contains("error"))
            .filter_map(|path| seeds::whole(path, 8 * 1024))
            .collect();
        seeds.push(br#"{"detail": "Not Found"}"#.to_vec());
        seeds.push(b"<html><body>502 Bad Gateway</body></html>".to_vec());
        seeds
    }

    fn run(&self, input: &[u8]) -> Verdict {
        // The client reads a capped body and decodes it lossily.
        let body = String::from_utf8_lossy(input);
        let message = error_message_of(&body);
        if message.len() > 500 + '…'.len_utf8() {
            return Verdict::BadError(format!("a message of {} bytes", message.len()));
        }
        Verdict::Accepted
    }
}

/// The demo catalog and its title matcher.
fn demo_matcher() -> Option<&'static (Catalog, TitleMatcher)> {
    static MATCHER: OnceLock<Option<(Catalog, TitleMatcher)>> = OnceLock::new();
    MATCHER
        .get_or_init(|| {
            let path = SeedFiles::locate().repository_file("data/demo/movie2info.json");
            let catalog = Catalog::load(&path, CatalogFormat::Auto).ok()?;
            let matcher = TitleMatcher::new(&catalog, None);
            Some((catalog, matcher))
        })
        .as_ref()
}

/// The CRS list parser (strict and tolerant), the matching onto the catalog and the validity
/// rule.
pub struct CrsList;

impl CrsList {
    pub fn new() -> Self {
        CrsList
    }
}

impl Default for CrsList {
    fn default() -> Self {
        Self::new()
    }
}

impl Target for CrsList {
    fn name(&self) -> &'static str {
        "crs-list"
    }

    fn structure(&self) -> Structure {
        Structure::Text
    }

    fn seeds(&self, files: &SeedFiles) -> Vec<Vec<u8>> {
        // Numbered bold lists of the noisy titles of the title-matching cases.
        let queries: Vec<String> =
            std::fs::read_to_string(files.fixture("title_match_cases.jsonl"))
                .unwrap_or_default()
                .lines()
                .take(30)
                .filter_map(|line| {
                    let value: serde_json::Value = serde_json::from_str(line).ok()?;
                    value.get("query")?.as_str().map(str::to_string)
                })
                .collect();
        let mut seeds: Vec<Vec<u8>> = queries
            .chunks(10)
            .map(|chunk| {
                let mut answer = String::from("Here are my recommendations:\n");
                for (index, title) in chunk.iter().enumerate() {
                    answer.push_str(&format!("{}. **{title}**\n", index + 1));
                }
                answer.into_bytes()
            })
            .collect();
        for written in [
            "1) \"Heat\" (1995) - a heist film\n2) “Ronin” (1998)\n3. *Thief (1981)*\n4. 'Inside Man' (2006)\n**5.** Sexy Beast (2000)",
            "You might like **Goodfellas (1990)** and **Casino (1995)**.\n## Also:\n**Heat (1995)**",
            "1. **Mission: Impossible (1996)**: spies\n2. The Italian Job (2003), a remake\n3.",
        ] {
            seeds.push(written.as_bytes().to_vec());
        }
        seeds
    }

    fn max_len(&self) -> usize {
        16 * 1024
    }

    fn run(&self, input: &[u8]) -> Verdict {
        let text = String::from_utf8_lossy(input);
        let hash = fnv1a(input);
        let k = 1 + (hash >> 8) as usize % 10;
        let mut valid = false;
        for mode in [ListParseMode::Strict, ListParseMode::Tolerant] {
            let titles = parse_list(&text, mode);
            if titles.iter().any(|title| title.is_empty()) {
                return Verdict::BadError(format!("an empty title parsed from {text:?}"));
            }
            let matched = match demo_matcher() {
                Some((catalog, matcher)) if titles.len() <= 64 => {
                    match_list(&titles, matcher, catalog)
                }
                _ => titles,
            };
            if let Ok(list) = validate_list(&matched, k) {
                valid = true;
                if list.len() != k {
                    return Verdict::BadError(format!(
                        "a valid list of {} items for k = {k}",
                        list.len()
                    ));
                }
            }
        }
        // A usable list is what the CRS's answer is for; the others are asked again.
        if valid {
            Verdict::Accepted
        } else {
            Verdict::Rejected
        }
    }
}

/// The critique validator: finish reason, echoed labels, empty answers.
pub struct Critique;

impl Target for Critique {
    fn name(&self) -> &'static str {
        "critique"
    }

    fn structure(&self) -> Structure {
        Structure::Text
    }

    fn seeds(&self, files: &SeedFiles) -> Vec<Vec<u8>> {
        // Real utterances as critiques, and the labels a model echoes.
        let mut seeds: Vec<Vec<u8>> = seeds::lines(
            &files.data_file("redial/test_data_processed.jsonl"),
            0,
            4,
            4000,
        )
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .map(|text| {
            text.lines()
                .filter_map(|line| {
                    let value: serde_json::Value = serde_json::from_str(line).ok()?;
                    value
                        .get("resp")?
                        .as_str()
                        .map(|resp| format!("s{resp}").into_bytes())
                })
                .collect()
        })
        .unwrap_or_default();
        for written in [
            "s**Feedback:** I'd rather see something with less violence.",
            "sUser: feedback: I have seen these.",
            "l the list is cut",
            "xcontent_filter",
            "s   ",
        ] {
            seeds.push(written.as_bytes().to_vec());
        }
        seeds
    }

    fn run(&self, input: &[u8]) -> Verdict {
        // The first byte is the finish reason, the rest the text.
        let (reason, text) = input
            .split_first()
            .map_or((b's', &[][..]), |(r, t)| (*r, t));
        let finish_reason = match reason {
            b's' => FinishReason::Stop,
            b'l' => FinishReason::Length,
            _ => FinishReason::Other(
                String::from_utf8_lossy(&text[..text.len().min(16)]).into_owned(),
            ),
        };
        let choice = Choice {
            text: String::from_utf8_lossy(text).into_owned(),
            finish_reason,
            logprobs: None,
        };
        match validate_critique(&choice) {
            Ok(critique) => {
                if critique.is_empty() || critique.trim() != critique {
                    return Verdict::BadError(format!("critique {critique:?} not trimmed"));
                }
                Verdict::Accepted
            }
            Err(_) => Verdict::Rejected,
        }
    }
}

/// The score reader of one scoring mode, on response bodies.
pub struct Score {
    mode: ScoringMode,
}

impl Score {
    pub fn generate() -> Self {
        Score {
            mode: ScoringMode::Generate,
        }
    }

    pub fn forced() -> Self {
        Score {
            mode: ScoringMode::Forced,
        }
    }
}

impl Target for Score {
    fn name(&self) -> &'static str {
        match self.mode {
            ScoringMode::Generate => "score-generate",
            ScoringMode::Forced => "score-forced",
        }
    }

    fn structure(&self) -> Structure {
        Structure::Json
    }

    fn seeds(&self, files: &SeedFiles) -> Vec<Vec<u8>> {
        let mut seeds: Vec<Vec<u8>> = response_bodies(files)
            .into_iter()
            .filter(|body| body.windows(8).any(|window| window == b"logprobs"))
            .collect();
        seeds.push(generated_answer());
        seeds
    }

    fn run(&self, input: &[u8]) -> Verdict {
        let Some(response) = parse_response(input) else {
            return Verdict::Rejected;
        };
        let ids = YesNoTokenIds {
            yes: vec![9583, 7566],
            no: vec![2360, 2822],
        };
        let mut read = false;
        for choice in &response.choices {
            for formula in [ScoreFormula::Reference, ScoreFormula::Normalized] {
                for ids in [None, Some(&ids)] {
                    let (score, _) = read_score_via(choice, self.mode, formula, ids);
                    if let Ok(score) = score {
                        read = true;
                        if !(0.0..=1.0).contains(&score.score)
                            || !(0.0..=1.0).contains(&score.p_yes)
                            || !(0.0..=1.0).contains(&score.p_no)
                        {
                            return Verdict::BadError(format!("a score out of [0, 1]: {score:?}"));
                        }
                        let tokens = choice.logprobs.as_deref().unwrap_or_default();
                        if score.position >= tokens.len() {
                            return Verdict::BadError(format!(
                                "answer position {} of {} tokens",
                                score.position,
                                tokens.len()
                            ));
                        }
                    }
                }
            }
        }
        if read {
            Verdict::Accepted
        } else {
            Verdict::Rejected
        }
    }
}
