//! An in-process HTTP/1.1 server on 127.0.0.1:0 that answers each request with the next scripted
//! reply: a body with a status, a hang, a connection reset, or raw bytes. It records every request
//! body it received, so tests can check what the client sent (seeds, `n`, retries).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server does with one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Answer with this status and body.
    Body(u16, String),
    /// Read the request, then never answer (until the test ends).
    Hang,
    /// Read the request, then close the connection without a response.
    Reset,
}

/// A running scripted server.
#[derive(Clone)]
pub struct ScriptedServer {
    pub address: SocketAddr,
    script: Arc<Mutex<VecDeque<Reply>>>,
    fallback: Arc<Mutex<Option<Reply>>>,
    received: Arc<Mutex<Vec<(String, String)>>>,
}

impl ScriptedServer {
    /// Starts a server answering with `script` in order, then with `fallback` forever.
    pub async fn start(script: Vec<Reply>, fallback: Option<Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = ScriptedServer {
            address: listener.local_addr().unwrap(),
            script: Arc::new(Mutex::new(script.into())),
            fallback: Arc::new(Mutex::new(fallback)),
            received: Arc::default(),
        };
        let handle = server.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let handle = handle.clone();
                tokio::spawn(async move { handle.serve(stream).await });
            }
        });
        server
    }

    pub fn url(&self) -> String {
        format!("http://{}/v1", self.address)
    }

    /// (path, body) of every request received so far.
    pub fn received(&self) -> Vec<(String, String)> {
        self.received.lock().unwrap().clone()
    }

    pub fn set_fallback(&self, reply: Option<Reply>) {
        *self.fallback.lock().unwrap() = reply;
    }

    async fn serve(&self, mut stream: TcpStream) {
        let Some((path, body)) = read_request(&mut stream).await else {
            return;
        };
        self.received.lock().unwrap().push((path, body));
        let reply = self
            .script
            .lock()
            .unwrap()
            .pop_front()
            .or_else(|| self.fallback.lock().unwrap().clone());
        match reply {
            Some(Reply::Body(status, body)) => {
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(body.as_bytes()).await;
                let _ = stream.shutdown().await;
            }
            Some(Reply::Hang) => tokio::time::sleep(Duration::from_secs(3600)).await,
            Some(Reply::Reset) | None => {
                drop(stream);
            }
        }
    }
}

/// Reads one request: the path of the request line and the body (by content-length).
pub async fn read_request(stream: &mut TcpStream) -> Option<(String, String)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
        if let Some(at) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).to_string();
    let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
    let length = head
        .lines()
        .find_map(|line| {
            line.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|value| value.trim().parse::<usize>().unwrap_or(0))
        })
        .unwrap_or(0);
    while buffer.len() < header_end + length {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    Some((
        path,
        String::from_utf8_lossy(&buffer[header_end..]).to_string(),
    ))
}
