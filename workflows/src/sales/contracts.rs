//! Contracts: born `active` when an order is fulfilled (the `create_active_contract`
//! job), ended by `mark_lost`, `upgrade`, `downgrade` through [`super::transition`].
//! A nightly job flags those whose expiration is near.

use chrono::{DateTime, Utc};
use diesel::OptionalExtension;
use diesel::sql_types::{
    Array, BigInt, Bool, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use uuid::Uuid;

use super::{Caller, Kind, Owners, scope_sql};
use crate::WorkflowError;
use crate::audit::{self, AuditContext};
use crate::identity::listing::{Sort, cursor_binds, scope_binds};
use crate::lifecycle::contract::{ContractEvent, ContractMachine, ContractState};
use crate::pagination::{Cursor, Page};
use crate::sql::{self, Bind};

#[derive(Debug, Clone, PartialEq, diesel::QueryableByName)]
pub struct Contract {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub order_id: Uuid,
    #[diesel(sql_type = Text)]
    pub state: String,
    #[diesel(sql_type = Integer)]
    pub version: i32,
    #[diesel(sql_type = SqlUuid)]
    pub user_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub partner_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub distributor_id: Option<Uuid>,
    #[diesel(sql_type = Timestamptz)]
    pub activation_date: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub expiration_date: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub renewal_due_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub replaced_by_order_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    pub billing_provider: Option<String>,
    #[diesel(sql_type = Array<Text>)]
    pub billing_invoices: Vec<String>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, order_id, state, version, user_id, partner_id, distributor_id, \
    activation_date, expiration_date, renewal_due_at, replaced_by_order_id, billing_provider, \
    billing_invoices, created_at, updated_at";

impl Contract {
    pub fn owners(&self) -> Owners {
        Owners {
            partner_id: self.partner_id,
            distributor_id: self.distributor_id,
        }
    }
    pub fn allowed_events(&self, caller: &Caller) -> Vec<ContractEvent> {
        super::resource::allowed::<ContractMachine>(caller, &self.state, self.owners())
    }
}

pub const SORTS: &[(&str, &str, &str)] = &[
    ("created_at", "created_at", "timestamptz"),
    ("activation_date", "activation_date", "timestamptz"),
];

#[derive(Debug, Clone, Default)]
pub struct ContractFilter {
    pub state: Option<ContractState>,
    pub partner_id: Option<Uuid>,
    pub distributor_id: Option<Uuid>,
    pub order_id: Option<Uuid>,
    /// Only contracts flagged (or not) as due for renewal.
    pub renewal_due: Option<bool>,
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    filter: &ContractFilter,
    sort: Sort,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<Contract>, WorkflowError> {
    let scope = caller.view_scope(Kind::Contract)?;
    let sql = format!(
        "SELECT {COLUMNS} FROM contracts WHERE {scope} \
         AND ($3::text IS NULL OR state = $3) \
         AND ($4::uuid IS NULL OR partner_id = $4) \
         AND ($5::uuid IS NULL OR distributor_id = $5) \
         AND ($6::uuid IS NULL OR order_id = $6) \
         AND ($7::bool IS NULL OR (renewal_due_at IS NOT NULL) = $7) \
         AND {after} {order} LIMIT $10",
        scope = scope_sql(1),
        after = sort.after(8),
        order = sort.order_by(),
    );
    let (scope_kind, scope_id) = scope_binds(scope);
    let (ck, cid) = cursor_binds(cursor);
    let rows: Vec<Contract> = diesel::sql_query(sql)
        .bind::<Text, _>(scope_kind)
        .bind::<Nullable<SqlUuid>, _>(scope_id)
        .bind::<Nullable<Text>, _>(filter.state.map(super::resource::state_name))
        .bind::<Nullable<SqlUuid>, _>(filter.partner_id)
        .bind::<Nullable<SqlUuid>, _>(filter.distributor_id)
        .bind::<Nullable<SqlUuid>, _>(filter.order_id)
        .bind::<Nullable<Bool>, _>(filter.renewal_due)
        .bind::<Nullable<Text>, _>(ck)
        .bind::<Nullable<SqlUuid>, _>(cid)
        .bind::<BigInt, _>(limit + 1)
        .load(conn)
        .await?;
    Ok(Page::from_rows(rows, limit, |c| {
        sort.cursor(c.created_at, super::timestamp_key(c.activation_date), c.id)
    }))
}

/// One contract in the caller's view; outside it, `NotFound`.
pub async fn get(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<Contract, WorkflowError> {
    super::fetch_in_view(conn, caller, Kind::Contract, COLUMNS, id).await
}

/// The contract of an order, as a job sees it.
pub async fn for_order(
    conn: &mut AsyncPgConnection,
    order_id: Uuid,
) -> Result<Option<Contract>, WorkflowError> {
    diesel::sql_query(format!(
        "SELECT {COLUMNS} FROM contracts WHERE order_id = $1"
    ))
    .bind::<SqlUuid, _>(order_id)
    .get_result(conn)
    .await
    .optional()
    .map_err(WorkflowError::from)
}

/// What creating the contract of an order found.
#[derive(Debug, Clone, PartialEq)]
pub enum Activation {
    /// The contract exists (created now or before).
    Active(Box<Contract>),
    /// The order is gone.
    NoOrder,
    /// The order is not fulfilled (it never was, or this job ran before the commit).
    NotFulfilled(String),
}

/// Creates the Active contract of a fulfilled order, owned like the order, running for
/// the order's longest subscription from now. Running it twice creates one contract.
pub async fn activate_for_order(
    conn: &mut AsyncPgConnection,
    order_id: Uuid,
) -> Result<Activation, WorkflowError> {
    // The change and its audit row commit together, or neither does.
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        activate_for_order_in(conn, order_id).await
    })
    .await
}

/// [`activate_for_order`], inside the caller's transaction.
async fn activate_for_order_in(
    conn: &mut AsyncPgConnection,
    order_id: Uuid,
) -> Result<Activation, WorkflowError> {
    let Some(order) = super::orders::get_unscoped(conn, order_id).await? else {
        return Ok(Activation::NoOrder);
    };
    if order.state != "fulfilled" {
        return Ok(Activation::NotFulfilled(order.state));
    }
    let id = Uuid::now_v7();
    let inserted = diesel::sql_query(
        "INSERT INTO contracts (id, order_id, user_id, partner_id, distributor_id, activation_date, \
             expiration_date) \
         VALUES ($1, $2, $3, $4, $5, now(), \
                 CASE WHEN $6::int IS NULL THEN NULL ELSE now() + make_interval(months => $6) END) \
         ON CONFLICT (order_id) DO NOTHING",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(order.id)
    .bind::<SqlUuid, _>(order.created_by)
    .bind::<Nullable<SqlUuid>, _>(order.partner_id)
    .bind::<Nullable<SqlUuid>, _>(order.distributor_id)
    .bind::<Nullable<Integer>, _>(order.term_months())
    .execute(conn)
    .await?;
    let contract = for_order(conn, order_id)
        .await?
        .ok_or_else(|| WorkflowError::Internal("contract vanished after insert".into()))?;
    if inserted > 0 {
        crate::lake::own_changed(conn, &format!("contract:{}:activated", contract.id)).await?;
        audit::record(
            conn,
            AuditContext::default().entry(
                "contract.activate",
                "contract",
                contract.id,
                json!({ "order_id": order_id }),
            ),
        )
        .await?;
    }
    Ok(Activation::Active(Box::new(contract)))
}

/// Records an invoice the billing provider made for a contract (once per id).
pub async fn add_invoice(
    conn: &mut AsyncPgConnection,
    contract_id: Uuid,
    provider: &str,
    invoice_id: &str,
) -> Result<(), WorkflowError> {
    diesel::sql_query(
        "UPDATE contracts SET billing_provider = $2, \
             billing_invoices = CASE WHEN $3 = ANY(billing_invoices) THEN billing_invoices \
                                     ELSE array_append(billing_invoices, $3) END, \
             updated_at = now() \
         WHERE id = $1",
    )
    .bind::<SqlUuid, _>(contract_id)
    .bind::<Text, _>(provider)
    .bind::<Text, _>(invoice_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Links an upgraded or downgraded contract and the order that replaces it.
pub async fn link_replacement(
    conn: &mut AsyncPgConnection,
    contract_id: Uuid,
    order_id: Uuid,
) -> Result<bool, WorkflowError> {
    let n = diesel::sql_query(
        "UPDATE contracts SET replaced_by_order_id = $2, updated_at = now() \
         WHERE id = $1 AND EXISTS (SELECT 1 FROM orders WHERE id = $2)",
    )
    .bind::<SqlUuid, _>(contract_id)
    .bind::<SqlUuid, _>(order_id)
    .execute(conn)
    .await?;
    if n > 0 {
        diesel::sql_query("UPDATE orders SET replaces_contract_id = $1 WHERE id = $2")
            .bind::<SqlUuid, _>(contract_id)
            .bind::<SqlUuid, _>(order_id)
            .execute(conn)
            .await?;
        // The replacement changes the revenue movements.
        crate::lake::own_changed(conn, &format!("contract:{contract_id}:replaced")).await?;
    }
    Ok(n > 0)
}

/// What the nightly scan does for a contract due for renewal, besides flagging it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RenewalMode {
    /// Draft the renewal order (see [`super::orders::draft_renewal`]) and notify.
    #[default]
    Draft,
    /// Flag and notify only.
    Flag,
}

impl RenewalMode {
    pub fn parse(s: &str) -> Option<RenewalMode> {
        match s {
            "draft" => Some(RenewalMode::Draft),
            "flag" => Some(RenewalMode::Flag),
            _ => None,
        }
    }
}

/// Flags the active contracts whose expiration falls within `within_days` and that are
/// not flagged yet, drafts their renewal orders (by `mode`) and notifies their owners
/// and distributors (each notification with its email job); returns how many contracts
/// were flagged. Running it again — or on two workers at once — flags, drafts and
/// notifies nothing new: the flag is set by one `UPDATE … WHERE renewal_due_at IS NULL`,
/// so a contract is taken by one scan only.
pub async fn flag_expiring(
    conn: &mut AsyncPgConnection,
    within_days: i32,
    mode: RenewalMode,
) -> Result<usize, WorkflowError> {
    // The change and its audit row commit together, or neither does.
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        flag_expiring_in(conn, within_days, mode).await
    })
    .await
}

#[derive(diesel::QueryableByName)]
struct Flagged {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    order_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    partner_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    distributor_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Timestamptz>)]
    expiration_date: Option<chrono::DateTime<chrono::Utc>>,
}

