//! Exact Yes/No probabilities through vLLM's `logprob_token_ids`: the simulator's `/tokenize` and
//! its answer to the parameter, read by the engine's client, scorer and doctor; and the fallback
//! to the top logprobs where a server (an older vLLM) has neither.

mod common;

use std::time::Duration;

use grsu::model::doctor::{diagnose, Capability, Check};
use grsu::model::http::HttpEndpoint;
use grsu::model::scoring::{
    read_score_via, scoring_request, scoring_request_with_ids, ScoreFormula, ScorePath,
    ScoringMode, ScoringSettings, YesNoTokenIds,
};
use grsu::model::token_ids::{YesNoTokenIdsSetting, YesNoTokenIdsSource};
use grsu::model::{Backend, ModelError};
use grsu::prompts::score_messages;
use sim_vllm::tokens::vocab_id;

fn endpoint(url: &str) -> HttpEndpoint {
    HttpEndpoint {
        url: url.to_string(),
        model: "sim".into(),
        api_key: None,
        timeout: Duration::from_secs(10),
        ca_file: None,
    }
}

#[tokio::test]
async fn tokenize_gives_the_answer_ids_and_named_ids_read_exactly_in_both_modes() {
    let fleet = common::fleet(|_| {}).await;
    let world = fleet.config().world.clone();
    let catalog = world.catalog();
    let client = common::backend(&fleet[0].url(), Duration::from_secs(10));

    let ids = client.yes_no_token_ids().await.unwrap();
    assert_eq!(ids.yes, vec![vocab_id(" Yes"), vocab_id("Yes")]);
    assert_eq!(ids.no, vec![vocab_id(" No"), vocab_id("No")]);
    // Without special tokens (no `<|begin_of_text|>` in front).
    assert_eq!(
        client.tokenize(" Yes").await.unwrap(),
        vec![vocab_id(" Yes")]
    );
    let auto =
        YesNoTokenIdsSource::new(YesNoTokenIdsSetting::Auto, Some(endpoint(&fleet[0].url())));
    assert_eq!(auto.ids().await, Some(ids.clone()));

    let sample = &world.samples()[0];
    for offset in 0..6 {
        let item = catalog.item(offset * 17 % catalog.len());
        for mode in [ScoringMode::Forced, ScoringMode::Generate] {
            let settings = ScoringSettings {
                mode,
                ..ScoringSettings::default()
            };
            let messages = score_messages(&sample.sample.history, item, None, true);
            let plain = client
                .chat(&scoring_request(messages.clone(), &settings))
                .await
                .unwrap();
            let named_request = scoring_request_with_ids(messages, &settings, Some(&ids));
            assert_eq!(named_request.logprob_token_ids.len(), 4);
            let named = client.chat(&named_request).await.unwrap();
            let (top_k, top_k_path) = read_score_via(
                &plain.choices[0],
                mode,
                ScoreFormula::Normalized,
                Some(&ids),
            );
            let (exact, exact_path) = read_score_via(
                &named.choices[0],
                mode,
                ScoreFormula::Normalized,
                Some(&ids),
            );
            assert_eq!(top_k_path, ScorePath::TopLogprobs, "{mode:?}");
            assert_eq!(exact_path, ScorePath::TokenIds, "{mode:?}");
            let (top_k, exact) = (top_k.unwrap(), exact.unwrap());
            // The simulator's Yes and No are always among its top alternatives: both paths agree.
            assert!((top_k.p_yes - exact.p_yes).abs() < 1e-12, "{mode:?}");
            assert!((top_k.p_no - exact.p_no).abs() < 1e-12, "{mode:?}");
            assert_eq!(top_k.answer, exact.answer);
            // The named ids replace the top 20: the sampled token and the four ids.
            let at = &named.choices[0].logprobs.as_ref().unwrap()[exact.position];
            assert!(at.top_logprobs.len() <= 5, "{:?}", at.top_logprobs);
        }
    }
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_server_without_the_parameter_falls_back_to_the_top_logprobs() {
    let fleet = common::fleet(|config| config.logprob_token_ids = false).await;
    let world = fleet.config().world.clone();
    let client = common::backend(&fleet[0].url(), Duration::from_secs(10));
    match client.yes_no_token_ids().await {
        Err(ModelError::Rejected { status: 404, .. }) => {}
        other => panic!("expected a 404 from /tokenize, got {other:?}"),
    }
    let auto =
        YesNoTokenIdsSource::new(YesNoTokenIdsSetting::Auto, Some(endpoint(&fleet[0].url())));
    assert_eq!(auto.ids().await, None, "auto is off without /tokenize");

    // Ids written in the config are sent, ignored, and the answer read from the top logprobs.
    let ids = YesNoTokenIds {
        yes: vec![vocab_id(" Yes")],
        no: vec![vocab_id(" No")],
    };
    let settings = ScoringSettings {
        mode: ScoringMode::Forced,
        ..ScoringSettings::default()
    };
    let sample = &world.samples()[1];
    let item = world.catalog().item(3);
    let messages = score_messages(&sample.sample.history, item, None, true);
    let plain = client
        .chat(&scoring_request(messages.clone(), &settings))
        .await
        .unwrap();
    let ignored = client
        .chat(&scoring_request_with_ids(messages, &settings, Some(&ids)))
        .await
        .unwrap();
    assert_eq!(
        ignored.choices[0].logprobs.as_ref().unwrap()[0]
            .top_logprobs
            .len(),
        20
    );
    let (score, path) = read_score_via(
        &ignored.choices[0],
        ScoringMode::Forced,
        ScoreFormula::Reference,
        Some(&ids),
    );
    assert_eq!(path, ScorePath::TopLogprobs);
    let (expected, _) = read_score_via(
        &plain.choices[0],
        ScoringMode::Forced,
        ScoreFormula::Reference,
        None,
    );
    assert_eq!(score.unwrap(), expected.unwrap());
    fleet.shutdown().await;
}

#[tokio::test]
async fn the_doctor_reports_whether_logprob_token_ids_is_served() {
    let serving = common::fleet(|_| {}).await;
    let report = diagnose(&common::backend(&serving[0].url(), Duration::from_secs(10))).await;
    assert_eq!(
        report.check(Capability::LogprobTokenIds),
        Some(&Check::Supported),
        "{report:#?}"
    );
    assert!(report.logprob_token_ids);
    let ids = report.yes_no_token_ids.clone().unwrap();
    assert_eq!(ids.yes, vec![vocab_id(" Yes"), vocab_id("Yes")]);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["checks"]["logprob_token_ids"]["status"], "supported");
    assert_eq!(json["logprob_token_ids"], true);
    serving.shutdown().await;

    let older = common::fleet(|config| config.logprob_token_ids = false).await;
    let report = diagnose(&common::backend(&older[0].url(), Duration::from_secs(10))).await;
    assert!(matches!(
        report.check(Capability::LogprobTokenIds),
        Some(Check::Missing { .. })
    ));
    assert!(!report.logprob_token_ids && report.yes_no_token_ids.is_none());
    // The rest of the scoring checks are unaffected.
    assert!(report.can_serve(ScoringMode::Forced), "{report:#?}");
    older.shutdown().await;
}
