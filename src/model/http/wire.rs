//! The JSON bodies of `/v1/chat/completions`, as vLLM, llama.cpp and OpenAI write them.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{
    ChatMessage, ChatRequest, ChatResponse, Choice, FinishReason, TokenLogprob, TokenText,
    TopLogprob, Usage,
};

/// A request body. Optional fields are left out when they hold the server's default, so that
/// servers without vLLM's extensions accept it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireRequest {
    #[serde(default)]
    pub model: String,
    pub messages: Vec<ChatMessage>,
    #[serde(default = "default_temperature")]
    pub temperature: f32,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        alias = "max_completion_tokens"
    )]
    pub max_tokens: Option<u32>,
    #[serde(default = "default_n")]
    pub n: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub logprobs: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_logprobs: Option<u32>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "string_or_list"
    )]
    pub stop: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub continue_final_message: bool,
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub add_generation_prompt: bool,
    /// vLLM's `logprob_token_ids`: the log-probabilities of these ids at each generated position
    /// (they replace the top-`top_logprobs` alternatives in the answer's `top_logprobs`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logprob_token_ids: Vec<u32>,
    /// vLLM's scheduling priority (lower first); left out when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    #[serde(default)]
    pub stream: bool,
}

/// [`WireRequest`] borrowed, to be written: the same fields in the same order, left out under
/// the same conditions.
#[derive(Serialize)]
struct WireRequestBody<'a> {
    model: &'a str,
    messages: &'a [ChatMessage],
    temperature: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    n: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
    #[serde(skip_serializing_if = "is_false")]
    logprobs: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_logprobs: Option<u32>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    stop: &'a [String],
    #[serde(skip_serializing_if = "is_false")]
    continue_final_message: bool,
    #[serde(skip_serializing_if = "is_true")]
    add_generation_prompt: bool,
    #[serde(skip_serializing_if = "<[u32]>::is_empty")]
    logprob_token_ids: &'a [u32],
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<i32>,
    stream: bool,
}

fn default_temperature() -> f32 {
    1.0
}
fn default_n() -> u32 {
    1
}
fn default_true() -> bool {
    true
}
fn is_false(value: &bool) -> bool {
    !*value
}
fn is_true(value: &bool) -> bool {
    *value
}

fn string_or_list<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
        Nothing(()),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(stop) => vec![stop],
        OneOrMany::Many(stops) => stops,
        OneOrMany::Nothing(()) => Vec::new(),
    })
}

impl WireRequest {
    /// The JSON body of `request` to `model`, written from the request itself (no owned
    /// [`WireRequest`] is built first: the prompt is kilobytes, and a sweep sends thousands a
    /// second). `top_logprobs` and `logprob_token_ids` go only with `logprobs`.
    pub fn body(model: &str, request: &ChatRequest) -> Vec<u8> {
        let logprobs = request.logprobs;
        let body = WireRequestBody {
            model,
            messages: &request.messages,
            temperature: request.temperature,
            max_tokens: Some(request.max_tokens),
            n: request.n,
            seed: request.seed,
            logprobs,
            top_logprobs: request.top_logprobs.filter(|_| logprobs),
            stop: &request.stop,
            continue_final_message: request.continue_final_message,
            add_generation_prompt: request.add_generation_prompt,
            logprob_token_ids: if logprobs {
                &request.logprob_token_ids
            } else {
                &[]
            },
            priority: request.priority,
            stream: false,
        };
        let mut bytes = Vec::with_capacity(
            512 + request
                .messages
                .iter()
                .map(|message| message.content.len())
                .sum::<usize>(),
        );
        serde_json::to_writer(&mut bytes, &body).expect("a request body always serialises");
        bytes
    }

    /// The protocol request this body asks for (used by the server side, `grsu serve`).
    pub fn to_request(&self, default_max_tokens: u32) -> ChatRequest {
        ChatRequest {
            messages: self.messages.clone(),
            temperature: self.temperature,
            max_tokens: self.max_tokens.unwrap_or(default_max_tokens),
            n: self.n,
            seed: self.seed,
            logprobs: self.logprobs,
            top_logprobs: self.top_logprobs,
            stop: self.stop.clone(),
            continue_final_message: self.continue_final_message,
            add_generation_prompt: self.add_generation_prompt,
            logprob_token_ids: self.logprob_token_ids.clone(),
            priority: self.priority,
        }
    }
}

