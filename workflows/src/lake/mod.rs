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

/// The `provider` of serving rows made from Tentabo's own leads, orders and contracts.
pub const OWN: &str = "tentabo";

/// Rebuilds the serving aggregates of `provider` from its live canonical leads (or, for
/// [`OWN`], from Tentabo's own leads, fulfilled orders and contracts), in one
/// transaction (readers see the old figures or the new ones, never a mix).
pub async fn refresh_serving(
    conn: &mut AsyncPgConnection,
    provider: &str,
) -> Result<(), WorkflowError> {
    refresh(conn, provider, true).await.map(|_| ())
}

/// [`refresh_serving`] unless a refresh of `provider` is running now: then nothing is
/// done and the answer is `false` (the caller queues another for after it, rather than
/// holding a connection while it waits).
pub async fn try_refresh_serving(
    conn: &mut AsyncPgConnection,
    provider: &str,
) -> Result<bool, WorkflowError> {
    refresh(conn, provider, false).await
}

/// Two refreshes of one provider take turns (the second would otherwise insert rows the
/// first just inserted): the transaction's advisory lock, waited for or only tried.
async fn take_turn(
    conn: &mut AsyncPgConnection,
    provider: &str,
    wait: bool,
) -> Result<bool, WorkflowError> {
    #[derive(diesel::QueryableByName)]
    struct Taken {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        taken: bool,
    }
    let sql = if wait {
        "SELECT pg_advisory_xact_lock(hashtextextended('refresh_serving:' || $1, 0)) IS NOT NULL AS taken"
    } else {
        "SELECT pg_try_advisory_xact_lock(hashtextextended('refresh_serving:' || $1, 0)) AS taken"
    };
    let t: Taken = sql::query(sql)
        .bind(Bind::Text(provider.to_owned()))
        .get_result(conn)
        .await?;
    Ok(t.taken)
}

async fn refresh(
    conn: &mut AsyncPgConnection,
    provider: &str,
    wait: bool,
) -> Result<bool, WorkflowError> {
    if provider == OWN {
        return refresh_own(conn, wait).await;
    }
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        if !take_turn(conn, provider, wait).await? {
            return Ok(false);
        }
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
        Ok(true)
    })
    .await
}

/// The owner link joined to a table aliased `t` with `provider` and `owner_external_id`.
const OWNER_JOIN: &str = "LEFT JOIN provider_owner_links l \
    ON l.provider = t.provider AND l.owner_external_id = t.owner_external_id";

/// Asks for a rebuild of Tentabo's own serving rows (the `refresh_serving` job), in the
/// caller's transaction: every write that changes what they count (a lead, a
/// transition, a contract started or replaced) calls it, `cause` naming the change.
pub async fn own_changed(conn: &mut AsyncPgConnection, cause: &str) -> Result<(), WorkflowError> {
    crate::jobs::enqueue(conn, &[own_refresh(cause)]).await?;
    Ok(())
}

/// The job [`own_changed`] writes, for a caller that writes it with its other jobs in
/// one statement (the transition service).
pub fn own_refresh(cause: &str) -> crate::jobs::JobRequest {
    crate::pipeline::refresh_job(OWN, &format!("{OWN}:{cause}:{}", Uuid::now_v7()))
}

/// Whether a refresh of `provider` asked for after job `job_id` is still to run: then
/// this one may end at once — the later one starts after it, so it reads everything
/// this one would have (a burst of transitions costs one rebuild, not one each).
pub async fn refresh_superseded(
    conn: &mut AsyncPgConnection,
    job_id: i64,
    provider: &str,
) -> Result<bool, WorkflowError> {
    #[derive(diesel::QueryableByName)]
    struct Later {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        later: bool,
    }
    let r: Later = sql::query(
        "SELECT EXISTS (SELECT 1 FROM outbox WHERE queue = 'refresh_serving' AND id > $1 \
             AND status IN ('pending', 'enqueued') AND payload->>'provider' = $2) AS later",
    )
    .bind(Bind::BigInt(job_id))
    .bind(Bind::Text(provider.to_owned()))
    .get_result(conn)
    .await?;
    Ok(r.later)
}

