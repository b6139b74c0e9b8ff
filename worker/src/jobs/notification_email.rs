//! `notification_email`: emails one notification to its person through SMTP (the
//! outbound layer: timeout, breaker, call log). Idempotent: a notification already sent
//! (or skipped for want of a mail server) is left alone. A refused or unreachable server
//! is retried with backoff; a notification gone (its user deleted) ends the job.

use tentabo_workflows::WorkflowError;
use tentabo_workflows::jobs::{JobOutcome, StartedJob, payloads};
use tentabo_workflows::notifications::{self, Emailed};

use super::Job;
use crate::runner::JobContext;

pub struct NotificationEmail;

impl Job for NotificationEmail {
    type Payload = payloads::NotificationEmail;

    async fn run(
        ctx: &JobContext,
        _job: &StartedJob,
        p: payloads::NotificationEmail,
    ) -> JobOutcome {
        let result = async {
            let mut conn = ctx.db.get().await?;
            notifications::email(&mut conn, ctx.mailer.as_ref(), p.notification_id).await
        }
        .await;
        match result {
            Ok(outcome) => {
                tracing::info!(notification_id = %p.notification_id, ?outcome, "notification email");
                if outcome == Emailed::Skipped {
                    tracing::warn!("no mail server configured (TENTABO_SMTP_URL): email skipped");
                }
                JobOutcome::Done
            }
            Err(e @ (WorkflowError::NotFound | WorkflowError::Invalid(_))) => {
                JobOutcome::Fail(e.to_string())
            }
            Err(e) => JobOutcome::Retry(e.to_string()),
        }
    }
}
