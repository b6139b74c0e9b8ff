//! `/api/v1/auth`: login, refresh, logout, me.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use tentabo_workflows::WorkflowError;
use tentabo_workflows::audit;
use tentabo_workflows::error::{AuthFailure, FieldErrors};
use tentabo_workflows::identity::auth::{AuthProvider, DatabaseAuthProvider, LdapAuthProvider};
use tentabo_workflows::identity::{Email, Password, organisations, sessions, users};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{AuthUser, Json, RequestMeta};
use crate::routes::dto::UserDto;
use crate::session_cookie;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(methods))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The account's email; while an LDAP directory is the active login provider, a
    /// directory user name (`uid`) too.
    #[schema(min_length = 1, max_length = 254)]
    pub email: String,
    #[schema(min_length = 1, max_length = 256)]
    pub password: String,
    /// Keep the refresh token in an httpOnly cookie instead of the body (the console).
    #[serde(default)]
    pub cookie: bool,
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
    /// `null` when the refresh token went into the session cookie.
    pub refresh_token: Option<String>,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

impl From<sessions::IssuedTokens> for TokenResponse {
    fn from(t: sessions::IssuedTokens) -> Self {
        TokenResponse {
            access_token: t.access_token,
            refresh_token: Some(t.refresh_token),
            token_type: "Bearer",
            expires_in: t.expires_in,
        }
    }
}

/// Logs in with email and password. With `"cookie": true` the refresh token is set as
/// an httpOnly, SameSite=Strict cookie on `/api/v1/auth` and the body's is `null`.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenResponse, headers(("set-cookie" = String, description = "the session cookie, when asked for"))),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn login(
    State(state): State<AppState>,
    meta: RequestMeta,
    Json(body): Json<LoginRequest>,
) -> Result<(HeaderMap, Json<TokenResponse>), ApiError> {
    let login = body.email.trim().to_lowercase();
    let mut errors = FieldErrors::default();
    if login.is_empty() {
        errors.add("email", "required");
    }
    let password = match Password::presented(&body.password) {
        Ok(p) if errors.is_empty() => p,
        Ok(_) => return Err(WorkflowError::Validation(errors).into()),
        Err(code) => {
            errors.add("password", code);
            return Err(WorkflowError::Validation(errors).into());
        }
    };
    // While a directory is active, a database account's email still goes to the
    // database (the break-glass admin logs in when the directory is down); anything
    // else goes to the directory. With no directory, a login that is not an email
    // identifies nobody: the database provider answers the same 401 as for an unknown
    // email, after the same argon2 run.
    let provider: Arc<dyn AuthProvider> = match state.platform.directory().await? {
        Some(dir) if !database_account(&state, Email::parse(&login).ok().as_ref()).await? => {
            Arc::new(LdapAuthProvider::new(state.db.clone(), dir))
        }
        _ => state.auth_provider.clone(),
    };
    state
        .login_limiter
        .check(&login, meta.client_ip.as_deref())
        .await?;
    let outcome = provider
        .authenticate(&login, &password, &meta.audit(None))
        .await;
    let mut conn = state.conn().await?;
    let user = match outcome {
        Ok(user) if organisations::organisation_active(&mut conn, &user).await? => user,
        Ok(user) => {
            audit_failure(
                &mut conn,
                &meta,
                &login,
                Some(user.id),
                "organisation_disabled",
            )
            .await?;
            return Err(WorkflowError::Unauthenticated(AuthFailure::AccountDisabled).into());
        }
        Err(WorkflowError::Unauthenticated(failure)) => {
            state.login_limiter.record_failure(&login).await;
            audit_failure(&mut conn, &meta, &login, None, failure.code()).await?;
            return Err(WorkflowError::Unauthenticated(failure).into());
        }
        Err(e) => return Err(e.into()),
    };
    state.login_limiter.reset(&login).await;
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
    Ok(answer(&state, tokens, body.cookie))
}

