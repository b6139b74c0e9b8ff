//! The outbox → relay → apalis-redis → worker → ledger path, against real Postgres and
//! Redis: exactly-once delivery with several relays, rollbacks, Redis outages, large
//! backlogs, retries, dead letters and graceful shutdown.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/mod.rs"]
mod support;
#[path = "../../tests/support/worker.rs"]
mod worker;

use std::collections::HashSet;
use std::time::Duration;

use diesel_async::AsyncConnection;
use redis::AsyncCommands;
use serde_json::json;
use support::{PrivateRedis, TestDb, TestRedis, eventually};
use tentabo_worker::queues;
use tentabo_worker::relay::{Relay, RelayConfig};
use tentabo_workflows::WorkflowError;
use tentabo_workflows::jobs::{self, JobKind};
use worker::{RunningWorker, count_status, noop, rows, worker_config};

fn relay_config(namespace: &str) -> RelayConfig {
    RelayConfig {
        namespace: namespace.to_owned(),
        batch: 50,
        backlog_limit: 2_000,
        interval: Duration::from_millis(10),
        redeliver_after: Duration::from_secs(120),
        run_timeout: Duration::from_secs(900),
    }
}

async fn enqueue_noops(db: &TestDb, n: usize, payload: serde_json::Value) {
    let mut conn = db.conn().await;
    let jobs: Vec<_> = (0..n)
        .map(|i| noop(&format!("test:{i}"), payload.clone()))
        .collect();
    conn.transaction::<_, WorkflowError, _>(async |conn| jobs::enqueue(conn, &jobs).await)
        .await
        .unwrap();
}

/// (task data entries, task ids waiting) of the noop queue. apalis-redis 1.0 files
/// every pushed task in its scheduled set (due now) and moves it to the active list
/// on the next fetch, so both count as waiting.
async fn queue_len(redis: &TestRedis) -> (usize, usize) {
    let (data, waiting) = waiting_ids(redis).await;
    (data, waiting.len())
}

