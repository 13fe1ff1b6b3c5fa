//! The HTTP client of one OpenAI-compatible endpoint.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{CONTENT_TYPE, LOCATION};

use super::plain::{PlainClient, PlainError, PlainResponse};
use super::wire::{error_message_of, read_response, WireRequest};
use crate::model::classify::{ClassifyRequest, ClassifyResponse};
use crate::model::scoring::{Answer, YesNoTokenIds, YES_NO_TEXTS};
use crate::model::{Backend, ChatRequest, ChatResponse, ModelError};

/// The most bytes of a successful response body the client reads: 16 MiB. A scoring or critique
/// answer is a few KiB and a model listing less; a larger body (or an endless chunked stream) is a
/// broken server or proxy. The body is read incrementally and reading stops at the cap, so memory
/// stays bounded, and the answer is a retryable [`ModelError::Malformed`] naming the endpoint, the
/// path and the cap.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// The most bytes of an error body (non-2xx) read; the rest is left unread (the message of an
/// error body is cut to 500 characters anyway).
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// The most bytes of a non-JSON body read to quote its start in the error.
const QUOTED_BODY_BYTES: usize = 512;

/// Where and how to reach one endpoint. Its `Debug` shows whether there is an API key, never the
/// key.
#[derive(Clone)]
pub struct HttpEndpoint {
    /// Base URL, e.g. `http://gpu-01:8000/v1`; `/v1` is appended when the URL has no path.
    pub url: String,
    /// The model id to request (vLLM's `--served-model-name`).
    pub model: String,
    /// The API key, read by the caller from the environment variable the config names. Never
    /// logged, never part of the cache key.
    pub api_key: Option<String>,
    /// Whole-exchange timeout: from connecting until the last byte of the body (a server trickling
    /// its body runs into it too).
    pub timeout: Duration,
    /// A PEM file of root certificates trusted besides the public web roots (a private CA's
    /// certificate), for `https://` endpoints whose certificate it signed.
    pub ca_file: Option<PathBuf>,
}

/// The certificates of a PEM file (`[models.<role>] ca_file`); a file that cannot be read or holds
/// no certificate is an error saying so.
pub fn root_certificates(path: &Path) -> Result<Vec<reqwest::Certificate>, String> {
    let bytes = std::fs::read(path)
        .map_err(|error| format!("cannot read the CA file {}: {error}", path.display()))?;
    let certificates = reqwest::Certificate::from_pem_bundle(&bytes)
        .map_err(|error| format!("the CA file {} is not PEM: {error}", path.display()))?;
    if certificates.is_empty() {
        return Err(format!(
            "the CA file {} holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)",
            path.display()
        ));
    }
    Ok(certificates)
}

impl std::fmt::Debug for HttpEndpoint {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("HttpEndpoint")
            .field("url", &self.url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("timeout", &self.timeout)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// A client of one endpoint. `chat` returns exactly `n` choices: servers that ignore `n`
/// (llama.cpp: one choice whatever `n` is) get further requests for the missing ones, seeded
/// `seed + i` for child `i` as vLLM seeds its children, so the answers do not depend on whether the
/// server honoured `n`; any other count (none, fewer than `n` but more than one, more than `n`) is
/// a retryable [`ModelError::Malformed`].
///
/// Redirects are not followed (an endpoint is exactly its configured address, and the API key goes
/// nowhere else): a 3xx is a non-retryable [`ModelError::Rejected`]. A 2xx whose content type is not
/// JSON, or whose body exceeds [`MAX_RESPONSE_BYTES`], is a retryable [`ModelError::Malformed`]; a
/// chat answer from another model than the configured one is [`ModelError::WrongModel`].
///
/// Plain `http://` endpoints are spoken to by grsu's own HTTP/1.1 client ([`PlainClient`]: one
/// write and one read per request, no connection task), everything else (https, a proxy in the
/// environment) by reqwest; both give the same answers and the same errors.
#[derive(Debug, Clone)]
pub struct HttpBackend {
    base: String,
    endpoint: HttpEndpoint,
    client: reqwest::Client,
    plain: Option<Arc<PlainClient>>,
}

/// A request to send: its method, URL and JSON body.
enum Outgoing {
    Get(String),
    Post(String, Vec<u8>),
}

/// An answer whose head has arrived, from either transport.
enum Arrived<'a> {
    Web(reqwest::Response),
    Plain(PlainResponse<'a>),
}

/// A transport's failure.
enum TransportError {
    Web(reqwest::Error),
    Plain(PlainError),
}

impl Arrived<'_> {
    fn status(&self) -> u16 {
        match self {
            Arrived::Web(response) => response.status().as_u16(),
            Arrived::Plain(response) => response.status(),
        }
    }

    fn header(&self, name: reqwest::header::HeaderName) -> Option<String> {
        match self {
            Arrived::Web(response) => response
                .headers()
                .get(name)
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned()),
            Arrived::Plain(response) => match name {
                LOCATION => response.location().map(str::to_string),
                CONTENT_TYPE => response.content_type().map(str::to_string),
                _ => None,
            },
        }
    }

