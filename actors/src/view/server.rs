//! The explorer's routes. Everything is `GET` and read-only: the page and its assets at `/`,
//! `/app.js`, `/app.css`; the documents under `/api/`: `sweep`, `samples`, `sample/{n}` and
//! `answers/{n}` (`n`: the sample's position in the table, so that no sample id, whatever it
//! holds, becomes part of a path). Anything else is a 404; other methods are refused.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::assets::{index_html, APP_CSS, APP_JS};
use super::source::{ViewError, ViewSource};

/// The explorer's router over `source`.
pub fn router(source: Arc<ViewSource>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .route("/app.js", get(app_js))
        .route("/app.css", get(app_css))
        .route("/api/sweep", get(sweep))
        .route("/api/samples", get(samples))
        .route("/api/sample/{index}", get(sample))
        .route("/api/answers/{index}", get(answers))
        .fallback(not_found)
        .with_state(source)
}

/// Serves the explorer on `listener` until the process ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    source: Arc<ViewSource>,
) -> std::io::Result<()> {
    axum::serve(listener, router(source)).await
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

impl IntoResponse for ViewError {
    fn into_response(self) -> Response {
        let status = match self {
            ViewError::NotFound(_) => StatusCode::NOT_FOUND,
            ViewError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        error(status, self.to_string())
    }
}

/// Answers a document built on a blocking thread (reading a store takes time and locks).
async fn blocking<T: IntoResponse + Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Response {
    match tokio::task::spawn_blocking(work).await {
        Ok(response) => response.into_response(),
        Err(failure) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the view failed: {failure}"),
        ),
    }
}

fn json_text(text: Arc<String>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        text.as_str().to_owned(),
    )
        .into_response()
}

async fn index() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        index_html(false),
    )
        .into_response()
}

async fn app_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        APP_JS,
    )
        .into_response()
}

async fn app_css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], APP_CSS).into_response()
}

async fn sweep(State(source): State<Arc<ViewSource>>) -> Response {
    blocking(move || Json(source.sweep_document())).await
}

async fn samples(State(source): State<Arc<ViewSource>>) -> Response {
    blocking(move || source.samples_document().map(json_text)).await
}

/// A sample's position, or a 404 for anything that is not one.
fn position(text: &str) -> Result<usize, ViewError> {
    text.parse()
        .map_err(|_| ViewError::NotFound(format!("no sample `{text}`")))
}

async fn sample(State(source): State<Arc<ViewSource>>, Path(index): Path<String>) -> Response {
    blocking(move || position(&index).and_then(|index| source.sample_document(index).map(Json)))
        .await
}

async fn answers(State(source): State<Arc<ViewSource>>, Path(index): Path<String>) -> Response {
    blocking(move || position(&index).and_then(|index| source.answers_document(index).map(Json)))
        .await
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such page".into())
}
