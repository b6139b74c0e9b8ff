//! `crm_push_activity`: an activity created in Tentabo, pushed to the CRM on the
//! lead's deal (or inbox item). Idempotent: an activity already pushed is skipped, and
//! the CRM's id is recorded with it.

use tentabo_workflows::jobs::{JobOutcome, StartedJob, payloads};
use tentabo_workflows::sales::activities;

use super::{Job, provider_failure, try_db};
use crate::runner::JobContext;

pub struct CrmPushActivity;

impl Job for CrmPushActivity {
    type Payload = payloads::CrmPushActivity;

    async fn run(ctx: &JobContext, _job: &StartedJob, p: payloads::CrmPushActivity) -> JobOutcome {
        let pending = try_db!(
            async {
                let mut conn = ctx.db.get().await?;
                activities::pending(&mut conn, p.activity_id).await
            }
            .await
        );
        let Some(pending) = pending else {
            return JobOutcome::Done;
        };
        // Activities go to Pipedrive while it is the active CRM; with another one (the
        // recording stand-in) they stay in Tentabo.
        match ctx.platform.crm().await {
            Ok(crm) if crm.name() == tentabo_workflows::providers::registry::PIPEDRIVE => {}
            Ok(crm) => {
                tracing::info!(activity = %p.activity_id, crm = crm.name(), "the active CRM takes no activities; kept in Tentabo");
                return JobOutcome::Done;
            }
            Err(e) => return JobOutcome::Retry(format!("provider: {e}")),
        }
        let client = match ctx.platform.pipedrive().await {
            Ok(Some(c)) => c,
            Ok(None) => return JobOutcome::Fail("Pipedrive is not configured".into()),
            Err(e) => return JobOutcome::Retry(format!("provider: {e}")),
        };
        // A retry after a timeout finds the activity by its marker.
        let (key, id) = match (&pending.deal_id, &pending.lead_item) {
            (Some(d), _) => ("deal_id", d.clone()),
            (None, Some(l)) => ("lead_id", l.clone()),
            // Not linked yet (the lead's own push has not run): try again later.
            (None, None) => return JobOutcome::Retry("the lead is not in the CRM yet".into()),
        };
        let marker = activities::marker(p.activity_id);
        let found = match client.activities_of(key, &id).await {
            Ok(list) => list
                .into_iter()
                .find(|a| a.note.as_deref().is_some_and(|n| n.contains(&marker))),
            Err(e) => return provider_failure(e),
        };
        let created = match found {
            Some(a) => a,
            None => match client.create_activity(pending.body()).await {
                Ok(a) => a,
                Err(e) => return provider_failure(e),
            },
        };
        try_db!(
            async {
                let mut conn = ctx.db.get().await?;
                activities::record_push(&mut conn, p.activity_id, &created).await
            }
            .await
        );
        JobOutcome::Done
    }
}
