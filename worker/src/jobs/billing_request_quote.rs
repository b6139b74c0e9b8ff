//! `billing_request_quote`: asks the billing provider for a quote of a sent order and
//! records the quote's id on the order.

use tentabo_workflows::jobs::{JobOutcome, StartedJob, payloads};
use tentabo_workflows::sales::effects;

use super::{Job, active_provider, provider_failure, try_db};
use crate::runner::JobContext;

pub struct BillingRequestQuote;

impl Job for BillingRequestQuote {
    type Payload = payloads::RequestQuote;

    async fn run(ctx: &JobContext, job: &StartedJob, p: payloads::RequestQuote) -> JobOutcome {
        let snapshot = try_db!(
            async {
                let mut conn = ctx.db.get().await?;
                match effects::order(&mut conn, p.order_id).await? {
                    Some(order) => effects::order_snapshot(&mut conn, &order).await.map(Some),
                    None => Ok(None),
                }
            }
            .await
        );
        let Some(snapshot) = snapshot else {
            tracing::info!(order_id = %p.order_id, "order deleted; no quote requested");
            return JobOutcome::Done;
        };
        let billing = active_provider!(ctx.platform.billing().await);
        let answer = match billing.create_quote(&snapshot, &job.idempotency_key).await {
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
