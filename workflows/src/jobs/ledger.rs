//! The outbox ledger: rows written in the transaction that causes them, claimed by the
//! relay, started and finished by the worker. The attempt cap, the backoff and the
//! dead-letter state live here, not in the queue.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::ExpressionMethods;
use diesel::sql_types::{BigInt, Integer, Interval, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tentabo_schema::models::outbox::NewOutboxRow;
use tentabo_schema::schema::outbox;

use super::{JobEnvelope, JobRequest};
use crate::WorkflowError;
use crate::retry::RetryPolicy;
use crate::sql::{self, Bind};

/// Writes outbox rows inside the caller's transaction. A key already present is left
/// as it is (the effect was already requested). Returns the ids of the new rows.
pub async fn enqueue(
    conn: &mut AsyncPgConnection,
    jobs: &[JobRequest],
) -> Result<Vec<i64>, WorkflowError> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<NewOutboxRow> = jobs
        .iter()
        .map(|j| NewOutboxRow {
            queue: j.kind.queue().to_owned(),
            payload: j.payload.clone(),
            idempotency_key: j.idempotency_key.clone(),
            max_attempts: j.kind.max_attempts(),
        })
        .collect();
    let mut ids = Vec::with_capacity(rows.len());
    // Postgres caps a statement at 65,535 bind parameters; 4 per row.
    for chunk in rows.chunks(10_000) {
        let mut chunk_ids: Vec<i64> = diesel::insert_into(outbox::table)
            .values(chunk)
            .on_conflict(outbox::idempotency_key)
            .do_nothing()
            .returning(outbox::id)
            .get_results(conn)
            .await?;
        ids.append(&mut chunk_ids);
    }
    Ok(ids)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
}

impl Claimed {
    pub fn envelope(&self) -> JobEnvelope {
        JobEnvelope {
            outbox_id: self.id,
            attempt: self.attempts,
        }
    }
}

fn interval(d: Duration) -> diesel::pg::data_types::PgInterval {
    diesel::pg::data_types::PgInterval::from_microseconds(
        i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
    )
}

/// The queues among `queues` that have a due, unclaimed pending row: one index probe per
/// queue, in one statement, so an idle relay costs one cheap query per round.
pub async fn due_queues(
    conn: &mut AsyncPgConnection,
    queues: &[&str],
) -> Result<Vec<String>, WorkflowError> {
    #[derive(diesel::QueryableByName)]
    struct Due {
        #[diesel(sql_type = Text)]
        queue: String,
    }
    let names: Vec<String> = queues.iter().map(|q| (*q).to_owned()).collect();
    let rows: Vec<Due> = sql::query(
        "SELECT q AS queue FROM unnest($1::text[]) AS q \
         WHERE EXISTS (SELECT 1 FROM outbox \
             WHERE queue = q AND status = 'pending' AND available_at <= now() \
               AND (claimed_until IS NULL OR claimed_until < now()))",
    )
    .bind(Bind::Texts(names.clone()))
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|d| d.queue).collect())
}

/// Claims up to `limit` due rows of one queue for `relay_id` for `lease`. The claim
/// commits at once (autocommit statement) so the queue push that follows happens
/// outside any transaction; a relay that dies keeps its rows only until the lease ends.
pub async fn claim_due(
    conn: &mut AsyncPgConnection,
    queue: &str,
    relay_id: &str,
    limit: i64,
    lease: Duration,
) -> Result<Vec<Claimed>, WorkflowError> {
    if limit <= 0 {
        return Ok(Vec::new());
    }
    let rows = sql::query(
        "UPDATE outbox SET claimed_by = $1, claimed_until = now() + $2 \
         WHERE id IN ( \
             SELECT id FROM outbox \
             WHERE queue = $3 AND status = 'pending' AND available_at <= now() \
               AND (claimed_until IS NULL OR claimed_until < now()) \
             ORDER BY available_at, id \
             LIMIT $4 \
             FOR UPDATE SKIP LOCKED) \
         RETURNING id, attempts",
    )
    .bind(Bind::Text(relay_id.to_string()))
    .bind(Bind::Interval(interval(lease)))
    .bind(Bind::Text(queue.to_string()))
    .bind(Bind::BigInt(limit))
    .load::<Claimed>(conn)
    .await?;
    Ok(rows)
}

/// Marks claimed rows as handed to the queue. Rows a job already started are left alone.
pub async fn mark_enqueued(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
    relay_id: &str,
) -> Result<usize, WorkflowError> {
    let n = sql::query(
        "UPDATE outbox SET status = 'enqueued', enqueued_at = now(), \
                claimed_by = NULL, claimed_until = NULL \
         WHERE id = ANY($1) AND claimed_by = $2 AND status = 'pending'",
    )
    .bind(Bind::BigInts(ids.to_vec()))
    .bind(Bind::Text(relay_id.to_string()))
    .execute(conn)
    .await?;
    Ok(n)
}

/// Gives claimed rows back at once (the push failed), so another relay can take them.
pub async fn release_claims(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
    relay_id: &str,
) -> Result<usize, WorkflowError> {
    let n = diesel::update(outbox::table)
        .filter(outbox::id.eq_any(ids))
        .filter(outbox::claimed_by.eq(relay_id))
        .set((
            outbox::claimed_by.eq(None::<String>),
            outbox::claimed_until.eq(None::<DateTime<Utc>>),
        ))
        .execute(conn)
        .await?;
    Ok(n)
}

