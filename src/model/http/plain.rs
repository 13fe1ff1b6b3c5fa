//! [`PlainClient`]: a minimal HTTP/1.1 client for `http://` endpoints, the transport of nearly
//! every request of a sweep (vLLM replicas on the cluster's own network).
//!
//! Why not reqwest there: a profile of a sweep against a fast fleet put a quarter of grsu's CPU in
//! reqwest and hyper, for requests that are all the same shape (one JSON `POST`, one JSON answer
//! with a `Content-Length`). Under reqwest each request crosses to hyper's connection task and back
//! (two wake-ups between threads), builds a header map and a URL, and its body is streamed through
//! layers of futures. Here the asking task owns its connection while it asks: the request (head
//! and body) leaves in one vectored write, the answer is read into one buffer and parsed in place,
//! and the connection goes back to a per-endpoint stack of idle connections.
//!
//! What it speaks: HTTP/1.1 with keep-alive; answers framed by `Content-Length`, by chunked
//! transfer coding, or by the connection's end; informational (1xx) answers skipped. A connection
//! is reused only when its answer was read to the end, exactly, and the server did not ask to
//! close it. An idle connection the server closed meanwhile (uvicorn closes idle connections after
//! 5 s) is noticed when it is taken, or shows as closed when the request is written or its answer
//! read (the write fails, the read finds the server's orderly end or `EPIPE` before any byte of an
//! answer): then the request is sent once more on a new connection, which is what every keep-alive
//! client does, since the server had closed the connection before the request reached it. A reset
//! of an open connection is not retried here: the server may have read the request (a replica
//! dropping a connection mid-request), and it is the pool's to retry, count and route around.
//!
//! What it does not do, and where reqwest stays: TLS (`https://`), proxies (any of
//! `http_proxy`, `HTTP_PROXY`, `all_proxy`, `ALL_PROXY` set: reqwest honours them and
//! `no_proxy`), user info in the URL. [`PlainClient::for_base`] says which.

use std::io::IoSlice;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The most bytes of an answer's status line and headers.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// The most headers of an answer.
const MAX_HEADERS: usize = 64;

/// The first read's buffer: a whole scoring or critique answer, head and body, fits.
const FIRST_READ_BYTES: usize = 16 * 1024;

/// An idle connection older than this is closed rather than reused: vLLM's server (uvicorn)
/// closes connections idle for 5 s, and one it is closing as the request leaves fails it.
const IDLE_LIMIT: Duration = Duration::from_secs(4);

/// Environment variables naming a proxy for plain-HTTP requests (reqwest's reading of them).
const PROXY_VARIABLES: [&str; 4] = ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"];

/// Why an exchange failed below HTTP: the client maps it to a connection error of the endpoint.
#[derive(Debug)]
pub enum PlainError {
    /// No connection could be opened.
    Connect(std::io::Error),
    /// Opening a connection took longer than the connect timeout.
    ConnectTimeout(Duration),
    /// Writing the request or reading the answer failed.
    Io(std::io::Error),
    /// The server's bytes are not an HTTP/1.1 answer.
    Protocol(String),
}

impl std::fmt::Display for PlainError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlainError::Connect(error) => write!(formatter, "cannot connect: {error}"),
            PlainError::ConnectTimeout(limit) => write!(
                formatter,
                "connecting timed out after {:.1} s",
                limit.as_secs_f64()
            ),
            PlainError::Io(error) => write!(formatter, "the connection failed: {error}"),
            PlainError::Protocol(problem) => {
                write!(formatter, "the answer is not HTTP/1.1: {problem}")
            }
        }
    }
}

/// One endpoint's connections. Its `Debug` leaves the API key out.
pub struct PlainClient {
    /// `host:port` as the URL spells it: the `Host` header.
    authority: String,
    /// The host to connect to (an IPv6 literal without its brackets).
    host: String,
    port: u16,
    /// `http://host:port`: what the URLs the client is asked for start with.
    origin: String,
    connect_timeout: Duration,
    /// `Authorization: Bearer …\r\n`, or nothing.
    authorization: String,
    idle: Mutex<Vec<IdleConnection>>,
}

