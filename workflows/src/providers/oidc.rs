//! Single sign-on with an OpenID provider (Microsoft Entra ID, Keycloak, any certified
//! provider), with the `openidconnect` crate: authorization code flow with PKCE (S256),
//! `state` and `nonce`.
//!
//! Every HTTP call the crate makes (discovery, JWKS, token endpoint) goes through the
//! outbound layer ([`OidcClient::http`]): timeouts, breaker, call log. The provider's
//! metadata and keys are cached; a token signed with a key id the cache does not know
//! fetches the JWKS again once (key rotation), then verifies or is refused.
//!
//! The ID token is checked by the crate: signature against the JWKS, `alg` from the
//! configured allow-list (never `none`, never a MAC with the client secret unless
//! listed), `iss`, `aud` (and `azp` with several audiences), `exp`, `nonce`; `iat` may
//! not lie in the future beyond a minute of clock skew.
//!
//! Entra ID: the issuer is `https://login.microsoftonline.com/<tenant id>/v2.0`; a
//! multi-tenant app names `https://login.microsoftonline.com/{tenantid}/v2.0` (the
//! template Microsoft's `organizations` discovery document itself publishes), the
//! metadata is read from `…/organizations/v2.0`, and each token's `iss` must be the
//! template with the token's own `tid` (one of `allowed_tenants` when listed).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreJsonWebKeySet,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, IdToken, IdTokenVerifier, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, SignatureVerificationError, TokenResponse as _,
};
use schemars::JsonSchema;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::ldap::{GroupMapping, validate_mappings};
use super::registry::{Settings, is_http_url};
use crate::error::FieldErrors;
use crate::outbound::{BreakerSettings, Endpoint, Outbound, Request};
use crate::retry::RetryPolicy;
use crate::secrets::random_token;

pub const NAME: &str = "oidc";

/// The placeholder of a multi-tenant issuer.
pub const TENANT: &str = "{tenantid}";

/// How long discovered metadata is kept before it is read again.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// A key id still unknown after a JWKS refresh is not refetched again for this long.
const UNKNOWN_KID_BACKOFF: Duration = Duration::from_secs(60);
/// Clock skew allowed on `iat`.
const SKEW: chrono::Duration = chrono::Duration::seconds(60);

/// The provider's settings (the client secret is a credential).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OidcSettings {
    /// What the login button says: "Sign in with <label>".
    #[serde(default = "default_label")]
    #[schemars(length(min = 1, max = 60))]
    pub label: String,
    /// The issuer (`iss`), e.g. `https://login.microsoftonline.com/<tenant id>/v2.0`;
    /// `{tenantid}` in it makes a multi-tenant configuration.
    #[schemars(length(min = 8, max = 500))]
    pub issuer: String,
    /// Where the metadata is read when it is not `<issuer>/.well-known/…` (empty: the
    /// issuer's; a multi-tenant Entra app: `https://login.microsoftonline.com/organizations/v2.0`).
    #[serde(default)]
    pub discovery_base: Option<String>,
    /// The application (client) id registered at the provider.
    #[schemars(length(min = 1, max = 200))]
    pub client_id: String,
    /// Tentabo's public address (`https://prm.example.com`); the redirect URI to
    /// register is `<public_url>/api/v1/auth/sso/oidc/callback`.
    #[schemars(length(min = 8, max = 500))]
    pub public_url: String,
    /// Scopes asked for (`openid` is always added).
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// Signature algorithms accepted on ID tokens.
    #[serde(default = "default_algs")]
    pub allowed_algs: Vec<String>,
    /// With a multi-tenant issuer: the tenant ids (`tid`) allowed (empty: any).
    #[serde(default)]
    pub allowed_tenants: Vec<String>,
    /// The claim whose values the role table maps (`roles`: Entra app roles; `groups`:
    /// group object ids).
    #[serde(default = "default_role_claim")]
    #[schemars(length(min = 1, max = 100))]
    pub role_claim: String,
    /// Claim values → role and organisation: the first row the user has wins; a user
    /// with none may not log in.
    #[serde(default)]
    pub role_mappings: Vec<GroupMapping>,
    /// Link a login to an existing Tentabo user with the same (verified) email.
    #[serde(default = "yes")]
    pub link_by_email: bool,
    /// Require `email_verified: true` to use the email (Entra ID sends no such claim:
    /// turn this off there; Entra's `email` is the account's, set by the tenant admin).
    #[serde(default = "yes")]
    pub require_verified_email: bool,
    /// Seconds before a call to the provider is abandoned.
    #[serde(default = "ten")]
    #[schemars(range(min = 1, max = 60))]
    pub timeout_seconds: u32,
}

