//! The OpenAI-compatible HTTP backend (vLLM, llama.cpp, OpenAI's own API).
//!
//! We speak the protocol with our own serde types over our own HTTP/1.1 client (plain `http://`,
//! [`plain`]) or reqwest (https, proxies) rather than through async-openai's
//! client. Two behaviours of async-openai 0.43 do not fit a week-long sweep against vLLM: it retries
//! 429 and 5xx answers inside its own middleware with its own backoff (the endpoint pool must own
//! retries, to bound them, route around a failing replica and count them), and its error type loses
//! the HTTP status of a 4xx whose body carries vLLM's integer `code` (the body fails to deserialise
//! into its typed error and comes back as a JSON error, indistinguishable from a malformed 200). The
//! wire types here accept every body in `shared/fixtures/openai`, ignore unknown fields, and send
//! vLLM's extensions only when they differ from the defaults, so OpenAI's API accepts our requests.

mod client;
mod plain;
mod wire;

pub use client::{
    normalise_base, root_certificates, HttpBackend, HttpEndpoint, MAX_RESPONSE_BYTES,
};
pub use wire::{error_message_of, read_response, WireRequest, WireResponse};
