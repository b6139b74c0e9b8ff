//! Runs one apalis worker per job kind and restarts it when it dies. apalis-redis
//! workers stop for good on a Redis error (a failed fetch or heartbeat marks them
//! dead); the supervisor reconnects with backoff so jobs resume once Redis is back.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use apalis::prelude::*;
use apalis_redis::RedisStorage;
use backoff::backoff::Backoff;
use tentabo_workflows::jobs::{JobEnvelope, JobKind};
use tentabo_workflows::retry::RetryPolicy;
use tokio_util::sync::CancellationToken;

use crate::config::WorkerConfig;
use crate::queues;
use crate::relay::connect_redis;
use crate::runner::{JobContext, handle};

/// Runs the worker of `kind` until `shutdown`; in-flight jobs finish before it returns.
pub async fn supervise(
    kind: JobKind,
    config: Arc<WorkerConfig>,
    ctx: Arc<JobContext>,
    shutdown: CancellationToken,
    restarts: Arc<AtomicUsize>,
) {
    let mut backoff = RetryPolicy::reconnect().backoff();
    while !shutdown.is_cancelled() {
        let result = run_worker(kind, &config, ctx.clone(), shutdown.clone()).await;
        if shutdown.is_cancelled() {
            break;
        }
        restarts.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("worker_restarts_total", "queue" => kind.queue()).increment(1);
        let pause = backoff.next_backoff().unwrap_or(Duration::from_secs(5));
        match result {
            Ok(()) => tracing::warn!(queue = kind.queue(), "worker stopped; restarting"),
            Err(e) => {
                tracing::warn!(queue = kind.queue(), error = %e, ?pause, "worker failed; restarting")
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(pause) => {}
        }
    }
    tracing::info!(queue = kind.queue(), "worker stopped");
}

async fn run_worker(
    kind: JobKind,
    config: &WorkerConfig,
    ctx: Arc<JobContext>,
    shutdown: CancellationToken,
) -> Result<(), BoxDynError> {
    let conn = connect_redis(&config.redis_url).await?;
    let storage = RedisStorage::<JobEnvelope>::new(conn)
        .with_config(queues::storage_config(
            &config.namespace,
            kind,
            config.concurrency,
        ))
        .poll_with_interval(config.poll_interval());
    let name = format!(
        "{}-{}-{}",
        kind.queue(),
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    );
    tracing::info!(queue = kind.queue(), worker = %name, "worker started");
    let worker = WorkerBuilder::new(name)
        .backend(storage)
        .data(ctx)
        .concurrency(config.concurrency)
        .build(handle);
    worker
        .run_until(async move {
            shutdown.cancelled().await;
            Ok::<(), std::io::Error>(())
        })
        .await?;
    Ok(())
}