/// [`flag_expiring`], inside the caller's transaction.
async fn flag_expiring_in(
    conn: &mut AsyncPgConnection,
    within_days: i32,
    mode: RenewalMode,
) -> Result<usize, WorkflowError> {
    let flagged: Vec<Flagged> = diesel::sql_query(
        "UPDATE contracts SET renewal_due_at = now(), updated_at = now() \
         WHERE state = 'active' AND renewal_due_at IS NULL AND expiration_date IS NOT NULL \
           AND expiration_date <= now() + make_interval(days => $1) \
         RETURNING id, order_id, user_id, partner_id, distributor_id, expiration_date",
    )
    .bind::<Integer, _>(within_days)
    .load(conn)
    .await?;
    let mut drafted = 0;
    let mut notified = 0;
    for c in &flagged {
        let order = super::orders::get_unscoped(conn, c.order_id)
            .await?
            .ok_or_else(|| WorkflowError::Internal("a contract without its order".into()))?;
        let draft = match mode {
            RenewalMode::Draft => super::orders::draft_renewal(conn, c.id, &order).await?,
            RenewalMode::Flag => None,
        };
        drafted += usize::from(draft.is_some());
        notified += crate::notifications::renewal_due(
            conn,
            &crate::notifications::RenewalFacts {
                contract_id: c.id,
                order_reference: order.reference.clone(),
                expires_on: c.expiration_date.map(|d| d.date_naive()),
                draft_reference: draft.map(|d| d.1),
                owner_id: c.user_id,
                partner_id: c.partner_id,
                distributor_id: c.distributor_id,
            },
        )
        .await?
        .len();
    }
    if !flagged.is_empty() {
        audit::record(
            conn,
            AuditContext::default().entry(
                "contract.flag_expiring",
                "contract",
                "*",
                json!({ "flagged": flagged.len(), "within_days": within_days,
                        "drafted": drafted, "notified": notified }),
            ),
        )
        .await?;
    }
    Ok(flagged.len())
}

