//! `/api/v1/sync/…` and `/api/v1/data-lake/health`: ask for a sync run (admins), watch
//! runs and their counts per stage, the data lake's zones, the quarantine (list, retry)
//! and each provider's sync settings.

use crate::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tentabo_workflows::authz::{Action, Object};
use tentabo_workflows::error::FieldErrors;
use tentabo_workflows::pipeline::Entity;
use tentabo_workflows::pipeline::run::{self, Mode, RunView, ZoneHealth};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use tentabo_workflows::pipeline::policy::{self, Severity, SyncSettings};
use tentabo_workflows::pipeline::quarantine::{self, Item, Outcome, Selection, Status};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{AuthUser, Json, Query, RequestMeta};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request_sync))
        .routes(routes!(list_runs))
        .routes(routes!(get_run))
        .routes(routes!(lake_health))
        .routes(routes!(list_quarantine))
        .routes(routes!(retry_quarantine))
        .routes(routes!(get_settings, put_settings))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    /// `incremental` (default: since the watermark) or `full` (everything; records the
    /// source no longer has are soft-deleted).
    #[schema(value_type = Option<String>, pattern = r"^(full|incremental)$")]
    pub mode: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunDto {
    pub id: Uuid,
    pub provider: String,
    /// The source's object (Odoo model).
    pub entity: String,
    pub mode: String,
    /// queued | running | succeeded | partial | failed
    pub status: String,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Records read so far and, when known, the estimate.
    pub progress: Progress,
    pub counts: Counts,
    /// Microseconds spent per stage (connector, mapper, validator, normalizer, loader)
    /// by the last attempt, once it ended.
    #[schema(value_type = Object)]
    pub timings: serde_json::Value,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Progress {
    pub done: i64,
    pub estimate: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub fetched: i64,
    pub unchanged: i64,
    pub loaded: i64,
    pub quarantined: i64,
    pub deleted: i64,
    /// Records changed in the source while edited locally (see `/sync/conflicts`).
    pub conflicts: i64,
    /// Records loaded with warnings (a value kept as given, see the row's `issues`).
    pub warned: i64,
    /// Warned records per code (e.g. `{"bad_phone": 17}`).
    #[schema(value_type = Object)]
    pub warnings: serde_json::Value,
    /// Quarantined records per reason code.
    #[schema(value_type = Object)]
    pub quarantine_reasons: serde_json::Value,
}

impl From<RunView> for RunDto {
    fn from(r: RunView) -> Self {
        RunDto {
            id: r.id,
            provider: r.provider,
            entity: r.entity,
            mode: r.mode,
            status: r.status,
            started_at: r.started_at,
            finished_at: r.finished_at,
            progress: Progress {
                done: r.fetched,
                estimate: r.estimate,
            },
            counts: Counts {
                fetched: r.fetched,
                unchanged: r.unchanged,
                loaded: r.loaded,
                quarantined: r.quarantined,
                deleted: r.deleted,
                conflicts: r.conflicts,
                warned: r.warned,
                warnings: r.warnings,
                quarantine_reasons: r.quarantine_reasons,
            },
            timings: r.timings,
            error: r.error,
            created_at: r.created_at,
        }
    }
}

/// Asks for a sync of one canonical entity from a provider (admins): the run and its
/// job are written together; the worker runs it. Odoo: `organization`, `contact`,
/// `lead`, `order`, `product`; Pennylane: `invoice`; Pipedrive: `lead` (its deals),
/// `lead_inbox` (Leads Inbox items), `contact` (persons), `organization`, `activity`.
#[utoipa::path(post, path = "/api/v1/sync/{provider}/{entity}", tag = "sync", request_body = SyncRequest, security(("bearer" = [])),
    responses((status = 202, body = RunDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "a run of this entity is already queued or running"), (status = 422, body = ErrorBody)))]
