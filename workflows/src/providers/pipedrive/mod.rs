//! Pipedrive (CRM): leads pushed as a Leads Inbox item or a deal, persons and
//! organizations found or created and linked, changes read back (pull and webhooks),
//! activities both ways.
//!
//! Protocol facts this client relies on (Pipedrive's published OpenAPI documents,
//! `../shared/specs/pipedrive/`): v2 (`{base}/api/v2`) for persons, organizations,
//! deals, activities, pipelines, stages, deal fields and the searches; v1
//! (`{base}/api/v1`) for leads, webhooks and `/users/me`. Answers are
//! `{success, data, additional_data}`; v2 lists page with `cursor`/`limit` (≤ 500) and
//! answer `additional_data.next_cursor`; v1 leads page with `start`/`limit`. The API
//! token travels in `x-api-token`; an OAuth access token as a bearer. Money is a JSON
//! number. Rate limits are announced in `x-ratelimit-remaining` / `x-ratelimit-reset`
//! (the outbound layer pauses before the budget runs out) and a 429 carries
//! `Retry-After`.
//!
//! Idempotency: Pipedrive has no client reference on its objects, so Tentabo adds one —
//! a deal custom field ("Tentabo reference", found by name or created once; Pipedrive's
//! leads share the deals' custom fields) holding `tentabo-lead-<uuid>`. Every create
//! first searches for it (exact match), so a job that timed out after Pipedrive
//! accepted the call finds the object on its retry. Persons are found by email and
//! organizations by name before one is created.

pub mod events;
pub mod oauth;
pub mod push;
pub mod webhook;
pub mod wire;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::ProviderError;
use super::registry::Settings;
use crate::error::FieldErrors;
use crate::outbound::{
    BreakerSettings, Endpoint, Outbound, OutboundError, Pacing, Rate, Request, Response,
};
use crate::retry::RetryPolicy;

pub use wire::{Activity, Deal, Lead, Organization, Person, Stage};

pub const NAME: &str = "pipedrive";
pub const DEFAULT_BASE_URL: &str = "https://api.pipedrive.com";
/// The largest page v2 lists answer.
pub const MAX_PAGE: u32 = 500;

/// How Tentabo authenticates to Pipedrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// A personal API token (credential `api_token`), sent as `x-api-token`.
    #[default]
    ApiToken,
    /// OAuth 2.0 (authorization code): the admin connects from the console; access and
    /// refresh tokens are stored sealed and refreshed before they expire.
    Oauth,
}

/// The Pipedrive stage each Tentabo lead state maps to (by name, in the configured
/// pipeline; a missing stage is created). States listed in `inbox_states` stay a Leads
/// Inbox item while no deal exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StageNames {
    #[serde(default = "stage_new")]
    #[schemars(length(min = 1, max = 255))]
    pub new: String,
    #[serde(default = "stage_contacted")]
    #[schemars(length(min = 1, max = 255))]
    pub contacted: String,
    #[serde(default = "stage_qualified")]
    #[schemars(length(min = 1, max = 255))]
    pub qualified: String,
    #[serde(default = "stage_proposal")]
    #[schemars(length(min = 1, max = 255))]
    pub proposal: String,
    #[serde(default = "stage_negotiation")]
    #[schemars(length(min = 1, max = 255))]
    pub negotiation: String,
}

impl Default for StageNames {
    fn default() -> Self {
        StageNames {
            new: stage_new(),
            contacted: stage_contacted(),
            qualified: stage_qualified(),
            proposal: stage_proposal(),
            negotiation: stage_negotiation(),
        }
    }
}

fn stage_new() -> String {
    "Lead In".into()
}
fn stage_contacted() -> String {
    "Contact Made".into()
}
fn stage_qualified() -> String {
    "Qualified".into()
}
fn stage_proposal() -> String {
    "Proposal Made".into()
}
fn stage_negotiation() -> String {
    "Negotiations Started".into()
}

impl StageNames {
    /// The stage name of an open lead state (`None` for won/lost, which keep their
    /// stage and set the deal's status).
    pub fn for_state(&self, state: &str) -> Option<&str> {
        match state {
            "new" => Some(&self.new),
            "contacted" => Some(&self.contacted),
            "qualified" => Some(&self.qualified),
            "proposal" => Some(&self.proposal),
            "negotiation" => Some(&self.negotiation),
            _ => None,
        }
    }
    /// The lead state a stage name maps to.
    pub fn state_of(&self, name: &str) -> Option<&'static str> {
        let n = name.trim();
        [
            (&self.new, "new"),
            (&self.contacted, "contacted"),
            (&self.qualified, "qualified"),
            (&self.proposal, "proposal"),
            (&self.negotiation, "negotiation"),
        ]
        .into_iter()
        .find(|(s, _)| s.trim().eq_ignore_ascii_case(n))
        .map(|(_, state)| state)
    }
}