impl std::fmt::Debug for PlainClient {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PlainClient")
            .field("origin", &self.origin)
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct IdleConnection {
    stream: TcpStream,
    since: Instant,
}

/// How an answer's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Framing {
    Length(u64),
    Chunked,
    UntilClose,
}

/// An answer whose head has been read; its body is read by [`PlainResponse::read_capped`].
#[derive(Debug)]
pub struct PlainResponse<'a> {
    client: &'a PlainClient,
    status: u16,
    location: Option<String>,
    content_type: Option<String>,
    framing: Framing,
    keep_alive: bool,
    stream: TcpStream,
    /// Bytes read after the head: the start of the body.
    read: Vec<u8>,
}

impl PlainClient {
    /// The client of `base` (`http://host:port/…`), or `None` where reqwest must carry it
    /// (https, user info, a proxy in the environment, a URL that does not parse).
    pub fn for_base(
        base: &str,
        api_key: Option<&str>,
        connect_timeout: Duration,
    ) -> Option<PlainClient> {
        let proxied = PROXY_VARIABLES
            .iter()
            .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()));
        let url = url::Url::parse(base).ok()?;
        if proxied
            || url.scheme() != "http"
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return None;
        }
        let host = match url.host()? {
            url::Host::Domain(name) => name.to_string(),
            url::Host::Ipv4(address) => address.to_string(),
            url::Host::Ipv6(address) => address.to_string(),
        };
        let port = url.port_or_known_default()?;
        let authority = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str()?),
            None => url.host_str()?.to_string(),
        };
        // The origin as the base spells it, so that a URL built from the base strips it exactly.
        let after_scheme = base.split_once("://")?.1;
        let origin_length =
            base.len() - after_scheme.len() + after_scheme.find('/').unwrap_or(after_scheme.len());
        let authorization = api_key
            .map(|key| format!("Authorization: Bearer {key}\r\n"))
            .unwrap_or_default();
        Some(PlainClient {
            authority,
            host,
            port,
            origin: base[..origin_length].to_string(),
            connect_timeout,
            authorization,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Sends `method url` (a URL under this client's origin) with `body` as JSON, and reads the
    /// answer's head.
    pub async fn send(
        &self,
        method: &str,
        url: &str,
        body: Option<&[u8]>,
    ) -> Result<PlainResponse<'_>, PlainError> {
        let target = match url.strip_prefix(self.origin.as_str()) {
            Some("") => "/",
            Some(target) => target,
            None => {
                return Err(PlainError::Protocol(format!(
                    "{url} is not under {}",
                    self.origin
                )))
            }
        };
        let head = self.request_head(method, target, body.map_or(0, <[u8]>::len));
        let body = body.unwrap_or_default();
        if let Some(stream) = self.take_idle() {
            match exchange(self, stream, &head, body).await {
                Ok(response) => return Ok(response),
                // The server closed the idle connection before answering: once more, anew.
                Err(Failure::BeforeAnswer(_)) => {}
                Err(Failure::During(error)) => return Err(error),
            }
        }
        let stream = self.connect().await?;
        exchange(self, stream, &head, body)
            .await
            .map_err(Failure::into_error)
    }

    fn request_head(&self, method: &str, target: &str, length: usize) -> Vec<u8> {
        let mut head = Vec::with_capacity(160 + target.len() + self.authorization.len());
        head.extend_from_slice(method.as_bytes());
        head.push(b' ');
        head.extend_from_slice(target.as_bytes());
        head.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        head.extend_from_slice(self.authority.as_bytes());
        head.extend_from_slice(b"\r\nAccept: application/json\r\n");
        head.extend_from_slice(self.authorization.as_bytes());
        if method != "GET" {
            head.extend_from_slice(b"Content-Type: application/json\r\nContent-Length: ");
            head.extend_from_slice(length.to_string().as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(b"\r\n");
        head
    }

    /// The most recently idle connection still open; older ones are closed.
    fn take_idle(&self) -> Option<TcpStream> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(connection) = idle.pop() {
            if connection.since.elapsed() >= IDLE_LIMIT {
                // Every one below it is older still.
                idle.clear();
                return None;
            }
            let mut probe = [0u8; 1];
            match connection.stream.try_read(&mut probe) {
                // Nothing to read: open and quiet, as an idle connection should be.
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                    return Some(connection.stream)
                }
                // Closed by the server, or talking out of turn: not reusable.
                _ => continue,
            }
        }
        None
    }

    fn give_back(&self, stream: TcpStream) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        idle.push(IdleConnection {
            stream,
            since: Instant::now(),
        });
    }

    async fn connect(&self) -> Result<TcpStream, PlainError> {
        let connecting = TcpStream::connect((self.host.as_str(), self.port));
        let stream = tokio::time::timeout(self.connect_timeout, connecting)
            .await
            .map_err(|_| PlainError::ConnectTimeout(self.connect_timeout))?
            .map_err(PlainError::Connect)?;
        // The request leaves in one write; without Nagle it is not held back for an ACK.
        stream.set_nodelay(true).map_err(PlainError::Connect)?;
        Ok(stream)
    }
}

