//! What the three lifecycle resources (leads, orders, contracts) share over HTTP: the
//! transition endpoint with `Idempotency-Key`, the history, the notes, reassigning.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tentabo_workflows::identity::listing::Sort;
use tentabo_workflows::pagination::{self, Cursor};
use tentabo_workflows::sales::notes::{self, Note, Visibility};
use tentabo_workflows::sales::transition::{self, HistoryEntry, Resource};
use tentabo_workflows::sales::{Caller, Kind, Owners};
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::{AuthUser, RequestMeta};
use crate::state::AppState;

/// `POST …/{id}/transitions`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    /// snake_case event name (`send`, `start_fulfillment`, `win` …).
    pub event: String,
    /// The version the caller last saw; a different current version answers 409.
    pub expected_version: Option<i32>,
    /// Event data (an upgrade's `{ "order_id": … }`).
    #[schema(value_type = Option<Object>)]
    pub payload: Option<Value>,
}

/// The OpenAPI shape of [`TransitionRequest`] per resource: the events each accepts.
macro_rules! transition_body {
    ($name:ident, $pattern:literal, $doc:literal) => {
        #[doc = $doc]
        #[derive(Deserialize, utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        pub struct $name {
            #[schema(pattern = $pattern)]
            pub event: String,
            /// The version the caller last saw; a different current version answers 409.
            pub expected_version: Option<i32>,
            /// Event data (an upgrade's `{ "order_id": … }`).
            #[schema(value_type = Option<Object>)]
            pub payload: Option<Value>,
        }
    };
}
transition_body!(
    LeadTransitionRequest,
    r"^(contact|qualify|propose|negotiate|win|lose|reopen|convert)$",
    "An event for a lead."
);
transition_body!(
    OrderTransitionRequest,
    r"^(send|start_fulfillment|fulfill|cancel)$",
    "An event for an order."
);
transition_body!(
    ContractTransitionRequest,
    r"^(mark_lost|upgrade|downgrade)$",
    "An event for a contract."
);

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
pub const REPLAYED: &str = "idempotent-replayed";

/// A request's fingerprint: method, path and body (as parsed, so whitespace and key
/// order do not matter).
fn fingerprint(path: &str, body: &TransitionRequest) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(Method::POST.as_str());
    h.update(b" ");
    h.update(path.as_bytes());
    h.update(b"\n");
    h.update(
        serde_json::to_vec(&serde_json::to_value(body).unwrap_or_default()).unwrap_or_default(),
    );
    h.finalize().to_vec()
}

/// A connection and the caller's permissions for lifecycle rows.
pub async fn caller(
    state: &AppState,
    who: &AuthUser,
) -> Result<(tentabo_schema::DbConn, Caller), ApiError> {
    let mut conn = state.conn().await?;
    let caller = Caller::load(&mut conn, &state.authz, &who.0).await?;
    Ok((conn, caller))
}

/// A list's sort, cursor and page size, checked.
pub fn paging(
    sort: Option<&str>,
    cursor: Option<&str>,
    limit: Option<i64>,
    sorts: &[(&str, &'static str, &'static str)],
) -> Result<(Sort, Option<Cursor>, i64), ApiError> {
    Ok((
        Sort::parse(sort, sorts)?,
        cursor.map(Cursor::decode).transpose()?,
        pagination::limit(limit)?,
    ))
}

