//! Every job the worker runs, registered in one list ([`dispatch`]). One file per job;
//! a job takes ids in its payload, is idempotent and tolerates rows that have gone.

use std::future::Future;

use serde::de::DeserializeOwned;
use tentabo_workflows::jobs::{JobKind, JobOutcome, StartedJob};

use crate::runner::JobContext;

pub mod noop;

pub trait Job {
    const KIND: JobKind;
    type Payload: DeserializeOwned;
    fn run(
        ctx: &JobContext,
        job: &StartedJob,
        payload: Self::Payload,
    ) -> impl Future<Output = JobOutcome> + Send;
}

/// The registry: queue name → job.
pub async fn dispatch(ctx: &JobContext, job: &StartedJob) -> JobOutcome {
    match JobKind::from_queue(&job.queue) {
        Some(JobKind::Noop) => run::<noop::Noop>(ctx, job).await,
        None => JobOutcome::Fail(format!("no job is registered for queue `{}`", job.queue)),
    }
}

async fn run<J: Job>(ctx: &JobContext, job: &StartedJob) -> JobOutcome {
    match serde_json::from_value::<J::Payload>(job.payload.clone()) {
        Ok(payload) => J::run(ctx, job, payload).await,
        Err(e) => JobOutcome::Fail(format!("invalid payload for {}: {e}", J::KIND.queue())),
    }
}
