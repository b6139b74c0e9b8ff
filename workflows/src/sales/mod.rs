//! Sales: leads, orders and contracts (SPEC §2, §3, §9). Each is a lifecycle resource:
//! a row with `state` and `version`, owned by a partner and/or a distributor, read
//! through the caller's row scope, moved only by [`transition::apply`], and annotated by
//! [`notes`].

pub mod activities;
pub mod contracts;
pub mod crm;
pub mod effects;
pub mod leads;
pub mod notes;
pub mod orders;
pub mod resource;
pub mod seed;
pub mod transition;

use diesel::sql_types::{Nullable, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use crate::WorkflowError;
use crate::authz::{Action, Authorizer, Object, RowScope};
use crate::identity::{Principal, Role};
use crate::sql::{self, Bind};

/// The three lifecycle resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Lead,
    Order,
    Contract,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Lead => "lead",
            Kind::Order => "order",
            Kind::Contract => "contract",
        }
    }
    pub fn table(self) -> &'static str {
        match self {
            Kind::Lead => "leads",
            Kind::Order => "orders",
            Kind::Contract => "contracts",
        }
    }
    pub fn object(self) -> Object {
        match self {
            Kind::Lead => Object::Lead,
            Kind::Order => Object::Order,
            Kind::Contract => Object::Contract,
        }
    }
}

/// The row-scope filter of a lifecycle table on binds `$k` (scope kind) and `$k+1`
/// (organisation id): every row for `all`, the partner's rows for `partner`, the
/// distributor's for `distributor`, and for `attached` the distributor's rows plus
/// those of the partners attached to it.
pub fn scope_sql(k: usize) -> String {
    let n = k + 1;
    format!(
        "(${k} = 'all' OR (${k} = 'partner' AND partner_id = ${n}) \
         OR (${k} = 'distributor' AND distributor_id = ${n}) \
         OR (${k} = 'attached' AND (distributor_id = ${n} OR partner_id IN \
             (SELECT dp.partner_id FROM distributor_partners dp WHERE dp.distributor_id = ${n}))))"
    )
}

/// Who is calling, with what the policy lets them do to lifecycle rows: decides per row
/// (in Rust, on the row's owners) what the SQL scope decided per query.
#[derive(Debug, Clone)]
pub struct Caller {
    pub who: Principal,
    authz: Authorizer,
    /// The partners attached to the caller's distributor (empty for other callers).
    attached: Vec<Uuid>,
}

#[derive(Debug, diesel::QueryableByName)]
struct Attached {
    #[diesel(sql_type = SqlUuid)]
    partner_id: Uuid,
}

impl Caller {
    pub async fn load(
        conn: &mut AsyncPgConnection,
        authz: &Authorizer,
        who: &Principal,
    ) -> Result<Caller, WorkflowError> {
        let attached = match who.distributor_id {
            Some(d) => {
                sql::query("SELECT partner_id FROM distributor_partners WHERE distributor_id = $1")
                    .bind(Bind::OptUuid(Some(d)))
                    .load::<Attached>(conn)
                    .await?
                    .into_iter()
                    .map(|a| a.partner_id)
                    .collect()
            }
            None => Vec::new(),
        };
        Ok(Caller {
            who: who.clone(),
            authz: authz.clone(),
            attached,
        })
    }

    pub fn role(&self) -> Role {
        self.who.role
    }

    /// The rows of `kind` the caller may read (404 for the others).
    pub fn view_scope(&self, kind: Kind) -> Result<RowScope, WorkflowError> {
        self.authz.view_scope(&self.who, kind.object())
    }

    /// The rows on which the caller may take `action` (403 outside).
    pub fn scope(&self, kind: Kind, action: Action) -> Result<RowScope, WorkflowError> {
        self.authz.authorize(&self.who, kind.object(), action)
    }

    /// May the caller take `action` on a row of `kind` owned by these organisations?
    pub fn may(&self, kind: Kind, action: Action, owners: Owners) -> bool {
        self.scope(kind, action)
            .is_ok_and(|s| contains(s, owners, &self.attached))
    }
}

/// The organisations a lifecycle row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owners {
    pub partner_id: Option<Uuid>,
    pub distributor_id: Option<Uuid>,
}

