//! One `provider_call_log` row per outbound attempt, written off the call path: the
//! caller hands the row to a bounded channel and goes on; a background task writes
//! batches (one statement per batch). When the writer falls behind and the channel is
//! full, rows are dropped and counted (`tentabo_provider_call_log_dropped_total`)
//! rather than slowing calls down. Rows carry no body and no header: provider, method,
//! the path *template*, status, outcome, latency, attempt, job id and request id.

use chrono::{DateTime, Utc};
use diesel_async::RunQueryDsl;
use serde::Serialize;
use tentabo_schema::DbPool;
use tokio::sync::{mpsc, oneshot};

use crate::sql::{self, Bind};

#[derive(Debug, Clone, Serialize)]
pub struct CallRecord {
    pub provider: String,
    pub method: String,
    pub path: &'static str,
    pub status: Option<u16>,
    pub outcome: &'static str,
    pub latency_us: i64,
    pub attempt: u32,
    pub job_id: Option<i64>,
    pub request_id: Option<String>,
    pub called_at: DateTime<Utc>,
}

enum Msg {
    Row(CallRecord),
    Flush(oneshot::Sender<()>),
}

/// The sending side; cheap to clone.
#[derive(Clone, Debug)]
pub struct CallLog {
    tx: Option<mpsc::Sender<Msg>>,
}

const BATCH: usize = 2_048;

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("call-log message")
    }
}

impl CallLog {
    /// A log that writes nothing (clients built without a database, unit tests).
    pub fn disabled() -> CallLog {
        CallLog { tx: None }
    }

    /// Starts the writer task on the current runtime.
    pub fn start(db: DbPool, capacity: usize) -> CallLog {
        let (tx, rx) = mpsc::channel(capacity.max(BATCH));
        tokio::spawn(write_loop(db, rx));
        CallLog { tx: Some(tx) }
    }

    pub fn record(&self, row: CallRecord) {
        let Some(tx) = &self.tx else { return };
        if tx.try_send(Msg::Row(row)).is_err() {
            metrics::counter!("tentabo_provider_call_log_dropped_total").increment(1);
        }
    }

    /// Waits until every row handed over before this call is written.
    pub async fn flush(&self) {
        let Some(tx) = &self.tx else { return };
        let (done, wait) = oneshot::channel();
        if tx.send(Msg::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

async fn write_loop(db: DbPool, mut rx: mpsc::Receiver<Msg>) {
    let mut rows = Vec::with_capacity(BATCH);
    let mut flushes = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Row(r) => rows.push(r),
                Msg::Flush(done) => flushes.push(done),
            }
            if rows.len() < BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !rows.is_empty() {
            if let Err(e) = write(&db, &rows).await {
                metrics::counter!("tentabo_provider_call_log_dropped_total")
                    .increment(rows.len() as u64);
                tracing::warn!(error = %e, rows = rows.len(), "call-log rows not written");
            }
            rows.clear();
        }
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
    }
}

async fn write(db: &DbPool, rows: &[CallRecord]) -> Result<(), crate::WorkflowError> {
    let mut conn = db.get().await?;
    let texts = |f: fn(&CallRecord) -> String| Bind::Texts(rows.iter().map(f).collect());
    // One array per column (`unnest`): one statement, a few binds, however many rows.
    sql::query(
        "INSERT INTO provider_call_log (provider, method, path, status, outcome, latency_us, \
             attempt, job_id, request_id, called_at) \
         SELECT provider, method, path, status::integer, outcome, latency_us, attempt::integer, \
             job_id, request_id, called_at \
         FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::bigint[], \
             $7::bigint[], $8::bigint[], $9::text[], $10::timestamptz[]) \
             AS r(provider, method, path, status, outcome, latency_us, attempt, job_id, request_id, called_at)",
    )
    .bind(texts(|r| r.provider.clone()))
    .bind(texts(|r| r.method.clone()))
    .bind(texts(|r| r.path.to_owned()))
    .bind(Bind::OptBigInts(rows.iter().map(|r| r.status.map(i64::from)).collect()))
    .bind(texts(|r| r.outcome.to_owned()))
    .bind(Bind::BigInts(rows.iter().map(|r| r.latency_us).collect()))
    .bind(Bind::BigInts(rows.iter().map(|r| i64::from(r.attempt)).collect()))
    .bind(Bind::OptBigInts(rows.iter().map(|r| r.job_id).collect()))
    .bind(Bind::OptTexts(rows.iter().map(|r| r.request_id.clone()).collect()))
    .bind(Bind::OptTimes(rows.iter().map(|r| Some(r.called_at)).collect()))
    .execute(&mut conn)
    .await?;
    Ok(())
}

/// Deletes rows older than `keep_days`; answers how many went.
pub async fn prune(
    conn: &mut diesel_async::AsyncPgConnection,
    keep_days: i32,
) -> Result<usize, crate::WorkflowError> {
    Ok(sql::query(
        "DELETE FROM provider_call_log WHERE called_at < now() - make_interval(days => $1)",
    )
    .bind(Bind::Int(keep_days))
    .execute(conn)
    .await?)
}
