//! Prefix-cache speed-up of the embedded model: 10 scoring prompts that share a ~250-token
//! conversation and differ only in the recommended item at the end, scored one after the other
//! (one forced token each), first with the prefix cache cleared before every prompt (as if there
//! were no cache), then with the cache kept between prompts.
//!
//! `cargo bench -p grsu-embedded --bench embedded_prefix_cache` (needs the model at
//! `default_model_path()`).

use std::time::Instant;

use grsu::model::{ChatMessage, ChatRequest};
use grsu_embedded::{default_model_path, EmbeddedModel};

const ITEMS: [&str; 10] = [
    "Ronin (1998)",
    "Toy Story (1995)",
    "The Godfather (1972)",
    "Amélie (2001)",
    "Inception (2010)",
    "Paddington 2 (2017)",
    "Alien (1979)",
    "Notting Hill (1999)",
    "The Matrix (1999)",
    "Spirited Away (2001)",
];

fn request(item: &str) -> ChatRequest {
    let mut request = ChatRequest::new(vec![
        ChatMessage::system(
            "You are the user looking for film recommendations. For each recommendation, answer \
             \"Accept the recommendation (Yes/No)? X\", where X is either \"Yes\" or \"No\".",
        ),
        ChatMessage::user(
            "Hi! I am looking for a film to watch tonight. I love heist thrillers with clever \
             plots, tense standoffs and a strong ensemble cast. I also enjoy crime dramas from \
             the seventies and nineties, especially those with morally grey characters.",
        ),
        ChatMessage::assistant(
            "Great taste! Have you seen Heat (1995)? It has a legendary bank robbery and a \
             tense cat-and-mouse game between a detective and a professional thief.",
        ),
        ChatMessage::user(
            "Yes, Heat is one of my favourites. I rewatch it every year. I don't like animated \
             films or romantic comedies much, and I find most superhero films too noisy. \
             Something slower and smarter would be perfect, ideally with a great score.",
        ),
        ChatMessage::assistant(
            "Understood: smart, slow-burning crime stories, no animation, no romance. Let me \
             suggest a few titles and you tell me whether you would watch them.",
        ),
        ChatMessage::user(format!(
            "Recommendation: {item}. Would you accept it? Please answer in the required format."
        )),
    ]);
    request.max_tokens = 1;
    request.logprobs = true;
    request.top_logprobs = Some(10);
    request
}

fn main() {
    let mut model = EmbeddedModel::load(&default_model_path()).expect("model");
    let requests: Vec<ChatRequest> = ITEMS.iter().map(|item| request(item)).collect();
    let tokens = |request: &ChatRequest| {
        let prompt = model.render_prompt(request).expect("prompt");
        model.tokenizer().encode(&prompt).expect("tokens")
    };
    let (first, second) = (tokens(&requests[0]), tokens(&requests[1]));
    let shared = first
        .iter()
        .zip(&second)
        .take_while(|(a, b)| a == b)
        .count();
    println!(
        "{} prompts of {} tokens, {} shared",
        requests.len(),
        first.len(),
        shared
    );
    // Warm-up (allocations, mask caches).
    model.complete(&requests[0]).expect("complete");
    for (label, keep_cache) in [
        ("without the prefix cache", false),
        ("with the prefix cache", true),
    ] {
        model.clear_prefix_cache();
        let started = Instant::now();
        for request in &requests {
            if !keep_cache {
                model.clear_prefix_cache();
            }
            model.complete(request).expect("complete");
        }
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{label}: {seconds:.2} s for {} prompts ({:.0} ms each)",
            requests.len(),
            seconds * 1e3 / requests.len() as f64
        );
    }
}
