//! The progressive pricing engine (SPEC §4): pure, synchronous, `Decimal` only.
//!
//! A tier covers the units numbered `min_quantity + 1 ..= max_quantity`; tiers are
//! contiguous from 0 and the last may be open-ended. Graduated pricing (the default)
//! prices each unit in its own tier; volume pricing prices every unit at the tier the
//! quantity reaches. Each tier's price is per unit per `period` (month or year).
//!
//! Rounding, once per line, half-even to cents: the per-tier amounts are exact; the
//! line's subtotal (over the whole duration) and its discount are each rounded; the
//! total is subtotal − discount, so it is exact in cents; order totals are sums of line
//! figures, so the lines always add up to the order. To keep `yearly price / 12` exact,
//! amounts multiply before they divide.

mod money;
mod validate;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

pub use money::{CURRENCIES, format_money};
pub use validate::{MAX_QUANTITY, parse_duration, parse_price_list};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Month,
    Year,
}

impl Period {
    pub fn months(self) -> u32 {
        match self {
            Period::Month => 1,
            Period::Year => 12,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Month => "month",
            Period::Year => "year",
        }
    }
    pub fn parse(s: &str) -> Option<Period> {
        match s {
            "month" => Some(Period::Month),
            "year" => Some(Period::Year),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PricingMode {
    #[default]
    Graduated,
    Volume,
}

impl PricingMode {
    pub fn as_str(self) -> &'static str {
        match self {
            PricingMode::Graduated => "graduated",
            PricingMode::Volume => "volume",
        }
    }
    pub fn parse(s: &str) -> Option<PricingMode> {
        match s {
            "graduated" => Some(PricingMode::Graduated),
            "volume" => Some(PricingMode::Volume),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    pub min_quantity: u64,
    pub max_quantity: Option<u64>,
    pub price_per_unit: Decimal,
    pub period: Period,
}

/// A validated price list (see [`parse_price_list`]): contiguous tiers from 0, prices ≥ 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceList(Vec<Tier>);

impl PriceList {
    pub fn tiers(&self) -> &[Tier] {
        &self.0
    }
}

/// A validated duration: 1–120 months, discount 0–100 %.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terms {
    pub months: u32,
    pub discount_percentage: Decimal,
}

/// One tier's share of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TierCharge {
    pub min_quantity: u64,
    pub max_quantity: Option<u64>,
    pub units: u64,
    pub price_per_unit: Decimal,
    pub period: Period,
    /// units × price over the whole duration, exact (not rounded).
    pub amount: Decimal,
}

/// A priced line with its working.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineQuote {
    pub mode: PricingMode,
    pub quantity: u64,
    pub months: u32,
    pub billing_period: Period,
    pub tiers: Vec<TierCharge>,
    /// What one billing period costs before the duration discount, rounded.
    pub recurring_amount: Decimal,
    /// The whole duration before discount, rounded.
    pub subtotal: Decimal,
    pub discount_percentage: Decimal,
    /// subtotal × discount %, rounded.
    pub discount: Decimal,
    /// subtotal − discount.
    pub total: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub subtotal: Decimal,
    pub discount: Decimal,
    pub total: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error("quantity must be at least 1")]
    ZeroQuantity,
    #[error("the price list covers no tier for this quantity")]
    Uncovered,
    #[error("amount out of range")]
    Overflow,
}

/// Half-even to cents, always written with two decimals (`470.00`).
pub fn round_money(d: Decimal) -> Decimal {
    let mut r = d.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven);
    r.rescale(2);
    r
}

/// An exact amount written with at least two decimals (`7680.00`, `8.3333…`).
pub fn at_least_cents(d: Decimal) -> Decimal {
    let mut r = d.normalize();
    if r.scale() < 2 {
        r.rescale(2);
    }
    r
}

/// units × price × months / period-months, multiplying first so yearly prices stay exact.
fn amount(
    units: u64,
    price: Decimal,
    months: u32,
    period: Period,
) -> Result<Decimal, PricingError> {
    Decimal::from(units)
        .checked_mul(price)
        .and_then(|v| v.checked_mul(Decimal::from(months)))
        .and_then(|v| v.checked_div(Decimal::from(period.months())))
        .ok_or(PricingError::Overflow)
}

/// Prices one line: `quantity` units for `terms.months` months, billed per `billing`.
pub fn price_line(
    list: &PriceList,
    mode: PricingMode,
    quantity: u64,
    terms: Terms,
    billing: Period,
) -> Result<LineQuote, PricingError> {
    if quantity == 0 {
        return Err(PricingError::ZeroQuantity);
    }
    let tiers = list.tiers();
    let mut charges = Vec::with_capacity(tiers.len());
    match mode {
        PricingMode::Graduated => {
            for t in tiers {
                if quantity <= t.min_quantity {
                    break;
                }
                let top = t.max_quantity.map_or(quantity, |m| m.min(quantity));
                let units = top - t.min_quantity;
                charges.push(TierCharge {
                    min_quantity: t.min_quantity,
                    max_quantity: t.max_quantity,
                    units,
                    price_per_unit: t.price_per_unit,
                    period: t.period,
                    amount: at_least_cents(amount(
                        units,
                        t.price_per_unit,
                        terms.months,
                        t.period,
                    )?),
                });
            }
            let covered: u64 = charges.iter().map(|c| c.units).sum();
            if covered != quantity {
                return Err(PricingError::Uncovered);
            }
        }
        PricingMode::Volume => {
            let t = tiers
                .iter()
                .find(|t| quantity > t.min_quantity && t.max_quantity.is_none_or(|m| quantity <= m))
                .ok_or(PricingError::Uncovered)?;
            charges.push(TierCharge {
                min_quantity: t.min_quantity,
                max_quantity: t.max_quantity,
                units: quantity,
                price_per_unit: t.price_per_unit,
                period: t.period,
                amount: at_least_cents(amount(quantity, t.price_per_unit, terms.months, t.period)?),
            });
        }
    }
    let mut exact = Decimal::ZERO;
    let mut recurring = Decimal::ZERO;
    for c in &charges {
        exact = exact.checked_add(c.amount).ok_or(PricingError::Overflow)?;
        recurring = recurring
            .checked_add(amount(
                c.units,
                c.price_per_unit,
                billing.months(),
                c.period,
            )?)
            .ok_or(PricingError::Overflow)?;
    }
    let subtotal = round_money(exact);
    let discount = round_money(
        subtotal
            .checked_mul(terms.discount_percentage)
            .ok_or(PricingError::Overflow)?
            / Decimal::ONE_HUNDRED,
    );
    Ok(LineQuote {
        mode,
        quantity,
        months: terms.months,
        billing_period: billing,
        tiers: charges,
        recurring_amount: round_money(recurring),
        subtotal,
        discount_percentage: terms.discount_percentage,
        discount,
        total: subtotal - discount,
    })
}

/// The order's figures: sums of the lines' (already rounded) figures.
pub fn totals<'a>(lines: impl IntoIterator<Item = &'a LineQuote>) -> Totals {
    let mut t = Totals {
        subtotal: Decimal::ZERO,
        discount: Decimal::ZERO,
        total: Decimal::ZERO,
    };
    for l in lines {
        t.subtotal += l.subtotal;
        t.discount += l.discount;
        t.total += l.total;
    }
    t
}

#[cfg(test)]
mod tests;
