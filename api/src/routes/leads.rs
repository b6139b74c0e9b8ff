//! `/api/v1/leads`: CRUD in the caller's row scope, transitions, history, notes,
//! analytics.

use crate::extract::Path;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tentabo_workflows::lifecycle::lead::LeadMachine;
use tentabo_workflows::sales::leads::{self, Lead, LeadFilter, LeadPatch, NewLead};
use tentabo_workflows::sales::{self, Caller, Kind};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::sales::{
    CreateNote, HistoryList, NoteDto, NoteList, TransitionRequest, caller, names, paging,
    parse_state,
};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{AuthUser, Json, Query, RequestMeta};
use crate::routes::dto::{List, double_option};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_leads, create_lead))
        .routes(routes!(lead_analytics))
        .routes(routes!(get_lead, update_lead, delete_lead))
        .routes(routes!(lead_transition))
        .routes(routes!(lead_history))
        .routes(routes!(lead_effects))
        .routes(routes!(list_lead_notes, create_lead_note))
}

/// A lead: the seeds' Lead model, with its lifecycle state, version and the events the
/// caller may send it now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LeadDto {
    pub id: Uuid,
    pub title: String,
    pub organization: String,
    pub contact_name: String,
    pub contact_email: String,
    pub contact_phone: Option<String>,
    /// Decimal string.
    #[serde(with = "rust_decimal::serde::str_option")]
    #[schema(value_type = Option<String>, example = "12000.00")]
    pub value: Option<Decimal>,
    pub currency: String,
    pub probability: Option<i32>,
    pub expected_close_date: Option<DateTime<Utc>>,
    pub source: Option<String>,
    pub lost_reason: Option<String>,
    /// new | contacted | qualified | proposal | negotiation | won | lost
    pub state: String,
    pub version: i32,
    pub allowed_events: Vec<String>,
    pub owner_id: Uuid,
    pub partner_id: Option<Uuid>,
    pub distributor_id: Option<Uuid>,
    pub provider_name: Option<String>,
    pub provider_id: Option<String>,
    #[schema(value_type = Object)]
    pub provider_metadata: Value,
    pub converted_order_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_sync_at: Option<DateTime<Utc>>,
}

impl LeadDto {
    pub fn new(l: &Lead, caller: &Caller) -> LeadDto {
        LeadDto {
            allowed_events: names(&l.allowed_events(caller)),
            id: l.id,
            title: l.title.clone(),
            organization: l.organization.clone(),
            contact_name: l.contact_name.clone(),
            contact_email: l.contact_email.clone(),
            contact_phone: l.contact_phone.clone(),
            value: l.value,
            currency: l.currency.clone(),
            probability: l.probability,
            expected_close_date: l.expected_close_date,
            source: l.source.clone(),
            lost_reason: l.lost_reason.clone(),
            state: l.state.clone(),
            version: l.version,
            owner_id: l.owner_id,
            partner_id: l.partner_id,
            distributor_id: l.distributor_id,
            provider_name: l.provider_name.clone(),
            provider_id: l.provider_id.clone(),
            provider_metadata: l.provider_metadata.clone(),
            converted_order_id: l.converted_order_id,
            created_at: l.created_at,
            updated_at: l.updated_at,
            last_sync_at: l.last_sync_at,
        }
    }
}

