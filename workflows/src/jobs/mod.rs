//! Job kinds, their typed payloads and the outbox ledger.
//!
//! Every durable side effect is a row in `outbox`, written in the transaction that causes
//! it ([`enqueue`]). The worker's relay claims due rows ([`claim_due`]), hands them to the
//! queue, and marks them enqueued ([`mark_enqueued`]). A job run starts with
//! [`start_attempt`] and ends with [`finish_attempt`], which either completes the row,
//! schedules a retry with backoff, or moves it to the dead-letter state.
//!
//! A job's payload is one type per kind ([`payloads`]), implementing [`Payload`]: the
//! code that asks for a job builds a [`JobRequest`] from that type only, and the worker
//! job that runs it names the same type, so the two are checked against each other by
//! the compiler.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

mod ledger;
mod ops;
pub mod payloads;

pub use ledger::*;
pub use ops::*;

/// Every kind of job the platform runs. The worker registers one handler per kind, in
/// one list; a kind's queue name is stable (it is stored in outbox rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Does nothing but prove the path outbox → relay → queue → worker → ledger
    /// (`tentabo-worker jobs ping`, tests, benches).
    Noop,
    /// Push a lead's current status to the active CRM provider.
    CrmPushLeadStatus,
    /// Create the order a converted lead becomes.
    CreateOrderFromLead,
    /// Ask the billing provider for a quote of a sent order.
    BillingRequestQuote,
    /// Create the Active contract of a fulfilled order.
    CreateActiveContract,
    /// Ask the billing provider for the invoice of a fulfilled order's contract.
    BillingRequestInvoice,
    /// Link an upgraded or downgraded contract to the order replacing it.
    LinkReplacementOrder,
    /// Flag the contracts whose expiration is near (nightly).
    ContractExpiryScan,
    /// Run (or resume) one sync run.
    SyncRun,
    /// Rebuild a provider's serving aggregates after a sync run changed its leads.
    RefreshServing,
    /// Process one recorded CRM webhook event (the same path as the pull).
    CrmWebhookEvent,
    /// Push an activity created in Tentabo to the CRM.
    CrmPushActivity,
    /// Bring the LDAP directory's users over: disable the gone and unmapped (nightly).
    DirectorySync,
    /// Rebuild an object's canonical rows from the raw zone with its active mapping.
    ReplayMapping,
    /// Email one notification to its person (SMTP).
    NotificationEmail,
}

impl JobKind {
    pub const ALL: &'static [JobKind] = &[
        JobKind::Noop,
        JobKind::CrmPushLeadStatus,
        JobKind::CreateOrderFromLead,
        JobKind::BillingRequestQuote,
        JobKind::CreateActiveContract,
        JobKind::BillingRequestInvoice,
        JobKind::LinkReplacementOrder,
        JobKind::ContractExpiryScan,
        JobKind::SyncRun,
        JobKind::RefreshServing,
        JobKind::CrmWebhookEvent,
        JobKind::CrmPushActivity,
        JobKind::DirectorySync,
        JobKind::ReplayMapping,
        JobKind::NotificationEmail,
    ];

    pub fn queue(self) -> &'static str {
        match self {
            JobKind::Noop => "noop",
            JobKind::CrmPushLeadStatus => "crm_push_lead_status",
            JobKind::CreateOrderFromLead => "create_order_from_lead",
            JobKind::BillingRequestQuote => "billing_request_quote",
            JobKind::CreateActiveContract => "create_active_contract",
            JobKind::BillingRequestInvoice => "billing_request_invoice",
            JobKind::LinkReplacementOrder => "link_replacement_order",
            JobKind::ContractExpiryScan => "contract_expiry_scan",
            JobKind::SyncRun => "sync_run",
            JobKind::RefreshServing => "refresh_serving",
            JobKind::CrmWebhookEvent => "crm_webhook_event",
            JobKind::CrmPushActivity => "crm_push_activity",
            JobKind::DirectorySync => "directory_sync",
            JobKind::ReplayMapping => "replay_mapping",
            JobKind::NotificationEmail => "notification_email",
        }
    }

    pub fn from_queue(queue: &str) -> Option<JobKind> {
        Self::ALL.iter().copied().find(|k| k.queue() == queue)
    }

    /// How many attempts before the job is dead-lettered.
    pub fn max_attempts(self) -> i32 {
        match self {
            JobKind::Noop => 5,
            // Provider calls ride out an outage of about two hours with the default backoff.
            JobKind::CrmPushLeadStatus
            | JobKind::CrmPushActivity
            | JobKind::CrmWebhookEvent
            | JobKind::BillingRequestQuote
            | JobKind::BillingRequestInvoice
            | JobKind::NotificationEmail => 15,
            JobKind::CreateOrderFromLead
            | JobKind::CreateActiveContract
            | JobKind::LinkReplacementOrder
            | JobKind::ContractExpiryScan
            | JobKind::DirectorySync
            | JobKind::RefreshServing => 10,
            // A run resumes from its last committed page on every attempt, and each
            // worker restart (a deploy, a crash) during a long run costs one.
            JobKind::SyncRun | JobKind::ReplayMapping => 20,
        }
    }
}

/// The payload of one kind of job; [`Payload::KIND`] ties the type to its queue.
pub trait Payload: Serialize + DeserializeOwned + Send + Sync + 'static {
    const KIND: JobKind;
}

/// A job to run once the current transaction commits. Built from a typed payload
/// only ([`JobRequest::new`]).
#[derive(Debug, Clone, PartialEq)]
pub struct JobRequest {
    kind: JobKind,
    payload: serde_json::Value,
    /// The effect's identity: writing the same key twice creates one job.
    idempotency_key: String,
}

impl JobRequest {
    pub fn new<P: Payload>(payload: &P, idempotency_key: impl Into<String>) -> JobRequest {
        JobRequest {
            kind: P::KIND,
            // A derived `Serialize` of ids, numbers and strings cannot fail.
            payload: serde_json::to_value(payload).unwrap_or_default(),
            idempotency_key: idempotency_key.into(),
        }
    }
    pub fn kind(&self) -> JobKind {
        self.kind
    }
    pub fn payload(&self) -> &serde_json::Value {
        &self.payload
    }
    pub fn idempotency_key(&self) -> &str {
        &self.idempotency_key
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobEnvelope {
    pub outbox_id: i64,
    /// Attempts already made when this delivery was sent. A delivery runs only if the
    /// row still has this count and is not running: duplicates and stale deliveries
    /// are ignored, so the queue needs no idempotency key of its own.
    pub attempt: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_queue_name() {
        for kind in JobKind::ALL {
            assert_eq!(JobKind::from_queue(kind.queue()), Some(*kind));
            assert!(kind.max_attempts() > 0);
        }
        assert_eq!(JobKind::from_queue("nope"), None);
    }

    #[test]
    fn envelopes_carry_ids_only() {
        let json = serde_json::to_value(JobEnvelope {
            outbox_id: 7,
            attempt: 1,
        })
        .unwrap_or_default();
        assert_eq!(json, serde_json::json!({ "outbox_id": 7, "attempt": 1 }));
    }
}