/// A failed exchange, and whether any byte of an answer had arrived.
enum Failure {
    BeforeAnswer(PlainError),
    During(PlainError),
}

impl Failure {
    fn into_error(self) -> PlainError {
        match self {
            Failure::BeforeAnswer(error) | Failure::During(error) => error,
        }
    }
}

/// Writes the request and reads the answer's head (skipping informational answers).
async fn exchange<'a>(
    client: &'a PlainClient,
    mut stream: TcpStream,
    head: &[u8],
    body: &[u8],
) -> Result<PlainResponse<'a>, Failure> {
    write_all(&mut stream, &[head, body])
        .await
        .map_err(|error| Failure::BeforeAnswer(PlainError::Io(error)))?;
    let mut read = Vec::with_capacity(FIRST_READ_BYTES);
    let mut answered = false;
    loop {
        let parsed = read_head(&mut stream, &mut read, answered).await?;
        answered = true;
        let Some(response) = parsed else { continue };
        let (status, location, content_type, framing, keep_alive, length) = response;
        read.drain(..length);
        return Ok(PlainResponse {
            client,
            status,
            location,
            content_type,
            framing,
            keep_alive,
            stream,
            read,
        });
    }
}

type Head = (u16, Option<String>, Option<String>, Framing, bool, usize);

/// Reads until `read` holds a whole head and parses it: `None` for an informational answer
/// (removed from `read`), else the head and its length in bytes.
async fn read_head(
    stream: &mut TcpStream,
    read: &mut Vec<u8>,
    answered: bool,
) -> Result<Option<Head>, Failure> {
    loop {
        if !read.is_empty() {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut response = httparse::Response::new(&mut headers);
            match response.parse(read) {
                Ok(httparse::Status::Complete(length)) => {
                    let status = response.code.unwrap_or(0);
                    if (100..200).contains(&status) && status != 101 {
                        read.drain(..length);
                        return Ok(None);
                    }
                    let head = head_of(&response, length).map_err(Failure::During)?;
                    return Ok(Some(head));
                }
                Ok(httparse::Status::Partial) if read.len() >= MAX_HEAD_BYTES => {
                    return Err(Failure::During(PlainError::Protocol(format!(
                        "the status line and headers exceed {} KiB",
                        MAX_HEAD_BYTES / 1024
                    ))))
                }
                Ok(httparse::Status::Partial) => {}
                Err(error) => {
                    return Err(Failure::During(PlainError::Protocol(format!(
                        "{error}; the answer starts {:?}",
                        String::from_utf8_lossy(&read[..read.len().min(80)])
                    ))))
                }
            }
        }
        if read.len() == read.capacity() {
            read.reserve(FIRST_READ_BYTES);
        }
        let got = stream.read_buf(read).await;
        let fresh = read.is_empty() && !answered;
        match got {
            Ok(0) => {
                let error = PlainError::Io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the server closed the connection before it answered",
                ));
                return Err(if fresh {
                    Failure::BeforeAnswer(error)
                } else {
                    Failure::During(error)
                });
            }
            Ok(_) => {}
            // EPIPE on the read: the server had closed the connection (we had its FIN) and
            // refused what we wrote after it.
            Err(error) if fresh && error.kind() == std::io::ErrorKind::BrokenPipe => {
                return Err(Failure::BeforeAnswer(PlainError::Io(error)))
            }
            // A reset of an open connection is the server's answer to the request (it may
            // have read it): an error for the pool, not something to send again here.
            Err(error) => return Err(Failure::During(PlainError::Io(error))),
        }
    }
}

