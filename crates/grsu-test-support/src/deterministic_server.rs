//! A deterministic OpenAI-compatible server for end-to-end tests of `grsu run`: it answers CRS
//! prompts with numbered bold lists of catalog titles chosen from the request's seed, critiques
//! with a fixed sentence per seed, and scoring questions (forced or generate) with Yes/No
//! logprobs that depend on the item's title only. It counts requests by kind and remembers which
//! request bodies it answered completely, so tests can count repeated finished calls.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use grsu::model::scoring::ANSWER_PREFIX_PIECES;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

use crate::scripted_server::read_request;

/// What the server has seen.
#[derive(Debug, Default, Clone)]
pub struct Traffic {
    /// Requests by kind (`crs`, `critique`, `score`).
    pub by_kind: BTreeMap<String, u64>,
    /// `n` of each CRS request, in arrival order.
    pub crs_n: Vec<u64>,
    /// How many times each fully answered body was answered.
    pub answered: HashMap<String, u64>,
}

impl Traffic {
    pub fn total(&self) -> u64 {
        self.by_kind.values().sum()
    }

    /// Bodies answered completely more than once (each extra time counts).
    pub fn repeated_finished_calls(&self) -> u64 {
        self.answered
            .values()
            .map(|count| count.saturating_sub(1))
            .sum()
    }
}

/// A running deterministic server.
#[derive(Clone)]
pub struct DeterministicServer {
    pub address: SocketAddr,
    pub traffic: Arc<Mutex<Traffic>>,
}

/// The probability of Yes the server gives an item: a fixed function of the title.
pub fn p_yes(title: &str) -> f64 {
    0.05 + 0.9 * (fnv(title.as_bytes()) % 1000) as f64 / 999.0
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |hash, byte| {
        (hash ^ *byte as u64).wrapping_mul(0x100000001b3)
    })
}

impl DeterministicServer {
    /// Starts over the demo catalog's titles, answering at once.
    pub async fn demo() -> Self {
        let titles = crate::demo_titles(&crate::repository_root());
        DeterministicServer::start(titles, Duration::ZERO).await
    }

    /// Starts on 127.0.0.1:0 with the given catalog titles; every answer waits `delay` first.
    pub async fn start(titles: Vec<String>, delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = DeterministicServer {
            address: listener.local_addr().unwrap(),
            traffic: Arc::default(),
        };
        let titles = Arc::new(titles);
        let traffic = server.traffic.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (titles, traffic) = (titles.clone(), traffic.clone());
                tokio::spawn(async move {
                    let Some((path, body)) = read_request(&mut stream).await else {
                        return;
                    };
                    let answer = if path.ends_with("/models") {
                        json!({"object": "list", "data": [{"id": "det"}]})
                    } else {
                        tokio::time::sleep(delay).await;
                        match serde_json::from_str::<Value>(&body) {
                            Ok(request) if path.ends_with("/classify") => {
                                classify(&request, &traffic)
                            }
                            Ok(request) => answer(&request, &titles, &traffic),
                            Err(_) => json!({"error": {"message": "bad body", "code": 400}}),
                        }
                    };
                    let text = answer.to_string();
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        text.len()
                    );
                    let written = async {
                        stream.write_all(head.as_bytes()).await?;
                        stream.write_all(text.as_bytes()).await?;
                        stream.flush().await
                    }
                    .await;
                    if written.is_ok() && !path.ends_with("/models") {
                        *traffic.lock().unwrap().answered.entry(body).or_default() += 1;
                    }
                });
            }
        });
        server
    }

    pub fn url(&self) -> String {
        format!("http://{}/v1", self.address)
    }

    pub fn traffic(&self) -> Traffic {
        self.traffic.lock().unwrap().clone()
    }
}

fn token(text: &str, logprob: f64, top: &[(&str, f64)]) -> Value {
    json!({"token": text, "logprob": logprob, "top_logprobs": top.iter().map(|(token, logprob)| json!({"token": token, "logprob": logprob})).collect::<Vec<_>>()})
}

/// The title a scoring prompt asks about: the numbered line after its last "## Recommendation".
fn scored_title(prompt: &str) -> String {
    let asked = prompt.rsplit("## Recommendation").next().unwrap_or("");
    asked
        .lines()
        .find_map(|line| {
            line.split_once(". ")
                .filter(|(number, _)| number.trim().parse::<u32>().is_ok())
                .map(|(_, rest)| rest.trim().to_string())
        })
        .unwrap_or_default()
}

