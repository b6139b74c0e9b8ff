//! Extractors: JSON bodies and query strings whose rejections speak our error shape,
//! the authenticated caller, and the request context written to audit rows.

use std::net::SocketAddr;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, USER_AGENT};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use tentabo_workflows::WorkflowError;
use tentabo_workflows::audit::AuditContext;
use tentabo_workflows::error::AuthFailure;
use tentabo_workflows::identity::{Principal, sessions};
use tower_http::request_id::RequestId;

use crate::error::ApiError;
use crate::state::AppState;

/// `axum::Json`, with malformed JSON → 400 `malformed_json`, a wrong content type →
/// 415, and a body of the wrong shape (missing or unknown fields, wrong types) → 422.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::UnsupportedMediaType),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(ApiError::MalformedJson(e.body_text())),
            Err(JsonRejection::JsonDataError(e)) => {
                Err(WorkflowError::Invalid(e.body_text()).into())
            }
            Err(e) => Err(ApiError::BadRequest(e.body_text())),
        }
    }
}

/// `axum::extract::Query`, with a bad query string → 422 and the reason.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                Err(WorkflowError::Invalid(e.body_text()).into())
            }
            Err(e) => Err(ApiError::BadRequest(e.body_text())),
        }
    }
}

/// Where a request comes from: the peer address, or the first `X-Forwarded-For` hop
/// when `TENTABO_TRUST_FORWARDED_FOR` says a proxy sets it.
pub fn client_ip(parts: &Parts, trust_forwarded_for: bool) -> Option<String> {
    if trust_forwarded_for {
        let forwarded = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| ci.0.ip().to_string())
}

/// Request id, client address and user agent of the current request.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub request_id: Option<String>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
}

impl RequestMeta {
    pub fn audit(&self, actor_id: Option<uuid::Uuid>) -> AuditContext {
        AuditContext {
            actor_id,
            request_id: self.request_id.clone(),
            client_ip: self.client_ip.clone(),
        }
    }
}

impl FromRequestParts<AppState> for RequestMeta {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(RequestMeta {
            request_id: parts
                .extensions
                .get::<RequestId>()
                .and_then(|id| id.header_value().to_str().ok())
                .map(str::to_owned),
            client_ip: client_ip(parts, state.config.auth.trust_forwarded_for),
            user_agent: parts
                .headers
                .get(USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        })
    }
}

/// The authenticated caller: a valid bearer access token whose session is live and
/// whose user (and organisation) is active, read fresh from the database.
pub struct AuthUser(pub Principal);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or(WorkflowError::Unauthenticated(AuthFailure::MissingToken))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(WorkflowError::Unauthenticated(AuthFailure::InvalidToken))?;
        let claims = state.tokens.verify(token)?;
        let mut conn = state.conn().await?;
        let principal = sessions::principal(&mut conn, &claims).await?;
        tracing::Span::current().record("user_id", tracing::field::display(principal.user_id));
        Ok(AuthUser(principal))
    }
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}
