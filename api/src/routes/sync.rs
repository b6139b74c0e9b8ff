//! `/api/v1/sync/…` and `/api/v1/data-lake/health`: ask for a sync run (admins), watch
//! runs and their counts per stage, and the data lake's zones.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tentabo_workflows::authz::{Action, Object};
use tentabo_workflows::error::FieldErrors;
use tentabo_workflows::pipeline::run::{self, Mode, RunView, ZoneHealth};
use tentabo_workflows::pipeline::{Entity, odoo};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{AuthUser, Json, Query};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request_sync))
        .routes(routes!(list_runs))
        .routes(routes!(get_run))
        .routes(routes!(lake_health))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    /// `incremental` (default: since the watermark) or `full` (everything; records the
    /// source no longer has are soft-deleted).
    #[schema(value_type = Option<String>)]
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
            },
            timings: r.timings,
            error: r.error,
            created_at: r.created_at,
        }
    }
}

/// Asks for a sync of one canonical entity from a provider (admins): the run and its
/// job are written together; the worker runs it.
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
    if provider != run::PROVIDER {
        return Err(ApiError::NotFound);
    }
    let model = Entity::parse(&entity)
        .and_then(odoo::model_of)
        .ok_or_else(|| FieldErrors::single("entity", "unknown_entity"))?;
    let mode = match b.mode.as_deref() {
        None | Some("incremental") => Mode::Incremental,
        Some("full") => Mode::Full,
        Some(_) => return Err(FieldErrors::single("mode", "unknown_mode").into()),
    };
    let mut conn = s.conn().await?;
    let id = run::request(&mut conn, model, mode, Some(who.0.user_id), None).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(run::get(&mut conn, id).await?.into()),
    ))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RunParams {
    /// How many of the newest runs (1–200, default 50).
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunList {
    pub items: Vec<RunDto>,
}

/// The newest sync runs with their counts (admins).
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
    let runs = run::recent(&mut conn, limit).await?;
    Ok(Json(RunList {
        items: runs.into_iter().map(RunDto::from).collect(),
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
