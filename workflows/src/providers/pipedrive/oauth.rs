//! OAuth 2.0 (authorization code) with Pipedrive: the admin is sent to Pipedrive's
//! authorization page ([`authorize_url`]) and comes back to Tentabo's callback with a
//! code, exchanged here for an access and a refresh token ([`exchange_code`]); the
//! [`Session`] keeps them, refreshes the access token a minute before it expires and
//! when Pipedrive answers 401, and hands every new pair to its [`TokenStore`] (sealed
//! in `provider_configs`). A refresh Pipedrive refuses (`invalid_grant`: the app was
//! uninstalled or the grant revoked) is reported to the store, which turns the
//! provider's health offline with the reason.
//!
//! Pipedrive's token endpoint: `POST` form-encoded, HTTP Basic with the app's client
//! id and secret; answers `{access_token, token_type, refresh_token, scope, expires_in,
//! api_domain}`.

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use chrono::{DateTime, Duration as Span, Utc};
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::{NAME, PipedriveSettings};
use crate::outbound::{Outbound, Request};
use crate::providers::ProviderError;
use crate::retry::RetryPolicy;

/// Refresh this long before the access token expires.
pub const REFRESH_AHEAD: Span = Span::seconds(60);

/// A token pair as stored (sealed, as JSON, in the credential `oauth_tokens`).
#[derive(Clone, Serialize, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_domain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("expires_at", &self.expires_at)
            .field("api_domain", &self.api_domain)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    pub fn to_secret(&self) -> SecretString {
        SecretString::from(serde_json::to_string(self).unwrap_or_default())
    }
    pub fn from_secret(s: &SecretString) -> Result<Tokens, ProviderError> {
        serde_json::from_str(s.expose_secret()).map_err(|_| {
            ProviderError::Permanent("the stored OAuth tokens are unreadable: connect again".into())
        })
    }
}

/// Where a session keeps its tokens between processes and restarts.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// The tokens stored now (another process may have refreshed them).
    async fn load(&self) -> Result<Option<Tokens>, ProviderError>;
    async fn save(&self, tokens: &Tokens) -> Result<(), ProviderError>;
    /// Pipedrive refused the grant: the provider is offline until an admin connects it
    /// again.
    async fn revoked(&self, reason: &str);
}

/// The OAuth client: the app's id and secret and Pipedrive's token endpoint.
#[derive(Clone)]
pub struct Client {
    pub client_id: String,
    pub client_secret: SecretString,
    pub token_url: String,
    pub authorize_url: String,
}

impl Client {
    pub fn from_settings(s: &PipedriveSettings, secret: SecretString) -> Option<Client> {
        Some(Client {
            client_id: s.oauth_client_id.clone()?,
            client_secret: secret,
            token_url: s.oauth_token_url.clone(),
            authorize_url: s.oauth_authorize_url.clone(),
        })
    }
}

/// The page the admin is sent to (`state` ties the callback to this request).
pub fn authorize_url(client: &Client, redirect_uri: &str, state: &str) -> String {
    let mut url = match reqwest::Url::parse(&client.authorize_url) {
        Ok(u) => u,
        Err(_) => return client.authorize_url.clone(),
    };
    url.query_pairs_mut()
        .append_pair("client_id", &client.client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", state);
    url.to_string()
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    refresh_token: Option<String>,
    expires_in: i64,
    api_domain: Option<String>,
    scope: Option<String>,
}

#[derive(Deserialize)]
struct TokenError {
    error: Option<String>,
    error_description: Option<String>,
    message: Option<String>,
}

/// Why the token endpoint refused.
#[derive(Debug)]
enum Refused {
    /// The grant (code or refresh token) is invalid, expired or revoked.
    Grant(String),
    Other(ProviderError),
}

async fn token_call(
    outbound: &Outbound,
    retry: RetryPolicy,
    client: &Client,
    form: Vec<(String, String)>,
    previous_refresh: Option<&str>,
) -> Result<Tokens, Refused> {
    let (base, path) = split_url(&client.token_url);
    let endpoint = crate::outbound::Endpoint {
        provider: format!("{NAME}_oauth"),
        base_url: base,
        timeout: std::time::Duration::from_secs(20),
        retry,
        max_attempts: 3,
        rate: None,
        pacing: None,
        breaker: Default::default(),
    };
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        client.client_id,
        client.client_secret.expose_secret()
    ));
    let mut auth = HeaderValue::from_str(&format!("Basic {basic}"))
        .map_err(|_| Refused::Other(ProviderError::Permanent("invalid client secret".into())))?;
    auth.set_sensitive(true);
    // A refresh may be sent again (Pipedrive keeps the refresh token); a code exchange
    // sent twice is refused the second time, which the admin sees as a failed connect.
    let mut req = Request::new(Method::POST, "/oauth/token", path)
        .form(form)
        .replayable();
    req.headers.push((AUTHORIZATION, auth));
    let res = outbound
        .send(&endpoint, &req)
        .await
        .map_err(|e| Refused::Other(ProviderError::Transient(e.to_string())))?;
    if !res.is_success() {
        let body = res.json::<TokenError>().ok();
        let reason = body
            .as_ref()
            .and_then(|b| {
                b.error_description
                    .clone()
                    .or_else(|| b.message.clone())
                    .or_else(|| b.error.clone())
            })
            .unwrap_or_else(|| res.snippet(200));
        let grant = body
            .as_ref()
            .and_then(|b| b.error.as_deref())
            .is_some_and(|e| e == "invalid_grant" || e == "unauthorized_client");
        return Err(if grant || res.status == 401 {
            Refused::Grant(reason)
        } else {
            Refused::Other(ProviderError::Permanent(format!(
                "Pipedrive's token endpoint refused: HTTP {}: {reason}",
                res.status
            )))
        });
    }
    let a: TokenAnswer = res.json().map_err(|e| {
        Refused::Other(ProviderError::Transient(format!(
            "malformed token answer: {e}"
        )))
    })?;
    let refresh_token = a
        .refresh_token
        .or_else(|| previous_refresh.map(str::to_owned))
        .ok_or_else(|| {
            Refused::Other(ProviderError::Permanent(
                "Pipedrive answered no refresh token".into(),
            ))
        })?;
    Ok(Tokens {
        access_token: a.access_token,
        refresh_token,
        expires_at: Utc::now() + Span::seconds(a.expires_in.max(0)),
        api_domain: a.api_domain.filter(|d| !d.trim().is_empty()),
        scope: a.scope,
    })
}

