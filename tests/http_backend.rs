//! The OpenAI-compatible HTTP backend against an in-process server replaying real response bodies
//! (shared/fixtures/openai) and scripted faults.

use std::time::{Duration, Instant};

use grsu::model::http::{HttpBackend, HttpEndpoint};
use grsu::model::scoring::{read_score, ScoreFormula, ScoringMode};
use grsu::model::{Backend, ChatMessage, ChatRequest, ModelError};
use grsu_test_support::{shared_fixtures, Reply, ScriptedServer};

fn fixture(name: &str) -> Option<String> {
    let text = std::fs::read_to_string(shared_fixtures()?.join("openai").join(name)).unwrap();
    // The `.txt` captures end with the HTTP status line.
    Some(match text.rfind("\nHTTP ") {
        Some(at) if name.ends_with(".txt") => text[..at].trim().to_string(),
        _ => text,
    })
}

fn backend(server: &ScriptedServer, timeout: Duration) -> HttpBackend {
    HttpBackend::new(HttpEndpoint {
        url: server.url(),
        model: "grsu-user".into(),
        api_key: Some("secret-key".into()),
        timeout,
        ca_file: None,
    })
    .unwrap()
}

fn request(n: u32) -> ChatRequest {
    let mut request = ChatRequest::new(vec![ChatMessage::user("Would you watch Heat (1995)?")]);
    request.n = n;
    request.seed = Some(41);
    request.logprobs = true;
    request.top_logprobs = Some(3);
    request
}

#[tokio::test]
async fn vllm_body_with_two_choices_parses_and_scores() {
    let Some(body) = fixture("vllm_chat_n2_logprobs.json") else {
        return;
    };
    let server = ScriptedServer::start(vec![Reply::Body(200, body)], None).await;
    let response = backend(&server, Duration::from_secs(5))
        .chat(&request(2))
        .await
        .unwrap();
    assert_eq!(response.model, "grsu-user");
    assert_eq!(response.choices.len(), 2);
    assert_eq!(response.usage.prompt_tokens, 412);
    let first = read_score(
        &response.choices[0],
        ScoringMode::Forced,
        ScoreFormula::Reference,
    )
    .unwrap();
    assert!((first.score - (-0.1625f64).exp()).abs() < 1e-12);
    let second = read_score(
        &response.choices[1],
        ScoringMode::Forced,
        ScoreFormula::Reference,
    )
    .unwrap();
    // " No" at -0.4375 and the clamped "No" at -9999 both read as No.
    assert!((second.score - (1.0 - (-0.4375f64).exp() - (-9999f64).exp())).abs() < 1e-12);
    // What was sent: the model, n, the seed, logprobs; vLLM extras only when not defaults.
    let (path, sent) = &server.received()[0];
    assert_eq!(path, "/v1/chat/completions");
    let sent: serde_json::Value = serde_json::from_str(sent).unwrap();
    assert_eq!(sent["model"], "grsu-user");
    assert_eq!(sent["n"], 2);
    assert_eq!(sent["seed"], 41);
    assert!(
        sent.get("continue_final_message").is_none() && sent.get("add_generation_prompt").is_none()
    );
}

#[tokio::test]
async fn llamacpp_ignoring_n_is_topped_up_with_child_seeds() {
    let Some(body) = fixture("llamacpp_chat_n3_returns_one.json") else {
        return;
    };
    let server = ScriptedServer::start(vec![], Some(Reply::Body(200, body))).await;
    let response = backend(&server, Duration::from_secs(5))
        .chat(&request(3))
        .await
        .unwrap();
    assert_eq!(response.choices.len(), 3);
    assert_eq!(response.usage.completion_tokens, 36);
    let sent: Vec<serde_json::Value> = server
        .received()
        .iter()
        .map(|(_, body)| serde_json::from_str(body).unwrap())
        .collect();
    let asked: Vec<(u64, u64)> = sent
        .iter()
        .map(|body| (body["n"].as_u64().unwrap(), body["seed"].as_u64().unwrap()))
        .collect();
    assert_eq!(asked, vec![(3, 41), (2, 42), (1, 43)]);
}

#[tokio::test]
async fn llamacpp_logprob_bodies_score_tokens_without_leading_space() {
    let Some(yes) = fixture("llamacpp_chat_logprobs.json") else {
        return;
    };
    let no = fixture("llamacpp_chat_generate_logprobs.json").unwrap();
    let server =
        ScriptedServer::start(vec![Reply::Body(200, yes), Reply::Body(200, no)], None).await;
    let client = backend(&server, Duration::from_secs(5));
    let first = client.chat(&request(1)).await.unwrap();
    let score = read_score(
        &first.choices[0],
        ScoringMode::Forced,
        ScoreFormula::Normalized,
    )
    .unwrap();
    let (p_yes, p_no) = (
        (-1.2907979488372803f64).exp(),
        (-1.3305089473724365f64).exp(),
    );
    assert!((score.score - p_yes / (p_yes + p_no)).abs() < 1e-12);
    let second = client.chat(&request(1)).await.unwrap();
    let score = read_score(
        &second.choices[0],
        ScoringMode::Forced,
        ScoreFormula::Reference,
    )
    .unwrap();
    assert!((score.score - (1.0 - (-1.3658013343811035f64).exp())).abs() < 1e-12);
}