/// The parts of a final answer's head the client needs.
fn head_of(response: &httparse::Response<'_, '_>, length: usize) -> Result<Head, PlainError> {
    let status = response.code.unwrap_or(0);
    let mut location = None;
    let mut content_type = None;
    let mut content_length = None;
    let mut chunked = false;
    let mut close = response.version == Some(0);
    for header in response.headers.iter() {
        let value = String::from_utf8_lossy(header.value);
        let value = value.trim();
        if header.name.eq_ignore_ascii_case("content-length") {
            let parsed: u64 = value
                .parse()
                .map_err(|_| PlainError::Protocol(format!("Content-Length {value:?}")))?;
            if content_length.is_some_and(|known| known != parsed) {
                return Err(PlainError::Protocol(
                    "two different Content-Length headers".into(),
                ));
            }
            content_length = Some(parsed);
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value
                .rsplit(',')
                .next()
                .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
        } else if header.name.eq_ignore_ascii_case("connection") {
            close = value
                .split(',')
                .any(|token| token.trim().eq_ignore_ascii_case("close"));
        } else if header.name.eq_ignore_ascii_case("content-type") {
            content_type = Some(value.to_string());
        } else if header.name.eq_ignore_ascii_case("location") {
            location = Some(value.to_string());
        }
    }
    let framing = if status == 204 || status == 304 {
        Framing::Length(0)
    } else if chunked {
        Framing::Chunked
    } else if let Some(length) = content_length {
        Framing::Length(length)
    } else {
        Framing::UntilClose
    };
    let keep_alive = !close && framing != Framing::UntilClose;
    Ok((status, location, content_type, framing, keep_alive, length))
}

/// Writes every part, however the kernel splits the writes.
async fn write_all(stream: &mut TcpStream, parts: &[&[u8]]) -> std::io::Result<()> {
    let (mut part, mut offset) = (0, 0);
    while part < parts.len() {
        let slices: Vec<IoSlice<'_>> = std::iter::once(IoSlice::new(&parts[part][offset..]))
            .chain(parts[part + 1..].iter().map(|rest| IoSlice::new(rest)))
            .collect();
        let mut written = stream.write_vectored(&slices).await?;
        if written == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while part < parts.len() && written >= parts[part].len() - offset {
            written -= parts[part].len() - offset;
            part += 1;
            offset = 0;
        }
        offset += written;
    }
    Ok(())
}

