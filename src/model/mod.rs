//! The model layer: one chat-completion protocol ([`ChatRequest`], [`ChatResponse`]) and the
//! backends that serve it.
//!
//! Every model the system talks to (a CRS such as Phi-4 on vLLM, the fine-tuned simulated user, a
//! teacher LLM, or the small embedded model used when no server is configured) is reached through
//! the [`Backend`] trait, so the search never knows which it is talking to. Requests are plain
//! values with a seed: the same request gives the same answer, which is what makes the response
//! cache and resume after a crash possible.
//!
//! ## Layout
//!
//! - [`types`]: requests, responses, token logprobs.
//! - [`error`]: [`ModelError`], with a stable label and whether a retry can help.
//! - [`backend`]: the [`Backend`] trait.
//! - [`scoring`]: the Yes/No score of an item from token logprobs (`generate` and `forced`).
//! - [`role`]: [`role::Role`], what a model is asked to be (crs, user, critique, reward, teacher).
//! - [`context`]: [`context::RequestContext`], what travels with a request: role, affinity key,
//!   the unit paying for it.
//! - [`cached`]: [`cached::CachedBackend`], the one front of the response cache.
//! - [`ask`]: [`ask::Ask`], how the CRS and the simulated user ask a model.
//! - [`usage`]: what a sample's requests cost: calls, cache hits, invalid answers, per role.
//! - [`build`]: a role's config into a ready backend (a pool, or the shared embedded model
//!   through the caller's [`build::EmbeddedLoader`]).
//! - [`classify`]: class probabilities from a discriminative reward model (`/classify`).
//! - [`doctor`]: the checks `grsu doctor` runs against an endpoint.
//! - [`embedded_path`]: where the embedded model's GGUF file is looked for. The model itself (the
//!   small CPU model used when no server is configured) is the `grsu-embedded` crate, which gives
//!   [`build::BackendBuilder`] its loader, so that this library does not compile candle.
//! - [`http`]: the OpenAI-compatible HTTP backend (vLLM, llama.cpp, OpenAI).
//! - [`pool`]: [`pool::EndpointPool`], the replicas of one model role behind one [`Backend`], with
//!   bounded concurrency per replica, retries with backoff, affinity and ejection of failing ones.

pub mod ask;
pub mod backend;
pub mod build;
pub mod cached;
pub mod classify;
pub mod context;
pub mod doctor;
pub mod embedded_path;
pub mod error;
pub mod http;
pub mod pool;
pub mod role;
pub mod scoring;
pub mod token_ids;
pub mod types;
pub mod usage;

pub use backend::Backend;
pub use error::ModelError;
pub use types::{
    ChatMessage, ChatRequest, ChatResponse, Choice, FinishReason, TokenLogprob, TokenText,
    TopLogprob, Usage,
};
