//! Runs as ops see them: the run log, requesting a run, the run list and one run, the
//! lake's health per zone.

use super::*;

pub(super) async fn log(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    level: &str,
    message: &str,
    details: serde_json::Value,
) -> Result<(), WorkflowError> {
    sql::query(
        "INSERT INTO provider_sync_logs (sync_run_id, level, message, details) VALUES ($1, $2, $3, $4)",
    )
    .bind(Bind::Uuid(run_id))
    .bind(Bind::Text(level.to_owned()))
    .bind(Bind::Text(message.to_owned()))
    .bind(Bind::Json(details))
    .execute(conn)
    .await?;
    Ok(())
}

/// Why a provider and entity name no source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownSource {
    Provider,
    Entity,
}

/// The providers a sync can be asked of, and the entities each takes.
pub const SYNC_SOURCES: [(&str, &[&str]); 3] = [
    (
        PROVIDER,
        &["organization", "contact", "lead", "order", "product"],
    ),
    (crate::pipeline::pennylane::PROVIDER, &["invoice"]),
    (
        crate::pipeline::pipedrive::PROVIDER,
        &["lead", "lead_inbox", "contact", "organization", "activity"],
    ),
];

/// The source object a sync of `entity` from `provider` reads: Odoo's model, Pennylane's
/// customer invoices, Pipedrive's deals, leads, persons, organizations or activities.
pub fn source_of(provider: &str, entity: &str) -> Result<&'static str, UnknownSource> {
    use crate::pipeline::{Entity, odoo, pennylane, pipedrive};
    match provider {
        PROVIDER => Entity::parse(entity).and_then(odoo::model_of),
        pennylane::PROVIDER => {
            (Entity::parse(entity) == Some(Entity::Invoice)).then_some(pennylane::SOURCE)
        }
        pipedrive::PROVIDER => pipedrive::Source::of_entity(entity).map(|s| s.as_str()),
        _ => return Err(UnknownSource::Provider),
    }
    .ok_or(UnknownSource::Entity)
}

/// Asks for a run: the run row and its job's outbox row commit together. A `key`
/// already used (the same schedule tick, seen by another process) is a conflict
/// (`sync_already_scheduled`) and leaves nothing behind.
pub async fn request(
    conn: &mut AsyncPgConnection,
    model: &str,
    mode: Mode,
    requested_by: Option<Uuid>,
    key: Option<String>,
) -> Result<Uuid, WorkflowError> {
    request_for(conn, PROVIDER, model, mode, requested_by, key).await
}

/// [`request`] for any provider's source.
pub async fn request_for(
    conn: &mut AsyncPgConnection,
    provider: &str,
    model: &str,
    mode: Mode,
    requested_by: Option<Uuid>,
    key: Option<String>,
) -> Result<Uuid, WorkflowError> {
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        let id = super::create_for(conn, provider, model, mode, requested_by).await?;
        let queued = crate::jobs::enqueue(
            conn,
            &[crate::jobs::JobRequest::new(
                &crate::jobs::payloads::SyncRun { run_id: id },
                key.unwrap_or_else(|| format!("sync_run:{id}")),
            )],
        )
        .await?;
        // The key was used already (a schedule's tick seen by another worker process,
        // whose run may have ended): this run would have no job. Nothing is kept.
        if queued.is_empty() {
            return Err(WorkflowError::Conflict {
                code: "sync_already_scheduled",
                message: "this sync was scheduled already".into(),
            });
        }
        Ok(id)
    })
    .await
}

/// Ends a run that cannot start (its provider is not configured, say) `failed` with
/// `error`, so it neither waits forever nor blocks the entity's next run. A run that
/// already ended is left alone.
pub async fn abandon(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    error: &str,
) -> Result<(), WorkflowError> {
    sql::query(
        "UPDATE sync_runs SET status = 'failed', error = $2, finished_at = now() \
         WHERE id = $1 AND status IN ('queued', 'running')",
    )
    .bind(Bind::Uuid(id))
    .bind(Bind::Text(error.to_owned()))
    .execute(conn)
    .await?;
    Ok(())
}

