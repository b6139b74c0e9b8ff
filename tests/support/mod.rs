//! Test harness shared by the crates' integration tests (included with `#[path]`).
//! Every test gets its own database, cloned from a template migrated once, and its own
//! Redis key namespace; both are removed when the test ends.
#![allow(dead_code, unused_imports, clippy::unwrap_used)]

pub mod db;
pub mod redis_ns;

pub use db::TestDb;
pub use redis_ns::{PrivateRedis, TestRedis};

/// Polls `check` every 20 ms until it returns true or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: std::time::Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = std::time::Instant::now();
    loop {
        if check().await {
            return;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
