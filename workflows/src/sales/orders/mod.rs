//! Orders: subscription lines (product × duration × quantity) priced by the pricing
//! engine when written, with the engine's working stored beside the totals. Created
//! `created`; later states only through [`super::transition`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::OptionalExtension;
use diesel::sql_types::{
    BigInt, Integer, Jsonb, Nullable, Numeric, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Caller, Kind, Owners, resolve_owners, scope_sql};
use crate::WorkflowError;
use crate::audit::{self, AuditContext};
use crate::authz::Action;
use crate::catalogue::{self, BasketLine, Quote};
use crate::identity::listing::{Sort, cursor_binds, like_pattern, scope_binds};
use crate::lifecycle::order::{OrderEvent, OrderMachine, OrderState};
use crate::pagination::{Cursor, Page};
use crate::sql::{self, Bind};

mod writes;

pub use writes::*;

#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: Uuid,
    pub reference: String,
    pub state: String,
    pub version: i32,
    pub created_by: Uuid,
    pub partner_id: Option<Uuid>,
    pub distributor_id: Option<Uuid>,
    pub lead_id: Option<Uuid>,
    pub replaces_contract_id: Option<Uuid>,
    pub currency: String,
    pub subtotal: Decimal,
    pub discount: Decimal,
    pub total: Decimal,
    /// The pricing engine's working per line when the lines were priced.
    pub pricing: Value,
    pub billing_provider: Option<String>,
    pub billing_quote_id: Option<String>,
    pub crm_provider: Option<String>,
    pub crm_deal_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub lines: Vec<OrderLine>,
}

#[derive(Debug, Clone, PartialEq, diesel::QueryableByName)]
struct OrderRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    reference: String,
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = Integer)]
    version: i32,
    #[diesel(sql_type = SqlUuid)]
    created_by: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    partner_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    distributor_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    lead_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    replaces_contract_id: Option<Uuid>,
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = Numeric)]
    subtotal: Decimal,
    #[diesel(sql_type = Numeric)]
    discount: Decimal,
    #[diesel(sql_type = Numeric)]
    total: Decimal,
    /// The pricing engine's working per line when the lines were priced.
    #[diesel(sql_type = Jsonb)]
    pricing: Value,
    #[diesel(sql_type = Nullable<Text>)]
    billing_provider: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    billing_quote_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    crm_provider: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    crm_deal_id: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    updated_at: DateTime<Utc>,
}

impl From<OrderRow> for Order {
    fn from(r: OrderRow) -> Order {
        Order {
            id: r.id,
            reference: r.reference,
            state: r.state,
            version: r.version,
            created_by: r.created_by,
            partner_id: r.partner_id,
            distributor_id: r.distributor_id,
            lead_id: r.lead_id,
            replaces_contract_id: r.replaces_contract_id,
            currency: r.currency,
            subtotal: r.subtotal,
            discount: r.discount,
            total: r.total,
            pricing: r.pricing,
            billing_provider: r.billing_provider,
            billing_quote_id: r.billing_quote_id,
            crm_provider: r.crm_provider,
            crm_deal_id: r.crm_deal_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
            lines: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, diesel::QueryableByName)]
pub struct OrderLine {
    #[diesel(sql_type = SqlUuid)]
    pub order_id: Uuid,
    #[diesel(sql_type = Integer)]
    pub position: i32,
    #[diesel(sql_type = SqlUuid)]
    pub product_id: Uuid,
    #[diesel(sql_type = Integer)]
    pub duration_months: i32,
    #[diesel(sql_type = BigInt)]
    pub quantity: i64,
    #[diesel(sql_type = Text)]
    pub billing_period: String,
    #[diesel(sql_type = Numeric)]
    pub subtotal: Decimal,
    #[diesel(sql_type = Numeric)]
    pub discount: Decimal,
    #[diesel(sql_type = Numeric)]
    pub total: Decimal,
}

const COLUMNS: &str = "id, reference, state, version, created_by, partner_id, distributor_id, \
    lead_id, replaces_contract_id, currency, subtotal, discount, total, pricing, \
    billing_provider, billing_quote_id, crm_provider, crm_deal_id, created_at, updated_at";

impl Order {
    pub fn owners(&self) -> Owners {
        Owners {
            partner_id: self.partner_id,
            distributor_id: self.distributor_id,
        }
    }
    pub fn allowed_events(&self, caller: &Caller) -> Vec<OrderEvent> {
        super::resource::allowed::<OrderMachine>(caller, &self.state, self.owners())
    }
    /// The longest subscription of the order, in months (the contract's term).
    pub fn term_months(&self) -> Option<i32> {
        self.lines.iter().map(|l| l.duration_months).max()
    }
}

#[derive(Debug, Clone, Default)]
pub struct NewOrder {
    pub lines: Vec<BasketLine>,
    pub partner_id: Option<Uuid>,
    pub distributor_id: Option<Uuid>,
}

pub const SORTS: &[(&str, &str, &str)] = &[
    ("created_at", "created_at", "timestamptz"),
    ("reference", "reference", "text"),
    ("total", "total", "numeric"),
];

#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub state: Option<OrderState>,
    pub q: Option<String>,
    pub partner_id: Option<Uuid>,
    pub distributor_id: Option<Uuid>,
    pub lead_id: Option<Uuid>,
}

