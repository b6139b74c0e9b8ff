//! `/api/v1/notifications`: the caller's own notifications (a contract due for renewal…),
//! newest first, with the unread count; marking one or all read. Anyone signed in reads
//! their own; nobody reads another's (404).

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tentabo_workflows::notifications::{self, Notification};
use tentabo_workflows::pagination;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{AuthUser, Json, Path, Query, RequestMeta};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_notifications))
        .routes(routes!(read_notification))
        .routes(routes!(read_all_notifications))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct NotificationParams {
    /// Only the unread ones (default false).
    pub unread: Option<bool>,
    /// The previous page's `next_cursor`.
    #[param(min_length = 1, pattern = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$")]
    pub cursor: Option<String>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NotificationDto {
    pub id: Uuid,
    /// `renewal_due`
    pub kind: String,
    /// What it is about (`contract`) and its id.
    pub object_type: String,
    pub object_id: Uuid,
    /// In the user's language.
    pub subject: String,
    pub body: String,
    /// Facts for the console (e.g. `order_reference`, `expires_on`, `draft_reference`).
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
    /// `pending`, `sent` or `skipped` (no mail server configured).
    pub email_status: String,
}

impl From<Notification> for NotificationDto {
    fn from(n: Notification) -> Self {
        NotificationDto {
            id: n.id,
            kind: n.kind,
            object_type: n.object_type,
            object_id: n.object_id,
            subject: n.subject,
            body: n.body,
            data: n.data,
            created_at: n.created_at,
            read_at: n.read_at,
            email_status: n.email_status,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NotificationPage {
    pub items: Vec<NotificationDto>,
    pub next_cursor: Option<String>,
    /// All the caller's unread notifications (not only this page's).
    pub unread: i64,
}

/// The caller's notifications, newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", params(NotificationParams), security(("bearer" = [])),
    responses((status = 200, body = NotificationPage), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_notifications(
    State(s): State<AppState>,
    who: AuthUser,
    Query(p): Query<NotificationParams>,
) -> Result<Json<NotificationPage>, ApiError> {
    let limit = pagination::limit(p.limit)?;
    let (page, unread) = notifications::list(
        &mut *s.conn().await?,
        who.0.user_id,
        p.unread.unwrap_or(false),
        p.cursor.as_deref(),
        limit,
    )
    .await?;
    Ok(Json(NotificationPage {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: crate::cursor::seal(page.next_cursor),
        unread,
    }))
}

/// Marks one of the caller's notifications read (reading it again changes nothing).
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = NotificationDto), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn read_notification(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path(id): Path<Uuid>,
) -> Result<Json<NotificationDto>, ApiError> {
    let n = notifications::mark_read(
        &mut *s.conn().await?,
        &meta.audit(Some(who.0.user_id)),
        who.0.user_id,
        id,
    )
    .await?;
    Ok(Json(n.into()))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReadAll {
    /// How many were unread.
    pub read: usize,
}

/// Marks every unread notification of the caller read.
#[utoipa::path(post, path = "/api/v1/notifications/read-all", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = ReadAll), (status = 401, body = ErrorBody)))]
async fn read_all_notifications(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
) -> Result<Json<ReadAll>, ApiError> {
    let read = notifications::mark_all_read(
        &mut *s.conn().await?,
        &meta.audit(Some(who.0.user_id)),
        who.0.user_id,
    )
    .await?;
    Ok(Json(ReadAll { read }))
}
