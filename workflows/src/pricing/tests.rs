//! Worked examples computed by hand, and the engine's universal rules as properties.

use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use super::*;
use crate::WorkflowError;

fn tier(min: u64, max: Option<u64>, price: Decimal, period: Period) -> Tier {
    Tier {
        min_quantity: min,
        max_quantity: max,
        price_per_unit: price,
        period,
    }
}

/// 0–10 at 10.00, 10–50 at 8.00, 50+ at 5.00, per unit per month.
fn monthly() -> PriceList {
    parse_price_list(vec![
        tier(0, Some(10), dec!(10.00), Period::Month),
        tier(10, Some(50), dec!(8.00), Period::Month),
        tier(50, None, dec!(5.00), Period::Month),
    ])
    .unwrap_or_else(|e| panic!("{e}"))
}

fn terms(months: u32, discount: Decimal) -> Terms {
    Terms {
        months,
        discount_percentage: discount,
    }
}

fn line(list: &PriceList, mode: PricingMode, q: u64, t: Terms) -> LineQuote {
    price_line(list, mode, q, t, Period::Month).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn one_tier() {
    let l = line(&monthly(), PricingMode::Graduated, 5, terms(1, dec!(0)));
    assert_eq!(
        (l.subtotal, l.discount, l.total),
        (dec!(50.00), dec!(0.00), dec!(50.00))
    );
    assert_eq!(l.tiers.len(), 1);
    assert_eq!((l.tiers[0].units, l.tiers[0].amount), (5, dec!(50)));
}

#[test]
fn crossing_two_and_three_tiers() {
    // 10 × 10 + 10 × 8
    let two = line(&monthly(), PricingMode::Graduated, 20, terms(1, dec!(0)));
    assert_eq!(two.total, dec!(180.00));
    assert_eq!(
        two.tiers.iter().map(|t| t.units).collect::<Vec<_>>(),
        [10, 10]
    );
    // 10 × 10 + 40 × 8 + 10 × 5
    let three = line(&monthly(), PricingMode::Graduated, 60, terms(1, dec!(0)));
    assert_eq!(three.total, dec!(470.00));
    assert_eq!(
        three
            .tiers
            .iter()
            .map(|t| (t.units, t.amount))
            .collect::<Vec<_>>(),
        [(10, dec!(100)), (40, dec!(320)), (10, dec!(50))]
    );
}

#[test]
fn exact_tier_boundaries() {
    let l = monthly();
    // Unit 10 is the first tier's last; unit 11 the second tier's first.
    assert_eq!(
        line(&l, PricingMode::Graduated, 10, terms(1, dec!(0))).total,
        dec!(100.00)
    );
    assert_eq!(
        line(&l, PricingMode::Graduated, 10, terms(1, dec!(0)))
            .tiers
            .len(),
        1
    );
    assert_eq!(
        line(&l, PricingMode::Graduated, 11, terms(1, dec!(0))).total,
        dec!(108.00)
    );
    assert_eq!(
        line(&l, PricingMode::Graduated, 50, terms(1, dec!(0))).total,
        dec!(420.00)
    );
    assert_eq!(
        line(&l, PricingMode::Graduated, 51, terms(1, dec!(0))).total,
        dec!(425.00)
    );
    assert_eq!(
        line(&l, PricingMode::Volume, 10, terms(1, dec!(0))).total,
        dec!(100.00)
    );
    assert_eq!(
        line(&l, PricingMode::Volume, 11, terms(1, dec!(0))).total,
        dec!(88.00)
    );
    assert_eq!(
        line(&l, PricingMode::Volume, 50, terms(1, dec!(0))).total,
        dec!(400.00)
    );
}

#[test]
fn volume_versus_graduated_on_the_same_basket() {
    let l = monthly();
    let graduated = line(&l, PricingMode::Graduated, 60, terms(1, dec!(0)));
    let volume = line(&l, PricingMode::Volume, 60, terms(1, dec!(0)));
    assert_eq!(
        (graduated.total, volume.total),
        (dec!(470.00), dec!(300.00))
    );
    assert_eq!(volume.tiers.len(), 1);
    assert_eq!(
        (volume.tiers[0].min_quantity, volume.tiers[0].units),
        (50, 60)
    );
}

#[test]
fn yearly_tiers_on_monthly_terms_and_the_reverse() {
    let yearly = parse_price_list(vec![tier(0, None, dec!(120.00), Period::Year)])
        .unwrap_or_else(|e| panic!("{e}"));
    let one_month = price_line(
        &yearly,
        PricingMode::Graduated,
        1,
        terms(1, dec!(0)),
        Period::Month,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (one_month.subtotal, one_month.recurring_amount),
        (dec!(10.00), dec!(10.00))
    );
    let billed_yearly = price_line(
        &yearly,
        PricingMode::Graduated,
        3,
        terms(12, dec!(0)),
        Period::Year,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (billed_yearly.subtotal, billed_yearly.recurring_amount),
        (dec!(360.00), dec!(360.00))
    );

    // 100 a year is 8.333… a month: one month rounds, twelve months stay exact.
    let odd = parse_price_list(vec![tier(0, None, dec!(100.00), Period::Year)])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        line(&odd, PricingMode::Graduated, 1, terms(1, dec!(0))).total,
        dec!(8.33)
    );
    assert_eq!(
        line(&odd, PricingMode::Graduated, 1, terms(12, dec!(0))).total,
        dec!(100.00)
    );
    assert_eq!(
        line(&odd, PricingMode::Graduated, 1, terms(36, dec!(0))).total,
        dec!(300.00)
    );

    // A monthly tier billed yearly.
    let m = price_line(
        &monthly(),
        PricingMode::Graduated,
        20,
        terms(12, dec!(0)),
        Period::Year,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (m.recurring_amount, m.subtotal),
        (dec!(2160.00), dec!(2160.00))
    );

    // Mixed periods in one list: 0–10 at 10/month, 10+ at 60/year (= 5/month).
    let mixed = parse_price_list(vec![
        tier(0, Some(10), dec!(10), Period::Month),
        tier(10, None, dec!(60), Period::Year),
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        line(&mixed, PricingMode::Graduated, 12, terms(1, dec!(0))).total,
        dec!(110.00)
    );
}

#[test]
fn twelve_twenty_four_and_thirty_six_month_discounts() {
    let l = monthly(); // 20 units = 180.00 a month
    let y1 = line(&l, PricingMode::Graduated, 20, terms(12, dec!(0)));
    assert_eq!(
        (y1.subtotal, y1.discount, y1.total),
        (dec!(2160.00), dec!(0.00), dec!(2160.00))
    );
    let y2 = line(&l, PricingMode::Graduated, 20, terms(24, dec!(5)));
    assert_eq!(
        (y2.subtotal, y2.discount, y2.total),
        (dec!(4320.00), dec!(216.00), dec!(4104.00))
    );
    let y3 = line(&l, PricingMode::Graduated, 20, terms(36, dec!(10)));
    assert_eq!(
        (y3.subtotal, y3.discount, y3.total),
        (dec!(6480.00), dec!(648.00), dec!(5832.00))
    );
    assert_eq!(y3.recurring_amount, dec!(180.00));
}

#[test]
fn rounding_is_half_even_at_line_level() {
    let l = parse_price_list(vec![tier(0, None, dec!(1.25), Period::Month)])
        .unwrap_or_else(|e| panic!("{e}"));
    // 1.25 × 50 % = 0.625 → 0.62 (to even), so the total is 0.63.
    let q = line(&l, PricingMode::Graduated, 1, terms(1, dec!(50)));
    assert_eq!((q.discount, q.total), (dec!(0.62), dec!(0.63)));
    // 0.135 → 0.14 (to even), 0.145 → 0.14.
    assert_eq!(round_money(dec!(0.135)), dec!(0.14));
    assert_eq!(round_money(dec!(0.145)), dec!(0.14));
}

#[test]
fn zero_quantity_is_refused() {
    assert_eq!(
        price_line(
            &monthly(),
            PricingMode::Graduated,
            0,
            terms(1, dec!(0)),
            Period::Month
        ),
        Err(PricingError::ZeroQuantity)
    );
}

fn field_codes(e: WorkflowError) -> Vec<(String, Vec<&'static str>)> {
    match e {
        WorkflowError::Validation(f) => f.0.into_iter().collect(),
        other => panic!("{other}"),
    }
}

#[test]
fn bad_price_lists_are_refused_field_by_field() {
    let codes = |tiers: Vec<Tier>| {
        field_codes(
            parse_price_list(tiers)
                .err()
                .unwrap_or_else(|| panic!("accepted")),
        )
    };
    assert_eq!(
        codes(vec![]),
        [("progressive_price_list".into(), vec!["required"])]
    );
    assert_eq!(
        codes(vec![tier(1, Some(10), dec!(1), Period::Month)]),
        [(
            "progressive_price_list[0].min_quantity".into(),
            vec!["must_start_at_zero"]
        )]
    );
    assert_eq!(
        codes(vec![
            tier(0, Some(10), dec!(1), Period::Month),
            tier(12, None, dec!(1), Period::Month)
        ]),
        [(
            "progressive_price_list[1].min_quantity".into(),
            vec!["gap_with_previous_tier"]
        )]
    );
    assert_eq!(
        codes(vec![
            tier(0, Some(10), dec!(1), Period::Month),
            tier(5, None, dec!(1), Period::Month)
        ]),
        [(
            "progressive_price_list[1].min_quantity".into(),
            vec!["overlaps_previous_tier"]
        )]
    );
    assert_eq!(
        codes(vec![tier(0, Some(0), dec!(1), Period::Month)]),
        [(
            "progressive_price_list[0].max_quantity".into(),
            vec!["not_greater_than_min"]
        )]
    );
    assert_eq!(
        codes(vec![
            tier(0, None, dec!(1), Period::Month),
            tier(10, None, dec!(1), Period::Month)
        ]),
        [(
            "progressive_price_list[0].max_quantity".into(),
            vec!["required_except_last_tier"]
        )]
    );
    assert_eq!(
        codes(vec![tier(0, None, dec!(-0.01), Period::Month)]),
        [(
            "progressive_price_list[0].price_per_unit".into(),
            vec!["negative"]
        )]
    );
    assert_eq!(
        codes(vec![tier(0, None, dec!(0.00001), Period::Month)]),
        [(
            "progressive_price_list[0].price_per_unit".into(),
            vec!["too_many_decimals"]
        )]
    );
    // Free tiers are fine, and an open-ended last tier.
    assert!(
        parse_price_list(vec![
            tier(0, Some(5), dec!(0), Period::Month),
            tier(5, None, dec!(2), Period::Year)
        ])
        .is_ok()
    );
}

#[test]
fn bad_durations_are_refused() {
    assert!(parse_duration(12, dec!(10)).is_ok());
    assert_eq!(
        field_codes(parse_duration(0, dec!(0)).err().unwrap_or_else(|| panic!())),
        [("months".into(), vec!["out_of_range"])]
    );
    assert_eq!(
        field_codes(
            parse_duration(12, dec!(101))
                .err()
                .unwrap_or_else(|| panic!())
        ),
        [("discount_percentage".into(), vec!["out_of_range"])]
    );
    assert_eq!(
        field_codes(
            parse_duration(12, dec!(-1))
                .err()
                .unwrap_or_else(|| panic!())
        ),
        [("discount_percentage".into(), vec!["out_of_range"])]
    );
}

#[test]
fn labels_in_english_and_french() {
    assert_eq!(format_money(dec!(1234.5), "EUR", false), "€1,234.50");
    assert_eq!(
        format_money(dec!(1234.5), "EUR", true),
        "1\u{202f}234,50\u{a0}€"
    );
    assert_eq!(
        format_money(dec!(1234567.891), "USD", false),
        "$1,234,567.89"
    );
    assert_eq!(format_money(dec!(-5), "CHF", false), "-CHF\u{a0}5.00");
    assert_eq!(format_money(dec!(0), "EUR", true), "0,00\u{a0}€");
}

// ── properties ──────────────────────────────────────────────────────────────────────

fn arb_price() -> impl Strategy<Value = Decimal> {
    (0i64..100_000_000).prop_map(|cents_e4| Decimal::new(cents_e4, 4))
}

fn arb_list() -> impl Strategy<Value = PriceList> {
    (
        proptest::collection::vec((1u64..500, arb_price(), any::<bool>()), 1..5),
        arb_price(),
        any::<bool>(),
    )
        .prop_map(|(bounded, last_price, last_yearly)| {
            let mut tiers = Vec::new();
            let mut min = 0;
            for (width, price, yearly) in bounded {
                let period = if yearly { Period::Year } else { Period::Month };
                tiers.push(tier(min, Some(min + width), price, period));
                min += width;
            }
            tiers.push(tier(
                min,
                None,
                last_price,
                if last_yearly {
                    Period::Year
                } else {
                    Period::Month
                },
            ));
            parse_price_list(tiers).unwrap_or_else(|e| panic!("{e}"))
        })
}

fn arb_terms() -> impl Strategy<Value = Terms> {
    (1u32..=120, 0i64..=10_000).prop_map(|(months, bp)| Terms {
        months,
        discount_percentage: Decimal::new(bp, 2),
    })
}

fn arb_mode() -> impl Strategy<Value = PricingMode> {
    prop_oneof![Just(PricingMode::Graduated), Just(PricingMode::Volume)]
}

fn arb_period() -> impl Strategy<Value = Period> {
    prop_oneof![Just(Period::Month), Just(Period::Year)]
}

proptest! {
    #[test]
    fn totals_are_never_negative(list in arb_list(), mode in arb_mode(), q in 1u64..5_000, t in arb_terms(), b in arb_period()) {
        let l = price_line(&list, mode, q, t, b).unwrap_or_else(|e| panic!("{e}"));
        prop_assert!(l.subtotal >= Decimal::ZERO && l.discount >= Decimal::ZERO && l.total >= Decimal::ZERO);
        prop_assert!(l.discount <= l.subtotal);
        prop_assert_eq!(l.total, l.subtotal - l.discount);
        prop_assert_eq!(l.tiers.iter().map(|c| c.units).sum::<u64>(), q);
    }

    #[test]
    fn one_more_unit_never_lowers_a_graduated_total(list in arb_list(), q in 1u64..5_000, t in arb_terms(), b in arb_period()) {
        let a = price_line(&list, PricingMode::Graduated, q, t, b).unwrap_or_else(|e| panic!("{e}"));
        let c = price_line(&list, PricingMode::Graduated, q + 1, t, b).unwrap_or_else(|e| panic!("{e}"));
        prop_assert!(c.subtotal >= a.subtotal, "{} < {}", c.subtotal, a.subtotal);
        prop_assert!(c.total >= a.total, "{} < {}", c.total, a.total);
    }

    #[test]
    fn the_lines_add_up_to_the_order(
        lines in proptest::collection::vec((arb_list(), arb_mode(), 1u64..2_000, arb_terms(), arb_period()), 1..30)
    ) {
        let quotes: Vec<LineQuote> = lines.iter().map(|(l, m, q, t, b)| price_line(l, *m, *q, *t, *b).unwrap_or_else(|e| panic!("{e}"))).collect();
        let sum = totals(&quotes);
        prop_assert_eq!(sum.total, quotes.iter().map(|q| q.total).sum::<Decimal>());
        prop_assert_eq!(sum.total, sum.subtotal - sum.discount);
        prop_assert!(quotes.iter().all(|q| q.total.scale() <= 2 && q.subtotal.scale() <= 2));
    }

    #[test]
    fn no_drift_over_a_thousand_lines(list in arb_list(), mode in arb_mode(), q in 1u64..1_000, t in arb_terms(), b in arb_period()) {
        let one = price_line(&list, mode, q, t, b).unwrap_or_else(|e| panic!("{e}"));
        let many: Vec<LineQuote> = (0..1_000).map(|_| price_line(&list, mode, q, t, b).unwrap_or_else(|e| panic!("{e}"))).collect();
        let sum = totals(&many);
        prop_assert_eq!(sum.total, one.total * Decimal::from(1_000));
        prop_assert_eq!(sum.subtotal, one.subtotal * Decimal::from(1_000));
    }
}
