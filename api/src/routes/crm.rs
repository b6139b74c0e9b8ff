//! The CRM's side of the API: Pipedrive's webhook deliveries
//! (`POST /api/v1/webhooks/pipedrive`, HTTP Basic, no bearer), a lead's activities
//! (`/api/v1/leads/{id}/activities`), and connecting Pipedrive with OAuth (the admin is
//! sent to Pipedrive's authorization page and comes back to the callback).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tentabo_workflows::authz::Actor;
use tentabo_workflows::providers::pipedrive::webhook;
use tentabo_workflows::sales::activities::{self, Activity, NewActivity};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::sales::caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{AuthUser, Json, Path, Query, RequestMeta};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(pipedrive_webhook))
        .routes(routes!(list_activities, create_activity))
        .routes(routes!(pipedrive_oauth_authorize))
        .routes(routes!(pipedrive_oauth_callback))
}

/// What Tentabo answers a webhook delivery.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookAck {
    /// The recorded event (`webhook_events.id`).
    pub event: i64,
    /// True when this delivery repeated an event already recorded (nothing new queued).
    pub duplicate: bool,
}

/// Pipedrive's webhook deliveries (webhooks v2). Authenticated with the HTTP Basic
/// credentials Tentabo generated when it registered its webhooks (else 401, nothing
/// stored); the event is recorded once (a retried delivery only counts) and processed
/// by a job.
#[utoipa::path(post, path = "/api/v1/webhooks/pipedrive", tag = "crm",
    request_body(content = Object, description = "Pipedrive webhook v2 payload: `{meta, data, previous}`"),
    security(("basic" = [])),
    responses((status = 200, body = WebhookAck), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn pipedrive_webhook(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<WebhookAck>, ApiError> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let mut conn = s.conn().await?;
    let received =
        webhook::receive(&mut conn, s.platform.keys(), &s.webhook_secret, auth, &body).await;
    let outcome = match &received {
        Ok(r) if r.new => "recorded",
        Ok(_) => "duplicate",
        Err(tentabo_workflows::WorkflowError::Unauthenticated(_)) => "unauthenticated",
        Err(_) => "refused",
    };
    metrics::counter!("tentabo_webhooks_received_total", "provider" => "pipedrive", "outcome" => outcome)
        .increment(1);
    let r = received?;
    Ok(Json(WebhookAck {
        event: r.event,
        duplicate: !r.new,
    }))
}

/// An activity of a lead's deal (a call, a meeting, a task…).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ActivityDto {
    pub id: Uuid,
    /// `pipedrive`, or `tentabo` while the push to the CRM is pending.
    pub provider: String,
    pub external_id: Option<String>,
    /// call | meeting | task | deadline | email | lunch (or a type of the CRM's)
    #[serde(rename = "type")]
    pub kind: String,
    pub subject: String,
    pub due_date: Option<NaiveDate>,
    /// `HH:MM` (UTC)
    pub due_time: Option<String>,
    pub done: bool,
    /// The CRM user who owns it (their id in the CRM).
    pub owner: Option<String>,
    pub note: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Activity> for ActivityDto {
    fn from(a: Activity) -> ActivityDto {
        ActivityDto {
            id: a.id,
            provider: a.provider,
            external_id: a.external_id,
            kind: a.kind,
            subject: a.subject,
            due_date: a.due_date,
            due_time: a.due_time,
            done: a.done,
            owner: a.owner,
            note: a.note,
            created_by: a.created_by,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ActivityList {
    pub items: Vec<ActivityDto>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateActivity {
    #[serde(rename = "type")]
    #[schema(pattern = "^(call|meeting|task|deadline|email|lunch)$")]
    pub kind: String,
    #[schema(min_length = 1, max_length = 255, pattern = r"\S")]
    pub subject: String,
    pub due_date: Option<NaiveDate>,
    /// `HH:MM` (UTC); needs `due_date`.
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub due_time: Option<String>,
    #[serde(default)]
    pub done: bool,
    #[schema(max_length = 10000)]
    pub note: Option<String>,
}

/// The lead's activities (its CRM deal's included), by due date.
#[utoipa::path(get, path = "/api/v1/leads/{id}/activities", tag = "leads", security(("bearer" = [])),
    responses((status = 200, body = ActivityList), (status = 404, body = ErrorBody)))]
async fn list_activities(
    State(s): State<AppState>,
    who: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<Json<ActivityList>, ApiError> {
    let (mut conn, caller) = caller(&s, &who).await?;
    let items = activities::list(&mut conn, &caller, id).await?;
    Ok(Json(ActivityList {
        items: items.into_iter().map(ActivityDto::from).collect(),
    }))
}

/// Adds an activity to a lead; it is pushed to the CRM (on the lead's deal) by a job.
#[utoipa::path(post, path = "/api/v1/leads/{id}/activities", tag = "leads", request_body = CreateActivity, security(("bearer" = [])),
    responses((status = 201, body = ActivityDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_activity(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path(id): Path<Uuid>,
    Json(b): Json<CreateActivity>,
) -> Result<(StatusCode, Json<ActivityDto>), ApiError> {
    let (mut conn, caller) = caller(&s, &who).await?;
    let a = activities::create(
        &mut conn,
        &caller,
        &meta.audit(Some(who.0.user_id)),
        id,
        NewActivity {
            kind: b.kind,
            subject: b.subject,
            due_date: b.due_date,
            due_time: b.due_time,
            done: b.done,
            note: b.note,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(a.into())))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuthorizeDto {
    /// Pipedrive's authorization page: send the admin's browser there.
    pub url: String,
}

/// Starts connecting Pipedrive with OAuth (admins): answers the authorization page to
/// send the browser to; Pipedrive brings the admin back to the callback.
#[utoipa::path(post, path = "/api/v1/providers/crm/pipedrive/oauth/authorize", tag = "providers", security(("bearer" = [])),
    responses((status = 200, body = AuthorizeDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "OAuth not configured (auth mode, client id or secret, public URL)")))]
async fn pipedrive_oauth_authorize(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
) -> Result<Json<AuthorizeDto>, ApiError> {
    let audit = meta.audit(Some(who.0.user_id));
    let actor = Actor {
        authz: &s.authz,
        who: &who.0,
        audit: &audit,
    };
    let url = s.platform.pipedrive_authorize_url(&actor).await?;
    Ok(Json(AuthorizeDto { url }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    /// Set by Pipedrive when the admin refused (`user_denied`) or it failed.
    pub error: Option<String>,
}

/// Where Pipedrive sends the admin back (a browser redirect, no bearer): the code is
/// exchanged for tokens, stored sealed; the browser is sent on to the console's
/// integrations page with the outcome (`?oauth=connected` or `?oauth=failed&reason=…`).
#[utoipa::path(get, path = "/api/v1/providers/crm/pipedrive/oauth/callback", tag = "providers", params(CallbackParams),
    responses((status = 303, description = "to the console's integrations page with the outcome")))]
async fn pipedrive_oauth_callback(
    State(s): State<AppState>,
    Query(q): Query<CallbackParams>,
) -> Response {
    let outcome = match (q.error, q.code, q.state) {
        (Some(e), _, _) => Err(e),
        (None, Some(code), Some(state)) => s
            .platform
            .pipedrive_connect(&code, &state)
            .await
            .map_err(|e| match e {
                tentabo_workflows::WorkflowError::Refused { code, .. } => code.to_owned(),
                other => {
                    tracing::warn!(error = %other, "Pipedrive OAuth callback failed");
                    "internal".to_owned()
                }
            }),
        _ => Err("missing_code".to_owned()),
    };
    let to = match outcome {
        Ok(()) => "/integrations?oauth=connected".to_owned(),
        Err(reason) => {
            let reason: String = reason
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(64)
                .collect();
            format!("/integrations?oauth=failed&reason={reason}")
        }
    };
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}