/// The lead states that live in the Leads Inbox (before a deal exists).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InboxState {
    New,
    Contacted,
    Qualified,
    Proposal,
    Negotiation,
}

impl InboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            InboxState::New => "new",
            InboxState::Contacted => "contacted",
            InboxState::Qualified => "qualified",
            InboxState::Proposal => "proposal",
            InboxState::Negotiation => "negotiation",
        }
    }
}

/// What a Pipedrive change colliding with a local edit does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Conflicts {
    /// Pipedrive's change is applied; the conflict is recorded as applied.
    SourceWins,
    /// The local edit stays (and is pushed); the conflict is recorded as kept.
    LocalWins,
    /// Nothing changes until someone decides (the conflict waits, pending).
    #[default]
    Manual,
}

impl Conflicts {
    pub fn as_str(self) -> &'static str {
        match self {
            Conflicts::SourceWins => "source_wins",
            Conflicts::LocalWins => "local_wins",
            Conflicts::Manual => "manual",
        }
    }
}

/// Pipedrive's settings (API token, OAuth client secret and tokens, webhook password
/// are credentials, stored apart).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PipedriveSettings {
    /// API base URL: `https://<company>.pipedrive.com` or `https://api.pipedrive.com`
    /// (with OAuth, the `api_domain` Pipedrive answers replaces it).
    #[serde(default = "default_base_url")]
    #[schemars(url)]
    pub base_url: String,
    #[serde(default)]
    pub auth: AuthMode,
    /// OAuth: the app's client id (its secret is the credential `oauth_client_secret`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    pub oauth_client_id: Option<String>,
    #[serde(default = "default_authorize_url")]
    #[schemars(url)]
    pub oauth_authorize_url: String,
    #[serde(default = "default_token_url")]
    #[schemars(url)]
    pub oauth_token_url: String,
    /// The pipeline deals go to (found by name, created when missing).
    #[serde(default = "default_pipeline")]
    #[schemars(length(min = 1, max = 255))]
    pub pipeline: String,
    #[serde(default)]
    pub stages: StageNames,
    /// Lead states pushed as a Leads Inbox item while no deal exists.
    #[serde(default = "default_inbox")]
    pub inbox_states: Vec<InboxState>,
    /// Name of the deal custom field holding Tentabo's reference.
    #[serde(default = "default_reference_field")]
    #[schemars(length(min = 1, max = 255))]
    pub reference_field: String,
    /// Pipedrive user id that owns what Tentabo creates (default: the token's user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub owner_id: Option<i64>,
    /// Tentabo's public URL (`https://tentabo.example.com`): webhooks are registered
    /// at `<public_url>/api/v1/webhooks/pipedrive` on activation when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(url)]
    pub public_url: Option<String>,
    /// Register webhooks on activation (and remove them on deactivation).
    #[serde(default = "yes")]
    pub webhooks: bool,
    /// Deals created in Pipedrive by a user linked to a partner or distributor become
    /// Tentabo leads.
    #[serde(default)]
    pub import_partner_deals: bool,
    #[serde(default)]
    pub conflicts: Conflicts,
    /// Seconds before a call is abandoned.
    #[serde(default = "twenty")]
    #[schemars(range(min = 1, max = 120))]
    pub timeout_seconds: u32,
    /// Attempts per call (429, 5xx and timeouts are retried).
    #[serde(default = "four")]
    #[schemars(range(min = 1, max = 10))]
    pub max_attempts: u32,
    /// Calls per second, shared by every worker (Pipedrive's burst limit is per
    /// 2-second window and per plan).
    #[serde(default = "eight_per_second")]
    #[schemars(range(min = 0.1, max = 1000.0))]
    pub rate_limit_per_second: f64,
    /// Calls left in Pipedrive's window below which Tentabo waits for its reset.
    #[serde(default = "two")]
    #[schemars(range(min = 0, max = 1000))]
    pub rate_limit_reserve: u32,
    /// Consecutive failures that open the circuit breaker.
    #[serde(default = "five")]
    #[schemars(range(min = 1, max = 100))]
    pub breaker_threshold: u32,
    /// Seconds the breaker stays open before a probe call.
    #[serde(default = "thirty")]
    #[schemars(range(min = 1, max = 3600))]
    pub breaker_cool_down_seconds: u32,
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.into()
}
fn default_authorize_url() -> String {
    "https://oauth.pipedrive.com/oauth/authorize".into()
}
fn default_token_url() -> String {
    "https://oauth.pipedrive.com/oauth/token".into()
}
fn default_pipeline() -> String {
    "Tentabo".into()
}
fn default_inbox() -> Vec<InboxState> {
    vec![InboxState::New, InboxState::Contacted]
}
fn default_reference_field() -> String {
    "Tentabo reference".into()
}
fn yes() -> bool {
    true
}
fn twenty() -> u32 {
    20
}
fn thirty() -> u32 {
    30
}
fn two() -> u32 {
    2
}
fn four() -> u32 {
    4
}
fn five() -> u32 {
    5
}
fn eight_per_second() -> f64 {
    8.0
}

