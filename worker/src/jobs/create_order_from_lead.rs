//! `create_order_from_lead`: a converted lead becomes an order (`created`, no lines
//! yet), owned like the lead and linked both ways. Creating it twice creates one.

use diesel_async::AsyncConnection;
use tentabo_workflows::WorkflowError;
use tentabo_workflows::jobs::{JobOutcome, StartedJob, payloads};
use tentabo_workflows::sales::orders;

use super::{Job, try_db};
use crate::runner::JobContext;

pub struct CreateOrderFromLead;

impl Job for CreateOrderFromLead {
    type Payload = payloads::CreateOrderFromLead;

    async fn run(
        ctx: &JobContext,
        _job: &StartedJob,
        p: payloads::CreateOrderFromLead,
    ) -> JobOutcome {
        let order = try_db!(
            async {
                let mut conn = ctx.db.get().await?;
                conn.transaction::<_, WorkflowError, _>(async |conn| {
                    orders::create_from_lead(conn, p.lead_id).await
                })
                .await
            }
            .await
        );
        match order {
            Some(order_id) => tracing::info!(lead_id = %p.lead_id, %order_id, "lead converted"),
            None => tracing::info!(lead_id = %p.lead_id, "lead deleted; no order created"),
        }
        JobOutcome::Done
    }
}
