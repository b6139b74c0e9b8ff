//! Sane business ranges for what people type: a close date in year 1 or 9999, a line of
//! a trillion units or a lead worth more than the world's GDP is a typing error, not a
//! deal. The installation sets the ranges at start (`TENTABO_MAX_LINE_QUANTITY`,
//! `TENTABO_MAX_AMOUNT`, `TENTABO_EARLIEST_DATE`, `TENTABO_MAX_YEARS_AHEAD`); until it
//! does, the defaults below hold.

use std::sync::OnceLock;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;

use crate::error::FieldErrors;

#[derive(Debug, Clone, PartialEq)]
pub struct BusinessLimits {
    /// Most units on one order or quote line.
    pub max_line_quantity: u64,
    /// Largest amount a person may type (a lead's value).
    pub max_amount: Decimal,
    /// No business date before this day.
    pub earliest_date: NaiveDate,
    /// No business date more than this many years ahead of today.
    pub max_years_ahead: u32,
}

impl Default for BusinessLimits {
    fn default() -> Self {
        BusinessLimits {
            max_line_quantity: 1_000_000,
            max_amount: Decimal::from(1_000_000_000_000_i64),
            earliest_date: NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default(),
            max_years_ahead: 30,
        }
    }
}

static LIMITS: OnceLock<BusinessLimits> = OnceLock::new();

/// Sets the process's limits (once, at start; a second call is ignored and says so).
pub fn install(limits: BusinessLimits) -> bool {
    LIMITS.set(limits).is_ok()
}

pub fn get() -> &'static BusinessLimits {
    LIMITS.get_or_init(BusinessLimits::default)
}

impl BusinessLimits {
    /// Reports `out_of_range` on `field` for a date outside the business range.
    pub fn check_date(&self, errors: &mut FieldErrors, field: &str, at: DateTime<Utc>) {
        let latest_year = Utc::now().year() + i32::try_from(self.max_years_ahead).unwrap_or(30);
        if at.date_naive() < self.earliest_date || at.year() > latest_year {
            errors.add(field, "out_of_range");
        }
    }

    /// Reports `out_of_range` on `field` for an amount above the largest one.
    pub fn check_amount(&self, errors: &mut FieldErrors, field: &str, amount: Decimal) {
        if amount > self.max_amount {
            errors.add(field, "out_of_range");
        }
    }

    pub fn quantity_ok(&self, quantity: u64) -> bool {
        (1..=self.max_line_quantity).contains(&quantity)
    }
}

/// A currency code of ISO 4217 (upper case, as given).
pub fn is_iso_currency(code: &str) -> bool {
    iso_currency::Currency::from_code(code).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_amounts_and_quantities_outside_the_ranges_are_refused() {
        let l = BusinessLimits::default();
        let mut e = FieldErrors::default();
        let at = |y, m, d| {
            NaiveDate::from_ymd_opt(y, m, d)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
                .unwrap_or_default()
        };
        l.check_date(&mut e, "a", at(1, 1, 1));
        l.check_date(&mut e, "b", at(9999, 12, 31));
        l.check_date(&mut e, "ok", at(2027, 3, 1));
        l.check_amount(&mut e, "c", Decimal::from(60_000_000_000_000_i64));
        l.check_amount(&mut e, "ok2", Decimal::from(120_000));
        let fields = serde_json::to_value(&e.0).unwrap_or_default();
        assert!(
            fields.get("a").is_some() && fields.get("b").is_some() && fields.get("c").is_some()
        );
        assert!(
            fields.get("ok").is_none() && fields.get("ok2").is_none(),
            "{fields}"
        );
        assert!(l.quantity_ok(1) && l.quantity_ok(1_000_000));
        assert!(!l.quantity_ok(0) && !l.quantity_ok(1_000_000_000_000));
    }

    #[test]
    fn currencies_are_checked_against_iso_4217() {
        assert!(is_iso_currency("EUR") && is_iso_currency("CHF") && is_iso_currency("XOF"));
        assert!(!is_iso_currency("ABC") && !is_iso_currency("EURO") && !is_iso_currency("eur"));
    }
}
