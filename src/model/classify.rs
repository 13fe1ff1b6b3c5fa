//! Discriminative scoring: a classification model (vLLM's `/classify` endpoint, the same shape as
//! SGLang's) that gives class probabilities for a text. The paper's Table 4 compares generative
//! item scoring with such a reward model; its score for an item is the probability of the
//! positive class for the scoring prompt.

use serde::{Deserialize, Serialize};

use super::{ModelError, Usage};

/// Texts to classify (the model is the backend's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassifyRequest {
    pub input: Vec<String>,
}

/// One text's class probabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    pub index: usize,
    #[serde(default)]
    pub label: Option<String>,
    pub probs: Vec<f64>,
}

/// The answer to a [`ClassifyRequest`], one classification per input in input order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifyResponse {
    pub data: Vec<Classification>,
    #[serde(default)]
    pub usage: Usage,
}

impl ClassifyResponse {
    /// Checks the shape (one classification per input, indices in order, probabilities in [0, 1])
    /// and sorts by index.
    pub fn validated(mut self, inputs: usize, endpoint: &str) -> Result<Self, ModelError> {
        let malformed = |message: String| ModelError::Malformed {
            endpoint: endpoint.to_string(),
            message,
        };
        self.data.sort_by_key(|classification| classification.index);
        if self.data.len() != inputs
            || self
                .data
                .iter()
                .enumerate()
                .any(|(position, classification)| classification.index != position)
        {
            return Err(malformed(format!(
                "{} classifications for {inputs} inputs",
                self.data.len()
            )));
        }
        if let Some(bad) = self
            .data
            .iter()
            .flat_map(|classification| &classification.probs)
            .find(|p| !(0.0..=1.0).contains(*p))
        {
            return Err(malformed(format!("a class probability of {bad}")));
        }
        Ok(self)
    }

    /// The probability of class `positive` for input `index`.
    pub fn positive_probability(&self, index: usize, positive: usize) -> Result<f64, ModelError> {
        self.data
            .get(index)
            .and_then(|classification| classification.probs.get(positive))
            .copied()
            .ok_or_else(|| ModelError::Unusable {
                message: format!(
                    "no probability for class {positive} (the model has {} classes)",
                    self.data
                        .get(index)
                        .map_or(0, |classification| classification.probs.len())
                ),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(data: serde_json::Value) -> ClassifyResponse {
        serde_json::from_value(serde_json::json!({"data": data, "usage": {"prompt_tokens": 9, "completion_tokens": 0}})).unwrap()
    }

    #[test]
    fn a_vllm_classification_body_reads_and_gives_the_positive_probability() {
        let body = r#"{"id":"classify-1","object":"list","created":1745383213,"model":"rm",
            "data":[{"index":1,"label":"Yes","probs":[0.2,0.8],"num_classes":2},
                    {"index":0,"label":"No","probs":[0.9,0.1],"num_classes":2}],
            "usage":{"prompt_tokens":10,"total_tokens":10,"completion_tokens":0,"prompt_tokens_details":null}}"#;
        let parsed: ClassifyResponse = serde_json::from_str(body).unwrap();
        let checked = parsed.validated(2, "http://rm").unwrap();
        assert_eq!(checked.positive_probability(0, 1).unwrap(), 0.1);
        assert_eq!(checked.positive_probability(1, 1).unwrap(), 0.8);
        assert_eq!(checked.usage.prompt_tokens, 10);
        assert!(matches!(
            checked.positive_probability(0, 2),
            Err(ModelError::Unusable { .. })
        ));
    }

    #[test]
    fn missing_or_impossible_classifications_are_malformed() {
        let short = response(serde_json::json!([{"index": 0, "probs": [0.5, 0.5]}]));
        assert!(matches!(
            short.validated(2, "e"),
            Err(ModelError::Malformed { .. })
        ));
        let impossible = response(serde_json::json!([{"index": 0, "probs": [1.5, -0.5]}]));
        assert!(matches!(
            impossible.validated(1, "e"),
            Err(ModelError::Malformed { .. })
        ));
    }
}
