//! Writing orders: created priced, lines replaced while the order is `created`,
//! deleted, and created from a converted lead — each in one transaction with its audit
//! row.

use super::*;

/// The engine's working of each line, as stored with the order.
pub(super) fn pricing_json(quote: &Quote) -> Value {
    Value::Array(
        quote
            .lines
            .iter()
            .map(|l| {
                json!({
                    "product_id": l.product_id,
                    "product_name": l.product_name,
                    "unit": l.unit,
                    "quote": l.quote,
                })
            })
            .collect(),
    )
}

pub(super) async fn write_lines(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    basket: &[BasketLine],
    quote: &Quote,
) -> Result<(), WorkflowError> {
    diesel::sql_query("DELETE FROM order_lines WHERE order_id = $1")
        .bind::<SqlUuid, _>(id)
        .execute(conn)
        .await?;
    for (i, (line, priced)) in basket.iter().zip(&quote.lines).enumerate() {
        diesel::sql_query(
            "INSERT INTO order_lines (order_id, position, product_id, duration_months, quantity, \
                 billing_period, subtotal, discount, total) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind::<SqlUuid, _>(id)
        .bind::<Integer, _>(i32::try_from(i).unwrap_or(i32::MAX))
        .bind::<SqlUuid, _>(line.product_id)
        .bind::<Integer, _>(i32::try_from(line.duration_months).unwrap_or(i32::MAX))
        .bind::<BigInt, _>(line.quantity)
        .bind::<Text, _>(crate::sales::resource::state_name(line.billing_period))
        .bind::<Numeric, _>(priced.quote.subtotal)
        .bind::<Numeric, _>(priced.quote.discount)
        .bind::<Numeric, _>(priced.quote.total)
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// Creates an order priced by the catalogue of now, in one transaction.
pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    audit_ctx: &AuditContext,
    new: NewOrder,
) -> Result<Order, WorkflowError> {
    // The change and its audit row commit together, or neither does.
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        create_in(conn, caller, audit_ctx, new).await
    })
    .await
}

/// [`create`], inside the caller's transaction.
pub(super) async fn create_in(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    audit_ctx: &AuditContext,
    new: NewOrder,
) -> Result<Order, WorkflowError> {
    let scope = caller.scope(Kind::Order, Action::Create)?;
    let quote = catalogue::quote(conn, &new.lines).await?;
    let owners = resolve_owners(
        conn,
        caller,
        Owners {
            partner_id: new.partner_id,
            distributor_id: new.distributor_id,
        },
        scope,
    )
    .await?;
    let id = Uuid::now_v7();
    diesel::sql_query(
        "INSERT INTO orders (id, reference, created_by, partner_id, distributor_id, currency, \
             subtotal, discount, total, pricing) \
         VALUES ($1, 'ORD-' || lpad(nextval('orders_reference_seq')::text, 6, '0'), \
                 $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(caller.who.user_id)
    .bind::<Nullable<SqlUuid>, _>(owners.partner_id)
    .bind::<Nullable<SqlUuid>, _>(owners.distributor_id)
    .bind::<Text, _>(&quote.currency)
    .bind::<Numeric, _>(quote.totals.subtotal)
    .bind::<Numeric, _>(quote.totals.discount)
    .bind::<Numeric, _>(quote.totals.total)
    .bind::<Jsonb, _>(pricing_json(&quote))
    .execute(conn)
    .await?;
    write_lines(conn, id, &new.lines, &quote).await?;
    audit::record(
        conn,
        audit_ctx.entry(
            "order.create",
            "order",
            id,
            json!({ "total": quote.totals.total.to_string(), "lines": new.lines.len() }),
        ),
    )
    .await?;
    get(conn, caller, id).await
}

/// Replaces the lines of an order that is still `created`, re-priced now.
pub async fn replace_lines(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    audit_ctx: &AuditContext,
    id: Uuid,
    expected_version: Option<i32>,
    lines: Vec<BasketLine>,
) -> Result<Order, WorkflowError> {
    // The change and its audit row commit together, or neither does.
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        replace_lines_in(conn, caller, audit_ctx, id, expected_version, lines).await
    })
    .await
}

