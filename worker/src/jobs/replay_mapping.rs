//! `replay_mapping`: rebuilds the canonical rows of a mapping version's object from the
//! raw zone once the version became active (no call to the source). The replay is a
//! sync run of mode `replay`, created once per activation and resumed from its last
//! committed page by every later attempt; a sync run of the same model queued or
//! running meanwhile makes the job wait and retry. A version no longer active when the
//! job starts has nothing to replay (its successor's job does).

use tentabo_workflows::WorkflowError;
use tentabo_workflows::jobs::{JobOutcome, StartedJob, payloads};
use tentabo_workflows::pipeline::run::{self, ReplayOutcome};

use super::Job;
use crate::runner::JobContext;

pub struct ReplayMapping;

impl Job for ReplayMapping {
    type Payload = payloads::ReplayMapping;

    async fn run(ctx: &JobContext, _job: &StartedJob, p: payloads::ReplayMapping) -> JobOutcome {
        let result = run::replay_version(&ctx.db, p.version_id, ctx.sync.clone()).await;
        if ctx.release_memory {
            crate::memory::release();
        }
        match result {
            Ok(ReplayOutcome::Done { run_id, totals }) => {
                tracing::info!(version_id = %p.version_id, %run_id, ?totals, "mapping replay finished");
                JobOutcome::Done
            }
            Ok(ReplayOutcome::Superseded) => {
                tracing::info!(version_id = %p.version_id, "mapping version no longer active; nothing to replay");
                JobOutcome::Done
            }
            Err(e @ (WorkflowError::Invalid(_) | WorkflowError::NotFound)) => {
                JobOutcome::Fail(e.to_string())
            }
            Err(e) => JobOutcome::Retry(e.to_string()),
        }
    }
}