fn default_label() -> String {
    "Microsoft".into()
}
fn default_scopes() -> Vec<String> {
    vec!["openid".into(), "email".into(), "profile".into()]
}
fn default_algs() -> Vec<String> {
    vec!["RS256".into()]
}
fn default_role_claim() -> String {
    "roles".into()
}
fn yes() -> bool {
    true
}
fn ten() -> u32 {
    10
}

fn parse_alg(name: &str) -> Option<CoreJwsSigningAlgorithm> {
    serde_json::from_value::<CoreJwsSigningAlgorithm>(serde_json::Value::String(name.into()))
        .ok()
        .filter(|a| *a != CoreJwsSigningAlgorithm::None)
}

impl Settings for OidcSettings {
    fn validate(&self, errors: &mut FieldErrors) {
        if !is_http_url(&self.issuer.replace(TENANT, "tenant")) {
            errors.add("configuration.issuer", "invalid_url");
        }
        if self.issuer.contains(TENANT) && self.discovery_base.is_none() {
            errors.add("configuration.discovery_base", "required");
        }
        if let Some(d) = &self.discovery_base
            && !is_http_url(d)
        {
            errors.add("configuration.discovery_base", "invalid_url");
        }
        if !is_http_url(&self.public_url) {
            errors.add("configuration.public_url", "invalid_url");
        }
        if self.allowed_algs.is_empty() {
            errors.add("configuration.allowed_algs", "required");
        }
        for (i, alg) in self.allowed_algs.iter().enumerate() {
            if parse_alg(alg).is_none() {
                errors.add(
                    &format!("configuration.allowed_algs.{i}"),
                    "unsupported_algorithm",
                );
            }
        }
        validate_mappings("role_mappings", &self.role_mappings, errors);
    }
}

impl OidcSettings {
    pub fn redirect_uri(&self) -> String {
        format!(
            "{}/api/v1/auth/sso/{NAME}/callback",
            self.public_url.trim_end_matches('/')
        )
    }
}

/// Claims beyond the standard ones that Tentabo reads (Entra ID's among them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExtraClaims {
    #[serde(default, flatten)]
    pub other: HashMap<String, serde_json::Value>,
}
impl AdditionalClaims for ExtraClaims {}

type Token = IdToken<
    ExtraClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// Why a login through the provider failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    /// The provider did not answer, or answered garbage: try again later.
    #[error("identity provider unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the code (expired, used, PKCE mismatch).
    #[error("the identity provider refused the code: {0}")]
    CodeRefused(String),
    /// The ID token failed a check (signature, alg, iss, aud, exp, iat, nonce).
    #[error("ID token refused: {0}")]
    TokenRefused(String),
    /// The configuration cannot work (a malformed URL).
    #[error("misconfigured: {0}")]
    Misconfigured(String),
}

/// A login started: the provider's URL, and what the callback needs to finish it.
pub struct Begun {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// Who the provider says logged in (from a verified ID token).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifiedIdentity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    /// The values of the configured role claim.
    pub role_values: Vec<String>,
    /// Entra ID's immutable object id and tenant id, when present.
    pub oid: Option<String>,
    pub tid: Option<String>,
}

impl VerifiedIdentity {
    /// The stable external id: Entra's `tid`/`oid` when present (stable across apps),
    /// else `iss` + `sub`.
    pub fn external_id(&self) -> String {
        match (&self.tid, &self.oid) {
            (Some(tid), Some(oid)) => format!("entra:{tid}:{oid}"),
            _ => format!("{}|{}", self.issuer, self.subject),
        }
    }
}

struct Discovered {
    metadata: CoreProviderMetadata,
    fetched: Instant,
}

