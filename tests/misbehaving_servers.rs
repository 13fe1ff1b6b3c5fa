//! The HTTP backend against servers that misbehave (issue 17): an in-process server on
//! 127.0.0.1:0 writing raw HTTP, so that bodies can be endless or trickled, redirects point
//! elsewhere, content types lie and TLS is not spoken; and an HTTPS server whose certificate no
//! trusted root signed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use grsu::model::http::{HttpBackend, HttpEndpoint, MAX_RESPONSE_BYTES};
use grsu::model::scoring::{read_score, read_score_via, ScoreFormula, ScorePath, ScoringMode};
use grsu::model::{Backend, ChatMessage, ChatRequest, ModelError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const KEY: &str = "secret-key-never-elsewhere";

/// What the server does with every request.
#[derive(Debug, Clone)]
enum Behaviour {
    /// 200, JSON, this body.
    Json(String),
    /// 200 with this content type and body.
    Typed(&'static str, String),
    /// 200 announcing `content-length` bytes of a JSON string, and writing them.
    Sized(u64),
    /// 200, chunked, chunks of 64 KiB forever.
    EndlessChunked,
    /// 200 with a 1000-byte body, one byte a second.
    Trickle,
    /// This redirect status to this location.
    Redirect(u16, String),
    /// A plain-HTTP 400 page whatever arrives (what a plain server says to a TLS handshake).
    PlainBadRequest,
}

#[derive(Clone)]
struct RawServer {
    address: std::net::SocketAddr,
    /// Everything each connection sent before the server answered.
    received: Arc<Mutex<Vec<Vec<u8>>>>,
    /// Body bytes the server managed to write, over all connections.
    written: Arc<AtomicU64>,
}

impl RawServer {
    async fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = RawServer {
            address: listener.local_addr().unwrap(),
            received: Arc::default(),
            written: Arc::default(),
        };
        let handle = server.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (handle, behaviour) = (handle.clone(), behaviour.clone());
                tokio::spawn(async move { handle.serve(stream, behaviour).await });
            }
        });
        server
    }

    fn url(&self) -> String {
        format!("http://{}/v1", self.address)
    }

    fn received(&self) -> Vec<Vec<u8>> {
        self.received.lock().unwrap().clone()
    }

    async fn serve(&self, mut stream: TcpStream, behaviour: Behaviour) {
        let request = read_request(&mut stream).await;
        if request.is_empty() {
            return;
        }
        self.received.lock().unwrap().push(request);
        let head = |status: &str, headers: &str| {
            format!("HTTP/1.1 {status}\r\n{headers}connection: close\r\n\r\n")
        };
        match behaviour {
            Behaviour::Json(body) => {
                let head = head(
                    "200 OK",
                    &format!(
                        "content-type: application/json\r\ncontent-length: {}\r\n",
                        body.len()
                    ),
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(body.as_bytes()).await;
            }
            Behaviour::Typed(content_type, body) => {
                let head = head(
                    "200 OK",
                    &format!(
                        "content-type: {content_type}\r\ncontent-length: {}\r\n",
                        body.len()
                    ),
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(body.as_bytes()).await;
            }
            Behaviour::Sized(length) => {
                let head = head(
                    "200 OK",
                    &format!("content-type: application/json\r\ncontent-length: {length}\r\n"),
                );
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b'a'; 64 * 1024];
                let mut left = length;
                while left > 0 {
                    let size = left.min(chunk.len() as u64) as usize;
                    if stream.write_all(&chunk[..size]).await.is_err() {
                        return;
                    }
                    self.written.fetch_add(size as u64, Ordering::Relaxed);
                    left -= size as u64;
                }
            }
            Behaviour::EndlessChunked => {
                let head = head(
                    "200 OK",
                    "content-type: application/json\r\ntransfer-encoding: chunked\r\n",
                );
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let mut chunk = format!("{:x}\r\n", 64 * 1024).into_bytes();
                chunk.extend(std::iter::repeat_n(b' ', 64 * 1024));
                chunk.extend_from_slice(b"\r\n");
                while stream.write_all(&chunk).await.is_ok() {
                    self.written.fetch_add(64 * 1024, Ordering::Relaxed);
                }
            }
            Behaviour::Trickle => {
                let head = head(
                    "200 OK",
                    "content-type: application/json\r\ncontent-length: 1000\r\n",
                );
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                for _ in 0..1000 {
                    if stream.write_all(b" ").await.is_err() {
                        return;
                    }
                    self.written.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
            Behaviour::Redirect(status, location) => {
                let head = head(
                    &format!("{status} Moved"),
                    &format!("location: {location}\r\ncontent-length: 0\r\n"),
                );
                let _ = stream.write_all(head.as_bytes()).await;
            }
            Behaviour::PlainBadRequest => {
                let body = "<html><body>400 Bad Request</body></html>";
                let head = head(
                    "400 Bad Request",
                    &format!(
                        "content-type: text/html\r\ncontent-length: {}\r\n",
                        body.len()
                    ),
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(body.as_bytes()).await;
            }
        }
        let _ = stream.shutdown().await;
    }
}

/// The bytes of one request: the head and a `content-length` body; or, when the first byte is not
/// the start of an HTTP method (a TLS handshake), whatever the first read brought.
async fn read_request(stream: &mut TcpStream) -> Vec<u8> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let Ok(read) = stream.read(&mut chunk).await else {
            return buffer;
        };
        if read == 0 {
            return buffer;
        }
        buffer.extend_from_slice(&chunk[..read]);
        if !buffer[0].is_ascii_uppercase() {
            return buffer;
        }
        if let Some(at) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..at]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .map_or(0, |value| value.trim().parse::<usize>().unwrap_or(0));
            if buffer.len() >= at + 4 + length {
                return buffer;
            }
        }
    }
}

