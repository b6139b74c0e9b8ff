//! Notes on leads, orders and contracts. `internal` notes are for the vendor's staff
//! (admins, restricted admins, fulfillers); `partner_visible` notes are seen by every
//! caller who can see the resource. Partners and distributors write partner-visible
//! notes only.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::{Caller, Kind, scope_sql};
use crate::WorkflowError;
use crate::audit::{self, AuditContext};
use crate::error::FieldErrors;
use crate::identity::Role;
use crate::identity::listing::scope_binds;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    Internal,
    PartnerVisible,
}

impl Visibility {
    fn as_str(self) -> &'static str {
        match self {
            Visibility::Internal => "internal",
            Visibility::PartnerVisible => "partner_visible",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, diesel::QueryableByName)]
pub struct Note {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub author_id: Uuid,
    #[diesel(sql_type = Text)]
    pub visibility: String,
    #[diesel(sql_type = Text)]
    pub body: String,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

pub const MAX_BODY: usize = 10_000;

/// Staff see internal notes; partners and distributors do not.
fn sees_internal(role: Role) -> bool {
    matches!(role, Role::Admin | Role::RestrictedAdmin | Role::Fulfiller)
}

#[derive(diesel::QueryableByName)]
struct Found {
    #[diesel(sql_type = Bool)]
    found: bool,
}

/// `NotFound` unless the caller can see the resource.
async fn check_visible(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    kind: Kind,
    id: Uuid,
) -> Result<(), WorkflowError> {
    let (scope_kind, scope_id) = scope_binds(caller.view_scope(kind)?);
    let f: Found = diesel::sql_query(format!(
        "SELECT EXISTS (SELECT 1 FROM {} WHERE {} AND id = $3) AS found",
        kind.table(),
        scope_sql(1)
    ))
    .bind::<Text, _>(scope_kind)
    .bind::<Nullable<SqlUuid>, _>(scope_id)
    .bind::<SqlUuid, _>(id)
    .get_result(conn)
    .await?;
    if f.found {
        Ok(())
    } else {
        Err(WorkflowError::NotFound)
    }
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    kind: Kind,
    id: Uuid,
) -> Result<Vec<Note>, WorkflowError> {
    check_visible(conn, caller, kind, id).await?;
    Ok(diesel::sql_query(
        "SELECT id, author_id, visibility, body, created_at FROM notes \
         WHERE object_type = $1 AND object_id = $2 AND ($3 OR visibility = 'partner_visible') \
         ORDER BY created_at, id",
    )
    .bind::<Text, _>(kind.as_str())
    .bind::<SqlUuid, _>(id)
    .bind::<Bool, _>(sees_internal(caller.role()))
    .load(conn)
    .await?)
}

pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    audit_ctx: &AuditContext,
    kind: Kind,
    id: Uuid,
    visibility: Visibility,
    body: &str,
) -> Result<Note, WorkflowError> {
    check_visible(conn, caller, kind, id).await?;
    let body = body.trim();
    let mut errors = FieldErrors::default();
    if body.is_empty() {
        errors.add("body", "required");
    } else if body.chars().count() > MAX_BODY {
        errors.add("body", "too_long");
    }
    if visibility == Visibility::Internal && !sees_internal(caller.role()) {
        errors.add("visibility", "not_allowed");
    }
    errors.into_result()?;
    // The note and its audit row commit together.
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        let note: Note = diesel::sql_query(
            "INSERT INTO notes (id, object_type, object_id, author_id, visibility, body) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, author_id, visibility, body, created_at",
        )
        .bind::<SqlUuid, _>(Uuid::now_v7())
        .bind::<Text, _>(kind.as_str())
        .bind::<SqlUuid, _>(id)
        .bind::<SqlUuid, _>(caller.who.user_id)
        .bind::<Text, _>(visibility.as_str())
        .bind::<Text, _>(body)
        .get_result(conn)
        .await?;
        audit::record(
            conn,
            audit_ctx.entry(
                "note.create",
                kind.as_str(),
                id,
                json!({ "note_id": note.id, "visibility": visibility.as_str() }),
            ),
        )
        .await?;
        Ok(note)
    })
    .await
}