impl Settings for PipedriveSettings {
    fn validate(&self, errors: &mut FieldErrors) {
        if self.auth == AuthMode::Oauth && self.oauth_client_id.is_none() {
            errors.add("configuration.oauth_client_id", "required");
        }
        let names = [
            &self.stages.new,
            &self.stages.contacted,
            &self.stages.qualified,
            &self.stages.proposal,
            &self.stages.negotiation,
        ];
        for (i, a) in names.iter().enumerate() {
            if names[..i]
                .iter()
                .any(|b| b.trim().eq_ignore_ascii_case(a.trim()))
            {
                errors.add("configuration.stages", "duplicate_stage");
                break;
            }
        }
    }
}

impl PipedriveSettings {
    pub fn endpoint(&self, retry: RetryPolicy, base_url: &str, version: &str) -> Endpoint {
        Endpoint {
            provider: NAME.to_owned(),
            base_url: format!("{}/api/{version}", base_url.trim_end_matches('/')),
            timeout: Duration::from_secs(u64::from(self.timeout_seconds)),
            retry,
            max_attempts: self.max_attempts,
            rate: Some(Rate {
                per_second: self.rate_limit_per_second,
                burst: 1,
            }),
            pacing: Some(Pacing {
                remaining: "x-ratelimit-remaining",
                reset: "x-ratelimit-reset",
                reserve: self.rate_limit_reserve,
            }),
            breaker: BreakerSettings {
                threshold: self.breaker_threshold,
                cool_down: Duration::from_secs(u64::from(self.breaker_cool_down_seconds)),
            },
        }
    }

    pub fn is_inbox(&self, state: &str) -> bool {
        self.inbox_states.iter().any(|s| s.as_str() == state)
    }

    /// Where Pipedrive delivers webhooks, when a public URL is configured.
    pub fn webhook_url(&self) -> Option<String> {
        self.public_url
            .as_deref()
            .map(|u| format!("{}/api/v1/webhooks/pipedrive", u.trim_end_matches('/')))
    }
}

/// How requests are authenticated.
#[derive(Clone)]
pub enum Auth {
    Token(SecretString),
    OAuth(Arc<oauth::Session>),
}

pub struct Pipedrive {
    outbound: Outbound,
    retry: RetryPolicy,
    auth: Auth,
    settings: PipedriveSettings,
    /// The reference field's key, once known.
    reference_key: tokio::sync::OnceCell<String>,
    /// The Pipedrive user Tentabo calls as, once known.
    me: tokio::sync::OnceCell<i64>,
    /// The pipeline's id and its stages (id, name), once known.
    stages: tokio::sync::Mutex<Option<(i64, Vec<Stage>)>>,
}

impl std::fmt::Debug for Pipedrive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipedrive")
            .field("base_url", &self.settings.base_url)
            .finish_non_exhaustive()
    }
}

/// Tentabo's reference on a lead's Pipedrive lead and deal.
pub fn lead_reference(lead_id: uuid::Uuid) -> String {
    format!("tentabo-lead-{lead_id}")
}

fn transient(e: OutboundError) -> ProviderError {
    ProviderError::Transient(e.to_string())
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: Option<String>,
    message: Option<String>,
}

/// A refusal's reason, from Pipedrive's error body (`error` or `message`).
pub(crate) fn refusal(what: &str, res: &Response) -> ProviderError {
    let reason = res
        .json::<ErrorBody>()
        .ok()
        .and_then(|b| b.error.or(b.message))
        .unwrap_or_else(|| res.snippet(200));
    let reason: String = reason.chars().take(300).collect();
    match res.status {
        401 => ProviderError::Permanent(format!("Pipedrive refused the credentials ({reason})")),
        403 => ProviderError::Permanent(format!(
            "the credentials may not {what} (missing scope or permission: {reason})"
        )),
        s => ProviderError::Permanent(format!("Pipedrive refused to {what}: HTTP {s}: {reason}")),
    }
}

fn malformed(what: &str, e: serde_json::Error) -> ProviderError {
    ProviderError::Transient(format!("malformed Pipedrive answer to {what}: {e}"))
}

/// `{success, data, additional_data}`.
#[derive(Debug, Deserialize)]
struct Envelope<T> {
    data: T,
    #[serde(default)]
    additional_data: Option<Additional>,
}

/// `additional_data`: v2's cursor, or v1's offset paging — nested under `pagination`
/// (what the servers answer) or flat (what the v1 document describes).
#[derive(Debug, Default, Deserialize)]
struct Additional {
    next_cursor: Option<String>,
    pagination: Option<V1Pagination>,
    #[serde(flatten)]
    flat: V1Pagination,
}

