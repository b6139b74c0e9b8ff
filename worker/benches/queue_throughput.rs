//! No-op job throughput through apalis-redis (push → fetch → run → ack), against raw
//! Redis push+pop of the same number of items in the same run (the ceiling).
//!
//!   ./dev bench -p tentabo-worker --bench queue_throughput
//!
//! Jobs are fed the way the relay feeds them: batches of 500, never letting the
//! queue's due backlog pass 2,000 (apalis-redis cannot fetch past ~8,000 due jobs).

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use apalis::prelude::*;
use apalis_redis::{RedisStorage, RedisTask};
use tentabo_workflows::jobs::{JobEnvelope, JobKind};

const JOBS: u64 = 200_000;
const BATCH: usize = 500;
const BACKLOG_LIMIT: usize = 2_000;
/// Jobs in flight per worker (and tasks per fetch).
const CONCURRENCY: usize = 1_000;
/// Connections of the per-item raw baseline.
const RAW_CONNECTIONS: usize = 32;

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into())
}

async fn cleanup(conn: &mut redis::aio::ConnectionManager, pattern: &str) {
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(5000)
            .query_async(conn)
            .await
            .unwrap();
        if !keys.is_empty() {
            let _: () = redis::cmd("UNLINK")
                .arg(keys)
                .query_async(conn)
                .await
                .unwrap();
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
}

/// The baseline: one RPUSH and one LPOP round trip per item, from 32 connections at
/// once — a plain Redis list used as a queue, item by item.
async fn raw_redis_per_item(client: &redis::Client, key: &str) -> f64 {
    let payload = serde_json::to_vec(&JobEnvelope {
        outbox_id: 123_456,
        attempt: 0,
    })
    .unwrap();
    let per_conn = JOBS / RAW_CONNECTIONS as u64;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..RAW_CONNECTIONS {
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let key = key.to_owned();
        let payload = payload.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..per_conn {
                let _: u64 = redis::cmd("RPUSH")
                    .arg(&key)
                    .arg(&payload)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                let _: Option<Vec<u8>> = redis::cmd("LPOP")
                    .arg(&key)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    (per_conn * RAW_CONNECTIONS as u64) as f64 / start.elapsed().as_secs_f64()
}

/// The absolute ceiling: RPUSH of 500 items per command, LPOP with a count of 500.
async fn raw_redis_batched(conn: &mut redis::aio::ConnectionManager, key: &str) -> f64 {
    let payload = serde_json::to_vec(&JobEnvelope {
        outbox_id: 123_456,
        attempt: 0,
    })
    .unwrap();
    let start = Instant::now();
    let mut popped = 0u64;
    let mut pushed = 0u64;
    while popped < JOBS {
        if pushed < JOBS {
            let n = BATCH.min((JOBS - pushed) as usize);
            let mut cmd = redis::cmd("RPUSH");
            cmd.arg(key);
            for _ in 0..n {
                cmd.arg(&payload);
            }
            let _: u64 = cmd.query_async(conn).await.unwrap();
            pushed += n as u64;
        }
        let items: Option<Vec<Vec<u8>>> = redis::cmd("LPOP")
            .arg(key)
            .arg(BATCH)
            .query_async(conn)
            .await
            .unwrap();
        popped += items.map_or(0, |v| v.len() as u64);
    }
    JOBS as f64 / start.elapsed().as_secs_f64()
}

async fn apalis(conn: redis::aio::ConnectionManager, namespace: &str) -> f64 {
    let config = tentabo_worker::queues::storage_config(namespace, JobKind::Noop, CONCURRENCY);
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();

    let mut producer_conn = conn.clone();
    let producer_config = config.clone();
    let producer = tokio::spawn(async move {
        let mut pushed = 0u64;
        while pushed < JOBS {
            let backlog = tentabo_worker::queues::backlog(&mut producer_conn, &producer_config)
                .await
                .unwrap();
            let room = BACKLOG_LIMIT
                .saturating_sub(backlog)
                .min(BATCH)
                .min((JOBS - pushed) as usize);
            if room == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
            let tasks: Vec<RedisTask> = (0..room as u64)
                .map(|i| {
                    let env = JobEnvelope {
                        outbox_id: (pushed + i) as i64,
                        attempt: 0,
                    };
                    TaskBuilder::new(serde_json::to_vec(&env).unwrap()).build()
                })
                .collect();
            apalis_redis::queries::push_tasks(&mut producer_conn, &producer_config, &tasks)
                .await
                .unwrap();
            pushed += room as u64;
        }
    });

    let counter = done.clone();
    let storage = RedisStorage::<JobEnvelope>::new(conn)
        .with_config(config)
        .poll_with_interval(Duration::from_millis(5));
    let worker = WorkerBuilder::new(format!("bench-{namespace}"))
        .backend(storage)
        .data(counter)
        .concurrency(CONCURRENCY)
        .build(
            |_: JobEnvelope, done: Data<Arc<AtomicU64>>, wrk: WorkerContext| async move {
                if done.fetch_add(1, Ordering::Relaxed) + 1 == JOBS {
                    let _ = wrk.stop();
                }
                Ok::<(), BoxDynError>(())
            },
        );
    worker.run().await.expect("worker failed");
    producer.await.unwrap();
    assert_eq!(done.load(Ordering::Relaxed), JOBS);
    JOBS as f64 / start.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = redis::Client::open(redis_url()).unwrap();
        let mut conn = client.get_connection_manager().await.unwrap();
        let ns = format!("bench-{}", uuid::Uuid::new_v4().simple());
        let (mut per_item, mut batched, mut jobs) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..3 {
            per_item.push(raw_redis_per_item(&client, &format!("{ns}:raw1")).await);
            batched.push(raw_redis_batched(&mut conn, &format!("{ns}:raw2")).await);
            jobs.push(apalis(conn.clone(), &format!("{ns}:{round}")).await);
            cleanup(&mut conn, &format!("{ns}:*")).await;
        }
        let (per_item, batched, jobs) = (median(per_item), median(batched), median(jobs));
        println!("queue_throughput: {JOBS} no-op jobs per round, median of 3 rounds");
        println!("  fed like the relay: batches of {BATCH}, due backlog bound {BACKLOG_LIMIT}; {CONCURRENCY} jobs in flight");
        println!("  raw Redis RPUSH+LPOP per item, {RAW_CONNECTIONS} conns  {per_item:>10.0} items/s  (baseline)");
        println!("  raw Redis RPUSH+LPOP, 500 per command        {batched:>10.0} items/s  (absolute ceiling)");
        println!("  apalis-redis no-op jobs                      {jobs:>10.0} jobs/s");
        println!("  ratio to the per-item baseline               {:>10.1} %", 100.0 * jobs / per_item);
        println!("  ratio to the batched ceiling                 {:>10.1} %", 100.0 * jobs / batched);
        println!("  targets: >= 20,000 jobs/s and >= 25 % of raw push+pop");
    });
}