// ── The lifecycle resource ──────────────────────────────────────────────────────────

impl super::resource::Resource for ContractMachine {
    const KIND: Kind = Kind::Contract;
    type Record = Contract;

    fn action(_: ContractEvent) -> crate::authz::Action {
        crate::authz::Action::Manage
    }

    fn load(
        conn: &mut AsyncPgConnection,
        caller: &Caller,
        id: Uuid,
    ) -> impl std::future::Future<Output = Result<Self::Record, WorkflowError>> + Send {
        get(conn, caller, id)
    }

    /// An upgrade or downgrade names the order that replaces the contract: it must be
    /// another order the caller can see.
    async fn guard(
        conn: &mut AsyncPgConnection,
        caller: &Caller,
        id: Uuid,
        event: ContractEvent,
        payload: &serde_json::Value,
    ) -> Result<(), WorkflowError> {
        if event == ContractEvent::MarkLost {
            return Ok(());
        }
        let Some(order_id) = payload.get("order_id") else {
            return Err(crate::error::FieldErrors::single(
                "payload.order_id",
                "required",
            ));
        };
        let order_id: Uuid = serde_json::from_value(order_id.clone())
            .map_err(|_| crate::error::FieldErrors::single("payload.order_id", "invalid_uuid"))?;
        let contract = get(conn, caller, id).await?;
        if contract.order_id == order_id {
            return Err(crate::error::FieldErrors::single(
                "payload.order_id",
                "same_order",
            ));
        }
        match super::orders::get(conn, caller, order_id).await {
            Ok(_) => Ok(()),
            Err(WorkflowError::NotFound) => Err(crate::error::FieldErrors::single(
                "payload.order_id",
                "unknown_order",
            )),
            Err(e) => Err(e),
        }
    }
}

