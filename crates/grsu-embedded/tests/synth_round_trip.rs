//! A scoring example's answer, fed to the engine's parser, yields the example's label: in
//! `generate` mode (the model writes the whole answer line) and in `forced` mode (the engine
//! pre-fills `Accept the recommendation (Yes/No)?` and reads one token), with the answer split into
//! tokens by the embedded model's real tokenizer, as a server would return them.
//!
//! The tokenizer comes from the embedded model's GGUF file (fetched as for the embedded-model
//! tests); without it the tokenizer half is skipped outside CI.

use grsu::model::scoring::{
    read_score, scoring_request, Answer, ScoreFormula, ScoringMode, ScoringSettings, ANSWER_PREFIX,
    ANSWER_PREFIX_PIECES,
};
use grsu::model::{Choice, FinishReason, TokenLogprob, TopLogprob};
use grsu::synth::config::ScoreSection;
use grsu::synth::score_examples::{score_examples, ScoreCounts};
use grsu::synth::TrainingExample;
use grsu_embedded::{default_model_dir, default_model_path, fetch_default_model, GgufTokenizer};
use grsu_test_support::demo_samples;

fn demo_examples() -> Vec<TrainingExample> {
    let (catalog, samples) = demo_samples();
    let mut counts = ScoreCounts::default();
    let examples: Vec<TrainingExample> = samples[..3]
        .iter()
        .flat_map(|sample| {
            score_examples(sample, &catalog, &ScoreSection::default(), 0, &mut counts)
        })
        .collect();
    assert!(counts.positives > 0 && counts.negatives == counts.positives);
    examples
}

fn label(example: &TrainingExample) -> Answer {
    match example.meta.answer.as_deref() {
        Some("Yes") => Answer::Yes,
        Some("No") => Answer::No,
        other => panic!("no answer in the meta: {other:?}"),
    }
}

/// A choice made of `pieces` (token texts), with the server's top alternatives at the Yes/No
/// tokens: the generated answer most likely, the other one less.
fn choice(pieces: &[String]) -> Choice {
    let tokens = pieces
        .iter()
        .map(|piece| {
            let top = match piece.trim() {
                "Yes" | "No" => {
                    let other = if piece.trim() == "Yes" { " No" } else { " Yes" };
                    vec![
                        TopLogprob {
                            token: piece.as_str().into(),
                            logprob: 0.9f64.ln(),
                        },
                        TopLogprob {
                            token: (*other).into(),
                            logprob: 0.05f64.ln(),
                        },
                    ]
                }
                _ => vec![TopLogprob {
                    token: piece.as_str().into(),
                    logprob: -0.01,
                }],
            };
            TokenLogprob {
                token: piece.as_str().into(),
                logprob: top[0].logprob,
                top_logprobs: top,
            }
        })
        .collect();
    Choice {
        text: pieces.concat(),
        finish_reason: FinishReason::Stop,
        logprobs: Some(tokens),
    }
}

#[test]
fn scoring_answers_read_back_as_their_labels_with_vllm_style_pieces() {
    for example in demo_examples() {
        let text = example.target();
        let answer = text.strip_prefix(ANSWER_PREFIX).unwrap();
        // The pieces a vLLM server returns for this text with a Llama-style tokenizer.
        let mut pieces: Vec<String> = ANSWER_PREFIX_PIECES.map(String::from).to_vec();
        pieces.push(answer.to_string());
        assert_eq!(pieces.concat(), text);
        let score = read_score(
            &choice(&pieces),
            ScoringMode::Generate,
            ScoreFormula::Reference,
        )
        .unwrap();
        assert_eq!(score.answer, label(&example), "{text}");
        let forced = read_score(
            &choice(&[answer.to_string()]),
            ScoringMode::Forced,
            ScoreFormula::Reference,
        )
        .unwrap();
        assert_eq!(forced.answer, label(&example));
        // The forced request pre-fills exactly the example's answer up to the Yes/No token.
        let settings = ScoringSettings {
            mode: ScoringMode::Forced,
            ..ScoringSettings::default()
        };
        let request = scoring_request(example.prompt().to_vec(), &settings);
        let prefill = &request.messages.last().unwrap().content;
        assert_eq!(format!("{prefill}{answer}"), text);
        assert_eq!(
            request.messages[..request.messages.len() - 1],
            *example.prompt()
        );
    }
}

fn tokenizer() -> Option<GgufTokenizer> {
    let path = default_model_path();
    let path = if path.is_file() {
        Ok(path)
    } else {
        fetch_default_model(&default_model_dir())
    };
    let read = path.map_err(|error| error.to_string()).and_then(|path| {
        let mut file = std::fs::File::open(&path).map_err(|error| error.to_string())?;
        let content = candle_core::quantized::gguf_file::Content::read(&mut file)
            .map_err(|error| error.to_string())?;
        GgufTokenizer::from_metadata(&content.metadata).map_err(|error| error.to_string())
    });
    match read {
        Ok(tokenizer) => Some(tokenizer),
        Err(error) if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
            panic!("CI=true and the embedded model's tokenizer is unavailable: {error}")
        }
        Err(error) => {
            eprintln!("skipping: the embedded model's tokenizer is unavailable: {error}");
            None
        }
    }
}

#[test]
fn scoring_answers_read_back_as_their_labels_through_the_real_tokenizer() {
    let Some(tokenizer) = tokenizer() else { return };
    let pieces_of = |text: &str| -> Vec<String> {
        tokenizer
            .encode(text)
            .unwrap()
            .into_iter()
            .map(|id| tokenizer.token_text(id).unwrap())
            .collect()
    };
    for example in demo_examples() {
        let text = example.target();
        let pieces = pieces_of(text);
        assert_eq!(pieces.concat(), text);
        let generated = read_score(
            &choice(&pieces),
            ScoringMode::Generate,
            ScoreFormula::Reference,
        )
        .unwrap();
        assert_eq!(generated.answer, label(&example), "{pieces:?}");
        assert_eq!(generated.position, pieces.len() - 1);
        // Forced mode: the pre-fill's tokens are a prefix of the answer's, and what is left is the
        // one token the engine reads.
        let prefix = pieces_of(ANSWER_PREFIX);
        assert_eq!(pieces[..prefix.len()], prefix[..], "{pieces:?}");
        let rest = &pieces[prefix.len()..];
        assert_eq!(rest.len(), 1, "{rest:?}");
        let forced =
            read_score(&choice(rest), ScoringMode::Forced, ScoreFormula::Reference).unwrap();
        assert_eq!(forced.answer, label(&example));
    }
}
