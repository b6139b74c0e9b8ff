//! The API's one error type and the only place where HTTP status codes are chosen.
//! Every error answers `{ "error": { "code", "message", "details" } }`; the message is
//! English here and translated by [`localize`] per `Accept-Language`; a 500 logs its
//! cause and sends a generic message.

use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use tentabo_schema::SchemaError;
use tentabo_workflows::WorkflowError;
use tentabo_workflows::error::{AuthFailure, FieldErrors};

use crate::i18n::{self, Lang};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("resource not found")]
    NotFound,
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("validation failed")]
    Validation(FieldErrors),
    #[error("conflict: {code}")]
    Conflict { code: &'static str, details: Value },
    #[error("not ready")]
    NotReady(Value),
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("request timed out")]
    Timeout,
    #[error("handler panicked: {0}")]
    Panic(String),
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
    /// Human-readable message, in English or French per `Accept-Language`.
    pub message: String,
    /// Structured context (field errors, allowed events, failing checks).
    #[schema(value_type = Object)]
    pub details: Value,
}

/// The largest request body the API reads (axum's default limit).
pub const BODY_LIMIT_BYTES: usize = 2 * 1024 * 1024;

/// A panic caught by the panic layer, answered in the one error shape; its message goes
/// to the log only.
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let reason = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "unknown panic".to_owned());
    ApiError::Panic(reason).into_response()
}

/// Answers 503 `request_timeout` in the one error shape when a request outlives
/// `limit` (the handler's future is dropped, which rolls back an open transaction).
pub async fn time_limit(limit: std::time::Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout.into_response(),
    }
}