/// Applies an event; the answer is the updated resource rendered by `render`.
pub async fn transition<R: Resource>(
    state: &AppState,
    who: &AuthUser,
    meta: &RequestMeta,
    headers: &HeaderMap,
    id: Uuid,
    body: TransitionRequest,
    render: &(dyn Fn(&R::Record, &Caller) -> Value + Sync),
) -> Result<Response, ApiError> {
    let key = headers
        .get(IDEMPOTENCY_KEY)
        .map(|v| {
            v.to_str()
                .map(str::to_owned)
                .map_err(|_| ApiError::BadRequest("Idempotency-Key must be visible ASCII".into()))
        })
        .transpose()?;
    let path = format!("/api/v1/{}s/{id}/transitions", R::KIND.as_str());
    let req = transition::Request {
        id,
        event: body.event.clone(),
        expected_version: body.expected_version,
        payload: body.payload.clone(),
        idempotency: key.map(|k| (k, fingerprint(&path, &body))),
    };
    let (mut conn, caller) = caller(state, who).await?;
    let audit = meta.audit(Some(who.0.user_id));
    let answer =
        transition::apply::<R>(&mut conn, &caller, &audit, &req, &|r| render(r, &caller)).await?;
    let mut response = (StatusCode::OK, axum::Json(answer.body)).into_response();
    if answer.replayed {
        response
            .headers_mut()
            .insert(REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(response)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryDto {
    pub version: i32,
    pub event: String,
    pub from_state: String,
    pub to_state: String,
    pub actor_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    #[schema(value_type = Object)]
    pub payload: Value,
}

impl From<HistoryEntry> for HistoryDto {
    fn from(h: HistoryEntry) -> Self {
        HistoryDto {
            version: h.version,
            event: h.event,
            from_state: h.from_state,
            to_state: h.to_state,
            actor_id: h.actor_id,
            occurred_at: h.occurred_at,
            payload: h.payload,
        }
    }
}

/// `{ "items": [...] }`, oldest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryList {
    pub items: Vec<HistoryDto>,
}

/// An effect a transition queued, as the console shows it under the row.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EffectDto {
    pub id: i64,
    /// The version the transition that queued it produced.
    pub version: i32,
    /// The job's queue, e.g. `billing_request_quote`.
    pub queue: String,
    /// pending | enqueued | running | done | dead | discarded
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    /// The last failure, for callers who may see jobs (ops); `null` for others.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EffectList {
    pub items: Vec<EffectDto>,
}

/// The effects of a row's transitions, oldest first; the last error only for callers
/// who may view jobs.
pub async fn effects<R: Resource>(
    state: &AppState,
    who: &AuthUser,
    id: Uuid,
) -> Result<EffectList, ApiError> {
    let (mut conn, caller) = caller(state, who).await?;
    let ops = state
        .authz
        .authorize(
            &who.0,
            tentabo_workflows::authz::Object::Job,
            tentabo_workflows::authz::Action::View,
        )
        .is_ok();
    let items = transition::effects::<R>(&mut conn, &caller, id).await?;
    Ok(EffectList {
        items: items
            .into_iter()
            .map(|e| EffectDto {
                id: e.id,
                version: e.version,
                queue: e.queue,
                status: e.status,
                attempts: e.attempts,
                max_attempts: e.max_attempts,
                last_error: e.last_error.filter(|_| ops),
                created_at: e.created_at,
                finished_at: e.finished_at,
            })
            .collect(),
    })
}

pub async fn history<R: Resource>(
    state: &AppState,
    who: &AuthUser,
    id: Uuid,
) -> Result<HistoryList, ApiError> {
    let (mut conn, caller) = caller(state, who).await?;
    let items = transition::history::<R>(&mut conn, &caller, id).await?;
    Ok(HistoryList {
        items: items.into_iter().map(HistoryDto::from).collect(),
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateNote {
    /// `internal` (staff only) or `partner_visible`.
    #[schema(value_type = String, pattern = r"^(internal|partner_visible)$")]
    pub visibility: Visibility,
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub body: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NoteDto {
    pub id: Uuid,
    pub author_id: Uuid,
    pub visibility: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl From<Note> for NoteDto {
    fn from(n: Note) -> Self {
        NoteDto {
            id: n.id,
            author_id: n.author_id,
            visibility: n.visibility,
            body: n.body,
            created_at: n.created_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NoteList {
    pub items: Vec<NoteDto>,
}

pub async fn list_notes(
    state: &AppState,
    who: &AuthUser,
    kind: Kind,
    id: Uuid,
) -> Result<NoteList, ApiError> {
    let (mut conn, caller) = caller(state, who).await?;
    let items = notes::list(&mut conn, &caller, kind, id).await?;
    Ok(NoteList {
        items: items.into_iter().map(NoteDto::from).collect(),
    })
}

pub async fn create_note(
    state: &AppState,
    who: &AuthUser,
    meta: &RequestMeta,
    kind: Kind,
    id: Uuid,
    body: CreateNote,
) -> Result<(StatusCode, axum::Json<NoteDto>), ApiError> {
    let (mut conn, caller) = caller(state, who).await?;
    let note = notes::create(
        &mut conn,
        &caller,
        &meta.audit(Some(who.0.user_id)),
        kind,
        id,
        body.visibility,
        &body.body,
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(note.into())))
}

/// `POST …/{id}/reassign`: moves a row to other owning organisations (admins).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reassign {
    pub partner_id: Option<Uuid>,
    pub distributor_id: Option<Uuid>,
}

impl Reassign {
    pub fn owners(&self) -> Owners {
        Owners {
            partner_id: self.partner_id,
            distributor_id: self.distributor_id,
        }
    }
}

/// Event names as strings for `allowed_events`.
pub fn names<E: Serialize + Copy>(events: &[E]) -> Vec<String> {
    events.iter().map(|e| transition::state_name(*e)).collect()
}

/// Parses a `state` query parameter into a machine state (422 when unknown).
pub fn parse_state<S: serde::de::DeserializeOwned>(
    raw: Option<&str>,
) -> Result<Option<S>, ApiError> {
    raw.map(|s| {
        serde_json::from_value(Value::String(s.to_owned())).map_err(|_| {
            ApiError::from(tentabo_workflows::error::FieldErrors::single(
                "state",
                "unknown_state",
            ))
        })
    })
    .transpose()
}
