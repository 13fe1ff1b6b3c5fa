//! The plain-HTTP transport of the HTTP backend (grsu's own HTTP/1.1 client for `http://`
//! endpoints) against a raw keep-alive server: connections are reused only when an answer was read
//! whole and the server did not ask to close; a connection the server closed while it was idle is
//! replaced without failing the request; every framing of a body (length, chunked, the
//! connection's end) reads back the same answer; informational answers are skipped; broken
//! answers are retryable connection errors naming the endpoint.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use grsu::model::http::{HttpBackend, HttpEndpoint};
use grsu::model::{Backend, ChatMessage, ChatRequest, ModelError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const KEY: &str = "plain-key";

/// How the server answers each request.
#[derive(Debug, Clone, Copy)]
enum Script {
    /// `Content-Length`, keep the connection open.
    Length,
    /// `Content-Length`, then close the connection without saying so.
    LengthThenSilentClose,
    /// `Content-Length` and `Connection: close`, then close.
    LengthAndClose,
    /// Chunked in pieces of 7 bytes with a chunk extension and a trailer.
    Chunked,
    /// `100 Continue` first, then the answer.
    ContinueFirst,
    /// No length: the body ends with the connection.
    UntilClose,
    /// Half the announced body, then close.
    ShortBody,
    /// Bytes that are not HTTP.
    Garbage,
    /// The first request of a connection answered, the second read and then reset (a replica
    /// dropping a connection mid-request).
    ResetTheSecond,
}

#[derive(Clone)]
struct KeepAliveServer {
    address: std::net::SocketAddr,
    connections: Arc<AtomicUsize>,
    /// Every request's head, in arrival order.
    heads: Arc<Mutex<Vec<String>>>,
}

impl KeepAliveServer {
    async fn start(script: Script, body: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = KeepAliveServer {
            address: listener.local_addr().unwrap(),
            connections: Arc::default(),
            heads: Arc::default(),
        };
        let handle = server.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                handle.connections.fetch_add(1, Ordering::SeqCst);
                let (handle, body) = (handle.clone(), body.clone());
                tokio::spawn(async move { handle.serve(stream, script, &body).await });
            }
        });
        server
    }

    fn url(&self) -> String {
        format!("http://{}/v1", self.address)
    }

    fn backend(&self) -> HttpBackend {
        HttpBackend::new(HttpEndpoint {
            url: self.url(),
            model: "grsu-user".into(),
            api_key: Some(KEY.into()),
            timeout: Duration::from_secs(10),
            ca_file: None,
        })
        .unwrap()
    }

    async fn serve(&self, mut stream: TcpStream, script: Script, body: &str) {
        let mut pending = Vec::new();
        let mut served = 0;
        while let Some(head) = next_request(&mut stream, &mut pending).await {
            self.heads.lock().unwrap().push(head);
            served += 1;
            if matches!(script, Script::ResetTheSecond) && served == 2 {
                stream.set_zero_linger().unwrap();
                return;
            }
            let length = body.len();
            let answer = match script {
                Script::Length | Script::LengthThenSilentClose | Script::ResetTheSecond => format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: \
                     {length}\r\n\r\n{body}"
                ),
                Script::LengthAndClose => format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\
                     content-length: {length}\r\n\r\n{body}"
                ),
                Script::Chunked => {
                    let mut text = String::from(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                         transfer-encoding: chunked\r\n\r\n",
                    );
                    for piece in body.as_bytes().chunks(7) {
                        let piece = std::str::from_utf8(piece).unwrap();
                        text.push_str(&format!("{:x};name=value\r\n{piece}\r\n", piece.len()));
                    }
                    text.push_str("0\r\nx-trailer: 1\r\n\r\n");
                    text
                }
                Script::ContinueFirst => format!(
                    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-type: \
                     application/json\r\ncontent-length: {length}\r\n\r\n{body}"
                ),
                Script::UntilClose => {
                    format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{body}")
                }
                Script::ShortBody => format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: \
                     {length}\r\n\r\n{}",
                    &body[..length / 2]
                ),
                Script::Garbage => "SSH-2.0-OpenSSH_9.6\r\n\r\n".to_string(),
            };
            // Written in two parts, so that the client's reads cannot rely on one segment.
            let (first, second) = answer.as_bytes().split_at(answer.len() / 3);
            if stream.write_all(first).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
            if stream.write_all(second).await.is_err() {
                return;
            }
            let keeps_open = matches!(
                script,
                Script::Length | Script::Chunked | Script::ContinueFirst | Script::ResetTheSecond
            );
            if !keeps_open {
                return;
            }
        }
    }
}

