//! `refresh_serving`: rebuilds a provider's serving aggregates (pipeline by stage and
//! owner, won revenue by month) from its canonical leads, in one transaction. A sync run
//! that read leads asks for it in the transaction that ends the run; rebuilding twice
//! gives the same figures, so a repeated delivery is harmless. A refresh with a later one
//! of the same provider still queued ends at once (the later one reads everything this
//! one would): Tentabo's own rows ask for one per change, and a burst costs one rebuild.
//! A refresh finding another one running does not wait (holding a connection): it
//! queues one more for after it and ends.

use tentabo_workflows::jobs::{JobOutcome, StartedJob, payloads};
use tentabo_workflows::lake;

use super::{Job, try_db};
use crate::runner::JobContext;

pub struct RefreshServing;

impl Job for RefreshServing {
    type Payload = payloads::RefreshServing;

    async fn run(ctx: &JobContext, job: &StartedJob, p: payloads::RefreshServing) -> JobOutcome {
        let done = try_db!(
            async {
                let mut conn = ctx.db.get().await?;
                if lake::refresh_superseded(&mut conn, job.id, &p.provider).await? {
                    tracing::debug!(provider = %p.provider, "a later refresh is queued; this one ends");
                    return Ok(true);
                }
                if lake::try_refresh_serving(&mut conn, &p.provider).await? {
                    return Ok(true);
                }
                // Another refresh is running, maybe from before this one's cause
                // committed: one more for after it (later ones will see it queued).
                tentabo_workflows::pipeline::request_refresh(
                    &mut conn,
                    &p.provider,
                    &format!("{}:after:{}", p.provider, job.id),
                )
                .await?;
                Ok::<_, tentabo_workflows::WorkflowError>(false)
            }
            .await
        );
        if !done {
            tracing::debug!(provider = %p.provider, "a refresh is running; another is queued for after it");
            return JobOutcome::Done;
        }
        tracing::info!(provider = %p.provider, "serving zone refreshed");
        JobOutcome::Done
    }
}
