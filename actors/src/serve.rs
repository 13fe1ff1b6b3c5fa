//! `grsu serve`: the embedded model behind an OpenAI-compatible HTTP endpoint.
//!
//! With it, everything that talks to vLLM (the HTTP backend, the endpoint pool, `grsu doctor`,
//! end-to-end tests) can be exercised on a machine without a GPU, against a real model. It follows
//! vLLM's conventions where they matter to clients: `continue_final_message` and
//! `add_generation_prompt`, `top_logprobs` capped at 20 (a 400 above), errors as
//! `{"error": {"message", "type", "param", "code"}}` with an integer code, `/v1/models`, `/health`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use grsu::model::http::{WireRequest, WireResponse};
use grsu::model::{Backend, ModelError};

/// vLLM's default `--max-logprobs`.
pub const MAX_TOP_LOGPROBS: u32 = 20;
const DEFAULT_MAX_TOKENS: u32 = 256;

/// What the server needs: a backend and the model id it answers to.
pub struct ServeState {
    pub backend: Arc<dyn Backend>,
    pub served_model_name: String,
    pub requests: AtomicU64,
}

fn error_response(status: StatusCode, kind: &str, message: String) -> Response {
    let body = serde_json::json!({
        "error": {"message": message, "type": kind, "param": null, "code": status.as_u16()}
    });
    (status, Json(body)).into_response()
}

async fn chat_completions(State(state): State<Arc<ServeState>>, body: String) -> Response {
    let number = state.requests.fetch_add(1, Ordering::Relaxed);
    let wire: WireRequest = match serde_json::from_str(&body) {
        Ok(wire) => wire,
        Err(error) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "BadRequestError",
                format!("invalid request body: {error}"),
            )
        }
    };
    if wire.stream {
        return error_response(
            StatusCode::BAD_REQUEST,
            "BadRequestError",
            "streaming is not supported".into(),
        );
    }
    if wire.continue_final_message && wire.add_generation_prompt {
        return error_response(
            StatusCode::BAD_REQUEST,
            "BadRequestError",
            "Cannot set both `continue_final_message` and `add_generation_prompt` to True.".into(),
        );
    }
    if let Some(top) = wire.top_logprobs.filter(|top| *top > MAX_TOP_LOGPROBS) {
        return error_response(
            StatusCode::BAD_REQUEST,
            "BadRequestError",
            format!("Requested sample logprobs of {top}, which is greater than max allowed: {MAX_TOP_LOGPROBS}"),
        );
    }
    if !wire.model.is_empty() && wire.model != state.served_model_name {
        return error_response(
            StatusCode::NOT_FOUND,
            "NotFoundError",
            format!("The model `{}` does not exist.", wire.model),
        );
    }
    let request = wire.to_request(DEFAULT_MAX_TOKENS);
    match state.backend.chat(&request).await {
        Ok(mut response) => {
            response.model = state.served_model_name.clone();
            let created = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_secs());
            Json(WireResponse::from_response(
                format!("chatcmpl-grsu-{number}"),
                created,
                &response,
            ))
            .into_response()
        }
        Err(ModelError::Rejected { message, .. }) | Err(ModelError::Embedded { message })
            if message.contains("prompt") =>
        {
            error_response(StatusCode::BAD_REQUEST, "BadRequestError", message)
        }
        Err(error) => error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            error.to_string(),
        ),
    }
}

async fn models(State(state): State<Arc<ServeState>>) -> Response {
    Json(serde_json::json!({
        "object": "list",
        "data": [{"id": state.served_model_name, "object": "model", "owned_by": "grsu", "max_model_len": 4096}]
    }))
    .into_response()
}

/// The routes of the server.
pub fn router(state: Arc<ServeState>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/models", get(models))
        .route("/health", get(|| async { StatusCode::OK }))
        .with_state(state)
}

/// Binds `address` and serves until the process is stopped; `on_bound` gets the bound address
/// (the port is chosen by the system when it is 0).
pub async fn serve(
    address: SocketAddr,
    state: Arc<ServeState>,
    on_bound: impl FnOnce(SocketAddr),
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    on_bound(listener.local_addr()?);
    axum::serve(listener, router(state)).await
}
