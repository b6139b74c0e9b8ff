//! Audit rows, written inside the caller's transaction so an action and its audit row
//! commit or roll back together.

use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use tentabo_schema::models::audit::NewAuditLog;
use tentabo_schema::schema::audit_logs;
use uuid::Uuid;

use crate::WorkflowError;

/// Who acts and from which request: attached to every audit row of that request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditContext {
    pub actor_id: Option<Uuid>,
    pub request_id: Option<String>,
    pub client_ip: Option<String>,
}

impl AuditContext {
    /// The operator's identity on audit rows written from the command line:
    /// `cli:$USER` as the request id.
    pub fn cli() -> AuditContext {
        let who = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
        AuditContext {
            actor_id: None,
            request_id: Some(format!("cli:{who}")),
            client_ip: None,
        }
    }

    pub fn entry(
        &self,
        action: &str,
        object_type: &str,
        object_id: impl ToString,
        mut details: Value,
    ) -> NewAuditLog {
        if let (Some(ip), Some(map)) = (&self.client_ip, details.as_object_mut()) {
            map.insert("client_ip".into(), Value::String(ip.clone()));
        }
        NewAuditLog {
            actor_id: self.actor_id,
            action: action.to_owned(),
            object_type: object_type.to_owned(),
            object_id: Some(object_id.to_string()),
            request_id: self.request_id.clone(),
            details,
        }
    }
}

/// Records something that happened without changing anything else (a failed login, a
/// refresh token presented twice), in a transaction of its own.
pub async fn event(conn: &mut AsyncPgConnection, entry: NewAuditLog) -> Result<(), WorkflowError> {
    use diesel_async::AsyncConnection;
    conn.transaction::<_, WorkflowError, _>(async |conn| record(conn, entry).await)
        .await
}

/// Writes an audit row — only inside a transaction: outside one it would commit alone,
/// and a failure of the change it records would leave an audit of nothing (or the
/// change committed first, with no audit). Called outside a transaction it refuses.
pub async fn record(conn: &mut AsyncPgConnection, entry: NewAuditLog) -> Result<(), WorkflowError> {
    use diesel_async::TransactionManager;
    let depth = <<AsyncPgConnection as diesel_async::AsyncConnection>::TransactionManager as TransactionManager<AsyncPgConnection>>::transaction_manager_status_mut(conn)
        .transaction_depth()
        .map_err(WorkflowError::from)?;
    if depth.is_none() {
        return Err(WorkflowError::Internal(format!(
            "audit row `{}` written outside a transaction",
            entry.action
        )));
    }
    diesel::insert_into(audit_logs::table)
        .values(&entry)
        .execute(conn)
        .await?;
    Ok(())
}

/// One audit row as readers see it: the actor's email beside their id.
#[derive(Debug, Clone, PartialEq, serde::Serialize, diesel::QueryableByName)]
pub struct AuditEntry {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub id: i64,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    pub actor_id: Option<Uuid>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub actor_email: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub action: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub object_type: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub object_id: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub request_id: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub details: Value,
}

/// Which audit rows to read (all given filters apply).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// The actor, by email (case-insensitive) or user id.
    pub actor: Option<String>,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub action: Option<String>,
    /// Rows older than this id (the keyset of the previous page).
    pub before: Option<i64>,
}

/// Audit rows, newest first, at most `limit`. 422 for a filter that cannot match
/// anything by its shape (blank, or longer than 200 characters).
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &AuditFilter,
    limit: i64,
) -> Result<Vec<AuditEntry>, WorkflowError> {
    let mut errors = crate::error::FieldErrors::default();
    for (name, value) in [
        ("actor", &filter.actor),
        ("object_type", &filter.object_type),
        ("object_id", &filter.object_id),
        ("action", &filter.action),
    ] {
        if let Some(v) = value {
            if v.trim().is_empty() {
                errors.add(name, "blank");
            } else if v.chars().count() > 200 {
                errors.add(name, "too_long");
            }
        }
    }
    errors.into_result()?;
    // No stored value holds a NUL (Postgres text cannot): such a filter matches nothing.
    let filters = [
        &filter.actor,
        &filter.object_type,
        &filter.object_id,
        &filter.action,
    ];
    if filters
        .iter()
        .any(|f| f.as_ref().is_some_and(|v| v.contains('\0')))
    {
        return Ok(Vec::new());
    }
    use crate::sql::{Bind, query};
    Ok(query(
        "SELECT a.id, a.occurred_at, a.actor_id, u.email AS actor_email, a.action, a.object_type, \
                a.object_id, a.request_id, a.details \
         FROM audit_logs a LEFT JOIN users u ON u.id = a.actor_id \
         WHERE ($1::text IS NULL OR lower(u.email) = lower($1) OR a.actor_id::text = $1) \
           AND ($2::text IS NULL OR a.object_type = $2) \
           AND ($3::text IS NULL OR a.object_id = $3) \
           AND ($4::text IS NULL OR a.action = $4) \
           AND ($5::bigint IS NULL OR a.id < $5) \
         ORDER BY a.id DESC LIMIT $6",
    )
    .bind(Bind::OptText(
        filter.actor.as_ref().map(|s| s.trim().to_owned()),
    ))
    .bind(Bind::OptText(filter.object_type.clone()))
    .bind(Bind::OptText(filter.object_id.clone()))
    .bind(Bind::OptText(filter.action.clone()))
    .bind(Bind::OptBigInt(filter.before))
    .bind(Bind::BigInt(limit))
    .load(conn)
    .await?)
}
