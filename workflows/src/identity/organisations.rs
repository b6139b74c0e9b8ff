//! Distributors, partners and their attachments. Both kinds have the same shape and
//! rules, so one module serves both, with the table chosen from a fixed enum.

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use uuid::Uuid;

use crate::WorkflowError;
use crate::audit::{self, AuditContext};
use crate::error::{FieldErrors, map_unique, not_found};
use crate::identity::Name;
use crate::identity::RowScope;
use crate::identity::listing::{Sort, cursor_binds, like_pattern, scope_binds};
use crate::pagination::{Cursor, Page};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgKind {
    Distributor,
    Partner,
}

impl OrgKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::Distributor => "distributor",
            OrgKind::Partner => "partner",
        }
    }
    fn table(self) -> &'static str {
        match self {
            OrgKind::Distributor => "distributors",
            OrgKind::Partner => "partners",
        }
    }
    /// Rows visible in scope `$1` (kind) / `$2` (id).
    fn scope_sql(self) -> &'static str {
        match self {
            OrgKind::Distributor => {
                "($1 = 'all' OR ($1 IN ('attached', 'distributor') AND id = $2))"
            }
            OrgKind::Partner => {
                "($1 = 'all' OR ($1 = 'partner' AND id = $2) OR ($1 = 'attached' AND id IN \
                 (SELECT partner_id FROM distributor_partners WHERE distributor_id = $2)))"
            }
        }
    }
    fn name_key(self) -> &'static str {
        match self {
            OrgKind::Distributor => "distributors_name_key",
            OrgKind::Partner => "partners_name_key",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, diesel::QueryableByName)]
pub struct Organisation {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Bool)]
    pub is_active: bool,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
}

pub const SORTS: &[(&str, &str, &str)] = &[
    ("name", "lower(name)", "text"),
    ("created_at", "created_at", "timestamptz"),
];

#[derive(Debug, Clone, Default)]
pub struct OrgFilter {
    pub q: Option<String>,
    pub is_active: Option<bool>,
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    kind: OrgKind,
    scope: RowScope,
    filter: &OrgFilter,
    sort: Sort,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<Organisation>, WorkflowError> {
    let sql = format!(
        "SELECT id, name, is_active, created_at, updated_at FROM {t} \
         WHERE {scope} AND ($3::text IS NULL OR name ILIKE $3) AND ($4::bool IS NULL OR is_active = $4) \
         AND {after} {order} LIMIT $7",
        t = kind.table(),
        scope = kind.scope_sql(),
        after = sort.after(5),
        order = sort.order_by(),
    );
    let (scope_kind, scope_id) = scope_binds(scope);
    let (ck, cid) = cursor_binds(cursor);
    let rows: Vec<Organisation> = diesel::sql_query(sql)
        .bind::<Text, _>(scope_kind)
        .bind::<Nullable<SqlUuid>, _>(scope_id)
        .bind::<Nullable<Text>, _>(filter.q.as_deref().map(like_pattern))
        .bind::<Nullable<Bool>, _>(filter.is_active)
        .bind::<Nullable<Text>, _>(ck)
        .bind::<Nullable<SqlUuid>, _>(cid)
        .bind::<BigInt, _>(limit + 1)
        .load(conn)
        .await?;
    Ok(Page::from_rows(rows, limit, |o| {
        sort.cursor(o.created_at, o.name.to_lowercase(), o.id)
    }))
}

/// One organisation in scope; outside it, `NotFound` (never its content).
pub async fn get(
    conn: &mut AsyncPgConnection,
    kind: OrgKind,
    scope: RowScope,
    id: Uuid,
) -> Result<Organisation, WorkflowError> {
    let sql = format!(
        "SELECT id, name, is_active, created_at, updated_at FROM {t} WHERE {scope} AND id = $3",
        t = kind.table(),
        scope = kind.scope_sql()
    );
    let (scope_kind, scope_id) = scope_binds(scope);
    diesel::sql_query(sql)
        .bind::<Text, _>(scope_kind)
        .bind::<Nullable<SqlUuid>, _>(scope_id)
        .bind::<SqlUuid, _>(id)
        .get_result(conn)
        .await
        .map_err(not_found)
}

pub async fn create(
    conn: &mut AsyncPgConnection,
    kind: OrgKind,
    name: &Name,
    ctx: &AuditContext,
) -> Result<Organisation, WorkflowError> {
    let name = name.as_str().to_owned();
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        let org: Organisation = diesel::sql_query(format!(
            "INSERT INTO {} (id, name) VALUES ($1, $2) RETURNING id, name, is_active, created_at, updated_at",
            kind.table()
        ))
        .bind::<SqlUuid, _>(Uuid::now_v7())
        .bind::<Text, _>(&name)
        .get_result(conn)
        .await
        .map_err(|e| map_unique(e, &[(kind.name_key(), "name_taken", "An organisation with this name exists")]))?;
        audit::record(conn, ctx.entry(&format!("{}_created", kind.as_str()), kind.as_str(), org.id, json!({ "name": org.name }))).await?;
        Ok(org)
    })
    .await
}

