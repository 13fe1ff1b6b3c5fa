//! Model responses shaped like those of a paper-setting sweep, for filling stores in tests and
//! benchmarks: per sample ~835 calls, of which ~800 score one item (one token, 20 alternatives,
//! log-probabilities that are float32 values as vLLM returns them), and the rest are the CRS's
//! lists of ten titles and the simulated user's critiques.

use std::path::Path;

use grsu::model::{
    ChatMessage, ChatRequest, ChatResponse, Choice, FinishReason, TokenLogprob, TopLogprob, Usage,
};

/// A distinct scoring request per index (sample `index / 835`, item `index % 835`): what a store
/// files the `index`-th response under.
pub fn paper_mix_request(index: u64) -> ChatRequest {
    let mut request = ChatRequest::new(vec![ChatMessage::user(format!(
        "Sample {} item {}: Accept the recommendation (Yes/No)?",
        index / 835,
        index % 835
    ))]);
    request.max_tokens = 1;
    request.logprobs = true;
    request.top_logprobs = Some(20);
    request
}

/// The bytes the files under `folder` take on disk (allocated blocks, not lengths).
pub fn disk_bytes(folder: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::read_dir(folder)
        .expect("a folder")
        .flatten()
        .map(|entry| {
            let metadata = entry.metadata().expect("metadata");
            if metadata.is_dir() {
                disk_bytes(&entry.path())
            } else {
                metadata.blocks() * 512
            }
        })
        .sum()
}

/// What the `index`-th response of a sweep looks like: a score most of the time, now and then a
/// list or a critique (the paper setting's mix), its contents varied by `index`.
pub fn paper_mix_response(index: u64) -> ChatResponse {
    match index % 24 {
        0 => list_response(index),
        1 => critique_response(index),
        _ => score_response(index),
    }
}

/// A scoring answer: " Yes" or " No", with 20 alternatives.
pub fn score_response(index: u64) -> ChatResponse {
    let mut random = SplitMix(index.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5C0E);
    let yes = !random.next().is_multiple_of(3);
    let p_yes = f64::from(quantised(0.05 + 0.9 * random.unit()));
    let (first, second) = if yes {
        (" Yes", " No")
    } else {
        (" No", " Yes")
    };
    let (first_p, second_p) = if yes {
        (p_yes.max(0.5), 1.0 - p_yes.max(0.5))
    } else {
        (1.0 - p_yes.min(0.5), p_yes.min(0.5))
    };
    let mut top = vec![
        TopLogprob {
            token: first.into(),
            logprob: f64::from(quantised(first_p.ln())),
        },
        TopLogprob {
            token: second.into(),
            logprob: f64::from(quantised((second_p.max(1e-6)).ln())),
        },
    ];
    let mut logprob = top[1].logprob;
    for alternative in ALTERNATIVES.iter().take(18) {
        logprob -= 0.5 + 3.0 * random.unit();
        top.push(TopLogprob {
            token: (*alternative).into(),
            logprob: f64::from(quantised(logprob)),
        });
    }
    ChatResponse {
        model: "grsu-user".into(),
        choices: vec![Choice {
            text: first.into(),
            finish_reason: FinishReason::Length,
            logprobs: Some(vec![TokenLogprob {
                token: first.into(),
                logprob: top[0].logprob,
                top_logprobs: top,
            }]),
        }],
        usage: Usage {
            prompt_tokens: 600 + random.next() % 400,
            completion_tokens: 1,
        },
    }
}

/// A CRS answer: a numbered list of ten titles.
pub fn list_response(index: u64) -> ChatResponse {
    let mut random = SplitMix(index ^ 0x115E);
    let text = (1..=10)
        .map(|rank| {
            let title = TITLES[(random.next() % TITLES.len() as u64) as usize];
            let year = 1950 + random.next() % 70;
            format!("{rank}. {title} ({year})")
        })
        .collect::<Vec<_>>()
        .join("\n");
    text_response("phi-4", text, 900 + random.next() % 600, 120)
}

/// A simulated user's critique of a list: a sentence or two about attributes.
pub fn critique_response(index: u64) -> ChatResponse {
    let mut random = SplitMix(index ^ 0xC417);
    let mut words = Vec::new();
    for _ in 0..(30 + random.next() % 20) {
        words.push(CRITIQUE_WORDS[(random.next() % CRITIQUE_WORDS.len() as u64) as usize]);
    }
    let text = format!("{}.", words.join(" "));
    text_response("grsu-user", text, 1_100 + random.next() % 500, 60)
}

fn text_response(model: &str, text: String, prompt_tokens: u64, completion: u64) -> ChatResponse {
    ChatResponse {
        model: model.into(),
        choices: vec![Choice {
            text,
            finish_reason: FinishReason::Stop,
            logprobs: None,
        }],
        usage: Usage {
            prompt_tokens,
            completion_tokens: completion,
        },
    }
}

/// A value as a float32 logit carries it (what vLLM's logprobs are).
fn quantised(value: f64) -> f32 {
    value as f32
}

const ALTERNATIVES: [&str; 18] = [
    " yes",
    " no",
    "Yes",
    "No",
    " Maybe",
    " YES",
    " I",
    " The",
    " It",
    " Not",
    " Sure",
    " Absolutely",
    " Definitely",
    " Perhaps",
    " Y",
    " N",
    "\n",
    " Probably",
];

const TITLES: [&str; 12] = [
    "The Shawshank Redemption",
    "Inception",
    "Am\u{e9}lie",
    "The Grand Budapest Hotel",
    "Mad Max: Fury Road",
    "Spirited Away",
    "Heat",
    "The Princess Bride",
    "Get Out",
    "Paddington 2",
    "Alien",
    "Before Sunrise",
];

const CRITIQUE_WORDS: [&str; 24] = [
    "I",
    "would",
    "like",
    "something",
    "less",
    "violent",
    "and",
    "more",
    "romantic",
    "with",
    "a",
    "lighter",
    "tone",
    "maybe",
    "from",
    "the",
    "nineties",
    "comedy",
    "drama",
    "not",
    "animated",
    "directed",
    "by",
    "thriller",
];

/// A small deterministic generator (SplitMix64), enough to vary the responses.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}
