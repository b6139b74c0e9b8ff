//! `crm_webhook_event`: processes one recorded CRM webhook event (the object it names
//! read again and applied the pull's way). Idempotent: a processed event is skipped;
//! a change already applied is found unchanged.

use tentabo_workflows::WorkflowError;
use tentabo_workflows::jobs::{JobOutcome, StartedJob, payloads};
use tentabo_workflows::providers::pipedrive::events;

use super::Job;
use crate::runner::JobContext;

pub struct CrmWebhookEvent;

impl Job for CrmWebhookEvent {
    type Payload = payloads::CrmWebhookEvent;

    async fn run(ctx: &JobContext, _job: &StartedJob, p: payloads::CrmWebhookEvent) -> JobOutcome {
        let client = match ctx.platform.pipedrive().await {
            Ok(Some(c)) => c,
            Ok(None) => return JobOutcome::Fail("Pipedrive is not configured".into()),
            Err(e) => return JobOutcome::Retry(format!("provider: {e}")),
        };
        let authz = match ctx.authz().await {
            Ok(a) => a,
            Err(e) => return JobOutcome::Fail(e.to_string()),
        };
        match events::process(&ctx.db, &client, authz, &p.event_id).await {
            Ok(outcome) => {
                tracing::info!(provider = %p.provider, event = %p.event_id, %outcome, "webhook event processed");
                JobOutcome::Done
            }
            Err(e @ WorkflowError::Invalid(_)) => JobOutcome::Fail(e.to_string()),
            Err(e) => JobOutcome::Retry(e.to_string()),
        }
    }
}