/// [`replace_lines`], inside the caller's transaction.
pub(super) async fn replace_lines_in(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    audit_ctx: &AuditContext,
    id: Uuid,
    expected_version: Option<i32>,
    lines: Vec<BasketLine>,
) -> Result<Order, WorkflowError> {
    let current = get(conn, caller, id).await?;
    if !caller.may(Kind::Order, Action::Create, current.owners()) {
        return Err(WorkflowError::Forbidden);
    }
    lock_editable(conn, &current, expected_version).await?;
    let quote = catalogue::quote(conn, &lines).await?;
    diesel::sql_query(
        "UPDATE orders SET currency = $2, subtotal = $3, discount = $4, total = $5, pricing = $6, \
             version = version + 1, updated_at = now() WHERE id = $1",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(&quote.currency)
    .bind::<Numeric, _>(quote.totals.subtotal)
    .bind::<Numeric, _>(quote.totals.discount)
    .bind::<Numeric, _>(quote.totals.total)
    .bind::<Jsonb, _>(pricing_json(&quote))
    .execute(conn)
    .await?;
    write_lines(conn, id, &lines, &quote).await?;
    audit::record(
        conn,
        audit_ctx.entry(
            "order.lines",
            "order",
            id,
            json!({ "total": quote.totals.total.to_string(), "lines": lines.len() }),
        ),
    )
    .await?;
    get(conn, caller, id).await
}

#[derive(diesel::QueryableByName)]
pub(super) struct StateVersion {
    #[diesel(sql_type = Text)]
    pub(super) state: String,
    #[diesel(sql_type = Integer)]
    pub(super) version: i32,
}

/// Locks an order whose lines may still change (`created`, at the expected version).
pub(super) async fn lock_editable(
    conn: &mut AsyncPgConnection,
    order: &Order,
    expected_version: Option<i32>,
) -> Result<(), WorkflowError> {
    let row: StateVersion =
        diesel::sql_query("SELECT state, version FROM orders WHERE id = $1 FOR UPDATE")
            .bind::<SqlUuid, _>(order.id)
            .get_result(conn)
            .await
            .map_err(crate::sales::not_found)?;
    let details = json!({ "state": row.state, "version": row.version });
    if expected_version.is_some_and(|v| v != row.version) {
        return Err(WorkflowError::Refused {
            code: "stale_version",
            details,
        });
    }
    if row.state != "created" {
        return Err(WorkflowError::Refused {
            code: "order_not_editable",
            details,
        });
    }
    Ok(())
}

/// Deletes an order (admins). A fulfilled order keeps its contract, so it stays (409).
pub async fn delete(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    audit_ctx: &AuditContext,
    id: Uuid,
) -> Result<(), WorkflowError> {
    // The change and its audit row commit together, or neither does.
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        delete_in(conn, caller, audit_ctx, id).await
    })
    .await
}

/// [`delete`], inside the caller's transaction.
pub(super) async fn delete_in(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    audit_ctx: &AuditContext,
    id: Uuid,
) -> Result<(), WorkflowError> {
    let order = get(conn, caller, id).await?;
    if !caller.may(Kind::Order, Action::Delete, order.owners()) {
        return Err(WorkflowError::Forbidden);
    }
    diesel::sql_query("UPDATE leads SET converted_order_id = NULL WHERE converted_order_id = $1")
        .bind::<SqlUuid, _>(id)
        .execute(conn)
        .await?;
    crate::sales::delete_row(conn, Kind::Order, id).await?;
    audit::record(
        conn,
        audit_ctx.entry(
            "order.delete",
            "order",
            id,
            json!({ "reference": order.reference }),
        ),
    )
    .await?;
    Ok(())
}

/// The order a converted lead becomes (the `create_order_from_lead` job): owned like
/// the lead, no lines yet, linked both ways. Creating it twice creates one.
pub async fn create_from_lead(
    conn: &mut AsyncPgConnection,
    lead_id: Uuid,
) -> Result<Option<Uuid>, WorkflowError> {
    // The change and its audit row commit together, or neither does.
    conn.transaction::<_, WorkflowError, _>(async |conn| create_from_lead_in(conn, lead_id).await)
        .await
}

