//! `contract_expiry_scan`: flags the active contracts whose expiration falls within the
//! configured number of days (`renewal_due_at`), drafts their renewal orders
//! (`TENTABO_RENEWAL_MODE=draft`) and notifies their owners and distributors, each
//! notification with its `notification_email` job. The nightly schedule writes one outbox
//! row per day (its key is the date), so several workers schedule it once.

use tentabo_workflows::jobs::{JobOutcome, StartedJob, payloads};
use tentabo_workflows::sales::contracts;

use super::{Job, try_db};
use crate::runner::JobContext;

pub struct ContractExpiryScan;

impl Job for ContractExpiryScan {
    type Payload = payloads::ContractExpiryScan;

    async fn run(
        ctx: &JobContext,
        _job: &StartedJob,
        p: payloads::ContractExpiryScan,
    ) -> JobOutcome {
        let days = p.within_days.unwrap_or(ctx.contract_expiry_days);
        let flagged = try_db!(
            async {
                let mut conn = ctx.db.get().await?;
                contracts::flag_expiring(&mut conn, days, ctx.renewal_mode).await
            }
            .await
        );
        tracing::info!(day = %p.day, within_days = days, flagged, "contract expiry scan done");
        JobOutcome::Done
    }
}
