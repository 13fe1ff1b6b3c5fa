//! The HTTP client of one OpenAI-compatible endpoint.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;

use super::wire::{error_message_of, WireRequest, WireResponse};
use crate::model::classify::{ClassifyRequest, ClassifyResponse};
use crate::model::scoring::{Answer, YesNoTokenIds, YES_NO_TEXTS};
use crate::model::{Backend, ChatRequest, ChatResponse, ModelError};

/// Where and how to reach one endpoint.
#[derive(Debug, Clone)]
pub struct HttpEndpoint {
    /// Base URL, e.g. `http://gpu-01:8000/v1`; `/v1` is appended when the URL has no path.
    pub url: String,
    /// The model id to request (vLLM's `--served-model-name`).
    pub model: String,
    /// The API key, read by the caller from the environment variable the config names. Never
    /// logged, never part of the cache key.
    pub api_key: Option<String>,
    /// Whole-request timeout.
    pub timeout: Duration,
}

/// A client of one endpoint. `chat` returns exactly `n` choices: servers that ignore `n`
/// (llama.cpp) get further requests for the missing ones, seeded `seed + i` for child `i` as vLLM
/// seeds its children, so the answers do not depend on whether the server honoured `n`.
#[derive(Debug, Clone)]
pub struct HttpBackend {
    base: String,
    endpoint: HttpEndpoint,
    client: reqwest::Client,
}

impl HttpBackend {
    pub fn new(endpoint: HttpEndpoint) -> Result<Self, ModelError> {
        let base = normalise_base(&endpoint.url);
        let client = reqwest::Client::builder()
            .connect_timeout(endpoint.timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|error| ModelError::Connection {
                endpoint: base.clone(),
                message: format!("cannot build the HTTP client: {error}"),
            })?;
        Ok(HttpBackend {
            base,
            endpoint,
            client,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn model(&self) -> &str {
        &self.endpoint.model
    }

    fn authorised(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.endpoint.api_key {
            Some(key) => builder.bearer_auth(key),
            None => builder,
        }
    }

    fn transport_error(&self, error: reqwest::Error) -> ModelError {
        if error.is_timeout() && error.is_connect() {
            // The connect timeout (at most 10 s), not the request's: a connection that never
            // opened is a connection failure.
            ModelError::Connection {
                endpoint: self.base.clone(),
                message: format!("connecting timed out: {}", error_chain(&error)),
            }
        } else if error.is_timeout() {
            ModelError::Timeout {
                endpoint: self.base.clone(),
                seconds: self.endpoint.timeout.as_secs_f64(),
            }
        } else {
            ModelError::Connection {
                endpoint: self.base.clone(),
                message: error_chain(&error),
            }
        }
    }

    fn status_error(&self, status: StatusCode, body: &str) -> ModelError {
        let message = error_message_of(body);
        // llama.cpp answers request validation failures with HTTP 500; the same request would fail
        // again, so they are rejections, not server errors.
        let validation = message.contains("validation error");
        if status.is_client_error() || (status.is_server_error() && validation) {
            ModelError::Rejected {
                endpoint: self.base.clone(),
                status: status.as_u16(),
                message,
            }
        } else {
            ModelError::Server {
                endpoint: self.base.clone(),
                status: status.as_u16(),
                message,
            }
        }
    }

    /// Sends a request (with the API key) and returns the body of a successful answer; transport
    /// failures and non-2xx statuses become the matching [`ModelError`].
    async fn body_of(&self, builder: reqwest::RequestBuilder) -> Result<String, ModelError> {
        let response = self
            .authorised(builder)
            .send()
            .await
            .map_err(|error| self.transport_error(error))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|error| self.transport_error(error))?;
        if !status.is_success() {
            return Err(self.status_error(status, &text));
        }
        Ok(text)
    }

    /// One request as it is, without topping up missing choices (what `grsu doctor` needs to see
    /// whether the server honours `n`).
    pub async fn chat_once(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let body = WireRequest::from_request(&self.endpoint.model, request);
        let text = self
            .body_of(
                self.client
                    .post(format!("{}/chat/completions", self.base))
                    .timeout(self.endpoint.timeout)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(serde_json::to_vec(&body).expect("a request body always serialises")),
            )
            .await?;
        let wire: WireResponse =
            serde_json::from_str(&text).map_err(|error| ModelError::Malformed {
                endpoint: self.base.clone(),
                message: format!(
                    "{error}; body starts {:?}",
                    text.chars().take(120).collect::<String>()
                ),
            })?;
        Ok(wire.into_response())
    }

    /// The server's root: vLLM serves `/classify` beside `/v1`, not under it.
    fn root(&self) -> &str {
        self.base.strip_suffix("/v1").unwrap_or(&self.base)
    }

    /// The token ids of `text` by the server's tokenizer, without special tokens (vLLM's
    /// `POST /tokenize {"model", "prompt", "add_special_tokens": false}` → `{"tokens": [...]}`,
    /// served beside `/v1`).
    pub async fn tokenize(&self, text: &str) -> Result<Vec<u32>, ModelError> {
        let body = serde_json::json!({
            "model": self.endpoint.model,
            "prompt": text,
            "add_special_tokens": false,
        });
        let text = self
            .body_of(
                self.client
                    .post(format!("{}/tokenize", self.root()))
                    .timeout(self.endpoint.timeout.min(Duration::from_secs(30)))
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.to_string()),
            )
            .await?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|error| ModelError::Malformed {
                endpoint: self.base.clone(),
                message: format!("/tokenize: {error}"),
            })?;
        value["tokens"]
            .as_array()
            .and_then(|tokens| {
                tokens
                    .iter()
                    .map(|token| token.as_u64().and_then(|id| u32::try_from(id).ok()))
                    .collect::<Option<Vec<u32>>>()
            })
            .ok_or_else(|| ModelError::Malformed {
                endpoint: self.base.clone(),
                message: format!(
                    "/tokenize: no list of token ids in {:?}",
                    text.chars().take(120).collect::<String>()
                ),
            })
    }

