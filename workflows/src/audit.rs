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
