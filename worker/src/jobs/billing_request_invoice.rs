//! `billing_request_invoice`: asks the billing provider for the invoice of a fulfilled
//! order's contract and records the invoice on the contract. It does not depend on
//! `create_active_contract` having run first: it activates the contract itself (the
//! same idempotent step), so the two jobs may run in any order.

use diesel_async::AsyncConnection;
use tentabo_workflows::WorkflowError;
use tentabo_workflows::jobs::{JobOutcome, StartedJob, payloads};
use tentabo_workflows::providers::{ContractSnapshot, ExternalRef};
use tentabo_workflows::sales::contracts::{self, Activation};
use tentabo_workflows::sales::effects;

use super::{Job, active_provider, provider_failure, try_db};
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
                let snapshot = match effects::order(&mut conn, p.order_id).await? {
                    Some(order) => {
                        let quote = order
                            .billing_quote_id
                            .clone()
                            .zip(order.billing_provider.clone());
                        let snapshot = effects::order_snapshot(&mut conn, &order).await?;
                        Some((snapshot, quote))
                    }
                    None => None,
                };
                Ok::<_, WorkflowError>((activation, snapshot))
            }
            .await
        );
        let (contract, (order, quote)) = match found {
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
            order,
            quote: quote.map(|(external_id, provider)| ExternalRef {
                provider,
                external_id,
            }),
        };
        let billing = active_provider!(ctx.platform.billing().await);
        let answer = match billing
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