/// An invoice of a contract as the lake knows it: its status and amounts come back
/// with the billing provider's next sync (none until then).
#[derive(Debug, Clone, PartialEq, serde::Serialize, diesel::QueryableByName)]
pub struct ContractInvoice {
    #[diesel(sql_type = Text)]
    pub provider: String,
    #[diesel(sql_type = Text)]
    pub external_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub number: Option<String>,
    /// draft | finalized | partially_paid | paid | late | cancelled | credit_note
    #[diesel(sql_type = Nullable<Text>)]
    pub status: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub currency: Option<String>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Numeric>)]
    pub amount_total: Option<rust_decimal::Decimal>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Numeric>)]
    pub amount_due: Option<rust_decimal::Decimal>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Date>)]
    pub issue_date: Option<chrono::NaiveDate>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Date>)]
    pub due_date: Option<chrono::NaiveDate>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub synced_at: Option<DateTime<Utc>>,
}

/// The contract's invoices, in the order they were made, with what the last sync of
/// its billing provider says about each.
pub async fn invoices(
    conn: &mut AsyncPgConnection,
    contract: &Contract,
) -> Result<Vec<ContractInvoice>, WorkflowError> {
    let Some(provider) = contract.billing_provider.clone() else {
        return Ok(Vec::new());
    };
    Ok(sql::query(
        "SELECT $1::text AS provider, u.external_id, ci.number, ci.status, ci.currency, \
                ci.amount_total, ci.amount_due, ci.issue_date, ci.due_date, ci.last_synced_at AS synced_at \
         FROM unnest($2::text[]) WITH ORDINALITY AS u (external_id, n) \
         LEFT JOIN canonical_invoices ci ON ci.provider = $1 AND ci.external_id = u.external_id \
              AND ci.deleted_at IS NULL \
         ORDER BY u.n",
    )
    .bind(Bind::Text(provider))
    .bind(Bind::Texts(contract.billing_invoices.clone()))
    .load(conn)
    .await?)
}
