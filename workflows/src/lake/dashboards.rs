//! Dashboard figures from the serving zone, in the caller's scope: the pipeline by
//! stage, win rates, won revenue per month, contract recurring revenue. `source`
//! chooses whose data: a provider's synced leads (`odoo`, `pipedrive`), Tentabo's own
//! ([`OWN`]), or all (`None`).

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
    source: Option<&str>,
) -> Result<Vec<PipelineFigure>, WorkflowError> {
    let scope = dashboard_scope(authz, who)?;
    let q = sql::query(format!(
        "SELECT t.status, t.owner_external_id, max(t.owner) AS owner, t.currency, \
                sum(t.lead_count)::bigint AS lead_count, sum(t.value) AS value \
         FROM {} WHERE {} AND ($3::text IS NULL OR t.provider = $3) \
         GROUP BY t.status, t.owner_external_id, t.currency \
         ORDER BY t.status, t.owner_external_id, t.currency",
        scoped_table("serving_pipeline"),
        scope_sql(1)
    ));
    Ok(scoped(q, scope)
        .bind(Bind::OptText(source.map(str::to_owned)))
        .load(conn)
        .await?)
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
    source: Option<&str>,
) -> Result<WinRate, WorkflowError> {
    let scope = dashboard_scope(authz, who)?;
    let q = sql::query(format!(
        "SELECT t.owner_external_id, max(t.owner) AS owner, sum(t.won_count)::bigint AS won, \
                sum(t.lost_count)::bigint AS lost \
         FROM {} WHERE {} AND ($3::text IS NULL OR t.provider = $3) \
         GROUP BY t.owner_external_id ORDER BY t.owner_external_id",
        scoped_table("serving_pipeline"),
        scope_sql(1)
    ));
    let rows: Vec<WonLost> = scoped(q, scope)
        .bind(Bind::OptText(source.map(str::to_owned)))
        .load(conn)
        .await?;
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
    source: Option<&str>,
) -> Result<Vec<MonthRevenue>, WorkflowError> {
    let scope = dashboard_scope(authz, who)?;
    let q = sql::query(format!(
        "SELECT t.month, t.currency, sum(t.won_count)::bigint AS won_count, sum(t.revenue) AS revenue \
         FROM {} WHERE {} AND ($3::text IS NULL OR t.provider = $3) \
         GROUP BY t.month, t.currency ORDER BY t.month, t.currency",
        scoped_table("serving_won_revenue"),
        scope_sql(1)
    ));
    Ok(scoped(q, scope)
        .bind(Bind::OptText(source.map(str::to_owned)))
        .load(conn)
        .await?)
}

/// Contract recurring revenue within the caller's scope: per month and currency (with
/// the month's movements), and per partner and per distributor at the latest month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RevenueDashboard {
    pub months: Vec<RevenueMonth>,
    pub by_partner: Vec<RevenueShare>,
    pub by_distributor: Vec<RevenueShare>,
}

#[derive(Debug, Clone, PartialEq, Serialize, diesel::QueryableByName)]
pub struct RevenueMonth {
    #[diesel(sql_type = Date)]
    pub month: NaiveDate,
    #[diesel(sql_type = Text)]
    pub currency: String,
    #[diesel(sql_type = BigInt)]
    pub contracts: i64,
    #[diesel(sql_type = Numeric)]
    pub mrr: Decimal,
    #[diesel(sql_type = Numeric)]
    pub arr: Decimal,
    #[diesel(sql_type = Numeric)]
    pub new_mrr: Decimal,
    #[diesel(sql_type = Numeric)]
    pub expansion_mrr: Decimal,
    #[diesel(sql_type = Numeric)]
    pub contraction_mrr: Decimal,
    #[diesel(sql_type = Numeric)]
    pub churned_mrr: Decimal,
}

/// One organisation's contracts at the latest month.
#[derive(Debug, Clone, PartialEq, Serialize, diesel::QueryableByName)]
pub struct RevenueShare {
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    pub id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    pub name: Option<String>,
    #[diesel(sql_type = Text)]
    pub currency: String,
    #[diesel(sql_type = BigInt)]
    pub contracts: i64,
    #[diesel(sql_type = Numeric)]
    pub mrr: Decimal,
    #[diesel(sql_type = Numeric)]
    pub arr: Decimal,
}

pub async fn contract_revenue(
    conn: &mut AsyncPgConnection,
    authz: &Authorizer,
    who: &Principal,
) -> Result<RevenueDashboard, WorkflowError> {
    let scope = dashboard_scope(authz, who)?;
    let months: Vec<RevenueMonth> = scoped(
        sql::query(format!(
            "SELECT month, currency, sum(contracts)::bigint AS contracts, sum(mrr) AS mrr, sum(arr) AS arr, \
                    sum(new_mrr) AS new_mrr, sum(expansion_mrr) AS expansion_mrr, \
                    sum(contraction_mrr) AS contraction_mrr, sum(churned_mrr) AS churned_mrr \
             FROM serving_contract_revenue WHERE {} GROUP BY month, currency ORDER BY month, currency",
            scope_sql(1)
        )),
        scope,
    )
    .load(conn)
    .await?;
    let share = |column: &str, names: &str| {
        sql::query(format!(
            "SELECT t.{column} AS id, max(n.name) AS name, t.currency, sum(t.contracts)::bigint AS contracts, \
                    sum(t.mrr) AS mrr, sum(t.arr) AS arr \
             FROM serving_contract_revenue t LEFT JOIN {names} n ON n.id = t.{column} \
             WHERE {} AND t.month = (SELECT max(month) FROM serving_contract_revenue) \
             GROUP BY t.{column}, t.currency HAVING sum(t.contracts) > 0 \
             ORDER BY sum(t.mrr) DESC, t.currency, max(n.name)",
            // (`partners` and `distributors` have no such columns: the scope reads `t`'s.)
            scope_sql(1)
        ))
    };
    let by_partner: Vec<RevenueShare> = scoped(share("partner_id", "partners"), scope)
        .load(conn)
        .await?;
    let by_distributor: Vec<RevenueShare> = scoped(share("distributor_id", "distributors"), scope)
        .load(conn)
        .await?;
    Ok(RevenueDashboard {
        months,
        by_partner,
        by_distributor,
    })
}
