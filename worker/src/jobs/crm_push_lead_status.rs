//! `crm_push_lead_status`: pushes a lead to the CRM after it was created, edited or
//! moved. It sends the lead as it is when the job runs, with the CRM objects it is
//! already linked to, so a delayed or retried push never overwrites a newer state with
//! an older one; a push finding the CRM already agreeing with the lead's last change (a
//! later push went first, or the change came from the CRM) sends nothing.

use tentabo_workflows::WorkflowError;
use tentabo_workflows::jobs::{JobOutcome, StartedJob, payloads};
use tentabo_workflows::sales::crm;

use tentabo_workflows::providers::ProviderError;

use super::{Job, active_provider, provider_failure, try_db};
use crate::runner::JobContext;

pub struct CrmPushLeadStatus;

/// How long a push may hold its lead's lease (a push is a handful of calls, each
/// bounded by the provider's timeout and attempts).
const PUSH_LEASE: std::time::Duration = std::time::Duration::from_secs(300);
/// Rounds one job pushes for pushes handed to it before it lets another job take over.
const MAX_ROUNDS: usize = 5;

impl Job for CrmPushLeadStatus {
    type Payload = payloads::PushLeadStatus;

    async fn run(ctx: &JobContext, job: &StartedJob, p: payloads::PushLeadStatus) -> JobOutcome {
        let crm = active_provider!(ctx.platform.crm().await);
        // One push of a lead at a time. The holder is the job: its own retry (after a
        // crash, or a failed call) takes the lease back at once. A push finding the
        // lease taken hands its round to the holder, which pushes once more before it
        // lets go; the lease expires if its holder dies.
        let holder = uuid::Uuid::from_u64_pair(0, u64::try_from(job.id).unwrap_or_default());
        let mut leased = false;
        for _ in 0..3 {
            leased = try_db!(
                async {
                    let mut conn = ctx.db.get().await?;
                    crm::lease(&mut conn, p.lead_id, holder, PUSH_LEASE).await
                }
                .await
            );
            if leased {
                break;
            }
            let handed = try_db!(
                async {
                    let mut conn = ctx.db.get().await?;
                    crm::hand_off(&mut conn, p.lead_id).await
                }
                .await
            );
            if handed {
                tracing::info!(lead_id = %p.lead_id, version = p.version, "handed to the push running for this lead");
                return JobOutcome::Done;
            }
        }
        if !leased {
            return JobOutcome::Retry("the lead's push lease is contended".into());
        }
        for round in 0..MAX_ROUNDS {
            // Each round pushes another state: its own idempotency key.
            let key = if round == 0 {
                job.idempotency_key.clone()
            } else {
                format!("{}:round-{round}", job.idempotency_key)
            };
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
                Some((_, true)) => None,
                Some((l, false)) => Some(l),
            };
            if let Some(lead) = &lead {
                match crm.push_lead(lead, &key).await {
                    Ok(pushed) => try_db!(
                        async {
                            let mut conn = ctx.db.get().await?;
                            crm::record_push(&mut conn, lead, &pushed).await
                        }
                        .await
                    ),
                    // A transient failure keeps the lease: this job's retry resumes.
                    Err(e @ ProviderError::Transient(_)) => return provider_failure(e),
                    Err(e @ ProviderError::Permanent(_)) => {
                        try_db!(
                            async {
                                let mut conn = ctx.db.get().await?;
                                crm::give_up(&mut conn, p.lead_id, holder).await
                            }
                            .await
                        );
                        return provider_failure(e);
                    }
                }
            } else {
                tracing::info!(lead_id = %p.lead_id, version = p.version, "the CRM already holds this state; nothing to push");
            }
            let again = try_db!(
                async {
                    let mut conn = ctx.db.get().await?;
                    crm::release(&mut conn, p.lead_id, holder).await
                }
                .await
            );
            if !again {
                return JobOutcome::Done;
            }
        }
        JobOutcome::Retry("pushes of this lead keep arriving".into())
    }
}