/// The next request's head (and its body, consumed) from the connection; `None` at its end.
async fn next_request(stream: &mut TcpStream, pending: &mut Vec<u8>) -> Option<String> {
    loop {
        if let Some(at) = pending.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&pending[..at]).into_owned();
            let length = head
                .to_ascii_lowercase()
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .map_or(0, |value| value.trim().parse::<usize>().unwrap());
            if pending.len() >= at + 4 + length {
                pending.drain(..at + 4 + length);
                return Some(head);
            }
        }
        let mut chunk = [0u8; 8192];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(read) => pending.extend_from_slice(&chunk[..read]),
        }
    }
}

fn chat_body() -> String {
    r#"{"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "grsu-user",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": " Yes, \"Heat\""},
                     "logprobs": {"content": [{"token": " Yes", "logprob": -0.25,
                        "top_logprobs": [{"token": " Yes", "logprob": -0.25},
                                         {"token": " No", "logprob": -1.5}]}]},
                     "finish_reason": "length"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 1}}"#
        .to_string()
}

fn request(seed: u64) -> ChatRequest {
    let mut request = ChatRequest::new(vec![ChatMessage::user("Would you watch Heat (1995)?")]);
    request.seed = Some(seed);
    request.logprobs = true;
    request.top_logprobs = Some(2);
    request
}

/// Asks `times` requests one after another and checks every answer.
async fn ask_in_turn(backend: &HttpBackend, times: u64) {
    for seed in 0..times {
        let response = backend
            .chat(&request(seed))
            .await
            .unwrap_or_else(|error| panic!("request {seed}: {error}"));
        assert_eq!(response.choices.len(), 1);
        assert_eq!(response.choices[0].text, " Yes, \"Heat\"");
        let logprobs = response.choices[0].logprobs.as_ref().unwrap();
        assert_eq!(logprobs.len(), 1, "{logprobs:?}");
        assert_eq!(response.usage.prompt_tokens, 10);
    }
}

#[tokio::test]
async fn answers_read_whole_leave_their_connection_open_for_the_next_request() {
    for script in [Script::Length, Script::Chunked, Script::ContinueFirst] {
        let server = KeepAliveServer::start(script, chat_body()).await;
        let backend = server.backend();
        ask_in_turn(&backend, 12).await;
        assert_eq!(
            server.connections.load(Ordering::SeqCst),
            1,
            "{script:?}: one connection for requests in turn"
        );
        let heads = server.heads.lock().unwrap().clone();
        assert_eq!(heads.len(), 12, "{script:?}");
        for head in &heads {
            assert!(
                head.starts_with("POST /v1/chat/completions HTTP/1.1\r\n"),
                "{head}"
            );
            assert!(
                head.contains(&format!("\r\nHost: {}", server.address)),
                "{head}"
            );
            assert!(
                head.contains(&format!("Authorization: Bearer {KEY}")),
                "{head}"
            );
            assert!(head.contains("Content-Type: application/json"), "{head}");
        }
    }
}

#[tokio::test]
async fn requests_at_once_open_a_connection_each_and_reuse_them_afterwards() {
    let server = KeepAliveServer::start(Script::Length, chat_body()).await;
    let backend = Arc::new(server.backend());
    for _round in 0..3 {
        let asks: Vec<_> = (0..8)
            .map(|seed| {
                let backend = backend.clone();
                tokio::spawn(async move { backend.chat(&request(seed)).await })
            })
            .collect();
        for ask in asks {
            assert_eq!(ask.await.unwrap().unwrap().choices.len(), 1);
        }
    }
    let connections = server.connections.load(Ordering::SeqCst);
    assert!(
        (1..=8).contains(&connections),
        "{connections} connections for 3 rounds of 8 requests at once"
    );
    assert_eq!(server.heads.lock().unwrap().len(), 24);
}

