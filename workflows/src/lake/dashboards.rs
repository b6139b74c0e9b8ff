//! Dashboard figures from the serving zone, in the caller's scope: the pipeline by
//! stage, win rates, won revenue per month.

use super::*;

/// Pipeline value per stage and owner.
#[derive(Debug, Clone, PartialEq, Serialize, diesel::QueryableByName)]
pub struct PipelineFigure {
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Text)]
    pub owner_external_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub owner: Option<String>,
    #[diesel(sql_type = Text)]
    pub currency: String,
    #[diesel(sql_type = BigInt)]
    pub lead_count: i64,
    #[diesel(sql_type = Numeric)]
    pub value: Decimal,
}

pub async fn pipeline(
    conn: &mut AsyncPgConnection,
    authz: &Authorizer,
    who: &Principal,
) -> Result<Vec<PipelineFigure>, WorkflowError> {
    let scope = dashboard_scope(authz, who)?;
    let q = sql::query(format!(
        "SELECT t.status, t.owner_external_id, max(t.owner) AS owner, t.currency, \
                sum(t.lead_count)::bigint AS lead_count, sum(t.value) AS value \
         FROM serving_pipeline t {OWNER_JOIN} WHERE {} \
         GROUP BY t.status, t.owner_external_id, t.currency \
         ORDER BY t.status, t.owner_external_id, t.currency",
        scope_sql(1)
    ));
    Ok(scoped(q, scope).load(conn).await?)
}

/// Won against lost leads, overall and per owner; the rate is `None` until a lead closed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WinRate {
    pub won: i64,
    pub lost: i64,
    pub rate: Option<Decimal>,
    pub by_owner: Vec<OwnerWinRate>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OwnerWinRate {
    pub owner_external_id: String,
    pub owner: Option<String>,
    pub won: i64,
    pub lost: i64,
    pub rate: Option<Decimal>,
}

#[derive(diesel::QueryableByName)]
pub(super) struct WonLost {
    #[diesel(sql_type = Text)]
    pub(super) owner_external_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub(super) owner: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub(super) won: i64,
    #[diesel(sql_type = BigInt)]
    pub(super) lost: i64,
}

/// `won / (won + lost)`, at most four decimals, half-even, without trailing zeros.
pub fn rate(won: i64, lost: i64) -> Option<Decimal> {
    let closed = won + lost;
    (closed > 0).then(|| {
        (Decimal::from(won) / Decimal::from(closed))
            .round_dp_with_strategy(4, rust_decimal::RoundingStrategy::MidpointNearestEven)
            .normalize()
    })
}

pub async fn win_rate(
    conn: &mut AsyncPgConnection,
    authz: &Authorizer,
    who: &Principal,
) -> Result<WinRate, WorkflowError> {
    let scope = dashboard_scope(authz, who)?;
    let q = sql::query(format!(
        "SELECT t.owner_external_id, max(t.owner) AS owner, sum(t.won_count)::bigint AS won, \
                sum(t.lost_count)::bigint AS lost \
         FROM serving_pipeline t {OWNER_JOIN} WHERE {} \
         GROUP BY t.owner_external_id ORDER BY t.owner_external_id",
        scope_sql(1)
    ));
    let rows: Vec<WonLost> = scoped(q, scope).load(conn).await?;
    let (won, lost) = rows
        .iter()
        .fold((0, 0), |(w, l), r| (w + r.won, l + r.lost));
    Ok(WinRate {
        won,
        lost,
        rate: rate(won, lost),
        by_owner: rows
            .into_iter()
            .map(|r| OwnerWinRate {
                rate: rate(r.won, r.lost),
                owner_external_id: r.owner_external_id,
                owner: r.owner,
                won: r.won,
                lost: r.lost,
            })
            .collect(),
    })
}

/// Won revenue per month (of closing) and currency.
#[derive(Debug, Clone, PartialEq, Serialize, diesel::QueryableByName)]
pub struct MonthRevenue {
    #[diesel(sql_type = Date)]
    pub month: NaiveDate,
    #[diesel(sql_type = Text)]
    pub currency: String,
    #[diesel(sql_type = BigInt)]
    pub won_count: i64,
    #[diesel(sql_type = Numeric)]
    pub revenue: Decimal,
}

pub async fn won_revenue(
    conn: &mut AsyncPgConnection,
    authz: &Authorizer,
    who: &Principal,
) -> Result<Vec<MonthRevenue>, WorkflowError> {
    let scope = dashboard_scope(authz, who)?;
    let q = sql::query(format!(
        "SELECT t.month, t.currency, sum(t.won_count)::bigint AS won_count, sum(t.revenue) AS revenue \
         FROM serving_won_revenue t {OWNER_JOIN} WHERE {} \
         GROUP BY t.month, t.currency ORDER BY t.month, t.currency",
        scope_sql(1)
    ));
    Ok(scoped(q, scope).load(conn).await?)
}