/// vLLM's `/classify`: class probabilities [P(no), P(yes)] with P(yes) = [`p_yes`] of the title.
fn classify(request: &Value, traffic: &Mutex<Traffic>) -> Value {
    let inputs = request["input"].as_array().cloned().unwrap_or_default();
    *traffic
        .lock()
        .unwrap()
        .by_kind
        .entry("classify".into())
        .or_default() += 1;
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, text)| {
            let p = p_yes(&scored_title(text.as_str().unwrap_or("")));
            json!({"index": index, "label": if p >= 0.5 { "Yes" } else { "No" }, "probs": [1.0 - p, p], "num_classes": 2})
        })
        .collect();
    json!({"id": "classify-1", "object": "list", "created": 0, "model": request["model"], "data": data,
           "usage": {"prompt_tokens": 10 * inputs.len(), "total_tokens": 10 * inputs.len(), "completion_tokens": 0}})
}

fn answer(request: &Value, titles: &[String], traffic: &Mutex<Traffic>) -> Value {
    let messages = request["messages"].as_array().cloned().unwrap_or_default();
    let prompt: String = messages
        .iter()
        .filter_map(|message| message["content"].as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let n = request["n"].as_u64().unwrap_or(1);
    let seed = request["seed"].as_u64().unwrap_or(0);
    let kind = if prompt.contains("Accept the recommendation (Yes/No)? X") {
        "score"
    } else if prompt.contains("Read the conversation and provide feedback") {
        "critique"
    } else {
        "crs"
    };
    {
        let mut traffic = traffic.lock().unwrap();
        *traffic.by_kind.entry(kind.to_string()).or_default() += 1;
        if kind == "crs" {
            traffic.crs_n.push(n);
        }
    }
    let mut choices = Vec::new();
    for child in 0..n {
        let child_seed = seed.wrapping_add(child);
        let (text, logprobs) = match kind {
            "score" => {
                let p = p_yes(&scored_title(&prompt));
                let (yes, no) = (p.ln(), (1.0 - p).ln());
                let answer = if p >= 0.5 { " Yes" } else { " No" };
                let answer_token = token(
                    answer,
                    if p >= 0.5 { yes } else { no },
                    &[(" Yes", yes), (" No", no)],
                );
                let forced = request["continue_final_message"].as_bool().unwrap_or(false);
                if forced {
                    (answer.to_string(), vec![answer_token])
                } else {
                    let mut tokens: Vec<Value> = ANSWER_PREFIX_PIECES
                        .iter()
                        .map(|piece| token(piece, -0.01, &[]))
                        .collect();
                    tokens.push(answer_token);
                    (
                        format!("Accept the recommendation (Yes/No)?{answer}"),
                        tokens,
                    )
                }
            }
            "critique" => (
                format!(
                    "I would like something with more suspense, variant {}.",
                    child_seed % 7
                ),
                vec![],
            ),
            _ => {
                let k = prompt
                    .split("recommend ")
                    .filter_map(|part| part.split_whitespace().next()?.parse::<usize>().ok())
                    .next()
                    .unwrap_or(10);
                let mut chosen = Vec::new();
                let mut state = fnv(format!("{child_seed}/{}", prompt.len()).as_bytes());
                while chosen.len() < k.min(titles.len()) {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let title = &titles[(state >> 33) as usize % titles.len()];
                    if !chosen.contains(title) {
                        chosen.push(title.clone());
                    }
                }
                let text = chosen
                    .iter()
                    .enumerate()
                    .map(|(index, title)| format!("{}. **{title}**", index + 1))
                    .collect::<Vec<_>>()
                    .join("\n");
                (text, vec![])
            }
        };
        let completion_tokens = if logprobs.is_empty() {
            text.len() / 4 + 1
        } else {
            logprobs.len()
        };
        choices.push((
            json!({
                "index": child,
                "message": {"role": "assistant", "content": text},
                "logprobs": if logprobs.is_empty() { Value::Null } else { json!({"content": logprobs}) },
                "finish_reason": "stop"
            }),
            completion_tokens,
        ));
    }
    let completion: usize = choices.iter().map(|(_, tokens)| tokens).sum();
    json!({
        "id": "det",
        "object": "chat.completion",
        "model": request["model"],
        "choices": choices.into_iter().map(|(choice, _)| choice).collect::<Vec<_>>(),
        "usage": {"prompt_tokens": prompt.len() / 4 + 1, "completion_tokens": completion, "total_tokens": 0}
    })
}
