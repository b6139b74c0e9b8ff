//! Login rate limiting, shared by every API instance through Redis: fixed windows per
//! account (failed attempts) and per client address (all attempts). When Redis is
//! unreachable the limiter lets logins through and logs it: an outage of the limiter
//! must not lock every user out.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use crate::error::ApiError;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_failures_per_account: u64,
    pub account_window: Duration,
    pub max_attempts_per_ip: u64,
    pub ip_window: Duration,
}

#[derive(Clone)]
pub struct LoginLimiter {
    client: redis::Client,
    conn: Arc<OnceCell<ConnectionManager>>,
    prefix: String,
    limits: Limits,
}

static INCR: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        "local n = redis.call('INCR', KEYS[1]) \
         if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end \
         return {n, redis.call('TTL', KEYS[1])}",
    )
});

impl LoginLimiter {
    pub fn new(client: redis::Client, namespace: &str, limits: Limits) -> LoginLimiter {
        LoginLimiter {
            client,
            conn: Arc::new(OnceCell::new()),
            prefix: format!("{namespace}:ratelimit:login"),
            limits,
        }
    }

    async fn conn(&self) -> redis::RedisResult<ConnectionManager> {
        let cfg = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(0);
        self.conn
            .get_or_try_init(|| self.client.get_connection_manager_with_config(cfg))
            .await
            .cloned()
    }

    fn account_key(&self, email: &str) -> String {
        let digest = Sha256::digest(email.trim().to_lowercase().as_bytes());
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        format!("{}:account:{hex}", self.prefix)
    }

    /// Counts this attempt against the client address and refuses it if either limit
    /// is reached.
    pub async fn check(&self, email: &str, ip: Option<&str>) -> Result<(), ApiError> {
        match self.check_inner(email, ip).await {
            Ok(None) => Ok(()),
            Ok(Some(retry_after_secs)) => Err(ApiError::RateLimited { retry_after_secs }),
            Err(e) => {
                tracing::warn!(error = %e, "login rate limiter unavailable; allowing the attempt");
                Ok(())
            }
        }
    }

    async fn check_inner(&self, email: &str, ip: Option<&str>) -> redis::RedisResult<Option<u64>> {
        let mut conn = self.conn().await?;
        let account: (Option<u64>, i64) = redis::pipe()
            .get(self.account_key(email))
            .ttl(self.account_key(email))
            .query_async(&mut conn)
            .await?;
        if account.0.unwrap_or(0) >= self.limits.max_failures_per_account {
            return Ok(Some(account.1.max(1).unsigned_abs()));
        }
        if let Some(ip) = ip {
            let (n, ttl): (u64, i64) = INCR
                .key(format!("{}:ip:{ip}", self.prefix))
                .arg(self.limits.ip_window.as_secs().max(1))
                .invoke_async(&mut conn)
                .await?;
            if n > self.limits.max_attempts_per_ip {
                return Ok(Some(ttl.max(1).unsigned_abs()));
            }
        }
        Ok(None)
    }

    pub async fn record_failure(&self, email: &str) {
        let result: redis::RedisResult<(u64, i64)> = async {
            let mut conn = self.conn().await?;
            INCR.key(self.account_key(email))
                .arg(self.limits.account_window.as_secs().max(1))
                .invoke_async(&mut conn)
                .await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not count a failed login");
        }
    }

    pub async fn reset(&self, email: &str) {
        let result: redis::RedisResult<()> = async {
            let mut conn = self.conn().await?;
            redis::cmd("DEL")
                .arg(self.account_key(email))
                .query_async(&mut conn)
                .await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not reset failed-login count");
        }
    }
}
