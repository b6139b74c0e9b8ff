//! `create_active_contract`: a fulfilled order gets its Active contract, running for
//! the order's longest subscription. One contract per order, however often this runs.

use diesel_async::AsyncConnection;
use tentabo_workflows::WorkflowError;
use tentabo_workflows::jobs::{JobOutcome, StartedJob, payloads};
use tentabo_workflows::sales::contracts::{self, Activation};

use super::{Job, try_db};
use crate::runner::JobContext;

pub struct CreateActiveContract;

impl Job for CreateActiveContract {
    type Payload = payloads::CreateActiveContract;

    async fn run(
        ctx: &JobContext,
        _job: &StartedJob,
        p: payloads::CreateActiveContract,
    ) -> JobOutcome {
        let activation = try_db!(
            async {
                let mut conn = ctx.db.get().await?;
                conn.transaction::<_, WorkflowError, _>(async |conn| {
                    contracts::activate_for_order(conn, p.order_id).await
                })
                .await
            }
            .await
        );
        match activation {
            Activation::Active(c) => {
                tracing::info!(order_id = %p.order_id, contract_id = %c.id, "contract active");
                JobOutcome::Done
            }
            Activation::NoOrder => JobOutcome::Done,
            // The job is written in the transaction that fulfils the order, so the order
            // is fulfilled by the time it runs; anything else is a data error.
            Activation::NotFulfilled(state) => {
                JobOutcome::Fail(format!("order {} is {state}, not fulfilled", p.order_id))
            }
        }
    }
}
