//! Every kind of answer, read over HTTP by the engine's own client and parsers.

mod common;

use std::time::Duration;

use grsu::catalog::Item;
use grsu::matching::TitleMatcher;
use grsu::model::scoring::{
    read_score, scoring_request, ScoreFormula, ScoringMode, ScoringSettings,
};
use grsu::model::{Backend, ChatMessage, ChatRequest, FinishReason};
use grsu::prompts::{
    critique_request, list_stop_sequence, match_list, parse_list, recommend_request,
    revise_request, score_messages, validate_critique, validate_list, ListParseMode,
};

fn crs_request(messages: Vec<ChatMessage>, k: usize, n: u32, seed: u64) -> ChatRequest {
    let mut request = ChatRequest::new(messages);
    request.n = n;
    request.temperature = 1.0;
    request.seed = Some(seed);
    request.max_tokens = 2000;
    request.stop = list_stop_sequence(k);
    request
}

#[tokio::test]
async fn crs_lists_parse_onto_the_catalog_with_labels_sometimes() {
    let fleet = common::fleet(|config| {
        config.behaviour.label_reachability = 1.0;
        config.behaviour.skill = 0.05;
    })
    .await;
    let world = fleet.config().world.clone();
    let catalog = world.catalog();
    let matcher = TitleMatcher::new(catalog, None);
    let client = common::backend(&fleet[0].url(), Duration::from_secs(10));
    let (mut lists, mut label_hits) = (0, 0);
    for (index, sample) in world.samples().iter().enumerate() {
        let request = crs_request(
            recommend_request(&sample.sample.history, 10),
            10,
            4,
            index as u64,
        );
        // chat_once: the server itself must return the n choices.
        let response = client.chat_once(&request).await.unwrap();
        assert_eq!(response.choices.len(), 4);
        assert_eq!(response.model, "sim");
        assert!(response.usage.prompt_tokens > 50 && response.usage.completion_tokens > 40);
        for choice in &response.choices {
            assert_eq!(choice.finish_reason, FinishReason::Stop);
            let titles = match_list(
                &parse_list(&choice.text, ListParseMode::Strict),
                &matcher,
                catalog,
            );
            let list = validate_list(&titles, 10)
                .unwrap_or_else(|error| panic!("{error}: {}", choice.text));
            assert!(list.iter().all(|title| catalog.contains(title)));
            lists += 1;
            label_hits += list
                .iter()
                .filter(|title| sample.sample.labels.contains(title))
                .count();
        }
    }
    assert_eq!(lists, 4 * world.samples().len());
    assert!(
        label_hits > 0 && label_hits < lists,
        "{label_hits} labels in {lists} lists"
    );

    // A revision never repeats the previous list; a pre-filled answer is continued.
    let sample = &world.samples()[0];
    let first = client
        .chat(&crs_request(
            recommend_request(&sample.sample.history, 10),
            10,
            1,
            1,
        ))
        .await
        .unwrap();
    let previous = parse_list(&first.choices[0].text, ListParseMode::Strict);
    let prefix = "Here are my recommendations:\n1. **";
    let mut messages = revise_request(&sample.sample.history, &previous, Some("Too old."), 10);
    messages.push(ChatMessage::assistant(prefix));
    let mut request = crs_request(messages, 10, 1, 2);
    request.continue_final_message = true;
    request.add_generation_prompt = false;
    let revised = client.chat(&request).await.unwrap();
    let text = format!("{prefix}{}", revised.choices[0].text);
    let titles = match_list(&parse_list(&text, ListParseMode::Strict), &matcher, catalog);
    let list = validate_list(&titles, 10).unwrap();
    assert!(list.iter().all(|title| !previous.contains(title)), "{text}");

    // The zero-shot / Monte Carlo list of 50; a small budget cuts the answer.
    let long = client
        .chat(&crs_request(
            recommend_request(&sample.sample.history, 50),
            50,
            1,
            3,
        ))
        .await
        .unwrap();
    let titles = match_list(
        &parse_list(&long.choices[0].text, ListParseMode::Strict),
        &matcher,
        catalog,
    );
    assert_eq!(validate_list(&titles, 50).unwrap().len(), 50);
    let mut short = crs_request(recommend_request(&sample.sample.history, 10), 10, 1, 4);
    short.max_tokens = 20;
    let cut = client.chat(&short).await.unwrap();
    assert_eq!(cut.choices[0].finish_reason, FinishReason::Length);
    assert_eq!(cut.usage.completion_tokens, 20);
    assert!(validate_list(&parse_list(&cut.choices[0].text, ListParseMode::Strict), 10).is_err());

    // Greedy requests do not depend on the seed; sampled ones do, and n = 2 equals seeds s, s + 1.
    let mut greedy = crs_request(recommend_request(&sample.sample.history, 10), 10, 1, 5);
    greedy.temperature = 0.0;
    let a = client.chat(&greedy).await.unwrap();
    greedy.seed = Some(6);
    assert_eq!(a.choices, client.chat(&greedy).await.unwrap().choices);
    let pair = client
        .chat_once(&crs_request(
            recommend_request(&sample.sample.history, 10),
            10,
            2,
            7,
        ))
        .await
        .unwrap();
    let second = client
        .chat_once(&crs_request(
            recommend_request(&sample.sample.history, 10),
            10,
            1,
            8,
        ))
        .await
        .unwrap();
    assert_eq!(pair.choices[1], second.choices[0]);
    assert_ne!(pair.choices[0], pair.choices[1]);
    fleet.shutdown().await;
}

