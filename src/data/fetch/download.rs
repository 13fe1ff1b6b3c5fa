//! One HTTP download into a `.partial` file: resumed with `Range: bytes=N-` when a partial file is
//! there, restarted from 0 when the server ignores the range, retried a bounded number of times when
//! the connection drops or the server fails (5xx), never retried on a client error (404).
//!
//! Retries are counted per run of failures: an attempt that brought bytes resets the count, so a
//! flaky connection that drops every few megabytes still finishes, while a dead one gives up after
//! `attempts` tries; a hard cap bounds the total either way. What was received is kept in the
//! `.partial` file, so the next run resumes from there.

use std::path::Path;
use std::time::Duration;

use reqwest::header::{CONTENT_RANGE, RANGE};
use reqwest::StatusCode;
use tokio::io::AsyncWriteExt;

use super::{FailureKind, FetchOptions, FetchProgress, FileFailure, Source};

/// No download makes more requests than this, whatever the retry count allows.
const MAX_REQUESTS: u32 = 100;
/// The longest pause between two attempts.
const MAX_DELAY: Duration = Duration::from_secs(10);

/// Downloads `url` into `partial` (appending to what it holds when the server honours the range).
/// On success the partial file holds the whole body; it is not verified here.
pub(super) async fn download(
    client: &reqwest::Client,
    source: &Source,
    url: &str,
    partial: &Path,
    options: &FetchOptions,
    progress: &dyn FetchProgress,
) -> Result<(), FileFailure> {
    let label = source.relative_path();
    let failure = |kind, message: String| FileFailure {
        file: label.clone(),
        from: url.to_string(),
        kind,
        local: false,
        message,
    };
    let attempts = options.attempts.max(1);
    let mut failures_in_row = 0u32;
    let mut requests = 0u32;
    loop {
        requests += 1;
        if requests > MAX_REQUESTS {
            return Err(failure(
                FailureKind::Connection,
                format!("gave up after {MAX_REQUESTS} requests{}", kept(partial)),
            ));
        }
        let have = partial_length(partial);
        if have > 0 && source.size.is_some_and(|size| have >= size) {
            // A whole file that was not renamed (a run stopped between the two): verification
            // decides whether it is the right one.
            return Ok(());
        }
        let mut request = client.get(url);
        if have > 0 {
            request = request.header(RANGE, format!("bytes={have}-"));
        }
        let retry = |failures_in_row: &mut u32, message: String| {
            *failures_in_row += 1;
            if *failures_in_row >= attempts || requests >= MAX_REQUESTS {
                return Err(failure(
                    FailureKind::Connection,
                    format!(
                        "{message}; gave up after {failures_in_row} attempts{}",
                        kept(partial)
                    ),
                ));
            }
            progress.note(&format!(
                "{label}: {message}; trying again (attempt {} of {attempts})",
                *failures_in_row + 1
            ));
            Ok(delay(options.retry_delay, *failures_in_row))
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                let pause = retry(
                    &mut failures_in_row,
                    format!("request failed: {}", error_chain(&error)),
                )?;
                tokio::time::sleep(pause).await;
                continue;
            }
        };
        let status = response.status();
        let (offset, total) = match status {
            StatusCode::PARTIAL_CONTENT if have > 0 => {
                match range_start(&response) {
                    Some(start) if start == have => {}
                    _ => {
                        // Not the range asked for: start over rather than splice wrong bytes.
                        progress.note(&format!(
                            "{label}: the server answered another range; starting over"
                        ));
                        remove_partial(partial);
                        failures_in_row += 1;
                        continue;
                    }
                }
                (have, response.content_length().map(|length| have + length))
            }
            status if status.is_success() => {
                if have > 0 {
                    progress.note(&format!(
                        "{label}: the server does not resume downloads; starting over from 0"
                    ));
                }
                (0, response.content_length().or(source.size))
            }
            StatusCode::RANGE_NOT_SATISFIABLE if have > 0 => {
                // The partial file is at least as long as the file: verification decides.
                return Ok(());
            }
            status
                if status.is_server_error()
                    || status == StatusCode::REQUEST_TIMEOUT
                    || status == StatusCode::TOO_MANY_REQUESTS =>
            {
                let pause = retry(
                    &mut failures_in_row,
                    format!("http {}", status_text(status)),
                )?;
                tokio::time::sleep(pause).await;
                continue;
            }
            status => {
                return Err(failure(
                    FailureKind::Http,
                    format!("http {}", status_text(status)),
                ));
            }
        };
        let mut file = open_partial(partial, offset > 0)
            .await
            .map_err(|error| io_failure(&label, partial, error))?;
        progress.started(&label, url, total, offset);
        let mut received = 0u64;
        let mut response = response;
        let outcome = loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if let Err(error) = file.write_all(&chunk).await {
                        break Err(io_failure(&label, partial, error));
                    }
                    received += chunk.len() as u64;
                    progress.advanced(chunk.len() as u64);
                    if let Some(size) = source.size {
                        if offset + received > size {
                            break Err(failure(
                                FailureKind::Mismatch,
                                format!(
                                    "the server sent more than the expected {size} bytes; the download was removed"
                                ),
                            ));
                        }
                    }
                }
                Ok(None) => break Ok(true),
                Err(error) => {
                    progress.note(&format!(
                        "{label}: connection dropped after {} bytes: {}",
                        offset + received,
                        error_chain(&error)
                    ));
                    break Ok(false);
                }
            }
        };
        let flushed = file.flush().await;
        drop(file);
        progress.finished();
        match outcome {
            Ok(true) => {
                flushed.map_err(|error| io_failure(&label, partial, error))?;
                return Ok(());
            }
            Ok(false) => {
                if received > 0 {
                    failures_in_row = 0;
                }
                let pause = retry(
                    &mut failures_in_row,
                    format!("connection dropped after {} bytes", offset + received),
                )?;
                tokio::time::sleep(pause).await;
            }
            Err(failure) => {
                if failure.kind == FailureKind::Mismatch {
                    remove_partial(partial);
                }
                return Err(failure);
            }
        }
    }
}