/// Rows that were handed to the queue long ago but never started (the queue lost them,
/// e.g. Redis restarted without persistence) and runs that never finished (the worker
/// died) go back to pending. A delivery still in the queue is re-pushed under the same
/// delivery key, which the queue ignores; a job that did start ignores a stale delivery.
pub async fn sweep_stalled(
    conn: &mut AsyncPgConnection,
    redeliver_after: Duration,
    run_timeout: Duration,
) -> Result<usize, WorkflowError> {
    let requeued = diesel::sql_query(
        "UPDATE outbox SET status = 'pending', available_at = now() \
         WHERE status = 'enqueued' AND enqueued_at < now() - $1",
    )
    .bind::<Interval, _>(interval(redeliver_after))
    .execute(conn)
    .await?;
    let timed_out = diesel::sql_query(
        "UPDATE outbox SET \
            status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'pending' END, \
            finished_at = CASE WHEN attempts >= max_attempts THEN now() END, \
            available_at = now(), last_error = 'run timed out (worker lost?)' \
         WHERE status = 'running' AND started_at < now() - $1",
    )
    .bind::<Interval, _>(interval(run_timeout))
    .execute(conn)
    .await?;
    Ok(requeued + timed_out)
}

/// A job run that may proceed: its row and the payload to act on.
#[derive(Debug, Clone, PartialEq, diesel::QueryableByName)]
pub struct StartedJob {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub queue: String,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub payload: serde_json::Value,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Integer)]
    pub max_attempts: i32,
    #[diesel(sql_type = Text)]
    pub idempotency_key: String,
}

/// Renews a running attempt's lease: the sweep hands a job back only when its worker
/// stopped renewing (it died), not because the job is long (a large sync run).
pub async fn renew_lease(
    conn: &mut AsyncPgConnection,
    id: i64,
    attempt: i32,
) -> Result<bool, WorkflowError> {
    let n = crate::sql::query(
        "UPDATE outbox SET started_at = now() WHERE id = $1 AND status = 'running' AND attempts = $2",
    )
    .bind(crate::sql::Bind::BigInt(id))
    .bind(crate::sql::Bind::Int(attempt))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Starts a delivery. Returns `None` when there is nothing to do: the row is gone, is
/// already done or dead, is running elsewhere, or this delivery is stale.
pub async fn start_attempt(
    conn: &mut AsyncPgConnection,
    envelope: JobEnvelope,
) -> Result<Option<StartedJob>, WorkflowError> {
    let row = sql::query(
        "UPDATE outbox SET status = 'running', attempts = attempts + 1, started_at = now(), \
                claimed_by = NULL, claimed_until = NULL \
         WHERE id = $1 AND attempts = $2 AND status IN ('pending', 'enqueued') \
         RETURNING id, queue, payload, attempts, max_attempts, idempotency_key",
    )
    .bind(Bind::BigInt(envelope.outbox_id))
    .bind(Bind::Int(envelope.attempt))
    .get_result::<StartedJob>(conn)
    .await;
    match row {
        Ok(job) => Ok(Some(job)),
        Err(diesel::result::Error::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Done,
    /// Worth trying again later (network, 5xx, 429, lock timeout …).
    Retry(String),
    /// Will never succeed (bad payload, refused by the provider): dead-letter now.
    Fail(String),
}

/// What [`finish_attempt`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Done,
    RetryAt(DateTime<Utc>),
    Dead,
}

/// Records the end of a run: done, a retry after the policy's backoff, or dead once the
/// attempt cap is reached.
pub async fn finish_attempt(
    conn: &mut AsyncPgConnection,
    job: &StartedJob,
    outcome: &JobOutcome,
    policy: &RetryPolicy,
) -> Result<Settled, WorkflowError> {
    let (status, error, available_at, settled) = match outcome {
        JobOutcome::Done => ("done", None, None, Settled::Done),
        JobOutcome::Fail(e) => ("dead", Some(e.as_str()), None, Settled::Dead),
        JobOutcome::Retry(e) if job.attempts >= job.max_attempts => {
            ("dead", Some(e.as_str()), None, Settled::Dead)
        }
        JobOutcome::Retry(e) => {
            let delay = policy.delay_after(u32::try_from(job.attempts).unwrap_or(1));
            let at =
                Utc::now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
            ("pending", Some(e.as_str()), Some(at), Settled::RetryAt(at))
        }
    };
    sql::query(
        "UPDATE outbox SET status = $2, last_error = COALESCE($3, last_error), \
                available_at = COALESCE($4, available_at), \
                finished_at = CASE WHEN $2 IN ('done', 'dead') THEN now() END \
         WHERE id = $1 AND status = 'running'",
    )
    .bind(Bind::BigInt(job.id))
    .bind(Bind::Text(status.to_string()))
    .bind(Bind::OptText(error.map(str::to_owned)))
    .bind(Bind::OptTime(available_at))
    .execute(conn)
    .await?;
    Ok(settled)
}