fn items<'a>(catalog: &'a grsu::catalog::Catalog, titles: &[String]) -> Vec<&'a Item> {
    titles
        .iter()
        .filter_map(|title| catalog.index_of(title).map(|index| catalog.item(index)))
        .collect()
}

#[tokio::test]
async fn critiques_are_valid_and_name_label_attributes() {
    let fleet = common::fleet(|_| {}).await;
    let world = fleet.config().world.clone();
    let client = common::backend(&fleet[0].url(), Duration::from_secs(10));
    let (mut critiques, mut informative) = (0, 0);
    for (index, sample) in world.samples().iter().enumerate() {
        let shown: Vec<String> = world.catalog().items()[index..index + 5]
            .iter()
            .map(|item| item.title.clone())
            .collect();
        let shown = items(world.catalog(), &shown);
        let mut request = ChatRequest::new(critique_request(&sample.sample.history, &shown, true));
        request.n = 3;
        request.temperature = 1.0;
        request.seed = Some(index as u64);
        request.max_tokens = 64;
        let response = client.chat(&request).await.unwrap();
        assert_eq!(response.choices.len(), 3);
        for choice in &response.choices {
            let text = validate_critique(choice).unwrap();
            critiques += 1;
            if sample.mentions_label_attribute(&text) {
                informative += 1;
            }
        }
    }
    // Informativeness 0.8 (a generic critique may name a label's attribute by chance too).
    assert!(
        informative * 10 > critiques * 6,
        "{informative} of {critiques}"
    );
    // A critique cut by the length limit is invalid, as the engine expects.
    let sample = &world.samples()[0];
    let shown = items(world.catalog(), &sample.sample.labels);
    let mut request = ChatRequest::new(critique_request(&sample.sample.history, &shown, true));
    request.max_tokens = 3;
    let cut = client.chat(&request).await.unwrap();
    assert!(validate_critique(&cut.choices[0]).is_err());
    fleet.shutdown().await;
}

