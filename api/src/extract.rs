//! Extractors: JSON bodies and query strings whose rejections speak our error shape,
//! the authenticated caller, and the request context written to audit rows.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tentabo_workflows::WorkflowError;
use tentabo_workflows::audit::AuditContext;
use tentabo_workflows::error::AuthFailure;
use tentabo_workflows::error::FieldErrors;
use tentabo_workflows::identity::{Principal, sessions};
use tower_http::request_id::RequestId;

use crate::error::ApiError;
use crate::state::AppState;

/// `axum::Json`, with malformed JSON → 400 `malformed_json`, a wrong content type →
/// 415, a body over the size limit → 413, a string holding a control character → 422
/// naming the field, and a body of the wrong shape (missing or unknown fields, wrong
/// types) → 422.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest(e.body_text())
            }
        })?;
        let mut value: Value =
            serde_json::from_slice(&bytes).map_err(|e| ApiError::MalformedJson(e.to_string()))?;
        integral_numbers(&mut value);
        if let Some(field) = control_character_in(&value, "") {
            return Err(FieldErrors::single(&field, "control_character").into());
        }
        // Every body the API reads is an object; serde alone would also take an array
        // of the fields' values in order.
        if !value.is_object() {
            return Err(WorkflowError::Invalid("the body must be a JSON object".into()).into());
        }
        T::deserialize(value)
            .map(Json)
            .map_err(|e| WorkflowError::Invalid(e.to_string()).into())
    }
}

/// `12.0` is the integer 12 to JSON Schema (and to JavaScript); serde would refuse it
/// for an integer field. Whole numbers written with a fraction become integers.
fn integral_numbers(value: &mut Value) {
    match value {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|_| n.is_f64()) {
                // Exactly representable: |f| < 2^53.
                if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
                    #[allow(clippy::cast_possible_truncation)]
                    let i = f as i64;
                    *n = serde_json::Number::from(i);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        Value::Object(map) => map.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

/// A character no text field or parameter accepts: C0 controls but tab, line feed and
/// carriage return (which multi-line text needs), DEL, and the C1 controls. Postgres
/// refuses NUL in text; the others are never meant and break logs, CSVs and screens.
pub fn is_forbidden_char(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

/// The dotted path (`lines.0.product_id`) of the first string — or object key — that
/// holds a forbidden character.
fn control_character_in(value: &Value, path: &str) -> Option<String> {
    let bad = |s: &str| s.chars().any(is_forbidden_char);
    let field = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::String(s) if bad(s) => Some(if path.is_empty() {
            "body".into()
        } else {
            path.to_owned()
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| control_character_in(v, &field(&i.to_string()))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let p = field(k);
            if bad(k) {
                return Some(p);
            }
            control_character_in(v, &p)
        }),
        _ => None,
    }
}

/// One rule at the edge for the URL: a path or query string whose percent-decoded text
/// holds a forbidden character, or is not UTF-8, answers 422 before any handler runs.
pub async fn reject_control_characters(req: Request, next: Next) -> Response {
    let uri = req.uri();
    for (location, raw) in [("path", Some(uri.path())), ("query", uri.query())] {
        let Some(raw) = raw else { continue };
        let ok = std::str::from_utf8(&percent_decode(raw))
            .map(|text| !text.chars().any(is_forbidden_char))
            .unwrap_or(false);
        if !ok {
            return ApiError::Workflow(WorkflowError::Unprocessable {
                code: "invalid_characters",
                details: serde_json::json!({ "location": location }),
            })
            .into_response();
        }
    }
    next.run(req).await
}

fn percent_decode(raw: &str) -> Vec<u8> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    out
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

/// `axum::extract::Path`, with a segment that does not parse (an id that is no UUID)
/// → 422 naming the parameter, in the one error shape.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        use axum::extract::path::ErrorKind;
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                let field = match e.kind() {
                    ErrorKind::ParseErrorAtKey { key, .. }
                    | ErrorKind::InvalidUtf8InPathParam { key }
                    | ErrorKind::DeserializeError { key, .. } => key.clone(),
                    _ => "path".to_owned(),
                };
                Err(FieldErrors::single(&field, "invalid").into())
            }
            Err(e) => Err(WorkflowError::Internal(e.body_text()).into()),
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
    /// What outbound calls made for this request carry into the call log.
    pub fn call_context(&self) -> tentabo_workflows::outbound::CallContext {
        tentabo_workflows::outbound::CallContext {
            job_id: None,
            request_id: self.request_id.clone(),
        }
    }

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