/// Marks an error response with its code, for [`localize`].
#[derive(Debug, Clone, Copy)]
struct ErrorCode(&'static str);

fn fields(e: &FieldErrors) -> Value {
    json!({ "fields": e.0 })
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, Value) {
        use StatusCode as S;
        match self {
            ApiError::NotFound | ApiError::Workflow(WorkflowError::NotFound) => {
                (S::NOT_FOUND, "not_found", json!({}))
            }
            ApiError::MalformedJson(reason) => (
                S::BAD_REQUEST,
                "malformed_json",
                json!({ "reason": reason }),
            ),
            ApiError::UnsupportedMediaType => (
                S::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                json!({}),
            ),
            ApiError::BadRequest(reason) => {
                (S::BAD_REQUEST, "bad_request", json!({ "reason": reason }))
            }
            ApiError::Validation(e) | ApiError::Workflow(WorkflowError::Validation(e)) => {
                (S::UNPROCESSABLE_ENTITY, "validation_failed", fields(e))
            }
            ApiError::Workflow(WorkflowError::Invalid(reason)) => (
                S::UNPROCESSABLE_ENTITY,
                "validation_failed",
                json!({ "reason": reason }),
            ),
            ApiError::Conflict { code, details } => (S::CONFLICT, code, details.clone()),
            ApiError::Workflow(WorkflowError::Conflict { code, .. }) => {
                (S::CONFLICT, code, json!({}))
            }
            ApiError::Workflow(WorkflowError::Refused { code, details }) => {
                (S::CONFLICT, code, details.clone())
            }
            ApiError::Workflow(WorkflowError::Unprocessable { code, details }) => {
                (S::UNPROCESSABLE_ENTITY, code, details.clone())
            }
            ApiError::NotReady(d) => (S::SERVICE_UNAVAILABLE, "not_ready", d.clone()),
            ApiError::RateLimited { retry_after_secs } => (
                S::TOO_MANY_REQUESTS,
                "rate_limited",
                json!({ "retry_after_secs": retry_after_secs }),
            ),
            ApiError::MethodNotAllowed => (S::METHOD_NOT_ALLOWED, "method_not_allowed", json!({})),
            ApiError::PayloadTooLarge => (
                S::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                json!({ "limit_bytes": BODY_LIMIT_BYTES }),
            ),
            ApiError::Timeout => (S::SERVICE_UNAVAILABLE, "request_timeout", json!({})),
            ApiError::Panic(_) => (S::INTERNAL_SERVER_ERROR, "internal_error", json!({})),
            ApiError::Workflow(WorkflowError::Forbidden) => (S::FORBIDDEN, "forbidden", json!({})),
            ApiError::Workflow(WorkflowError::Unauthenticated(f)) => {
                let status = if matches!(f, AuthFailure::AccountDisabled | AuthFailure::NotMapped) {
                    S::FORBIDDEN
                } else {
                    S::UNAUTHORIZED
                };
                (status, f.code(), json!({}))
            }
            ApiError::Schema(SchemaError::Pool(_)) => {
                (S::SERVICE_UNAVAILABLE, "unavailable", json!({}))
            }
            // A pool that gives no connection, or a database that went away.
            ApiError::Workflow(e) if e.is_unavailable() => {
                (S::SERVICE_UNAVAILABLE, "unavailable", json!({}))
            }
            ApiError::Workflow(WorkflowError::Unavailable { code, .. }) => {
                (S::SERVICE_UNAVAILABLE, code, json!({}))
            }
            ApiError::Workflow(WorkflowError::Upstream(_)) => {
                (S::BAD_GATEWAY, "upstream_unavailable", json!({}))
            }
            ApiError::Workflow(_) | ApiError::Schema(_) => {
                (S::INTERNAL_SERVER_ERROR, "internal_error", json!({}))
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, details) = self.parts();
        let mut server_error = None;
        if status.is_server_error() {
            let chain = match &self {
                ApiError::Workflow(e) => e.chain(),
                other => other.to_string(),
            };
            tracing::error!(error = %chain, error.debug = ?self, status = status.as_u16(), "request failed");
            server_error = Some(ServerError(chain));
        }
        let message = i18n::message(code, Lang::En).unwrap_or("Error").to_owned();
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message,
                details,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(e) = server_error {
            response.extensions_mut().insert(e);
        }
        let headers = response.headers_mut();
        if let ApiError::RateLimited { retry_after_secs } = self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response.extensions_mut().insert(ErrorCode(code));
        response
    }
}

/// Rewrites error messages into the caller's language (`Accept-Language`).
/// A server error's cause chain, on its response for [`report_errors`].
#[derive(Debug, Clone)]
pub struct ServerError(pub String);

/// Reports server errors with their request id and route to the error tracker, when
/// one is configured (`TENTABO_SENTRY_DSN`); a no-op otherwise.
pub async fn report_errors(req: Request, next: Next) -> Response {
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(req).await;
    if let Some(ServerError(chain)) = response.extensions().get::<ServerError>() {
        tentabo_workflows::errors_report::report(
            &format!(
                "{method} {route} answered {}: {chain}",
                response.status().as_u16()
            ),
            &[("request_id", request_id), ("route", route.clone())],
        );
    }
    response
}

pub async fn localize(req: Request, next: Next) -> Response {
    let lang = i18n::negotiate(
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let response = next.run(req).await;
    if lang == Lang::En {
        return response;
    }
    let Some(ErrorCode(code)) = response.extensions().get::<ErrorCode>().copied() else {
        return response;
    };
    let Some(message) = i18n::message(code, lang) else {
        return response;
    };
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "error body unreadable").into_response();
    };
    let mut value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    value["error"]["message"] = Value::String(message.to_owned());
    let bytes = serde_json::to_vec(&value).unwrap_or_default();
    parts
        .headers
        .insert(header::CONTENT_LANGUAGE, HeaderValue::from_static("fr"));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_never_leak_their_cause() {
        let err = ApiError::Workflow(WorkflowError::Database(
            diesel::result::Error::NotInTransaction,
        ));
        let (status, code, details) = err.parts();
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(code, "internal_error");
        assert_eq!(details, json!({}));
    }

    #[test]
    fn a_server_error_carries_its_cause_for_the_error_tracker() {
        let r = ApiError::Workflow(WorkflowError::Internal("boom".into())).into_response();
        assert!(
            r.extensions()
                .get::<ServerError>()
                .is_some_and(|e| e.0.contains("boom"))
        );
        let r = ApiError::NotFound.into_response();
        assert!(r.extensions().get::<ServerError>().is_none());
    }

    #[test]
    fn a_database_that_went_away_is_503_not_500() {
        for e in [
            diesel::result::Error::BrokenTransactionManager,
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ClosedConnection,
                Box::new("connection closed".to_owned()),
            ),
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::Unknown,
                Box::new("terminating connection due to administrator command".to_owned()),
            ),
        ] {
            let (status, code, _) = ApiError::Workflow(WorkflowError::Database(e)).parts();
            assert_eq!(
                (status, code),
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            );
        }
    }

    #[tokio::test]
    async fn a_caught_panic_answers_the_error_shape_without_its_message() {
        let response = panic_response(Box::new("secret detail".to_owned()));
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap_or_default();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or_default();
        assert_eq!(body["error"]["code"], "internal_error");
        assert!(!String::from_utf8_lossy(&bytes).contains("secret detail"));
    }

    #[test]
    fn an_internal_failure_keeps_its_cause_for_the_log_only() {
        let cause = std::io::Error::other("disk on fire");
        let e = WorkflowError::internal("writing the report", cause);
        assert_eq!(e.chain(), "internal: writing the report: disk on fire");
        assert!(std::error::Error::source(&e).is_some());
        let (status, code, details) = ApiError::Workflow(e).parts();
        assert_eq!(
            (status, code),
            (StatusCode::INTERNAL_SERVER_ERROR, "internal_error")
        );
        assert_eq!(details, json!({}));
    }

    #[test]
    fn pool_exhaustion_is_503_not_500() {
        let (status, ..) = ApiError::Workflow(WorkflowError::Pool("timeout".into())).parts();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn every_code_the_api_can_answer_has_a_message() {
        let errors = [
            ApiError::NotFound,
            ApiError::MalformedJson(String::new()),
            ApiError::UnsupportedMediaType,
            ApiError::BadRequest(String::new()),
            ApiError::Validation(FieldErrors::default()),
            ApiError::NotReady(json!({})),
            ApiError::RateLimited {
                retry_after_secs: 1,
            },
            ApiError::MethodNotAllowed,
            ApiError::PayloadTooLarge,
            ApiError::Timeout,
            ApiError::Panic(String::new()),
            ApiError::Workflow(WorkflowError::Unprocessable {
                code: "invalid_characters",
                details: json!({}),
            }),
            ApiError::Workflow(WorkflowError::Forbidden),
            ApiError::Workflow(WorkflowError::Pool(String::new())),
            ApiError::Workflow(WorkflowError::Internal(String::new())),
            ApiError::Workflow(WorkflowError::Conflict {
                code: "name_taken",
                message: String::new(),
            }),
            ApiError::Workflow(WorkflowError::Conflict {
                code: "email_taken",
                message: String::new(),
            }),
            ApiError::Workflow(WorkflowError::Conflict {
                code: "job_not_retryable",
                message: String::new(),
            }),
            ApiError::Workflow(WorkflowError::Conflict {
                code: "job_not_discardable",
                message: String::new(),
            }),
            ApiError::Workflow(WorkflowError::Conflict {
                code: "duration_exists",
                message: String::new(),
            }),
            ApiError::Workflow(WorkflowError::Conflict {
                code: "cannot_modify_self",
                message: String::new(),
            }),
            ApiError::Workflow(WorkflowError::Conflict {
                code: "still_referenced",
                message: String::new(),
            }),
            ApiError::Workflow(WorkflowError::Refused {
                code: "illegal_transition",
                details: json!({}),
            }),
            ApiError::Workflow(WorkflowError::Refused {
                code: "stale_version",
                details: json!({}),
            }),
            ApiError::Workflow(WorkflowError::Refused {
                code: "already_converted",
                details: json!({}),
            }),
            ApiError::Workflow(WorkflowError::Refused {
                code: "order_not_editable",
                details: json!({}),
            }),
            ApiError::Workflow(WorkflowError::Unprocessable {
                code: "idempotency_key_reused",
                details: json!({}),
            }),
            ApiError::Workflow(WorkflowError::Upstream(String::new())),
            ApiError::Workflow(WorkflowError::Unavailable {
                code: "directory_unavailable",
                message: String::new(),
            }),
            ApiError::Workflow(WorkflowError::Refused {
                code: "provider_not_active",
                details: json!({}),
            }),
            ApiError::Workflow(WorkflowError::Refused {
                code: "organisation_not_found",
                details: json!({}),
            }),
            ApiError::Workflow(WorkflowError::Refused {
                code: "directory_email_missing",
                details: json!({}),
            }),
            ApiError::Workflow(WorkflowError::Unprocessable {
                code: "invalid_value",
                details: json!({}),
            }),
            ApiError::Workflow(WorkflowError::Refused {
                code: "conflict_already_resolved",
                details: json!({}),
            }),
            ApiError::Workflow(WorkflowError::Conflict {
                code: "sync_already_running",
                message: String::new(),
            }),
        ];
        let failures = [
            AuthFailure::InvalidCredentials,
            AuthFailure::AccountDisabled,
            AuthFailure::NotMapped,
            AuthFailure::MissingToken,
            AuthFailure::InvalidToken,
            AuthFailure::TokenExpired,
            AuthFailure::SessionRevoked,
            AuthFailure::RefreshTokenReused,
        ];
        let all = errors.iter().map(ApiError::parts).chain(
            failures
                .iter()
                .map(|f| ApiError::Workflow(WorkflowError::Unauthenticated(*f)).parts()),
        );
        for (_, code, _) in all {
            assert!(
                i18n::message(code, Lang::En).is_some() && i18n::message(code, Lang::Fr).is_some(),
                "{code}"
            );
        }
    }
}
