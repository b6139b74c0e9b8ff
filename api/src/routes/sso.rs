//! `/api/v1/auth/sso`: single sign-on with the active OpenID provider.
//!
//! `start` sends the browser to the provider (authorization code, PKCE, `state`,
//! `nonce`, the login remembered server-side, single use); the provider sends it back to
//! `callback`, which exchanges the code, verifies the ID token, creates or links the
//! user, and hands the console a one-time code in the URL — never a token. The console
//! exchanges it with `POST /sso/exchange` for the usual token pair (or the session
//! cookie). Failures send the browser to `/login?sso_error=<code>`.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use tentabo_workflows::WorkflowError;
use tentabo_workflows::audit;
use tentabo_workflows::error::{AuthFailure, FieldErrors};
use tentabo_workflows::identity::{external, organisations, sessions};
use tentabo_workflows::outbound::with_context;
use tentabo_workflows::providers::oidc::OidcError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, RequestMeta};
use crate::routes::auth::{TokenResponse, answer};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start))
        .routes(routes!(callback))
        .routes(routes!(exchange))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct StartParams {
    /// Where the console wants to land after the login (a path of the console).
    pub return_to: Option<String>,
}

/// A console path to come back to: relative, never another origin.
fn safe_return(path: Option<&str>) -> Option<String> {
    let p = path?.trim();
    let ok = p.starts_with('/')
        && !p.starts_with("//")
        && !p.contains('\\')
        && p.len() <= 500
        && p.chars().all(|c| !c.is_control());
    ok.then(|| p.to_owned())
}

fn to_login(code: &str) -> Response {
    let code: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect();
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, format!("/login?sso_error={code}"))],
    )
        .into_response()
}

/// Sends the browser to the provider's login page (302). Unknown or inactive provider:
/// 404; the provider not answering: back to the console's login page with
/// `sso_error=sso_unavailable`.
#[utoipa::path(get, path = "/api/v1/auth/sso/{provider}/start", tag = "auth",
    params(("provider" = String, Path, description = "the SSO provider (`oidc`)"), StartParams),
    responses((status = 302, description = "to the provider's authorization page", headers(("location" = String))),
              (status = 303, description = "to the console's login page with `sso_error` (provider unavailable)", headers(("location" = String))),
              (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(provider = %provider))]
async fn start(
    State(state): State<AppState>,
    meta: RequestMeta,
    Path(provider): Path<String>,
    Query(q): Query<StartParams>,
) -> Result<Response, ApiError> {
    let Some(client) = state.platform.sso(&provider).await? else {
        return Err(ApiError::NotFound);
    };
    let begun = match with_context(meta.call_context(), client.begin()).await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "SSO start failed");
            return Ok(to_login("sso_unavailable"));
        }
    };
    let mut conn = state.conn().await?;
    external::remember_login(
        &mut conn,
        &provider,
        &begun.state,
        &begun.nonce,
        &begun.pkce_verifier,
        safe_return(q.return_to.as_deref()).as_deref(),
    )
    .await?;
    Ok((StatusCode::FOUND, [(header::LOCATION, begun.url)]).into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    /// Set by the provider when the login failed or was refused.
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// The issuer (RFC 9207), when the provider sends it.
    pub iss: Option<String>,
}

/// Where the provider sends the browser back. Success: 303 to the console's
/// `/login/sso?code=<one-time code>`; failure: 303 to `/login?sso_error=<code>`
/// (`sso_state_invalid`, `sso_denied`, `sso_code_refused`, `sso_token_refused`,
/// `sso_unavailable`, `account_not_mapped`, `account_disabled`, `sso_email_unverified`,
/// …). Every failure is audited.
#[utoipa::path(get, path = "/api/v1/auth/sso/{provider}/callback", tag = "auth",
    params(("provider" = String, Path, description = "the SSO provider (`oidc`)"), CallbackParams),
    responses((status = 303, description = "to the console, with a one-time code or `sso_error`", headers(("location" = String)))))]