/// The token pair as the client asked for it: the refresh token in the body, or in the
/// session cookie (then `null` in the body).
pub(crate) fn answer(
    state: &AppState,
    tokens: sessions::IssuedTokens,
    cookie: bool,
) -> (HeaderMap, Json<TokenResponse>) {
    if !cookie {
        return (HeaderMap::new(), Json(tokens.into()));
    }
    let headers = session_cookie::set(
        &tokens.refresh_token,
        state.config.auth.refresh_ttl(),
        state.config.console.cookie_secure,
    );
    let mut body = TokenResponse::from(tokens);
    body.refresh_token = None;
    (headers, Json(body))
}

/// Whether an email belongs to a database account (those never go to the directory).
async fn database_account(state: &AppState, email: Option<&Email>) -> Result<bool, ApiError> {
    let Some(email) = email else {
        return Ok(false);
    };
    let mut conn = state.conn().await?;
    Ok(users::auth_provider_of(&mut conn, email.as_str())
        .await?
        .as_deref()
        == Some(DatabaseAuthProvider::NAME))
}

/// Audits a failed login. The login is kept as typed only when it is a plausible
/// email or user name: a hostile one (filter syntax, control characters) is recorded
/// by its length, never echoed into logs.
async fn audit_failure(
    conn: &mut diesel_async::AsyncPgConnection,
    meta: &RequestMeta,
    login: &str,
    user_id: Option<uuid::Uuid>,
    reason: &str,
) -> Result<(), WorkflowError> {
    tracing::info!(reason, "login failed");
    let plausible = login.len() <= 254
        && login
            .chars()
            .all(|c| c.is_alphanumeric() || "@.-_+'".contains(c));
    let email = if plausible {
        json!(login)
    } else {
        json!(format!("<{} characters withheld>", login.chars().count()))
    };
    audit::event(
        conn,
        meta.audit(None).entry(
            "login_failed",
            "user",
            user_id.map_or(String::new(), |u| u.to_string()),
            json!({ "email": email, "reason": reason }),
        ),
    )
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// Omitted (`{}`), the session cookie's refresh token is used.
    #[serde(default)]
    #[schema(min_length = 1)]
    pub refresh_token: Option<String>,
}

/// The refresh token a request presents: the body's, else the session cookie's
/// (`from_cookie`); a body that names an empty one is a field error.
fn presented(
    body: &RefreshRequest,
    headers: &HeaderMap,
) -> Result<Option<(String, bool)>, ApiError> {
    match body.refresh_token.as_deref().map(str::trim) {
        Some("") => Err(FieldErrors::single("refresh_token", "required").into()),
        Some(t) => Ok(Some((t.to_owned(), false))),
        None => Ok(session_cookie::read(headers).map(|t| (t, true))),
    }
}

