//! [`Recommender`]: the conversational recommender as a policy over a model (Eq. 1): it builds the
//! recommendation and revision prompts, asks for the lists (in one request with `n`, or one request
//! per list as the reference does), parses the answers into titles, maps them onto the catalog, and
//! asks again for the lists that did not hold k distinct items (up to [`CRS_MAX_ATTEMPTS`],
//! temperature 0 then 1 for greedy requests, a new seed each attempt).
//!
//! It asks through [`Ask`], so the engine (through its model actors), synthesis and tests run the
//! same loop.

use std::sync::Arc;

use futures_util::future::join_all;

use crate::catalog::Catalog;
use crate::data::Sample;
use crate::matching::TitleMatcher;
use crate::model::ask::Ask;
use crate::model::context::RequestContext;
use crate::model::role::Role;
use crate::model::usage::Usage;
use crate::model::{ChatMessage, ChatRequest, ModelError};
use crate::prompts::{
    list_stop_sequence, match_list, parse_list, recommend_request, retry_temperature,
    revise_request, validate_list, ListParseMode, CRS_MAX_ATTEMPTS,
};
use crate::search::RequestKey;
use crate::seeds::request_seed;
use crate::store::Origin;

/// One recommendation request of a search.
pub struct RecommendJob {
    pub sample: Arc<Sample>,
    pub run_seed: u64,
    /// The unit of work paying for the answers (see [`crate::store::origin_of`]).
    pub origin: Origin,
    pub key: RequestKey,
    /// The list being revised, if any.
    pub previous: Option<Vec<String>>,
    /// The simulated user's critique of it, if any.
    pub feedback: Option<String>,
    /// Lists wanted.
    pub lists: u32,
    pub temperature: f32,
}

/// The lists obtained (possibly fewer than asked when answers stayed invalid) and their cost.
pub struct RecommendOutcome {
    pub lists: Result<Vec<Vec<String>>, ModelError>,
    pub usage: Usage,
}

/// How the CRS is asked and read (a run's `[crs]` table and list length).
pub struct Recommender {
    pub catalog: Arc<Catalog>,
    pub matcher: Arc<TitleMatcher>,
    /// Items per list (k).
    pub list_length: usize,
    pub parse_mode: ListParseMode,
    pub max_tokens: u32,
    /// Pre-fill of the answer (see `[crs] answer_prefix`).
    pub answer_prefix: Option<String>,
    /// One request with `n` choices per node (else one request per list).
    pub batch_lists: bool,
    /// A stop sequence after the k-th item.
    pub stop_after_list: bool,
}

impl Recommender {
    /// The recommender a run's config asks for, over `catalog`.
    pub fn for_config(config: &crate::config::RunConfig, catalog: Arc<Catalog>) -> Recommender {
        Recommender {
            matcher: Arc::new(TitleMatcher::new(&catalog, config.crs.min_match_score)),
            catalog,
            list_length: config.crs_list_length(),
            parse_mode: config.crs.list_parse,
            max_tokens: config.crs_max_tokens(),
            answer_prefix: config.crs.answer_prefix.clone(),
            batch_lists: config.crs.batch_lists,
            stop_after_list: config.crs.stop_after_list,
        }
    }

