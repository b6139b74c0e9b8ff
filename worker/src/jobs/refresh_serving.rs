//! `refresh_serving`: rebuilds a provider's serving aggregates (pipeline by stage and
//! owner, won revenue by month) from its canonical leads, in one transaction. A sync run
//! that read leads asks for it in the transaction that ends the run; rebuilding twice
//! gives the same figures, so a repeated delivery is harmless.

use tentabo_workflows::jobs::{JobOutcome, StartedJob, payloads};
use tentabo_workflows::lake;

use super::{Job, try_db};
use crate::runner::JobContext;

pub struct RefreshServing;

impl Job for RefreshServing {
    type Payload = payloads::RefreshServing;

    async fn run(ctx: &JobContext, _job: &StartedJob, p: payloads::RefreshServing) -> JobOutcome {
        try_db!(
            async {
                let mut conn = ctx.db.get().await?;
                lake::refresh_serving(&mut conn, &p.provider).await
            }
            .await
        );
        tracing::info!(provider = %p.provider, "serving zone refreshed");
        JobOutcome::Done
    }
}