#[tokio::test]
async fn a_connection_closed_by_the_server_is_replaced_without_failing_a_request() {
    // Closed without a word after each answer (a server's idle timeout racing the next request),
    // or closed as announced: every request succeeds, each on its own connection, and none is
    // sent twice.
    for script in [
        Script::LengthThenSilentClose,
        Script::LengthAndClose,
        Script::UntilClose,
    ] {
        let server = KeepAliveServer::start(script, chat_body()).await;
        let backend = server.backend();
        for seed in 0..6 {
            // Time for the close to arrive before the next request, or not.
            if seed % 2 == 1 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            ask_in_turn(&backend, 1).await;
        }
        assert_eq!(server.connections.load(Ordering::SeqCst), 6, "{script:?}");
        assert_eq!(server.heads.lock().unwrap().len(), 6, "{script:?}");
    }
}

#[tokio::test]
async fn a_cut_body_or_an_answer_that_is_not_http_is_a_retryable_connection_error() {
    for (script, says) in [
        (Script::ShortBody, "closed the connection after"),
        (Script::Garbage, "not HTTP/1.1"),
    ] {
        let server = KeepAliveServer::start(script, chat_body()).await;
        let error = server.backend().chat(&request(0)).await.unwrap_err();
        match &error {
            ModelError::Connection { endpoint, message } => {
                assert_eq!(endpoint, &server.url());
                assert!(message.contains(says), "{script:?}: {message}");
                assert!(!message.contains(KEY), "{message}");
            }
            other => panic!("{script:?}: expected a connection error, got {other:?}"),
        }
        assert!(error.is_retryable());
        // Sent once: a broken answer is the pool's to retry, not the transport's.
        assert_eq!(server.heads.lock().unwrap().len(), 1, "{script:?}");
    }
}

#[tokio::test]
async fn a_reset_of_a_reused_connection_after_the_request_is_an_error_not_a_second_send() {
    // The server read the request before it reset the connection: sending it again here would
    // make a replica that drops connections look healthy and pay the request twice.
    let server = KeepAliveServer::start(Script::ResetTheSecond, chat_body()).await;
    let backend = server.backend();
    ask_in_turn(&backend, 1).await;
    let error = backend.chat(&request(1)).await.unwrap_err();
    assert!(
        matches!(&error, ModelError::Connection { message, .. } if message.contains("reset")),
        "{error:?}"
    );
    assert!(error.is_retryable());
    assert_eq!(server.heads.lock().unwrap().len(), 2);
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    // The pool's retry then opens a new connection.
    ask_in_turn(&backend, 1).await;
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_debug_output_of_a_plain_endpoint_holds_no_key() {
    let server = KeepAliveServer::start(Script::Length, chat_body()).await;
    let backend = server.backend();
    ask_in_turn(&backend, 1).await;
    let shown = format!("{backend:?}");
    assert!(!shown.contains(KEY), "{shown}");
    assert!(shown.contains(&server.address.to_string()), "{shown}");
}

#[tokio::test]
async fn a_request_larger_than_the_socket_buffers_arrives_whole() {
    // Several MiB of prompt: the vectored write is cut by the kernel many times over.
    let server = KeepAliveServer::start(Script::Length, chat_body()).await;
    let backend = server.backend();
    let mut request = request(0);
    request.messages = vec![ChatMessage::user("Heat (1995) ".repeat(300_000))];
    let response = backend.chat(&request).await.unwrap();
    assert_eq!(response.choices[0].text, " Yes, \"Heat\"");
    // The server read exactly the announced body: the next request on the connection parses.
    ask_in_turn(&backend, 2).await;
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    let heads = server.heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 3);
    let length: usize = heads[0]
        .lines()
        .find_map(|line| line.strip_prefix("Content-Length: "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(length > 3_600_000, "{length}");
}