fn endpoint_at(url: String, timeout: Duration) -> HttpEndpoint {
    HttpEndpoint {
        url,
        model: "grsu-user".into(),
        api_key: Some(KEY.into()),
        timeout,
        ca_file: None,
    }
}

fn backend_at(url: String, timeout: Duration) -> HttpBackend {
    HttpBackend::new(endpoint_at(url, timeout)).unwrap()
}

fn backend(server: &RawServer) -> HttpBackend {
    backend_at(server.url(), Duration::from_secs(10))
}

fn request(n: u32) -> ChatRequest {
    let mut request = ChatRequest::new(vec![ChatMessage::user("Would you watch Heat (1995)?")]);
    request.n = n;
    request.seed = Some(7);
    request.logprobs = true;
    request.top_logprobs = Some(2);
    request
}

/// A vLLM-shaped body from `model` with `choices` choices, each answering " Yes" with `logprob`
/// (written as is into the JSON, so `NaN` can be what Python's json module writes).
fn chat_body(model: &str, choices: usize, logprob: &str) -> String {
    let choice = |index: usize| {
        format!(
            r#"{{"index": {index}, "message": {{"role": "assistant", "content": " Yes"}},
               "logprobs": {{"content": [{{"token": " Yes", "logprob": {logprob},
                 "top_logprobs": [{{"token": " Yes", "logprob": {logprob}}},
                                  {{"token": " No", "logprob": -2.5}}]}}]}},
               "finish_reason": "length"}}"#
        )
    };
    let choices: Vec<String> = (0..choices).map(choice).collect();
    format!(
        r#"{{"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "{model}",
            "choices": [{}], "usage": {{"prompt_tokens": 10, "completion_tokens": 1}}}}"#,
        choices.join(",")
    )
}

fn malformed_message(error: &ModelError) -> &str {
    match error {
        ModelError::Malformed { message, .. } => message,
        other => panic!("expected a malformed response, got {other:?}"),
    }
}