/// Exchanges a refresh token (the body's, or the session cookie's when the body is
/// `{}`) for new tokens; the presented one is used up. Presenting a used refresh token
/// again revokes the whole session.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenResponse, headers(("set-cookie" = String, description = "the rotated session cookie, when the cookie was presented"))),
              (status = 401, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
async fn refresh(
    State(state): State<AppState>,
    meta: RequestMeta,
    headers: HeaderMap,
    Json(body): Json<RefreshRequest>,
) -> Result<(HeaderMap, Json<TokenResponse>), ApiError> {
    let Some((token, from_cookie)) = presented(&body, &headers)? else {
        return Err(WorkflowError::Unauthenticated(AuthFailure::MissingToken).into());
    };
    let mut conn = state.conn().await?;
    match sessions::refresh(&mut conn, &state.tokens, &token).await {
        Ok(tokens) => Ok(answer(&state, tokens, from_cookie)),
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

/// Ends the session of a refresh token (the body's, or the session cookie's when the
/// body is `{}`, which is then cleared); its access tokens stop working too.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204, headers(("set-cookie" = String, description = "clears the session cookie, when the cookie was presented"))),
              (status = 422, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
async fn logout(
    State(state): State<AppState>,
    meta: RequestMeta,
    headers: HeaderMap,
    Json(body): Json<RefreshRequest>,
) -> Result<(StatusCode, HeaderMap), ApiError> {
    let Some((token, from_cookie)) = presented(&body, &headers)? else {
        return Err(FieldErrors::single("refresh_token", "required").into());
    };
    let mut conn = state.conn().await?;
    sessions::logout(&mut conn, &token, &meta.audit(None)).await?;
    let cleared = if from_cookie {
        session_cookie::clear(state.config.console.cookie_secure)
    } else {
        HeaderMap::new()
    };
    Ok((StatusCode::NO_CONTENT, cleared))
}

/// The authenticated user and what they may do.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MeDto {
    #[serde(flatten)]
    pub user: UserDto,
    /// `object:action` pairs the caller's role allows (e.g. `lead:create`).
    pub permissions: Vec<String>,
}

/// The authenticated user, with their permissions.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = MeDto), (status = 401, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn me(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
) -> Result<Json<MeDto>, ApiError> {
    let mut conn = state.conn().await?;
    let user = users::get(
        &mut conn,
        tentabo_workflows::authz::RowScope::All,
        who.user_id,
    )
    .await?;
    Ok(Json(MeDto {
        user: user.into(),
        permissions: state.authz.permissions(&who),
    }))
}

/// A login a demo installation offers on its login page.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DemoLogin {
    pub email: String,
    pub full_name: String,
    pub role: String,
    pub password: String,
}

/// A single sign-on button the login page offers.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SsoMethod {
    /// The provider (`oidc`).
    pub provider: String,
    /// "Sign in with <label>".
    pub label: String,
    /// Where the browser goes to start (`GET`, a redirect to the provider).
    pub start_url: String,
}

/// How one may log in here.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AuthMethods {
    /// Email and password against Tentabo's own users: always on (the break-glass way).
    pub password: bool,
    /// An LDAP directory is active: the login field takes a directory user name (or
    /// email) too, checked against the directory.
    pub directory: bool,
    /// Single sign-on providers to offer ("Sign in with …").
    pub sso: Vec<SsoMethod>,
    /// The demo logins, when the server runs in demo mode (`TENTABO_DEMO`); else `null`.
    pub demo_logins: Option<Vec<DemoLogin>>,
}

/// The login methods the console should offer.
#[utoipa::path(get, path = "/api/v1/auth/methods", tag = "auth",
    responses((status = 200, body = AuthMethods), (status = 503, body = ErrorBody)))]
async fn methods(State(state): State<AppState>) -> Result<Json<AuthMethods>, ApiError> {
    use tentabo_workflows::providers::platform::Instance;
    let (directory, sso) = match state.platform.login_provider().await? {
        Some(Instance::Directory(_)) => (true, Vec::new()),
        Some(Instance::Sso(client)) => (
            false,
            vec![SsoMethod {
                provider: tentabo_workflows::providers::oidc::NAME.to_owned(),
                label: client.settings().label.clone(),
                start_url: format!(
                    "/api/v1/auth/sso/{}/start",
                    tentabo_workflows::providers::oidc::NAME
                ),
            }],
        ),
        _ => (false, Vec::new()),
    };
    let demo_logins = state.config.console.demo.then(|| {
        crate::seed::DEMO_LOGINS
            .iter()
            .map(|(email, full_name, role)| DemoLogin {
                email: (*email).to_owned(),
                full_name: (*full_name).to_owned(),
                role: (*role).to_owned(),
                password: crate::seed::DEMO_PASSWORD.to_owned(),
            })
            .collect()
    });
    Ok(Json(AuthMethods {
        password: true,
        directory,
        sso,
        demo_logins,
    }))
}