/// The Rust twin of [`scope_sql`].
pub fn contains(scope: RowScope, owners: Owners, attached: &[Uuid]) -> bool {
    match scope {
        RowScope::All => true,
        RowScope::Partner(p) => owners.partner_id == Some(p),
        RowScope::Distributor(d) => owners.distributor_id == Some(d),
        RowScope::DistributorAndAttached(d) => {
            owners.distributor_id == Some(d)
                || owners.partner_id.is_some_and(|p| attached.contains(&p))
        }
    }
}

/// The owners of a new row: a caller with a narrower scope than `all` owns what it
/// creates (a distributor may name one of its attached partners); named organisations
/// must exist.
pub(crate) async fn resolve_owners(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    requested: Owners,
    scope: RowScope,
) -> Result<Owners, WorkflowError> {
    use crate::error::FieldErrors;
    let owners = match scope {
        RowScope::All => requested,
        // A partner's rows reach its distributors through the attachment.
        RowScope::Partner(p) => Owners {
            partner_id: Some(p),
            distributor_id: None,
        },
        RowScope::Distributor(d) | RowScope::DistributorAndAttached(d) => Owners {
            partner_id: requested.partner_id,
            distributor_id: Some(d),
        },
    };
    let mut errors = FieldErrors::default();
    if let Some(p) = owners.partner_id {
        let found = org_exists(conn, "partners", p).await?;
        if !found {
            errors.add("partner_id", "unknown_partner");
        } else if matches!(
            scope,
            RowScope::Distributor(_) | RowScope::DistributorAndAttached(_)
        ) && !caller.attached.contains(&p)
        {
            errors.add("partner_id", "partner_not_attached");
        }
    }
    if let Some(d) = owners.distributor_id
        && !org_exists(conn, "distributors", d).await?
    {
        errors.add("distributor_id", "unknown_distributor");
    }
    errors.into_result()?;
    Ok(owners)
}

#[derive(diesel::QueryableByName)]
struct Exists {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    found: bool,
}

async fn org_exists(
    conn: &mut AsyncPgConnection,
    table: &'static str,
    id: Uuid,
) -> Result<bool, WorkflowError> {
    let row: Exists = diesel::sql_query(format!(
        "SELECT EXISTS (SELECT 1 FROM {table} WHERE id = $1) AS found"
    ))
    .bind::<SqlUuid, _>(id)
    .get_result(conn)
    .await?;
    Ok(row.found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_scope_matches_the_sql_rules() {
        let (p, q, d) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let row = |partner_id, distributor_id| Owners {
            partner_id,
            distributor_id,
        };
        assert!(contains(RowScope::All, row(None, None), &[]));
        assert!(contains(RowScope::Partner(p), row(Some(p), Some(d)), &[]));
        assert!(!contains(RowScope::Partner(p), row(Some(q), Some(d)), &[]));
        assert!(contains(RowScope::Distributor(d), row(None, Some(d)), &[]));
        assert!(!contains(
            RowScope::Distributor(d),
            row(Some(p), None),
            &[p]
        ));
        assert!(contains(
            RowScope::DistributorAndAttached(d),
            row(Some(p), None),
            &[p]
        ));
        assert!(!contains(
            RowScope::DistributorAndAttached(d),
            row(Some(q), None),
            &[p]
        ));
    }
}

/// One row of `kind` in the caller's view; outside it (or missing), `NotFound`.
pub(crate) async fn fetch_in_view<T>(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    kind: Kind,
    columns: &str,
    id: Uuid,
) -> Result<T, WorkflowError>
where
    T: diesel::deserialize::FromSqlRow<diesel::sql_types::Untyped, diesel::pg::Pg> + Send + 'static,
{
    let (scope_kind, scope_id) = crate::identity::listing::scope_binds(caller.view_scope(kind)?);
    sql::query(format!(
        "SELECT {columns} FROM {} WHERE {} AND id = $3",
        kind.table(),
        scope_sql(1)
    ))
    .bind(Bind::Text(scope_kind.to_owned()))
    .bind(Bind::OptUuid(scope_id))
    .bind(Bind::Uuid(id))
    .get_result(conn)
    .await
    .map_err(not_found)
}

pub(crate) use crate::error::not_found;

/// A timestamp as a cursor key, in the form Postgres casts back exactly.
pub(crate) fn timestamp_key(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Deletes a lifecycle row with its history and notes (which have no foreign key: they
/// hang off any of the three kinds).
pub(crate) async fn delete_row(
    conn: &mut AsyncPgConnection,
    kind: Kind,
    id: Uuid,
) -> Result<(), WorkflowError> {
    for sql in [
        "DELETE FROM notes WHERE object_type = $1 AND object_id = $2",
        "DELETE FROM lifecycle_history WHERE object_type = $1 AND object_id = $2",
    ] {
        diesel::sql_query(sql)
            .bind::<diesel::sql_types::Text, _>(kind.as_str())
            .bind::<SqlUuid, _>(id)
            .execute(conn)
            .await?;
    }
    diesel::sql_query(format!("DELETE FROM {} WHERE id = $1", kind.table()))
        .bind::<SqlUuid, _>(id)
        .execute(conn)
        .await
        .map_err(|e| match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                _,
            ) => WorkflowError::Conflict {
                code: "still_referenced",
                message: format!("the {} is still referenced", kind.as_str()),
            },
            e => e.into(),
        })?;
    Ok(())
}

#[derive(diesel::QueryableByName)]
struct RowOwners {
    #[diesel(sql_type = Nullable<SqlUuid>)]
    partner_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    distributor_id: Option<Uuid>,
}

/// Moves a row to other owning organisations (the `reassign` permission).
pub async fn reassign(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    audit_ctx: &crate::audit::AuditContext,
    kind: Kind,
    id: Uuid,
    to: Owners,
) -> Result<(), WorkflowError> {
    // The change and its audit row commit together, or neither does.
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        reassign_in(conn, caller, audit_ctx, kind, id, to).await
    })
    .await
}

