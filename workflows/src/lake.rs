//! The data lake as its readers see it (SPEC §6): serving aggregates rebuilt after each
//! load, the dashboards read from them, browsing each zone within the caller's row
//! scope, local edits of canonical rows, conflicts waiting for a decision, and the links
//! that give synced records an owner.
//!
//! Row scope of synced data: a lead or an order synced from a provider is owned by the
//! source's user (`owner_external_id`); `provider_owner_links` says which partner or
//! distributor that user sells for, and [`scope_sql`] applies to the link exactly as it
//! applies to a lifecycle row. A record whose owner is linked to nobody is seen by
//! callers whose scope is `all` only. The serving tables keep the owner, so the same
//! filter applies to aggregates.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::sql_types::{BigInt, Date, Jsonb, Nullable, Numeric, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::WorkflowError;
use crate::authz::{Action, Authorizer, Object, RowScope};
use crate::error::FieldErrors;
use crate::identity::Principal;
use crate::identity::listing::scope_binds;
use crate::pipeline::{Entity, load};
use crate::sales::scope_sql;
use crate::sql::{self, Bind};

/// A lead counts by its canonical status (SPEC §10's lead vocabulary, which the mapper
/// derives from the source's stages and archives).
const WON: &str = "status = 'won'";
const LOST: &str = "status = 'lost'";

/// Rebuilds the serving aggregates of `provider` from its live canonical leads, in one
/// transaction (readers see the old figures or the new ones, never a mix).
pub async fn refresh_serving(
    conn: &mut AsyncPgConnection,
    provider: &str,
) -> Result<(), WorkflowError> {
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        // Two refreshes of one provider take turns (the second would otherwise insert
        // rows the first just inserted).
        sql::query("SELECT pg_advisory_xact_lock(hashtextextended('refresh_serving:' || $1, 0))")
            .bind(Bind::Text(provider.to_owned()))
            .execute(conn)
            .await?;
        for table in ["serving_pipeline", "serving_won_revenue"] {
            sql::query(format!("DELETE FROM {table} WHERE provider = $1"))
                .bind(Bind::Text(provider.to_owned()))
                .execute(conn)
                .await?;
        }
        sql::query(format!(
            "INSERT INTO serving_pipeline \
                 (provider, status, owner_external_id, owner, currency, lead_count, won_count, lost_count, value) \
             SELECT provider, COALESCE(status, ''), COALESCE(owner_external_id, ''), max(owner), \
                    COALESCE(currency, ''), count(*), count(*) FILTER (WHERE {WON}), \
                    count(*) FILTER (WHERE {LOST}), COALESCE(sum(value), 0) \
             FROM canonical_leads WHERE provider = $1 AND deleted_at IS NULL \
             GROUP BY provider, COALESCE(status, ''), COALESCE(owner_external_id, ''), COALESCE(currency, '')"
        ))
        .bind(Bind::Text(provider.to_owned()))
        .execute(conn)
        .await?;
        sql::query(format!(
            "INSERT INTO serving_won_revenue \
                 (provider, month, owner_external_id, owner, currency, won_count, revenue) \
             SELECT provider, date_trunc('month', COALESCE(closed_at, updated_at) AT TIME ZONE 'UTC')::date, \
                    COALESCE(owner_external_id, ''), max(owner), COALESCE(currency, ''), count(*), \
                    COALESCE(sum(value), 0) \
             FROM canonical_leads WHERE provider = $1 AND deleted_at IS NULL AND {WON} \
                  AND COALESCE(closed_at, updated_at) IS NOT NULL \
             GROUP BY 1, 2, 3, 5"
        ))
        .bind(Bind::Text(provider.to_owned()))
        .execute(conn)
        .await?;
        Ok(())
    })
    .await
}

/// The owner link joined to a table aliased `t` with `provider` and `owner_external_id`.
const OWNER_JOIN: &str = "LEFT JOIN provider_owner_links l \
    ON l.provider = t.provider AND l.owner_external_id = t.owner_external_id";

/// The caller's scope on synced leads for dashboards (the `analytics` permission).
fn dashboard_scope(authz: &Authorizer, who: &Principal) -> Result<RowScope, WorkflowError> {
    authz.authorize(who, Object::Lead, Action::Analytics)
}