    /// The ids of the answer tokens Yes and No by the server's `/tokenize`: each text of
    /// [`YES_NO_TEXTS`] that is a single token (with and without the leading space).
    pub async fn yes_no_token_ids(&self) -> Result<YesNoTokenIds, ModelError> {
        let mut ids = YesNoTokenIds::default();
        for (text, answer) in YES_NO_TEXTS {
            if let [id] = self.tokenize(text).await?[..] {
                let list = match answer {
                    Answer::Yes => &mut ids.yes,
                    Answer::No => &mut ids.no,
                };
                if !list.contains(&id) {
                    list.push(id);
                }
            }
        }
        Ok(ids)
    }

    /// The model ids the server lists at `/v1/models`.
    pub async fn list_models(&self) -> Result<Vec<String>, ModelError> {
        let text = self
            .body_of(
                self.client
                    .get(format!("{}/models", self.base))
                    .timeout(self.endpoint.timeout.min(Duration::from_secs(30))),
            )
            .await?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|error| ModelError::Malformed {
                endpoint: self.base.clone(),
                message: format!("/models: {error}"),
            })?;
        Ok(value["data"]
            .as_array()
            .map(|models| {
                models
                    .iter()
                    .filter_map(|model| model["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }
}

#[async_trait]
impl Backend for HttpBackend {
    fn identity(&self) -> String {
        format!("openai:{}", self.endpoint.model)
    }

    fn endpoint(&self) -> String {
        self.base.clone()
    }

    async fn health(&self) -> Result<(), ModelError> {
        self.list_models().await.map(|_| ())
    }

    async fn classify(&self, request: &ClassifyRequest) -> Result<ClassifyResponse, ModelError> {
        let body = serde_json::json!({"model": self.endpoint.model, "input": request.input});
        let text = self
            .body_of(
                self.client
                    .post(format!("{}/classify", self.root()))
                    .timeout(self.endpoint.timeout)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.to_string()),
            )
            .await?;
        let response: ClassifyResponse =
            serde_json::from_str(&text).map_err(|error| ModelError::Malformed {
                endpoint: self.base.clone(),
                message: format!(
                    "/classify: {error}; body starts {:?}",
                    text.chars().take(120).collect::<String>()
                ),
            })?;
        response.validated(request.input.len(), &self.base)
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let wanted = request.n.max(1) as usize;
        let mut response = self.chat_once(request).await?;
        response.choices.truncate(wanted);
        while response.choices.len() < wanted {
            let have = response.choices.len();
            let mut rest = request.clone();
            rest.n = (wanted - have) as u32;
            rest.seed = request.seed.map(|seed| seed.wrapping_add(have as u64));
            let more = self.chat_once(&rest).await?;
            if more.choices.is_empty() {
                return Err(ModelError::Malformed {
                    endpoint: self.base.clone(),
                    message: "a response without choices".into(),
                });
            }
            response.usage.prompt_tokens += more.usage.prompt_tokens;
            response.usage.completion_tokens += more.usage.completion_tokens;
            response
                .choices
                .extend(more.choices.into_iter().take(wanted - have));
        }
        Ok(response)
    }
}

/// `http://host:8000` → `http://host:8000/v1`; `http://host:8000/v1/` → `http://host:8000/v1`: the
/// base the client sends requests to (callers that group endpoints use it too, so that two spellings
/// of one endpoint are one).
pub fn normalise_base(url: &str) -> String {
    let trimmed = url.trim().trim_end_matches('/');
    let after_scheme = trimmed.split_once("://").map_or(trimmed, |(_, rest)| rest);
    if after_scheme.contains('/') {
        trimmed.to_string()
    } else {
        format!("{trimmed}/v1")
    }
}

/// An error with its sources, which is where reqwest keeps the useful part ("connection refused").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::normalise_base;

    #[test]
    fn base_urls_get_v1_only_when_they_have_no_path() {
        assert_eq!(normalise_base("http://h:8000"), "http://h:8000/v1");
        assert_eq!(normalise_base("http://h:8000/"), "http://h:8000/v1");
        assert_eq!(normalise_base("http://h:8000/v1/"), "http://h:8000/v1");
        assert_eq!(
            normalise_base("https://api.example.com/openai/v1"),
            "https://api.example.com/openai/v1"
        );
    }
}