/// A sync run as ops see it.
#[derive(Debug, Clone, PartialEq, Serialize, diesel::QueryableByName)]
pub struct RunView {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub provider: String,
    #[diesel(sql_type = Text)]
    pub entity: String,
    #[diesel(sql_type = Text)]
    pub mode: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Nullable<diesel::sql_types::Timestamptz>)]
    pub started_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Timestamptz>)]
    pub finished_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<diesel::sql_types::BigInt>)]
    pub estimate: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub fetched: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub unchanged: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub loaded: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub quarantined: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub deleted: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub conflicts: i64,
    /// Records loaded with warnings.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub warned: i64,
    /// Warned records per code.
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub warnings: serde_json::Value,
    /// Quarantined records per reason code.
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub quarantine_reasons: serde_json::Value,
    /// Microseconds per stage of the last attempt.
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub timings: serde_json::Value,
    #[diesel(sql_type = Nullable<Text>)]
    pub error: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub created_at: DateTime<Utc>,
}

pub(super) const RUN_COLUMNS: &str = "id, provider, entity, mode, status, started_at, finished_at, estimate, \
    fetched, unchanged, loaded, quarantined, deleted, conflicts, warned, warnings, quarantine_reasons, \
    timings, error, created_at";

/// The most recent runs, newest first.
/// Runs, newest first, a page at a time (`cursor` from the previous page's
/// `next_cursor`: the last run's creation time and id).
pub async fn recent(
    conn: &mut AsyncPgConnection,
    cursor: Option<&str>,
    limit: i64,
) -> Result<crate::pagination::Page<RunView>, WorkflowError> {
    let after: Option<(DateTime<Utc>, Uuid)> = cursor.map(crate::pagination::decode).transpose()?;
    let rows: Vec<RunView> = sql::query(format!(
        "SELECT {RUN_COLUMNS} FROM sync_runs \
         WHERE $1::timestamptz IS NULL OR (created_at, id) < ($1, $2) \
         ORDER BY created_at DESC, id DESC LIMIT $3"
    ))
    .bind(Bind::OptTime(after.map(|a| a.0)))
    .bind(Bind::OptUuid(after.map(|a| a.1)))
    .bind(Bind::BigInt(limit + 1))
    .load(conn)
    .await?;
    Ok(crate::pagination::Page::from_rows(rows, limit, |r| {
        (r.created_at, r.id)
    }))
}

pub async fn get(conn: &mut AsyncPgConnection, id: Uuid) -> Result<RunView, WorkflowError> {
    sql::query(format!("SELECT {RUN_COLUMNS} FROM sync_runs WHERE id = $1"))
        .bind(Bind::Uuid(id))
        .get_result(conn)
        .await
        .map_err(crate::error::not_found)
}

/// Per zone: how many rows, and when the newest arrived.
#[derive(Debug, Clone, PartialEq, Serialize, diesel::QueryableByName)]
pub struct ZoneHealth {
    #[diesel(sql_type = Text)]
    pub zone: String,
    #[diesel(sql_type = Text)]
    pub table: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub rows: i64,
    #[diesel(sql_type = Nullable<diesel::sql_types::Timestamptz>)]
    pub newest: Option<DateTime<Utc>>,
}

pub async fn lake_health(conn: &mut AsyncPgConnection) -> Result<Vec<ZoneHealth>, WorkflowError> {
    let mut parts = vec![
        "SELECT 'raw' AS zone, 'raw_records' AS \"table\", count(*) AS rows, max(fetched_at) AS newest FROM raw_records".to_owned(),
        "SELECT 'quarantine', 'quarantine', count(*), max(created_at) FROM quarantine".to_owned(),
    ];
    for e in Entity::ALL {
        parts.push(format!(
            "SELECT 'canonical', '{t}', count(*) FILTER (WHERE deleted_at IS NULL), max(last_synced_at) FROM {t}",
            t = e.table()
        ));
    }
    parts.push(
        "SELECT 'serving', 'serving_pipeline', count(*), max(refreshed_at) FROM serving_pipeline"
            .to_owned(),
    );
    parts.push("SELECT 'serving', 'serving_won_revenue', count(*), max(refreshed_at) FROM serving_won_revenue".to_owned());
    parts.push("SELECT 'serving', 'serving_contract_revenue', count(*), max(refreshed_at) FROM serving_contract_revenue".to_owned());
    Ok(sql::query(parts.join(" UNION ALL ")).load(conn).await?)
}