/// The error type the crate's HTTP client hook needs.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpFailure(String);

/// The crate's HTTP client hook: every call through [`OidcClient::http`] (a boxed,
/// `Send` future, so request handlers awaiting it stay `Send`).
struct Via<'a>(&'a OidcClient);

impl<'c> openidconnect::AsyncHttpClient<'c> for Via<'_> {
    type Error = HttpFailure;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<openidconnect::HttpResponse, HttpFailure>>
                + Send
                + 'c,
        >,
    >;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(self.0.http(request))
    }
}

pub struct OidcClient {
    settings: OidcSettings,
    secret: SecretString,
    outbound: Outbound,
    retry: RetryPolicy,
    cache: tokio::sync::Mutex<Option<Arc<Discovered>>>,
    unknown_kids: Mutex<HashMap<String, Instant>>,
}

impl std::fmt::Debug for OidcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcClient")
            .field("issuer", &self.settings.issuer)
            .finish_non_exhaustive()
    }
}

impl OidcClient {
    pub fn new(
        settings: OidcSettings,
        secret: SecretString,
        outbound: Outbound,
        retry: RetryPolicy,
    ) -> OidcClient {
        OidcClient {
            settings,
            secret,
            outbound,
            retry,
            cache: tokio::sync::Mutex::new(None),
            unknown_kids: Mutex::new(HashMap::new()),
        }
    }

    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    fn endpoint(&self, base_url: String) -> Endpoint {
        Endpoint {
            provider: NAME.to_owned(),
            base_url,
            timeout: Duration::from_secs(u64::from(self.settings.timeout_seconds.max(1))),
            retry: self.retry,
            max_attempts: 2,
            rate: None,
            pacing: None,
            breaker: BreakerSettings {
                threshold: 5,
                cool_down: Duration::from_secs(30),
            },
        }
    }

