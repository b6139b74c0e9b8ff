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

/// A child process (a worker binary) killed and reaped when the guard drops, so a test
/// that fails an assertion never leaves it running.
pub struct ChildGuard(pub std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl std::ops::Deref for ChildGuard {
    type Target = std::process::Child;
    fn deref(&self) -> &std::process::Child {
        &self.0
    }
}

impl std::ops::DerefMut for ChildGuard {
    fn deref_mut(&mut self) -> &mut std::process::Child {
        &mut self.0
    }
}
