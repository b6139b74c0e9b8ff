//! What ops see and do with jobs: counts per queue and state, recent failures, retry
//! and discard.

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::JobKind;
use crate::WorkflowError;

// ── operations: what ops see and do (the ledger is the source of these figures; the
// apalis-redis metrics APIs fail at run time, see docs/ARCHITECTURE.md) ────────────

/// Jobs of one queue by state. `enqueued` is what waits in Redis (handed over, not
/// started); `pending` waits in Postgres (new, or a retry not yet due).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct QueueCounts {
    pub queue: String,
    pub pending: i64,
    pub retrying: i64,
    pub enqueued: i64,
    pub running: i64,
    pub dead: i64,
    pub discarded: i64,
}

#[derive(diesel::QueryableByName)]
struct StatusCount {
    #[diesel(sql_type = Text)]
    queue: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    retrying: bool,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Counts per queue and state for every registered queue (finished jobs are left out:
/// their rate is the `jobs_finished_total` metric).
pub async fn queue_counts(conn: &mut AsyncPgConnection) -> Result<Vec<QueueCounts>, WorkflowError> {
    let rows: Vec<StatusCount> = diesel::sql_query(
        "SELECT queue, status, attempts > 0 AS retrying, count(*) AS n FROM outbox \
         WHERE status IN ('pending', 'enqueued', 'running', 'dead', 'discarded') \
         GROUP BY queue, status, attempts > 0",
    )
    .load(conn)
    .await?;
    let mut out: Vec<QueueCounts> = JobKind::ALL
        .iter()
        .map(|k| QueueCounts {
            queue: k.queue().to_owned(),
            ..Default::default()
        })
        .collect();
    for r in rows {
        let idx = match out.iter().position(|q| q.queue == r.queue) {
            Some(i) => i,
            None => {
                out.push(QueueCounts {
                    queue: r.queue.clone(),
                    ..Default::default()
                });
                out.len() - 1
            }
        };
        let q = &mut out[idx];
        match (r.status.as_str(), r.retrying) {
            ("pending", true) => q.retrying += r.n,
            ("pending", false) => q.pending += r.n,
            ("enqueued", _) => q.enqueued += r.n,
            ("running", _) => q.running += r.n,
            ("dead", _) => q.dead += r.n,
            ("discarded", _) => q.discarded += r.n,
            _ => {}
        }
    }
    Ok(out)
}

/// A job as the ops API shows it (never its payload: ids only, but still not needed).
#[derive(Debug, Clone, PartialEq, Eq, diesel::QueryableByName, serde::Serialize)]
pub struct JobSummary {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub queue: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Integer)]
    pub max_attempts: i32,
    #[diesel(sql_type = Nullable<Text>)]
    pub last_error: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub available_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub finished_at: Option<DateTime<Utc>>,
}

const SUMMARY: &str =
    "id, queue, status, attempts, max_attempts, last_error, created_at, available_at, finished_at";

