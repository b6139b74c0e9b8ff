//! Subscription terms (durations) and their discounts: listed, created, changed (audited).

use super::*;

pub async fn list_durations(
    conn: &mut AsyncPgConnection,
    include_inactive: bool,
) -> Result<Vec<DurationRow>, WorkflowError> {
    let mut q = durations::table
        .select(DurationRow::as_select())
        .into_boxed();
    if !include_inactive {
        q = q.filter(durations::is_active.eq(true));
    }
    Ok(q.order(durations::months.asc()).load(conn).await?)
}

pub async fn create_duration(
    conn: &mut AsyncPgConnection,
    terms: Terms,
    ctx: &AuditContext,
) -> Result<DurationRow, WorkflowError> {
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        let now = Utc::now();
        let row = DurationRow {
            id: Uuid::now_v7(),
            months: i32::try_from(terms.months).unwrap_or(i32::MAX),
            discount_percentage: terms.discount_percentage,
            is_active: true,
            created_at: now,
            updated_at: now,
        };
        diesel::insert_into(durations::table)
            .values(&row)
            .execute(conn)
            .await
            .map_err(|e| {
                map_unique(
                    e,
                    &[(
                        "durations_months_key",
                        "duration_exists",
                        "A duration of this length exists",
                    )],
                )
            })?;
        audit::record(
            conn,
            ctx.entry(
                "duration_created",
                "duration",
                row.id,
                json!({ "months": row.months, "discount_percentage": row.discount_percentage }),
            ),
        )
        .await?;
        Ok(row)
    })
    .await
}

pub async fn update_duration(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    discount_percentage: Option<Decimal>,
    is_active: Option<bool>,
    ctx: &AuditContext,
) -> Result<DurationRow, WorkflowError> {
    if discount_percentage.is_none() && is_active.is_none() {
        return Err(FieldErrors::single("body", "empty_patch"));
    }
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        let before: DurationRow = durations::table.find(id).select(DurationRow::as_select()).first(conn).await.optional()?.ok_or(WorkflowError::NotFound)?;
        let row: DurationRow = diesel::update(durations::table.find(id))
            .set((
                durations::discount_percentage.eq(discount_percentage.unwrap_or(before.discount_percentage)),
                durations::is_active.eq(is_active.unwrap_or(before.is_active)),
                durations::updated_at.eq(Utc::now()),
            ))
            .returning(DurationRow::as_returning())
            .get_result(conn)
            .await?;
        audit::record(conn, ctx.entry("duration_updated", "duration", id, json!({ "discount_percentage": row.discount_percentage, "is_active": row.is_active }))).await?;
        Ok(row)
    })
    .await
}
