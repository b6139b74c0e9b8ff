//! `/api/v1/contracts`: contracts in the caller's row scope; transitions (`mark_lost`,
//! `upgrade`, `downgrade`), history, notes, reassigning. Contracts are created by
//! fulfilling an order, never by POST.

use crate::extract::Path;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tentabo_workflows::lifecycle::contract::ContractMachine;
use tentabo_workflows::sales::contracts::{self, Contract, ContractFilter};
use tentabo_workflows::sales::{self, Caller, Kind};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::sales::{
    CreateNote, HistoryList, NoteDto, NoteList, Reassign, TransitionRequest, caller, names, paging,
    parse_state,
};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{AuthUser, Json, Query, RequestMeta};
use crate::routes::dto::List;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_contracts))
        .routes(routes!(get_contract))
        .routes(routes!(reassign_contract))
        .routes(routes!(contract_transition))
        .routes(routes!(contract_history))
        .routes(routes!(contract_effects))
        .routes(routes!(list_contract_notes, create_contract_note))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ContractDto {
    pub id: Uuid,
    pub order_id: Uuid,
    /// active | lost | upgraded | downgraded
    pub state: String,
    pub version: i32,
    pub allowed_events: Vec<String>,
    pub user_id: Uuid,
    pub partner_id: Option<Uuid>,
    pub distributor_id: Option<Uuid>,
    pub activation_date: DateTime<Utc>,
    pub expiration_date: Option<DateTime<Utc>>,
    /// Flagged by the nightly expiry scan: expires soon, due for renewal.
    pub renewal_due: bool,
    pub renewal_due_at: Option<DateTime<Utc>>,
    pub replaced_by_order_id: Option<Uuid>,
    pub billing_provider: Option<String>,
    pub billing_invoices: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ContractDto {
    pub fn new(c: &Contract, caller: &Caller) -> ContractDto {
        ContractDto {
            allowed_events: names(&c.allowed_events(caller)),
            id: c.id,
            order_id: c.order_id,
            state: c.state.clone(),
            version: c.version,
            user_id: c.user_id,
            partner_id: c.partner_id,
            distributor_id: c.distributor_id,
            activation_date: c.activation_date,
            expiration_date: c.expiration_date,
            renewal_due: c.renewal_due_at.is_some(),
            renewal_due_at: c.renewal_due_at,
            replaced_by_order_id: c.replaced_by_order_id,
            billing_provider: c.billing_provider.clone(),
            billing_invoices: c.billing_invoices.clone(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// One invoice of a contract, as the billing provider's last sync left it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ContractInvoiceDto {
    pub provider: String,
    pub external_id: String,
    pub number: Option<String>,
    /// draft | finalized | partially_paid | paid | late | cancelled | credit_note; null
    /// until the provider's next sync brings the invoice back.
    pub status: Option<String>,
    pub currency: Option<String>,
    #[serde(with = "rust_decimal::serde::str_option")]
    #[schema(value_type = Option<String>)]
    pub amount_total: Option<rust_decimal::Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    #[schema(value_type = Option<String>)]
    pub amount_due: Option<rust_decimal::Decimal>,
    pub issue_date: Option<chrono::NaiveDate>,
    pub due_date: Option<chrono::NaiveDate>,
    pub synced_at: Option<DateTime<Utc>>,
}

/// A contract with its invoices (`GET /api/v1/contracts/{id}`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ContractDetail {
    #[serde(flatten)]
    pub contract: ContractDto,
    pub invoices: Vec<ContractInvoiceDto>,
}

fn render(c: &Contract, caller: &Caller) -> Value {
    serde_json::to_value(ContractDto::new(c, caller)).unwrap_or_default()
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ContractParams {
    #[param(pattern = r"^(active|lost|upgraded|downgraded)$")]
    pub state: Option<String>,
    pub partner_id: Option<Uuid>,
    pub distributor_id: Option<Uuid>,
    pub order_id: Option<Uuid>,
    /// Only contracts flagged (`true`) or not (`false`) as due for renewal.
    pub renewal_due: Option<bool>,
    /// `created_at` (default), `activation_date`; `-` prefix for descending.
    #[param(pattern = r"^-?(created_at|activation_date)$")]
    pub sort: Option<String>,
    #[param(min_length = 1, pattern = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$")]
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/contracts", tag = "contracts", params(ContractParams), security(("bearer" = [])),
    responses((status = 200, body = List<ContractDto>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_contracts(
    State(s): State<AppState>,
    who: AuthUser,
    Query(p): Query<ContractParams>,
) -> Result<Json<List<ContractDto>>, ApiError> {
    let (sort, cursor, limit) = paging(
        p.sort.as_deref(),
        p.cursor.as_deref(),
        p.limit,
        contracts::SORTS,
    )?;
    let filter = ContractFilter {
        state: parse_state(p.state.as_deref())?,
        partner_id: p.partner_id,
        distributor_id: p.distributor_id,
        order_id: p.order_id,
        renewal_due: p.renewal_due,
    };
    let (mut conn, caller) = caller(&s, &who).await?;
    let page = contracts::list(&mut conn, &caller, &filter, sort, cursor.as_ref(), limit).await?;
    Ok(Json(List {
        items: page
            .items
            .iter()
            .map(|c| ContractDto::new(c, &caller))
            .collect(),
        next_cursor: crate::cursor::seal(page.next_cursor),
    }))
}

#[utoipa::path(get, path = "/api/v1/contracts/{id}", tag = "contracts", security(("bearer" = [])),
    responses((status = 200, body = ContractDetail), (status = 404, body = ErrorBody)))]
async fn get_contract(
    State(s): State<AppState>,
    who: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<Json<ContractDetail>, ApiError> {
    let (mut conn, caller) = caller(&s, &who).await?;
    let contract = contracts::get(&mut conn, &caller, id).await?;
    let invoices = contracts::invoices(&mut conn, &contract).await?;
    Ok(Json(ContractDetail {
        contract: ContractDto::new(&contract, &caller),
        invoices: invoices
            .into_iter()
            .map(|i| ContractInvoiceDto {
                provider: i.provider,
                external_id: i.external_id,
                number: i.number,
                status: i.status,
                currency: i.currency,
                amount_total: i.amount_total,
                amount_due: i.amount_due,
                issue_date: i.issue_date,
                due_date: i.due_date,
                synced_at: i.synced_at,
            })
            .collect(),
    }))
}

/// Moves a contract to other owning organisations (admins).
#[utoipa::path(post, path = "/api/v1/contracts/{id}/reassign", tag = "contracts", request_body = Reassign, security(("bearer" = [])),
    responses((status = 200, body = ContractDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn reassign_contract(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path(id): Path<Uuid>,
    Json(b): Json<Reassign>,
) -> Result<Json<ContractDto>, ApiError> {
    let (mut conn, caller) = caller(&s, &who).await?;
    let audit = meta.audit(Some(who.0.user_id));
    sales::reassign(&mut conn, &caller, &audit, Kind::Contract, id, b.owners()).await?;
    let contract = contracts::get(&mut conn, &caller, id).await?;
    Ok(Json(ContractDto::new(&contract, &caller)))
}

/// Sends an event to a contract: `mark_lost`, `upgrade` or `downgrade` (admins); an
/// upgrade or downgrade names the replacing order in `payload.order_id`. Accepts
/// `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/contracts/{id}/transitions", tag = "contracts", request_body = super::sales::ContractTransitionRequest, security(("bearer" = [])),
    responses((status = 200, body = ContractDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "illegal event (details: state, allowed_events) or stale version"),
        (status = 422, body = ErrorBody)))]
async fn contract_transition(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Json(b): Json<TransitionRequest>,
) -> Result<Response, ApiError> {
    super::sales::transition::<ContractMachine>(&s, &who, &meta, &headers, id, b, &render).await
}

#[utoipa::path(get, path = "/api/v1/contracts/{id}/history", tag = "contracts", security(("bearer" = [])),
    responses((status = 200, body = HistoryList), (status = 404, body = ErrorBody)))]
async fn contract_history(
    State(s): State<AppState>,
    who: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<Json<HistoryList>, ApiError> {
    Ok(Json(
        super::sales::history::<ContractMachine>(&s, &who, id).await?,
    ))
}

/// The effects this contract's transitions queued and how each went (pending, done,
/// failed and waiting for a retry, dead).
#[utoipa::path(get, path = "/api/v1/contracts/{id}/effects", tag = "contracts", security(("bearer" = [])),
    responses((status = 200, body = super::sales::EffectList), (status = 404, body = ErrorBody)))]
async fn contract_effects(
    State(s): State<AppState>,
    who: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<Json<super::sales::EffectList>, ApiError> {
    Ok(Json(
        super::sales::effects::<ContractMachine>(&s, &who, id).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/contracts/{id}/notes", tag = "contracts", security(("bearer" = [])),
    responses((status = 200, body = NoteList), (status = 404, body = ErrorBody)))]
async fn list_contract_notes(
    State(s): State<AppState>,
    who: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<Json<NoteList>, ApiError> {
    Ok(Json(
        super::sales::list_notes(&s, &who, Kind::Contract, id).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/contracts/{id}/notes", tag = "contracts", request_body = CreateNote, security(("bearer" = [])),
    responses((status = 201, body = NoteDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_contract_note(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path(id): Path<Uuid>,
    Json(b): Json<CreateNote>,
) -> Result<(StatusCode, axum::Json<NoteDto>), ApiError> {
    super::sales::create_note(&s, &who, &meta, Kind::Contract, id, b).await
}