/// [`create_from_lead`], inside the caller's transaction.
pub(super) async fn create_from_lead_in(
    conn: &mut AsyncPgConnection,
    lead_id: Uuid,
) -> Result<Option<Uuid>, WorkflowError> {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    let created: Vec<Id> = diesel::sql_query(
        "INSERT INTO orders (id, reference, created_by, partner_id, distributor_id, lead_id, currency) \
         SELECT $1, 'ORD-' || lpad(nextval('orders_reference_seq')::text, 6, '0'), \
                owner_id, partner_id, distributor_id, id, currency \
         FROM leads WHERE id = $2 \
         ON CONFLICT (lead_id) WHERE lead_id IS NOT NULL DO NOTHING RETURNING id",
    )
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<SqlUuid, _>(lead_id)
    .load(conn)
    .await?;
    let existing: Vec<Id> = diesel::sql_query("SELECT id FROM orders WHERE lead_id = $1")
        .bind::<SqlUuid, _>(lead_id)
        .load(conn)
        .await?;
    let Some(order) = existing.into_iter().next() else {
        return Ok(None); // the lead is gone
    };
    diesel::sql_query("UPDATE leads SET converted_order_id = $2 WHERE id = $1")
        .bind::<SqlUuid, _>(lead_id)
        .bind::<SqlUuid, _>(order.id)
        .execute(conn)
        .await?;
    if !created.is_empty() {
        audit::record(
            conn,
            AuditContext::default().entry(
                "order.create_from_lead",
                "order",
                order.id,
                json!({ "lead_id": lead_id }),
            ),
        )
        .await?;
    }
    Ok(Some(order.id))
}

/// Drafts the order renewing `order` (the order of a contract due for renewal), in the
/// caller's transaction: the same products, durations, quantities and billing periods,
/// priced at today's price list, for the same owner and organisations, `created` (the
/// sales staff review and send it), linked by `renews_contract_id`. At most one per
/// contract: answers `None` when one exists, or when the basket can no longer be
/// priced (a product retired), in which case only the notice goes out.
pub async fn draft_renewal(
    conn: &mut AsyncPgConnection,
    contract_id: Uuid,
    order: &Order,
) -> Result<Option<(Uuid, String)>, WorkflowError> {
    let basket: Vec<BasketLine> = order
        .lines
        .iter()
        .map(|l| BasketLine {
            product_id: l.product_id,
            duration_months: i64::from(l.duration_months),
            quantity: l.quantity,
            billing_period: crate::pricing::Period::parse(&l.billing_period)
                .unwrap_or(crate::pricing::Period::Month),
        })
        .collect();
    let quote = match catalogue::quote(conn, &basket).await {
        Ok(q) => q,
        Err(WorkflowError::Validation(e)) => {
            tracing::warn!(%contract_id, errors = ?e.0, "renewal not drafted: the basket no longer prices");
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    #[derive(diesel::QueryableByName)]
    struct Drafted {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = Text)]
        reference: String,
    }
    let id = Uuid::now_v7();
    let drafted: Option<Drafted> = diesel::OptionalExtension::optional(
        diesel::sql_query(
            "INSERT INTO orders (id, reference, created_by, partner_id, distributor_id, currency, \
                 subtotal, discount, total, pricing, renews_contract_id) \
             VALUES ($1, 'ORD-' || lpad(nextval('orders_reference_seq')::text, 6, '0'), \
                     $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (renews_contract_id) WHERE renews_contract_id IS NOT NULL DO NOTHING \
             RETURNING id, reference",
        )
        .bind::<SqlUuid, _>(id)
        .bind::<SqlUuid, _>(order.created_by)
        .bind::<Nullable<SqlUuid>, _>(order.partner_id)
        .bind::<Nullable<SqlUuid>, _>(order.distributor_id)
        .bind::<Text, _>(&quote.currency)
        .bind::<Numeric, _>(quote.totals.subtotal)
        .bind::<Numeric, _>(quote.totals.discount)
        .bind::<Numeric, _>(quote.totals.total)
        .bind::<Jsonb, _>(pricing_json(&quote))
        .bind::<SqlUuid, _>(contract_id)
        .get_result(conn)
        .await,
    )?;
    let Some(drafted) = drafted else {
        return Ok(None);
    };
    write_lines(conn, drafted.id, &basket, &quote).await?;
    audit::record(
        conn,
        AuditContext::default().entry(
            "order.create",
            "order",
            drafted.id,
            json!({ "total": quote.totals.total.to_string(), "renews_contract": contract_id }),
        ),
    )
    .await?;
    Ok(Some((drafted.id, drafted.reference)))
}
