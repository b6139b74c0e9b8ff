//! `/api/v1/orders`: orders priced by the pricing engine, in the caller's row scope;
//! transitions, history, notes, reassigning, deleting.

use crate::extract::Path;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tentabo_workflows::catalogue::BasketLine;
use tentabo_workflows::lifecycle::order::OrderMachine;
use tentabo_workflows::pricing::Period;
use tentabo_workflows::sales::orders::{self, NewOrder, Order, OrderFilter, OrderLine};
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
use crate::routes::catalogue::BasketLineDto;
use crate::routes::dto::List;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orders, create_order))
        .routes(routes!(get_order, delete_order))
        .routes(routes!(replace_order_lines))
        .routes(routes!(reassign_order))
        .routes(routes!(order_transition))
        .routes(routes!(order_history))
        .routes(routes!(order_effects))
        .routes(routes!(list_order_notes, create_order_note))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderLineDto {
    pub product_id: Uuid,
    pub duration_months: i32,
    pub quantity: i64,
    /// month | year
    pub billing_period: String,
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = String)]
    pub subtotal: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = String)]
    pub discount: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = String)]
    pub total: Decimal,
}

impl From<&OrderLine> for OrderLineDto {
    fn from(l: &OrderLine) -> Self {
        OrderLineDto {
            product_id: l.product_id,
            duration_months: l.duration_months,
            quantity: l.quantity,
            billing_period: l.billing_period.clone(),
            subtotal: l.subtotal,
            discount: l.discount,
            total: l.total,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderDto {
    pub id: Uuid,
    /// `ORD-000123`
    pub reference: String,
    /// created | sent | in_fulfillment | fulfilled | cancelled
    pub state: String,
    pub version: i32,
    pub allowed_events: Vec<String>,
    pub created_by: Uuid,
    pub partner_id: Option<Uuid>,
    pub distributor_id: Option<Uuid>,
    pub lead_id: Option<Uuid>,
    pub replaces_contract_id: Option<Uuid>,
    pub currency: String,
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = String, example = "12000.00")]
    pub subtotal: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = String)]
    pub discount: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = String)]
    pub total: Decimal,
    pub lines: Vec<OrderLineDto>,
    /// The pricing engine's working per line (tiers, period, discount) when priced;
    /// empty before.
    #[schema(value_type = Vec<Object>)]
    pub pricing: Value,
    pub billing_provider: Option<String>,
    pub billing_quote_id: Option<String>,
    pub crm_provider: Option<String>,
    pub crm_deal_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl OrderDto {
    pub fn new(o: &Order, caller: &Caller) -> OrderDto {
        OrderDto {
            allowed_events: names(&o.allowed_events(caller)),
            id: o.id,
            reference: o.reference.clone(),
            state: o.state.clone(),
            version: o.version,
            created_by: o.created_by,
            partner_id: o.partner_id,
            distributor_id: o.distributor_id,
            lead_id: o.lead_id,
            replaces_contract_id: o.replaces_contract_id,
            currency: o.currency.clone(),
            subtotal: o.subtotal,
            discount: o.discount,
            total: o.total,
            lines: o.lines.iter().map(OrderLineDto::from).collect(),
            pricing: o.pricing.clone(),
            billing_provider: o.billing_provider.clone(),
            billing_quote_id: o.billing_quote_id.clone(),
            crm_provider: o.crm_provider.clone(),
            crm_deal_id: o.crm_deal_id.clone(),
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

fn render(o: &Order, caller: &Caller) -> Value {
    serde_json::to_value(OrderDto::new(o, caller)).unwrap_or_default()
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrder {
    #[serde(deserialize_with = "super::dto::objects")]
    #[schema(min_items = 1, max_items = 500)]
    pub lines: Vec<BasketLineDto>,
    /// Admins name the owning organisations; a partner owns what it creates.
    pub partner_id: Option<Uuid>,
    pub distributor_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceLines {
    #[serde(deserialize_with = "super::dto::objects")]
    #[schema(min_items = 1, max_items = 500)]
    pub lines: Vec<BasketLineDto>,
    pub expected_version: Option<i32>,
}

fn basket(lines: &[BasketLineDto]) -> Vec<BasketLine> {
    lines
        .iter()
        .map(|l| BasketLine {
            product_id: l.product_id,
            duration_months: l.duration_months,
            quantity: l.quantity,
            billing_period: l.billing_period.unwrap_or(Period::Month),
        })
        .collect()
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OrderParams {
    #[param(pattern = r"^(created|sent|in_fulfillment|fulfilled|cancelled)$")]
    pub state: Option<String>,
    /// Part of the reference.
    pub q: Option<String>,
    pub partner_id: Option<Uuid>,
    pub distributor_id: Option<Uuid>,
    pub lead_id: Option<Uuid>,
    /// `created_at` (default), `reference`, `total`; `-` prefix for descending.
    #[param(pattern = r"^-?(created_at|reference|total)$")]
    pub sort: Option<String>,
    #[param(min_length = 1, pattern = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$")]
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", params(OrderParams), security(("bearer" = [])),
    responses((status = 200, body = List<OrderDto>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_orders(
    State(s): State<AppState>,
    who: AuthUser,
    Query(p): Query<OrderParams>,
) -> Result<Json<List<OrderDto>>, ApiError> {
    let (sort, cursor, limit) = paging(
        p.sort.as_deref(),
        p.cursor.as_deref(),
        p.limit,
        orders::SORTS,
    )?;
    let filter = OrderFilter {
        state: parse_state(p.state.as_deref())?,
        q: p.q.filter(|q| !q.trim().is_empty()),
        partner_id: p.partner_id,
        distributor_id: p.distributor_id,
        lead_id: p.lead_id,
    };
    let (mut conn, caller) = caller(&s, &who).await?;
    let page = orders::list(&mut conn, &caller, &filter, sort, cursor.as_ref(), limit).await?;
    Ok(Json(List {
        items: page
            .items
            .iter()
            .map(|o| OrderDto::new(o, &caller))
            .collect(),
        next_cursor: crate::cursor::seal(page.next_cursor),
    }))
}

/// Creates an order, priced now by the pricing engine (the working is stored).
#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", request_body = CreateOrder, security(("bearer" = [])),
    responses((status = 201, body = OrderDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_order(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Json(b): Json<CreateOrder>,
) -> Result<(StatusCode, Json<OrderDto>), ApiError> {
    let (mut conn, caller) = caller(&s, &who).await?;
    let audit = meta.audit(Some(who.0.user_id));
    let new = NewOrder {
        lines: basket(&b.lines),
        partner_id: b.partner_id,
        distributor_id: b.distributor_id,
    };
    let order = orders::create(&mut conn, &caller, &audit, new).await?;
    Ok((StatusCode::CREATED, Json(OrderDto::new(&order, &caller))))
}

#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", security(("bearer" = [])),
    responses((status = 200, body = OrderDto), (status = 404, body = ErrorBody)))]
async fn get_order(
    State(s): State<AppState>,
    who: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<Json<OrderDto>, ApiError> {
    let (mut conn, caller) = caller(&s, &who).await?;
    let order = orders::get(&mut conn, &caller, id).await?;
    Ok(Json(OrderDto::new(&order, &caller)))
}

/// Deletes an order (admins); a fulfilled order, which has a contract, stays (409).
#[utoipa::path(delete, path = "/api/v1/orders/{id}", tag = "orders", security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete_order(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    let (mut conn, caller) = caller(&s, &who).await?;
    let audit = meta.audit(Some(who.0.user_id));
    orders::delete(&mut conn, &caller, &audit, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces the lines of an order not yet sent, re-priced now.
#[utoipa::path(put, path = "/api/v1/orders/{id}/lines", tag = "orders", request_body = ReplaceLines, security(("bearer" = [])),
    responses((status = 200, body = OrderDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn replace_order_lines(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path(id): Path<Uuid>,
    Json(b): Json<ReplaceLines>,
) -> Result<Json<OrderDto>, ApiError> {
    let (mut conn, caller) = caller(&s, &who).await?;
    let audit = meta.audit(Some(who.0.user_id));
    let lines = basket(&b.lines);
    let order =
        orders::replace_lines(&mut conn, &caller, &audit, id, b.expected_version, lines).await?;
    Ok(Json(OrderDto::new(&order, &caller)))
}

/// Moves an order to other owning organisations (admins).
#[utoipa::path(post, path = "/api/v1/orders/{id}/reassign", tag = "orders", request_body = Reassign, security(("bearer" = [])),
    responses((status = 200, body = OrderDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn reassign_order(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path(id): Path<Uuid>,
    Json(b): Json<Reassign>,
) -> Result<Json<OrderDto>, ApiError> {
    let (mut conn, caller) = caller(&s, &who).await?;
    let audit = meta.audit(Some(who.0.user_id));
    sales::reassign(&mut conn, &caller, &audit, Kind::Order, id, b.owners()).await?;
    let order = orders::get(&mut conn, &caller, id).await?;
    Ok(Json(OrderDto::new(&order, &caller)))
}

/// Sends an event to an order: `send` (asks billing for a quote), `start_fulfillment`,
/// `fulfill` (creates the Active contract, asks billing for an invoice), `cancel`.
/// Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/orders/{id}/transitions", tag = "orders", request_body = super::sales::OrderTransitionRequest, security(("bearer" = [])),
    responses((status = 200, body = OrderDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "illegal event (details: state, allowed_events) or stale version"),
        (status = 422, body = ErrorBody)))]
async fn order_transition(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Json(b): Json<TransitionRequest>,
) -> Result<Response, ApiError> {
    super::sales::transition::<OrderMachine>(&s, &who, &meta, &headers, id, b, &render).await
}

#[utoipa::path(get, path = "/api/v1/orders/{id}/history", tag = "orders", security(("bearer" = [])),
    responses((status = 200, body = HistoryList), (status = 404, body = ErrorBody)))]
async fn order_history(
    State(s): State<AppState>,
    who: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<Json<HistoryList>, ApiError> {
    Ok(Json(
        super::sales::history::<OrderMachine>(&s, &who, id).await?,
    ))
}

/// The effects this order's transitions queued and how each went (pending, done,
/// failed and waiting for a retry, dead).
#[utoipa::path(get, path = "/api/v1/orders/{id}/effects", tag = "orders", security(("bearer" = [])),
    responses((status = 200, body = super::sales::EffectList), (status = 404, body = ErrorBody)))]
async fn order_effects(
    State(s): State<AppState>,
    who: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<Json<super::sales::EffectList>, ApiError> {
    Ok(Json(
        super::sales::effects::<OrderMachine>(&s, &who, id).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/orders/{id}/notes", tag = "orders", security(("bearer" = [])),
    responses((status = 200, body = NoteList), (status = 404, body = ErrorBody)))]
async fn list_order_notes(
    State(s): State<AppState>,
    who: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<Json<NoteList>, ApiError> {
    Ok(Json(
        super::sales::list_notes(&s, &who, Kind::Order, id).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/notes", tag = "orders", request_body = CreateNote, security(("bearer" = [])),
    responses((status = 201, body = NoteDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_order_note(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path(id): Path<Uuid>,
    Json(b): Json<CreateNote>,
) -> Result<(StatusCode, axum::Json<NoteDto>), ApiError> {
    super::sales::create_note(&s, &who, &meta, Kind::Order, id, b).await
}
