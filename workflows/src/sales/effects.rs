//! What the billing effect jobs read and write around a provider call (the CRM's are in
//! [`super::crm`]): snapshots of the resource to send (read at run time, so a late or repeated job sends the current
//! truth) and the provider's answer recorded on the resource.

use diesel::sql_types::{Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::WorkflowError;
use crate::providers::{BillingCustomer, ExternalRef, OrderLineSnapshot, OrderSnapshot};
use crate::sales::orders::{self, Order};
use crate::sql::{self, Bind};

#[derive(diesel::QueryableByName)]
struct Named {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
}

/// The order as billing sees it: who is billed (its distributor, else its partner, else
/// the user who made it) and each line's label (product and duration).
pub async fn order_snapshot(
    conn: &mut AsyncPgConnection,
    order: &Order,
) -> Result<OrderSnapshot, WorkflowError> {
    let customer: Vec<Named> = match (order.distributor_id, order.partner_id) {
        (Some(id), _) => sql::query("SELECT id, name FROM distributors WHERE id = $1").bind(Bind::Uuid(id)),
        (None, Some(id)) => sql::query("SELECT id, name FROM partners WHERE id = $1").bind(Bind::Uuid(id)),
        (None, None) => sql::query("SELECT id, coalesce(nullif(btrim(full_name), ''), email) AS name FROM users WHERE id = $1")
            .bind(Bind::Uuid(order.created_by)),
    }
    .load(conn)
    .await?;
    let kind = match (order.distributor_id, order.partner_id) {
        (Some(_), _) => "distributor",
        (None, Some(_)) => "partner",
        (None, None) => "user",
    };
    let customer = customer
        .into_iter()
        .next()
        .map(|c| BillingCustomer {
            kind,
            id: c.id,
            name: c.name,
        })
        .ok_or_else(|| {
            WorkflowError::Internal(format!("order {} has no customer row", order.id))
        })?;
    let ids: Vec<Uuid> = order.lines.iter().map(|l| l.product_id).collect();
    let products: Vec<Named> = sql::query("SELECT id, name FROM products WHERE id = ANY($1)")
        .bind(Bind::Uuids(ids))
        .load(conn)
        .await?;
    let name_of = |id: Uuid| {
        products
            .iter()
            .find(|p| p.id == id)
            .map_or_else(|| id.to_string(), |p| p.name.clone())
    };
    Ok(OrderSnapshot {
        order_id: order.id,
        reference: order.reference.clone(),
        currency: order.currency.clone(),
        total: order.total,
        customer,
        lines: order
            .lines
            .iter()
            .map(|l| OrderLineSnapshot {
                product_id: l.product_id,
                label: format!("{} ({} months)", name_of(l.product_id), l.duration_months),
                quantity: l.quantity,
                duration_months: l.duration_months,
                total: l.total,
            })
            .collect(),
    })
}

/// The order, or `None` if it was deleted.
pub async fn order(
    conn: &mut AsyncPgConnection,
    order_id: Uuid,
) -> Result<Option<Order>, WorkflowError> {
    orders::get_unscoped(conn, order_id).await
}

/// Remembers the billing provider's quote for the order.
pub async fn record_quote(
    conn: &mut AsyncPgConnection,
    order_id: Uuid,
    answer: &ExternalRef,
) -> Result<(), WorkflowError> {
    sql::query(
        "UPDATE orders SET billing_provider = $2, billing_quote_id = $3, updated_at = now() \
         WHERE id = $1",
    )
    .bind(Bind::Uuid(order_id))
    .bind(Bind::Text(answer.provider.clone()))
    .bind(Bind::Text(answer.external_id.clone()))
    .execute(conn)
    .await?;
    Ok(())
}