#[derive(Debug, Default, Deserialize)]
struct V1Pagination {
    #[serde(default)]
    more_items_in_collection: bool,
    next_start: Option<i64>,
    start: Option<i64>,
    limit: Option<i64>,
}

impl V1Pagination {
    fn next(&self) -> Option<i64> {
        if !self.more_items_in_collection {
            return None;
        }
        self.next_start
            .or_else(|| Some(self.start.unwrap_or(0) + self.limit?))
    }
}

#[derive(Debug, Deserialize)]
struct SearchData {
    items: Vec<SearchItem>,
}

#[derive(Debug, Deserialize)]
struct SearchItem {
    item: SearchHit,
}

#[derive(Debug, Deserialize)]
struct SearchHit {
    id: Value,
}

#[derive(Debug, Deserialize)]
struct Field {
    field_name: String,
    field_code: String,
}

/// A page of a v2 list: its items (raw, for the lake) and the next cursor.
#[derive(Debug)]
pub struct RawPage {
    pub items: Vec<Box<serde_json::value::RawValue>>,
    pub next: Option<String>,
}

/// Money as Pipedrive's JSON number (exact up to 15 significant digits, which Tentabo's
/// amount limits keep to).
pub fn money(d: Decimal) -> Value {
    serde_json::Number::from_str(&d.normalize().to_string())
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// A Pipedrive JSON number read as a decimal (through its text, never a float sum).
pub fn decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => {
            let s = n.to_string();
            Decimal::from_str(&s)
                .or_else(|_| Decimal::from_scientific(&s))
                .ok()
        }
        Value::String(s) => Decimal::from_str(s.trim()).ok(),
        _ => None,
    }
}

/// Pipedrive's times: RFC 3339 (v2), or `YYYY-MM-DD HH:MM:SS` in UTC (v1).
pub fn time(v: Option<&str>) -> Option<DateTime<Utc>> {
    let s = v?.trim();
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
                .ok()
                .map(|t| t.and_utc())
        })
}

pub fn date(v: Option<&str>) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(v?.trim(), "%Y-%m-%d").ok()
}

impl Pipedrive {
    pub fn new(
        outbound: Outbound,
        settings: PipedriveSettings,
        auth: Auth,
        retry: RetryPolicy,
    ) -> Pipedrive {
        Pipedrive {
            outbound,
            retry,
            auth,
            settings,
            reference_key: tokio::sync::OnceCell::new(),
            me: tokio::sync::OnceCell::new(),
            stages: tokio::sync::Mutex::new(None),
        }
    }

    pub fn settings(&self) -> &PipedriveSettings {
        &self.settings
    }

    pub fn outbound(&self) -> &Outbound {
        &self.outbound
    }

    fn endpoint(&self, version: &str, base_url: &str) -> Endpoint {
        self.settings.endpoint(self.retry, base_url, version)
    }

    /// One call to `/api/<version>`, authenticated; with OAuth, a 401 refreshes the
    /// access token once and tries again.
    async fn call(&self, version: &str, req: Request) -> Result<Response, ProviderError> {
        match &self.auth {
            Auth::Token(token) => {
                let mut value = HeaderValue::from_str(token.expose_secret()).map_err(|_| {
                    ProviderError::Permanent("the API token has invalid characters".into())
                })?;
                value.set_sensitive(true);
                let mut req = req;
                req.headers
                    .push((HeaderName::from_static("x-api-token"), value));
                let ep = self.endpoint(version, &self.settings.base_url);
                self.outbound.send(&ep, &req).await.map_err(transient)
            }
            Auth::OAuth(session) => {
                let (token, domain) = session.access(false).await?;
                let ep = self.endpoint(
                    version,
                    domain.as_deref().unwrap_or(&self.settings.base_url),
                );
                let res = self
                    .outbound
                    .send(&ep, &req.clone().bearer(&token))
                    .await
                    .map_err(transient)?;
                if res.status != 401 {
                    return Ok(res);
                }
                let (token, domain) = session.access(true).await?;
                let ep = self.endpoint(
                    version,
                    domain.as_deref().unwrap_or(&self.settings.base_url),
                );
                self.outbound
                    .send(&ep, &req.bearer(&token))
                    .await
                    .map_err(transient)
            }
        }
    }

    async fn data<T: serde::de::DeserializeOwned>(
        &self,
        version: &str,
        what: &str,
        req: Request,
    ) -> Result<T, ProviderError> {
        let res = self.call(version, req).await?;
        if !res.is_success() {
            return Err(refusal(what, &res));
        }
        res.json::<Envelope<T>>()
            .map(|e| e.data)
            .map_err(|e| malformed(what, e))
    }

    /// The connection test: `GET /users/me`.
    pub async fn me(&self) -> Result<Value, ProviderError> {
        self.data("v1", "read its own user", Request::get("/users/me"))
            .await
    }

