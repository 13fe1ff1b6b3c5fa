//! The OpenAI-compatible wire format as vLLM writes it: request checks with vLLM's error messages,
//! and the bodies of `/v1/chat/completions` and `/v1/models` (modelled on the vLLM bodies in the
//! project's shared fixtures: tokens with their leading space and `bytes`, `stop_reason`, usage with
//! `prompt_tokens_details.cached_tokens`, errors as `{"error": {message, type, param, code}}` with
//! an integer code).

use crate::slots::SchedulingPolicy;
use grsu::model::http::WireRequest;
use serde::Serialize;
use serde_json::{json, Value};

use crate::answers::{Answer, Finish, GeneratedToken};
use crate::faults::Malformation;

/// A request the server refuses, with vLLM's wording.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub kind: &'static str,
    pub message: String,
}

impl ApiError {
    fn bad_request(message: impl Into<String>) -> Self {
        ApiError {
            status: 400,
            kind: "BadRequestError",
            message: message.into(),
        }
    }

    pub fn body(&self) -> String {
        error_body(self.status, self.kind, &self.message)
    }
}

/// vLLM's error body.
pub fn error_body(status: u16, kind: &str, message: &str) -> String {
    json!({"error": {"message": message, "type": kind, "param": null, "code": status}}).to_string()
}

/// vLLM refuses a priority other than 0 unless it was started with `--scheduling-policy
/// priority`.
pub fn check_priority(wire: &WireRequest, policy: SchedulingPolicy) -> Result<(), ApiError> {
    match wire.priority {
        Some(priority) if priority != 0 && policy != SchedulingPolicy::Priority => {
            Err(ApiError::bad_request(format!(
                "Got priority {priority} but Priority scheduling is not enabled."
            )))
        }
        _ => Ok(()),
    }
}

/// The checks vLLM makes before running a request (the length check comes later, once the prompt
/// is tokenized: [`check_length`]).
pub fn validate(wire: &WireRequest, served: &[String], max_logprobs: u32) -> Result<(), ApiError> {
    if !wire.model.is_empty() && !served.contains(&wire.model) {
        return Err(ApiError {
            status: 404,
            kind: "NotFoundError",
            message: format!("The model `{}` does not exist.", wire.model),
        });
    }
    if wire.stream {
        return Err(ApiError::bad_request(
            "streaming is not simulated; send stream: false",
        ));
    }
    if wire.messages.is_empty() {
        return Err(ApiError::bad_request("messages must not be empty"));
    }
    if wire.n == 0 {
        return Err(ApiError::bad_request("n must be at least 1."));
    }
    if wire.continue_final_message && wire.add_generation_prompt {
        return Err(ApiError::bad_request(
            "Cannot set both `continue_final_message` and `add_generation_prompt` to True.",
        ));
    }
    if wire.continue_final_message && wire.messages.last().is_none_or(|m| m.role != "assistant") {
        return Err(ApiError::bad_request(
            "continue_final_message is set but the last message is not an assistant message",
        ));
    }
    if let Some(top) = wire.top_logprobs {
        if top > 0 && !wire.logprobs {
            return Err(ApiError::bad_request(
                "when using `top_logprobs`, `logprobs` must be set to true.",
            ));
        }
        if top > max_logprobs {
            return Err(ApiError::bad_request(format!(
                "Requested sample logprobs of {top}, which is greater than max allowed: {max_logprobs}"
            )));
        }
    }
    Ok(())
}

/// vLLM's context-length check.
pub fn check_length(
    prompt_tokens: usize,
    max_tokens: usize,
    max_model_len: usize,
) -> Result<(), ApiError> {
    if prompt_tokens + max_tokens > max_model_len {
        return Err(ApiError::bad_request(format!(
            "This model's maximum context length is {max_model_len} tokens. However, you requested \
             {} tokens ({prompt_tokens} in the messages, {max_tokens} in the completion). Please \
             reduce the length of the messages or completion.",
            prompt_tokens + max_tokens
        )));
    }
    Ok(())
}

/// One alternative at a token's position.
#[derive(Serialize)]
struct TopEntry<'a> {
    token: &'a str,
    logprob: f64,
    bytes: &'a [u8],
}

