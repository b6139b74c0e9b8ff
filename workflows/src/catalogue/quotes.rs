//! Pricing a basket against the catalogue of now: the lines, their tiers and the
//! totals, every problem reported at once.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BasketLine {
    pub product_id: Uuid,
    pub duration_months: i64,
    pub quantity: i64,
    pub billing_period: Period,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PricedLine {
    pub product_id: Uuid,
    pub product_name: String,
    pub unit: String,
    pub quote: LineQuote,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Quote {
    pub currency: String,
    pub lines: Vec<PricedLine>,
    pub totals: Totals,
}

pub const MAX_LINES: usize = 500;

/// Prices a basket with the current catalogue. Every problem is reported per line
/// (`lines[2].duration_months: unknown_duration`), all at once.
pub async fn quote(
    conn: &mut AsyncPgConnection,
    basket: &[BasketLine],
) -> Result<Quote, WorkflowError> {
    let mut errors = FieldErrors::default();
    if basket.is_empty() {
        errors.add("lines", "required");
    } else if basket.len() > MAX_LINES {
        errors.add("lines", "too_many");
    }
    errors.clone().into_result()?;
    let ids: Vec<Uuid> = basket.iter().map(|l| l.product_id).collect();
    let rows: Vec<ProductRow> = products::table
        .filter(products::id.eq_any(&ids))
        .filter(products::is_active.eq(true))
        .select(ProductRow::as_select())
        .load(conn)
        .await?;
    let tiers = load_tiers(conn, &ids).await?;
    let mut catalogue = HashMap::new();
    for r in rows {
        let id = r.id;
        catalogue.insert(
            id,
            assemble(r, tiers.get(&id).map(Vec::as_slice).unwrap_or_default())?,
        );
    }
    let terms: HashMap<i32, Decimal> = list_durations(conn, false)
        .await?
        .into_iter()
        .map(|d| (d.months, d.discount_percentage))
        .collect();

    let mut currency: Option<String> = None;
    let mut lines = Vec::with_capacity(basket.len());
    for (i, l) in basket.iter().enumerate() {
        let at = |f: &str| format!("lines[{i}].{f}");
        let product = catalogue.get(&l.product_id);
        if product.is_none() {
            errors.add(&at("product_id"), "not_found");
        }
        let discount = i32::try_from(l.duration_months)
            .ok()
            .and_then(|m| terms.get(&m).copied());
        if discount.is_none() {
            errors.add(&at("duration_months"), "unknown_duration");
        }
        let quantity = u64::try_from(l.quantity)
            .ok()
            .filter(|q| crate::limits::get().quantity_ok(*q));
        if quantity.is_none() {
            errors.add(&at("quantity"), "out_of_range");
        }
        let (Some(p), Some(discount), Some(q)) = (product, discount, quantity) else {
            continue;
        };
        match &currency {
            None => currency = Some(p.row.currency.clone()),
            Some(c) if *c != p.row.currency => {
                errors.add(&at("product_id"), "currency_mismatch");
                continue;
            }
            Some(_) => {}
        }
        let t = Terms {
            months: u32::try_from(l.duration_months).unwrap_or(1),
            discount_percentage: discount,
        };
        match pricing::price_line(&p.price_list, p.mode, q, t, l.billing_period) {
            Ok(quote) => lines.push(PricedLine {
                product_id: p.row.id,
                product_name: p.row.name.clone(),
                unit: p.row.unit.clone(),
                quote,
            }),
            Err(pricing::PricingError::Overflow) => errors.add(&at("quantity"), "amount_too_large"),
            Err(_) => errors.add(&at("quantity"), "not_priceable"),
        }
    }
    errors.into_result()?;
    let totals = pricing::totals(lines.iter().map(|l| &l.quote));
    Ok(Quote {
        currency: currency.unwrap_or_else(|| "EUR".into()),
        lines,
        totals,
    })
}
