//! One payload type per job kind: ids and small parameters only (a job reads the rest
//! from Postgres when it runs, so it acts on the current state). The code that asks for
//! a job and the worker job that runs it share these types.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{JobKind, Payload};

/// `noop`: nothing, or rehearsed faults (operators' `jobs ping`, tests, benches).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Noop {
    /// Fail (retryably) while the attempt number is at most this.
    #[serde(default)]
    pub fail_attempts: i32,
    /// Fail permanently on the first attempt.
    #[serde(default)]
    pub fail_permanently: bool,
    /// Sleep this long before finishing (milliseconds).
    #[serde(default)]
    pub sleep_ms: u64,
}

/// Push a lead's status to the CRM, as of `version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushLeadStatus {
    pub lead_id: Uuid,
    /// The lead's version right after the transition that asked for the push.
    pub version: i32,
}

/// Create the order a converted lead becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateOrderFromLead {
    pub lead_id: Uuid,
}

/// Ask the billing provider for a sent order's quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestQuote {
    pub order_id: Uuid,
}

/// Create the Active contract of a fulfilled order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateActiveContract {
    pub order_id: Uuid,
}

/// Ask the billing provider for the invoice of a fulfilled order's contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestInvoice {
    pub order_id: Uuid,
}

/// Link an upgraded or downgraded contract to the order replacing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkReplacementOrder {
    pub contract_id: Uuid,
    pub order_id: Uuid,
}

/// Flag the contracts whose expiration is near, for one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractExpiryScan {
    /// The day the scan is for (`YYYY-MM-DD`, UTC).
    pub day: String,
    /// Overrides the worker's configured window when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_days: Option<i32>,
}

/// Run (or resume) one sync run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRun {
    pub run_id: Uuid,
}

/// Rebuild a provider's serving aggregates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshServing {
    pub provider: String,
}

/// Process one recorded CRM webhook event (`webhook_events` by provider and the
/// provider's event id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmWebhookEvent {
    pub provider: String,
    pub event_id: String,
}

/// Push an activity created in Tentabo (`crm_activities.id`) to the CRM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmPushActivity {
    pub activity_id: Uuid,
}

/// Bring the active LDAP directory's users over, for one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectorySync {
    /// The day the sync is for (`YYYY-MM-DD`, UTC).
    pub day: String,
}

/// Rebuild the canonical rows of a mapping version's object from the raw zone (asked
/// for when the version becomes active).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayMapping {
    pub version_id: uuid::Uuid,
}

/// Email one notification (`notifications.id`) to its person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationEmail {
    pub notification_id: uuid::Uuid,
}

macro_rules! kinds {
    ($($ty:ident => $kind:ident),* $(,)?) => {
        $(impl Payload for $ty {
            const KIND: JobKind = JobKind::$kind;
        })*
        /// Every kind has its payload type (checked by a test).
        #[cfg(test)]
        const TYPED: &[JobKind] = &[$(JobKind::$kind),*];
    };
}

kinds! {
    Noop => Noop,
    PushLeadStatus => CrmPushLeadStatus,
    CreateOrderFromLead => CreateOrderFromLead,
    RequestQuote => BillingRequestQuote,
    CreateActiveContract => CreateActiveContract,
    RequestInvoice => BillingRequestInvoice,
    LinkReplacementOrder => LinkReplacementOrder,
    ContractExpiryScan => ContractExpiryScan,
    SyncRun => SyncRun,
    RefreshServing => RefreshServing,
    CrmWebhookEvent => CrmWebhookEvent,
    CrmPushActivity => CrmPushActivity,
    DirectorySync => DirectorySync,
    ReplayMapping => ReplayMapping,
    NotificationEmail => NotificationEmail,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::JobRequest;

    #[test]
    fn every_kind_has_exactly_one_payload_type() {
        let mut kinds = TYPED.to_vec();
        kinds.sort_by_key(|k| k.queue());
        kinds.dedup();
        assert_eq!(kinds.len(), TYPED.len(), "a kind with two payload types");
        assert_eq!(
            kinds.len(),
            JobKind::ALL.len(),
            "a kind without a payload type"
        );
    }

    #[test]
    fn a_request_carries_its_payloads_kind_and_json() {
        let id = Uuid::nil();
        let r = JobRequest::new(&RequestQuote { order_id: id }, "k");
        assert_eq!(r.kind(), JobKind::BillingRequestQuote);
        assert_eq!(r.payload(), &serde_json::json!({ "order_id": id }));
        assert_eq!(r.idempotency_key(), "k");
    }
}