fn scoped(q: sql::Cached, scope: RowScope) -> sql::Cached {
    let (kind, id) = scope_binds(scope);
    q.bind(Bind::Text(kind.to_owned())).bind(Bind::OptUuid(id))
}

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
struct WonLost {
    #[diesel(sql_type = Text)]
    owner_external_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    owner: Option<String>,
    #[diesel(sql_type = BigInt)]
    won: i64,
    #[diesel(sql_type = BigInt)]
    lost: i64,
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

/// Where a lake listing stands: the last row's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct LakeCursor {
    p: String,
    x: String,
}

fn decode_cursor(raw: Option<&str>) -> Result<Option<LakeCursor>, WorkflowError> {
    raw.map(crate::pagination::decode).transpose()
}

/// A page of lake rows, each as JSON with the table's column names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowPage {
    pub items: Vec<serde_json::Value>,
    pub next_cursor: Option<String>,
}

#[derive(diesel::QueryableByName)]
struct LakeRow {
    #[diesel(sql_type = Text)]
    k_provider: String,
    #[diesel(sql_type = Text)]
    k_id: String,
    #[diesel(sql_type = Jsonb)]
    row: serde_json::Value,
}

fn page(rows: Vec<LakeRow>, limit: i64) -> RowPage {
    let p = crate::pagination::Page::from_rows(rows, limit, |r| LakeCursor {
        p: r.k_provider.clone(),
        x: r.k_id.clone(),
    });
    RowPage {
        items: p.items.into_iter().map(|r| r.row).collect(),
        next_cursor: p.next_cursor,
    }
}

/// What to list from a zone.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub provider: Option<String>,
    /// The source's object (raw zone only).
    pub source: Option<String>,
    pub include_deleted: bool,
    pub cursor: Option<String>,
    pub limit: i64,
}

/// Raw records as received (admins: the raw zone has every field of every record).
pub async fn raw(
    conn: &mut AsyncPgConnection,
    authz: &Authorizer,
    who: &Principal,
    l: &Listing,
) -> Result<RowPage, WorkflowError> {
    authz.authorize(who, Object::Job, Action::View)?;
    let after = decode_cursor(l.cursor.as_deref())?;
    let after_id = after
        .map(|c| c.x.parse::<i64>())
        .transpose()
        .map_err(|_| FieldErrors::single("cursor", "invalid_cursor"))?;
    let rows: Vec<LakeRow> = sql::query(
        "SELECT '' AS k_provider, id::text AS k_id, \
                jsonb_build_object('id', id, 'provider', provider, 'entity', entity, \
                    'external_id', external_id, 'sync_run_id', sync_run_id, 'fetched_at', fetched_at, \
                    'content_hash', encode(content_hash, 'hex'), 'body', body) AS row \
         FROM raw_records WHERE ($1::text IS NULL OR provider = $1) AND ($2::text IS NULL OR entity = $2) \
              AND ($3::bigint IS NULL OR id > $3) ORDER BY id LIMIT $4",
    )
    .bind(Bind::OptText(l.provider.clone()))
    .bind(Bind::OptText(l.source.clone()))
    .bind(Bind::OptBigInt(after_id))
    .bind(Bind::BigInt(l.limit + 1))
    .load(conn)
    .await?;
    Ok(page(rows, l.limit))
}

/// The caller's scope on canonical rows of `entity`: leads and orders by their owner's
/// link (the view permission of the lifecycle resource); organizations, contacts,
/// products and invoices carry no owner and are for admins.
fn canonical_scope(
    authz: &Authorizer,
    who: &Principal,
    entity: Entity,
) -> Result<Option<RowScope>, WorkflowError> {
    match entity {
        Entity::Lead => authz.view_scope(who, Object::Lead).map(Some),
        Entity::Order => authz.view_scope(who, Object::Order).map(Some),
        _ => authz
            .authorize(who, Object::Job, Action::View)
            .map(|_| None),
    }
}