#[tokio::test]
async fn error_bodies_of_every_shape_are_classified() {
    let Some(vllm) = fixture("vllm_error_400.json") else {
        return;
    };
    let legacy = fixture("vllm_error_400_flat_legacy.json").unwrap();
    let llamacpp = fixture("llamacpp_error_bad_request.txt").unwrap();
    let server = ScriptedServer::start(
        vec![
            Reply::Body(400, vllm),
            Reply::Body(400, legacy),
            Reply::Body(500, llamacpp),
            Reply::Body(503, "upstream overloaded".into()),
        ],
        None,
    )
    .await;
    let client = backend(&server, Duration::from_secs(5));
    match client.chat(&request(1)).await.unwrap_err() {
        ModelError::Rejected {
            status: 400,
            message,
            ..
        } => assert!(message.contains("max allowed: 20"), "{message}"),
        other => panic!("unexpected {other:?}"),
    }
    match client.chat(&request(1)).await.unwrap_err() {
        ModelError::Rejected {
            status: 400,
            message,
            ..
        } => assert!(message.contains("maximum context length"), "{message}"),
        other => panic!("unexpected {other:?}"),
    }
    let validation = client.chat(&request(1)).await.unwrap_err();
    assert!(
        matches!(validation, ModelError::Rejected { status: 500, .. }),
        "{validation:?}"
    );
    assert!(!validation.is_retryable());
    let overloaded = client.chat(&request(1)).await.unwrap_err();
    assert!(
        matches!(overloaded, ModelError::Server { status: 503, .. }),
        "{overloaded:?}"
    );
    assert!(overloaded.is_retryable());
}

#[tokio::test]
async fn hung_reset_malformed_and_dead_endpoints_give_retryable_errors() {
    let server = ScriptedServer::start(
        vec![
            Reply::Hang,
            Reply::Reset,
            Reply::Body(200, "{\"choices\": [{\"mess".into()),
        ],
        None,
    )
    .await;
    let client = backend(&server, Duration::from_millis(300));
    let started = Instant::now();
    let hung = client.chat(&request(1)).await.unwrap_err();
    assert!(matches!(hung, ModelError::Timeout { .. }), "{hung:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    let reset = client.chat(&request(1)).await.unwrap_err();
    assert!(matches!(reset, ModelError::Connection { .. }), "{reset:?}");
    let malformed = client.chat(&request(1)).await.unwrap_err();
    assert!(
        matches!(malformed, ModelError::Malformed { .. }),
        "{malformed:?}"
    );
    for error in [&hung, &reset, &malformed] {
        assert!(error.is_retryable());
    }
    // Nothing listens on this port any more.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let dead = HttpBackend::new(HttpEndpoint {
        url: format!("http://127.0.0.1:{port}"),
        model: "m".into(),
        api_key: None,
        timeout: Duration::from_secs(2),
        ca_file: None,
    })
    .unwrap();
    let refused = dead.chat(&request(1)).await.unwrap_err();
    assert!(
        matches!(refused, ModelError::Connection { .. }),
        "{refused:?}"
    );
    assert!(!refused.to_string().contains("secret-key"));
}

#[tokio::test]
async fn models_listing_and_identity_ignore_the_url() {
    let Some(models) = fixture("llamacpp_models.txt") else {
        return;
    };
    let server = ScriptedServer::start(vec![Reply::Body(200, models)], None).await;
    let client = backend(&server, Duration::from_secs(5));
    assert_eq!(
        client.list_models().await.unwrap(),
        vec!["models/SmolLM2-135M-Instruct.Q4_1.gguf".to_string()]
    );
    assert_eq!(client.identity(), "openai:grsu-user");
}

/// A vLLM-shaped forced-scoring answer whose first token is `sampled` with `top` as its
/// `top_logprobs`.
fn forced_answer(sampled: (&str, f64), top: &[(&str, f64)]) -> String {
    let entry = |(token, logprob): (&str, f64)| serde_json::json!({"token": token, "logprob": logprob, "bytes": token.as_bytes()});
    let mut first = entry(sampled);
    first["top_logprobs"] = top.iter().map(|pair| entry(*pair)).collect();
    serde_json::json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "grsu-user",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": sampled.0},
                     "logprobs": {"content": [first]}, "finish_reason": "length",
                     "stop_reason": null}],
        "usage": {"prompt_tokens": 40, "total_tokens": 41, "completion_tokens": 1}
    })
    .to_string()
}

