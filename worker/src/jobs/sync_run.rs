//! `sync_run`: runs (or resumes) one sync run. Each attempt restarts from the run's
//! last committed page, so a retry after a crash or an unreachable source loses and
//! doubles nothing. Bad credentials or an Odoo-side error fail at once (retrying will
//! not help); an unreachable source is retried with backoff. Once an attempt ends, the
//! allocator's free pages go back to the system (`memory::release`).

use tentabo_workflows::WorkflowError;
use tentabo_workflows::jobs::{JobOutcome, StartedJob, payloads};
use tentabo_workflows::pipeline::run;
use tentabo_workflows::providers::odoo::OdooClient;

use super::Job;
use crate::runner::JobContext;

pub struct SyncRun;

impl Job for SyncRun {
    type Payload = payloads::SyncRun;

    async fn run(ctx: &JobContext, _job: &StartedJob, p: payloads::SyncRun) -> JobOutcome {
        let provider = match async {
            let mut conn = ctx.db.get().await?;
            run::get(&mut conn, p.run_id).await
        }
        .await
        {
            Ok(view) => view.provider,
            Err(e @ WorkflowError::NotFound) => return JobOutcome::Fail(e.to_string()),
            Err(e) => return JobOutcome::Retry(format!("database: {e}")),
        };
        if provider == tentabo_workflows::pipeline::pennylane::PROVIDER {
            return pennylane(ctx, p).await;
        }
        if provider == tentabo_workflows::pipeline::pipedrive::PROVIDER {
            return pipedrive(ctx, p).await;
        }
        let config = match ctx.platform.erp().await {
            Ok(Some(config)) => config,
            Ok(None) => {
                return abandon(
                    ctx,
                    p,
                    "no ERP source is active (configure and activate `erp/odoo`)",
                )
                .await;
            }
            Err(e) => return JobOutcome::Retry(format!("provider: {e}")),
        };
        let mut client = OdooClient::new(config, ctx.platform.outbound().clone());
        let result = run::execute(&ctx.db, &mut client, p.run_id, ctx.sync.clone()).await;
        drop(client);
        // A run frees a few pages' worth of records thousands of times: hand the free
        // pages back, so the worker's resident memory returns to its baseline.
        if ctx.release_memory {
            crate::memory::release();
        }
        outcome(ctx, p, result).await
    }
}

/// A Pennylane invoice run (invoice and payment status back into the lake).
async fn pennylane(ctx: &JobContext, p: payloads::SyncRun) -> JobOutcome {
    let client = match ctx.platform.pennylane().await {
        Ok(Some(c)) => c,
        Ok(None) => return abandon(ctx, p, "Pennylane is not configured").await,
        Err(e) => return JobOutcome::Retry(format!("provider: {e}")),
    };
    let result = tentabo_workflows::pipeline::pennylane::execute(
        &ctx.db,
        &client,
        p.run_id,
        ctx.sync.conflicts,
        ctx.sync.default_country.as_deref(),
    )
    .await;
    outcome(ctx, p, result).await
}

/// A Pipedrive run (deals, inbox items, persons, organizations or activities).
async fn pipedrive(ctx: &JobContext, p: payloads::SyncRun) -> JobOutcome {
    let client = match ctx.platform.pipedrive().await {
        Ok(Some(c)) => c,
        Ok(None) => return abandon(ctx, p, "Pipedrive is not configured").await,
        Err(e) => return JobOutcome::Retry(format!("provider: {e}")),
    };
    let authz = match ctx.authz().await {
        Ok(a) => a,
        Err(e) => return JobOutcome::Fail(e.to_string()),
    };
    let run_ctx = tentabo_workflows::pipeline::pipedrive::Context {
        db: &ctx.db,
        client: &client,
        authz,
        default_country: ctx.sync.default_country.as_deref(),
    };
    let result =
        tentabo_workflows::pipeline::pipedrive::execute(&run_ctx, p.run_id, ctx.sync.conflicts)
            .await;
    if ctx.release_memory {
        crate::memory::release();
    }
    outcome(ctx, p, result).await
}

/// A run that cannot start ends `failed` with the reason (so it blocks no later run and
/// whoever follows it sees why), and the job fails without retrying.
async fn abandon(ctx: &JobContext, p: payloads::SyncRun, error: &str) -> JobOutcome {
    let marked = async {
        let mut conn = ctx.db.get().await?;
        run::abandon(&mut conn, p.run_id, error).await
    }
    .await;
    match marked {
        Ok(()) => JobOutcome::Fail(error.to_owned()),
        Err(e) => JobOutcome::Retry(format!("database: {e}")),
    }
}

async fn outcome(
    ctx: &JobContext,
    p: payloads::SyncRun,
    result: Result<run::Totals, WorkflowError>,
) -> JobOutcome {
    // The run's figures, once it ended (an attempt that failed counts as a failed run).
    if let Ok(mut conn) = ctx.db.get().await
        && let Ok(view) = run::get(&mut conn, p.run_id).await
        && crate::ops::finished(&view.status)
    {
        crate::observe::sync_run(&view);
    }
    match result {
        Ok(totals) => {
            tracing::info!(run_id = %p.run_id, ?totals, "sync run finished");
            JobOutcome::Done
        }
        Err(e @ (WorkflowError::Invalid(_) | WorkflowError::NotFound)) => {
            JobOutcome::Fail(e.to_string())
        }
        Err(e) => JobOutcome::Retry(e.to_string()),
    }
}
