//! [`RewardModel`]: the discriminative scorer of Table 4 (`[user] scorer = "discriminative"`): a
//! classification model behind the role's endpoint pool and the response cache. It scores an item
//! by the probability of the positive class for the text of the generative scoring prompt, so the
//! two scorers see the same conversation and item.

use grsu::model::classify::{ClassifyRequest, ClassifyResponse};
use grsu::model::ModelError;
use grsu::store::ResponseCache;

use super::model_actor::ModelTarget;
use super::usage::Usage;

/// A classification model used as the item scorer.
pub struct RewardModel {
    pub target: ModelTarget,
    pub cache: ResponseCache,
    /// The class whose probability is the score.
    pub positive_class: usize,
}

impl RewardModel {
    /// The score of one prompt text, from the cache when it holds it.
    pub async fn score(&self, text: String, affinity: &str) -> Result<(f64, Usage), ModelError> {
        let identity = self.target.identity();
        let request = ClassifyRequest { input: vec![text] };
        let cache_error = |error: grsu::store::StoreError| ModelError::Cache {
            message: error.to_string(),
        };
        let key = ResponseCache::classify_key(&identity, &request);
        let (response, cached): (ClassifyResponse, bool) = match self
            .cache
            .get_classified(&identity, &request)
            .map_err(cache_error)?
        {
            Some(response) => (response, true),
            None => {
                let response = self.target.classify(&request, affinity).await?;
                self.cache
                    .put_classified(&identity, &request, &response)
                    .map_err(cache_error)?;
                (response, false)
            }
        };
        let mut usage = Usage::default();
        usage.add_usage(&response.usage, cached, key);
        Ok((
            response.positive_probability(0, self.positive_class)?,
            usage,
        ))
    }
}
