//! [`SimulatedUser`]: the simulated user's two behaviours as a policy over a model: critiques
//! (Eq. 3) and item scores (Eq. 2).
//!
//! Critiques are sampled (temperature 1), N per node in one request with `n = N`; a critique cut
//! by the length limit is asked again (up to [`CRITIQUE_MAX_ATTEMPTS`]). Scores are greedy; with
//! the `item` context a score request depends only on the sample and the item, so a title scored
//! at one node is answered from the response cache at every other node of the sample (the
//! reference's per-sample score cache, for free). An answer without a readable Yes/No is asked
//! again, sampled with a seed; after [`SCORE_MAX_ATTEMPTS`] the item scores 0 and is counted as
//! unscored. With the discriminative scorer (Table 4), a classification model's probability of
//! the positive class for the same prompt text is the score.
//!
//! It asks through [`Ask`] (and a [`CachedBackend`] for the reward model), so the engine,
//! synthesis and tests run the same loops.

use std::sync::Arc;

use futures_util::future::join_all;

use crate::catalog::{Catalog, Item};
use crate::config::ScoreContext;
use crate::data::Sample;
use crate::model::ask::Ask;
use crate::model::cached::CachedBackend;
use crate::model::classify::ClassifyRequest;
use crate::model::context::RequestContext;
use crate::model::role::Role;
use crate::model::scoring::{read_score_via, scoring_request_with_ids, ScorePath, ScoringSettings};
use crate::model::token_ids::YesNoTokenIdsSource;
use crate::model::usage::Usage;
use crate::model::{ChatMessage, ChatRequest, ModelError};
use crate::prompts::{
    critique_request, score_messages, validate_critique, ItemView, CRITIQUE_MAX_ATTEMPTS,
};
use crate::search::RequestKey;
use crate::seeds::request_seed;
use crate::store::Origin;

/// Attempts at reading a score before the item is given 0.
pub const SCORE_MAX_ATTEMPTS: u32 = 3;

/// Critiques of one node.
pub struct CritiqueJob {
    pub sample: Arc<Sample>,
    pub run_seed: u64,
    /// The unit of work paying for the answers.
    pub origin: Origin,
    pub key: RequestKey,
    pub items: Vec<String>,
    pub count: u32,
}

/// Scores of the items of one node.
pub struct ScoreJob {
    pub sample: Arc<Sample>,
    pub run_seed: u64,
    /// The unit of work paying for the answers.
    pub origin: Origin,
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

/// A classification model used as the item scorer (`[user] scorer = "discriminative"`).
pub struct RewardScorer {
    pub backend: CachedBackend,
    /// The class whose probability is the score.
    pub positive_class: usize,
}

impl RewardScorer {
    /// The score of one prompt text, from the cache when it holds it.
    pub async fn score(
        &self,
        text: String,
        context: &RequestContext,
    ) -> Result<(f64, Usage), ModelError> {
        let request = ClassifyRequest { input: vec![text] };
        let answer = self.backend.classify(&request, context).await?;
        let mut usage = Usage::default();
        usage.add_usage(&answer.response.usage, answer.cached, answer.key);
        Ok((
            answer
                .response
                .positive_probability(0, self.positive_class)?,
            usage,
        ))
    }
}

/// How the simulated user is asked and read (a run's `[user]` table).
pub struct SimulatedUser {
    pub catalog: Arc<Catalog>,
    pub view: ItemView,
    pub scoring: ScoringSettings,
    pub score_context: ScoreContext,
    pub critique_max_tokens: u32,
    /// The discriminative scorer, when `[user] scorer = "discriminative"`.
    pub reward: Option<RewardScorer>,
    /// The Yes/No token ids scoring requests name (`[models.user] yes_no_token_ids`).
    pub yes_no_ids: YesNoTokenIdsSource,
}

impl SimulatedUser {
    /// The simulated user a run's config asks for, over `catalog`; `reward` is the discriminative
    /// scorer when `[user] scorer = "discriminative"`.
    pub fn for_config(
        config: &crate::config::RunConfig,
        catalog: Arc<Catalog>,
        reward: Option<RewardScorer>,
    ) -> SimulatedUser {
        SimulatedUser {
            catalog,
            view: crate::prompts::ItemView::from_settings(config.user.attributes, config.user.plot),
            scoring: ScoringSettings {
                mode: config.user.scoring_mode,
                formula: config.user.score_formula,
                top_logprobs: config.user.top_logprobs,
                priority: config
                    .models
                    .get(crate::model::role::Role::User)
                    .and_then(|settings| settings.scoring_priority),
                ..ScoringSettings::default()
            },
            score_context: config.user.score_context,
            critique_max_tokens: config.user.critique_max_tokens,
            reward,
            yes_no_ids: config
                .models
                .get(crate::model::role::Role::User)
                .map(|settings| YesNoTokenIdsSource::for_role(settings, "user"))
                .unwrap_or_default(),
        }
    }

