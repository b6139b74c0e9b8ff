//! `/api/v1/providers/…` (admins): the providers this build knows, by kind; configure
//! one (settings checked field by field against its JSON Schema, credentials write-only:
//! answers say which are set, never their values), test it live, make it the active one
//! of its kind, read its health. And seed 000's Odoo integration endpoints
//! (`/api/v1/integrations/odoo/…`), which are the same operations on `erp/odoo` (a
//! model's live fields are in `routes::mappings`).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tentabo_workflows::WorkflowError;
use tentabo_workflows::audit;
use tentabo_workflows::authz::{Action, Actor, Object};
use tentabo_workflows::outbound::with_context;
use tentabo_workflows::providers::odoo::OdooClient;
use tentabo_workflows::providers::platform::{CheckOutcome, Instance};
use tentabo_workflows::providers::registry::{self, ProviderKind, ProviderSpec};
use tentabo_workflows::providers::store::{self, Configure, HealthCheck, StoredProvider};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{AuthUser, Json, Path, RequestMeta};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_providers))
        .routes(routes!(get_provider, put_provider, delete_provider))
        .routes(routes!(test_provider))
        .routes(routes!(activate_provider))
        .routes(routes!(deactivate_provider))
        .routes(routes!(provider_health))
        .routes(routes!(list_integrations))
        .routes(routes!(configure_odoo))
        .routes(routes!(test_odoo))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HealthDto {
    /// healthy | degraded | offline (none: never checked)
    pub status: Option<String>,
    pub reason: Option<String>,
    pub last_check: Option<DateTime<Utc>>,
    /// This API process's circuit breaker for the provider: closed | half_open | open.
    pub breaker: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProviderSummary {
    /// auth | crm | billing | erp
    pub kind: String,
    pub name: String,
    pub label: String,
    pub description: String,
    pub configured: bool,
    pub active: bool,
    pub health: HealthDto,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProviderList {
    pub items: Vec<ProviderSummary>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SecretState {
    pub name: String,
    pub label: String,
    pub required: bool,
    /// Whether a value is stored (the value itself is never returned).
    pub set: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProviderDto {
    pub kind: String,
    pub name: String,
    pub label: String,
    pub description: String,
    pub configured: bool,
    pub active: bool,
    /// The stored settings (defaults filled in); null until configured.
    #[schema(value_type = Option<Object>)]
    pub configuration: Option<Value>,
    /// The settings' JSON Schema (draft 2020-12): what a form is drawn from.
    #[schema(value_type = Object)]
    pub schema: Value,
    pub credentials: Vec<SecretState>,
    pub health: HealthDto,
    /// Bumped by every change (workers rebuild their client when it moves).
    pub version: Option<i64>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigureRequest {
    /// The provider's settings, per its JSON Schema (`GET …/{kind}/{name}` → `schema`).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub configuration: Option<Value>,
    /// Credential fields to set (a string) or clear (null); fields left out keep their
    /// stored value.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub credentials: Option<BTreeMap<String, Option<String>>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TestResult {
    pub ok: bool,
    /// healthy | degraded | offline
    pub status: String,
    /// Why the test failed, or what degrades it.
    pub reason: Option<String>,
    pub latency_ms: i32,
    /// closed | half_open | open
    pub breaker: String,
}

impl From<CheckOutcome> for TestResult {
    fn from(o: CheckOutcome) -> Self {
        TestResult {
            ok: o.ok,
            status: o.status.as_str().to_owned(),
            reason: o.reason,
            latency_ms: o.latency_ms,
            breaker: o.breaker.as_str().to_owned(),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Activation {
    /// The provider now active for the kind.
    pub active: String,
    /// The one it replaced, if any.
    pub previous: Option<String>,
    pub test: TestResult,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckDto {
    pub status: String,
    pub reason: Option<String>,
    pub latency_ms: i32,
    /// test | schedule
    pub trigger: String,
    pub checked_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HealthReport {
    pub current: HealthDto,
    /// The most recent checks, newest first.
    pub checks: Vec<CheckDto>,
}

impl From<HealthCheck> for CheckDto {
    fn from(c: HealthCheck) -> Self {
        CheckDto {
            status: c.status,
            reason: c.reason,
            latency_ms: c.latency_ms,
            trigger: c.trigger,
            checked_at: c.checked_at,
        }
    }
}

fn spec_of(kind: &str, name: &str) -> Result<&'static ProviderSpec, ApiError> {
    let kind = ProviderKind::parse(kind).ok_or(ApiError::NotFound)?;
    registry::find(kind, name).ok_or(ApiError::NotFound)
}

fn health(s: &AppState, spec: &ProviderSpec, row: Option<&StoredProvider>) -> HealthDto {
    HealthDto {
        status: row.and_then(|r| r.health_status.clone()),
        reason: row.and_then(|r| r.health_reason.clone()),
        last_check: row.and_then(|r| r.last_health_check),
        breaker: s
            .platform
            .outbound()
            .breaker_state(spec.name)
            .as_str()
            .to_owned(),
    }
}

fn dto(s: &AppState, spec: &'static ProviderSpec, row: Option<&StoredProvider>) -> ProviderDto {
    let set = row.map(StoredProvider::secrets_set).unwrap_or_default();
    ProviderDto {
        kind: spec.kind.as_str().to_owned(),
        name: spec.name.to_owned(),
        label: spec.label.to_owned(),
        description: spec.description.to_owned(),
        configured: row.is_some(),
        active: row.is_some_and(|r| r.is_active),
        configuration: row.map(|r| r.configuration.clone()),
        schema: spec.schema(),
        credentials: spec
            .secrets
            .iter()
            .map(|f| SecretState {
                name: f.name.to_owned(),
                label: f.label.to_owned(),
                required: f.required,
                set: set.iter().any(|s| s == f.name),
            })
            .collect(),
        health: health(s, spec, row),
        version: row.map(|r| r.version),
        updated_at: row.map(|r| r.updated_at),
    }
}

/// Every provider this build knows, by kind: configured?, active?, health (admins).
#[utoipa::path(get, path = "/api/v1/providers", tag = "providers", security(("bearer" = [])),
    responses((status = 200, body = ProviderList), (status = 403, body = ErrorBody)))]
async fn list_providers(
    State(s): State<AppState>,
    who: AuthUser,
) -> Result<Json<ProviderList>, ApiError> {
    Ok(Json(providers(&s, &who).await?))
}

async fn providers(s: &AppState, who: &AuthUser) -> Result<ProviderList, ApiError> {
    s.authz.authorize(&who.0, Object::Provider, Action::View)?;
    let rows = store::list(&mut *s.conn().await?).await?;
    let items = registry::KNOWN
        .iter()
        .map(|spec| {
            let row = rows
                .iter()
                .find(|r| r.kind == spec.kind.as_str() && r.name == spec.name);
            ProviderSummary {
                kind: spec.kind.as_str().to_owned(),
                name: spec.name.to_owned(),
                label: spec.label.to_owned(),
                description: spec.description.to_owned(),
                configured: row.is_some(),
                active: row.is_some_and(|r| r.is_active),
                health: health(s, spec, row),
            }
        })
        .collect();
    Ok(ProviderList { items })
}

/// One provider: its settings, which credentials are set, its form's schema, health.
#[utoipa::path(get, path = "/api/v1/providers/{kind}/{name}", tag = "providers", security(("bearer" = [])),
    params(("kind" = String, Path, description = "auth | crm | billing | erp"), ("name" = String, Path)),
    responses((status = 200, body = ProviderDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_provider(
    State(s): State<AppState>,
    who: AuthUser,
    Path((kind, name)): Path<(String, String)>,
) -> Result<Json<ProviderDto>, ApiError> {
    s.authz.authorize(&who.0, Object::Provider, Action::View)?;
    let spec = spec_of(&kind, &name)?;
    let row = store::get(&mut *s.conn().await?, spec.kind, spec.name).await?;
    Ok(Json(dto(&s, spec, row.as_ref())))
}

async fn configure(
    s: &AppState,
    who: &AuthUser,
    meta: &RequestMeta,
    spec: &'static ProviderSpec,
    b: ConfigureRequest,
) -> Result<ProviderDto, ApiError> {
    let audit_ctx = meta.audit(Some(who.0.user_id));
    let actor = Actor {
        authz: &s.authz,
        who: &who.0,
        audit: &audit_ctx,
    };
    let input = Configure {
        configuration: b
            .configuration
            .unwrap_or_else(|| Value::Object(Default::default())),
        credentials: b
            .credentials
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.map(SecretString::from)))
            .collect(),
    };
    let mut conn = s.conn().await?;
    let (row, _) = store::put(&mut conn, &actor, s.platform.keys(), spec, input).await?;
    Ok(dto(s, spec, Some(&row)))
}

/// Configures a provider (created or replaced; admins, audited). Every refused field
/// is named (`configuration.<field>`, `credentials.<field>`) and nothing is stored.
#[utoipa::path(put, path = "/api/v1/providers/{kind}/{name}", tag = "providers", request_body = ConfigureRequest, security(("bearer" = [])),
    params(("kind" = String, Path, description = "auth | crm | billing | erp"), ("name" = String, Path)),
    responses((status = 200, body = ProviderDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "credentials given but the server has no secrets key"),
        (status = 422, body = ErrorBody)))]
async fn put_provider(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path((kind, name)): Path<(String, String)>,
    Json(b): Json<ConfigureRequest>,
) -> Result<Json<ProviderDto>, ApiError> {
    let spec = spec_of(&kind, &name)?;
    Ok(Json(configure(&s, &who, &meta, spec, b).await?))
}

/// Deletes a provider's configuration (admins, audited); refused while it is active.
#[utoipa::path(delete, path = "/api/v1/providers/{kind}/{name}", tag = "providers", security(("bearer" = [])),
    params(("kind" = String, Path, description = "auth | crm | billing | erp"), ("name" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the provider is active")))]
async fn delete_provider(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path((kind, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let spec = spec_of(&kind, &name)?;
    let audit_ctx = meta.audit(Some(who.0.user_id));
    let actor = Actor {
        authz: &s.authz,
        who: &who.0,
        audit: &audit_ctx,
    };
    store::delete(&mut *s.conn().await?, &actor, spec.kind, spec.name).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn test(
    s: &AppState,
    who: &AuthUser,
    meta: &RequestMeta,
    spec: &'static ProviderSpec,
) -> Result<TestResult, ApiError> {
    s.authz
        .authorize(&who.0, Object::Provider, Action::Manage)?;
    let context = meta.call_context();
    let outcome = with_context(context, s.platform.test(spec.kind, spec.name, "test"))
        .await
        .map_err(not_configured)?;
    let mut conn = s.conn().await?;
    audit::event(
        &mut conn,
        meta.audit(Some(who.0.user_id)).entry(
            "provider.tested",
            "provider",
            format!("{}/{}", spec.kind.as_str(), spec.name),
            serde_json::json!({ "status": outcome.status, "latency_ms": outcome.latency_ms }),
        ),
    )
    .await?;
    Ok(outcome.into())
}

fn not_configured(e: WorkflowError) -> ApiError {
    match e {
        WorkflowError::NotFound => ApiError::Conflict {
            code: "provider_not_configured",
            details: serde_json::json!({}),
        },
        e => e.into(),
    }
}

/// Tests a configured provider with a live call (admins): ok or the reason, the
/// latency; the result is recorded as the provider's health.
#[utoipa::path(post, path = "/api/v1/providers/{kind}/{name}/test", tag = "providers", security(("bearer" = [])),
    params(("kind" = String, Path, description = "auth | crm | billing | erp"), ("name" = String, Path)),
    responses((status = 200, body = TestResult), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the provider is not configured")))]
async fn test_provider(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path((kind, name)): Path<(String, String)>,
) -> Result<Json<TestResult>, ApiError> {
    let spec = spec_of(&kind, &name)?;
    Ok(Json(test(&s, &who, &meta, spec).await?))
}

/// Makes a provider the active one of its kind (admins, audited): it must pass a live
/// test first; the previous one is deactivated in the same transaction. A provider that
/// fails its test is refused (409, with the reason) and the active one stays.
#[utoipa::path(post, path = "/api/v1/providers/{kind}/{name}/activate", tag = "providers", security(("bearer" = [])),
    params(("kind" = String, Path, description = "auth | crm | billing | erp"), ("name" = String, Path)),
    responses((status = 200, body = Activation), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "not configured, or the test failed")))]
async fn activate_provider(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path((kind, name)): Path<(String, String)>,
) -> Result<Json<Activation>, ApiError> {
    let spec = spec_of(&kind, &name)?;
    let audit_ctx = meta.audit(Some(who.0.user_id));
    let actor = Actor {
        authz: &s.authz,
        who: &who.0,
        audit: &audit_ctx,
    };
    let context = meta.call_context();
    let (outcome, previous) =
        with_context(context, s.platform.activate(&actor, spec.kind, spec.name))
            .await
            .map_err(not_configured)?;
    Ok(Json(Activation {
        active: spec.name.to_owned(),
        previous,
        test: outcome.into(),
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Deactivation {
    /// Whether it was the active one (deactivating an inactive provider changes nothing).
    pub was_active: bool,
}

/// Deactivates a provider (admins, audited): its kind has no active provider until
/// another is activated. For `auth`, only database logins remain (SSO buttons and
/// directory logins stop at once); for the others, effects wait and are not lost.
#[utoipa::path(post, path = "/api/v1/providers/{kind}/{name}/deactivate", tag = "providers", security(("bearer" = [])),
    params(("kind" = String, Path, description = "auth | crm | billing | erp"), ("name" = String, Path)),
    responses((status = 200, body = Deactivation), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn deactivate_provider(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path((kind, name)): Path<(String, String)>,
) -> Result<Json<Deactivation>, ApiError> {
    let spec = spec_of(&kind, &name)?;
    let audit_ctx = meta.audit(Some(who.0.user_id));
    let actor = Actor {
        authz: &s.authz,
        who: &who.0,
        audit: &audit_ctx,
    };
    let was_active = with_context(
        meta.call_context(),
        s.platform.deactivate(&actor, spec.kind, spec.name),
    )
    .await?;
    Ok(Json(Deactivation { was_active }))
}

/// A provider's health: the last check and the recent ones (admins).
#[utoipa::path(get, path = "/api/v1/providers/{kind}/{name}/health", tag = "providers", security(("bearer" = [])),
    params(("kind" = String, Path, description = "auth | crm | billing | erp"), ("name" = String, Path)),
    responses((status = 200, body = HealthReport), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn provider_health(
    State(s): State<AppState>,
    who: AuthUser,
    Path((kind, name)): Path<(String, String)>,
) -> Result<Json<HealthReport>, ApiError> {
    s.authz.authorize(&who.0, Object::Provider, Action::View)?;
    let spec = spec_of(&kind, &name)?;
    let mut conn = s.conn().await?;
    let row = store::get(&mut conn, spec.kind, spec.name).await?;
    let checks = store::health_checks(&mut conn, spec.kind, spec.name, 50).await?;
    Ok(Json(HealthReport {
        current: health(&s, spec, row.as_ref()),
        checks: checks.into_iter().map(CheckDto::from).collect(),
    }))
}

/// Seed 000's integrations list: the same as `GET /api/v1/providers`.
#[utoipa::path(get, path = "/api/v1/integrations", tag = "providers", security(("bearer" = [])),
    responses((status = 200, body = ProviderList), (status = 403, body = ErrorBody)))]
async fn list_integrations(
    State(s): State<AppState>,
    who: AuthUser,
) -> Result<Json<ProviderList>, ApiError> {
    Ok(Json(providers(&s, &who).await?))
}

fn odoo_spec() -> Result<&'static ProviderSpec, ApiError> {
    registry::find(ProviderKind::Erp, registry::ODOO).ok_or(ApiError::NotFound)
}

/// Configures Odoo (seed 000; the same as `PUT /api/v1/providers/erp/odoo`).
#[utoipa::path(post, path = "/api/v1/integrations/odoo/configure", tag = "providers", request_body = ConfigureRequest, security(("bearer" = [])),
    responses((status = 200, body = ProviderDto), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "credentials given but the server has no secrets key"),
        (status = 422, body = ErrorBody)))]
async fn configure_odoo(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Json(b): Json<ConfigureRequest>,
) -> Result<Json<ProviderDto>, ApiError> {
    Ok(Json(configure(&s, &who, &meta, odoo_spec()?, b).await?))
}

/// Tests the Odoo connection (seed 000; the same as `POST …/providers/erp/odoo/test`).
#[utoipa::path(post, path = "/api/v1/integrations/odoo/test", tag = "providers", security(("bearer" = [])),
    responses((status = 200, body = TestResult), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "Odoo is not configured")))]
async fn test_odoo(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
) -> Result<Json<TestResult>, ApiError> {
    Ok(Json(test(&s, &who, &meta, odoo_spec()?).await?))
}

/// A client of the configured Odoo (active or not): 409 `provider_not_configured`
/// before it is configured.
pub(crate) async fn odoo_client(s: &AppState) -> Result<OdooClient, ApiError> {
    let row = store::get(&mut *s.conn().await?, ProviderKind::Erp, registry::ODOO)
        .await?
        .ok_or(ApiError::Conflict {
            code: "provider_not_configured",
            details: serde_json::json!({}),
        })?;
    let Instance::Erp(config) = s.platform.build(&row)? else {
        return Err(ApiError::NotFound);
    };
    Ok(OdooClient::new(config, s.platform.outbound().clone()))
}
