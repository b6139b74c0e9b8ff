//! `crm_push_lead_status`: pushes a lead's status to the CRM after a transition. It
//! sends the lead as it is when the job runs, so a delayed or retried push never
//! overwrites a newer status with an older one; the effect's key makes the CRM apply
//! each push once.

use tentabo_workflows::jobs::{JobOutcome, StartedJob, payloads};
use tentabo_workflows::sales::effects;

use super::{Job, active_provider, provider_failure, try_db};
use crate::runner::JobContext;

pub struct CrmPushLeadStatus;

impl Job for CrmPushLeadStatus {
    type Payload = payloads::PushLeadStatus;

    async fn run(ctx: &JobContext, job: &StartedJob, p: payloads::PushLeadStatus) -> JobOutcome {
        let lead = try_db!(
            async {
                let mut conn = ctx.db.get().await?;
                effects::lead_snapshot(&mut conn, p.lead_id).await
            }
            .await
        );
        let Some(lead) = lead else {
            tracing::info!(lead_id = %p.lead_id, "lead deleted; nothing to push");
            return JobOutcome::Done;
        };
        let crm = active_provider!(ctx.platform.crm().await);
        let answer = match crm.push_lead_status(&lead, &job.idempotency_key).await {
            Ok(a) => a,
            Err(e) => return provider_failure(e),
        };
        try_db!(
            async {
                let mut conn = ctx.db.get().await?;
                effects::record_crm_push(&mut conn, p.lead_id, &answer).await
            }
            .await
        );
        JobOutcome::Done
    }
}
