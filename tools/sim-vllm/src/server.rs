//! One replica's HTTP server: the routes, the request path through faults, answers and the
//! capacity model, and the connection handling that faults need.
//!
//! Routes: `POST /v1/chat/completions`, `GET /v1/models`, `GET /health`, `GET /sim/stats` (the
//! replica's [`ReplicaStats`](crate::stats::ReplicaStats) as JSON), `POST /sim/reset` (zero the
//! statistics) and `POST /sim/clear-prefix-cache`.
//!
//! Connections are served one by one with hyper (the axum router is the service) rather than with
//! `axum::serve`, because faults act below HTTP: a reset drops one connection with a TCP RST (the
//! socket's twin descriptor gets `SO_LINGER` 0 before the last close), and a down window closes the
//! listener and every open connection, then binds the address again when the window ends.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use grsu::model::http::WireRequest;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};

use crate::answers::Answerer;
use crate::capacity::CapacityConfig;
use crate::faults::{DownMode, FaultKind, FaultPlan};
use crate::openai::{self, ApiError};
use crate::prompt::read_prompt;
use crate::random::mix;
use crate::scheduler::Scheduler;
use crate::stats::{ServedRequest, StatsRecorder};
use crate::tokens;

/// What the server of one replica needs besides its answerer, scheduler and faults.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub served_model_names: Vec<String>,
    pub max_model_len: usize,
    pub max_logprobs: u32,
    /// Serve `/tokenize` and honour `logprob_token_ids`.
    pub logprob_token_ids: bool,
    pub capacity: CapacityConfig,
    pub seed: u64,
}

/// The shared state of one replica.
#[derive(Debug)]
pub struct Replica {
    pub index: usize,
    pub settings: ServerSettings,
    pub answerer: Answerer,
    pub scheduler: Arc<Scheduler>,
    pub faults: FaultPlan,
    pub stats: Arc<StatsRecorder>,
    pub started: Instant,
    ordinal: AtomicU64,
}

impl Replica {
    pub fn new(
        index: usize,
        settings: ServerSettings,
        answerer: Answerer,
        scheduler: Arc<Scheduler>,
        faults: FaultPlan,
        stats: Arc<StatsRecorder>,
    ) -> Self {
        Replica {
            index,
            settings,
            answerer,
            scheduler,
            faults,
            stats,
            started: Instant::now(),
            ordinal: AtomicU64::new(0),
        }
    }

    /// Simulated seconds since the replica started.
    pub fn elapsed_s(&self) -> f64 {
        self.settings.capacity.simulated(self.started.elapsed())
    }

    /// Whether the replica is inside a down window now.
    pub fn is_down(&self) -> bool {
        self.faults.config().down_at(self.elapsed_s()).is_some()
    }
}

/// Lets a handler drop its own connection.
#[derive(Debug, Clone, Default)]
struct ConnectionControl {
    kill: Arc<Notify>,
}

fn json_response(status: u16, body: String) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

fn api_error(replica: &Replica, error: ApiError) -> Response {
    replica.stats.rejected();
    json_response(error.status, error.body())
}

