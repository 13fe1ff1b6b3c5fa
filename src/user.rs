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

use crate::catalog::{Catalog, Item, ItemIndex};
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
    critique_request, score_messages_in, score_messages_of_shown, validate_critique, ItemTexts,
    ItemView, ScoreConversation, CRITIQUE_MAX_ATTEMPTS,
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
    /// The items of `catalog` as scoring prompts show them, each rendered once (made of the
    /// same catalog).
    pub item_texts: ItemTexts,
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
            item_texts: ItemTexts::new(catalog.clone()),
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
        self.indices_of(titles)
            .map(|index| self.catalog.item(index))
            .collect()
    }

    /// The catalog indices of the titles it knows, in order.
    fn indices_of<'a>(&'a self, titles: &'a [String]) -> impl Iterator<Item = ItemIndex> + 'a {
        titles
            .iter()
            .filter_map(|title| self.catalog.index_of(title))
    }

    /// `job.count` critiques of a node's list, asked of `model` (`[models.critique]`).
    pub async fn critique(&self, model: &dyn Ask, job: CritiqueJob) -> CritiqueOutcome {
        let _admission = model.admit().await;
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
        let indices: Vec<ItemIndex> = self.indices_of(&job.items).collect();
        let items: Vec<&Item> = indices
            .iter()
            .map(|&index| self.catalog.item(index))
            .collect();
        let path = job.key.path();
        // Every item's prompt shows the same conversation: rendered once for the list.
        let conversation = ScoreConversation::of(&job.sample.history);
        let asks = items.iter().zip(&indices).map(|(item, &index)| {
            let list = (self.score_context == ScoreContext::List).then_some(items.as_slice());
            let (job, path, conversation) = (&job, &path, &conversation);
            async move {
                // The prompt is built once a place is near (see `Ask::admit`): until then an
                // item waiting to be scored holds this small future, not its prompt. The part
                // after admission is boxed so that the waiting future stays small.
                let _admission = model.admit().await;
                Box::pin(async move {
                    let messages = || match list {
                        Some(_) => score_messages_in(conversation, item, list, self.view),
                        None => score_messages_of_shown(
                            conversation,
                            self.item_texts.text(index, self.view),
                        ),
                    };
                    match &self.reward {
                        Some(reward) => reward
                            .score(
                                prompt_text(&messages()),
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
                })
                .await
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
        messages: impl Fn() -> Vec<ChatMessage>,
        seed_first: bool,
    ) -> ItemScore {
        let context = RequestContext::of_unit(Role::User, &job.sample.id, job.origin);
        let mut usage = Usage::default();
        let ids = self.yes_no_ids.ids().await;
        for attempt in 0..SCORE_MAX_ATTEMPTS {
            // Built again for each attempt rather than cloned for the first: an attempt after the
            // first is rare, and the prompt is a kilobyte or more.
            let mut request = scoring_request_with_ids(messages(), &self.scoring, ids.as_ref());
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::catalog::ItemAttributes;
    use crate::data::{Role as Speaker, Turn};
    use crate::model::ask::{Admission, AdmissionGate};
    use crate::model::cached::CachedAnswer;
    use crate::model::ChatResponse;
    use crate::search::RequestKind;

    /// A model behind an admission gate that counts the requests it is answering at once.
    struct Gated {
        gate: AdmissionGate,
        answering: AtomicUsize,
        most_at_once: AtomicUsize,
        asked: AtomicUsize,
    }

    #[async_trait::async_trait]
    impl Ask for Gated {
        async fn ask(
            &self,
            _request: ChatRequest,
            _context: RequestContext,
        ) -> Result<CachedAnswer<ChatResponse>, ModelError> {
            let now = self.answering.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_at_once.fetch_max(now, Ordering::SeqCst);
            self.asked.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            self.answering.fetch_sub(1, Ordering::SeqCst);
            // No logprobs: unreadable, so every item is asked every attempt.
            Ok(CachedAnswer::of_text("gated", "Yes"))
        }

        async fn admit(&self) -> Admission {
            self.gate.admit().await
        }
    }

    fn scored_ten_items(capacity: Option<usize>) -> (ScoreOutcome, Gated) {
        let titles: Vec<String> = (0..10).map(|i| format!("Film {i} (1990)")).collect();
        let catalog = Arc::new(Catalog::from_items(titles.iter().map(|title| Item {
            title: title.clone(),
            attributes: ItemAttributes::default(),
        })));
        let user = SimulatedUser {
            item_texts: ItemTexts::new(catalog.clone()),
            catalog,
            view: ItemView::Attributes,
            scoring: ScoringSettings::default(),
            score_context: ScoreContext::Item,
            critique_max_tokens: 64,
            reward: None,
            yes_no_ids: YesNoTokenIdsSource::default(),
        };
        let model = Gated {
            gate: AdmissionGate::for_capacity(capacity),
            answering: AtomicUsize::new(0),
            most_at_once: AtomicUsize::new(0),
            asked: AtomicUsize::new(0),
        };
        let job = ScoreJob {
            sample: Arc::new(Sample {
                id: "c:1".into(),
                conversation: "c".into(),
                turn: "1".into(),
                history: vec![Turn {
                    role: Speaker::User,
                    text: "an old film?".into(),
                }],
                labels: vec![titles[0].clone()],
            }),
            run_seed: 0,
            origin: 1,
            key: RequestKey::new(RequestKind::Score, "root/0", 0),
            items: titles,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let outcome = runtime.block_on(user.score(&model, job));
        (outcome, model)
    }

    #[test]
    fn a_gated_model_is_asked_no_more_than_its_admissions_at_once_and_every_item_is_scored() {
        // Capacity 2: three admissions (a quarter more, rounded up).
        let (outcome, model) = scored_ten_items(Some(2));
        assert_eq!(outcome.scores.unwrap().len(), 10);
        assert_eq!(outcome.unscored, 10);
        assert_eq!(
            model.asked.load(Ordering::SeqCst),
            10 * SCORE_MAX_ATTEMPTS as usize,
            "every attempt of every item is asked"
        );
        assert_eq!(model.most_at_once.load(Ordering::SeqCst), 3);
        // Without a bound the ten items are asked together: the gate is what held them back.
        let (_, unbounded) = scored_ten_items(None);
        assert_eq!(unbounded.most_at_once.load(Ordering::SeqCst), 10);
    }
}
