//! Starting the real worker (relay + queue workers) in a test, with fast intervals.
#![allow(dead_code, clippy::unwrap_used)]

use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use secrecy::SecretString;
use tentabo_worker::WorkerHandle;
use tentabo_worker::config::WorkerConfig;
use tentabo_workflows::jobs::{JobKind, JobRequest};
use tokio_util::sync::CancellationToken;

/// The key ring tests seal credentials with (a fixed, test-only key).
pub const TEST_SECRETS_KEY: &str = "test:dGVzdC1vbmx5LXNlY3JldHMta2V5LTMyLWJ5dGVzISE=";

pub fn worker_config(database_url: &str, redis_url: &str, namespace: &str) -> WorkerConfig {
    WorkerConfig {
        database_url: SecretString::from(database_url.to_owned()),
        database_pool_size: 8,
        redis_url: SecretString::from(redis_url.to_owned()),
        namespace: namespace.to_owned(),
        concurrency: 32,
        backlog_limit: 2_000,
        relay_batch: 500,
        relay_interval_ms: 10,
        poll_interval_ms: 10,
        redeliver_after_secs: 120,
        run_timeout_secs: 900,
        retry_initial_ms: 20,
        retry_max_secs: 1,
        metrics_bind: None,
        secrets_key: Some(SecretString::from(TEST_SECRETS_KEY.to_owned())),
        crm_provider: "recording".to_owned(),
        billing_provider: "recording".to_owned(),
        contract_expiry_days: 30,
        contract_expiry_schedule: "0 0 2 * * *".to_owned(),
        renewal_mode: "draft".to_owned(),
        sentry_dsn: None,
        environment: "test".to_owned(),
        queue_metrics_interval_secs: 1,
        smtp_url: None,
        mail_from: "Tentabo <no-reply@tentabo.invalid>".to_owned(),
        odoo_url: None,
        odoo_database: String::new(),
        odoo_login: String::new(),
        odoo_password: None,
        sync_page_size: 500,
        sync_look_back_secs: 300,
        sync_conflict_policy: tentabo_workflows::pipeline::load::ConflictPolicy::SourceWins,
        sync_lanes: 2,
        default_country: None,
        release_memory: true,
        sync_schedule: "0 30 1 * * *".to_owned(),
        provider_health_schedule: "0 */5 * * * *".to_owned(),
        call_log_retention_days: 30,
        shutdown_grace_secs: 10,
    }
}

pub struct RunningWorker {
    pub token: CancellationToken,
    pub handle: WorkerHandle,
}

impl RunningWorker {
    pub fn start(config: WorkerConfig) -> RunningWorker {
        let token = CancellationToken::new();
        let handle = tentabo_worker::start(config, token.clone()).unwrap();
        RunningWorker { token, handle }
    }

    pub async fn stop(self) -> usize {
        self.token.cancel();
        let restarts = self.handle.restarts();
        self.handle.wait().await;
        restarts
    }
}

/// A `noop` job; `payload` is the JSON of its typed payload (faults to rehearse).
pub fn noop(key: &str, payload: serde_json::Value) -> JobRequest {
    let payload: tentabo_workflows::jobs::payloads::Noop =
        serde_json::from_value(payload).expect("a noop payload");
    JobRequest::new(&payload, key)
}

/// An outbox row with a payload no job accepts — what a bug, an old release or a hand
/// edit could leave; `enqueue` cannot write one.
pub async fn enqueue_untyped(
    conn: &mut diesel_async::AsyncPgConnection,
    kind: JobKind,
    payload: serde_json::Value,
    key: &str,
) {
    use diesel_async::RunQueryDsl;
    diesel::sql_query(
        "INSERT INTO outbox (queue, payload, idempotency_key, max_attempts) VALUES ($1, $2, $3, $4)",
    )
    .bind::<diesel::sql_types::Text, _>(kind.queue())
    .bind::<diesel::sql_types::Jsonb, _>(payload)
    .bind::<diesel::sql_types::Text, _>(key)
    .bind::<diesel::sql_types::Integer, _>(kind.max_attempts())
    .execute(conn)
    .await
    .expect("insert an untyped outbox row");
}

#[derive(Debug, Clone, PartialEq, diesel::QueryableByName)]
pub struct Row {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Nullable<Text>)]
    pub last_error: Option<String>,
}

pub async fn rows(conn: &mut AsyncPgConnection) -> Vec<Row> {
    diesel::sql_query("SELECT id, status, attempts, last_error FROM outbox ORDER BY id")
        .load(conn)
        .await
        .unwrap()
}

pub async fn count_status(conn: &mut AsyncPgConnection, status: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    diesel::sql_query("SELECT count(*) AS n FROM outbox WHERE status = $1")
        .bind::<Text, _>(status)
        .get_result::<N>(conn)
        .await
        .unwrap()
        .n
}
