//! Contract recurring revenue (SPEC §6's serving zone: contract MRR/ARR by partner and
//! distributor), from Tentabo's own contracts.
//!
//! A contract's MRR is the sum over its order's priced lines of `line total ÷ duration
//! in months` (the total is after the duration discount, so MRR is what is really
//! billed per month, whatever the tiers' period, month or year), half-even to cents
//! per line. ARR = 12 × MRR.
//!
//! A contract counts at the end of a month (UTC) when it was activated by then and had
//! not ended: `lost` ends it when it was marked lost; `upgraded` and `downgraded` end it
//! when the contract of its replacement order starts (until then the customer still
//! pays the old one); a renewal (the contract of an order renewing it,
//! `orders.renews_contract_id`) ends it when the renewal starts; an active contract past
//! its expiration that nobody renewed ends at its expiration. Movements per month:
//! **new** (a contract with no predecessor starts), **expansion** / **contraction** (a
//! replacement or a renewal starts: the difference with the contract it follows, by its
//! sign), **churned** (a contract is marked lost, or expires unrenewed). For
//! every row key (partner, distributor, currency):
//! `mrr(m) = mrr(m−1) + new + expansion − contraction − churned`.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use super::*;

/// A contract as the computation needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContractFacts {
    pub id: Uuid,
    pub partner_id: Option<Uuid>,
    pub distributor_id: Option<Uuid>,
    pub currency: String,
    pub mrr: Decimal,
    pub activated_at: DateTime<Utc>,
    /// When it stopped counting, if it did.
    pub ended_at: Option<DateTime<Utc>>,
    /// It ended as churn (lost, or expired unrenewed) rather than by a successor.
    pub churned: bool,
    /// The contract this one follows: the one its order replaces or renews.
    pub replaces: Option<Uuid>,
}

/// One line's MRR: its total over its months, half-even to cents.
pub fn line_mrr(total: Decimal, months: i32) -> Decimal {
    if months <= 0 {
        return Decimal::ZERO;
    }
    (total / Decimal::from(months))
        .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointNearestEven)
}

/// A row of the series: one month, one scope, one currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RevenueRow {
    pub month: NaiveDate,
    pub partner_id: Option<Uuid>,
    pub distributor_id: Option<Uuid>,
    pub currency: String,
    pub contracts: i64,
    pub mrr: Decimal,
    pub arr: Decimal,
    pub new_mrr: Decimal,
    pub expansion_mrr: Decimal,
    pub contraction_mrr: Decimal,
    pub churned_mrr: Decimal,
}

type Key = (Option<Uuid>, Option<Uuid>, String);

fn month_of(t: DateTime<Utc>) -> NaiveDate {
    NaiveDate::from_ymd_opt(t.year(), t.month(), 1).unwrap_or(NaiveDate::MIN)
}

fn next_month(m: NaiveDate) -> NaiveDate {
    m.checked_add_months(chrono::Months::new(1)).unwrap_or(m)
}

/// The first instant of the month after `m`: "the end of `m`".
fn end_of(m: NaiveDate) -> DateTime<Utc> {
    next_month(m).and_time(chrono::NaiveTime::MIN).and_utc()
}

/// The monthly series from the first activation's month through `until`'s month; a
/// row for every key that has contracts at the month's end or a movement in it.
pub fn series(contracts: &[ContractFacts], until: DateTime<Utc>) -> Vec<RevenueRow> {
    let Some(first) = contracts.iter().map(|c| c.activated_at).min() else {
        return Vec::new();
    };
    let by_id: BTreeMap<Uuid, &ContractFacts> = contracts.iter().map(|c| (c.id, c)).collect();
    let key = |c: &ContractFacts| -> Key { (c.partner_id, c.distributor_id, c.currency.clone()) };
    let last = month_of(until);
    let mut out = Vec::new();
    let mut month = month_of(first);
    while month <= last {
        let end = end_of(month);
        let mut rows: BTreeMap<Key, RevenueRow> = BTreeMap::new();
        for c in contracts {
            let k = key(c);
            if c.activated_at < end && c.ended_at.is_none_or(|e| e >= end) {
                let r = entry(&mut rows, month, &k);
                r.contracts += 1;
                r.mrr += c.mrr;
            }
            if month_of(c.activated_at) == month {
                match c.replaces.and_then(|p| by_id.get(&p)) {
                    Some(prev) if key(prev) == k => {
                        let delta = c.mrr - prev.mrr;
                        let r = entry(&mut rows, month, &k);
                        if delta >= Decimal::ZERO {
                            r.expansion_mrr += delta;
                        } else {
                            r.contraction_mrr -= delta;
                        }
                    }
                    Some(prev) => {
                        // Replaced across organisations or currencies: the old one's
                        // revenue leaves its row, the new one's arrives in its own.
                        entry(&mut rows, month, &key(prev)).churned_mrr += prev.mrr;
                        entry(&mut rows, month, &k).new_mrr += c.mrr;
                    }
                    None => entry(&mut rows, month, &k).new_mrr += c.mrr,
                }
            }
            if c.churned && c.ended_at.is_some_and(|e| month_of(e) == month) {
                entry(&mut rows, month, &k).churned_mrr += c.mrr;
            }
        }
        out.extend(rows.into_values().map(|mut r| {
            r.arr = r.mrr * Decimal::from(12);
            r
        }));
        month = next_month(month);
    }
    out
}

