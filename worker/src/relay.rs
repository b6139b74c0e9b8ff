//! The outbox relay: moves due outbox rows into their apalis-redis queues.
//!
//! Per queue and round: measure the queue's backlog in Redis, claim at most
//! `backlog_limit - backlog` due rows (a lease, committed at once), push them in one
//! batch outside any transaction, mark them enqueued. Several relays may run at once:
//! `FOR UPDATE SKIP LOCKED` plus the lease keep them off each other's rows, and a push
//! repeated after a crash is a duplicate delivery of the same (row, attempt), which the
//! ledger runs once ([`tentabo_workflows::jobs::start_attempt`]).

use std::time::{Duration, Instant};

use apalis::prelude::TaskBuilder;
use apalis_redis::RedisTask;
use backoff::backoff::Backoff;
use redis::aio::ConnectionManager;
use secrecy::{ExposeSecret, SecretString};
use tentabo_schema::DbPool;
use tentabo_workflows::WorkflowError;
use tentabo_workflows::jobs::{self, JobKind};
use tentabo_workflows::retry::RetryPolicy;
use tokio_util::sync::CancellationToken;

use crate::queues;

/// How long a claim holds rows if the relay dies before marking them.
const LEASE: Duration = Duration::from_secs(30);
/// How long a relay may hold a queue's fill lock if it dies while holding it.
const LOCK_TTL: Duration = Duration::from_secs(10);

static RELEASE: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end",
    )
});

