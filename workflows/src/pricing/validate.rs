//! Catalogue input checks with field-level errors (paths like
//! `progressive_price_list[1].min_quantity`). Nothing invalid reaches the engine.

use rust_decimal::Decimal;

use super::{PriceList, Terms, Tier};
use crate::WorkflowError;
use crate::error::FieldErrors;

const FIELD: &str = "progressive_price_list";
/// Prices carry at most 4 decimals (stored as NUMERIC(18,4)).
const PRICE_SCALE: u32 = 4;
const MAX_PRICE: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);
pub const MAX_QUANTITY: u64 = 1_000_000_000_000;

/// Checks a price list: at least one tier; the first starts at 0; each `min_quantity`
/// equals the previous `max_quantity` (no gap, no overlap); `max_quantity >
/// min_quantity`; only the last may be open-ended; prices ≥ 0 with ≤ 4 decimals.
pub fn parse_price_list(tiers: Vec<Tier>) -> Result<PriceList, WorkflowError> {
    let mut e = FieldErrors::default();
    if tiers.is_empty() {
        e.add(FIELD, "required");
        return Err(WorkflowError::Validation(e));
    }
    let last = tiers.len() - 1;
    for (i, t) in tiers.iter().enumerate() {
        let at = |f: &str| format!("{FIELD}[{i}].{f}");
        if i == 0 && t.min_quantity != 0 {
            e.add(&at("min_quantity"), "must_start_at_zero");
        }
        if let Some(prev_max) = i.checked_sub(1).and_then(|p| tiers[p].max_quantity) {
            if t.min_quantity > prev_max {
                e.add(&at("min_quantity"), "gap_with_previous_tier");
            } else if t.min_quantity < prev_max {
                e.add(&at("min_quantity"), "overlaps_previous_tier");
            }
        }
        match t.max_quantity {
            Some(max) if max <= t.min_quantity => {
                e.add(&at("max_quantity"), "not_greater_than_min")
            }
            Some(max) if max > MAX_QUANTITY => e.add(&at("max_quantity"), "too_large"),
            None if i != last => e.add(&at("max_quantity"), "required_except_last_tier"),
            _ => {}
        }
        if t.price_per_unit.is_sign_negative() && !t.price_per_unit.is_zero() {
            e.add(&at("price_per_unit"), "negative");
        } else if t.price_per_unit.normalize().scale() > PRICE_SCALE {
            e.add(&at("price_per_unit"), "too_many_decimals");
        } else if t.price_per_unit > MAX_PRICE {
            e.add(&at("price_per_unit"), "too_large");
        }
    }
    e.into_result()?;
    Ok(PriceList(
        tiers
            .into_iter()
            .map(|t| Tier {
                price_per_unit: super::at_least_cents(t.price_per_unit),
                ..t
            })
            .collect(),
    ))
}

/// Checks a duration: 1 to 120 months, a discount from 0 to 100 % with ≤ 2 decimals.
pub fn parse_duration(months: i64, discount_percentage: Decimal) -> Result<Terms, WorkflowError> {
    let mut e = FieldErrors::default();
    if !(1..=120).contains(&months) {
        e.add("months", "out_of_range");
    }
    if discount_percentage < Decimal::ZERO || discount_percentage > Decimal::ONE_HUNDRED {
        e.add("discount_percentage", "out_of_range");
    } else if discount_percentage.normalize().scale() > 2 {
        e.add("discount_percentage", "too_many_decimals");
    }
    e.into_result()?;
    Ok(Terms {
        months: u32::try_from(months).unwrap_or(1),
        discount_percentage: discount_percentage.normalize(),
    })
}