    /// The id of the Pipedrive user Tentabo calls as (cached).
    pub async fn my_user_id(&self) -> Result<i64, ProviderError> {
        self.me
            .get_or_try_init(|| async {
                self.me()
                    .await?
                    .get("id")
                    .and_then(Value::as_i64)
                    .ok_or_else(|| ProviderError::Transient("`/users/me` answered no id".into()))
            })
            .await
            .copied()
    }

    // ── searches ──────────────────────────────────────────────────────────────────

    async fn search(
        &self,
        template: &'static str,
        term: &str,
        field: &str,
        what: &str,
    ) -> Result<Option<Value>, ProviderError> {
        // Pipedrive searches need at least two characters (one with exact_match).
        if term.trim().is_empty() {
            return Ok(None);
        }
        let data: SearchData = self
            .data(
                "v2",
                what,
                Request::get(template)
                    .query("term", term.trim())
                    .query("fields", field)
                    .query("exact_match", "true")
                    .query("limit", "2"),
            )
            .await?;
        Ok(data.items.into_iter().next().map(|i| i.item.id))
    }

    pub async fn find_person_by_email(&self, email: &str) -> Result<Option<i64>, ProviderError> {
        Ok(self
            .search("/persons/search", email, "email", "search persons")
            .await?
            .and_then(|v| v.as_i64()))
    }

    pub async fn find_organization_by_name(
        &self,
        name: &str,
    ) -> Result<Option<i64>, ProviderError> {
        Ok(self
            .search(
                "/organizations/search",
                name,
                "name",
                "search organizations",
            )
            .await?
            .and_then(|v| v.as_i64()))
    }

    pub async fn find_deal_by_reference(
        &self,
        reference: &str,
    ) -> Result<Option<i64>, ProviderError> {
        Ok(self
            .search("/deals/search", reference, "custom_fields", "search deals")
            .await?
            .and_then(|v| v.as_i64()))
    }

    pub async fn find_lead_by_reference(
        &self,
        reference: &str,
    ) -> Result<Option<String>, ProviderError> {
        Ok(self
            .search("/leads/search", reference, "custom_fields", "search leads")
            .await?
            .and_then(|v| v.as_str().map(str::to_owned)))
    }

    // ── persons and organizations ─────────────────────────────────────────────────

    pub async fn create_person(
        &self,
        name: &str,
        email: &str,
        phone: Option<&str>,
        org_id: Option<i64>,
    ) -> Result<Person, ProviderError> {
        let mut body = json!({
            "name": name,
            "emails": [{ "value": email, "primary": true, "label": "work" }],
        });
        if let Some(p) = phone.filter(|p| !p.trim().is_empty()) {
            body["phones"] = json!([{ "value": p, "primary": true, "label": "work" }]);
        }
        if let Some(o) = org_id {
            body["org_id"] = json!(o);
        }
        if let Some(owner) = self.settings.owner_id {
            body["owner_id"] = json!(owner);
        }
        self.data(
            "v2",
            "create a person",
            Request::new(Method::POST, "/persons", "/persons").json(body),
        )
        .await
    }

    pub async fn create_organization(&self, name: &str) -> Result<Organization, ProviderError> {
        let mut body = json!({ "name": name });
        if let Some(owner) = self.settings.owner_id {
            body["owner_id"] = json!(owner);
        }
        self.data(
            "v2",
            "create an organization",
            Request::new(Method::POST, "/organizations", "/organizations").json(body),
        )
        .await
    }

    /// One person (v2), `None` when gone.
    pub async fn person(&self, id: i64) -> Result<Option<Value>, ProviderError> {
        self.one("/persons/{id}", format!("/persons/{id}"), "a person")
            .await
    }

    /// One organization (v2), `None` when gone.
    pub async fn organization(&self, id: i64) -> Result<Option<Value>, ProviderError> {
        self.one(
            "/organizations/{id}",
            format!("/organizations/{id}"),
            "an organization",
        )
        .await
    }

    async fn one(
        &self,
        template: &'static str,
        path: String,
        what: &str,
    ) -> Result<Option<Value>, ProviderError> {
        let res = self
            .call("v2", Request::new(Method::GET, template, path))
            .await?;
        match res.status {
            404 | 410 => Ok(None),
            _ if res.is_success() => res
                .json::<Envelope<Value>>()
                .map(|e| Some(e.data))
                .map_err(|e| malformed(what, e)),
            _ => Err(refusal(&format!("read {what}"), &res)),
        }
    }

    // ── deals ─────────────────────────────────────────────────────────────────────

    pub async fn deal(&self, id: i64) -> Result<Option<Deal>, ProviderError> {
        let res = self
            .call(
                "v2",
                Request::new(Method::GET, "/deals/{id}", format!("/deals/{id}"))
                    .query("custom_fields", self.reference_key().await?),
            )
            .await?;
        match res.status {
            404 | 410 => Ok(None),
            _ if res.is_success() => res
                .json::<Envelope<Deal>>()
                .map(|e| Some(e.data))
                .map_err(|e| malformed("a deal", e)),
            _ => Err(refusal("read a deal", &res)),
        }
    }

