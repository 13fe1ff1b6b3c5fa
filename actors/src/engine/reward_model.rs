//! [`RewardModel`]: the discriminative scorer of Table 4 (`[user] scorer = "discriminative"`): a
//! classification model behind the role's backend and the response cache. It scores an item
//! by the probability of the positive class for the text of the generative scoring prompt, so the
//! two scorers see the same conversation and item.

use grsu::model::cached::CachedBackend;
use grsu::model::classify::ClassifyRequest;
use grsu::model::context::RequestContext;
use grsu::model::ModelError;

use super::usage::Usage;

/// A classification model used as the item scorer.
pub struct RewardModel {
    pub backend: CachedBackend,
    /// The class whose probability is the score.
    pub positive_class: usize,
}

impl RewardModel {
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
