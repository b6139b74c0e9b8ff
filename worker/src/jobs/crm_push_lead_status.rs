//! `crm_push_lead_status`: pushes a lead to the CRM after it was created, edited or
//! moved. It sends the lead as it is when the job runs, with the CRM objects it is
//! already linked to, so a delayed or retried push never overwrites a newer state with
//! an older one; a push finding the CRM already agreeing with the lead's last change (a
//! later push went first, or the change came from the CRM) sends nothing.

use tentabo_workflows::WorkflowError;
use tentabo_workflows::jobs::{JobOutcome, StartedJob, payloads};
use tentabo_workflows::sales::crm;

use super::{Job, active_provider, provider_failure, try_db};
use crate::runner::JobContext;

pub struct CrmPushLeadStatus;

/// How long a push may hold its lead's lease.
const PUSH_LEASE: std::time::Duration = std::time::Duration::from_secs(600);

impl Job for CrmPushLeadStatus {
    type Payload = payloads::PushLeadStatus;

    async fn run(ctx: &JobContext, job: &StartedJob, p: payloads::PushLeadStatus) -> JobOutcome {
        let crm = active_provider!(ctx.platform.crm().await);
        // The lead now, and whether the CRM already agrees with its last change.
        let found = try_db!(
            async {
                let mut conn = ctx.db.get().await?;
                match crm::lead_snapshot(&mut conn, p.lead_id, crm.name()).await? {
                    Some(l) => {
                        let synced = crm::already_synced(&mut conn, &l, crm.name()).await?;
                        Ok::<_, WorkflowError>(Some((l, synced)))
                    }
                    None => Ok(None),
                }
            }
            .await
        );
        let lead = match found {
            None => {
                tracing::info!(lead_id = %p.lead_id, "lead deleted; nothing to push");
                return JobOutcome::Done;
            }
            Some((_, true)) => {
                tracing::info!(lead_id = %p.lead_id, version = p.version, "the CRM already holds this state; nothing to push");
                return JobOutcome::Done;
            }
            Some((l, false)) => l,
        };
        // One push of a lead at a time; the lease outlives the provider calls' worst
        // case (attempts × timeout) and expires if this worker dies.
        let holder = uuid::Uuid::now_v7();
        let leased = try_db!(
            async {
                let mut conn = ctx.db.get().await?;
                crm::lease(&mut conn, p.lead_id, holder, PUSH_LEASE).await
            }
            .await
        );
        if !leased {
            return JobOutcome::Retry("another push of this lead is running".into());
        }
        let pushed = crm.push_lead(&lead, &job.idempotency_key).await;
        let recorded = async {
            let mut conn = ctx.db.get().await?;
            if let Ok(pushed) = &pushed {
                crm::record_push(&mut conn, &lead, pushed).await?;
            }
            crm::release(&mut conn, p.lead_id, holder).await
        }
        .await;
        match (pushed, recorded) {
            (Err(e), _) => provider_failure(e),
            (Ok(_), Err(e)) => JobOutcome::Retry(format!("database: {e}")),
            (Ok(_), Ok(())) => JobOutcome::Done,
        }
    }
}