fn render(l: &Lead, caller: &Caller) -> Value {
    serde_json::to_value(LeadDto::new(l, caller)).unwrap_or_default()
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLead {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub title: String,
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub organization: String,
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub contact_name: String,
    #[schema(format = Email, max_length = 254)]
    pub contact_email: String,
    pub contact_phone: Option<String>,
    #[serde(default, deserialize_with = "super::dto::money::option")]
    #[schema(value_type = Option<String>, example = "12000.00", pattern = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$")]
    pub value: Option<Decimal>,
    /// ISO 4217, default EUR.
    #[schema(pattern = r"^[A-Z]{3}$")]
    pub currency: Option<String>,
    /// 0–100.
    #[schema(minimum = 0, maximum = 100)]
    pub probability: Option<i32>,
    pub expected_close_date: Option<DateTime<Utc>>,
    pub source: Option<String>,
    /// Admins name the owning organisations; a partner or distributor owns what it
    /// creates (a distributor may name one of its attached partners).
    pub partner_id: Option<Uuid>,
    pub distributor_id: Option<Uuid>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct UpdateLead {
    #[schema(nullable = false, min_length = 1, max_length = 200, pattern = r"\S")]
    pub title: Option<String>,
    #[schema(nullable = false, min_length = 1, max_length = 200, pattern = r"\S")]
    pub organization: Option<String>,
    #[schema(nullable = false, min_length = 1, max_length = 200, pattern = r"\S")]
    pub contact_name: Option<String>,
    #[schema(nullable = false, format = Email, max_length = 254)]
    pub contact_email: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub contact_phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::dto::money::double_option")]
    #[schema(value_type = Option<String>, pattern = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$")]
    pub value: Option<Option<Decimal>>,
    #[schema(nullable = false, pattern = r"^[A-Z]{3}$")]
    pub currency: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(minimum = 0, maximum = 100)]
    pub probability: Option<Option<i32>>,
    #[serde(default, deserialize_with = "double_option")]
    pub expected_close_date: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "double_option")]
    pub source: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub lost_reason: Option<Option<String>>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LeadParams {
    /// Only leads in this state.
    #[param(pattern = r"^(new|contacted|qualified|proposal|negotiation|won|lost)$")]
    pub state: Option<String>,
    /// Free text in title, organization, contact name or email.
    pub q: Option<String>,
    pub owner_id: Option<Uuid>,
    pub partner_id: Option<Uuid>,
    pub distributor_id: Option<Uuid>,
    /// `created_at` (default), `title`, `updated_at`; `-` prefix for descending.
    #[param(pattern = r"^-?(created_at|title|updated_at)$")]
    pub sort: Option<String>,
    #[param(min_length = 1, pattern = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$")]
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// Leads in the caller's scope.
#[utoipa::path(get, path = "/api/v1/leads", tag = "leads", params(LeadParams), security(("bearer" = [])),
    responses((status = 200, body = List<LeadDto>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_leads(
    State(s): State<AppState>,
    who: AuthUser,
    Query(p): Query<LeadParams>,
) -> Result<Json<List<LeadDto>>, ApiError> {
    let (sort, cursor, limit) = paging(
        p.sort.as_deref(),
        p.cursor.as_deref(),
        p.limit,
        leads::SORTS,
    )?;
    let filter = LeadFilter {
        state: parse_state(p.state.as_deref())?,
        q: p.q.filter(|q| !q.trim().is_empty()),
        owner_id: p.owner_id,
        partner_id: p.partner_id,
        distributor_id: p.distributor_id,
    };
    let (mut conn, caller) = caller(&s, &who).await?;
    let page = leads::list(&mut conn, &caller, &filter, sort, cursor.as_ref(), limit).await?;
    Ok(Json(List {
        items: page
            .items
            .iter()
            .map(|l| LeadDto::new(l, &caller))
            .collect(),
        next_cursor: crate::cursor::seal(page.next_cursor),
    }))
}

#[utoipa::path(post, path = "/api/v1/leads", tag = "leads", request_body = CreateLead, security(("bearer" = [])),
    responses((status = 201, body = LeadDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_lead(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Json(b): Json<CreateLead>,
) -> Result<(StatusCode, Json<LeadDto>), ApiError> {
    let (mut conn, caller) = caller(&s, &who).await?;
    let lead = leads::create(
        &mut conn,
        &caller,
        &meta.audit(Some(who.0.user_id)),
        NewLead {
            title: b.title,
            organization: b.organization,
            contact_name: b.contact_name,
            contact_email: b.contact_email,
            contact_phone: b.contact_phone,
            value: b.value,
            currency: b.currency,
            probability: b.probability,
            expected_close_date: b.expected_close_date,
            source: b.source,
            partner_id: b.partner_id,
            distributor_id: b.distributor_id,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(LeadDto::new(&lead, &caller))))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LeadStateFiguresDto {
    pub state: String,
    pub count: i64,
    /// Sum of the leads' values, decimal string.
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = String)]
    pub value: Decimal,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LeadAnalytics {
    pub by_state: Vec<LeadStateFiguresDto>,
}

/// Lead counts and pipeline value per state, in the caller's analytics scope.
#[utoipa::path(get, path = "/api/v1/leads/analytics", tag = "leads", security(("bearer" = [])),
    responses((status = 200, body = LeadAnalytics), (status = 403, body = ErrorBody)))]
async fn lead_analytics(
    State(s): State<AppState>,
    who: AuthUser,
) -> Result<Json<LeadAnalytics>, ApiError> {
    let (mut conn, c) = caller(&s, &who).await?;
    let rows = sales::lead_analytics(&mut conn, &c).await?;
    Ok(Json(LeadAnalytics {
        by_state: rows
            .into_iter()
            .map(|r| LeadStateFiguresDto {
                state: r.state,
                count: r.count,
                value: r.value,
            })
            .collect(),
    }))
}

/// Where the lead lives in a CRM.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CrmLinkDto {
    pub provider: String,
    /// person | organization | lead (an inbox item) | deal
    pub object: String,
    pub external_id: String,
    /// The object in the CRM's web app, when known.
    pub url: Option<String>,
    /// When Tentabo and the CRM last agreed on the lead.
    pub synced_at: DateTime<Utc>,
    pub remote_updated_at: Option<DateTime<Utc>>,
}

/// A lead with where it lives in the CRM and its activities.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LeadDetailDto {
    #[serde(flatten)]
    pub lead: LeadDto,
    pub crm_links: Vec<CrmLinkDto>,
    pub activities: Vec<super::crm::ActivityDto>,
}

#[utoipa::path(get, path = "/api/v1/leads/{id}", tag = "leads", security(("bearer" = [])),
    responses((status = 200, body = LeadDetailDto), (status = 404, body = ErrorBody)))]
