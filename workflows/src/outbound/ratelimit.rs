//! A call rate per provider shared by every process that calls it: workers scale out,
//! so the budget lives in Redis. GCRA ("leaky bucket as a meter") with reservation: each
//! call atomically books the next free slot (a Lua script over one key holding the
//! theoretical arrival time, in microseconds of Redis's own clock, so the processes'
//! clocks need not agree) and is told how long to wait for it. Calls never exceed
//! `per_second` on average, with at most `burst` at once.
//!
//! There is no well-kept Rust crate for a Redis-shared limiter without a Redis module
//! (`redis-cell`); `governor` is in-process only. The script is a dozen lines.

use std::time::Duration;

use redis::aio::ConnectionManager;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    /// Calls allowed at once before spacing starts (≥ 1).
    pub burst: u32,
}

const SCRIPT: &str = r"
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local wait = tat - now - tolerance
if wait < 0 then wait = 0 end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', next_tat), 'PX', math.floor((next_tat - now) / 1000) + 1000)
return wait
";

#[derive(Clone)]
pub struct RateLimiter {
    client: redis::Client,
    conn: std::sync::Arc<tokio::sync::OnceCell<ConnectionManager>>,
    namespace: String,
    script: redis::Script,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("namespace", &self.namespace)
            .finish()
    }
}

impl RateLimiter {
    /// A limiter on `client`'s server; it connects on first use (and the connection
    /// manager reconnects by itself).
    pub fn new(client: redis::Client, namespace: &str) -> RateLimiter {
        RateLimiter {
            client,
            conn: Default::default(),
            namespace: namespace.to_owned(),
            script: redis::Script::new(SCRIPT),
        }
    }

    /// Books a slot for one call to `provider`; answers how long to wait for it.
    pub async fn reserve(&self, provider: &str, rate: Rate) -> Result<Duration, redis::RedisError> {
        let interval = (1_000_000.0 / rate.per_second.max(0.001)).round() as i64;
        let tolerance = interval * i64::from(rate.burst.max(1) - 1);
        let key = format!("{}:ratelimit:{provider}", self.namespace);
        let mut conn = self
            .conn
            .get_or_try_init(|| ConnectionManager::new(self.client.clone()))
            .await?
            .clone();
        let wait: i64 = self
            .script
            .key(key)
            .arg(interval)
            .arg(tolerance)
            .invoke_async(&mut conn)
            .await?;
        Ok(Duration::from_micros(wait.max(0) as u64))
    }
}