    fn items_of<'a>(&'a self, titles: &[String]) -> Vec<&'a Item> {
        titles
            .iter()
            .filter_map(|title| {
                self.catalog
                    .index_of(title)
                    .map(|index| self.catalog.item(index))
            })
            .collect()
    }

    /// `job.count` critiques of a node's list, asked of `model` (`[models.critique]`).
    pub async fn critique(&self, model: &dyn Ask, job: CritiqueJob) -> CritiqueOutcome {
        let items = self.items_of(&job.items);
        let messages = critique_request(&job.sample.history, &items, self.view);
        let context = RequestContext::of_unit(Role::Critique, &job.sample.id, job.origin);
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
            request.max_tokens = self.critique_max_tokens;
            let answer = match model.ask(request, context.clone()).await {
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

    /// A score for every item of a node's list, asked of `model` (`[models.user]`) or of the
    /// reward model.
    pub async fn score(&self, model: &dyn Ask, job: ScoreJob) -> ScoreOutcome {
        self.score_with(model, job, false).await
    }

    /// Like [`SimulatedUser::score`], but the first (greedy) request of each item carries a seed
    /// from `job.run_seed` as well, so that another run seed makes new requests that the response
    /// cache does not answer: a test-retest probe (`grsu probe order`). At temperature 0 a server
    /// may well give the same answer; that is what the probe measures.
    pub async fn score_seeded(&self, model: &dyn Ask, job: ScoreJob) -> ScoreOutcome {
        self.score_with(model, job, true).await
    }

    async fn score_with(&self, model: &dyn Ask, job: ScoreJob, seed_first: bool) -> ScoreOutcome {
        let items = self.items_of(&job.items);
        let path = job.key.path();
        let asks = items.iter().map(|item| {
            let list = (self.score_context == ScoreContext::List).then_some(items.as_slice());
            let messages = score_messages(&job.sample.history, item, list, self.view);
            let (job, path) = (&job, &path);
            async move {
                match &self.reward {
                    Some(reward) => reward
                        .score(
                            prompt_text(&messages),
                            &RequestContext::of_unit(Role::Reward, &job.sample.id, job.origin),
                        )
                        .await
                        .map(|(score, usage)| (Some(score), usage))
                        .map_err(|error| (error, Usage::default())),
                    None => {
                        self.score_item(model, job, path, &item.title, messages, seed_first)
                            .await
                    }
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

    async fn score_item(
        &self,
        model: &dyn Ask,
        job: &ScoreJob,
        path: &str,
        title: &str,
        messages: Vec<ChatMessage>,
        seed_first: bool,
    ) -> ItemScore {
        let context = RequestContext::of_unit(Role::User, &job.sample.id, job.origin);
        let mut usage = Usage::default();
        let ids = self.yes_no_ids.ids().await;
        for attempt in 0..SCORE_MAX_ATTEMPTS {
            let mut request =
                scoring_request_with_ids(messages.clone(), &self.scoring, ids.as_ref());
            if attempt > 0 {
                // The greedy answer had no readable Yes/No; a sampled one may.
                request.temperature = 1.0;
            }
            if attempt > 0 || seed_first {
                request.seed = Some(request_seed(
                    job.run_seed,
                    &job.sample.id,
                    &format!("{path}/{title}"),
                    attempt,
                ));
            }
            let answer = match model.ask(request, context.clone()).await {
                Ok(answer) => answer,
                Err(error) => return Err((error, usage)),
            };
            usage.add_answer(&answer);
            let (score, path) = match answer.response.choices.first() {
                Some(choice) => read_score_via(
                    choice,
                    self.scoring.mode,
                    self.scoring.formula,
                    ids.as_ref(),
                ),
                None => (
                    Err(ModelError::Unusable {
                        message: "no choice".into(),
                    }),
                    ScorePath::Unreadable,
                ),
            };
            usage.score_paths.count(path);
            match score {
                Ok(score) => return Ok((Some(score.score), usage)),
                Err(_) => usage.invalid_answers += 1,
            }
        }
        Ok((None, usage))
    }
}

type ItemScore = Result<(Option<f64>, Usage), (ModelError, Usage)>;

/// The scoring prompt as one text, for a classification model.
fn prompt_text(messages: &[ChatMessage]) -> String {
    messages
        .iter()
        .map(|message| message.content.as_str())
        .collect::<Vec<_>>()
        .join("\n\n")
}