#[tokio::test]
async fn yes_no_token_ids_give_exact_probabilities_when_yes_is_not_in_the_top_k() {
    use grsu::model::scoring::{
        read_score_via, scoring_request, scoring_request_with_ids, ScorePath, ScoringSettings,
    };
    let tokens = |ids: &[u32]| {
        Reply::Body(200, serde_json::json!({"count": ids.len(), "max_model_len": 4096, "tokens": ids, "token_strs": null}).to_string())
    };
    let (maybe, sure) = (0.9f64, 0.05f64);
    let server = ScriptedServer::start(
        vec![
            // /tokenize of " Yes", "Yes", " No", "No" ("No" is two tokens here: left out).
            tokens(&[7566]),
            tokens(&[9642]),
            tokens(&[2360]),
            tokens(&[2822, 11]),
            // The top-2 answer: neither Yes nor No among them.
            Reply::Body(
                200,
                forced_answer(
                    (" Maybe", maybe.ln()),
                    &[(" Maybe", maybe.ln()), (" Sure", sure.ln())],
                ),
            ),
            // The answer naming the ids: the sampled token and each id's logprob.
            Reply::Body(
                200,
                forced_answer(
                    (" Maybe", maybe.ln()),
                    &[
                        (" Maybe", maybe.ln()),
                        (" Yes", 0.012f64.ln()),
                        ("Yes", 0.003f64.ln()),
                        (" No", 0.02f64.ln()),
                    ],
                ),
            ),
        ],
        None,
    )
    .await;
    let client = backend(&server, Duration::from_secs(5));
    let ids = client.yes_no_token_ids().await.unwrap();
    assert_eq!(
        (ids.yes.clone(), ids.no.clone()),
        (vec![7566, 9642], vec![2360])
    );
    let settings = ScoringSettings {
        mode: ScoringMode::Forced,
        top_logprobs: 2,
        ..ScoringSettings::default()
    };
    let messages = vec![ChatMessage::user("Would you watch Heat (1995)?")];
    let plain = client
        .chat(&scoring_request(messages.clone(), &settings))
        .await
        .unwrap();
    let (unread, path) = read_score_via(
        &plain.choices[0],
        ScoringMode::Forced,
        ScoreFormula::Normalized,
        Some(&ids),
    );
    assert!(unread.is_err());
    assert_eq!(path, ScorePath::Unreadable);
    let named = client
        .chat(&scoring_request_with_ids(messages, &settings, Some(&ids)))
        .await
        .unwrap();
    let (score, path) = read_score_via(
        &named.choices[0],
        ScoringMode::Forced,
        ScoreFormula::Normalized,
        Some(&ids),
    );
    assert_eq!(path, ScorePath::TokenIds);
    let score = score.unwrap();
    assert!((score.p_yes - 0.015).abs() < 1e-12 && (score.p_no - 0.02).abs() < 1e-12);
    assert!((score.score - 0.015 / 0.035).abs() < 1e-12);

    let received = server.received();
    assert_eq!(received.len(), 6);
    for (path, body) in &received[..4] {
        assert!(
            path.ends_with("/tokenize") && !path.contains("/v1/"),
            "{path}"
        );
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["model"], "grsu-user");
        assert_eq!(body["add_special_tokens"], false);
    }
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&received[3].1).unwrap()["prompt"],
        "No"
    );
    // Without ids the body is what it always was; with them it names the ids.
    assert!(
        !received[4].1.contains("logprob_token_ids"),
        "{}",
        received[4].1
    );
    let sent: serde_json::Value = serde_json::from_str(&received[5].1).unwrap();
    assert_eq!(
        sent["logprob_token_ids"],
        serde_json::json!([7566, 9642, 2360])
    );
    assert_eq!(sent["logprobs"], true);
}

#[test]
fn every_real_server_body_reads_as_the_wire_types_read_it() {
    let Some(fixtures) = shared_fixtures() else {
        return;
    };
    let mut read = 0;
    for entry in std::fs::read_dir(fixtures.join("openai")).unwrap() {
        let path = entry.unwrap().path();
        if path
            .extension()
            .is_some_and(|extension| extension == "json")
        {
            let body = std::fs::read_to_string(&path).unwrap();
            let wire = serde_json::from_str::<grsu::model::http::WireResponse>(&body)
                .map(grsu::model::http::WireResponse::into_response);
            match (wire, grsu::model::http::read_response(&body)) {
                (Ok(wire), Ok(response)) => {
                    assert_eq!(response, wire, "{}", path.display());
                    read += 1;
                }
                (Err(_), Err(_)) => {}
                (wire, response) => panic!("{}: {wire:?} against {response:?}", path.display()),
            }
        }
    }
    assert!(read >= 3, "{read} chat bodies among the fixtures");
}
