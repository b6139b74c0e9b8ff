//! Queue names and Redis key layout. Every queue of a deployment lives under one
//! namespace (`{namespace}:{queue}`), so tests and deployments sharing a Redis server
//! never see each other's jobs.

use std::time::Duration;

use apalis_redis::Config;
use tentabo_workflows::jobs::JobKind;

/// How long Redis remembers a delivery key (a re-push within this window is ignored).
pub const DELIVERY_KEY_TTL: Duration = Duration::from_secs(24 * 3600);

pub fn queue_name(namespace: &str, kind: JobKind) -> String {
    format!("{namespace}:{}", kind.queue())
}

/// The apalis-redis configuration of one queue.
pub fn storage_config(namespace: &str, kind: JobKind) -> Config {
    Config::default()
        .queue(queue_name(namespace, kind))
        .batch_size(100)
        // Results live in Postgres (the outbox ledger); Redis keeps none.
        .persist_results(false)
        .emit_events(false)
        .heartbeat_interval(Duration::from_secs(5))
        .idempotency_ttl(Some(DELIVERY_KEY_TTL))
}

/// Jobs waiting in a queue: the active list plus the scheduled set (we never schedule,
/// but apalis-redis may, for a handler error, and both count towards its fetch limit).
pub async fn backlog(conn: &mut redis::aio::ConnectionManager, config: &Config) -> redis::RedisResult<usize> {
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