    /// The lists of one recommendation request.
    pub async fn recommend(&self, model: &dyn Ask, job: RecommendJob) -> RecommendOutcome {
        // One place for the job's requests (see `Ask::admit`), taken before its prompt is built.
        let _admission = model.admit().await;
        let k = self.list_length;
        let mut messages = match &job.previous {
            None => recommend_request(&job.sample.history, k),
            Some(previous) => {
                revise_request(&job.sample.history, previous, job.feedback.as_deref(), k)
            }
        };
        let prefix = self.answer_prefix.clone().unwrap_or_default();
        if !prefix.is_empty() {
            messages.push(ChatMessage::assistant(prefix.clone()));
        }
        let context = RequestContext::of_unit(Role::Crs, &job.sample.id, job.origin);
        let mut usage = Usage::default();
        let mut lists: Vec<Vec<String>> = Vec::new();
        let path = job.key.path();
        for attempt in 0..CRS_MAX_ATTEMPTS {
            let missing = job.lists as usize - lists.len();
            if missing == 0 {
                break;
            }
            let mut request = ChatRequest::new(messages.clone());
            request.n = missing as u32;
            request.temperature = retry_temperature(job.temperature, attempt);
            request.seed = Some(request_seed(job.run_seed, &job.sample.id, &path, attempt));
            request.max_tokens = self.max_tokens;
            if self.stop_after_list {
                request.stop = list_stop_sequence(k);
            }
            if !prefix.is_empty() {
                request.continue_final_message = true;
                request.add_generation_prompt = false;
            }
            let requests: Vec<ChatRequest> = if self.batch_lists {
                vec![request]
            } else {
                // The reference's way: one request per list, each with its own seed.
                (0..missing)
                    .map(|list| {
                        let mut single = request.clone();
                        single.n = 1;
                        single.seed = Some(request_seed(
                            job.run_seed,
                            &job.sample.id,
                            &format!("{path}#{list}"),
                            attempt,
                        ));
                        single
                    })
                    .collect()
            };
            let answers = join_all(
                requests
                    .into_iter()
                    .map(|request| model.ask(request, context.clone())),
            )
            .await;
            let mut choices = Vec::new();
            for answer in answers {
                match answer {
                    Ok(answer) => {
                        usage.add_answer(&answer);
                        choices.extend(answer.response.choices);
                    }
                    Err(error) => {
                        return RecommendOutcome {
                            lists: Err(error),
                            usage,
                        }
                    }
                }
            }
            for choice in &choices {
                let answer = format!("{prefix}{}", choice.text);
                let titles = match_list(
                    &parse_list(&answer, self.parse_mode),
                    &self.matcher,
                    &self.catalog,
                );
                match validate_list(&titles, k) {
                    Ok(list) if lists.len() < job.lists as usize => lists.push(list),
                    Ok(_) => {}
                    Err(_) => usage.invalid_answers += 1,
                }
            }
        }
        RecommendOutcome {
            lists: Ok(lists),
            usage,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::catalog::{Item, ItemAttributes};
    use crate::data::{Role as Speaker, Turn};
    use crate::model::cached::CachedAnswer;
    use crate::model::ChatResponse;
    use crate::search::RequestKind;

    /// Answers each request with the next scripted text, remembering the requests.
    struct Scripted {
        answers: Mutex<Vec<&'static str>>,
        asked: Mutex<Vec<ChatRequest>>,
    }

    #[async_trait::async_trait]
    impl Ask for Scripted {
        async fn ask(
            &self,
            request: ChatRequest,
            _context: RequestContext,
        ) -> Result<CachedAnswer<ChatResponse>, ModelError> {
            let text = self.answers.lock().unwrap().remove(0);
            self.asked.lock().unwrap().push(request);
            Ok(CachedAnswer::of_text("scripted", text))
        }
    }

    #[tokio::test]
    async fn an_invalid_list_is_asked_again_with_a_new_seed_and_counted() {
        let item = |title: &str| Item {
            title: title.into(),
            attributes: ItemAttributes::default(),
        };
        let catalog = Arc::new(Catalog::from_items([
            item("Heat (1995)"),
            item("Ronin (1998)"),
        ]));
        let recommender = Recommender {
            matcher: Arc::new(TitleMatcher::new(&catalog, None)),
            catalog,
            list_length: 2,
            parse_mode: ListParseMode::Strict,
            max_tokens: 64,
            answer_prefix: None,
            batch_lists: true,
            stop_after_list: true,
        };
        let model = Scripted {
            answers: Mutex::new(vec![
                "1. **Heat (1995)**",
                "1. **Heat (1995)**\n2. **Ronin (1998)**",
            ]),
            asked: Mutex::new(Vec::new()),
        };
        let sample = Arc::new(Sample {
            id: "c:1".into(),
            conversation: "c".into(),
            turn: "1".into(),
            history: vec![Turn {
                role: Speaker::User,
                text: "a heist film?".into(),
            }],
            labels: vec!["Heat (1995)".into()],
        });
        let outcome = recommender
            .recommend(
                &model,
                RecommendJob {
                    sample,
                    run_seed: 0,
                    origin: 7,
                    key: RequestKey::new(RequestKind::Recommend, "root", 0),
                    previous: None,
                    feedback: None,
                    lists: 1,
                    temperature: 0.0,
                },
            )
            .await;
        assert_eq!(
            outcome.lists.unwrap(),
            vec![vec!["Heat (1995)".to_string(), "Ronin (1998)".to_string()]]
        );
        assert_eq!(outcome.usage.invalid_answers, 1);
        let asked = model.asked.lock().unwrap();
        assert_eq!(asked.len(), 2);
        assert_ne!(
            asked[0].seed, asked[1].seed,
            "each attempt has its own seed"
        );
        assert!(asked[1].temperature > 0.0, "greedy, then sampled");
    }
}
