//! Canaries for the apalis-redis 1.0.0 defects our code contains (docs/ARCHITECTURE.md).
//! Each shows the defect is real, so the containment is needed; if one starts failing,
//! upstream fixed the defect and the containment can be reconsidered.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use apalis::prelude::*;
use apalis_redis::{RedisStorage, RedisTask};
use support::TestRedis;
use tentabo_workflows::jobs::{JobEnvelope, JobKind};

/// Defect (a): past ~8,000 due tasks, the fetch script fails ("too many results to
/// unpack") and the worker stops. The relay's backlog bound keeps queues below it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apalis_redis_worker_dies_when_too_many_tasks_are_due_at_once() {
    let redis = TestRedis::new();
    let config = tentabo_worker::queues::storage_config(&redis.namespace, JobKind::Noop, 100);
    let mut conn = redis::Client::open(redis.url.as_str())
        .unwrap()
        .get_connection_manager()
        .await
        .unwrap();
    let tasks: Vec<RedisTask> = (0..9_000)
        .map(|i| {
            TaskBuilder::new(
                serde_json::to_vec(&JobEnvelope {
                    outbox_id: i,
                    attempt: 0,
                })
                .unwrap(),
            )
            .build()
        })
        .collect();
    for chunk in tasks.chunks(1_000) {
        apalis_redis::queries::push_tasks(&mut conn, &config, chunk)
            .await
            .unwrap();
    }
    let storage = RedisStorage::<JobEnvelope>::new(conn).with_config(config);
    let worker = WorkerBuilder::new(format!("canary-{}", redis.namespace))
        .backend(storage)
        .build(|_: JobEnvelope| async { Ok::<(), BoxDynError>(()) });
    let outcome = tokio::time::timeout(Duration::from_secs(20), worker.run()).await;
    let err = match outcome {
        Ok(Err(e)) => e.to_string(),
        Ok(Ok(())) => panic!("the worker drained 9,000 due tasks: defect (a) is fixed upstream"),
        Err(_) => panic!("the worker kept running: defect (a) is fixed upstream"),
    };
    assert!(err.contains("unpack"), "unexpected failure: {err}");
}
