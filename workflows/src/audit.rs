//! Audit rows, written inside the caller's transaction so an action and its audit row
//! commit or roll back together.

use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tentabo_schema::models::audit::NewAuditLog;
use tentabo_schema::schema::audit_logs;

use crate::WorkflowError;

pub async fn record(conn: &mut AsyncPgConnection, entry: NewAuditLog) -> Result<(), WorkflowError> {
    diesel::insert_into(audit_logs::table)
        .values(&entry)
        .execute(conn)
        .await?;
    Ok(())
}
