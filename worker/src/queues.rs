//! Queue names and Redis key layout. Every queue of a deployment lives under one
//! namespace (`{namespace}:{queue}`), so tests and deployments sharing a Redis server
//! never see each other's jobs.

use std::time::Duration;

use apalis_redis::Config;
use tentabo_workflows::jobs::JobKind;

pub fn queue_name(namespace: &str, kind: JobKind) -> String {
    format!("{namespace}:{}", kind.queue())
}

/// The apalis-redis configuration of one queue. `fetch_batch` is how many tasks one
/// fetch takes (the worker's concurrency is a good value).
pub fn storage_config(namespace: &str, kind: JobKind, fetch_batch: usize) -> Config {
    Config::default()
        .queue(queue_name(namespace, kind))
        .batch_size(fetch_batch.clamp(1, 1_000))
        // No per-task leases: they halve throughput, and the ledger already recovers
        // deliveries a dead worker held (the relay's sweep redelivers them).
        .lock_tasks(false)
        // Results live in Postgres (the outbox ledger); Redis keeps none.
        .persist_results(false)
        .emit_events(false)
        .heartbeat_interval(Duration::from_secs(5))
}

/// Jobs waiting in a queue: the active list plus the scheduled set (we never schedule,
/// but apalis-redis may, for a handler error, and both count towards its fetch limit).
pub async fn backlog(
    conn: &mut redis::aio::ConnectionManager,
    config: &Config,
) -> redis::RedisResult<usize> {
    let (active, scheduled): (usize, usize) = redis::pipe()
        .llen(config.active_jobs_list())
        .zcard(config.scheduled_jobs_set())
        .query_async(conn)
        .await?;
    Ok(active + scheduled)
}

/// Forgets finished deliveries. apalis-redis keeps every finished task's id in the
/// done set and its data and metadata forever (its vacuum leaves the done set); the
/// ledger in Postgres is the record, so Redis drops them. Returns how many it removed.
pub async fn prune_finished(
    conn: &mut redis::aio::ConnectionManager,
    config: &Config,
    max: usize,
) -> redis::RedisResult<usize> {
    static SCRIPT: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
        redis::Script::new(
            r#"
            local ids = redis.call('SPOP', KEYS[1], ARGV[1])
            for _, id in ipairs(ids) do
                redis.call('HDEL', KEYS[2], id)
                redis.call('DEL', KEYS[3] .. ':' .. id)
            end
            return #ids
            "#,
        )
    });
    SCRIPT
        .key(config.done_jobs_set())
        .key(config.job_data_hash())
        .key(config.job_meta_hash())
        .arg(max)
        .invoke_async(conn)
        .await
}
