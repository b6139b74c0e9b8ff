//! `noop`: does nothing, to prove the path outbox → relay → Redis → worker → ledger
//! (`tentabo-worker jobs ping`). Optional fault injection lets operators and tests
//! rehearse retries, dead letters and graceful shutdown.

use std::time::Duration;

use tentabo_workflows::jobs::{JobOutcome, StartedJob, payloads};

use super::Job;
use crate::runner::JobContext;

pub struct Noop;

impl Job for Noop {
    type Payload = payloads::Noop;

    async fn run(_ctx: &JobContext, job: &StartedJob, payload: payloads::Noop) -> JobOutcome {
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