async fn waiting_ids(redis: &TestRedis) -> (usize, Vec<String>) {
    let cfg = queues::storage_config(&redis.namespace, JobKind::Noop, 100);
    let mut conn = redis.conn().await;
    let data: usize = conn.hlen(cfg.job_data_hash()).await.unwrap();
    let mut ids: Vec<String> = conn.lrange(cfg.active_jobs_list(), 0, -1).await.unwrap();
    let scheduled: Vec<String> = conn.zrange(cfg.scheduled_jobs_set(), 0, -1).await.unwrap();
    ids.extend(scheduled);
    (data, ids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_committed_row_becomes_exactly_one_job_with_two_relays() {
    let db = TestDb::new().await;
    let redis = TestRedis::new();
    enqueue_noops(&db, 300, json!({})).await;

    let pool = db.pool(4);
    let mut handles = Vec::new();
    for _ in 0..2 {
        let mut relay = Relay::new(
            pool.clone(),
            redis.url.clone().into(),
            relay_config(&redis.namespace),
        );
        handles.push(tokio::spawn(async move {
            let mut moved = 0;
            for _ in 0..40 {
                moved += relay.run_once().await.unwrap();
            }
            moved
        }));
    }
    let mut total = 0;
    for h in handles {
        total += h.await.unwrap();
    }
    assert_eq!(
        total, 300,
        "each row relayed exactly once across both relays"
    );

    let (data, active) = queue_len(&redis).await;
    assert_eq!((data, active), (300, 300), "one job per row in Redis");
    let (_, ids) = waiting_ids(&redis).await;
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        300,
        "no task id twice"
    );
    let mut conn = db.conn().await;
    assert_eq!(count_status(&mut conn, "enqueued").await, 300);

    // The worker runs each exactly once.
    let w = RunningWorker::start(worker_config(&db.url, &redis.url, &redis.namespace));
    eventually(Duration::from_secs(30), "all 300 done", || async {
        count_status(&mut db.conn().await, "done").await == 300
    })
    .await;
    assert!(rows(&mut conn).await.iter().all(|r| r.attempts == 1));
    assert_eq!(w.stop().await, 0);
}

#[tokio::test]
async fn a_rolled_back_transaction_produces_no_job() {
    let db = TestDb::new().await;
    let redis = TestRedis::new();
    let mut conn = db.conn().await;
    let result = conn
        .transaction::<(), WorkflowError, _>(async |conn| {
            jobs::enqueue(conn, &[noop("rolled-back", json!({}))]).await?;
            Err(WorkflowError::Conflict {
                code: "conflict",
                message: "the transition failed".into(),
            })
        })
        .await;
    assert!(result.is_err());

    let mut relay = Relay::new(
        db.pool(2),
        redis.url.clone().into(),
        relay_config(&redis.namespace),
    );
    assert_eq!(relay.run_once().await.unwrap(), 0);
    assert_eq!(queue_len(&redis).await, (0, 0));
    assert!(rows(&mut conn).await.is_empty());
}

#[tokio::test]
async fn the_same_idempotency_key_makes_one_job() {
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    let first = jobs::enqueue(&mut conn, &[noop("effect:42", json!({}))])
        .await
        .unwrap();
    let second = jobs::enqueue(&mut conn, &[noop("effect:42", json!({}))])
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert!(second.is_empty());
    assert_eq!(rows(&mut conn).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rows_wait_while_redis_is_down_and_are_all_delivered_once_it_is_back() {
    let db = TestDb::new().await;
    let mut redis = PrivateRedis::start().await;
    let w = RunningWorker::start(worker_config(&db.url, &redis.url(), "outage"));
    enqueue_noops(&db, 1, json!({})).await;
    eventually(Duration::from_secs(20), "warm-up job done", || async {
        count_status(&mut db.conn().await, "done").await == 1
    })
    .await;

    redis.stop();
    let mut conn = db.conn().await;
    let more: Vec<_> = (0..200)
        .map(|i| noop(&format!("outage:{i}"), json!({})))
        .collect();
    jobs::enqueue(&mut conn, &more).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        count_status(&mut conn, "done").await,
        1,
        "nothing can run without Redis"
    );
    assert_eq!(
        count_status(&mut conn, "dead").await,
        0,
        "nothing is lost or dead-lettered"
    );

    redis.start_again().await;
    eventually(
        Duration::from_secs(60),
        "all 201 done after Redis is back",
        || async { count_status(&mut db.conn().await, "done").await == 201 },
    )
    .await;
    assert!(
        rows(&mut conn).await.iter().all(|r| r.attempts == 1),
        "every effect ran once"
    );
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deliveries_lost_by_redis_are_redelivered_once() {
    let db = TestDb::new().await;
    let redis = TestRedis::new();
    enqueue_noops(&db, 50, json!({})).await;
    let mut relay = Relay::new(
        db.pool(2),
        redis.url.clone().into(),
        relay_config(&redis.namespace),
    );
    assert_eq!(relay.run_once().await.unwrap(), 50);
    // Redis restarts without persistence: the queue is gone, the ledger says enqueued.
    let keys = redis.keys().await;
    let _: () = redis.conn().await.del(keys).await.unwrap();

    let mut cfg = worker_config(&db.url, &redis.url, &redis.namespace);
    cfg.redeliver_after_secs = 1;
    let w = RunningWorker::start(cfg);
    eventually(
        Duration::from_secs(30),
        "all 50 redelivered and done",
        || async { count_status(&mut db.conn().await, "done").await == 50 },
    )
    .await;
    assert!(
        rows(&mut db.conn().await)
            .await
            .iter()
            .all(|r| r.attempts == 1)
    );
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_rows_are_delivered_without_the_worker_failing() {
    let db = TestDb::new().await;
    let redis = TestRedis::new();
    enqueue_noops(&db, 10_000, json!({})).await;
    let w = RunningWorker::start(worker_config(&db.url, &redis.url, &redis.namespace));
    let cfg = queues::storage_config(&redis.namespace, JobKind::Noop, 100);
    let mut redis_conn = redis::Client::open(redis.url.as_str())
        .unwrap()
        .get_connection_manager()
        .await
        .unwrap();
    let mut peak = 0usize;
    let start = std::time::Instant::now();
    loop {
        let backlog = queues::backlog(&mut redis_conn, &cfg).await.unwrap();
        peak = peak.max(backlog);
        if count_status(&mut db.conn().await, "done").await == 10_000 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "10,000 jobs not done in 120 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(peak <= 2_000, "the Redis backlog passed its bound: {peak}");
    assert_eq!(
        w.stop().await,
        0,
        "a queue worker died and had to be restarted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_job_is_retried_with_backoff_until_it_succeeds() {
    let db = TestDb::new().await;
    let redis = TestRedis::new();
    enqueue_noops(&db, 1, json!({ "fail_attempts": 2 })).await;
    let w = RunningWorker::start(worker_config(&db.url, &redis.url, &redis.namespace));
    eventually(Duration::from_secs(30), "done after retries", || async {
        count_status(&mut db.conn().await, "done").await == 1
    })
    .await;
    let row = &rows(&mut db.conn().await).await[0];
    assert_eq!(row.attempts, 3);
    assert_eq!(row.last_error.as_deref(), Some("asked to fail attempt 2"));
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_keeps_failing_is_dead_lettered_at_the_attempt_cap() {
    let db = TestDb::new().await;
    let redis = TestRedis::new();
    enqueue_noops(&db, 1, json!({ "fail_attempts": 100 })).await;
    let w = RunningWorker::start(worker_config(&db.url, &redis.url, &redis.namespace));
    eventually(Duration::from_secs(30), "dead-lettered", || async {
        count_status(&mut db.conn().await, "dead").await == 1
    })
    .await;
    w.stop().await;
    // Nothing is left to run: a dead job is never due again.
    let ctx =
        tentabo_worker::job_context(&worker_config(&db.url, &redis.url, &redis.namespace)).unwrap();
    let ran = tentabo_worker::runner::drain(&ctx, 100).await.unwrap();
    assert!(ran.is_empty(), "a dead job ran again: {ran:?}");
    let row = &rows(&mut db.conn().await).await[0];
    assert_eq!(
        (row.status.as_str(), row.attempts),
        ("dead", JobKind::Noop.max_attempts())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_failures_and_bad_payloads_are_dead_at_once_with_their_reason() {
    let db = TestDb::new().await;
    let redis = TestRedis::new();
    let mut conn = db.conn().await;
    jobs::enqueue(
        &mut conn,
        &[noop("permanent", json!({ "fail_permanently": true }))],
    )
    .await
    .unwrap();
    worker::enqueue_untyped(
        &mut conn,
        JobKind::Noop,
        json!({ "bogus": 1 }),
        "bad-payload",
    )
    .await;
    let w = RunningWorker::start(worker_config(&db.url, &redis.url, &redis.namespace));
    eventually(Duration::from_secs(30), "both dead", || async {
        count_status(&mut db.conn().await, "dead").await == 2
    })
    .await;
    let rows = rows(&mut conn).await;
    assert_eq!(rows[0].attempts, 1);
    assert_eq!(
        rows[0].last_error.as_deref(),
        Some("asked to fail permanently")
    );
    assert_eq!(rows[1].attempts, 1);
    let err = rows[1].last_error.as_deref().unwrap();
    assert!(
        err.contains("invalid payload for noop") && err.contains("bogus"),
        "{err}"
    );
    w.stop().await;
}

#[tokio::test]
async fn stale_and_duplicate_deliveries_are_ignored() {
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    let ids = jobs::enqueue(&mut conn, &[noop("stale", json!({}))])
        .await
        .unwrap();
    let fresh = jobs::JobEnvelope {
        outbox_id: ids[0],
        attempt: 0,
    };
    let stale = jobs::JobEnvelope {
        outbox_id: ids[0],
        attempt: 7,
    };
    assert!(
        jobs::start_attempt(&mut conn, stale)
            .await
            .unwrap()
            .is_none()
    );
    let started = jobs::start_attempt(&mut conn, fresh)
        .await
        .unwrap()
        .expect("fresh delivery starts");
    assert_eq!(started.attempts, 1);
    // The same delivery arriving twice runs once.
    assert!(
        jobs::start_attempt(&mut conn, fresh)
            .await
            .unwrap()
            .is_none()
    );
    // A row that has gone is tolerated.
    assert!(
        jobs::start_attempt(
            &mut conn,
            jobs::JobEnvelope {
                outbox_id: 999_999,
                attempt: 0
            }
        )
        .await
        .unwrap()
        .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_in_flight_jobs_finish() {
    let db = TestDb::new().await;
    let redis = TestRedis::new();
    enqueue_noops(&db, 1, json!({ "sleep_ms": 1500 })).await;
    let w = RunningWorker::start(worker_config(&db.url, &redis.url, &redis.namespace));
    eventually(Duration::from_secs(20), "job running", || async {
        count_status(&mut db.conn().await, "running").await == 1
    })
    .await;
    w.stop().await;
    let row = &rows(&mut db.conn().await).await[0];
    assert_eq!(
        (row.status.as_str(), row.attempts),
        ("done", 1),
        "the in-flight job finished before exit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_dead_job_runs_again() {
    let db = TestDb::new().await;
    let redis = TestRedis::new();
    enqueue_noops(&db, 1, json!({ "fail_permanently": true })).await;
    let w = RunningWorker::start(worker_config(&db.url, &redis.url, &redis.namespace));
    eventually(Duration::from_secs(20), "dead", || async {
        count_status(&mut db.conn().await, "dead").await == 1
    })
    .await;
    let id = rows(&mut db.conn().await).await[0].id;
    let retried = jobs::retry(
        &mut db.conn().await,
        &tentabo_workflows::audit::AuditContext::default(),
        id,
    )
    .await
    .unwrap();
    assert_eq!(
        (retried.status.as_str(), retried.max_attempts),
        ("pending", 2)
    );
    eventually(
        Duration::from_secs(20),
        "ran again and died again",
        || async {
            rows(&mut db.conn().await).await[0]
                == worker::Row {
                    id,
                    status: "dead".into(),
                    attempts: 2,
                    last_error: Some("asked to fail permanently".into()),
                }
        },
    )
    .await;
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_relays_together_never_pass_the_backlog_bound() {
    let db = TestDb::new().await;
    let redis = TestRedis::new();
    enqueue_noops(&db, 1_000, json!({})).await;
    let pool = db.pool(8);
    let mut handles = Vec::new();
    for _ in 0..3 {
        let mut cfg = relay_config(&redis.namespace);
        cfg.backlog_limit = 120;
        cfg.batch = 50;
        let mut relay = Relay::new(pool.clone(), redis.url.clone().into(), cfg);
        handles.push(tokio::spawn(async move {
            let mut moved = 0;
            for _ in 0..30 {
                moved += relay.run_once().await.unwrap();
            }
            moved
        }));
    }
    let mut total = 0;
    for h in handles {
        total += h.await.unwrap();
    }
    // Nobody consumes: the queue fills to the bound and stops there, across all relays.
    assert_eq!(total, 120);
    assert_eq!(queue_len(&redis).await, (120, 120));
    assert_eq!(count_status(&mut db.conn().await, "enqueued").await, 120);
    assert_eq!(count_status(&mut db.conn().await, "pending").await, 880);
}

#[tokio::test]
async fn drain_runs_the_due_jobs_in_process_and_leaves_later_retries_for_later() {
    let db = TestDb::new().await;
    let redis = TestRedis::new();
    enqueue_noops(&db, 3, json!({})).await;
    {
        let mut conn = db.conn().await;
        jobs::enqueue(&mut conn, &[noop("flaky", json!({ "fail_attempts": 1 }))])
            .await
            .unwrap();
    }
    let mut config = worker_config(&db.url, &redis.url, &redis.namespace);
    config.retry_initial_ms = 60_000;
    let ctx = tentabo_worker::job_context(&config).unwrap();
    let ran = tentabo_worker::runner::drain(&ctx, 100).await.unwrap();
    // Four runs: three done, the flaky one failed once and waits for its backoff.
    assert_eq!(ran.len(), 4, "{ran:?}");
    let done = ran
        .iter()
        .filter(|(_, s)| *s == jobs::Settled::Done)
        .count();
    let later = ran
        .iter()
        .filter(|(_, s)| matches!(s, jobs::Settled::RetryAt(_)))
        .count();
    assert_eq!((done, later), (3, 1), "{ran:?}");
    assert_eq!(count_status(&mut db.conn().await, "done").await, 3);
    // Nothing more is due until the retry's time comes.
    assert!(
        tentabo_worker::runner::drain(&ctx, 100)
            .await
            .unwrap()
            .is_empty()
    );
}
