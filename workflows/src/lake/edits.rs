//! Local edits of canonical rows, and the conflicts a sync run found between a local
//! edit and a source change: listed, and decided.

use super::*;

#[derive(diesel::QueryableByName)]
pub(super) struct RowJson {
    #[diesel(sql_type = Jsonb)]
    pub(super) row: serde_json::Value,
}

/// Applies a local edit to a canonical row (admins): `changes` maps columns of the
/// entity to new values, converted by Postgres from JSON to each column's type. The row
/// is marked edited (`local_modified_at`), which the next sync that changes the record
/// in the source treats as a conflict.
pub async fn edit_canonical(
    conn: &mut AsyncPgConnection,
    actor: &Actor<'_>,
    entity: Entity,
    provider: &str,
    external_id: &str,
    changes: &serde_json::Map<String, serde_json::Value>,
) -> Result<serde_json::Value, WorkflowError> {
    actor
        .authz
        .authorize(actor.who, Object::Job, Action::Manage)?;
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
        crate::audit::record(
            conn,
            actor.audit.entry(
                "canonical.edit",
                entity.as_str(),
                format!("{provider}:{external_id}"),
                serde_json::json!({ "fields": changes.keys().collect::<Vec<_>>() }),
            ),
        )
        .await?;
        Ok(row.row)
    })
    .await
}

/// A JSON value Postgres cannot read as its column's type is the caller's mistake.
pub(super) fn bad_value(e: diesel::result::Error) -> WorkflowError {
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

pub(super) const CONFLICT_COLUMNS: &str = "id, sync_run_id, provider, entity, external_id, policy, local, remote, \
    resolution, resolved_at, created_at";

/// Conflicts, newest first, optionally of one resolution (admins).
pub async fn conflicts(
    conn: &mut AsyncPgConnection,
    authz: &Authorizer,
    who: &Principal,
    resolution: Option<&str>,
    cursor: Option<&str>,
    limit: i64,
) -> Result<crate::pagination::Page<Conflict>, WorkflowError> {
    authz.authorize(who, Object::Job, Action::View)?;
    if let Some(r) = resolution
        && !["pending", "source_applied", "local_kept"].contains(&r)
    {
        return Err(FieldErrors::single("resolution", "unknown_resolution"));
    }
    let before: Option<i64> = cursor.map(crate::pagination::decode).transpose()?;
    let rows: Vec<Conflict> = sql::query(format!(
        "SELECT {CONFLICT_COLUMNS} FROM sync_conflicts WHERE ($1::text IS NULL OR resolution = $1) \
           AND ($2::bigint IS NULL OR id < $2) \
         ORDER BY id DESC LIMIT $3"
    ))
    .bind(Bind::OptText(resolution.map(str::to_owned)))
    .bind(Bind::OptBigInt(before))
    .bind(Bind::BigInt(limit + 1))
    .load(conn)
    .await?;
    Ok(crate::pagination::Page::from_rows(rows, limit, |c| c.id))
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
    actor: &Actor<'_>,
    id: i64,
    keep: Keep,
) -> Result<Conflict, WorkflowError> {
    actor
        .authz
        .authorize(actor.who, Object::Job, Action::Manage)?;
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
        if c.entity == crate::sales::crm::CONFLICT_ENTITY {
            // A CRM change to a Tentabo lead: applied now, or the lead pushed back.
            crate::sales::crm::decide(conn, actor.authz, &c.provider, &c.remote, keep == Keep::Source)
                .await?;
        } else if keep == Keep::Source {
            let entity = Entity::parse(&c.entity).ok_or(WorkflowError::NotFound)?;
            let list = load::columns(entity)
                .iter()
                .map(|f| load::column(entity, f))
                .chain(["content_hash".to_owned()])
                .collect::<Vec<_>>()
                .join(", ");
            // The source's version over the current row: a column the stored version
            // does not name keeps its value; one it names as null where the lake
            // needs a value is refused (422), never a 500.
            sql::query(format!(
                "UPDATE {table} AS t SET ({list}) = (SELECT {list} FROM jsonb_populate_record(t, $3)), \
                     local_modified_at = NULL, last_synced_at = now() \
                 WHERE provider = $1 AND external_id = $2",
                table = entity.table()
            ))
            .bind(Bind::Text(c.provider.clone()))
            .bind(Bind::Text(c.external_id.clone()))
            .bind(Bind::Json(c.remote.clone()))
            .execute(conn)
            .await
            .map_err(|e| match e {
                diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::NotNullViolation,
                    info,
                ) => WorkflowError::Unprocessable {
                    code: "source_version_incomplete",
                    details: serde_json::json!({ "column": info.column_name() }),
                },
                e => e.into(),
            })?;
            if entity == Entity::Lead {
                crate::pipeline::request_refresh(conn, &c.provider, &format!("conflict:{id}")).await?;
            }
        }
        crate::audit::record(
            conn,
            actor.audit.entry(
                "conflict.resolve",
                "sync_conflict",
                id,
                serde_json::json!({ "keep": match keep { Keep::Source => "source", Keep::Local => "local" } }),
            ),
        )
        .await?;
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
        .bind(Bind::OptUuid(Some(actor.who.user_id)))
        .get_result(conn)
        .await?)
    })
    .await
}