    pub async fn deal_raw(
        &self,
        id: i64,
    ) -> Result<Option<Box<serde_json::value::RawValue>>, ProviderError> {
        #[derive(Deserialize)]
        struct Raw {
            data: Box<serde_json::value::RawValue>,
        }
        let res = self
            .call(
                "v2",
                Request::new(Method::GET, "/deals/{id}", format!("/deals/{id}")),
            )
            .await?;
        match res.status {
            404 | 410 => Ok(None),
            _ if res.is_success() => res
                .json::<Raw>()
                .map(|r| Some(r.data))
                .map_err(|e| malformed("a deal", e)),
            _ => Err(refusal("read a deal", &res)),
        }
    }

    pub async fn create_deal(&self, body: Value) -> Result<Deal, ProviderError> {
        self.data(
            "v2",
            "create a deal",
            Request::new(Method::POST, "/deals", "/deals").json(body),
        )
        .await
    }

    pub async fn update_deal(&self, id: i64, body: Value) -> Result<Deal, ProviderError> {
        self.data(
            "v2",
            "update a deal",
            Request::new(Method::PATCH, "/deals/{id}", format!("/deals/{id}")).json(body),
        )
        .await
    }

    // ── leads (v1) ────────────────────────────────────────────────────────────────

    pub async fn lead(&self, id: &str) -> Result<Option<Lead>, ProviderError> {
        let res = self
            .call(
                "v1",
                Request::new(Method::GET, "/leads/{id}", format!("/leads/{id}")),
            )
            .await?;
        match res.status {
            404 | 410 => Ok(None),
            _ if res.is_success() => res
                .json::<Envelope<Lead>>()
                .map(|e| Some(e.data))
                .map_err(|e| malformed("a lead", e)),
            _ => Err(refusal("read a lead", &res)),
        }
    }

    pub async fn create_lead(&self, body: Value) -> Result<Lead, ProviderError> {
        self.data(
            "v1",
            "create a lead",
            Request::new(Method::POST, "/leads", "/leads").json(body),
        )
        .await
    }

    pub async fn update_lead(&self, id: &str, body: Value) -> Result<Lead, ProviderError> {
        self.data(
            "v1",
            "update a lead",
            Request::new(Method::PATCH, "/leads/{id}", format!("/leads/{id}")).json(body),
        )
        .await
    }

    // ── pipeline, stages, the reference field ─────────────────────────────────────

    /// The key of the deal custom field holding Tentabo's reference, created once.
    pub async fn reference_key(&self) -> Result<String, ProviderError> {
        self.reference_key
            .get_or_try_init(|| async {
                let name = self.settings.reference_field.trim();
                let mut cursor: Option<String> = None;
                loop {
                    let mut req = Request::get("/dealFields").query("limit", "500");
                    if let Some(c) = &cursor {
                        req = req.query("cursor", c.clone());
                    }
                    let res = self.call("v2", req).await?;
                    if !res.is_success() {
                        return Err(refusal("list deal fields", &res));
                    }
                    let page: Envelope<Vec<Field>> =
                        res.json().map_err(|e| malformed("deal fields", e))?;
                    if let Some(f) = page
                        .data
                        .iter()
                        .find(|f| f.field_name.trim().eq_ignore_ascii_case(name))
                    {
                        return Ok(f.field_code.clone());
                    }
                    match page.additional_data.and_then(|a| a.next_cursor) {
                        Some(c) if Some(&c) != cursor.as_ref() => cursor = Some(c),
                        _ => break,
                    }
                }
                let created: Field = self
                    .data(
                        "v2",
                        "create the reference field",
                        Request::new(Method::POST, "/dealFields", "/dealFields").json(json!({
                            "field_name": name,
                            "field_type": "varchar",
                        })),
                    )
                    .await?;
                Ok(created.field_code)
            })
            .await
            .cloned()
    }