#[derive(Debug, Clone, Default)]
pub struct OrgPatch {
    pub name: Option<Name>,
    pub is_active: Option<bool>,
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    kind: OrgKind,
    id: Uuid,
    patch: &OrgPatch,
    ctx: &AuditContext,
) -> Result<Organisation, WorkflowError> {
    if patch.name.is_none() && patch.is_active.is_none() {
        return Err(FieldErrors::single("body", "empty_patch"));
    }
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        let before = get(conn, kind, RowScope::All, id).await?;
        let org: Organisation = diesel::sql_query(format!(
            "UPDATE {} SET name = COALESCE($2, name), is_active = COALESCE($3, is_active), updated_at = now() \
             WHERE id = $1 RETURNING id, name, is_active, created_at, updated_at",
            kind.table()
        ))
        .bind::<SqlUuid, _>(id)
        .bind::<Nullable<Text>, _>(patch.name.as_ref().map(|n| n.as_str().to_owned()))
        .bind::<Nullable<Bool>, _>(patch.is_active)
        .get_result(conn)
        .await
        .map_err(|e| map_unique(e, &[(kind.name_key(), "name_taken", "An organisation with this name exists")]))?;
        let action = match (before.is_active, org.is_active) {
            (true, false) => "disabled",
            (false, true) => "enabled",
            _ => "updated",
        };
        audit::record(
            conn,
            ctx.entry(
                &format!("{}_{action}", kind.as_str()),
                kind.as_str(),
                id,
                json!({ "before": { "name": before.name, "is_active": before.is_active },
                        "after": { "name": org.name, "is_active": org.is_active } }),
            ),
        )
        .await?;
        Ok(org)
    })
    .await
}

/// Attaches a partner to a distributor (idempotent). Both must exist.
pub async fn attach(
    conn: &mut AsyncPgConnection,
    distributor_id: Uuid,
    partner_id: Uuid,
    ctx: &AuditContext,
) -> Result<bool, WorkflowError> {
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        get(conn, OrgKind::Distributor, RowScope::All, distributor_id).await?;
        get(conn, OrgKind::Partner, RowScope::All, partner_id).await?;
        let n = diesel::sql_query(
            "INSERT INTO distributor_partners (distributor_id, partner_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind::<SqlUuid, _>(distributor_id)
        .bind::<SqlUuid, _>(partner_id)
        .execute(conn)
        .await?;
        if n > 0 {
            audit::record(conn, ctx.entry("partner_attached", "distributor", distributor_id, json!({ "partner_id": partner_id }))).await?;
        }
        Ok(n > 0)
    })
    .await
}

/// Detaches a partner from a distributor. `NotFound` when they were not attached.
pub async fn detach(
    conn: &mut AsyncPgConnection,
    distributor_id: Uuid,
    partner_id: Uuid,
    ctx: &AuditContext,
) -> Result<(), WorkflowError> {
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        let n = diesel::sql_query(
            "DELETE FROM distributor_partners WHERE distributor_id = $1 AND partner_id = $2",
        )
        .bind::<SqlUuid, _>(distributor_id)
        .bind::<SqlUuid, _>(partner_id)
        .execute(conn)
        .await?;
        if n == 0 {
            return Err(WorkflowError::NotFound);
        }
        audit::record(
            conn,
            ctx.entry(
                "partner_detached",
                "distributor",
                distributor_id,
                json!({ "partner_id": partner_id }),
            ),
        )
        .await
    })
    .await
}

/// Whether the user's organisation (if any) is active.
pub async fn organisation_active(
    conn: &mut AsyncPgConnection,
    user: &tentabo_schema::models::organisations::User,
) -> Result<bool, WorkflowError> {
    #[derive(diesel::QueryableByName)]
    struct Active {
        #[diesel(sql_type = Bool)]
        active: bool,
    }
    let row: Active = diesel::sql_query(
        "SELECT COALESCE((SELECT is_active FROM partners WHERE id = $1), TRUE) \
            AND COALESCE((SELECT is_active FROM distributors WHERE id = $2), TRUE) AS active",
    )
    .bind::<Nullable<SqlUuid>, _>(user.partner_id)
    .bind::<Nullable<SqlUuid>, _>(user.distributor_id)
    .get_result(conn)
    .await?;
    Ok(row.active)
}