/// Drops the request's connection with a reset; the response never comes.
async fn reset_connection(control: Option<Extension<ConnectionControl>>) -> Response {
    match control {
        Some(Extension(control)) => {
            control.kill.notify_one();
            std::future::pending().await
        }
        None => json_response(
            500,
            openai::error_body(500, "InternalServerError", "simulated reset"),
        ),
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

async fn chat_completions(
    State(replica): State<Arc<Replica>>,
    control: Option<Extension<ConnectionControl>>,
    body: Bytes,
) -> Response {
    let arrived = Instant::now();
    let ordinal = replica.ordinal.fetch_add(1, Ordering::SeqCst);
    replica.stats.request_received();
    if replica.is_down() {
        // Only in reset mode: refusing replicas have no connections while down.
        replica.stats.down_reset();
        return reset_connection(control).await;
    }
    let decision = replica.faults.decide(ordinal);
    match decision.fault {
        Some(FaultKind::Reset) => {
            replica.stats.fault(FaultKind::Reset);
            return reset_connection(control).await;
        }
        Some(FaultKind::Hang) => {
            replica.stats.fault(FaultKind::Hang);
            return std::future::pending().await;
        }
        Some(FaultKind::ServerError) => {
            replica.stats.fault(FaultKind::ServerError);
            let status = replica.faults.config().server_error_status;
            return json_response(
                status,
                openai::error_body(status, "InternalServerError", "simulated server error"),
            );
        }
        _ => {}
    }
    let settings = &replica.settings;
    let wire: WireRequest = match serde_json::from_slice(&body) {
        Ok(wire) => wire,
        Err(error) => {
            return api_error(
                &replica,
                ApiError {
                    status: 400,
                    kind: "BadRequestError",
                    message: format!("invalid request body: {error}"),
                },
            )
        }
    };
    if let Err(error) = openai::validate(&wire, &settings.served_model_names, settings.max_logprobs)
    {
        return api_error(&replica, error);
    }
    if let Err(error) = openai::check_priority(&wire, settings.capacity.scheduling_policy) {
        return api_error(&replica, error);
    }
    let prompt = tokens::prompt_token_ids(
        &wire.messages,
        wire.add_generation_prompt,
        wire.continue_final_message,
    );
    let max_tokens = wire.max_tokens.map_or_else(
        || settings.max_model_len.saturating_sub(prompt.len()),
        |max| max as usize,
    );
    if let Err(error) = openai::check_length(prompt.len(), max_tokens, settings.max_model_len) {
        return api_error(&replica, error);
    }
    let mut request = wire.to_request(max_tokens as u32);
    if !settings.logprob_token_ids {
        // An older server: the parameter is not known, so it does nothing.
        request.logprob_token_ids.clear();
    } else if !request.logprob_token_ids.is_empty() && !request.logprobs {
        return api_error(
            &replica,
            ApiError {
                status: 400,
                kind: "BadRequestError",
                message: "`logprob_token_ids` requires `logprobs` to be true".into(),
            },
        );
    }
    let read = read_prompt(&request.messages, request.continue_final_message);
    let entropy = mix(mix(settings.seed, replica.index as u64), ordinal);
    let answer = replica
        .answerer
        .answer(&request, &read, entropy, max_tokens);
    let completions: Vec<usize> = answer
        .choices
        .iter()
        .map(|choice| choice.tokens.len())
        .collect();
    let served = replica
        .scheduler
        .serve(
            &prompt,
            &completions,
            i64::from(request.priority.unwrap_or(0)),
        )
        .await;
    if decision.extra_latency_s > 0.0 {
        replica.stats.fault(FaultKind::LatencySpike);
        tokio::time::sleep(settings.capacity.real(decision.extra_latency_s)).await;
    }
    replica.stats.served(ServedRequest {
        kind: answer.kind,
        known_sample: answer.known_sample,
        sequences: answer.choices.len() as u64,
        prompt_tokens: prompt.len() as u64,
        cached_tokens: served.cached_tokens as u64,
        completion_tokens: answer.completion_tokens() as u64,
        latency: arrived.elapsed(),
    });
    let model = if wire.model.is_empty() {
        settings.served_model_names[0].clone()
    } else {
        wire.model.clone()
    };
    let body = openai::completion_body(
        &format!("chatcmpl-{:08x}{:024x}", replica.index, ordinal),
        unix_now(),
        &model,
        &answer,
        request.logprobs,
        prompt.len(),
        served.cached_tokens,
    );
    if decision.fault == Some(FaultKind::Malformed) {
        replica.stats.fault(FaultKind::Malformed);
        return json_response(200, openai::malformed_body(decision.malformation, &body));
    }
    json_response(200, body)
}

/// vLLM's `POST /tokenize {"prompt", "add_special_tokens"}` with the simulator's tokenizer.
async fn tokenize(State(replica): State<Arc<Replica>>, body: Bytes) -> Response {
    if !replica.settings.logprob_token_ids {
        return json_response(404, r#"{"detail":"Not Found"}"#.into());
    }
    let body: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(error) => {
            return api_error(
                &replica,
                ApiError {
                    status: 400,
                    kind: "BadRequestError",
                    message: format!("invalid request body: {error}"),
                },
            )
        }
    };
    let Some(prompt) = body["prompt"].as_str() else {
        return api_error(
            &replica,
            ApiError {
                status: 400,
                kind: "BadRequestError",
                message: "`prompt` (a string) is required".into(),
            },
        );
    };
    let special = body["add_special_tokens"].as_bool().unwrap_or(true);
    let ids = tokens::text_token_ids(prompt, special);
    json_response(
        200,
        serde_json::json!({
            "count": ids.len(),
            "max_model_len": replica.settings.max_model_len,
            "tokens": ids,
            "token_strs": null,
        })
        .to_string(),
    )
}

async fn models(State(replica): State<Arc<Replica>>) -> Response {
    let settings = &replica.settings;
    json_response(
        200,
        openai::models_body(
            &settings.served_model_names,
            unix_now(),
            settings.max_model_len,
        ),
    )
}

async fn stats(State(replica): State<Arc<Replica>>) -> Response {
    Json(replica.stats.snapshot(replica.is_down())).into_response()
}

async fn reset_stats(State(replica): State<Arc<Replica>>) -> Response {
    replica.stats.reset();
    StatusCode::NO_CONTENT.into_response()
}

async fn clear_prefix_cache(State(replica): State<Arc<Replica>>) -> Response {
    replica.scheduler.clear_prefix_cache();
    StatusCode::NO_CONTENT.into_response()
}

/// The routes of a replica.
pub fn router(replica: Arc<Replica>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/models", get(models))
        .route("/tokenize", post(tokenize))
        .route("/health", get(|| async { StatusCode::OK }))
        .route("/sim/stats", get(stats))
        .route("/sim/reset", post(reset_stats))
        .route("/sim/clear-prefix-cache", post(clear_prefix_cache))
        .with_state(replica)
}

/// Closes a socket with a TCP reset.
fn reset_socket(stream: &std::net::TcpStream) {
    let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
}

/// Serves one connection until it ends, a handler asks for a reset, or every connection is killed
/// (`kill_all` changes or is dropped): then the socket is reset.
async fn serve_connection(stream: TcpStream, router: Router, mut kill_all: watch::Receiver<u64>) {
    // A twin descriptor of the socket, kept to set SO_LINGER 0 while hyper owns the stream.
    let Ok(stream) = stream.into_std() else {
        return;
    };
    let Ok(twin) = stream.try_clone() else {
        return;
    };
    let Ok(stream) = TcpStream::from_std(stream) else {
        return;
    };
    let control = ConnectionControl::default();
    let kill = control.kill.clone();
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let mut router = router.clone();
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(control.clone());
        async move { tower_service::Service::call(&mut router, request).await }
    });
    let connection =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = connection => return,
        _ = kill.notified() => {}
        _ = kill_all.changed() => {}
    }
    // The connection (and its descriptor) is dropped by now; the twin's close sends the reset.
    reset_socket(&twin);
}