    /// The configured pipeline's id and stages, found or created (cached).
    pub async fn pipeline(&self) -> Result<(i64, Vec<Stage>), ProviderError> {
        let mut cached = self.stages.lock().await;
        if let Some(p) = cached.as_ref() {
            return Ok(p.clone());
        }
        #[derive(Deserialize)]
        struct Pipeline {
            id: i64,
            name: String,
        }
        let name = self.settings.pipeline.trim();
        let pipelines: Vec<Pipeline> = self
            .data(
                "v2",
                "list pipelines",
                Request::get("/pipelines").query("limit", "500"),
            )
            .await?;
        let id = match pipelines
            .iter()
            .find(|p| p.name.trim().eq_ignore_ascii_case(name))
        {
            Some(p) => p.id,
            None => {
                let p: Pipeline = self
                    .data(
                        "v2",
                        "create the pipeline",
                        Request::new(Method::POST, "/pipelines", "/pipelines")
                            .json(json!({ "name": name })),
                    )
                    .await?;
                p.id
            }
        };
        let mut stages = self.stages_of(id).await?;
        for wanted in [
            &self.settings.stages.new,
            &self.settings.stages.contacted,
            &self.settings.stages.qualified,
            &self.settings.stages.proposal,
            &self.settings.stages.negotiation,
        ] {
            if !stages
                .iter()
                .any(|s| s.name.trim().eq_ignore_ascii_case(wanted.trim()))
            {
                let s: Stage = self
                    .data(
                        "v2",
                        "create a stage",
                        Request::new(Method::POST, "/stages", "/stages")
                            .json(json!({ "name": wanted.trim(), "pipeline_id": id })),
                    )
                    .await?;
                stages.push(s);
            }
        }
        *cached = Some((id, stages.clone()));
        Ok((id, stages))
    }

    async fn stages_of(&self, pipeline_id: i64) -> Result<Vec<Stage>, ProviderError> {
        self.data(
            "v2",
            "list stages",
            Request::get("/stages")
                .query("pipeline_id", pipeline_id.to_string())
                .query("limit", "500"),
        )
        .await
    }

    /// Every stage of every pipeline (a deal moved to another pipeline's stage reads
    /// its name from here).
    pub async fn stage_name(&self, stage_id: i64) -> Result<Option<String>, ProviderError> {
        let (_, stages) = self.pipeline().await?;
        if let Some(s) = stages.iter().find(|s| s.id == stage_id) {
            return Ok(Some(s.name.clone()));
        }
        // A stage added in Pipedrive since: read the pipeline's stages again.
        *self.stages.lock().await = None;
        let (_, stages) = self.pipeline().await?;
        Ok(stages
            .iter()
            .find(|s| s.id == stage_id)
            .map(|s| s.name.clone()))
    }

    // ── lists (the pull) ──────────────────────────────────────────────────────────

