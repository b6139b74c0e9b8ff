//! `/api/v1/auth`: login, refresh, logout, me.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tentabo_workflows::WorkflowError;
use tentabo_workflows::audit;
use tentabo_workflows::error::{AuthFailure, FieldErrors};
use tentabo_workflows::identity::{Email, Password, organisations, sessions, users};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{AuthUser, Json, RequestMeta};
use crate::routes::dto::UserDto;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(me))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    #[schema(min_length = 1, max_length = 256)]
    pub password: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

impl From<sessions::IssuedTokens> for TokenResponse {
    fn from(t: sessions::IssuedTokens) -> Self {
        TokenResponse {
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            token_type: "Bearer",
            expires_in: t.expires_in,
        }
    }
}

/// Logs in with email and password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn login(
    State(state): State<AppState>,
    meta: RequestMeta,
    Json(body): Json<LoginRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let (email, password) = match (
        Email::parse(&body.email),
        Password::presented(&body.password),
    ) {
        (Ok(e), Ok(p)) => (e, p),
        (e, p) => {
            let mut errors = FieldErrors::default();
            if let Err(code) = e {
                errors.add("email", code);
            }
            if let Err(code) = p {
                errors.add("password", code);
            }
            return Err(WorkflowError::Validation(errors).into());
        }
    };
    state
        .login_limiter
        .check(email.as_str(), meta.client_ip.as_deref())
        .await?;
    let outcome = state.auth_provider.authenticate(&email, &password).await;
    let mut conn = state.conn().await?;
    let user = match outcome {
        Ok(user) if organisations::organisation_active(&mut conn, &user).await? => user,
        Ok(user) => {
            audit_failure(
                &mut conn,
                &meta,
                &email,
                Some(user.id),
                "organisation_disabled",
            )
            .await?;
            return Err(WorkflowError::Unauthenticated(AuthFailure::AccountDisabled).into());
        }
        Err(WorkflowError::Unauthenticated(failure)) => {
            state.login_limiter.record_failure(email.as_str()).await;
            audit_failure(&mut conn, &meta, &email, None, failure.code()).await?;
            return Err(WorkflowError::Unauthenticated(failure).into());
        }
        Err(e) => return Err(e.into()),
    };
    state.login_limiter.reset(email.as_str()).await;
    let tokens = sessions::start(
        &mut conn,
        &state.tokens,
        &user,
        meta.client_ip.clone(),
        meta.user_agent.clone(),
        &meta.audit(Some(user.id)),
    )
    .await?;
    tracing::Span::current().record("user_id", tracing::field::display(user.id));
    tracing::info!(session_id = %tokens.session_id, "login succeeded");
    Ok(Json(tokens.into()))
}

async fn audit_failure(
    conn: &mut diesel_async::AsyncPgConnection,
    meta: &RequestMeta,
    email: &Email,
    user_id: Option<uuid::Uuid>,
    reason: &str,
) -> Result<(), WorkflowError> {
    tracing::info!(reason, "login failed");
    audit::event(
        conn,
        meta.audit(None).entry(
            "login_failed",
            "user",
            user_id.map_or(String::new(), |u| u.to_string()),
            json!({ "email": email.as_str(), "reason": reason }),
        ),
    )
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[schema(min_length = 1)]
    pub refresh_token: String,
}

/// Exchanges a refresh token for new tokens; the presented one is used up. Presenting
/// a used refresh token again revokes the whole session.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
async fn refresh(
    State(state): State<AppState>,
    meta: RequestMeta,
    Json(body): Json<RefreshRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    if body.refresh_token.trim().is_empty() {
        return Err(FieldErrors::single("refresh_token", "required").into());
    }
    let mut conn = state.conn().await?;
    match sessions::refresh(&mut conn, &state.tokens, body.refresh_token.trim()).await {
        Ok(tokens) => Ok(Json(tokens.into())),
        Err(WorkflowError::Unauthenticated(AuthFailure::RefreshTokenReused)) => {
            audit::event(
                &mut conn,
                meta.audit(None)
                    .entry("refresh_token_reused", "session", "", json!({})),
            )
            .await?;
            Err(WorkflowError::Unauthenticated(AuthFailure::RefreshTokenReused).into())
        }
        Err(e) => Err(e.into()),
    }
}

/// Ends the session of a refresh token (its access tokens stop working too).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204), (status = 422, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
async fn logout(
    State(state): State<AppState>,
    meta: RequestMeta,
    Json(body): Json<RefreshRequest>,
) -> Result<StatusCode, ApiError> {
    if body.refresh_token.trim().is_empty() {
        return Err(FieldErrors::single("refresh_token", "required").into());
    }
    let mut conn = state.conn().await?;
    sessions::logout(&mut conn, body.refresh_token.trim(), &meta.audit(None)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The authenticated user.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = UserDto), (status = 401, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn me(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
) -> Result<Json<UserDto>, ApiError> {
    let mut conn = state.conn().await?;
    let user = users::get(
        &mut conn,
        tentabo_workflows::authz::RowScope::All,
        who.user_id,
    )
    .await?;
    Ok(Json(user.into()))
}
