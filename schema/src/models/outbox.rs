use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::schema::outbox;

/// A job's ledger state. Stored as text; the CHECK constraint `outbox_status_known`
/// lists the same values.
pub mod status {
    pub const PENDING: &str = "pending";
    pub const ENQUEUED: &str = "enqueued";
    pub const RUNNING: &str = "running";
    pub const DONE: &str = "done";
    pub const DEAD: &str = "dead";
    pub const DISCARDED: &str = "discarded";
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = outbox)]
pub struct NewOutboxRow {
    pub queue: String,
    pub payload: serde_json::Value,
    pub idempotency_key: String,
    pub max_attempts: i32,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox, check_for_backend(diesel::pg::Pg))]
pub struct OutboxRow {
    pub id: i64,
    pub queue: String,
    pub payload: serde_json::Value,
    pub idempotency_key: String,
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub available_at: DateTime<Utc>,
    pub claimed_by: Option<String>,
    pub claimed_until: Option<DateTime<Utc>>,
    pub enqueued_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}