/// A response body. Only what we use is read; unknown fields (vLLM's `stop_reason`,
/// `kv_transfer_params`, token `bytes`) are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireResponse {
    #[serde(default)]
    pub id: String,
    #[serde(default = "chat_completion")]
    pub object: String,
    #[serde(default)]
    pub created: u64,
    #[serde(default)]
    pub model: String,
    pub choices: Vec<WireChoice>,
    #[serde(default)]
    pub usage: Option<WireUsage>,
}

fn chat_completion() -> String {
    "chat.completion".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireChoice {
    #[serde(default)]
    pub index: u32,
    pub message: WireMessage,
    #[serde(default)]
    pub logprobs: Option<WireLogprobs>,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireMessage {
    #[serde(default = "assistant")]
    pub role: String,
    #[serde(default)]
    pub content: Option<String>,
}

fn assistant() -> String {
    "assistant".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireLogprobs {
    #[serde(default)]
    pub content: Option<Vec<WireToken>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireToken {
    pub token: TokenText,
    pub logprob: f64,
    /// The alternatives as the protocol holds them (`{"token", "logprob"}`, the wire's shape).
    #[serde(default)]
    pub top_logprobs: Option<Vec<TopLogprob>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WireUsage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub total_tokens: u64,
}

impl WireResponse {
    /// The protocol response, choices in `index` order (what [`read_response`] gives for the
    /// body this was read from).
    pub fn into_response(self) -> ChatResponse {
        let choices = self
            .choices
            .into_iter()
            .map(|choice| AnswerChoice {
                index: choice.index,
                message: AnswerMessage {
                    content: choice.message.content,
                },
                logprobs: choice.logprobs.map(|logprobs| AnswerLogprobs {
                    content: logprobs.content.map(|tokens| {
                        tokens
                            .into_iter()
                            .map(|token| AnswerToken {
                                token: token.token,
                                logprob: token.logprob,
                                top_logprobs: token.top_logprobs,
                            })
                            .collect()
                    }),
                }),
                finish_reason: choice.finish_reason.map(Cow::Owned),
            })
            .collect();
        AnswerBody {
            model: self.model,
            choices,
            usage: self.usage,
        }
        .into_response()
    }

    /// The body a server writes for a protocol response (used by `grsu serve`).
    pub fn from_response(id: String, created: u64, response: &ChatResponse) -> Self {
        WireResponse {
            id,
            object: chat_completion(),
            created,
            model: response.model.clone(),
            choices: response
                .choices
                .iter()
                .enumerate()
                .map(|(index, choice)| WireChoice {
                    index: index as u32,
                    message: WireMessage {
                        role: assistant(),
                        content: Some(choice.text.clone()),
                    },
                    logprobs: choice.logprobs.as_ref().map(|tokens| WireLogprobs {
                        content: Some(
                            tokens
                                .iter()
                                .map(|token| WireToken {
                                    token: token.token.clone(),
                                    logprob: token.logprob,
                                    top_logprobs: Some(token.top_logprobs.clone()),
                                })
                                .collect(),
                        ),
                    }),
                    finish_reason: Some(
                        match &choice.finish_reason {
                            FinishReason::Stop => "stop",
                            FinishReason::Length => "length",
                            FinishReason::Other(other) => other.as_str(),
                        }
                        .to_string(),
                    ),
                })
                .collect(),
            usage: Some(WireUsage {
                prompt_tokens: response.usage.prompt_tokens,
                completion_tokens: response.usage.completion_tokens,
                total_tokens: response
                    .usage
                    .prompt_tokens
                    .saturating_add(response.usage.completion_tokens),
            }),
        }
    }
}

/// A response body read as the client reads it ([`read_response`]): straight into the protocol's
/// types, skipping what it does not keep (`id`, `object`, `created`, each message's `role`, every
/// token's `bytes`) and borrowing `finish_reason`. A scoring answer carries 20 alternatives; read
/// through [`WireResponse`], each one's strings were allocated, then moved again.
#[derive(Deserialize)]
struct AnswerBody<'a> {
    #[serde(default)]
    model: String,
    #[serde(borrow)]
    choices: Vec<AnswerChoice<'a>>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct AnswerChoice<'a> {
    #[serde(default)]
    index: u32,
    message: AnswerMessage,
    #[serde(default)]
    logprobs: Option<AnswerLogprobs>,
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct AnswerMessage {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize)]
struct AnswerLogprobs {
    #[serde(default)]
    content: Option<Vec<AnswerToken>>,
}

#[derive(Deserialize)]
struct AnswerToken {
    token: TokenText,
    logprob: f64,
    #[serde(default, deserialize_with = "alternatives")]
    top_logprobs: Option<Vec<TopLogprob>>,
}

/// The most alternatives a server gives at a position (OpenAI's limit on `top_logprobs`, and
/// vLLM's default `--max-logprobs`): a list is made that large at once, not grown four times.
const MOST_ALTERNATIVES: usize = 20;

/// A position's `top_logprobs`: a list or `null`.
fn alternatives<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<TopLogprob>>, D::Error> {
    struct Alternatives;
    impl<'de> serde::de::Visitor<'de> for Alternatives {
        type Value = Option<Vec<TopLogprob>>;

        fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
            formatter.write_str("a list of alternative tokens or null")
        }

        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: serde::Deserializer<'de>>(
            self,
            deserializer: D,
        ) -> Result<Self::Value, D::Error> {
            deserializer.deserialize_seq(self)
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut sequence: A,
        ) -> Result<Self::Value, A::Error> {
            let mut alternatives =
                Vec::with_capacity(sequence.size_hint().unwrap_or(MOST_ALTERNATIVES));
            while let Some(alternative) = sequence.next_element()? {
                alternatives.push(alternative);
            }
            Ok(Some(alternatives))
        }
    }
    deserializer.deserialize_option(Alternatives)
}

/// What a server's finish reason means; no reason at all is a normal stop.
fn finish_reason_of(reason: Option<&str>) -> FinishReason {
    match reason {
        Some("stop") | Some("eos") | None => FinishReason::Stop,
        Some("length") => FinishReason::Length,
        Some(other) => FinishReason::Other(other.to_string()),
    }
}

/// The protocol response of a `/chat/completions` body, choices in `index` order: what
/// [`WireResponse`] reads and [`WireResponse::into_response`] gives, without its intermediate
/// strings (the client's hot path: one call per model request).
pub fn read_response(body: &str) -> Result<ChatResponse, serde_json::Error> {
    serde_json::from_str::<AnswerBody<'_>>(body).map(AnswerBody::into_response)
}

impl AnswerBody<'_> {
    fn into_response(mut self) -> ChatResponse {
        self.choices.sort_by_key(|choice| choice.index);
        let choices = self
            .choices
            .into_iter()
            .map(|choice| Choice {
                text: choice.message.content.unwrap_or_default(),
                finish_reason: finish_reason_of(choice.finish_reason.as_deref()),
                logprobs: choice
                    .logprobs
                    .and_then(|logprobs| logprobs.content)
                    .map(|tokens| {
                        tokens
                            .into_iter()
                            .map(|token| TokenLogprob {
                                token: token.token,
                                logprob: token.logprob,
                                top_logprobs: token.top_logprobs.unwrap_or_default(),
                            })
                            .collect()
                    }),
            })
            .collect();
        let usage = self.usage.unwrap_or_default();
        ChatResponse {
            model: self.model,
            choices,
            usage: Usage {
                prompt_tokens: usage.prompt_tokens,
                completion_tokens: usage.completion_tokens,
            },
        }
    }
}

/// The human message of an error body, whatever its shape: `{"error": {"message": ...}}` (OpenAI,
/// current vLLM, llama.cpp), `{"object": "error", "message": ...}` (older vLLM), or plain text.
pub fn error_message_of(body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let message = parsed.as_ref().and_then(|value| {
        value
            .pointer("/error/message")
            .or_else(|| value.get("message"))
            .or_else(|| value.get("detail"))
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let mut message = message.unwrap_or_else(|| body.trim().to_string());
    if message.len() > 500 {
        let cut = (0..=500)
            .rev()
            .find(|&index| message.is_char_boundary(index))
            .unwrap_or(0);
        message.truncate(cut);
        message.push('…');
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_reads_back_as_its_request_and_leaves_out_what_servers_default() {
        use crate::model::ChatMessage;
        let mut plain = ChatRequest::new(vec![
            ChatMessage::system("You are a recommender."),
            ChatMessage::user("Something like \"Heat\" (1995)\n\u{1F3AC}"),
        ]);
        let mut scoring = plain.clone();
        scoring.logprobs = true;
        scoring.top_logprobs = Some(5);
        scoring.logprob_token_ids = vec![9642, 2822];
        scoring.seed = Some(7);
        scoring.stop = vec!["\n".into()];
        scoring.continue_final_message = true;
        scoring.add_generation_prompt = false;
        scoring.priority = Some(-1);
        let body = WireRequest::body("phi-4", &scoring);
        let wire: WireRequest = serde_json::from_slice(&body).unwrap();
        assert_eq!(wire.model, "phi-4");
        assert!(!wire.stream);
        assert_eq!(wire.to_request(1), scoring);

        // Set without logprobs: not sent; nor are the fields at the server's default.
        plain.top_logprobs = Some(3);
        plain.logprob_token_ids = vec![1];
        let body: Value = serde_json::from_slice(&WireRequest::body("phi-4", &plain)).unwrap();
        for absent in [
            "top_logprobs",
            "logprob_token_ids",
            "logprobs",
            "seed",
            "stop",
            "continue_final_message",
            "add_generation_prompt",
            "priority",
        ] {
            assert!(body.get(absent).is_none(), "{absent} in {body}");
        }
        let wire: WireRequest = serde_json::from_value(body).unwrap();
        let mut expected = plain.clone();
        expected.top_logprobs = None;
        expected.logprob_token_ids = Vec::new();
        assert_eq!(wire.to_request(1), expected);
    }

    #[test]
    fn token_counts_a_server_reports_are_summed_without_overflow() {
        let body = r#"{"choices": [{"message": {"content": "Yes"}}],
            "usage": {"prompt_tokens": 18446744073709551615, "completion_tokens": 1}}"#;
        let response = serde_json::from_str::<WireResponse>(body)
            .unwrap()
            .into_response();
        let written = WireResponse::from_response("id".into(), 0, &response);
        assert_eq!(written.usage.unwrap().total_tokens, u64::MAX);
    }

    #[test]
    fn a_scoring_priority_goes_on_the_wire_but_not_into_the_cache_key() {
        use crate::model::scoring::{scoring_request, ScoringSettings};
        use crate::model::ChatMessage;
        use crate::store::ResponseCache;
        let messages = vec![ChatMessage::user("Accept the recommendation (Yes/No)?")];
        let plain = scoring_request(messages.clone(), &ScoringSettings::default());
        let urgent = scoring_request(
            messages,
            &ScoringSettings {
                priority: Some(-1),
                ..ScoringSettings::default()
            },
        );
        assert_eq!(urgent.priority, Some(-1));
        let body: Value = serde_json::from_slice(&WireRequest::body("u", &urgent)).unwrap();
        assert_eq!(body["priority"], -1);
        let without: Value = serde_json::from_slice(&WireRequest::body("u", &plain)).unwrap();
        assert!(without.get("priority").is_none(), "{without}");
        assert_eq!(
            ResponseCache::key("u", &urgent),
            ResponseCache::key("u", &plain)
        );
        // What a server reads back (`grsu serve`, the simulated fleet) keeps it.
        let read: WireRequest = serde_json::from_value(body).unwrap();
        assert_eq!(read.to_request(16).priority, Some(-1));
    }

    /// The client's reader against the wire types on the same body: both fail, or both give
    /// the same response.
    fn assert_read_as_the_wire_types_read(body: &str) {
        let wire = serde_json::from_str::<WireResponse>(body).map(WireResponse::into_response);
        match (wire, read_response(body)) {
            (Ok(wire), Ok(read)) => assert_eq!(read, wire, "{body}"),
            (Err(_), Err(_)) => {}
            (wire, read) => panic!("{body}\nwire types: {wire:?}\nreader: {read:?}"),
        }
    }

    #[test]
    fn the_client_reads_a_body_as_the_wire_types_do_whatever_it_holds() {
        let scoring = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"user",
            "choices":[{"index":0,"message":{"role":"assistant","content":" No","refusal":null,
            "tool_calls":[]},"logprobs":{"content":[{"token":" No","logprob":-0.11,"bytes":[32,78,111],
            "top_logprobs":[{"token":" No","logprob":-0.11,"bytes":[32,78,111]},
            {"token":" Yes","logprob":-2.35,"bytes":[32,89,101,115]},
            {"token":"\n","logprob":-9.4,"bytes":[10]},{"token":"\u00e9\"","logprob":-9.5}]}]},
            "finish_reason":"stop","stop_reason":null}],
            "usage":{"prompt_tokens":298,"total_tokens":299,"completion_tokens":1,
            "prompt_tokens_details":{"cached_tokens":224}},"kv_transfer_params":null}"#;
        let parsed = read_response(scoring).unwrap();
        assert_eq!(
            parsed.choices[0].logprobs.as_ref().unwrap()[0]
                .top_logprobs
                .len(),
            4
        );
        let bodies = [
            scoring.to_string(),
            // Choices out of order, each finish reason, an escaped one, none, and a null.
            r#"{"model":"m","choices":[
                {"index":2,"message":{"content":"c"},"finish_reason":"le\u006egth"},
                {"index":0,"message":{"content":"a"},"finish_reason":"length"},
                {"index":1,"message":{"content":null},"finish_reason":"tool_calls"},
                {"index":3,"message":{"content":"d"}},
                {"index":4,"message":{"content":"e"},"finish_reason":null,"logprobs":null}]}"#
                .into(),
            r#"{"choices":[{"message":{"content":"x"},"logprobs":{"content":null}}]}"#.into(),
            r#"{"choices":[{"message":{"content":"x"},"logprobs":{"content":[
                {"token":"x","logprob":-1.0,"top_logprobs":null},{"token":"y","logprob":-2.0}]}}]}"#
                .into(),
            r#"{"choices":[],"usage":null}"#.into(),
            r#"{"choices":[{"message":{"content":"x"},"logprobs":{"content":[
                {"token":"x","logprob":-1.0,"top_logprobs":[]}]}}]}"#
                .into(),
            // Not answers: both refuse them.
            r#"{"choices":[{"index":0}]}"#.into(),
            r#"{"model":"m"}"#.into(),
            r#"{"choices":[{"message":{"content":"x"},"logprobs":{"content":[{"logprob":-1.0}]}}]}"#
                .into(),
            r#"{"choices":[{"message":{"content":"x"},"finish_reason":7}]}"#.into(),
            r#"{"choices":[{"message":{"content":"x"},"logprobs":{"content":[
                {"token":"x","logprob":-1.0,"top_logprobs":{"token":"y"}}]}}]}"#
                .into(),
            r#"{"choices":[{"message":{"content":"x"},"logprobs":{"content":[
                {"token":"x","logprob":-1.0,"top_logprobs":[{"token":"y"}]}]}}]}"#
                .into(),
            r#"{"choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens":-1}}"#.into(),
            r#"{"choices":[{"message":{"content":"x"}}]"#.into(),
            "[]".into(),
        ];
        for body in &bodies {
            assert_read_as_the_wire_types_read(body);
        }
        assert!(read_response(&bodies[6]).is_err());
        let ordered = read_response(&bodies[1]).unwrap();
        let texts: Vec<_> = ordered
            .choices
            .iter()
            .map(|choice| &choice.text[..])
            .collect();
        assert_eq!(texts, ["a", "", "c", "d", "e"]);
        assert_eq!(ordered.choices[2].finish_reason, FinishReason::Length);
        assert_eq!(
            ordered.choices[1].finish_reason,
            FinishReason::Other("tool_calls".into())
        );
    }
}