async fn attach_lines(
    conn: &mut AsyncPgConnection,
    orders: &mut [Order],
) -> Result<(), WorkflowError> {
    if orders.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = orders.iter().map(|o| o.id).collect();
    let lines: Vec<OrderLine> = sql::query(
        "SELECT order_id, position, product_id, duration_months, quantity, billing_period, \
             subtotal, discount, total FROM order_lines WHERE order_id = ANY($1) \
         ORDER BY order_id, position",
    )
    .bind(Bind::Uuids(ids.to_vec()))
    .load(conn)
    .await?;
    let mut by_order: HashMap<Uuid, Vec<OrderLine>> = HashMap::new();
    for l in lines {
        by_order.entry(l.order_id).or_default().push(l);
    }
    for o in orders {
        o.lines = by_order.remove(&o.id).unwrap_or_default();
    }
    Ok(())
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    filter: &OrderFilter,
    sort: Sort,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<Order>, WorkflowError> {
    let scope = caller.view_scope(Kind::Order)?;
    let sql = format!(
        "SELECT {COLUMNS} FROM orders WHERE {scope} \
         AND ($3::text IS NULL OR state = $3) \
         AND ($4::text IS NULL OR reference ILIKE $4) \
         AND ($5::uuid IS NULL OR partner_id = $5) \
         AND ($6::uuid IS NULL OR distributor_id = $6) \
         AND ($7::uuid IS NULL OR lead_id = $7) \
         AND {after} {order} LIMIT $10",
        scope = scope_sql(1),
        after = sort.after(8),
        order = sort.order_by(),
    );
    let (scope_kind, scope_id) = scope_binds(scope);
    let (ck, cid) = cursor_binds(cursor);
    let rows: Vec<OrderRow> = diesel::sql_query(sql)
        .bind::<Text, _>(scope_kind)
        .bind::<Nullable<SqlUuid>, _>(scope_id)
        .bind::<Nullable<Text>, _>(filter.state.map(super::resource::state_name))
        .bind::<Nullable<Text>, _>(filter.q.as_deref().map(like_pattern))
        .bind::<Nullable<SqlUuid>, _>(filter.partner_id)
        .bind::<Nullable<SqlUuid>, _>(filter.distributor_id)
        .bind::<Nullable<SqlUuid>, _>(filter.lead_id)
        .bind::<Nullable<Text>, _>(ck)
        .bind::<Nullable<SqlUuid>, _>(cid)
        .bind::<BigInt, _>(limit + 1)
        .load(conn)
        .await?;
    let mut rows: Vec<Order> = rows.into_iter().map(Order::from).collect();
    attach_lines(conn, &mut rows).await?;
    Ok(Page::from_rows(rows, limit, |o| {
        let key = match sort.column {
            "total" => o.total.to_string(),
            _ => o.reference.clone(),
        };
        sort.cursor(o.created_at, key, o.id)
    }))
}

/// One order in the caller's view; outside it, `NotFound`.
pub async fn get(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<Order, WorkflowError> {
    let order: OrderRow = super::fetch_in_view(conn, caller, Kind::Order, COLUMNS, id).await?;
    let mut one = [Order::from(order)];
    attach_lines(conn, &mut one).await?;
    let [order] = one;
    Ok(order)
}

/// An order as a job sees it: no caller, no scope.
pub async fn get_unscoped(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> Result<Option<Order>, WorkflowError> {
    let found: Option<OrderRow> = sql::query(format!("SELECT {COLUMNS} FROM orders WHERE id = $1"))
        .bind(Bind::Uuid(id))
        .get_result(conn)
        .await
        .optional()?;
    let Some(order) = found else { return Ok(None) };
    let mut one = [Order::from(order)];
    attach_lines(conn, &mut one).await?;
    let [order] = one;
    Ok(Some(order))
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

pub async fn line_count(conn: &mut AsyncPgConnection, id: Uuid) -> Result<i64, WorkflowError> {
    let c: Count = sql::query("SELECT count(*) AS n FROM order_lines WHERE order_id = $1")
        .bind(Bind::Uuid(id))
        .get_result(conn)
        .await?;
    Ok(c.n)
}

// ── The lifecycle resource ──────────────────────────────────────────────────────────

impl super::resource::Resource for OrderMachine {
    const KIND: Kind = Kind::Order;
    type Record = Order;

    /// Those who create orders send and cancel them; fulfilment is the fulfiller's.
    fn action(event: OrderEvent) -> crate::authz::Action {
        match event {
            OrderEvent::Send | OrderEvent::Cancel => crate::authz::Action::Create,
            OrderEvent::StartFulfillment | OrderEvent::Fulfill => crate::authz::Action::Activate,
        }
    }

    fn load(
        conn: &mut AsyncPgConnection,
        caller: &Caller,
        id: Uuid,
    ) -> impl std::future::Future<Output = Result<Self::Record, WorkflowError>> + Send {
        get(conn, caller, id)
    }

    async fn guard(
        conn: &mut AsyncPgConnection,
        _caller: &Caller,
        id: Uuid,
        event: OrderEvent,
        _payload: &serde_json::Value,
    ) -> Result<(), WorkflowError> {
        if event == OrderEvent::Send && line_count(conn, id).await? == 0 {
            return Err(crate::error::FieldErrors::single("lines", "required"));
        }
        Ok(())
    }
}