    /// A page of a v2 list (`/deals`, `/persons`, `/organizations`, `/activities`)
    /// changed since `since`, oldest change first.
    pub async fn changed_page(
        &self,
        template: &'static str,
        since: Option<DateTime<Utc>>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<RawPage, ProviderError> {
        #[derive(Deserialize)]
        struct Page {
            data: Vec<Box<serde_json::value::RawValue>>,
            #[serde(default)]
            additional_data: Option<Additional>,
        }
        let mut req = Request::get(template)
            .query("limit", limit.min(MAX_PAGE).to_string())
            .query("sort_by", "update_time")
            .query("sort_direction", "asc");
        if let Some(t) = since {
            req = req.query(
                "updated_since",
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            );
        }
        if let Some(c) = cursor {
            req = req.query("cursor", c);
        }
        let res = self.call("v2", req).await?;
        if !res.is_success() {
            return Err(refusal("list changes", &res));
        }
        let page: Page = res.json().map_err(|e| malformed(template, e))?;
        Ok(RawPage {
            items: page.data,
            next: page.additional_data.and_then(|a| a.next_cursor),
        })
    }

    /// A page of leads (v1 pages by offset), changed since `since`.
    pub async fn leads_page(
        &self,
        since: Option<DateTime<Utc>>,
        start: i64,
        limit: u32,
    ) -> Result<(Vec<Box<serde_json::value::RawValue>>, Option<i64>), ProviderError> {
        #[derive(Deserialize)]
        struct Page {
            data: Option<Vec<Box<serde_json::value::RawValue>>>,
            #[serde(default)]
            additional_data: Option<Additional>,
        }
        let mut req = Request::get("/leads")
            .query("limit", limit.min(MAX_PAGE).to_string())
            .query("start", start.to_string());
        if let Some(t) = since {
            req = req.query(
                "updated_since",
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            );
        }
        let res = self.call("v1", req).await?;
        if !res.is_success() {
            return Err(refusal("list leads", &res));
        }
        let page: Page = res.json().map_err(|e| malformed("/leads", e))?;
        let next = page.additional_data.and_then(|a| match &a.pagination {
            Some(p) => p.next(),
            None => a.flat.next(),
        });
        Ok((page.data.unwrap_or_default(), next))
    }

    // ── activities ────────────────────────────────────────────────────────────────

    pub async fn create_activity(&self, body: Value) -> Result<Activity, ProviderError> {
        self.data(
            "v2",
            "create an activity",
            Request::new(Method::POST, "/activities", "/activities").json(body),
        )
        .await
    }

    /// The activities of a deal (`deal_id`) or of an inbox item (`lead_id`).
    pub async fn activities_of(&self, key: &str, id: &str) -> Result<Vec<Activity>, ProviderError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut req = Request::get("/activities")
                .query(key, id)
                .query("limit", "500");
            if let Some(c) = &cursor {
                req = req.query("cursor", c.clone());
            }
            let res = self.call("v2", req).await?;
            if !res.is_success() {
                return Err(refusal("list a deal's activities", &res));
            }
            let page: Envelope<Vec<Activity>> =
                res.json().map_err(|e| malformed("activities", e))?;
            out.extend(page.data);
            match page.additional_data.and_then(|a| a.next_cursor) {
                Some(c) if Some(&c) != cursor.as_ref() => cursor = Some(c),
                _ => return Ok(out),
            }
        }
    }

    // ── webhooks (v1) ─────────────────────────────────────────────────────────────

    /// Registers one webhook per followed object at `url`, with HTTP Basic
    /// credentials; answers their ids.
    pub async fn register_webhooks(
        &self,
        url: &str,
        user: &str,
        password: &SecretString,
    ) -> Result<Vec<i64>, ProviderError> {
        #[derive(Deserialize)]
        struct Hook {
            id: i64,
        }
        let mut ids = Vec::new();
        for object in FOLLOWED {
            let hook: Hook = self
                .data(
                    "v1",
                    "register a webhook",
                    Request::new(Method::POST, "/webhooks", "/webhooks").json(json!({
                        "subscription_url": url,
                        "event_action": "*",
                        "event_object": object,
                        "name": format!("Tentabo {object} sync"),
                        "http_auth_user": user,
                        "http_auth_password": password.expose_secret(),
                        "version": "2.0",
                    })),
                )
                .await?;
            ids.push(hook.id);
        }
        Ok(ids)
    }

    /// Removes webhooks by id (one already gone counts as removed).
    pub async fn remove_webhooks(&self, ids: &[i64]) -> Result<(), ProviderError> {
        for id in ids {
            let res = self
                .call(
                    "v1",
                    Request::new(Method::DELETE, "/webhooks/{id}", format!("/webhooks/{id}")),
                )
                .await?;
            if !res.is_success() && res.status != 404 {
                return Err(refusal("remove a webhook", &res));
            }
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl super::CrmProvider for Pipedrive {
    fn name(&self) -> &str {
        NAME
    }

    async fn check(&self) -> Result<(), ProviderError> {
        self.me().await.map(|_| ())
    }

    async fn push_lead(
        &self,
        lead: &super::LeadSnapshot,
        _idempotency_key: &str,
    ) -> Result<super::CrmPushed, ProviderError> {
        push::push(self, lead).await
    }
}

/// A person's primary email (v2 `emails: [{value, primary}]`, v1 `email` likewise).
pub fn primary_email(person: &Value) -> Option<String> {
    let list = person
        .get("emails")
        .or_else(|| person.get("email"))?
        .as_array()?;
    list.iter()
        .find(|e| e.get("primary") == Some(&Value::Bool(true)))
        .or_else(|| list.first())
        .and_then(|e| e.get("value"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The objects Tentabo follows through webhooks.
pub const FOLLOWED: [&str; 5] = ["deal", "lead", "person", "organization", "activity"];

/// Ids in Pipedrive answers: numbers (v2) or strings (lead UUIDs, some v1 ids).
pub fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_goes_out_as_a_number_and_comes_back_exact() {
        let d = Decimal::new(1_234_550, 2);
        let v = money(d);
        assert_eq!(v.to_string(), "12345.5");
        assert_eq!(decimal(&v), Some(Decimal::new(123_455, 1)));
        assert_eq!(decimal(&json!(0.1)), Some(Decimal::new(1, 1)));
        assert_eq!(decimal(&json!("99.90")), Some(Decimal::new(9990, 2)));
        assert_eq!(decimal(&json!(null)), None);
    }

    #[test]
    fn times_read_in_both_api_versions() {
        assert!(time(Some("2026-11-02T10:00:00Z")).is_some());
        assert_eq!(
            time(Some("2026-11-02 10:00:00")),
            time(Some("2026-11-02T10:00:00Z"))
        );
        assert_eq!(time(Some("yesterday")), None);
        assert_eq!(time(None), None);
    }

    #[test]
    fn stages_map_both_ways_case_blind() {
        let s = StageNames::default();
        assert_eq!(s.for_state("proposal"), Some("Proposal Made"));
        assert_eq!(s.for_state("won"), None);
        assert_eq!(s.state_of(" proposal made "), Some("proposal"));
        assert_eq!(s.state_of("Demo Scheduled"), None);
    }

    #[test]
    fn duplicate_stage_names_and_oauth_without_client_are_refused() {
        let mut settings: PipedriveSettings = serde_json::from_value(json!({})).unwrap();
        settings.auth = AuthMode::Oauth;
        settings.stages.proposal = "qualified".into();
        let mut errors = FieldErrors::default();
        settings.validate(&mut errors);
        assert!(errors.0.contains_key("configuration.oauth_client_id"));
        assert!(errors.0.contains_key("configuration.stages"));
    }
}