    fn content_length(&self) -> Option<u64> {
        match self {
            Arrived::Web(response) => response.content_length(),
            Arrived::Plain(response) => response.content_length(),
        }
    }

    /// The body chunk by chunk, at most `cap` bytes; `true` when there was more (left unread:
    /// the connection is dropped, not reused).
    async fn read_capped(self, cap: usize) -> Result<(Vec<u8>, bool), TransportError> {
        match self {
            Arrived::Plain(response) => response
                .read_capped(cap)
                .await
                .map_err(TransportError::Plain),
            Arrived::Web(mut response) => {
                // Sized once from the announced length (within the cap), not grown chunk by
                // chunk.
                let announced = response.content_length().unwrap_or(0).min(cap as u64) as usize;
                let mut body = Vec::with_capacity(announced);
                while let Some(chunk) = response.chunk().await.map_err(TransportError::Web)? {
                    let room = cap - body.len();
                    if chunk.len() > room {
                        body.extend_from_slice(&chunk[..room]);
                        return Ok((body, true));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok((body, false))
            }
        }
    }
}

impl HttpBackend {
    pub fn new(endpoint: HttpEndpoint) -> Result<Self, ModelError> {
        let base = normalise_base(&endpoint.url);
        let connection_error = |message: String| ModelError::Connection {
            endpoint: base.clone(),
            message,
        };
        let mut builder = reqwest::Client::builder();
        if let Some(path) = &endpoint.ca_file {
            // Added to the public web roots, which stay trusted.
            for certificate in root_certificates(path).map_err(connection_error)? {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let connect_timeout = endpoint.timeout.min(Duration::from_secs(10));
        let client = builder
            .connect_timeout(connect_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            // reqwest follows up to 10 redirects by default, sending the request (and, to the
            // same host, the Authorization header) again to wherever the server points.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| connection_error(format!("cannot build the HTTP client: {error}")))?;
        let plain = PlainClient::for_base(&base, endpoint.api_key.as_deref(), connect_timeout)
            .map(Arc::new);
        Ok(HttpBackend {
            base,
            endpoint,
            client,
            plain,
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

    fn transport_error(&self, error: TransportError, timeout: Duration) -> ModelError {
        match error {
            TransportError::Web(error) => self.web_error(error, timeout),
            // Timeouts of the whole exchange are the caller's deadline, not the transport's.
            TransportError::Plain(error) => ModelError::Connection {
                endpoint: self.base.clone(),
                message: error.to_string(),
            },
        }
    }

    fn web_error(&self, error: reqwest::Error, timeout: Duration) -> ModelError {
        let chain = error_chain(&error);
        if self.base.starts_with("https://") && error.is_connect() && looks_like_tls(&chain) {
            // A certificate that is not trusted (self-signed, expired, another host's) or a server
            // that does not speak TLS: the handshake failed, so nothing was sent. There is no
            // fallback to plain http and no way to accept an invalid certificate.
            return ModelError::Connection {
                endpoint: self.base.clone(),
                message: format!(
                    "TLS handshake failed, no request was sent (the certificate must be valid for the \
                     host and signed by a trusted root, a public one or one in the role's `ca_file`; \
                     grsu never accepts an invalid one nor falls back to http): {chain}"
                ),
            };
        }
        if error.is_timeout() && error.is_connect() {
            // The connect timeout (at most 10 s), not the request's: a connection that never
            // opened is a connection failure.
            ModelError::Connection {
                endpoint: self.base.clone(),
                message: format!("connecting timed out: {chain}"),
            }
        } else if error.is_timeout() {
            ModelError::Timeout {
                endpoint: self.base.clone(),
                seconds: timeout.as_secs_f64(),
            }
        } else {
            ModelError::Connection {
                endpoint: self.base.clone(),
                message: chain,
            }
        }
    }

    /// A 3xx: not followed, and not retryable (the same request gets the same redirect).
    fn redirect_error(&self, status: u16, location: Option<&str>, path: &str) -> ModelError {
        let to = match location {
            Some(location) => format!("to {:?}", location.chars().take(200).collect::<String>()),
            None => "without a location".to_string(),
        };
        ModelError::Rejected {
            endpoint: self.base.clone(),
            status,
            message: format!(
                "{path} redirected {to}; redirects are not followed (an endpoint is exactly its \
                 configured address, and the API key goes nowhere else): configure the final URL"
            ),
        }
    }

    fn status_error(&self, status: u16, body: &str) -> ModelError {
        let message = error_message_of(body);
        // llama.cpp answers request validation failures with HTTP 500; the same request would fail
        // again, so they are rejections, not server errors.
        let validation = message.contains("validation error");
        let client_error = (400..500).contains(&status);
        let server_error = (500..600).contains(&status);
        if client_error || (server_error && validation) {
            ModelError::Rejected {
                endpoint: self.base.clone(),
                status,
                message,
            }
        } else {
            ModelError::Server {
                endpoint: self.base.clone(),
                status,
                message,
            }
        }
    }

    /// Sends a request (with the API key) to `path` and returns the body of a successful answer;
    /// transport failures, non-2xx statuses, a non-JSON content type and a body over
    /// [`MAX_RESPONSE_BYTES`] become the matching [`ModelError`]. `timeout` bounds the whole
    /// exchange, body included.
    async fn body_of(
        &self,
        request: Outgoing,
        path: &str,
        timeout: Duration,
    ) -> Result<String, ModelError> {
        // One deadline around the whole exchange (connecting, headers and the body read chunk by
        // chunk), so a server trickling its body one byte a second times out like one that never
        // answers.
        let exchange = self.exchange(request, path, timeout);
        match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(ModelError::Timeout {
                endpoint: self.base.clone(),
                seconds: timeout.as_secs_f64(),
            }),
        }
    }

    /// Sends the request by the endpoint's transport and reads the answer's head.
    async fn send(&self, request: Outgoing) -> Result<Arrived<'_>, TransportError> {
        if let Some(plain) = &self.plain {
            let sent = match &request {
                Outgoing::Get(url) => plain.send("GET", url, None).await,
                Outgoing::Post(url, body) => plain.send("POST", url, Some(body)).await,
            };
            return sent.map(Arrived::Plain).map_err(TransportError::Plain);
        }
        let builder = match request {
            Outgoing::Get(url) => self.client.get(url),
            Outgoing::Post(url, body) => self
                .client
                .post(url)
                .header(CONTENT_TYPE, "application/json")
                .body(body),
        };
        self.authorised(builder)
            .send()
            .await
            .map(Arrived::Web)
            .map_err(TransportError::Web)
    }

    async fn exchange(
        &self,
        request: Outgoing,
        path: &str,
        timeout: Duration,
    ) -> Result<String, ModelError> {
        let response = self
            .send(request)
            .await
            .map_err(|error| self.transport_error(error, timeout))?;
        let status = response.status();
        if (300..400).contains(&status) {
            let location = response.header(LOCATION);
            return Err(self.redirect_error(status, location.as_deref(), path));
        }
        if !(200..300).contains(&status) {
            let (body, _) = self
                .read_capped(response, MAX_ERROR_BODY_BYTES, timeout)
                .await?;
            return Err(self.status_error(status, &self.redacted(body)));
        }
        let content_type = response.header(CONTENT_TYPE);
        if let Some(content_type) = content_type.filter(|value| !is_json(value)) {
            let (start, _) = self
                .read_capped(response, QUOTED_BODY_BYTES, timeout)
                .await?;
            return Err(ModelError::Malformed {
                endpoint: self.base.clone(),
                message: format!(
                    "{path}: content type {content_type:?}, not JSON (a proxy's page?); body starts \
                     {:?}",
                    self.redacted(start)
                        .chars()
                        .take(120)
                        .collect::<String>()
                ),
            });
        }
        let too_large = || ModelError::Malformed {
            endpoint: self.base.clone(),
            message: format!(
                "{path}: the response body exceeds the cap of {} MiB (MAX_RESPONSE_BYTES); \
                 reading stopped there",
                MAX_RESPONSE_BYTES / (1024 * 1024)
            ),
        };
        if response
            .content_length()
            .is_some_and(|length| length > MAX_RESPONSE_BYTES as u64)
        {
            return Err(too_large());
        }
        let (body, over) = self
            .read_capped(response, MAX_RESPONSE_BYTES, timeout)
            .await?;
        if over {
            return Err(too_large());
        }
        Ok(self.redacted(body))
    }

    /// A body as text, with the API key replaced by `[redacted]` wherever the server wrote it (an
    /// error page that echoes the request's `Authorization` header, a model repeating its
    /// prompt's headers): what the server answers becomes error messages, logs, failure records
    /// and cached responses, none of which may hold the key. The whole body is redacted before
    /// any of it is quoted or cut short, so no part of the key is left either.
    fn redacted(&self, body: Vec<u8>) -> String {
        // Valid UTF-8 (every JSON answer) is taken over as it is, without a copy.
        let text = String::from_utf8(body)
            .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned());
        match self.endpoint.api_key.as_deref() {
            Some(key) if !key.is_empty() && text.contains(key) => text.replace(key, "[redacted]"),
            _ => text,
        }
    }

    /// The body, at most `cap` bytes; `true` when there was more.
    async fn read_capped(
        &self,
        response: Arrived<'_>,
        cap: usize,
        timeout: Duration,
    ) -> Result<(Vec<u8>, bool), ModelError> {
        response
            .read_capped(cap)
            .await
            .map_err(|error| self.transport_error(error, timeout))
    }

    /// A chat answer names the model that wrote it. Accepted: the configured id, no id, a dated
    /// snapshot of it (OpenAI answers `gpt-4o` with `gpt-4o-2024-08-06`), and a `.gguf` file
    /// (llama.cpp without `--alias` serves its one model under any id and names the file).
    fn check_model(&self, answered: &str) -> Result<(), ModelError> {
        let configured = self.endpoint.model.as_str();
        let snapshot = answered
            .strip_prefix(configured)
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
        if answered.is_empty() || answered == configured || snapshot || answered.ends_with(".gguf")
        {
            return Ok(());
        }
        Err(ModelError::WrongModel {
            endpoint: self.base.clone(),
            configured: configured.to_string(),
            answered: answered.chars().take(200).collect(),
        })
    }

    /// `got` choices for `asked`: exactly `asked`, or one (a server that ignores `n`).
    fn check_count(&self, got: usize, asked: usize) -> Result<(), ModelError> {
        if got == asked || (got == 1 && asked > 1) {
            return Ok(());
        }
        Err(ModelError::Malformed {
            endpoint: self.base.clone(),
            message: if got == 0 {
                format!("a response without choices (n = {asked})")
            } else {
                format!(
                    "{got} choices for n = {asked} (expected {asked}, or 1 from a server that \
                     ignores n)"
                )
            },
        })
    }

    /// One request as it is, without topping up missing choices (what `grsu doctor` needs to see
    /// whether the server honours `n`).
    pub async fn chat_once(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let body = WireRequest::body(&self.endpoint.model, request);
        let text = self
            .body_of(
                Outgoing::Post(format!("{}/chat/completions", self.base), body),
                "/chat/completions",
                self.endpoint.timeout,
            )
            .await?;
        let response = read_response(&text).map_err(|error| ModelError::Malformed {
            endpoint: self.base.clone(),
            message: format!(
                "{error}; body starts {:?}",
                text.chars().take(120).collect::<String>()
            ),
        })?;
        self.check_model(&response.model)?;
        Ok(response)
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
                Outgoing::Post(format!("{}/tokenize", self.root()), body.to_string().into()),
                "/tokenize",
                self.endpoint.timeout.min(Duration::from_secs(30)),
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
                Outgoing::Get(format!("{}/models", self.base)),
                "/models",
                self.endpoint.timeout.min(Duration::from_secs(30)),
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
                Outgoing::Post(format!("{}/classify", self.root()), body.to_string().into()),
                "/classify",
                self.endpoint.timeout,
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
        self.check_count(response.choices.len(), wanted)?;
        while response.choices.len() < wanted {
            let have = response.choices.len();
            let mut rest = request.clone();
            rest.n = (wanted - have) as u32;
            rest.seed = request.seed.map(|seed| seed.wrapping_add(have as u64));
            let more = self.chat_once(&rest).await?;
            self.check_count(more.choices.len(), wanted - have)?;
            // Token counts are the server's word: summed without overflowing.
            response.usage.prompt_tokens = response
                .usage
                .prompt_tokens
                .saturating_add(more.usage.prompt_tokens);
            response.usage.completion_tokens = response
                .usage
                .completion_tokens
                .saturating_add(more.usage.completion_tokens);
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

/// `application/json`, `application/json; charset=utf-8`, `application/problem+json`.
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence.ends_with("/json") || essence.ends_with("+json")
}

/// Whether a connection error's chain is rustls failing the handshake.
fn looks_like_tls(chain: &str) -> bool {
    let chain = chain.to_ascii_lowercase();
    [
        "certificate",
        "tls",
        "handshake",
        "corrupt message",
        "invalidcontenttype",
    ]
    .iter()
    .any(|word| chain.contains(word))
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
    use super::*;

    #[test]
    fn the_api_key_is_redacted_from_bodies_and_debug_output() {
        let endpoint = HttpEndpoint {
            url: "http://h:8000/v1".into(),
            model: "m".into(),
            api_key: Some("sk-abc123".into()),
            timeout: Duration::from_secs(1),
            ca_file: None,
        };
        assert!(!format!("{endpoint:?}").contains("sk-abc123"));
        let backend = HttpBackend::new(endpoint).unwrap();
        assert!(!format!("{backend:?}").contains("sk-abc123"));
        // Redacted whole before the message is cut at 500 bytes, so no start of the key is left
        // where the cut falls inside it.
        for padding in [0, 474] {
            let echoed = format!(
                r#"{{"error": {{"message": "{}Authorization: Bearer sk-abc123"}}}}"#,
                "x".repeat(padding)
            );
            let error = backend.status_error(401, &backend.redacted(echoed.as_bytes().to_vec()));
            let message = error.to_string();
            assert!(!message.contains("sk-a"), "{message}");
            if padding == 0 {
                assert!(message.ends_with("Bearer [redacted]"), "{message}");
            }
        }
        assert_eq!(backend.redacted(b"no key here".to_vec()), "no key here");
    }

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
