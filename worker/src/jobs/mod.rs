//! Every job the worker runs, registered in one list ([`dispatch`]). One file per job;
//! a job takes ids in its payload, is idempotent and tolerates rows that have gone.

use std::future::Future;

use tentabo_workflows::jobs::{JobKind, JobOutcome, Payload, StartedJob};
use tentabo_workflows::providers::ProviderError;

use crate::runner::JobContext;

pub mod billing_request_invoice;
pub mod billing_request_quote;
pub mod contract_expiry_scan;
pub mod create_active_contract;
pub mod create_order_from_lead;
pub mod crm_push_activity;
pub mod crm_push_lead_status;
pub mod crm_webhook_event;
pub mod directory_sync;
pub mod link_replacement_order;
pub mod noop;
pub mod notification_email;
pub mod refresh_serving;
pub mod replay_mapping;
pub mod sync_run;

/// A job: what it does with its payload. The payload type names the job's kind
/// ([`Payload::KIND`]), so the code that enqueues it and this code share one type.
pub trait Job {
    type Payload: Payload;
    fn run(
        ctx: &JobContext,
        job: &StartedJob,
        payload: Self::Payload,
    ) -> impl Future<Output = JobOutcome> + Send;
}

/// The registry: queue name → job.
pub async fn dispatch(ctx: &JobContext, job: &StartedJob) -> JobOutcome {
    let Some(kind) = JobKind::from_queue(&job.queue) else {
        return JobOutcome::Fail(format!("no job is registered for queue `{}`", job.queue));
    };
    match kind {
        JobKind::Noop => run::<noop::Noop>(ctx, job).await,
        JobKind::CrmPushLeadStatus => {
            run::<crm_push_lead_status::CrmPushLeadStatus>(ctx, job).await
        }
        JobKind::CreateOrderFromLead => {
            run::<create_order_from_lead::CreateOrderFromLead>(ctx, job).await
        }
        JobKind::BillingRequestQuote => {
            run::<billing_request_quote::BillingRequestQuote>(ctx, job).await
        }
        JobKind::CreateActiveContract => {
            run::<create_active_contract::CreateActiveContract>(ctx, job).await
        }
        JobKind::BillingRequestInvoice => {
            run::<billing_request_invoice::BillingRequestInvoice>(ctx, job).await
        }
        JobKind::LinkReplacementOrder => {
            run::<link_replacement_order::LinkReplacementOrder>(ctx, job).await
        }
        JobKind::ContractExpiryScan => {
            run::<contract_expiry_scan::ContractExpiryScan>(ctx, job).await
        }
        JobKind::SyncRun => run::<sync_run::SyncRun>(ctx, job).await,
        JobKind::RefreshServing => run::<refresh_serving::RefreshServing>(ctx, job).await,
        JobKind::CrmWebhookEvent => run::<crm_webhook_event::CrmWebhookEvent>(ctx, job).await,
        JobKind::CrmPushActivity => run::<crm_push_activity::CrmPushActivity>(ctx, job).await,
        JobKind::DirectorySync => run::<directory_sync::DirectorySync>(ctx, job).await,
        JobKind::ReplayMapping => run::<replay_mapping::ReplayMapping>(ctx, job).await,
        JobKind::NotificationEmail => run::<notification_email::NotificationEmail>(ctx, job).await,
    }
}

async fn run<J: Job>(ctx: &JobContext, job: &StartedJob) -> JobOutcome {
    match serde_json::from_value::<J::Payload>(job.payload.clone()) {
        Ok(payload) => J::run(ctx, job, payload).await,
        Err(e) => JobOutcome::Fail(format!(
            "invalid payload for {}: {e}",
            <J::Payload as Payload>::KIND.queue()
        )),
    }
}

/// A provider's failure as the job's outcome: transient ones are retried.
pub(crate) fn provider_failure(e: ProviderError) -> JobOutcome {
    match e {
        ProviderError::Transient(m) => JobOutcome::Retry(m),
        ProviderError::Permanent(m) => JobOutcome::Fail(m),
    }
}

/// The active provider of a kind, or a retry: with none active or its configuration
/// unreadable (no key), the effect waits — it is never dropped.
macro_rules! active_provider {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => {
                return tentabo_workflows::jobs::JobOutcome::Retry(format!("provider: {e}"));
            }
        }
    };
}
pub(crate) use active_provider;

/// Unwraps a database result, or ends the job with a retry (Postgres blips are
/// transient; the step is idempotent, so running it again is safe).
macro_rules! try_db {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => {
                return tentabo_workflows::jobs::JobOutcome::Retry(format!("database: {e}"));
            }
        }
    };
}
pub(crate) use try_db;