/// One generated token with its alternatives.
#[derive(Serialize)]
struct TokenEntry<'a> {
    token: &'a str,
    logprob: f64,
    bytes: &'a [u8],
    top_logprobs: Vec<TopEntry<'a>>,
}

impl<'a> TokenEntry<'a> {
    fn of(token: &'a GeneratedToken) -> Self {
        TokenEntry {
            token: &token.token,
            logprob: token.logprob,
            bytes: token.token.as_bytes(),
            top_logprobs: token
                .top
                .iter()
                .map(|(top, logprob)| TopEntry {
                    token: top,
                    logprob: *logprob,
                    bytes: top.as_bytes(),
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
struct Logprobs<'a> {
    content: Vec<TokenEntry<'a>>,
}

/// The assistant message of a choice, with the fields vLLM writes as null or empty.
#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: &'a str,
    refusal: Option<()>,
    annotations: Option<()>,
    audio: Option<()>,
    function_call: Option<()>,
    tool_calls: [(); 0],
    reasoning_content: Option<()>,
}

#[derive(Serialize)]
struct ChoiceBody<'a> {
    index: usize,
    message: Message<'a>,
    logprobs: Option<Logprobs<'a>>,
    finish_reason: &'static str,
    stop_reason: Option<&'a str>,
}

#[derive(Serialize)]
struct PromptTokensDetails {
    cached_tokens: usize,
}

#[derive(Serialize)]
struct UsageBody {
    prompt_tokens: usize,
    total_tokens: usize,
    completion_tokens: usize,
    prompt_tokens_details: PromptTokensDetails,
}

/// A chat completion as vLLM writes it (fields in vLLM's order).
#[derive(Serialize)]
struct CompletionBody<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: Vec<ChoiceBody<'a>>,
    usage: UsageBody,
    prompt_logprobs: Option<()>,
    kv_transfer_params: Option<()>,
}

/// The body of a chat completion. Written from borrowed structs rather than a `serde_json::Value`
/// tree: building that tree (a map and a string per field of every top-logprob entry) was two
/// fifths of the simulation's CPU.
pub fn completion_body(
    id: &str,
    created: u64,
    model: &str,
    answer: &Answer,
    logprobs: bool,
    prompt_tokens: usize,
    cached_tokens: usize,
) -> String {
    let choices = answer
        .choices
        .iter()
        .enumerate()
        .map(|(index, choice)| ChoiceBody {
            index,
            message: Message {
                role: "assistant",
                content: &choice.text,
                refusal: None,
                annotations: None,
                audio: None,
                function_call: None,
                tool_calls: [],
                reasoning_content: None,
            },
            logprobs: logprobs.then(|| Logprobs {
                content: choice.tokens.iter().map(TokenEntry::of).collect(),
            }),
            finish_reason: match choice.finish {
                Finish::Stop => "stop",
                Finish::Length => "length",
            },
            stop_reason: choice.stop_reason.as_deref(),
        })
        .collect();
    let completion_tokens = answer.completion_tokens();
    let body = CompletionBody {
        id,
        object: "chat.completion",
        created,
        model,
        choices,
        usage: UsageBody {
            prompt_tokens,
            total_tokens: prompt_tokens + completion_tokens,
            completion_tokens,
            prompt_tokens_details: PromptTokensDetails { cached_tokens },
        },
        prompt_logprobs: None,
        kv_transfer_params: None,
    };
    serde_json::to_string(&body).expect("a completion body serialises")
}

/// The body of `/v1/models`.
pub fn models_body(served: &[String], created: u64, max_model_len: usize) -> String {
    let root = served.first().cloned().unwrap_or_default();
    json!({
        "object": "list",
        "data": served.iter().map(|name| json!({
            "id": name,
            "object": "model",
            "created": created,
            "owned_by": "vllm",
            "root": root,
            "parent": null,
            "max_model_len": max_model_len,
            "permission": []
        })).collect::<Vec<_>>()
    })
    .to_string()
}

/// A broken version of `body` (status 200).
pub fn malformed_body(malformation: Malformation, body: &str) -> String {
    match malformation {
        Malformation::TruncatedJson => {
            let mut cut = body.len() / 2;
            while !body.is_char_boundary(cut) {
                cut -= 1;
            }
            body[..cut].to_string()
        }
        Malformation::MissingChoices => {
            let mut value: Value = serde_json::from_str(body).unwrap_or(Value::Null);
            if let Some(object) = value.as_object_mut() {
                object.remove("choices");
            }
            value.to_string()
        }
        Malformation::NotJson => {
            "<html><head><title>502 Bad Gateway</title></head><body>bad gateway</body></html>"
                .to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::GeneratedChoice;
    use grsu::model::http::WireResponse;

    fn wire(body: Value) -> WireRequest {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn vllm_rejections() {
        let served = vec!["sim".to_string()];
        let ok = wire(json!({"model": "sim", "messages": [{"role": "user", "content": "hi"}]}));
        assert!(validate(&ok, &served, 20).is_ok());
        let unknown =
            wire(json!({"model": "gpt", "messages": [{"role": "user", "content": "hi"}]}));
        assert_eq!(validate(&unknown, &served, 20).unwrap_err().status, 404);
        let many = wire(
            json!({"messages": [{"role": "user", "content": "hi"}], "logprobs": true, "top_logprobs": 50}),
        );
        let error = validate(&many, &served, 20).unwrap_err();
        assert!(error.message.contains("max allowed: 20"));
        assert!(grsu::model::http::error_message_of(&error.body()).contains("max allowed"));
        let both = wire(
            json!({"messages": [{"role": "assistant", "content": "A"}], "continue_final_message": true}),
        );
        assert!(validate(&both, &served, 20).is_err());
        assert!(check_length(4000, 200, 4096).is_err() && check_length(10, 10, 4096).is_ok());
    }

    #[test]
    fn bodies_parse_with_grsu_wire_types_and_malformed_ones_do_not() {
        let answer = Answer {
            kind: "other",
            known_sample: false,
            choices: vec![GeneratedChoice {
                text: " Yes".into(),
                finish: Finish::Length,
                stop_reason: None,
                tokens: vec![GeneratedToken {
                    token: " Yes".into(),
                    logprob: -0.1,
                    top: vec![(" Yes".into(), -0.1), (" No".into(), -2.5)],
                }],
            }],
        };
        let body = completion_body("chatcmpl-1", 0, "sim", &answer, true, 12, 0);
        // vLLM's fields, in vLLM's order, byte for byte.
        let vllm = json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "sim",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": " Yes", "refusal": null,
                    "annotations": null, "audio": null, "function_call": null, "tool_calls": [],
                    "reasoning_content": null},
                "logprobs": {"content": [{"token": " Yes", "logprob": -0.1, "bytes": [32, 89, 101, 115],
                    "top_logprobs": [
                        {"token": " Yes", "logprob": -0.1, "bytes": [32, 89, 101, 115]},
                        {"token": " No", "logprob": -2.5, "bytes": [32, 78, 111]}]}]},
                "finish_reason": "length",
                "stop_reason": null
            }],
            "usage": {"prompt_tokens": 12, "total_tokens": 13, "completion_tokens": 1,
                "prompt_tokens_details": {"cached_tokens": 0}},
            "prompt_logprobs": null,
            "kv_transfer_params": null
        });
        assert_eq!(body, vllm.to_string());
        let plain = completion_body("chatcmpl-1", 0, "sim", &answer, false, 12, 0);
        assert_eq!(
            serde_json::from_str::<Value>(&plain).unwrap()["choices"][0]["logprobs"],
            Value::Null
        );
        let parsed: WireResponse = serde_json::from_str(&body).unwrap();
        let response = parsed.into_response();
        assert_eq!(response.usage.prompt_tokens, 12);
        assert_eq!(
            response.choices[0].logprobs.as_ref().unwrap()[0]
                .top_logprobs
                .len(),
            2
        );
        let value: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
        for malformation in [
            Malformation::TruncatedJson,
            Malformation::MissingChoices,
            Malformation::NotJson,
        ] {
            let broken = malformed_body(malformation, &body);
            assert!(
                serde_json::from_str::<WireResponse>(&broken).is_err(),
                "{broken}"
            );
        }
        let models: Value =
            serde_json::from_str(&models_body(&["a".into(), "b".into()], 0, 8192)).unwrap();
        assert_eq!(models["data"][1]["id"], "b");
    }
}