/// Accepts connections on `listener` until `shutdown` turns true, closing and re-opening the
/// listener around down windows.
pub async fn run(
    replica: Arc<Replica>,
    listener: TcpListener,
    address: SocketAddr,
    mut shutdown: watch::Receiver<bool>,
) {
    let router = router(replica.clone());
    let (kill_all, _) = watch::channel(0u64);
    let mut listener = Some(listener);
    let mut was_down = false;
    let faults = replica.faults.config().clone();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let elapsed = replica.elapsed_s();
        let down = faults.down_at(elapsed).is_some();
        if down && !was_down {
            replica.stats.down_period();
            kill_all.send_modify(|epoch| *epoch += 1);
            if faults.down_mode == DownMode::Refuse {
                listener = None;
            }
            tracing::info!(replica = replica.index, "replica down");
        } else if !down && was_down {
            tracing::info!(replica = replica.index, "replica up");
        }
        was_down = down;
        let until_transition = faults
            .next_transition(elapsed)
            .map(|at| replica.settings.capacity.real(at - elapsed));
        let transition = async {
            match until_transition {
                Some(wait) => tokio::time::sleep(wait).await,
                None => std::future::pending().await,
            }
        };
        if listener.is_none() && !down {
            match TcpListener::bind(address).await {
                Ok(bound) => listener = Some(bound),
                Err(error) => {
                    tracing::warn!(replica = replica.index, %error, "cannot bind again; retrying");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            }
        }
        let Some(open) = listener.as_ref() else {
            tokio::select! {
                _ = transition => continue,
                _ = shutdown.changed() => break,
            }
        };
        tokio::select! {
            accepted = open.accept() => match accepted {
                Ok((stream, _)) if down => {
                    replica.stats.down_reset();
                    let _ = stream.set_zero_linger();
                }
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(serve_connection(stream, router.clone(), kill_all.subscribe()));
                }
                Err(error) => {
                    tracing::warn!(replica = replica.index, %error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            },
            _ = transition => {}
            _ = shutdown.changed() => break,
        }
    }
    kill_all.send_modify(|epoch| *epoch += 1);
}
