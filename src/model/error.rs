//! Errors of model calls, sorted by what the caller should do about them.

/// A failed model call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ModelError {
    /// The endpoint could not be reached or the connection broke (retryable).
    #[error("connection to {endpoint} failed: {message}")]
    Connection { endpoint: String, message: String },
    /// No answer within the request timeout (retryable).
    #[error("request to {endpoint} timed out after {seconds:.1} s")]
    Timeout { endpoint: String, seconds: f64 },
    /// The server failed (HTTP 5xx, retryable).
    #[error("server error {status} from {endpoint}: {message}")]
    Server {
        endpoint: String,
        status: u16,
        message: String,
    },
    /// The server rejected the request (HTTP 4xx): retrying the same request cannot help.
    #[error("request rejected by {endpoint} ({status}): {message}")]
    Rejected {
        endpoint: String,
        status: u16,
        message: String,
    },
    /// The body could not be understood (retryable: a proxy or a dying server may send junk).
    #[error("malformed response from {endpoint}: {message}")]
    Malformed { endpoint: String, message: String },
    /// A successful answer from another model than the configured one (a proxy routing elsewhere, a
    /// LoRA adapter missing and the base model answering): not retryable, the endpoint is
    /// misconfigured.
    #[error("{endpoint} answered with model `{answered}`, not the configured `{configured}`")]
    WrongModel {
        endpoint: String,
        configured: String,
        answered: String,
    },
    /// The embedded model or its files failed.
    #[error("embedded model: {message}")]
    Embedded { message: String },
    /// The response cache could not be read or written (not retryable: the store is broken).
    #[error("response cache: {message}")]
    Cache { message: String },
    /// The answer lacks what the caller needs (for scoring: neither Yes nor No among the tokens).
    #[error("unusable answer: {message}")]
    Unusable { message: String },
}

impl ModelError {
    /// A stable label per variant, for logs, counters and JSON output.
    pub fn label(&self) -> &'static str {
        match self {
            ModelError::Connection { .. } => "connection",
            ModelError::Timeout { .. } => "timeout",
            ModelError::Server { .. } => "server",
            ModelError::Rejected { .. } => "rejected",
            ModelError::Malformed { .. } => "malformed",
            ModelError::WrongModel { .. } => "wrong_model",
            ModelError::Embedded { .. } => "embedded",
            ModelError::Cache { .. } => "cache",
            ModelError::Unusable { .. } => "unusable",
        }
    }

    /// Whether sending the same request again (perhaps to another endpoint) can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ModelError::Connection { .. }
                | ModelError::Timeout { .. }
                | ModelError::Server { .. }
                | ModelError::Malformed { .. }
        )
    }
}
