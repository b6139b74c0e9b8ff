//! `billing_request_invoice`: asks the billing provider for the invoice of a fulfilled
//! order's contract and records the invoice on the contract. It does not depend on
//! `create_active_contract` having run first: it activates the contract itself (the
//! same idempotent step), so the two jobs may run in any order.

use diesel_async::AsyncConnection;
use tentabo_workflows::WorkflowError;
use tentabo_workflows::jobs::{JobOutcome, StartedJob, payloads};
use tentabo_workflows::providers::ContractSnapshot;
use tentabo_workflows::sales::contracts::{self, Activation};
use tentabo_workflows::sales::effects;

use super::{Job, provider_failure, try_db};
use crate::runner::JobContext;

pub struct BillingRequestInvoice;

impl Job for BillingRequestInvoice {
    type Payload = payloads::RequestInvoice;

    async fn run(ctx: &JobContext, job: &StartedJob, p: payloads::RequestInvoice) -> JobOutcome {
        let found = try_db!(
            async {
                let mut conn = ctx.db.get().await?;
                let activation = conn
                    .transaction::<_, WorkflowError, _>(async |conn| {
                        contracts::activate_for_order(conn, p.order_id).await
                    })
                    .await?;
                let order = effects::order(&mut conn, p.order_id).await?;
                Ok::<_, WorkflowError>((activation, order))
            }
            .await
        );
        let (contract, order) = match found {
            (Activation::Active(c), Some(o)) => (c, o),
            (Activation::NotFulfilled(state), _) => {
                return JobOutcome::Fail(format!("order {} is {state}, not fulfilled", p.order_id));
            }
            _ => {
                tracing::info!(order_id = %p.order_id, "order deleted; no invoice requested");
                return JobOutcome::Done;
            }
        };
        let snapshot = ContractSnapshot {
            contract_id: contract.id,
            order: effects::order_snapshot(&order),
        };
        let answer = match ctx
            .providers
            .billing
            .create_invoice(&snapshot, &job.idempotency_key)
            .await
        {
            Ok(a) => a,
            Err(e) => return provider_failure(e),
        };
        try_db!(
            async {
                let mut conn = ctx.db.get().await?;
                contracts::add_invoice(
                    &mut conn,
                    contract.id,
                    &answer.provider,
                    &answer.external_id,
                )
                .await
            }
            .await
        );
        JobOutcome::Done
    }
}
