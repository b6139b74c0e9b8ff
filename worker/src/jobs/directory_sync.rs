//! `directory_sync`: brings the active LDAP directory's users over (the nightly
//! schedule writes one outbox row per day). Users gone from the directory, or from
//! every mapped group, are disabled and their sessions revoked; the others' role,
//! organisation, name and email follow the directory. Idempotent: a second run finds
//! nothing left to change.

use tentabo_workflows::WorkflowError;
use tentabo_workflows::audit::AuditContext;
use tentabo_workflows::identity::auth::{AuthProvider, LdapAuthProvider};
use tentabo_workflows::jobs::{JobOutcome, StartedJob, payloads};

use super::Job;
use crate::runner::JobContext;

pub struct DirectorySync;

impl Job for DirectorySync {
    type Payload = payloads::DirectorySync;

    async fn run(ctx: &JobContext, job: &StartedJob, p: payloads::DirectorySync) -> JobOutcome {
        let directory = match ctx.platform.directory().await {
            Ok(Some(d)) => d,
            // Another login provider was activated since: nothing to do.
            Ok(None) => {
                tracing::info!(day = %p.day, "no LDAP directory is active; directory sync skipped");
                return JobOutcome::Done;
            }
            Err(e) => return JobOutcome::Retry(format!("provider: {e}")),
        };
        let audit = AuditContext {
            actor_id: None,
            request_id: Some(format!("job:{}", job.id)),
            client_ip: None,
        };
        match LdapAuthProvider::new(ctx.db.clone(), directory)
            .sync_users(&audit)
            .await
        {
            Ok(report) => {
                tracing::info!(day = %p.day, checked = report.checked, updated = report.updated,
                    disabled = report.disabled, "directory sync done");
                JobOutcome::Done
            }
            Err(e @ WorkflowError::Unavailable { .. }) => JobOutcome::Retry(e.to_string()),
            Err(e) if e.is_unavailable() => JobOutcome::Retry(e.to_string()),
            Err(e) => JobOutcome::Fail(e.to_string()),
        }
    }
}
