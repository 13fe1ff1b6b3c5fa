//! [`UserActor`]: the simulated user's two behaviours, critiques (Eq. 3) and item scores (Eq. 2).
//!
//! Critiques are sampled (temperature 1), N per node in one request with `n = N`; a critique cut
//! by the length limit is asked again (up to 3 attempts). Scores are greedy; with the `item`
//! context a score request depends only on the sample and the item, so a title scored at one node
//! is answered from the response cache at every other node of the sample (the reference's per-sample
//! score cache, for free). An answer without a readable Yes/No is asked again, sampled with a seed;
//! after 3 attempts the item scores 0 and is counted as unscored.

use std::sync::Arc;

use futures_util::future::join_all;
use grsu::catalog::{Catalog, Item};
use grsu::config::ScoreContext;
use grsu::data::Sample;
use grsu::model::scoring::{read_score, scoring_request, ScoreFormula, ScoringSettings};
use grsu::model::{ChatRequest, ModelError};
use grsu::prompts::{
    critique_request, score_messages, validate_critique, ItemView, CRITIQUE_MAX_ATTEMPTS,
};
use grsu::search::RequestKey;
use grsu::seeds::request_seed;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use grsu::model::role::Role;

use super::model_actor::{ask, unit_context, ModelMessage};
use super::reward_model::RewardModel;
use super::usage::Usage;

/// Attempts at reading a score before the item is given 0.
pub const SCORE_MAX_ATTEMPTS: u32 = 3;

/// Critiques of one node.
pub struct CritiqueJob {
    pub sample: Arc<Sample>,
    pub run_seed: u64,
    pub key: RequestKey,
    pub items: Vec<String>,
    pub count: u32,
}

/// Scores of the items of one node.
pub struct ScoreJob {
    pub sample: Arc<Sample>,
    pub run_seed: u64,
    pub key: RequestKey,
    pub items: Vec<String>,
}

/// Critiques obtained and their cost.
pub struct CritiqueOutcome {
    pub critiques: Result<Vec<String>, ModelError>,
    pub usage: Usage,
}

/// Scores (one per item) and their cost.
pub struct ScoreOutcome {
    pub scores: Result<Vec<f64>, ModelError>,
    pub unscored: u64,
    pub usage: Usage,
}

/// Messages of the [`UserActor`].
pub enum UserMessage {
    /// Write `job.count` critiques of a node's list.
    Critique {
        job: CritiqueJob,
        reply: RpcReplyPort<CritiqueOutcome>,
    },
    /// Score every item of a node's list.
    Score {
        job: ScoreJob,
        reply: RpcReplyPort<ScoreOutcome>,
    },
}

/// What a [`UserActor`] is started with.
pub struct UserArguments {
    /// The key of the search these requests belong to (with seed and sample: the origin of
    /// what they pay for in the response cache).
    pub search_key: String,
    /// The scoring model (`[models.user]`).
    pub model: ActorRef<ModelMessage>,
    /// The critiquing model (`[models.critique]`, the scoring model unless set).
    pub critique_model: ActorRef<ModelMessage>,
    pub catalog: Arc<Catalog>,
    pub view: ItemView,
    pub scoring: ScoringSettings,
    pub score_context: ScoreContext,
    pub critique_max_tokens: u32,
    /// The discriminative scorer, when `[user] scorer = "discriminative"`.
    pub reward: Option<RewardModel>,
}

/// The shared settings of every task.
pub struct UserState {
    settings: Arc<UserArguments>,
}

/// The simulated user.
pub struct UserActor;

impl Actor for UserActor {
    type Msg = UserMessage;
    type State = UserState;
    type Arguments = UserArguments;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        arguments: UserArguments,
    ) -> Result<UserState, ActorProcessingErr> {
        Ok(UserState {
            settings: Arc::new(arguments),
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: UserMessage,
        state: &mut UserState,
    ) -> Result<(), ActorProcessingErr> {
        let settings = state.settings.clone();
        match message {
            UserMessage::Critique { job, reply } => {
                tokio::spawn(async move {
                    let _ = reply.send(critique(&settings, job).await);
                });
            }
            UserMessage::Score { job, reply } => {
                tokio::spawn(async move {
                    let _ = reply.send(score(&settings, job).await);
                });
            }
        }
        Ok(())
    }
}

fn items_of<'a>(catalog: &'a Catalog, titles: &[String]) -> Vec<&'a Item> {
    titles
        .iter()
        .filter_map(|title| catalog.index_of(title).map(|index| catalog.item(index)))
        .collect()
}