impl PlainResponse<'_> {
    pub fn status(&self) -> u16 {
        self.status
    }

    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }

    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The body's announced length, where it has one.
    pub fn content_length(&self) -> Option<u64> {
        match self.framing {
            Framing::Length(length) => Some(length),
            _ => None,
        }
    }

    /// The body, at most `cap` bytes; `true` when there was more (left unread, and the
    /// connection closed). A connection whose answer was read whole goes back to the idle ones.
    pub async fn read_capped(mut self, cap: usize) -> Result<(Vec<u8>, bool), PlainError> {
        let (body, over) = match self.framing {
            Framing::Length(length) => {
                let wanted = length.min(cap as u64) as usize;
                let mut body = std::mem::take(&mut self.read);
                if body.len() > length as usize {
                    // More bytes than the answer announced: the connection is out of step.
                    self.keep_alive = false;
                }
                body.truncate(wanted);
                fill(&mut self.stream, &mut body, wanted).await?;
                (body, length > cap as u64)
            }
            Framing::UntilClose => {
                let mut body = std::mem::take(&mut self.read);
                let over = read_to_end(&mut self.stream, &mut body, cap).await?;
                (body, over)
            }
            Framing::Chunked => self.read_chunked(cap).await?,
        };
        if !over && self.keep_alive {
            self.client.give_back(self.stream);
        }
        Ok((body, over))
    }

    /// A chunked body, decoded; trailers are read and dropped.
    async fn read_chunked(&mut self, cap: usize) -> Result<(Vec<u8>, bool), PlainError> {
        let mut body = Vec::new();
        let mut read = std::mem::take(&mut self.read);
        let mut at = 0;
        loop {
            let line = take_line(&mut self.stream, &mut read, &mut at).await?;
            let size_text = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| PlainError::Protocol(format!("chunk size {size_text:?}")))?;
            if size == 0 {
                // Trailers, up to the empty line.
                while !take_line(&mut self.stream, &mut read, &mut at)
                    .await?
                    .is_empty()
                {}
                if at != read.len() {
                    self.keep_alive = false;
                }
                return Ok((body, false));
            }
            let room = cap - body.len();
            let wanted = size.min(room);
            while read.len() - at < wanted {
                read_more(&mut self.stream, &mut read).await?;
            }
            body.extend_from_slice(&read[at..at + wanted]);
            if size > room {
                return Ok((body, true));
            }
            at += size;
            while read.len() - at < 2 {
                read_more(&mut self.stream, &mut read).await?;
            }
            if &read[at..at + 2] != b"\r\n" {
                return Err(PlainError::Protocol("a chunk not ended by CRLF".into()));
            }
            at += 2;
            if at > FIRST_READ_BYTES {
                read.drain(..at);
                at = 0;
            }
        }
    }
}

/// The next CRLF-ended line of a chunked body, without its CRLF.
async fn take_line(
    stream: &mut TcpStream,
    read: &mut Vec<u8>,
    at: &mut usize,
) -> Result<String, PlainError> {
    loop {
        if let Some(end) = read[*at..].windows(2).position(|pair| pair == b"\r\n") {
            let line = String::from_utf8_lossy(&read[*at..*at + end]).into_owned();
            *at += end + 2;
            return Ok(line);
        }
        if read.len() - *at > 4096 {
            return Err(PlainError::Protocol(
                "a chunk-size or trailer line over 4 KiB".into(),
            ));
        }
        read_more(stream, read).await?;
    }
}

/// Reads more bytes onto `read`; the connection's end is an error (the body is not whole).
async fn read_more(stream: &mut TcpStream, read: &mut Vec<u8>) -> Result<(), PlainError> {
    if read.capacity() - read.len() < 4096 {
        read.reserve(FIRST_READ_BYTES);
    }
    match stream.read_buf(read).await {
        Ok(0) => Err(PlainError::Io(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the server closed the connection in the middle of the body",
        ))),
        Ok(_) => Ok(()),
        Err(error) => Err(PlainError::Io(error)),
    }
}

/// Reads until `body` holds `wanted` bytes.
async fn fill(stream: &mut TcpStream, body: &mut Vec<u8>, wanted: usize) -> Result<(), PlainError> {
    let mut filled = body.len();
    body.resize(wanted, 0);
    while filled < wanted {
        match stream.read(&mut body[filled..]).await {
            Ok(0) => {
                body.truncate(filled);
                return Err(PlainError::Io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!(
                        "the server closed the connection after {filled} of {wanted} body bytes"
                    ),
                )));
            }
            Ok(got) => filled += got,
            Err(error) => return Err(PlainError::Io(error)),
        }
    }
    Ok(())
}

/// Reads until the connection's end or `cap` bytes; `true` when there was more.
async fn read_to_end(
    stream: &mut TcpStream,
    body: &mut Vec<u8>,
    cap: usize,
) -> Result<bool, PlainError> {
    loop {
        if body.len() > cap {
            body.truncate(cap);
            return Ok(true);
        }
        if body.capacity() - body.len() < 4096 {
            body.reserve(FIRST_READ_BYTES);
        }
        match stream.read_buf(body).await {
            Ok(0) => return Ok(false),
            Ok(_) => {}
            Err(error) => return Err(PlainError::Io(error)),
        }
    }
}