/// Canonical rows of one entity within the caller's scope, by (provider, external id).
pub async fn canonical(
    conn: &mut AsyncPgConnection,
    authz: &Authorizer,
    who: &Principal,
    entity: Entity,
    l: &Listing,
) -> Result<RowPage, WorkflowError> {
    let scope = canonical_scope(authz, who, entity)?;
    let after = decode_cursor(l.cursor.as_deref())?;
    let (join, filter) = match scope {
        Some(_) => (OWNER_JOIN, scope_sql(1)),
        // Admins only (checked above): the scope binds are `all` and no organisation.
        None => ("", "($1 = 'all' AND $2::uuid IS NULL)".to_owned()),
    };
    let q = sql::query(format!(
        "SELECT t.provider AS k_provider, t.external_id AS k_id, {row} AS row \
         FROM {table} t {join} WHERE {filter} \
              AND ($3::text IS NULL OR t.provider = $3) AND ($4 OR t.deleted_at IS NULL) \
              AND ($5::text IS NULL OR (t.provider, t.external_id) > ($5, $6)) \
         ORDER BY t.provider, t.external_id LIMIT $7",
        table = entity.table(),
        row = load::row_json(entity)
    ));
    let rows: Vec<LakeRow> = scoped(q, scope.unwrap_or(RowScope::All))
        .bind(Bind::OptText(l.provider.clone()))
        .bind(Bind::Bool(l.include_deleted))
        .bind(Bind::OptText(after.as_ref().map(|c| c.p.clone())))
        .bind(Bind::OptText(after.map(|c| c.x)))
        .bind(Bind::BigInt(l.limit + 1))
        .load(conn)
        .await?;
    Ok(page(rows, l.limit))
}

/// The serving tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serving {
    Pipeline,
    WonRevenue,
}

impl Serving {
    pub fn parse(s: &str) -> Option<Serving> {
        match s {
            "pipeline" => Some(Serving::Pipeline),
            "won_revenue" => Some(Serving::WonRevenue),
            _ => None,
        }
    }
    fn table(self) -> &'static str {
        match self {
            Serving::Pipeline => "serving_pipeline",
            Serving::WonRevenue => "serving_won_revenue",
        }
    }
    /// A row as JSON, money as a string (exact, never a float).
    fn row_json(self) -> &'static str {
        match self {
            Serving::Pipeline => "(to_jsonb(t) || jsonb_build_object('value', t.value::text))",
            Serving::WonRevenue => {
                "(to_jsonb(t) || jsonb_build_object('revenue', t.revenue::text))"
            }
        }
    }
    /// The key after the provider, as text (for the cursor).
    fn key(self) -> &'static str {
        match self {
            Serving::Pipeline => "concat_ws('/', t.status, t.owner_external_id, t.currency)",
            Serving::WonRevenue => "concat_ws('/', t.month, t.owner_external_id, t.currency)",
        }
    }
}

/// Serving rows within the caller's dashboard scope.
pub async fn serving(
    conn: &mut AsyncPgConnection,
    authz: &Authorizer,
    who: &Principal,
    table: Serving,
    l: &Listing,
) -> Result<RowPage, WorkflowError> {
    let scope = dashboard_scope(authz, who)?;
    let after = decode_cursor(l.cursor.as_deref())?;
    let q = sql::query(format!(
        "SELECT t.provider AS k_provider, {key} AS k_id, {row} AS row \
         FROM {table} t {OWNER_JOIN} WHERE {scope} \
              AND ($3::text IS NULL OR t.provider = $3) \
              AND ($4::text IS NULL OR (t.provider, {key}) > ($4, $5)) \
         ORDER BY t.provider, {key} LIMIT $6",
        key = table.key(),
        row = table.row_json(),
        table = table.table(),
        scope = scope_sql(1)
    ));
    let rows: Vec<LakeRow> = scoped(q, scope)
        .bind(Bind::OptText(l.provider.clone()))
        .bind(Bind::OptText(after.as_ref().map(|c| c.p.clone())))
        .bind(Bind::OptText(after.map(|c| c.x)))
        .bind(Bind::BigInt(l.limit + 1))
        .load(conn)
        .await?;
    Ok(page(rows, l.limit))
}

#[derive(diesel::QueryableByName)]
struct RowJson {
    #[diesel(sql_type = Jsonb)]
    row: serde_json::Value,
}