/// [`reassign`], inside the caller's transaction.
async fn reassign_in(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    audit_ctx: &crate::audit::AuditContext,
    kind: Kind,
    id: Uuid,
    to: Owners,
) -> Result<(), WorkflowError> {
    use diesel::sql_types::Text;
    // A row outside the caller's view is 404 whatever the permission: no existence leak.
    let (scope_kind, scope_id) = crate::identity::listing::scope_binds(caller.view_scope(kind)?);
    let row: RowOwners = diesel::sql_query(format!(
        "SELECT partner_id, distributor_id FROM {} WHERE {} AND id = $3 FOR UPDATE",
        kind.table(),
        scope_sql(1)
    ))
    .bind::<Text, _>(scope_kind)
    .bind::<Nullable<SqlUuid>, _>(scope_id)
    .bind::<SqlUuid, _>(id)
    .get_result(conn)
    .await
    .map_err(not_found)?;
    let from = Owners {
        partner_id: row.partner_id,
        distributor_id: row.distributor_id,
    };
    let scope = caller.scope(kind, Action::Reassign)?;
    if !contains(scope, from, &caller.attached) {
        return Err(WorkflowError::Forbidden);
    }
    let to = resolve_owners(conn, caller, to, scope).await?;
    diesel::sql_query(format!(
        "UPDATE {} SET partner_id = $2, distributor_id = $3, updated_at = now() WHERE id = $1",
        kind.table()
    ))
    .bind::<SqlUuid, _>(id)
    .bind::<Nullable<SqlUuid>, _>(to.partner_id)
    .bind::<Nullable<SqlUuid>, _>(to.distributor_id)
    .execute(conn)
    .await?;
    crate::audit::record(
        conn,
        audit_ctx.entry(
            &format!("{}.reassign", kind.as_str()),
            kind.as_str(),
            id,
            serde_json::json!({
                "from": { "partner_id": from.partner_id, "distributor_id": from.distributor_id },
                "to": { "partner_id": to.partner_id, "distributor_id": to.distributor_id },
            }),
        ),
    )
    .await?;
    Ok(())
}

/// Lead counts and pipeline value per state, in the caller's `analytics` scope.
#[derive(Debug, Clone, PartialEq, diesel::QueryableByName)]
pub struct LeadStateFigures {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub state: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub count: i64,
    #[diesel(sql_type = diesel::sql_types::Numeric)]
    pub value: rust_decimal::Decimal,
}

pub async fn lead_analytics(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
) -> Result<Vec<LeadStateFigures>, WorkflowError> {
    let scope = caller.scope(Kind::Lead, Action::Analytics)?;
    let (scope_kind, scope_id) = crate::identity::listing::scope_binds(scope);
    Ok(diesel::sql_query(format!(
        "SELECT state, count(*) AS count, COALESCE(sum(value), 0) AS value FROM leads \
         WHERE {} GROUP BY state ORDER BY state",
        scope_sql(1)
    ))
    .bind::<diesel::sql_types::Text, _>(scope_kind)
    .bind::<Nullable<SqlUuid>, _>(scope_id)
    .load(conn)
    .await?)
}