#[tokio::test]
async fn scores_read_back_in_both_modes_and_favour_labels() {
    let fleet = common::fleet(|_| {}).await;
    let world = fleet.config().world.clone();
    let catalog = world.catalog();
    let client = common::backend(&fleet[0].url(), Duration::from_secs(10));
    let (mut labels, mut others) = (Vec::new(), Vec::new());
    for (index, sample) in world.samples().iter().enumerate() {
        let mut asked: Vec<(&Item, bool)> = items(catalog, &sample.sample.labels)
            .into_iter()
            .map(|item| (item, true))
            .collect();
        for offset in 0..4 {
            let item = catalog.item((index * 7 + offset * 13) % catalog.len());
            if !sample.sample.labels.contains(&item.title) {
                asked.push((item, false));
            }
        }
        for (item, is_label) in asked {
            let mut scores = Vec::new();
            for mode in [ScoringMode::Forced, ScoringMode::Generate] {
                let settings = ScoringSettings {
                    mode,
                    ..ScoringSettings::default()
                };
                let request = scoring_request(
                    score_messages(&sample.sample.history, item, None, true),
                    &settings,
                );
                let response = client.chat(&request).await.unwrap();
                let choice = &response.choices[0];
                let expected_tokens = if mode == ScoringMode::Forced { 1 } else { 12 };
                assert_eq!(
                    response.usage.completion_tokens, expected_tokens,
                    "{}",
                    choice.text
                );
                assert_eq!(choice.logprobs.as_ref().unwrap()[0].top_logprobs.len(), 20);
                let score = read_score(choice, mode, ScoreFormula::Normalized).unwrap();
                read_score(choice, mode, ScoreFormula::Reference).unwrap();
                scores.push(score);
            }
            // The two modes see the same probabilities.
            assert!((scores[0].p_yes - scores[1].p_yes).abs() < 1e-12);
            assert_eq!(scores[0].answer, scores[1].answer);
            if is_label {
                labels.push(scores[0].score);
            } else {
                others.push(scores[0].score);
            }
        }
    }
    let mean = |scores: &[f64]| scores.iter().sum::<f64>() / scores.len() as f64;
    assert!(labels.len() >= 10 && others.len() >= 30);
    assert!(
        mean(&labels) > mean(&others) + 0.15,
        "labels {} vs others {}",
        mean(&labels),
        mean(&others)
    );
    // Ranking by score puts a label above a non-label more often than not (AUC).
    let wins = labels
        .iter()
        .flat_map(|label| others.iter().map(move |other| (label > other) as u32))
        .sum::<u32>();
    assert!(wins as f64 / (labels.len() * others.len()) as f64 > 0.7);
    fleet.shutdown().await;
}

#[tokio::test]
async fn grsu_doctor_finds_every_capability() {
    let fleet = common::fleet(|_| {}).await;
    let report =
        grsu::model::doctor::diagnose(&common::backend(&fleet[0].url(), Duration::from_secs(5)))
            .await;
    assert!(report.reachable && report.model_listed, "{report:?}");
    assert_eq!(report.max_top_logprobs, Some(20));
    assert!(
        report.honours_n && report.continue_final_message,
        "{report:?}"
    );
    assert!(report.can_serve(ScoringMode::Forced));
    fleet.shutdown().await;
}

#[tokio::test]
async fn usage_reports_cached_tokens_like_vllm() {
    let fleet = common::fleet(|_| {}).await;
    let world = fleet.config().world.clone();
    let sample = &world.samples()[0];
    let body = serde_json::json!({
        "model": "sim",
        "messages": recommend_request(&sample.sample.history, 10),
        "seed": 1,
        "max_tokens": 300,
    });
    let client = reqwest::Client::new();
    let url = format!("{}/chat/completions", fleet[0].url());
    let mut cached = Vec::new();
    for _ in 0..2 {
        let text = client
            .post(&url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["object"], "chat.completion");
        let content = value["choices"][0]["message"]["content"].as_str().unwrap();
        assert!(
            content.starts_with("1. **") || content.starts_with("Here are"),
            "{content}"
        );
        cached.push(
            value["usage"]["prompt_tokens_details"]["cached_tokens"]
                .as_u64()
                .unwrap(),
        );
    }
    assert_eq!(cached[0], 0);
    assert!(cached[1] > 0 && cached[1] % 16 == 0);
    let stats = fleet[0].stats();
    assert_eq!(stats.cached_tokens, cached[1]);
    assert!(stats.prefix_cache_hit_rate > 0.0 && stats.prefix_cache_hit_rate < 0.5);
    // The statistics endpoint serves the same counters.
    let served = client
        .get(format!("http://{}/sim/stats", fleet[0].address()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let served: serde_json::Value = serde_json::from_str(&served).unwrap();
    assert_eq!(served["cached_tokens"], cached[1]);
    assert_eq!(served["by_kind"]["crs"], 2);
    fleet.shutdown().await;
}
