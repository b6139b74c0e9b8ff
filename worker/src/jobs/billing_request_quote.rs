//! `billing_request_quote`: asks the billing provider for a quote of a sent order and
//! records the quote's id on the order.

use tentabo_workflows::jobs::{JobOutcome, StartedJob, payloads};
use tentabo_workflows::sales::effects;

use super::{Job, provider_failure, try_db};
use crate::runner::JobContext;

pub struct BillingRequestQuote;

impl Job for BillingRequestQuote {
    type Payload = payloads::RequestQuote;

    async fn run(ctx: &JobContext, job: &StartedJob, p: payloads::RequestQuote) -> JobOutcome {
        let order = try_db!(
            async {
                let mut conn = ctx.db.get().await?;
                effects::order(&mut conn, p.order_id).await
            }
            .await
        );
        let Some(order) = order else {
            tracing::info!(order_id = %p.order_id, "order deleted; no quote requested");
            return JobOutcome::Done;
        };
        let answer = match ctx
            .providers
            .billing
            .create_quote(&effects::order_snapshot(&order), &job.idempotency_key)
            .await
        {
            Ok(a) => a,
            Err(e) => return provider_failure(e),
        };
        try_db!(
            async {
                let mut conn = ctx.db.get().await?;
                effects::record_quote(&mut conn, p.order_id, &answer).await
            }
            .await
        );
        JobOutcome::Done
    }
}