/// `https://host/prefix/oauth/token` → (`https://host/prefix`, `/oauth/token`).
fn split_url(url: &str) -> (String, String) {
    match url.find("://").map(|i| i + 3) {
        Some(start) => match url[start..].find('/') {
            Some(slash) => (
                url[..start + slash].to_owned(),
                url[start + slash..].to_owned(),
            ),
            None => (url.to_owned(), "/".to_owned()),
        },
        None => (url.to_owned(), "/".to_owned()),
    }
}

/// Exchanges the callback's code for tokens.
pub async fn exchange_code(
    outbound: &Outbound,
    retry: RetryPolicy,
    client: &Client,
    code: &str,
    redirect_uri: &str,
) -> Result<Tokens, ProviderError> {
    token_call(
        outbound,
        retry,
        client,
        vec![
            ("grant_type".into(), "authorization_code".into()),
            ("code".into(), code.to_owned()),
            ("redirect_uri".into(), redirect_uri.to_owned()),
        ],
        None,
    )
    .await
    .map_err(|e| match e {
        Refused::Grant(r) => ProviderError::Permanent(format!(
            "Pipedrive refused the authorization code ({r}): connect again"
        )),
        Refused::Other(e) => e,
    })
}

/// A live OAuth session: the current tokens, refreshed when needed.
pub struct Session {
    outbound: Outbound,
    retry: RetryPolicy,
    client: Client,
    tokens: tokio::sync::Mutex<Tokens>,
    store: Arc<dyn TokenStore>,
}

impl Session {
    pub fn new(
        outbound: Outbound,
        retry: RetryPolicy,
        client: Client,
        tokens: Tokens,
        store: Arc<dyn TokenStore>,
    ) -> Session {
        Session {
            outbound,
            retry,
            client,
            tokens: tokio::sync::Mutex::new(tokens),
            store,
        }
    }

    /// An access token valid for at least [`REFRESH_AHEAD`] (refreshed when `force`, after
    /// a 401), and the API domain Pipedrive named for it.
    pub async fn access(
        &self,
        force: bool,
    ) -> Result<(SecretString, Option<String>), ProviderError> {
        let mut tokens = self.tokens.lock().await;
        let stale = |t: &Tokens| t.expires_at - REFRESH_AHEAD <= Utc::now();
        if force || stale(&tokens) {
            // Another process may have refreshed already: take its pair if it is newer.
            if let Some(stored) = self.store.load().await?
                && stored.access_token != tokens.access_token
                && !stale(&stored)
            {
                *tokens = stored;
            } else {
                let fresh = token_call(
                    &self.outbound,
                    self.retry,
                    &self.client,
                    vec![
                        ("grant_type".into(), "refresh_token".into()),
                        ("refresh_token".into(), tokens.refresh_token.clone()),
                    ],
                    Some(&tokens.refresh_token),
                )
                .await;
                match fresh {
                    Ok(t) => {
                        self.store.save(&t).await?;
                        *tokens = t;
                    }
                    Err(Refused::Grant(reason)) => {
                        let reason = format!(
                            "the Pipedrive grant was revoked or expired ({reason}): connect again"
                        );
                        self.store.revoked(&reason).await;
                        return Err(ProviderError::Permanent(reason));
                    }
                    Err(Refused::Other(e)) => return Err(e),
                }
            }
        }
        Ok((
            SecretString::from(tokens.access_token.clone()),
            tokens.api_domain.clone(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_urls_split_into_base_and_path() {
        assert_eq!(
            split_url("https://oauth.pipedrive.com/oauth/token"),
            ("https://oauth.pipedrive.com".into(), "/oauth/token".into())
        );
        assert_eq!(
            split_url("http://127.0.0.1:9/x/oauth/token"),
            ("http://127.0.0.1:9".into(), "/x/oauth/token".into())
        );
    }

    #[test]
    fn the_authorize_url_carries_client_redirect_and_state() {
        let c = Client {
            client_id: "abc".into(),
            client_secret: SecretString::from("s".to_owned()),
            token_url: "https://oauth.pipedrive.com/oauth/token".into(),
            authorize_url: "https://oauth.pipedrive.com/oauth/authorize".into(),
        };
        let u = authorize_url(&c, "https://t.example/cb?x=1", "st&1");
        assert!(u.starts_with("https://oauth.pipedrive.com/oauth/authorize?client_id=abc&"));
        assert!(u.contains("redirect_uri=https%3A%2F%2Ft.example%2Fcb%3Fx%3D1"));
        assert!(u.contains("state=st%261"));
    }

    #[test]
    fn tokens_never_print_their_secrets() {
        let t = Tokens {
            access_token: "AAA".into(),
            refresh_token: "RRR".into(),
            expires_at: Utc::now(),
            api_domain: None,
            scope: None,
        };
        let shown = format!("{t:?}");
        assert!(!shown.contains("AAA") && !shown.contains("RRR"));
        let back = Tokens::from_secret(&t.to_secret()).unwrap();
        assert_eq!(back.refresh_token, "RRR");
    }
}