fn kept(partial: &Path) -> String {
    if partial_length(partial) > 0 {
        format!(
            "; what arrived is kept in {}: run the command again to resume",
            partial.display()
        )
    } else {
        String::new()
    }
}

fn delay(base: Duration, failures: u32) -> Duration {
    base.saturating_mul(1 << failures.saturating_sub(1).min(16))
        .min(MAX_DELAY)
}

fn partial_length(partial: &Path) -> u64 {
    std::fs::metadata(partial).map_or(0, |metadata| metadata.len())
}

fn remove_partial(partial: &Path) {
    let _ = std::fs::remove_file(partial);
}

async fn open_partial(partial: &Path, append: bool) -> std::io::Result<tokio::fs::File> {
    let mut options = tokio::fs::OpenOptions::new();
    options.create(true).write(true);
    if append {
        options.append(true);
    } else {
        options.truncate(true);
    }
    options.open(partial).await
}

fn io_failure(label: &str, partial: &Path, error: std::io::Error) -> FileFailure {
    FileFailure {
        file: label.to_string(),
        from: partial.display().to_string(),
        kind: FailureKind::Io,
        local: false,
        message: format!("cannot write {}: {error}", partial.display()),
    }
}

/// The first byte of a `Content-Range: bytes START-END/TOTAL` answer.
fn range_start(response: &reqwest::Response) -> Option<u64> {
    parse_range_start(response.headers().get(CONTENT_RANGE)?.to_str().ok()?)
}

pub(super) fn parse_range_start(value: &str) -> Option<u64> {
    let range = value.trim().strip_prefix("bytes")?.trim_start();
    let (start, _) = range.split_once('-')?;
    start.trim().parse().ok()
}

fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {}", status.as_u16(), reason.to_lowercase()),
        None => status.as_u16().to_string(),
    }
}

/// An error with its causes, `a: b: c`, since reqwest's own message alone is often just
/// "error sending request".
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_starts_are_read() {
        assert_eq!(parse_range_start("bytes 100-199/200"), Some(100));
        assert_eq!(parse_range_start("bytes 0-0/*"), Some(0));
        assert_eq!(parse_range_start("items 1-2/3"), None);
        assert_eq!(parse_range_start("bytes */200"), None);
    }

    #[test]
    fn delays_double_and_are_capped() {
        let base = Duration::from_millis(500);
        assert_eq!(delay(base, 1), Duration::from_millis(500));
        assert_eq!(delay(base, 2), Duration::from_secs(1));
        assert_eq!(delay(base, 3), Duration::from_secs(2));
        assert_eq!(delay(base, 30), MAX_DELAY);
    }
}
