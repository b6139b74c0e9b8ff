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

pub use crate::authz::Actor;

mod browse;
mod dashboards;
mod edits;
mod owners;

pub use browse::*;
pub use dashboards::*;
pub use edits::*;
pub use owners::*;
