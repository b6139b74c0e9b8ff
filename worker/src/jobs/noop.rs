//! `noop`: does nothing, to prove the path outbox → relay → Redis → worker → ledger
//! (`tentabo-worker jobs ping`). Optional fault injection lets operators and tests
//! rehearse retries, dead letters and graceful shutdown.

use std::time::Duration;

use serde::Deserialize;
use tentabo_workflows::jobs::{JobKind, JobOutcome, StartedJob};

use super::Job;
use crate::runner::JobContext;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoopPayload {
    /// Fail (retryably) while the attempt number is at most this.
    #[serde(default)]
    pub fail_attempts: i32,
    /// Fail permanently on the first attempt.
    #[serde(default)]
    pub fail_permanently: bool,
    /// Sleep this long before finishing (milliseconds).
    #[serde(default)]
    pub sleep_ms: u64,
}

pub struct Noop;

impl Job for Noop {
    const KIND: JobKind = JobKind::Noop;
    type Payload = NoopPayload;

    async fn run(_ctx: &JobContext, job: &StartedJob, payload: NoopPayload) -> JobOutcome {
        if payload.sleep_ms > 0 {
            tokio::time::sleep(Duration::from_millis(payload.sleep_ms)).await;
        }
        if payload.fail_permanently {
            return JobOutcome::Fail("asked to fail permanently".into());
        }
        if job.attempts <= payload.fail_attempts {
            return JobOutcome::Retry(format!("asked to fail attempt {}", job.attempts));
        }
        JobOutcome::Done
    }
}
