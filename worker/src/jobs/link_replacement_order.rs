//! `link_replacement_order`: an upgraded or downgraded contract points at the order
//! that replaces it, and the order back at the contract.

use diesel_async::AsyncConnection;
use tentabo_workflows::WorkflowError;
use tentabo_workflows::jobs::{JobOutcome, StartedJob, payloads};
use tentabo_workflows::sales::contracts;

use super::{Job, try_db};
use crate::runner::JobContext;

pub struct LinkReplacementOrder;

impl Job for LinkReplacementOrder {
    type Payload = payloads::LinkReplacementOrder;

    async fn run(
        ctx: &JobContext,
        _job: &StartedJob,
        p: payloads::LinkReplacementOrder,
    ) -> JobOutcome {
        let linked = try_db!(
            async {
                let mut conn = ctx.db.get().await?;
                conn.transaction::<_, WorkflowError, _>(async |conn| {
                    contracts::link_replacement(conn, p.contract_id, p.order_id).await
                })
                .await
            }
            .await
        );
        if !linked {
            tracing::info!(contract_id = %p.contract_id, order_id = %p.order_id,
                "contract or order deleted; nothing linked");
        }
        JobOutcome::Done
    }
}
