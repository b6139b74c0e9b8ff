//! The demo catalogue of `seed-demo`.

use super::*;

/// Demo catalogue for `seed-demo`: 12/24/36-month durations and two products. Adds
/// only what is missing, so it can run again.
pub async fn seed_demo(conn: &mut AsyncPgConnection) -> Result<usize, WorkflowError> {
    let ctx = AuditContext {
        request_id: Some("seed-demo".into()),
        ..Default::default()
    };
    let mut created = 0;
    let existing: Vec<i32> = durations::table
        .select(durations::months)
        .load(conn)
        .await?;
    for (months, discount) in [(12u32, 0i64), (24, 5), (36, 10)] {
        if !existing.contains(&i32::try_from(months).unwrap_or(0)) {
            create_duration(
                conn,
                Terms {
                    months,
                    discount_percentage: Decimal::from(discount),
                },
                &ctx,
            )
            .await?;
            created += 1;
        }
    }
    let tier = |min: u64, max: Option<u64>, cents: i64, period: Period| Tier {
        min_quantity: min,
        max_quantity: max,
        price_per_unit: Decimal::new(cents, 2),
        period,
    };
    let demo = [
        (
            "Backup Storage",
            "storage",
            "TB",
            vec![
                tier(0, Some(10), 1_000, Period::Month),
                tier(10, Some(50), 800, Period::Month),
                tier(50, None, 500, Period::Month),
            ],
        ),
        (
            "Collaboration Seats",
            "licence",
            "seat",
            vec![
                tier(0, Some(25), 12_000, Period::Year),
                tier(25, None, 9_600, Period::Year),
            ],
        ),
    ];
    for (name, kind, unit, tiers) in demo {
        let exists: i64 = products::table
            .filter(products::name.eq(name))
            .count()
            .get_result(conn)
            .await?;
        if exists > 0 {
            continue;
        }
        let new = NewProduct {
            name: Name::parse(name).map_err(|c| WorkflowError::Internal(c.into()))?,
            product_type: Name::parse(kind).map_err(|c| WorkflowError::Internal(c.into()))?,
            unit: Name::parse(unit).map_err(|c| WorkflowError::Internal(c.into()))?,
            mode: PricingMode::Graduated,
            currency: "EUR".into(),
            price_list: pricing::parse_price_list(tiers)?,
        };
        create_product(conn, &new, &ctx).await?;
        created += 1;
    }
    Ok(created)
}