/// How often stalled deliveries are swept and finished deliveries pruned from Redis.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("postgres: {0}")]
    Db(#[from] WorkflowError),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("queue push: {0}")]
    Push(#[from] apalis_redis::Error),
    #[error("encoding: {0}")]
    Encode(#[from] serde_json::Error),
}

#[derive(Debug, Clone)]
pub struct RelayConfig {
    pub namespace: String,
    pub batch: usize,
    pub backlog_limit: usize,
    pub interval: Duration,
    pub redeliver_after: Duration,
    pub run_timeout: Duration,
}

pub struct Relay {
    id: String,
    db: DbPool,
    redis_url: SecretString,
    redis: Option<ConnectionManager>,
    config: RelayConfig,
}

/// Opens a Redis connection manager with bounded timeouts, so a dead server fails fast.
pub async fn connect_redis(url: &SecretString) -> redis::RedisResult<ConnectionManager> {
    let client = redis::Client::open(url.expose_secret())?;
    let cfg = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(Duration::from_secs(5)))
        .set_number_of_retries(1);
    client.get_connection_manager_with_config(cfg).await
}

impl Relay {
    pub fn new(db: DbPool, redis_url: SecretString, config: RelayConfig) -> Relay {
        let id = format!(
            "relay-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        );
        Relay {
            id,
            db,
            redis_url,
            redis: None,
            config,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    async fn redis(&mut self) -> Result<&mut ConnectionManager, RelayError> {
        if self.redis.is_none() {
            self.redis = Some(connect_redis(&self.redis_url).await?);
        }
        Ok(self.redis.as_mut().expect("set above"))
    }

    /// One pass over every queue that has due rows. Returns how many rows were handed
    /// to Redis.
    pub async fn run_once(&mut self) -> Result<usize, RelayError> {
        let names: Vec<&str> = JobKind::ALL.iter().map(|k| k.queue()).collect();
        let due = {
            let mut conn = self.db.get().await.map_err(WorkflowError::from)?;
            jobs::due_queues(&mut conn, &names).await?
        };
        let mut moved = 0;
        for queue in due {
            if let Some(kind) = JobKind::from_queue(&queue) {
                moved += self.relay_queue(kind).await?;
            }
        }
        Ok(moved)
    }

    /// One queue, under a short per-queue Redis lock: with several relays, only one
    /// measures and fills a queue at a time, so together they never pass the bound.
    async fn relay_queue(&mut self, kind: JobKind) -> Result<usize, RelayError> {
        let lock = format!(
            "{}:relay-lock",
            queues::queue_name(&self.config.namespace, kind)
        );
        let acquired: Option<String> = redis::cmd("SET")
            .arg(&lock)
            .arg(&self.id)
            .arg("NX")
            .arg("PX")
            .arg(LOCK_TTL.as_millis() as u64)
            .query_async(self.redis().await?)
            .await?;
        if acquired.is_none() {
            return Ok(0);
        }
        let result = self.fill_queue(kind).await;
        // Release only our own lock (it may have expired and been taken over).
        let released: redis::RedisResult<i32> = RELEASE
            .key(&lock)
            .arg(&self.id)
            .invoke_async(self.redis().await?)
            .await;
        if let Err(e) = released {
            tracing::warn!(error = %e, "could not release the relay lock; it expires by itself");
        }
        result
    }

    async fn fill_queue(&mut self, kind: JobKind) -> Result<usize, RelayError> {
        let config = queues::storage_config(&self.config.namespace, kind, self.config.batch);
        let backlog = queues::backlog(self.redis().await?, &config).await?;
        let room = self
            .config
            .backlog_limit
            .saturating_sub(backlog)
            .min(self.config.batch);
        if room == 0 {
            return Ok(0);
        }
        let claimed = {
            let mut conn = self.db.get().await.map_err(WorkflowError::from)?;
            jobs::claim_due(&mut conn, kind.queue(), &self.id, room as i64, LEASE).await?
        };
        if claimed.is_empty() {
            return Ok(0);
        }
        let ids: Vec<i64> = claimed.iter().map(|c| c.id).collect();
        let tasks = claimed
            .iter()
            .map(|c| {
                // No queue-level idempotency key: the ledger already ignores a second
                // delivery of the same (row, attempt), and the key's SETNX + EXPIRE per
                // task costs a third of apalis-redis's throughput.
                Ok(TaskBuilder::new(serde_json::to_vec(&c.envelope())?).build())
            })
            .collect::<Result<Vec<RedisTask>, serde_json::Error>>()?;
        let pushed = match self.redis().await {
            Ok(conn) => apalis_redis::queries::push_tasks(conn, &config, &tasks)
                .await
                .map_err(RelayError::from),
            Err(e) => Err(e),
        };
        let mut conn = self.db.get().await.map_err(WorkflowError::from)?;
        if let Err(e) = pushed {
            // Give the rows back now rather than when the lease ends.
            jobs::release_claims(&mut conn, &ids, &self.id).await?;
            return Err(e);
        }
        jobs::mark_enqueued(&mut conn, &ids, &self.id).await?;
        metrics::counter!("outbox_relayed_total", "queue" => kind.queue())
            .increment(ids.len() as u64);
        Ok(ids.len())
    }

    /// Redelivers stalled rows and prunes finished deliveries from Redis.
    pub async fn housekeeping(&mut self) -> Result<(), RelayError> {
        {
            let mut conn = self.db.get().await.map_err(WorkflowError::from)?;
            let swept = jobs::sweep_stalled(
                &mut conn,
                self.config.redeliver_after,
                self.config.run_timeout,
            )
            .await?;
            if swept > 0 {
                tracing::warn!(swept, "stalled jobs handed back for redelivery");
            }
        }
        for kind in JobKind::ALL {
            let config = queues::storage_config(&self.config.namespace, *kind, self.config.batch);
            queues::prune_finished(self.redis().await?, &config, 10_000).await?;
        }
        Ok(())
    }

    /// Runs until `shutdown`. Errors (Redis or Postgres down) are logged and retried
    /// with backoff; rows simply wait in the outbox meanwhile.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut backoff = RetryPolicy::reconnect().backoff();
        let mut last_housekeeping = Instant::now() - HOUSEKEEPING_EVERY;
        tracing::info!(relay_id = %self.id, "outbox relay started");
        while !shutdown.is_cancelled() {
            let mut result = self.run_once().await;
            if result.is_ok() && last_housekeeping.elapsed() >= HOUSEKEEPING_EVERY {
                last_housekeeping = Instant::now();
                result = self.housekeeping().await.map(|()| 0);
            }
            let pause = match result {
                Ok(moved) => {
                    backoff.reset();
                    if moved > 0 {
                        Duration::ZERO
                    } else {
                        self.config.interval
                    }
                }
                Err(e) => {
                    tracing::warn!(relay_id = %self.id, error = %e, "outbox relay round failed; will retry");
                    if matches!(e, RelayError::Redis(_) | RelayError::Push(_)) {
                        self.redis = None;
                    }
                    backoff.next_backoff().unwrap_or(Duration::from_secs(5))
                }
            };
            if !pause.is_zero() {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(pause) => {}
                }
            }
        }
        tracing::info!(relay_id = %self.id, "outbox relay stopped");
    }
}
