//! `/api/v1/jobs`: the queues seen from the job ledger (counts by state, recent
//! failures) and the operator's retry and discard. Admins only.

use crate::extract::Path;
use axum::extract::State;
use serde::Deserialize;
use tentabo_workflows::authz::{Action, Object};
use tentabo_workflows::jobs::{self, JobSummary, QueueCounts};
use tentabo_workflows::pagination;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{AuthUser, Json, Query, RequestMeta};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(queues))
        .routes(routes!(list_failures))
        .routes(routes!(retry_job))
        .routes(routes!(discard_job))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct QueuesDto {
    /// Per queue: `pending` (in Postgres, new), `retrying` (in Postgres, waiting for a
    /// retry), `enqueued` (in Redis, not started), `running`, `dead`, `discarded`.
    #[schema(value_type = Vec<Object>)]
    pub queues: Vec<QueueCounts>,
}

/// Every queue with its jobs counted by state.
#[utoipa::path(get, path = "/api/v1/jobs/queues", tag = "operations", security(("bearer" = [])),
    responses((status = 200, body = QueuesDto), (status = 403, body = ErrorBody)))]
async fn queues(State(s): State<AppState>, who: AuthUser) -> Result<Json<QueuesDto>, ApiError> {
    s.authz.authorize(&who.0, Object::Job, Action::View)?;
    let mut conn = s.conn().await?;
    Ok(Json(QueuesDto {
        queues: jobs::queue_counts(&mut conn).await?,
    }))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FailureParams {
    pub queue: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<String>, min_length = 1, pattern = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$")]
    pub cursor: Option<i64>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct FailuresDto {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<JobSummary>,
    pub next_cursor: Option<String>,
}

/// Recent failures, newest first: dead, discarded, and waiting for a retry, with the
/// last error.
#[utoipa::path(get, path = "/api/v1/jobs/failures", tag = "operations", params(FailureParams), security(("bearer" = [])),
    responses((status = 200, body = FailuresDto), (status = 403, body = ErrorBody)))]
async fn list_failures(
    State(s): State<AppState>,
    who: AuthUser,
    Query(p): Query<FailureParams>,
) -> Result<Json<FailuresDto>, ApiError> {
    s.authz.authorize(&who.0, Object::Job, Action::View)?;
    let limit = pagination::limit(p.limit)?;
    let mut conn = s.conn().await?;
    let mut items = jobs::failures(&mut conn, p.queue.as_deref(), p.cursor, limit + 1).await?;
    let more = items.len() as i64 > limit;
    items.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = if more {
        items.last().map(|j| j.id.to_string())
    } else {
        None
    };
    Ok(Json(FailuresDto {
        items,
        next_cursor: crate::cursor::seal(next_cursor),
    }))
}

enum Operation {
    Retry,
    Discard,
}

/// An operator's action on one job, authorised and audited.
async fn operate(
    s: &AppState,
    who: &AuthUser,
    meta: &RequestMeta,
    id: i64,
    op: Operation,
) -> Result<Json<JobSummary>, ApiError> {
    s.authz.authorize(&who.0, Object::Job, Action::Manage)?;
    let mut conn = s.conn().await?;
    let audit = meta.audit(Some(who.0.user_id));
    let job = match op {
        Operation::Retry => jobs::retry(&mut conn, &audit, id).await?,
        Operation::Discard => jobs::discard(&mut conn, &audit, id).await?,
    };
    Ok(Json(job))
}

/// Gives a dead or discarded job one more attempt now (409 for any other state).
#[utoipa::path(post, path = "/api/v1/jobs/{id}/retry", tag = "operations", security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn retry_job(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path(id): Path<i64>,
) -> Result<Json<JobSummary>, ApiError> {
    operate(&s, &who, &meta, id, Operation::Retry).await
}

/// Stops a dead job, or one waiting for a retry, from running again (409 otherwise).
#[utoipa::path(post, path = "/api/v1/jobs/{id}/discard", tag = "operations", security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn discard_job(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path(id): Path<i64>,
) -> Result<Json<JobSummary>, ApiError> {
    operate(&s, &who, &meta, id, Operation::Discard).await
}
