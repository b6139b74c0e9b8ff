//! The one apalis handler every queue runs: it turns a delivery into a ledger-tracked
//! run. Start the attempt (skipping stale or duplicate deliveries), run the job, record
//! the outcome. It always acknowledges the delivery to apalis-redis: retries, backoff
//! and the dead-letter state are the ledger's (apalis-redis 1.0 ignores `max_attempts`
//! and keeps retries in a scheduled set that breaks its fetch past ~8,000 entries).

use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::{BoxDynError, Data};
use tentabo_schema::DbPool;
use tentabo_workflows::WorkflowError;
use tentabo_workflows::jobs::{self, JobEnvelope, JobOutcome, Settled, StartedJob};
use tentabo_workflows::providers::platform::Platform;
use tentabo_workflows::retry::{Failure, GaveUp, RetryPolicy};

pub struct JobContext {
    pub db: DbPool,
    pub retry: RetryPolicy,
    /// The provider platform: effect jobs call the provider active when they run.
    pub platform: Arc<Platform>,
    /// The contract-expiry scan's window (days).
    pub contract_expiry_days: i32,
    /// Whether the scan drafts renewal orders.
    pub renewal_mode: tentabo_workflows::sales::contracts::RenewalMode,
    /// Where notification emails go out (none: recorded as skipped).
    pub mailer: Option<tentabo_workflows::notifications::Mailer>,
    /// How often a running job's lease is renewed (a third of the run timeout).
    pub lease_renewal: Duration,
    /// How sync runs page, look back and resolve conflicts.
    pub sync: tentabo_workflows::pipeline::run::Options,
    /// Whether a sync run ends by handing the allocator's free pages back.
    pub release_memory: bool,
    /// The permission model (changes a CRM makes go through the transition service).
    pub authz: Arc<tokio::sync::OnceCell<tentabo_workflows::authz::Authorizer>>,
}

impl JobContext {
    /// The permission model, loaded on first use.
    pub async fn authz(
        &self,
    ) -> Result<&tentabo_workflows::authz::Authorizer, tentabo_workflows::WorkflowError> {
        self.authz
            .get_or_try_init(tentabo_workflows::authz::Authorizer::load)
            .await
    }
}

pub async fn handle(envelope: JobEnvelope, ctx: Data<Arc<JobContext>>) -> Result<(), BoxDynError> {
    if let Err(e) = process(&ctx, envelope).await {
        // The row keeps its state; the relay's sweep redelivers it.
        tracing::warn!(outbox_id = envelope.outbox_id, error = %e, "job delivery not processed");
    }
    Ok(())
}

#[tracing::instrument(skip_all, fields(outbox_id = envelope.outbox_id, attempt = envelope.attempt))]
pub async fn process(
    ctx: &JobContext,
    envelope: JobEnvelope,
) -> Result<Option<Settled>, WorkflowError> {
    let started = {
        let mut conn = ctx.db.get().await?;
        jobs::start_attempt(&mut conn, envelope).await?
    };
    let Some(job) = started else {
        tracing::debug!("stale or duplicate delivery ignored");
        return Ok(None);
    };
    // While the job runs, its lease is renewed: only a dead worker's job times out.
    let outcome = tokio::select! {
        biased;
        outcome = tentabo_workflows::outbound::with_context(
            tentabo_workflows::outbound::CallContext { job_id: Some(job.id), request_id: None },
            crate::jobs::dispatch(ctx, &job),
        ) => outcome,
        never = renew_lease(ctx, &job) => match never {},
    };
    let settled = record(ctx, &job, &outcome).await?;
    metrics::counter!("jobs_finished_total", "queue" => job.queue.clone(), "outcome" => match settled {
        Settled::Done => "done",
        Settled::RetryAt(_) => "retry",
        Settled::Dead => "dead",
    })
    .increment(1);
    match (&outcome, settled) {
        (JobOutcome::Done, _) => tracing::debug!(queue = %job.queue, "job done"),
        (JobOutcome::Retry(e) | JobOutcome::Fail(e), Settled::Dead) => {
            tracing::error!(queue = %job.queue, error = %e, attempts = job.attempts, "job dead-lettered");
            tentabo_workflows::errors_report::report(
                &format!(
                    "job {} dead after {} attempt(s): {e}",
                    job.queue, job.attempts
                ),
                &[("job_id", job.id.to_string()), ("queue", job.queue.clone())],
            );
        }
        (JobOutcome::Retry(e) | JobOutcome::Fail(e), _) => {
            tracing::warn!(queue = %job.queue, error = %e, attempts = job.attempts, "job failed; retry scheduled");
        }
    }
    Ok(Some(settled))
}

/// Renews the running attempt's lease every third of the run timeout, for as long as
/// the job runs (never returns).
async fn renew_lease(ctx: &JobContext, job: &StartedJob) -> std::convert::Infallible {
    loop {
        tokio::time::sleep(ctx.lease_renewal).await;
        let renewed = async {
            let mut conn = ctx.db.get().await?;
            jobs::renew_lease(&mut conn, job.id, job.attempts).await
        }
        .await;
        if let Err(e) = renewed {
            tracing::warn!(error = %e, "renewing a job's lease failed");
        }
    }
}

/// Records the outcome, retrying briefly if Postgres blips: losing this write would
/// make the sweep run the job again.
async fn record(
    ctx: &JobContext,
    job: &StartedJob,
    outcome: &JobOutcome,
) -> Result<Settled, WorkflowError> {
    let quick = RetryPolicy {
        initial: Duration::from_millis(50),
        max: Duration::from_secs(5),
        multiplier: 2.0,
        retry_after_cap: Duration::from_secs(5),
        randomization: 0.3,
    };
    quick
        .run("recording a job's outcome", 9, |_| async {
            let mut conn = ctx
                .db
                .get()
                .await
                .map_err(|e| Failure::transient(e.into()))?;
            jobs::finish_attempt(&mut conn, job, outcome, &ctx.retry)
                .await
                .map_err(Failure::transient)
        })
        .await
        .map_err(|g: GaveUp<WorkflowError>| g.error)
}

/// Runs every job that is due now, in this process, until none is (tests, and ops
/// draining a queue by hand): the same start → dispatch → record path as a delivery
/// from Redis, without the relay or Redis. A retry scheduled for later is not due, so
/// this ends; `max_runs` bounds a job that keeps re-enqueueing work. Returns how each
/// run settled, in order.
pub async fn drain(
    ctx: &JobContext,
    max_runs: usize,
) -> Result<Vec<(i64, Settled)>, WorkflowError> {
    let queues: Vec<&str> = jobs::JobKind::ALL.iter().map(|k| k.queue()).collect();
    let mut ran = Vec::new();
    while ran.len() < max_runs {
        let claimed = {
            let mut conn = ctx.db.get().await?;
            let mut claimed = Vec::new();
            for queue in jobs::due_queues(&mut conn, &queues).await? {
                let limit = i64::try_from(max_runs - ran.len()).unwrap_or(i64::MAX);
                claimed.extend(
                    jobs::claim_due(&mut conn, &queue, "drain", limit, ctx.lease_renewal * 3)
                        .await?,
                );
            }
            claimed
        };
        if claimed.is_empty() {
            break;
        }
        for c in claimed {
            if let Some(settled) = process(ctx, c.envelope()).await? {
                ran.push((c.id, settled));
            }
        }
    }
    Ok(ran)
}
