//! `GET /api/v1/audit`: the audit log for admins — who did what, when, from which
//! request — newest first, filtered by actor, object and action, cursor-paged.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tentabo_workflows::audit::{self, AuditEntry, AuditFilter};
use tentabo_workflows::authz::{Action, Object};
use tentabo_workflows::pagination;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{AuthUser, Json, Query};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// The actor: an email (any case) or a user id.
    #[param(min_length = 1, max_length = 200, pattern = r"\S")]
    pub actor: Option<String>,
    /// `order`, `lead`, `user`, `provider`, `mapping_version`, …
    #[param(min_length = 1, max_length = 200, pattern = r"\S")]
    pub object_type: Option<String>,
    #[param(min_length = 1, max_length = 200, pattern = r"\S")]
    pub object_id: Option<String>,
    /// `order_transition`, `login_failed`, `job_retried`, …
    #[param(min_length = 1, max_length = 200, pattern = r"\S")]
    pub action: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<String>, min_length = 1, pattern = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$")]
    pub cursor: Option<i64>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEntryDto {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor_email: Option<String>,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<String>,
    pub request_id: Option<String>,
    /// What the action changed or refused (never a secret).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntryDto>,
    pub next_cursor: Option<String>,
}

impl From<AuditEntry> for AuditEntryDto {
    fn from(e: AuditEntry) -> Self {
        AuditEntryDto {
            id: e.id,
            occurred_at: e.occurred_at,
            actor_id: e.actor_id,
            actor_email: e.actor_email,
            action: e.action,
            object_type: e.object_type,
            object_id: e.object_id,
            request_id: e.request_id,
            details: e.details,
        }
    }
}

/// The audit log, newest first (admins).
#[utoipa::path(get, path = "/api/v1/audit", tag = "operations", params(AuditParams), security(("bearer" = [])),
    responses((status = 200, body = AuditPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn list_audit(
    State(s): State<AppState>,
    who: AuthUser,
    Query(p): Query<AuditParams>,
) -> Result<Json<AuditPage>, ApiError> {
    s.authz.authorize(&who.0, Object::Audit, Action::View)?;
    let limit = pagination::limit(p.limit)?;
    let filter = AuditFilter {
        actor: p.actor,
        object_type: p.object_type,
        object_id: p.object_id,
        action: p.action,
        before: p.cursor,
    };
    let mut items = audit::list(&mut *s.conn().await?, &filter, limit + 1).await?;
    let more = items.len() as i64 > limit;
    items.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = if more {
        items.last().map(|e| e.id.to_string())
    } else {
        None
    };
    Ok(Json(AuditPage {
        items: items.into_iter().map(Into::into).collect(),
        next_cursor: crate::cursor::seal(next_cursor),
    }))
}