/// Applies a local edit to a canonical row (admins): `changes` maps columns of the
/// entity to new values, converted by Postgres from JSON to each column's type. The row
/// is marked edited (`local_modified_at`), which the next sync that changes the record
/// in the source treats as a conflict.
pub async fn edit_canonical(
    conn: &mut AsyncPgConnection,
    authz: &Authorizer,
    who: &Principal,
    entity: Entity,
    provider: &str,
    external_id: &str,
    changes: &serde_json::Map<String, serde_json::Value>,
) -> Result<serde_json::Value, WorkflowError> {
    authz.authorize(who, Object::Job, Action::Manage)?;
    let allowed: Vec<String> = load::columns(entity)
        .iter()
        .map(|c| load::column(entity, c))
        .collect();
    let mut errors = FieldErrors::default();
    if changes.is_empty() {
        errors.add("fields", "empty");
    }
    for k in changes.keys() {
        if !allowed.contains(k) {
            errors.add(&format!("fields.{k}"), "unknown_field");
        }
    }
    errors.into_result()?;
    let cols: Vec<&str> = allowed
        .iter()
        .map(String::as_str)
        .filter(|c| changes.contains_key(*c))
        .collect();
    let list = cols.join(", ");
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        let row: Option<RowJson> = diesel::OptionalExtension::optional(
            sql::query(format!(
                "UPDATE {table} t SET ({list}) = (SELECT {list} FROM jsonb_populate_record(NULL::{table}, $3)), \
                     local_modified_at = now() \
                 WHERE t.provider = $1 AND t.external_id = $2 \
                 RETURNING {row} AS row",
                table = entity.table(),
                row = load::row_json(entity)
            ))
            .bind(Bind::Text(provider.to_owned()))
            .bind(Bind::Text(external_id.to_owned()))
            .bind(Bind::Json(serde_json::Value::Object(changes.clone())))
            .get_result(conn)
            .await,
        )
        .map_err(bad_value)?;
        let row = row.ok_or(WorkflowError::NotFound)?;
        if entity == Entity::Lead {
            crate::pipeline::request_refresh(conn, provider, &format!("edit:{}", Uuid::now_v7())).await?;
        }
        Ok(row.row)
    })
    .await
}

/// A JSON value Postgres cannot read as its column's type is the caller's mistake.
fn bad_value(e: diesel::result::Error) -> WorkflowError {
    use diesel::result::{DatabaseErrorKind as K, Error};
    let Error::DatabaseError(kind, info) = &e else {
        return e.into();
    };
    let m = info.message();
    let unreadable = matches!(kind, K::NotNullViolation)
        || (matches!(kind, K::Unknown | K::CheckViolation)
            && [
                "invalid input syntax",
                "out of range",
                "violates check constraint",
                "numeric field overflow",
            ]
            .iter()
            .any(|p| m.contains(p)));
    if !unreadable {
        return e.into();
    }
    WorkflowError::Unprocessable {
        code: "invalid_value",
        details: serde_json::json!({ "message": m }),
    }
}

/// A conflict between a local edit and a source change.
#[derive(Debug, Clone, PartialEq, Serialize, diesel::QueryableByName)]
pub struct Conflict {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    pub sync_run_id: Option<Uuid>,
    #[diesel(sql_type = Text)]
    pub provider: String,
    #[diesel(sql_type = Text)]
    pub entity: String,
    #[diesel(sql_type = Text)]
    pub external_id: String,
    #[diesel(sql_type = Text)]
    pub policy: String,
    #[diesel(sql_type = Jsonb)]
    pub local: serde_json::Value,
    #[diesel(sql_type = Jsonb)]
    pub remote: serde_json::Value,
    #[diesel(sql_type = Text)]
    pub resolution: String,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub resolved_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

const CONFLICT_COLUMNS: &str = "id, sync_run_id, provider, entity, external_id, policy, local, remote, \
    resolution, resolved_at, created_at";

/// Conflicts, newest first, optionally of one resolution (admins).
pub async fn conflicts(
    conn: &mut AsyncPgConnection,
    authz: &Authorizer,
    who: &Principal,
    resolution: Option<&str>,
    limit: i64,
) -> Result<Vec<Conflict>, WorkflowError> {
    authz.authorize(who, Object::Job, Action::View)?;
    if let Some(r) = resolution
        && !["pending", "source_applied", "local_kept"].contains(&r)
    {
        return Err(FieldErrors::single("resolution", "unknown_resolution"));
    }
    Ok(sql::query(format!(
        "SELECT {CONFLICT_COLUMNS} FROM sync_conflicts WHERE ($1::text IS NULL OR resolution = $1) \
         ORDER BY id DESC LIMIT $2"
    ))
    .bind(Bind::OptText(resolution.map(str::to_owned)))
    .bind(Bind::BigInt(limit))
    .load(conn)
    .await?)
}

/// Which side a pending conflict's decision keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Keep {
    Source,
    Local,
}