async fn request_sync(
    State(s): State<AppState>,
    who: AuthUser,
    Path((provider, entity)): Path<(String, String)>,
    Json(b): Json<SyncRequest>,
) -> Result<(StatusCode, Json<RunDto>), ApiError> {
    s.authz.authorize(&who.0, Object::Job, Action::Manage)?;
    let source = run::source_of(&provider, &entity).map_err(|e| match e {
        run::UnknownSource::Provider => ApiError::NotFound,
        run::UnknownSource::Entity => FieldErrors::single("entity", "unknown_entity").into(),
    })?;
    let mode = match b.mode.as_deref() {
        None | Some("incremental") => Mode::Incremental,
        Some("full") => Mode::Full,
        Some(_) => return Err(FieldErrors::single("mode", "unknown_mode").into()),
    };
    let mut conn = s.conn().await?;
    let id = run::request_for(
        &mut conn,
        &provider,
        source,
        mode,
        Some(who.0.user_id),
        None,
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(run::get(&mut conn, id).await?.into()),
    ))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RunParams {
    /// How many runs per page (1–200, default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunList {
    pub items: Vec<RunDto>,
    /// The next (older) page, if any.
    pub next_cursor: Option<String>,
}

/// Sync runs with their counts, newest first, cursor-paged (admins).
#[utoipa::path(get, path = "/api/v1/sync/runs", tag = "sync", params(RunParams), security(("bearer" = [])),
    responses((status = 200, body = RunList), (status = 403, body = ErrorBody)))]
async fn list_runs(
    State(s): State<AppState>,
    who: AuthUser,
    Query(p): Query<RunParams>,
) -> Result<Json<RunList>, ApiError> {
    s.authz.authorize(&who.0, Object::Job, Action::View)?;
    let limit = tentabo_workflows::pagination::limit(p.limit)?;
    let mut conn = s.conn().await?;
    let page = run::recent(&mut conn, p.cursor.as_deref(), limit).await?;
    Ok(Json(RunList {
        items: page.items.into_iter().map(RunDto::from).collect(),
        next_cursor: crate::cursor::seal(page.next_cursor),
    }))
}

