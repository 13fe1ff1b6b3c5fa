//! [`CrsActor`]: the conversational recommender (Eq. 1): builds the recommendation and revision
//! prompts, parses the answers into titles, maps them onto the catalog, and asks again for answers
//! that do not hold exactly k items (up to 5 attempts, temperature 0 then 1 for greedy requests).

use std::sync::Arc;

use futures_util::future::join_all;
use grsu::catalog::Catalog;
use grsu::data::Sample;
use grsu::matching::TitleMatcher;
use grsu::model::{ChatRequest, ModelError};
use grsu::prompts::{
    list_stop_sequence, match_list, parse_list, recommend_request, retry_temperature,
    revise_request, validate_list, ListParseMode, CRS_MAX_ATTEMPTS,
};
use grsu::search::RequestKey;
use grsu::seeds::request_seed;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use grsu::model::role::Role;

use super::model_actor::{ask, unit_context, ModelMessage};
use super::usage::Usage;

/// One recommendation request of a search.
pub struct RecommendJob {
    pub sample: Arc<Sample>,
    pub run_seed: u64,
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

/// Messages of the [`CrsActor`].
pub enum CrsMessage {
    /// Recommend `job.lists` lists.
    Recommend {
        job: RecommendJob,
        reply: RpcReplyPort<RecommendOutcome>,
    },
}

/// What a [`CrsActor`] is started with.
pub struct CrsArguments {
    /// The key of the search these requests belong to (with seed and sample: the origin of
    /// what they pay for in the response cache).
    pub search_key: String,
    pub model: ActorRef<ModelMessage>,
    pub catalog: Arc<Catalog>,
    pub matcher: Arc<TitleMatcher>,
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

/// The shared settings of every recommendation task.
pub struct CrsState {
    settings: Arc<CrsArguments>,
}

/// The conversational recommender.
pub struct CrsActor;

impl Actor for CrsActor {
    type Msg = CrsMessage;
    type State = CrsState;
    type Arguments = CrsArguments;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        arguments: CrsArguments,
    ) -> Result<CrsState, ActorProcessingErr> {
        Ok(CrsState {
            settings: Arc::new(arguments),
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: CrsMessage,
        state: &mut CrsState,
    ) -> Result<(), ActorProcessingErr> {
        let CrsMessage::Recommend { job, reply } = message;
        let settings = state.settings.clone();
        tokio::spawn(async move {
            let _ = reply.send(recommend(&settings, job).await);
        });
        Ok(())
    }
}

async fn recommend(settings: &CrsArguments, job: RecommendJob) -> RecommendOutcome {
    let k = settings.list_length;
    let mut messages = match &job.previous {
        None => recommend_request(&job.sample.history, k),
        Some(previous) => revise_request(&job.sample.history, previous, job.feedback.as_deref(), k),
    };
    let prefix = settings.answer_prefix.clone().unwrap_or_default();
    if !prefix.is_empty() {
        messages.push(grsu::model::ChatMessage::assistant(prefix.clone()));
    }
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
        request.max_tokens = settings.max_tokens;
        if settings.stop_after_list {
            request.stop = list_stop_sequence(k);
        }
        if !prefix.is_empty() {
            request.continue_final_message = true;
            request.add_generation_prompt = false;
        }
        let requests: Vec<ChatRequest> = if settings.batch_lists {
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
        let answers = join_all(requests.into_iter().map(|request| {
            ask(
                &settings.model,
                request,
                unit_context(
                    &settings.search_key,
                    job.run_seed,
                    &job.sample.id,
                    Role::Crs,
                ),
            )
        }))
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
                &parse_list(&answer, settings.parse_mode),
                &settings.matcher,
                &settings.catalog,
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