/// Decides a pending conflict (admins): `source` writes the source's version over the
/// local edit (which is then gone), `local` keeps the edit. One transaction, the row
/// locked; a conflict already decided answers 409.
pub async fn resolve_conflict(
    conn: &mut AsyncPgConnection,
    authz: &Authorizer,
    who: &Principal,
    id: i64,
    keep: Keep,
) -> Result<Conflict, WorkflowError> {
    authz.authorize(who, Object::Job, Action::Manage)?;
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        let c: Conflict = sql::query(format!(
            "SELECT {CONFLICT_COLUMNS} FROM sync_conflicts WHERE id = $1 FOR UPDATE"
        ))
        .bind(Bind::BigInt(id))
        .get_result(conn)
        .await
        .map_err(crate::error::not_found)?;
        if c.resolution != "pending" {
            return Err(WorkflowError::Refused {
                code: "conflict_already_resolved",
                details: serde_json::json!({ "resolution": c.resolution }),
            });
        }
        let entity = Entity::parse(&c.entity).ok_or(WorkflowError::NotFound)?;
        if keep == Keep::Source {
            let list = load::columns(entity)
                .iter()
                .map(|f| load::column(entity, f))
                .chain(["content_hash".to_owned()])
                .collect::<Vec<_>>()
                .join(", ");
            sql::query(format!(
                "UPDATE {table} SET ({list}) = (SELECT {list} FROM jsonb_populate_record(NULL::{table}, $3)), \
                     local_modified_at = NULL, last_synced_at = now() \
                 WHERE provider = $1 AND external_id = $2",
                table = entity.table()
            ))
            .bind(Bind::Text(c.provider.clone()))
            .bind(Bind::Text(c.external_id.clone()))
            .bind(Bind::Json(c.remote.clone()))
            .execute(conn)
            .await?;
            if entity == Entity::Lead {
                crate::pipeline::request_refresh(conn, &c.provider, &format!("conflict:{id}")).await?;
            }
        }
        Ok(sql::query(format!(
            "UPDATE sync_conflicts SET resolution = $2, resolved_at = now(), resolved_by = $3 \
             WHERE id = $1 RETURNING {CONFLICT_COLUMNS}"
        ))
        .bind(Bind::BigInt(id))
        .bind(Bind::Text(
            match keep {
                Keep::Source => "source_applied",
                Keep::Local => "local_kept",
            }
            .to_owned(),
        ))
        .bind(Bind::OptUuid(Some(who.user_id)))
        .get_result(conn)
        .await?)
    })
    .await
}

/// A source user and the organisation it sells for.
#[derive(Debug, Clone, PartialEq, Serialize, diesel::QueryableByName)]
pub struct OwnerLink {
    #[diesel(sql_type = Text)]
    pub provider: String,
    #[diesel(sql_type = Text)]
    pub owner_external_id: String,
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    pub partner_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    pub distributor_id: Option<Uuid>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

/// Links a source user to one partner or one distributor (admins); replaces an earlier
/// link of that user.
pub async fn link_owner(
    conn: &mut AsyncPgConnection,
    authz: &Authorizer,
    who: &Principal,
    provider: &str,
    owner_external_id: &str,
    partner_id: Option<Uuid>,
    distributor_id: Option<Uuid>,
) -> Result<OwnerLink, WorkflowError> {
    authz.authorize(who, Object::Job, Action::Manage)?;
    if partner_id.is_some() == distributor_id.is_some() {
        return Err(FieldErrors::single(
            "partner_id",
            "exactly_one_of_partner_or_distributor",
        ));
    }
    sql::query(
        "INSERT INTO provider_owner_links (provider, owner_external_id, partner_id, distributor_id) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (provider, owner_external_id) DO UPDATE SET partner_id = EXCLUDED.partner_id, \
             distributor_id = EXCLUDED.distributor_id, created_at = now() \
         RETURNING provider, owner_external_id, partner_id, distributor_id, created_at",
    )
    .bind(Bind::Text(provider.to_owned()))
    .bind(Bind::Text(owner_external_id.to_owned()))
    .bind(Bind::OptUuid(partner_id))
    .bind(Bind::OptUuid(distributor_id))
    .get_result(conn)
    .await
    .map_err(|e| match &e {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::ForeignKeyViolation,
            _,
        ) => FieldErrors::single(
            if partner_id.is_some() { "partner_id" } else { "distributor_id" },
            "unknown_organisation",
        ),
        _ => e.into(),
    })
}

pub async fn owner_links(
    conn: &mut AsyncPgConnection,
    authz: &Authorizer,
    who: &Principal,
) -> Result<Vec<OwnerLink>, WorkflowError> {
    authz.authorize(who, Object::Job, Action::View)?;
    Ok(sql::query(
        "SELECT provider, owner_external_id, partner_id, distributor_id, created_at \
         FROM provider_owner_links ORDER BY provider, owner_external_id",
    )
    .load(conn)
    .await?)
}