/// Recent failures: dead and discarded jobs, and jobs waiting for a retry; newest first,
/// `before` an id for the next page.
pub async fn failures(
    conn: &mut AsyncPgConnection,
    queue: Option<&str>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<JobSummary>, WorkflowError> {
    Ok(diesel::sql_query(format!(
        "SELECT {SUMMARY} FROM outbox \
         WHERE (status IN ('dead', 'discarded') OR (status = 'pending' AND attempts > 0)) \
           AND ($1::text IS NULL OR queue = $1) AND ($2::bigint IS NULL OR id < $2) \
         ORDER BY id DESC LIMIT $3"
    ))
    .bind::<Nullable<Text>, _>(queue)
    .bind::<Nullable<BigInt>, _>(before)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?)
}

/// How long the oldest job due to run has waited for it (seconds; 0 when none waits):
/// the outbox's lag.
pub async fn outbox_lag_seconds(conn: &mut AsyncPgConnection) -> Result<f64, WorkflowError> {
    #[derive(diesel::QueryableByName)]
    struct Lag {
        #[diesel(sql_type = diesel::sql_types::Double)]
        seconds: f64,
    }
    let lag: Lag = diesel::sql_query(
        "SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(available_at)), 0)::float8 AS seconds \
         FROM outbox WHERE status = 'pending' AND available_at <= now()",
    )
    .get_result(conn)
    .await?;
    Ok(lag.seconds.max(0.0))
}

/// The newest `limit` jobs (of `queue`, if given), oldest first: the end of the job log,
/// as `tail` prints a file's.
pub async fn tail(
    conn: &mut AsyncPgConnection,
    queue: Option<&str>,
    limit: i64,
) -> Result<Vec<JobSummary>, WorkflowError> {
    let mut jobs: Vec<JobSummary> = diesel::sql_query(format!(
        "SELECT {SUMMARY} FROM outbox WHERE ($1::text IS NULL OR queue = $1) ORDER BY id DESC LIMIT $2"
    ))
    .bind::<Nullable<Text>, _>(queue)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    jobs.reverse();
    Ok(jobs)
}

/// For following the job log: jobs created after `after` (id order, at most `limit`)
/// and, among `watched`, those whose status or attempt count is no longer the one given.
pub async fn changes(
    conn: &mut AsyncPgConnection,
    queue: Option<&str>,
    after: i64,
    watched: &[(i64, String, i32)],
    limit: i64,
) -> Result<(Vec<JobSummary>, Vec<JobSummary>), WorkflowError> {
    let new: Vec<JobSummary> = diesel::sql_query(format!(
        "SELECT {SUMMARY} FROM outbox WHERE id > $1 AND ($2::text IS NULL OR queue = $2) ORDER BY id LIMIT $3"
    ))
    .bind::<BigInt, _>(after)
    .bind::<Nullable<Text>, _>(queue)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    if watched.is_empty() {
        return Ok((new, Vec::new()));
    }
    let ids: Vec<i64> = watched.iter().map(|w| w.0).collect();
    let current: Vec<JobSummary> = diesel::sql_query(format!(
        "SELECT {SUMMARY} FROM outbox WHERE id = ANY($1) ORDER BY id"
    ))
    .bind::<diesel::sql_types::Array<BigInt>, _>(ids)
    .load(conn)
    .await?;
    let changed = current
        .into_iter()
        .filter(|j| {
            watched.iter().any(|(id, status, attempts)| {
                *id == j.id && (*status != j.status || *attempts != j.attempts)
            })
        })
        .collect();
    Ok((new, changed))
}

/// Gives a dead or discarded job one more attempt, now.
pub async fn retry(
    conn: &mut AsyncPgConnection,
    audit_ctx: &crate::audit::AuditContext,
    id: i64,
) -> Result<JobSummary, WorkflowError> {
    change_status(
        conn,
        audit_ctx,
        "job_retried",
        id,
        "UPDATE outbox SET status = 'pending', max_attempts = attempts + 1, available_at = now(), finished_at = NULL \
         WHERE id = $1 AND status IN ('dead', 'discarded')",
        "job_not_retryable",
    )
    .await
}

/// Stops a dead job or one waiting for a retry from ever running again.
pub async fn discard(
    conn: &mut AsyncPgConnection,
    audit_ctx: &crate::audit::AuditContext,
    id: i64,
) -> Result<JobSummary, WorkflowError> {
    change_status(
        conn,
        audit_ctx,
        "job_discarded",
        id,
        "UPDATE outbox SET status = 'discarded', finished_at = now() \
         WHERE id = $1 AND (status = 'dead' OR (status = 'pending' AND attempts > 0))",
        "job_not_discardable",
    )
    .await
}

/// The status change and its audit row, in one transaction.
async fn change_status(
    conn: &mut AsyncPgConnection,
    audit_ctx: &crate::audit::AuditContext,
    action: &str,
    id: i64,
    sql: &str,
    refused: &'static str,
) -> Result<JobSummary, WorkflowError> {
    use diesel_async::AsyncConnection;
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        let job = change_status_in(conn, id, sql, refused).await?;
        crate::audit::record(
            conn,
            audit_ctx.entry(action, "job", id, serde_json::json!({ "queue": job.queue })),
        )
        .await?;
        Ok(job)
    })
    .await
}

async fn change_status_in(
    conn: &mut AsyncPgConnection,
    id: i64,
    sql: &str,
    refused: &'static str,
) -> Result<JobSummary, WorkflowError> {
    let changed = diesel::sql_query(format!("{sql} RETURNING {SUMMARY}"))
        .bind::<BigInt, _>(id)
        .get_result::<JobSummary>(conn)
        .await;
    match changed {
        Ok(job) => Ok(job),
        Err(diesel::result::Error::NotFound) => {
            let exists: Option<JobSummary> =
                diesel::sql_query(format!("SELECT {SUMMARY} FROM outbox WHERE id = $1"))
                    .bind::<BigInt, _>(id)
                    .get_result(conn)
                    .await
                    .map(Some)
                    .or_else(|e| {
                        if matches!(e, diesel::result::Error::NotFound) {
                            Ok(None)
                        } else {
                            Err(e)
                        }
                    })?;
            match exists {
                Some(job) => Err(WorkflowError::Conflict {
                    code: refused,
                    message: format!("the job is {}", job.status),
                }),
                None => Err(WorkflowError::NotFound),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// One job of the ledger (`NotFound` when there is none of that id).
pub async fn job(conn: &mut AsyncPgConnection, id: i64) -> Result<JobSummary, WorkflowError> {
    diesel::sql_query(format!("SELECT {SUMMARY} FROM outbox WHERE id = $1"))
        .bind::<BigInt, _>(id)
        .get_result::<JobSummary>(conn)
        .await
        .map_err(crate::error::not_found)
}