/// Waits until the server's writes stop growing (the client closed the connection).
async fn settled(counter: &AtomicU64) -> u64 {
    let mut last = counter.load(Ordering::Relaxed);
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = counter.load(Ordering::Relaxed);
        if now == last {
            return now;
        }
        last = now;
    }
}

#[tokio::test]
async fn a_one_gibibyte_body_is_refused_at_the_cap_without_reading_it() {
    let server = RawServer::start(Behaviour::Sized(1 << 30)).await;
    let started = Instant::now();
    let error = backend(&server).chat(&request(1)).await.unwrap_err();
    let message = malformed_message(&error);
    assert!(error.is_retryable());
    assert!(
        message.contains("/chat/completions") && message.contains("16 MiB"),
        "{error}"
    );
    assert!(error.to_string().contains(&server.url()), "{error}");
    let written = settled(&server.written).await;
    assert!(written < 64 << 20, "the server wrote {written} bytes");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn an_endless_chunked_body_stops_at_the_cap() {
    let server = RawServer::start(Behaviour::EndlessChunked).await;
    let started = Instant::now();
    let error = backend(&server).chat(&request(1)).await.unwrap_err();
    let message = malformed_message(&error);
    assert!(error.is_retryable());
    assert!(message.contains("exceeds the cap of 16 MiB"), "{error}");
    // The client read up to the cap and closed the connection: the server's writes stop a few
    // socket buffers after it.
    let written = settled(&server.written).await;
    assert!(
        written >= MAX_RESPONSE_BYTES as u64 && written < (MAX_RESPONSE_BYTES as u64) * 3,
        "the server wrote {written} bytes"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test]
async fn a_body_trickled_one_byte_a_second_times_out_as_a_whole() {
    let server = RawServer::start(Behaviour::Trickle).await;
    let client = backend_at(server.url(), Duration::from_millis(1500));
    let started = Instant::now();
    let error = client.chat(&request(1)).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        matches!(error, ModelError::Timeout { seconds, .. } if seconds == 1.5),
        "{error:?}"
    );
    assert!(error.is_retryable());
    assert!(
        elapsed >= Duration::from_millis(1400) && elapsed < Duration::from_secs(4),
        "{elapsed:?}"
    );
    // The headers came at once and some body bytes followed: the deadline covers the body.
    assert!(server.written.load(Ordering::Relaxed) >= 1);
}

#[tokio::test]
async fn redirects_are_not_followed_and_the_key_goes_nowhere_else() {
    let elsewhere = RawServer::start(Behaviour::Json(chat_body("grsu-user", 1, "-0.1"))).await;
    for status in [301u16, 302, 303, 307, 308] {
        let location = format!("http://{}/v1/chat/completions", elsewhere.address);
        let server = RawServer::start(Behaviour::Redirect(status, location.clone())).await;
        let client = backend(&server);
        let error = client.chat(&request(1)).await.unwrap_err();
        match &error {
            ModelError::Rejected {
                status: seen,
                message,
                ..
            } => {
                assert_eq!(*seen, status);
                assert!(
                    message.contains("redirected") && message.contains(&location),
                    "{message}"
                );
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
        assert!(!error.is_retryable());
        assert!(!error.to_string().contains(KEY));
        let health = client.health().await.unwrap_err();
        assert!(matches!(health, ModelError::Rejected { .. }), "{health:?}");
        // The configured server got the key; the other address got nothing at all.
        let asked = String::from_utf8_lossy(&server.received()[0]).to_ascii_lowercase();
        assert!(
            asked.contains(&format!("authorization: bearer {KEY}")),
            "{asked}"
        );
    }
    assert!(elsewhere.received().is_empty());
}

#[tokio::test]
async fn an_answer_from_another_model_is_a_non_retryable_error() {
    let server = RawServer::start(Behaviour::Json(chat_body("other-model", 1, "-0.1"))).await;
    let error = backend(&server).chat(&request(1)).await.unwrap_err();
    match &error {
        ModelError::WrongModel {
            configured,
            answered,
            ..
        } => assert_eq!(
            (configured.as_str(), answered.as_str()),
            ("grsu-user", "other-model")
        ),
        other => panic!("expected a wrong model, got {other:?}"),
    }
    assert!(!error.is_retryable());
    let message = error.to_string();
    assert!(
        message.contains("`other-model`") && message.contains("`grsu-user`"),
        "{message}"
    );
    // A dated snapshot of the configured id (OpenAI's aliases) and llama.cpp's file name are the
    // configured model; an adapter-like suffix is not.
    for (answered, accepted) in [
        ("grsu-user-2024-08-06", true),
        ("models/SmolLM2-135M-Instruct.Q4_1.gguf", true),
        ("", true),
        ("grsu-user-lora", false),
        ("grsu", false),
    ] {
        let server = RawServer::start(Behaviour::Json(chat_body(answered, 1, "-0.1"))).await;
        let result = backend(&server).chat(&request(1)).await;
        assert_eq!(result.is_ok(), accepted, "{answered}: {result:?}");
    }
}

#[tokio::test]
async fn too_few_or_too_many_choices_are_retryable_malformed_answers() {
    // (n asked, choices answered)
    for (asked, answered) in [(2u32, 3usize), (1, 2), (3, 2), (2, 0), (1, 0)] {
        let server =
            RawServer::start(Behaviour::Json(chat_body("grsu-user", answered, "-0.1"))).await;
        let error = backend(&server).chat(&request(asked)).await.unwrap_err();
        let message = malformed_message(&error);
        assert!(error.is_retryable());
        if answered == 0 {
            assert!(message.contains("without choices"), "{message}");
        } else {
            assert!(
                message.contains(&format!("{answered} choices for n = {asked}")),
                "{message}"
            );
        }
    }
    // One choice for n = 3 is a server that ignores n: topped up (three requests).
    let server = RawServer::start(Behaviour::Json(chat_body("grsu-user", 1, "-0.1"))).await;
    let response = backend(&server).chat(&request(3)).await.unwrap();
    assert_eq!(response.choices.len(), 3);
    assert_eq!(server.received().len(), 3);
}

#[tokio::test]
async fn missing_nan_or_positive_logprobs_never_give_a_score() {
    // NaN as Python's json module writes it is not JSON: the body is malformed (retryable).
    let server = RawServer::start(Behaviour::Json(chat_body("grsu-user", 1, "NaN"))).await;
    let error = backend(&server).chat(&request(1)).await.unwrap_err();
    assert!(malformed_message(&error).contains("body starts"), "{error}");
    assert!(error.is_retryable());

    // A positive logprob parses but is no log-probability: the score is unreadable.
    let server = RawServer::start(Behaviour::Json(chat_body("grsu-user", 1, "0.7"))).await;
    let response = backend(&server).chat(&request(1)).await.unwrap();
    let choice = &response.choices[0];
    let error = read_score(choice, ScoringMode::Forced, ScoreFormula::Reference).unwrap_err();
    assert!(
        matches!(error, ModelError::Unusable { .. }) && error.to_string().contains("logprob 0.7"),
        "{error}"
    );
    let (via, path) = read_score_via(choice, ScoringMode::Forced, ScoreFormula::Normalized, None);
    assert!(via.is_err());
    assert_eq!(path, ScorePath::Unreadable);

    // No logprobs at all.
    let body = chat_body("grsu-user", 1, "-0.1");
    let mut value: serde_json::Value = serde_json::from_str(&body).unwrap();
    value["choices"][0]["logprobs"] = serde_json::Value::Null;
    let server = RawServer::start(Behaviour::Json(value.to_string())).await;
    let response = backend(&server).chat(&request(1)).await.unwrap();
    let error = read_score(
        &response.choices[0],
        ScoringMode::Forced,
        ScoreFormula::Reference,
    )
    .unwrap_err();
    assert!(error.to_string().contains("no logprobs"), "{error}");
}

#[tokio::test]
async fn a_non_json_content_type_is_malformed_and_quoted() {
    let page = format!(
        "<html>\r\n<body><h1>Welcome to the proxy</h1>\u{1b}[0m{}</body></html>",
        "x".repeat(100_000)
    );
    let server = RawServer::start(Behaviour::Typed("text/html; charset=utf-8", page)).await;
    let error = backend(&server).chat(&request(1)).await.unwrap_err();
    let message = malformed_message(&error);
    assert!(error.is_retryable());
    assert!(
        message.contains("text/html; charset=utf-8") && message.contains("not JSON"),
        "{message}"
    );
    // The start of the body, escaped and cut short.
    assert!(
        message.contains(r"<html>\r\n<body><h1>Welcome") && message.contains(r"\u{1b}"),
        "{message}"
    );
    assert!(message.len() < 400, "{} bytes", message.len());
    // JSON with parameters is JSON.
    let server = RawServer::start(Behaviour::Typed(
        "application/json; charset=utf-8",
        chat_body("grsu-user", 1, "-0.1"),
    ))
    .await;
    backend(&server).chat(&request(1)).await.unwrap();
}

#[tokio::test]
async fn an_https_endpoint_that_does_not_speak_tls_fails_clearly_and_sends_nothing() {
    let server = RawServer::start(Behaviour::PlainBadRequest).await;
    let client = backend_at(
        format!("https://{}/v1", server.address),
        Duration::from_secs(5),
    );
    let error = client.chat(&request(1)).await.unwrap_err();
    match &error {
        ModelError::Connection { message, .. } => {
            assert!(
                message.contains("TLS handshake failed, no request was sent"),
                "{message}"
            )
        }
        other => panic!("expected a connection error, got {other:?}"),
    }
    assert!(!error.to_string().contains(KEY));
    // What arrived is a TLS handshake record, never a plain request nor the key.
    let received = server.received();
    assert!(!received.is_empty());
    for bytes in received {
        assert_eq!(bytes[0], 0x16, "a TLS handshake record");
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("POST") && !text.contains(KEY), "{text}");
    }
}

/// What a TLS server saw of one connection.
#[derive(Debug, Clone)]
struct TlsConnection {
    /// The first byte the client sent (0x16: a TLS handshake record; a plain request starts with a
    /// letter).
    first_byte: Option<u8>,
    /// The handshake's outcome: `Ok` or the server side's error.
    handshake: Result<(), String>,
    /// The request bytes read after a completed handshake.
    request: Vec<u8>,
}

/// An HTTPS server on 127.0.0.1:0 with a certificate for 127.0.0.1 and localhost, issued by a CA
/// of its own (which no client trusts unless told to), answering every request with `body`.
struct TlsServer {
    address: std::net::SocketAddr,
    /// The issuing CA's certificate, PEM.
    ca_pem: String,
    connections: Arc<Mutex<Vec<TlsConnection>>>,
}

impl TlsServer {
    async fn start(body: String) -> Self {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
        use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
        use tokio_rustls::rustls::ServerConfig;

        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate().unwrap();
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap()
            .signed_by(&leaf_key, &ca, &ca_key)
            .unwrap();
        let config = ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone(), ca.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = TlsServer {
            address: listener.local_addr().unwrap(),
            ca_pem: ca.pem(),
            connections: Arc::default(),
        };
        let connections = server.connections.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (acceptor, connections, body) =
                    (acceptor.clone(), connections.clone(), body.clone());
                tokio::spawn(async move {
                    let mut first = [0u8; 1];
                    let first_byte = match stream.peek(&mut first).await {
                        Ok(1) => Some(first[0]),
                        _ => None,
                    };
                    let mut stream = match acceptor.accept(stream).await {
                        Ok(stream) => stream,
                        Err(error) => {
                            connections.lock().unwrap().push(TlsConnection {
                                first_byte,
                                handshake: Err(error.to_string()),
                                request: Vec::new(),
                            });
                            return;
                        }
                    };
                    let mut request = Vec::new();
                    let mut chunk = [0u8; 8192];
                    while let Ok(read) = stream.read(&mut chunk).await {
                        if read == 0 {
                            break;
                        }
                        request.extend_from_slice(&chunk[..read]);
                        if request.windows(4).any(|window| window == b"\r\n\r\n") {
                            break;
                        }
                    }
                    connections.lock().unwrap().push(TlsConnection {
                        first_byte,
                        handshake: Ok(()),
                        request,
                    });
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(body.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        server
    }

    fn url(&self) -> String {
        format!("https://{}/v1", self.address)
    }

    fn connections(&self) -> Vec<TlsConnection> {
        self.connections.lock().unwrap().clone()
    }
}

#[tokio::test]
async fn an_untrusted_tls_certificate_fails_clearly_never_downgrades_and_a_ca_file_trusts_it() {
    let server = TlsServer::start(chat_body("grsu-user", 1, "-0.1")).await;
    let client = backend_at(server.url(), Duration::from_secs(5));
    let error = client.chat(&request(1)).await.unwrap_err();
    match &error {
        ModelError::Connection { endpoint, message } => {
            assert_eq!(endpoint, &server.url());
            assert!(
                message.contains("TLS handshake failed, no request was sent")
                    && message.contains("invalid peer certificate: UnknownIssuer"),
                "{message}"
            );
        }
        other => panic!("expected a connection error, got {other:?}"),
    }
    assert!(!error.to_string().contains(KEY));
    // A health check fails the same way.
    let health = client.health().await.unwrap_err();
    assert!(health.to_string().contains("UnknownIssuer"), "{health}");
    // Every connection opened with a TLS handshake (no plain-http retry) that the client broke
    // off, rejecting the certificate: no request, no Authorization header reached the server.
    let connections = server.connections();
    assert!(!connections.is_empty());
    for connection in &connections {
        assert_eq!(connection.first_byte, Some(0x16), "{connection:?}");
        let refused = connection.handshake.as_ref().unwrap_err();
        assert!(
            refused.contains("received fatal alert: UnknownCA"),
            "{refused}"
        );
        assert!(connection.request.is_empty());
    }
    // Trusting the server's CA (`[models.<role>] ca_file`), the same call succeeds over TLS.
    let folder = tempfile::tempdir().unwrap();
    let ca_file = folder.path().join("ca.pem");
    std::fs::write(&ca_file, &server.ca_pem).unwrap();
    let trusting = HttpBackend::new(HttpEndpoint {
        ca_file: Some(ca_file),
        ..endpoint_at(server.url(), Duration::from_secs(5))
    })
    .unwrap();
    let response = trusting.chat(&request(1)).await.unwrap();
    assert_eq!(response.choices.len(), 1);
    let last = server.connections().pop().unwrap();
    assert!(last.handshake.is_ok(), "{last:?}");
    let asked = String::from_utf8_lossy(&last.request).to_ascii_lowercase();
    assert!(
        asked.starts_with("post /v1/chat/completions")
            && asked.contains(&format!("authorization: bearer {KEY}")),
        "{asked}"
    );
    // A file without a certificate is refused when the client is built.
    std::fs::write(folder.path().join("empty.pem"), "not a certificate\n").unwrap();
    let refused = HttpBackend::new(HttpEndpoint {
        ca_file: Some(folder.path().join("empty.pem")),
        ..endpoint_at(server.url(), Duration::from_secs(5))
    })
    .unwrap_err();
    assert!(
        refused.to_string().contains("holds no PEM certificate"),
        "{refused}"
    );
}