/// A serving table with the organisations that scope its rows, aliased `t`: its own
/// (Tentabo's rows) or those the owner link gives (synced rows).
fn scoped_table(table: &str) -> String {
    format!(
        "(SELECT s.*, COALESCE(s.own_partner_id, l.partner_id) AS partner_id, \
                 COALESCE(s.own_distributor_id, l.distributor_id) AS distributor_id \
          FROM {table} s LEFT JOIN provider_owner_links l \
            ON l.provider = s.provider AND l.owner_external_id = s.owner_external_id) t"
    )
}

/// Rebuilds the serving rows of Tentabo's own data: the pipeline and win rate from
/// `leads`, won revenue from fulfilled `orders` (month of fulfilment), and contract
/// recurring revenue ([`revenue`]).
async fn refresh_own(conn: &mut AsyncPgConnection, wait: bool) -> Result<bool, WorkflowError> {
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        if !take_turn(conn, OWN, wait).await? {
            return Ok(false);
        }
        // Read inside the turn: a refresh never stores figures older than the last one's.
        let now = Utc::now();
        let contracts = revenue::load(conn, now).await?;
        let rows = revenue::series(&contracts, now);
        for table in ["serving_pipeline", "serving_won_revenue"] {
            sql::query(format!("DELETE FROM {table} WHERE provider = $1"))
                .bind(Bind::Text(OWN.to_owned()))
                .execute(conn)
                .await?;
        }
        sql::query(
            "INSERT INTO serving_pipeline \
                 (provider, status, owner_external_id, owner, currency, lead_count, won_count, \
                  lost_count, value, own_partner_id, own_distributor_id, scope_key) \
             SELECT $1, l.state, l.owner_id::text, max(u.full_name), l.currency, count(*), \
                    count(*) FILTER (WHERE l.state = 'won'), count(*) FILTER (WHERE l.state = 'lost'), \
                    COALESCE(sum(l.value), 0), l.partner_id, l.distributor_id, \
                    COALESCE(l.partner_id::text, '') || '/' || COALESCE(l.distributor_id::text, '') \
             FROM leads l LEFT JOIN users u ON u.id = l.owner_id \
             GROUP BY l.state, l.owner_id, l.currency, l.partner_id, l.distributor_id",
        )
        .bind(Bind::Text(OWN.to_owned()))
        .execute(conn)
        .await?;
        sql::query(
            "INSERT INTO serving_won_revenue \
                 (provider, month, owner_external_id, owner, currency, won_count, revenue, \
                  own_partner_id, own_distributor_id, scope_key) \
             SELECT $1, date_trunc('month', f.at AT TIME ZONE 'UTC')::date, o.created_by::text, \
                    max(u.full_name), o.currency, count(*), sum(o.total), o.partner_id, o.distributor_id, \
                    COALESCE(o.partner_id::text, '') || '/' || COALESCE(o.distributor_id::text, '') \
             FROM orders o \
             JOIN LATERAL (SELECT max(h.occurred_at) AS at FROM lifecycle_history h \
                           WHERE h.object_type = 'order' AND h.object_id = o.id \
                             AND h.to_state = 'fulfilled') f ON f.at IS NOT NULL \
             LEFT JOIN users u ON u.id = o.created_by \
             WHERE o.state = 'fulfilled' \
             GROUP BY 2, 3, 5, 8, 9, 10",
        )
        .bind(Bind::Text(OWN.to_owned()))
        .execute(conn)
        .await?;
        revenue::store(conn, &rows).await?;
        Ok(true)
    })
    .await
}

/// The caller's scope on synced leads for dashboards (the `analytics` permission).
fn dashboard_scope(authz: &Authorizer, who: &Principal) -> Result<RowScope, WorkflowError> {
    authz.authorize(who, Object::Lead, Action::Analytics)
}

fn scoped(q: sql::Cached, scope: RowScope) -> sql::Cached {
    let (kind, id) = scope_binds(scope);
    q.bind(Bind::Text(kind.to_owned())).bind(Bind::OptUuid(id))
}

pub use crate::authz::Actor;

mod browse;
mod dashboards;
mod edits;
mod owners;
pub mod revenue;

pub use browse::*;
pub use dashboards::*;
pub use edits::*;
pub use owners::*;