#[tracing::instrument(skip_all, fields(provider = %provider))]
async fn callback(
    State(state): State<AppState>,
    meta: RequestMeta,
    Path(provider): Path<String>,
    Query(q): Query<CallbackParams>,
) -> Result<Response, ApiError> {
    let mut conn = state.conn().await?;
    let fail = async |conn: &mut diesel_async::AsyncPgConnection,
                      reason: &str,
                      user: Option<uuid::Uuid>|
           -> Result<Response, ApiError> {
        tracing::info!(reason, "SSO login failed");
        audit::event(
            conn,
            meta.audit(None).entry(
                "login_failed",
                "user",
                user.map_or(String::new(), |u| u.to_string()),
                json!({ "provider": provider, "reason": reason }),
            ),
        )
        .await?;
        Ok(to_login(reason))
    };
    let Some(client) = state.platform.sso(&provider).await? else {
        return fail(&mut conn, "sso_not_active", None).await;
    };
    // The state is taken (used up) first: a replayed or forged callback finds nothing.
    let pending = match q.state.as_deref() {
        Some(s) => external::take_login(&mut conn, &provider, s).await?,
        None => None,
    };
    let Some(pending) = pending else {
        return fail(&mut conn, "sso_state_invalid", None).await;
    };
    if let Some(error) = &q.error {
        tracing::info!(error, description = ?q.error_description, "the provider refused the login");
        return fail(&mut conn, "sso_denied", None).await;
    }
    let Some(code) = q.code.as_deref().filter(|c| !c.is_empty()) else {
        return fail(&mut conn, "sso_code_missing", None).await;
    };
    if let Some(iss) = &q.iss
        && !client
            .settings()
            .issuer
            .contains(tentabo_workflows::providers::oidc::TENANT)
        && iss.trim_end_matches('/') != client.settings().issuer.trim_end_matches('/')
    {
        return fail(&mut conn, "sso_issuer_mismatch", None).await;
    }
    // No connection is held across the calls to the provider.
    drop(conn);
    let verified = with_context(
        meta.call_context(),
        client.finish(code, &pending.nonce, &pending.pkce_verifier),
    )
    .await;
    let mut conn = state.conn().await?;
    let identity = match verified {
        Ok(i) => i,
        Err(e) => {
            tracing::warn!(error = %e, "SSO callback refused");
            let reason = match e {
                OidcError::TokenRefused(_) => "sso_token_refused",
                OidcError::CodeRefused(_) => "sso_code_refused",
                OidcError::Unavailable(_) | OidcError::Misconfigured(_) => "sso_unavailable",
            };
            return fail(&mut conn, reason, None).await;
        }
    };
    let mapped = match external::map_sso_identity(&mut conn, client.settings(), &identity).await {
        Ok(m) => m,
        Err(WorkflowError::Unauthenticated(f)) => return fail(&mut conn, f.code(), None).await,
        Err(WorkflowError::Refused { code, .. }) => return fail(&mut conn, code, None).await,
        Err(e) => return Err(e.into()),
    };
    let user = match external::provision(&mut conn, &mapped, &meta.audit(None)).await {
        Ok(u) => u,
        Err(WorkflowError::Refused { code, .. }) => return fail(&mut conn, code, None).await,
        Err(e) => return Err(e.into()),
    };
    if !user.is_active || !organisations::organisation_active(&mut conn, &user).await? {
        return fail(&mut conn, "account_disabled", Some(user.id)).await;
    }
    let one_time = external::issue_code(&mut conn, user.id, &provider).await?;
    let mut to = format!("/login/sso?code={one_time}");
    if let Some(r) = pending.return_to {
        to.push_str("&return_to=");
        to.push_str(&form_urlencoded::byte_serialize(r.as_bytes()).collect::<String>());
    }
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExchangeRequest {
    /// The one-time code the callback put in the console's URL.
    #[schema(min_length = 1, max_length = 200)]
    pub code: String,
    /// Keep the refresh token in an httpOnly cookie instead of the body (the console).
    #[serde(default)]
    pub cookie: bool,
}

impl std::fmt::Debug for ExchangeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangeRequest").finish_non_exhaustive()
    }
}

/// Exchanges the one-time code of an SSO login for the usual token pair (once: a
/// replayed, unknown or expired code answers 401 `invalid_credentials`).
#[utoipa::path(post, path = "/api/v1/auth/sso/exchange", tag = "auth", request_body = ExchangeRequest,
    responses((status = 200, body = TokenResponse, headers(("set-cookie" = String, description = "the session cookie, when asked for"))),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn exchange(
    State(state): State<AppState>,
    meta: RequestMeta,
    Json(body): Json<ExchangeRequest>,
) -> Result<(HeaderMap, Json<TokenResponse>), ApiError> {
    let code = body.code.trim();
    if code.is_empty() || code.len() > 200 {
        return Err(FieldErrors::single("code", "required").into());
    }
    let mut conn = state.conn().await?;
    let user = match external::redeem_code(&mut conn, code).await {
        Ok(u) => u,
        Err(WorkflowError::Unauthenticated(f)) => {
            audit::event(
                &mut conn,
                meta.audit(None).entry(
                    "login_failed",
                    "user",
                    "",
                    json!({ "reason": f.code(), "via": "sso_exchange" }),
                ),
            )
            .await?;
            return Err(WorkflowError::Unauthenticated(f).into());
        }
        Err(e) => return Err(e.into()),
    };
    if !organisations::organisation_active(&mut conn, &user).await? {
        return Err(WorkflowError::Unauthenticated(AuthFailure::AccountDisabled).into());
    }
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
    Ok(answer(&state, tokens, body.cookie))
}

#[cfg(test)]
mod tests {
    use super::safe_return;

    #[test]
    fn only_console_paths_are_returned_to() {
        assert_eq!(safe_return(Some("/leads?x=1")), Some("/leads?x=1".into()));
        for bad in [
            "//evil.test",
            "https://evil.test",
            "/\\evil",
            "leads",
            "/a\nb",
        ] {
            assert_eq!(safe_return(Some(bad)), None, "{bad}");
        }
        assert_eq!(safe_return(None), None);
    }
}