#[utoipa::path(get, path = "/api/v1/sync/runs/{id}", tag = "sync", security(("bearer" = [])),
    responses((status = 200, body = RunDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_run(
    State(s): State<AppState>,
    who: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<Json<RunDto>, ApiError> {
    s.authz.authorize(&who.0, Object::Job, Action::View)?;
    let mut conn = s.conn().await?;
    Ok(Json(run::get(&mut conn, id).await?.into()))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ZoneDto {
    /// raw | canonical | serving | quarantine
    pub zone: String,
    pub table: String,
    pub rows: i64,
    /// When the newest row arrived (freshness).
    pub newest: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LakeHealth {
    pub zones: Vec<ZoneDto>,
}

/// Rows and freshness per zone and table (admins).
#[utoipa::path(get, path = "/api/v1/data-lake/health", tag = "sync", security(("bearer" = [])),
    responses((status = 200, body = LakeHealth), (status = 403, body = ErrorBody)))]
async fn lake_health(
    State(s): State<AppState>,
    who: AuthUser,
) -> Result<Json<LakeHealth>, ApiError> {
    s.authz.authorize(&who.0, Object::Job, Action::View)?;
    let mut conn = s.conn().await?;
    let zones = run::lake_health(&mut conn).await?;
    Ok(Json(LakeHealth {
        zones: zones
            .into_iter()
            .map(|z: ZoneHealth| ZoneDto {
                zone: z.zone,
                table: z.table,
                rows: z.rows,
                newest: z.newest,
            })
            .collect(),
    }))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QuarantineParams {
    /// Only records of this sync run.
    pub run: Option<Uuid>,
    pub provider: Option<String>,
    /// The canonical entity (`organization`, `contact`, `lead`, `order`, `product`).
    #[param(pattern = r"^(organization|contact|lead|order|product|invoice)$")]
    pub entity: Option<String>,
    /// The source's object (e.g. `crm.lead`).
    pub source: Option<String>,
    /// The stage that refused the record: connector | mapper | validator | normalizer | loader.
    #[param(pattern = r"^(connector|mapper|validator|normalizer|loader)$")]
    pub stage: Option<String>,
    /// A reason code the record was refused for (e.g. `required`).
    pub code: Option<String>,
    /// open (default) | resolved | all
    #[param(pattern = r"^(open|resolved|all)$")]
    pub status: Option<String>,
    #[param(min_length = 1, pattern = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$")]
    pub cursor: Option<String>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QuarantineItemDto {
    pub id: i64,
    pub sync_run_id: Option<Uuid>,
    pub provider: String,
    /// The source's object.
    pub source: String,
    /// The canonical entity, when the mapper got that far.
    pub entity: Option<String>,
    pub external_id: Option<String>,
    pub stage: String,
    /// Every reason: `[{field, code, detail}]`.
    #[schema(value_type = Vec<Object>)]
    pub reasons: serde_json::Value,
    /// The record's fields as the source sent them.
    #[schema(value_type = Option<Object>)]
    pub record: Option<serde_json::Value>,
    /// Runs and retries that refused it.
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// `loaded` once a run or a retry loaded it.
    pub resolution: Option<String>,
}

impl From<Item> for QuarantineItemDto {
    fn from(i: Item) -> Self {
        QuarantineItemDto {
            id: i.id,
            sync_run_id: i.sync_run_id,
            provider: i.provider,
            source: i.source,
            entity: i.entity,
            external_id: i.external_id,
            stage: i.stage,
            reasons: i.reasons,
            record: i.record,
            attempts: i.attempts,
            created_at: i.created_at,
            updated_at: i.updated_at,
            resolved_at: i.resolved_at,
            resolution: i.resolution,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QuarantinePage {
    pub items: Vec<QuarantineItemDto>,
    pub next_cursor: Option<String>,
}

fn entity_param(e: Option<&str>, field: &str) -> Result<Option<Entity>, ApiError> {
    e.map(|e| Entity::parse(e).ok_or_else(|| FieldErrors::single(field, "unknown_entity").into()))
        .transpose()
}

/// Quarantined records with every reason and their fields as received (admins), oldest
/// first, filtered by run, entity, source object, stage, reason code and status.
#[utoipa::path(get, path = "/api/v1/sync/quarantine", tag = "sync", params(QuarantineParams), security(("bearer" = [])),
    responses((status = 200, body = QuarantinePage), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_quarantine(
    State(s): State<AppState>,
    who: AuthUser,
    Query(p): Query<QuarantineParams>,
) -> Result<Json<QuarantinePage>, ApiError> {
    let status = match p.status.as_deref() {
        None => Status::Open,
        Some(v) => {
            Status::parse(v).ok_or_else(|| FieldErrors::single("status", "unknown_status"))?
        }
    };
    let filter = quarantine::Filter {
        run: p.run,
        provider: p.provider,
        entity: entity_param(p.entity.as_deref(), "entity")?,
        source: p.source,
        stage: p.stage,
        code: p.code,
        status,
        cursor: p.cursor,
        limit: tentabo_workflows::pagination::limit(p.limit)?,
    };
    let mut conn = s.conn().await?;
    let page = quarantine::list(&mut conn, &s.authz, &who.0, &filter).await?;
    Ok(Json(QuarantinePage {
        items: page
            .items
            .into_iter()
            .map(QuarantineItemDto::from)
            .collect(),
        next_cursor: crate::cursor::seal(page.next_cursor),
    }))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryRequest {
    /// These open quarantine rows (by id)…
    #[schema(min_items = 1)]
    pub ids: Option<Vec<i64>>,
    /// …or every open record of this canonical entity. Exactly one of the two.
    #[schema(pattern = r"^(organization|contact|lead|order|product|invoice)$")]
    pub entity: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RetriedDto {
    pub id: i64,
    pub external_id: Option<String>,
    pub loaded: bool,
    /// Why it is still refused (empty once loaded).
    #[schema(value_type = Vec<Object>)]
    pub reasons: serde_json::Value,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RetryResult {
    pub retried: i64,
    pub loaded: i64,
    /// Still refused, with their new reasons.
    pub quarantined: i64,
    pub items: Vec<RetriedDto>,
}

impl From<Outcome> for RetryResult {
    fn from(o: Outcome) -> Self {
        RetryResult {
            retried: o.retried,
            loaded: o.loaded,
            quarantined: o.quarantined,
            items: o
                .items
                .into_iter()
                .map(|i| RetriedDto {
                    id: i.id,
                    external_id: i.external_id,
                    loaded: i.loaded,
                    reasons: serde_json::to_value(i.reasons).unwrap_or_default(),
                })
                .collect(),
        }
    }
}

/// Re-processes quarantined records from the raw zone through every stage, under the
/// provider's settings of now (no call to the source; admins, audited): those it now
/// accepts load and leave the quarantine, the others keep their row with their reasons.
#[utoipa::path(post, path = "/api/v1/sync/quarantine/retry", tag = "sync", request_body = RetryRequest, security(("bearer" = [])),
    responses((status = 200, body = RetryResult), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn retry_quarantine(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Json(b): Json<RetryRequest>,
) -> Result<Json<RetryResult>, ApiError> {
    let selection = match (b.ids, entity_param(b.entity.as_deref(), "entity")?) {
        (Some(ids), None) => Selection::Ids(ids),
        (None, Some(e)) => Selection::Entity(e),
        _ => return Err(FieldErrors::single("ids", "ids_or_entity").into()),
    };
    let mut conn = s.conn().await?;
    let outcome = quarantine::retry(
        &mut conn,
        &s.authz,
        &who.0,
        &meta.audit(Some(who.0.user_id)),
        &selection,
        s.config.default_country.as_deref(),
    )
    .await?;
    Ok(Json(outcome.into()))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SettingsDto {
    pub provider: String,
    /// What is stored (only what differs from the defaults).
    #[schema(value_type = Object)]
    pub stored: SyncSettings,
    /// Every setting in force, defaults included: `default_country` (the provider's, else
    /// the installation's), `severity` per rule code (error | warning | discard_value),
    /// `lead_stages` (lower-cased stage name → new | qualified | proposal | negotiation |
    /// won | lost).
    #[schema(value_type = Object)]
    pub effective: policy::EffectiveSettings,
    pub updated_by: Option<Uuid>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsRequest {
    /// ISO 3166-1 alpha-2, or null.
    pub default_country: Option<String>,
    /// Rule code → `error` | `warning` | `discard_value` (codes: bad_email, bad_phone,
    /// bad_country, bad_url, bad_vat, unknown_stage, bad_currency, bad_percentage,
    /// unknown_reference).
    #[schema(value_type = Option<Object>)]
    pub severity: Option<std::collections::BTreeMap<String, Severity>>,
    /// Source stage name → canonical lead status.
    #[schema(value_type = Option<Object>)]
    pub lead_stages: Option<std::collections::BTreeMap<String, String>>,
}

fn known_provider(provider: &str) -> Result<(), ApiError> {
    if provider == run::PROVIDER {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

async fn settings_dto(s: &AppState, provider: &str) -> Result<SettingsDto, ApiError> {
    let mut conn = s.conn().await?;
    let stored = policy::load(&mut conn, provider).await?;
    let stamp = policy::stamp(&mut conn, provider).await?;
    let effective = policy::Policy::new(&stored, s.config.default_country.as_deref()).effective();
    Ok(SettingsDto {
        provider: provider.to_owned(),
        stored,
        effective,
        updated_by: stamp.as_ref().and_then(|t| t.updated_by),
        updated_at: stamp.map(|t| t.updated_at),
    })
}

/// How a provider's records are read (admins): severity per rule, default country for
/// national phone numbers, lead stage table — what is stored and what is in force.
#[utoipa::path(get, path = "/api/v1/sync/settings/{provider}", tag = "sync", security(("bearer" = [])),
    responses((status = 200, body = SettingsDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_settings(
    State(s): State<AppState>,
    who: AuthUser,
    Path(provider): Path<String>,
) -> Result<Json<SettingsDto>, ApiError> {
    s.authz.authorize(&who.0, Object::Job, Action::View)?;
    known_provider(&provider)?;
    Ok(Json(settings_dto(&s, &provider).await?))
}

/// Replaces a provider's sync settings (admins, audited); a bad value is refused field
/// by field and nothing is stored. Runs and retries that start afterwards use them.
#[utoipa::path(put, path = "/api/v1/sync/settings/{provider}", tag = "sync", request_body = SettingsRequest, security(("bearer" = [])),
    responses((status = 200, body = SettingsDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn put_settings(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path(provider): Path<String>,
    Json(b): Json<SettingsRequest>,
) -> Result<Json<SettingsDto>, ApiError> {
    s.authz.authorize(&who.0, Object::Job, Action::Manage)?;
    known_provider(&provider)?;
    let settings = SyncSettings {
        default_country: b.default_country,
        severity: b.severity.unwrap_or_default(),
        lead_stages: b.lead_stages.unwrap_or_default(),
    };
    {
        let mut conn = s.conn().await?;
        policy::store(
            &mut conn,
            &meta.audit(Some(who.0.user_id)),
            &provider,
            &settings,
        )
        .await?;
    }
    Ok(Json(settings_dto(&s, &provider).await?))
}