    /// The crate's HTTP calls, made through the outbound layer.
    async fn http(
        &self,
        req: openidconnect::HttpRequest,
    ) -> Result<openidconnect::HttpResponse, HttpFailure> {
        let url = reqwest::Url::parse(&req.uri().to_string())
            .map_err(|e| HttpFailure(format!("bad URL: {e}")))?;
        let origin = url.origin().ascii_serialization();
        let mut path = url.path().to_owned();
        if let Some(q) = url.query() {
            path.push('?');
            path.push_str(q);
        }
        let template: &'static str = if path.contains("openid-configuration") {
            "/.well-known/openid-configuration"
        } else if req.method() == http::Method::POST {
            "{token_endpoint}"
        } else {
            "{jwks_uri}"
        };
        let mut out = Request::new(req.method().clone(), template, path);
        let form = req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if form {
            out = out.form(
                form_urlencoded::parse(req.body())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect(),
            );
        }
        for (name, value) in req.headers() {
            if name != http::header::CONTENT_TYPE && name != http::header::CONTENT_LENGTH {
                let mut value = value.clone();
                if name == http::header::AUTHORIZATION {
                    value.set_sensitive(true);
                }
                out.headers.push((name.clone(), value));
            }
        }
        let answer = self
            .outbound
            .send(&self.endpoint(origin), &out)
            .await
            .map_err(|e| HttpFailure(e.to_string()))?;
        let mut builder = http::Response::builder().status(answer.status);
        for (name, value) in &answer.headers {
            builder = builder.header(name, value);
        }
        builder
            .body(answer.body)
            .map_err(|e| HttpFailure(e.to_string()))
    }

    /// The issuer a token must carry: the configured one, or the template with the
    /// token's tenant.
    fn expected_issuer(&self, tid: Option<&str>) -> Result<String, OidcError> {
        if !self.settings.issuer.contains(TENANT) {
            return Ok(self.settings.issuer.clone());
        }
        let tid = tid.ok_or_else(|| {
            OidcError::TokenRefused("a multi-tenant issuer needs a `tid` claim".into())
        })?;
        if !self.settings.allowed_tenants.is_empty()
            && !self.settings.allowed_tenants.iter().any(|t| t == tid)
        {
            return Err(OidcError::TokenRefused(format!(
                "tenant {tid} is not allowed"
            )));
        }
        Ok(self.settings.issuer.replace(TENANT, tid))
    }

    async fn fetch_metadata(&self) -> Result<CoreProviderMetadata, OidcError> {
        let base = self
            .settings
            .discovery_base
            .clone()
            .unwrap_or_else(|| self.settings.issuer.clone());
        let url = format!(
            "{}/.well-known/openid-configuration",
            base.trim_end_matches('/')
        );
        let req = http::Request::builder()
            .method(http::Method::GET)
            .uri(&url)
            .header(http::header::ACCEPT, "application/json")
            .body(Vec::new())
            .map_err(|e| OidcError::Misconfigured(e.to_string()))?;
        let res = self
            .http(req)
            .await
            .map_err(|e| OidcError::Unavailable(e.0))?;
        if res.status() != http::StatusCode::OK {
            return Err(OidcError::Unavailable(format!(
                "discovery answered {}",
                res.status()
            )));
        }
        let mut metadata: CoreProviderMetadata = serde_json::from_slice(res.body())
            .map_err(|e| OidcError::Unavailable(format!("discovery document unreadable: {e}")))?;
        // The document must name the issuer we trust (the template itself for Entra's
        // multi-tenant document).
        if metadata.issuer().as_str().trim_end_matches('/')
            != self.settings.issuer.trim_end_matches('/')
        {
            return Err(OidcError::Misconfigured(format!(
                "the discovery document names the issuer {}, not {}",
                metadata.issuer().as_str(),
                self.settings.issuer
            )));
        }
        let jwks = self.fetch_jwks(&metadata).await?;
        metadata = metadata.set_jwks(jwks);
        Ok(metadata)
    }

    async fn fetch_jwks(
        &self,
        metadata: &CoreProviderMetadata,
    ) -> Result<CoreJsonWebKeySet, OidcError> {
        CoreJsonWebKeySet::fetch_async(metadata.jwks_uri(), &Via(self))
            .await
            .map_err(|e| OidcError::Unavailable(format!("JWKS: {e}")))
    }

    /// The provider's metadata and keys, cached for an hour (`refresh` reads the keys
    /// again now).
    async fn discovered(&self, refresh_keys: bool) -> Result<Arc<Discovered>, OidcError> {
        let mut cache = self.cache.lock().await;
        match cache.as_ref() {
            Some(d) if !refresh_keys && d.fetched.elapsed() < METADATA_TTL => Ok(d.clone()),
            Some(d) if refresh_keys => {
                let jwks = self.fetch_jwks(&d.metadata).await?;
                let fresh = Arc::new(Discovered {
                    metadata: d.metadata.clone().set_jwks(jwks),
                    fetched: d.fetched,
                });
                *cache = Some(fresh.clone());
                Ok(fresh)
            }
            _ => {
                let fresh = Arc::new(Discovered {
                    metadata: self.fetch_metadata().await?,
                    fetched: Instant::now(),
                });
                *cache = Some(fresh.clone());
                Ok(fresh)
            }
        }
    }

    fn client(
        &self,
        metadata: &CoreProviderMetadata,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        OidcError,
    > {
        Ok(CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(self.settings.client_id.clone()),
            Some(ClientSecret::new(self.secret.expose_secret().to_owned())),
        )
        .set_redirect_uri(
            RedirectUrl::new(self.settings.redirect_uri())
                .map_err(|e| OidcError::Misconfigured(e.to_string()))?,
        ))
    }

    /// The connection test: discovery and keys readable, the issuer as configured.
    pub async fn check(&self) -> Result<(), OidcError> {
        let d = self.discovered(false).await?;
        if d.metadata.jwks().keys().is_empty() {
            return Err(OidcError::Unavailable("the JWKS holds no key".into()));
        }
        Ok(())
    }

    /// Starts a login: the provider's authorization URL with a fresh `state`, `nonce`
    /// and PKCE challenge.
    pub async fn begin(&self) -> Result<Begun, OidcError> {
        let d = self.discovered(false).await?;
        let client = self.client(&d.metadata)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (state, nonce) = (random_token(32), random_token(32));
        let (s, n) = (state.clone(), nonce.clone());
        let mut auth = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(s.clone()),
                move || Nonce::new(n.clone()),
            )
            .set_pkce_challenge(challenge);
        for scope in self.settings.scopes.iter().filter(|s| *s != "openid") {
            auth = auth.add_scope(Scope::new(scope.clone()));
        }
        let (url, _, _) = auth.url();
        Ok(Begun {
            url: url.to_string(),
            state,
            nonce,
            pkce_verifier: verifier.secret().clone(),
        })
    }

    fn verifier<'a>(
        &'a self,
        d: &'a Discovered,
        issuer: String,
    ) -> Result<IdTokenVerifier<'a, openidconnect::core::CoreJsonWebKey>, OidcError> {
        let algs: Vec<CoreJwsSigningAlgorithm> = self
            .settings
            .allowed_algs
            .iter()
            .filter_map(|a| parse_alg(a))
            .collect();
        Ok(IdTokenVerifier::new_confidential_client(
            ClientId::new(self.settings.client_id.clone()),
            ClientSecret::new(self.secret.expose_secret().to_owned()),
            IssuerUrl::new(issuer).map_err(|e| OidcError::Misconfigured(e.to_string()))?,
            d.metadata.jwks().clone(),
        )
        .set_allowed_algs(algs)
        .set_issue_time_verifier_fn(|iat| {
            if iat > Utc::now() + SKEW {
                Err(format!("issued in the future ({iat})"))
            } else {
                Ok(())
            }
        }))
    }

    /// Finishes a login: exchanges the code (with the PKCE verifier) and verifies the
    /// ID token against the nonce the login started with.
    pub async fn finish(
        &self,
        code: &str,
        nonce: &str,
        pkce_verifier: &str,
    ) -> Result<VerifiedIdentity, OidcError> {
        let d = self.discovered(false).await?;
        let client = self.client(&d.metadata)?;
        let http = Via(self);
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| OidcError::Misconfigured(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&http)
            .await
            .map_err(|e| match e {
                openidconnect::RequestTokenError::ServerResponse(r) => {
                    OidcError::CodeRefused(r.error().to_string())
                }
                other => OidcError::Unavailable(other.to_string()),
            })?;
        let raw = response
            .id_token()
            .ok_or_else(|| OidcError::TokenRefused("the answer has no ID token".into()))?
            .to_string();
        let token: Token = raw
            .parse()
            .map_err(|e| OidcError::TokenRefused(format!("malformed ID token: {e}")))?;
        let nonce = Nonce::new(nonce.to_owned());
        match self.verify(&d, &token, &nonce) {
            Err(OidcError::TokenRefused(reason)) if reason.starts_with(NO_KEY) => {
                let kid = header_kid(&raw).unwrap_or_default();
                if !self.may_refetch(&kid) {
                    return Err(OidcError::TokenRefused(reason));
                }
                tracing::info!(kid = %kid, "ID token signed with an unknown key: reading the JWKS again");
                let fresh = self.discovered(true).await?;
                let outcome = self.verify(&fresh, &token, &nonce);
                if outcome.is_err() {
                    self.remember_unknown(kid);
                }
                outcome
            }
            other => other,
        }
    }

    fn may_refetch(&self, kid: &str) -> bool {
        let seen = self.unknown_kids.lock().unwrap_or_else(|p| p.into_inner());
        seen.get(kid)
            .is_none_or(|at| at.elapsed() >= UNKNOWN_KID_BACKOFF)
    }

    fn remember_unknown(&self, kid: String) {
        let mut seen = self.unknown_kids.lock().unwrap_or_else(|p| p.into_inner());
        seen.retain(|_, at| at.elapsed() < UNKNOWN_KID_BACKOFF);
        seen.insert(kid, Instant::now());
    }

    fn verify(
        &self,
        d: &Discovered,
        token: &Token,
        nonce: &Nonce,
    ) -> Result<VerifiedIdentity, OidcError> {
        // The tenant is read before verification only to pick the expected issuer; the
        // verification below checks the signature over it.
        let tid = unverified_claim(token, "tid");
        let issuer = self.expected_issuer(tid.as_deref())?;
        let verifier = self.verifier(d, issuer)?;
        let claims = token.claims(&verifier, nonce).map_err(refusal)?;
        let extra = &claims.additional_claims().other;
        let strings = |name: &str| -> Vec<String> {
            match extra.get(name) {
                Some(serde_json::Value::Array(items)) => items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
                Some(serde_json::Value::String(s)) => vec![s.clone()],
                _ => Vec::new(),
            }
        };
        let one = |name: &str| extra.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        Ok(VerifiedIdentity {
            issuer: claims.issuer().as_str().to_owned(),
            subject: claims.subject().as_str().to_owned(),
            email: claims.email().map(|e| e.as_str().to_lowercase()),
            email_verified: claims.email_verified().unwrap_or(false),
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned()),
            role_values: strings(&self.settings.role_claim),
            oid: one("oid"),
            tid: one("tid"),
        })
    }
}

