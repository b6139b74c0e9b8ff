//! The API's one error type and the only place where HTTP status codes are chosen.
//! Every error answers `{ "error": { "code", "message", "details" } }`; a 500 logs its
//! cause and sends a generic message.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use tentabo_schema::SchemaError;
use tentabo_workflows::WorkflowError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("resource not found")]
    NotFound,
    #[error("malformed request: {0}")]
    BadRequest(String),
    #[error("validation failed")]
    Validation(Value),
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: String,
        details: Value,
    },
    #[error("not ready")]
    NotReady(Value),
    #[error(transparent)]
    Workflow(#[from] WorkflowError),
    #[error(transparent)]
    Schema(#[from] SchemaError),
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable code (`not_found`, `validation_failed`, …).
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// Structured context (field errors, allowed events, failing checks).
    #[schema(value_type = Object)]
    pub details: Value,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, String, Value) {
        match self {
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "Resource not found".into(),
                json!({}),
            ),
            ApiError::BadRequest(m) => {
                (StatusCode::BAD_REQUEST, "bad_request", m.clone(), json!({}))
            }
            ApiError::Validation(d) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "The request is not valid".into(),
                d.clone(),
            ),
            ApiError::Conflict {
                code,
                message,
                details,
            } => (StatusCode::CONFLICT, code, message.clone(), details.clone()),
            ApiError::NotReady(d) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                "A dependency is not ready".into(),
                d.clone(),
            ),
            ApiError::Workflow(WorkflowError::NotFound) => (
                StatusCode::NOT_FOUND,
                "not_found",
                "Resource not found".into(),
                json!({}),
            ),
            ApiError::Workflow(WorkflowError::Invalid(m)) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                m.clone(),
                json!({}),
            ),
            ApiError::Workflow(WorkflowError::Conflict(m)) => {
                (StatusCode::CONFLICT, "conflict", m.clone(), json!({}))
            }
            ApiError::Workflow(WorkflowError::Pool(_)) | ApiError::Schema(SchemaError::Pool(_)) => {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "The service is temporarily unavailable".into(),
                    json!({}),
                )
            }
            ApiError::Workflow(_) | ApiError::Schema(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "An internal error occurred".into(),
                json!({}),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message, details) = self.parts();
        if status.is_server_error() {
            tracing::error!(error = %self, error.debug = ?self, status = status.as_u16(), "request failed");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message,
                details,
            },
        };
        (status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_never_leak_their_cause() {
        let err = ApiError::Workflow(WorkflowError::Database(
            diesel::result::Error::BrokenTransactionManager,
        ));
        let (status, code, message, _) = err.parts();
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(code, "internal_error");
        assert!(!message.to_lowercase().contains("transaction"));
    }

    #[test]
    fn pool_exhaustion_is_503_not_500() {
        let (status, ..) = ApiError::Workflow(WorkflowError::Pool("timeout".into())).parts();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    }
}
