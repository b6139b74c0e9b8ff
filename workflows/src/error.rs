//! The crate's one error type. The API maps it to HTTP in exactly one place.

#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("unknown job queue `{0}`")]
    UnknownQueue(String),
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("database pool: {0}")]
    Pool(String),
    #[error("payload: {0}")]
    Payload(#[from] serde_json::Error),
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for WorkflowError {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        WorkflowError::Pool(e.to_string())
    }
}