async fn critique(settings: &UserArguments, job: CritiqueJob) -> CritiqueOutcome {
    let items = items_of(&settings.catalog, &job.items);
    let messages = critique_request(&job.sample.history, &items, settings.view);
    let mut usage = Usage::default();
    let mut critiques = Vec::new();
    let path = job.key.path();
    for attempt in 0..CRITIQUE_MAX_ATTEMPTS {
        let missing = job.count as usize - critiques.len();
        if missing == 0 {
            break;
        }
        let mut request = ChatRequest::new(messages.clone());
        request.n = missing as u32;
        request.temperature = 1.0;
        request.seed = Some(request_seed(job.run_seed, &job.sample.id, &path, attempt));
        request.max_tokens = settings.critique_max_tokens;
        let answer = match ask(
            &settings.critique_model,
            request,
            unit_context(
                &settings.search_key,
                job.run_seed,
                &job.sample.id,
                Role::Critique,
            ),
        )
        .await
        {
            Ok(answer) => answer,
            Err(error) => {
                return CritiqueOutcome {
                    critiques: Err(error),
                    usage,
                }
            }
        };
        usage.add_answer(&answer);
        for choice in &answer.response.choices {
            match validate_critique(choice) {
                Ok(text) if critiques.len() < job.count as usize => critiques.push(text),
                Ok(_) => {}
                Err(_) => usage.invalid_answers += 1,
            }
        }
    }
    CritiqueOutcome {
        critiques: Ok(critiques),
        usage,
    }
}

async fn score(settings: &UserArguments, job: ScoreJob) -> ScoreOutcome {
    let items = items_of(&settings.catalog, &job.items);
    let path = job.key.path();
    let asks = items.iter().map(|item| {
        let list = (settings.score_context == ScoreContext::List).then_some(items.as_slice());
        let messages = score_messages(&job.sample.history, item, list, settings.view);
        async {
            match &settings.reward {
                Some(reward) => reward
                    .score(
                        prompt_text(&messages),
                        &unit_context(
                            &settings.search_key,
                            job.run_seed,
                            &job.sample.id,
                            Role::Reward,
                        ),
                    )
                    .await
                    .map(|(score, usage)| (Some(score), usage))
                    .map_err(|error| (error, Usage::default())),
                None => score_item(settings, &job, &path, &item.title, messages).await,
            }
        }
    });
    let mut usage = Usage::default();
    let mut scores = Vec::with_capacity(items.len());
    let mut unscored = 0;
    for outcome in join_all(asks).await {
        let (score, item_usage) = match outcome {
            Ok(found) => found,
            Err((error, item_usage)) => {
                usage.add(item_usage);
                return ScoreOutcome {
                    scores: Err(error),
                    unscored,
                    usage,
                };
            }
        };
        usage.add(item_usage);
        match score {
            Some(score) => scores.push(score),
            None => {
                unscored += 1;
                scores.push(0.0);
            }
        }
    }
    ScoreOutcome {
        scores: Ok(scores),
        unscored,
        usage,
    }
}

type ItemScore = Result<(Option<f64>, Usage), (ModelError, Usage)>;

/// The scoring prompt as one text, for a classification model.
fn prompt_text(messages: &[grsu::model::ChatMessage]) -> String {
    messages
        .iter()
        .map(|message| message.content.as_str())
        .collect::<Vec<_>>()
        .join("\n\n")
}

async fn score_item(
    settings: &UserArguments,
    job: &ScoreJob,
    path: &str,
    title: &str,
    messages: Vec<grsu::model::ChatMessage>,
) -> ItemScore {
    let mut usage = Usage::default();
    for attempt in 0..SCORE_MAX_ATTEMPTS {
        let mut request = scoring_request(messages.clone(), &settings.scoring);
        if attempt > 0 {
            // The greedy answer had no readable Yes/No; a sampled one may.
            request.temperature = 1.0;
            request.seed = Some(request_seed(
                job.run_seed,
                &job.sample.id,
                &format!("{path}/{title}"),
                attempt,
            ));
        }
        let answer = match ask(
            &settings.model,
            request,
            unit_context(
                &settings.search_key,
                job.run_seed,
                &job.sample.id,
                Role::User,
            ),
        )
        .await
        {
            Ok(answer) => answer,
            Err(error) => return Err((error, usage)),
        };
        usage.add_answer(&answer);
        let formula: ScoreFormula = settings.scoring.formula;
        match answer
            .response
            .choices
            .first()
            .map(|choice| read_score(choice, settings.scoring.mode, formula))
        {
            Some(Ok(score)) => return Ok((Some(score.score), usage)),
            _ => usage.invalid_answers += 1,
        }
    }
    Ok((None, usage))
}