const NO_KEY: &str = "no matching key";

fn refusal(e: ClaimsVerificationError) -> OidcError {
    match e {
        ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        ) => OidcError::TokenRefused(format!("{NO_KEY} in the provider's JWKS")),
        other => OidcError::TokenRefused(other.to_string()),
    }
}

/// A claim read from the token's payload without verifying it (never trusted alone).
fn unverified_claim(token: &Token, name: &str) -> Option<String> {
    let payload = token.to_string();
    let part = payload.split('.').nth(1)?;
    decode_json(part)?
        .get(name)
        .and_then(|v| v.as_str())
        .map(str::to_owned)
}

fn header_kid(raw: &str) -> Option<String> {
    decode_json(raw.split('.').next()?)?
        .get("kid")
        .and_then(|v| v.as_str())
        .map(str::to_owned)
}

fn decode_json(part: &str) -> Option<serde_json::Value> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(issuer: &str) -> OidcSettings {
        serde_json::from_value(serde_json::json!({
            "issuer": issuer,
            "client_id": "tentabo",
            "public_url": "https://prm.example.com/",
        }))
        .unwrap()
    }

    #[test]
    fn the_redirect_uri_follows_the_public_url() {
        assert_eq!(
            settings("https://idp.example.com").redirect_uri(),
            "https://prm.example.com/api/v1/auth/sso/oidc/callback"
        );
    }

    #[test]
    fn a_multi_tenant_issuer_takes_the_tokens_tenant_from_the_allowed_ones() {
        let mut s = settings("https://login.microsoftonline.com/{tenantid}/v2.0");
        s.discovery_base = Some("https://login.microsoftonline.com/organizations/v2.0".into());
        s.allowed_tenants = vec!["9188040d-6c67-4c5b-b112-36a304b66dad".into()];
        let client = OidcClient::new(
            s,
            SecretString::from("x"),
            Outbound::standalone(),
            RetryPolicy::default(),
        );
        assert_eq!(
            client
                .expected_issuer(Some("9188040d-6c67-4c5b-b112-36a304b66dad"))
                .unwrap(),
            "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"
        );
        assert!(matches!(
            client.expected_issuer(Some("00000000-0000-0000-0000-000000000000")),
            Err(OidcError::TokenRefused(_))
        ));
        assert!(client.expected_issuer(None).is_err());
    }

    #[test]
    fn settings_refuse_none_and_unknown_algorithms_and_bad_urls() {
        let mut s = settings("not a url");
        s.allowed_algs = vec!["none".into(), "RS256".into(), "XX999".into()];
        s.public_url = "prm".into();
        let mut errors = FieldErrors::default();
        s.validate(&mut errors);
        let text = format!("{errors:?}");
        for expected in [
            "configuration.issuer",
            "configuration.public_url",
            "configuration.allowed_algs.0",
            "configuration.allowed_algs.2",
        ] {
            assert!(text.contains(expected), "{expected} missing from {text}");
        }
        assert!(!text.contains("configuration.allowed_algs.1"), "{text}");
        let multi = settings("https://login.microsoftonline.com/{tenantid}/v2.0");
        let mut errors = FieldErrors::default();
        multi.validate(&mut errors);
        assert!(format!("{errors:?}").contains("configuration.discovery_base"));
    }
}