fn entry<'a>(
    rows: &'a mut BTreeMap<Key, RevenueRow>,
    month: NaiveDate,
    k: &Key,
) -> &'a mut RevenueRow {
    rows.entry(k.clone()).or_insert_with(|| RevenueRow {
        month,
        partner_id: k.0,
        distributor_id: k.1,
        currency: k.2.clone(),
        ..Default::default()
    })
}

#[derive(diesel::QueryableByName)]
struct ContractRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    partner_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    distributor_id: Option<Uuid>,
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = Timestamptz)]
    activated_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    lost_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    replaces: Option<Uuid>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    expiration_date: Option<DateTime<Utc>>,
}

#[derive(diesel::QueryableByName)]
struct LineRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    contract_id: Uuid,
    #[diesel(sql_type = Numeric)]
    total: Decimal,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    duration_months: i32,
}

/// Every contract with its MRR, start, end and predecessor, as of `now`.
pub async fn load(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> Result<Vec<ContractFacts>, WorkflowError> {
    let rows: Vec<ContractRow> = sql::query(
        "SELECT c.id, c.partner_id, c.distributor_id, o.currency, c.state, \
                c.activation_date AS activated_at, \
                (SELECT max(h.occurred_at) FROM lifecycle_history h \
                 WHERE h.object_type = 'contract' AND h.object_id = c.id AND h.to_state = 'lost') AS lost_at, \
                COALESCE(o.replaces_contract_id, o.renews_contract_id) AS replaces, c.expiration_date \
         FROM contracts c JOIN orders o ON o.id = c.order_id ORDER BY c.activation_date, c.id",
    )
    .load(conn)
    .await?;
    let lines: Vec<LineRow> = sql::query(
        "SELECT c.id AS contract_id, ol.total, ol.duration_months \
         FROM contracts c JOIN order_lines ol ON ol.order_id = c.order_id",
    )
    .load(conn)
    .await?;
    let mut mrr: BTreeMap<Uuid, Decimal> = BTreeMap::new();
    for l in lines {
        *mrr.entry(l.contract_id).or_default() += line_mrr(l.total, l.duration_months);
    }
    // A replaced or renewed contract ends when its successor starts.
    let replaced_at: BTreeMap<Uuid, DateTime<Utc>> = rows
        .iter()
        .filter_map(|r| r.replaces.map(|p| (p, r.activated_at)))
        .collect();
    Ok(rows
        .into_iter()
        .map(|r| {
            let successor = replaced_at.get(&r.id).copied();
            let (ended_at, churned) = match r.state.as_str() {
                "lost" => (Some(r.lost_at.unwrap_or(r.activated_at)), true),
                "upgraded" | "downgraded" => (successor, false),
                _ => match (successor, r.expiration_date) {
                    (Some(s), _) => (Some(s), false),
                    (None, Some(e)) if e <= now => (Some(e), true),
                    _ => (None, false),
                },
            };
            ContractFacts {
                mrr: mrr.get(&r.id).copied().unwrap_or_default(),
                id: r.id,
                partner_id: r.partner_id,
                distributor_id: r.distributor_id,
                currency: r.currency,
                activated_at: r.activated_at,
                ended_at,
                churned,
                replaces: r.replaces,
            }
        })
        .collect())
}

/// Replaces the stored series with `rows`, in the caller's transaction.
pub(super) async fn store(
    conn: &mut AsyncPgConnection,
    rows: &[RevenueRow],
) -> Result<(), WorkflowError> {
    sql::query("DELETE FROM serving_contract_revenue")
        .execute(conn)
        .await?;
    for chunk in rows.chunks(1_000) {
        let col = |f: fn(&RevenueRow) -> Decimal| {
            Bind::OptDecimals(chunk.iter().map(|r| Some(f(r))).collect())
        };
        let ids = |f: fn(&RevenueRow) -> Option<Uuid>| {
            Bind::OptTexts(chunk.iter().map(|r| f(r).map(|u| u.to_string())).collect())
        };
        sql::query(
            "INSERT INTO serving_contract_revenue (month, partner_id, distributor_id, scope_key, currency, \
                 contracts, mrr, arr, new_mrr, expansion_mrr, contraction_mrr, churned_mrr) \
             SELECT r.month, r.partner_id, r.distributor_id, \
                    COALESCE(r.partner_id::text, '') || '/' || COALESCE(r.distributor_id::text, ''), \
                    r.currency, r.contracts, r.mrr, r.arr, r.new_mrr, r.expansion_mrr, r.contraction_mrr, r.churned_mrr \
             FROM unnest($1::date[], $2::text[]::uuid[], $3::text[]::uuid[], $4::text[], $5::bigint[], $6::numeric[], \
                         $7::numeric[], $8::numeric[], $9::numeric[], $10::numeric[], $11::numeric[]) \
                  AS r (month, partner_id, distributor_id, currency, contracts, mrr, arr, new_mrr, \
                        expansion_mrr, contraction_mrr, churned_mrr)",
        )
        .bind(Bind::OptDates(chunk.iter().map(|r| Some(r.month)).collect()))
        .bind(ids(|r| r.partner_id))
        .bind(ids(|r| r.distributor_id))
        .bind(Bind::Texts(chunk.iter().map(|r| r.currency.clone()).collect()))
        .bind(Bind::BigInts(chunk.iter().map(|r| r.contracts).collect()))
        .bind(col(|r| r.mrr))
        .bind(col(|r| r.arr))
        .bind(col(|r| r.new_mrr))
        .bind(col(|r| r.expansion_mrr))
        .bind(col(|r| r.contraction_mrr))
        .bind(col(|r| r.churned_mrr))
        .execute(conn)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap()
            .and_utc()
    }

    fn month(y: i32, m: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, 1).unwrap()
    }

    const P1: Uuid = Uuid::from_u128(1);
    const P2: Uuid = Uuid::from_u128(2);

    fn contract(n: u128, partner: Uuid, mrr: Decimal, on: DateTime<Utc>) -> ContractFacts {
        ContractFacts {
            id: Uuid::from_u128(100 + n),
            partner_id: Some(partner),
            distributor_id: None,
            currency: "EUR".into(),
            mrr,
            activated_at: on,
            ended_at: None,
            churned: false,
            replaces: None,
        }
    }

    #[test]
    fn a_lines_mrr_is_its_total_over_its_months_half_even_to_the_cent() {
        assert_eq!(line_mrr(dec!(600.00), 12), dec!(50.00));
        // 6,612.00 / 24 = 275.5
        assert_eq!(line_mrr(dec!(6612.00), 24), dec!(275.50));
        // 1,000.10 / 4 = 250.025 → 250.02 (half-even), 1,000.30 / 4 = 250.075 → 250.08
        assert_eq!(line_mrr(dec!(1000.10), 4), dec!(250.02));
        assert_eq!(line_mrr(dec!(1000.30), 4), dec!(250.08));
        assert_eq!(line_mrr(dec!(100), 0), Decimal::ZERO);
    }

    /// January: A starts (P1, 50.00). February: B starts (P2, 275.50). March: A is
    /// upgraded to A2 (140.00). April: B is downgraded to B2 (90.00). May: A2 is lost.
    fn story() -> Vec<ContractFacts> {
        let mut a = contract(1, P1, dec!(50.00), at(2026, 1, 15));
        let mut b = contract(2, P2, dec!(275.50), at(2026, 2, 3));
        let mut a2 = contract(3, P1, dec!(140.00), at(2026, 3, 10));
        let mut b2 = contract(4, P2, dec!(90.00), at(2026, 4, 1));
        a.ended_at = Some(a2.activated_at);
        a2.replaces = Some(a.id);
        b.ended_at = Some(b2.activated_at);
        b2.replaces = Some(b.id);
        a2.ended_at = Some(at(2026, 5, 20));
        a2.churned = true;
        vec![a, b, a2, b2]
    }

    fn row(rows: &[RevenueRow], m: NaiveDate, p: Uuid) -> Option<&RevenueRow> {
        rows.iter()
            .find(|r| r.month == m && r.partner_id == Some(p))
    }

    #[test]
    fn the_series_gives_the_hand_computed_figures_per_partner() {
        let rows = series(&story(), at(2026, 6, 15));
        let p1 = |m| row(&rows, month(2026, m), P1).cloned();
        let jan = p1(1).unwrap();
        assert_eq!(
            (jan.contracts, jan.mrr, jan.arr, jan.new_mrr),
            (1, dec!(50.00), dec!(600.00), dec!(50.00))
        );
        assert_eq!(p1(2).unwrap().mrr, dec!(50.00));
        assert_eq!(p1(2).unwrap().new_mrr, Decimal::ZERO);
        let mar = p1(3).unwrap();
        assert_eq!(
            (mar.contracts, mar.mrr, mar.expansion_mrr),
            (1, dec!(140.00), dec!(90.00))
        );
        let may = p1(5).unwrap();
        assert_eq!(
            (may.contracts, may.mrr, may.churned_mrr),
            (0, Decimal::ZERO, dec!(140.00))
        );
        assert!(p1(6).is_none(), "nothing left for P1 in June");

        let p2 = |m| row(&rows, month(2026, m), P2).cloned().unwrap();
        assert_eq!((p2(2).mrr, p2(2).new_mrr), (dec!(275.50), dec!(275.50)));
        assert_eq!(
            (p2(4).mrr, p2(4).contraction_mrr, p2(4).arr),
            (dec!(90.00), dec!(185.50), dec!(1080.00))
        );
        assert_eq!((p2(6).contracts, p2(6).mrr), (1, dec!(90.00)));
        assert_eq!(rows.iter().map(|r| r.month).max(), Some(month(2026, 6)));
    }

    #[test]
    fn every_row_key_satisfies_the_mrr_bridge() {
        let rows = series(&story(), at(2026, 8, 1));
        let mut previous: BTreeMap<Key, Decimal> = BTreeMap::new();
        let mut m = month(2026, 1);
        while m <= month(2026, 8) {
            for r in rows.iter().filter(|r| r.month == m) {
                let k = (r.partner_id, r.distributor_id, r.currency.clone());
                let before = previous.get(&k).copied().unwrap_or_default();
                assert_eq!(
                    r.mrr,
                    before + r.new_mrr + r.expansion_mrr - r.contraction_mrr - r.churned_mrr,
                    "{r:?}"
                );
                previous.insert(k, r.mrr);
            }
            m = next_month(m);
        }
    }

    #[test]
    fn a_contract_started_and_lost_in_one_month_is_new_and_churned() {
        let mut c = contract(9, P1, dec!(10.00), at(2026, 3, 2));
        c.ended_at = Some(at(2026, 3, 28));
        c.churned = true;
        let rows = series(&[c], at(2026, 3, 30));
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (
                rows[0].contracts,
                rows[0].mrr,
                rows[0].new_mrr,
                rows[0].churned_mrr
            ),
            (0, Decimal::ZERO, dec!(10.00), dec!(10.00))
        );
        assert!(series(&[], at(2026, 3, 30)).is_empty());
    }

    #[test]
    fn a_replacement_for_another_partner_churns_one_row_and_adds_to_the_other() {
        let mut a = contract(1, P1, dec!(50.00), at(2026, 1, 15));
        let mut b = contract(2, P2, dec!(70.00), at(2026, 2, 15));
        a.ended_at = Some(b.activated_at);
        b.replaces = Some(a.id);
        let rows = series(&[a, b], at(2026, 2, 20));
        let feb1 = row(&rows, month(2026, 2), P1).unwrap();
        let feb2 = row(&rows, month(2026, 2), P2).unwrap();
        assert_eq!((feb1.mrr, feb1.churned_mrr), (Decimal::ZERO, dec!(50.00)));
        assert_eq!((feb2.mrr, feb2.new_mrr), (dec!(70.00), dec!(70.00)));
    }
}