async fn get_lead(
    State(s): State<AppState>,
    who: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<Json<LeadDetailDto>, ApiError> {
    let (mut conn, caller) = caller(&s, &who).await?;
    let lead = leads::get(&mut conn, &caller, id).await?;
    let links = tentabo_workflows::sales::crm::all_links(&mut conn, id).await?;
    let activities = tentabo_workflows::sales::activities::list(&mut conn, &caller, id).await?;
    drop(conn);
    let base = if links.iter().any(|(p, _)| p == "pipedrive") {
        match s.platform.pipedrive().await {
            Ok(Some(c)) => Some(c.settings().base_url.clone()),
            _ => None,
        }
    } else {
        None
    };
    Ok(Json(LeadDetailDto {
        lead: LeadDto::new(&lead, &caller),
        crm_links: links
            .into_iter()
            .map(|(provider, l)| CrmLinkDto {
                url: base
                    .as_deref()
                    .filter(|_| provider == "pipedrive")
                    .and_then(|b| {
                        tentabo_workflows::sales::crm::web_url(b, &l.object, &l.external_id)
                    }),
                provider,
                object: l.object,
                external_id: l.external_id,
                synced_at: l.synced_at,
                remote_updated_at: l.remote_updated_at,
            })
            .collect(),
        activities: activities.into_iter().map(Into::into).collect(),
    }))
}

/// Edits a lead's fields (not its state: use transitions). `null` clears a field.
#[utoipa::path(patch, path = "/api/v1/leads/{id}", tag = "leads", request_body = UpdateLead, security(("bearer" = [])),
    responses((status = 200, body = LeadDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_lead(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path(id): Path<Uuid>,
    Json(b): Json<UpdateLead>,
) -> Result<Json<LeadDto>, ApiError> {
    let (mut conn, caller) = caller(&s, &who).await?;
    let lead = leads::update(
        &mut conn,
        &caller,
        &meta.audit(Some(who.0.user_id)),
        id,
        LeadPatch {
            title: b.title,
            organization: b.organization,
            contact_name: b.contact_name,
            contact_email: b.contact_email,
            contact_phone: b.contact_phone,
            value: b.value,
            currency: b.currency,
            probability: b.probability,
            expected_close_date: b.expected_close_date,
            source: b.source,
            lost_reason: b.lost_reason,
        },
    )
    .await?;
    Ok(Json(LeadDto::new(&lead, &caller)))
}

#[utoipa::path(delete, path = "/api/v1/leads/{id}", tag = "leads", security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_lead(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    let (mut conn, caller) = caller(&s, &who).await?;
    leads::delete(&mut conn, &caller, &meta.audit(Some(who.0.user_id)), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends an event to a lead: `contact`, `qualify`, `propose`, `negotiate`, `win`,
/// `lose`, `reopen` (admins), `convert` (a won lead becomes an order). Accepts
/// `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/leads/{id}/transitions", tag = "leads", request_body = super::sales::LeadTransitionRequest, security(("bearer" = [])),
    responses((status = 200, body = LeadDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "illegal event (details: state, allowed_events) or stale version"),
        (status = 422, body = ErrorBody)))]
async fn lead_transition(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Json(b): Json<TransitionRequest>,
) -> Result<Response, ApiError> {
    super::sales::transition::<LeadMachine>(&s, &who, &meta, &headers, id, b, &render).await
}

#[utoipa::path(get, path = "/api/v1/leads/{id}/history", tag = "leads", security(("bearer" = [])),
    responses((status = 200, body = HistoryList), (status = 404, body = ErrorBody)))]
async fn lead_history(
    State(s): State<AppState>,
    who: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<Json<HistoryList>, ApiError> {
    Ok(Json(
        super::sales::history::<LeadMachine>(&s, &who, id).await?,
    ))
}

/// The effects this lead's transitions queued and how each went (pending, done,
/// failed and waiting for a retry, dead).
#[utoipa::path(get, path = "/api/v1/leads/{id}/effects", tag = "leads", security(("bearer" = [])),
    responses((status = 200, body = super::sales::EffectList), (status = 404, body = ErrorBody)))]
async fn lead_effects(
    State(s): State<AppState>,
    who: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<Json<super::sales::EffectList>, ApiError> {
    Ok(Json(
        super::sales::effects::<LeadMachine>(&s, &who, id).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/leads/{id}/notes", tag = "leads", security(("bearer" = [])),
    responses((status = 200, body = NoteList), (status = 404, body = ErrorBody)))]
async fn list_lead_notes(
    State(s): State<AppState>,
    who: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<Json<NoteList>, ApiError> {
    Ok(Json(
        super::sales::list_notes(&s, &who, Kind::Lead, id).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/leads/{id}/notes", tag = "leads", request_body = CreateNote, security(("bearer" = [])),
    responses((status = 201, body = NoteDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_lead_note(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path(id): Path<Uuid>,
    Json(b): Json<CreateNote>,
) -> Result<(StatusCode, axum::Json<NoteDto>), ApiError> {
    super::sales::create_note(&s, &who, &meta, Kind::Lead, id, b).await
}
