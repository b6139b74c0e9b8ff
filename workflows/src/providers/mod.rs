//! Provider traits (SPEC §5) for the systems lifecycle effects reach: a CRM that
//! receives lead statuses, a billing system that makes quotes and invoices. Jobs call
//! them with an idempotency key per effect, which a provider must honour (the same key
//! twice makes one quote; a real provider looks its object up by our reference before
//! creating one).
//!
//! The provider platform: [`registry`] lists the providers the build knows (typed
//! settings and their JSON Schema), [`store`] keeps their configuration in
//! `provider_configs` (credentials sealed), [`platform`] builds the active provider of a
//! kind when a job or a request needs it, tests connections and records health. Every
//! call they make goes through [`crate::outbound`]. `recording` stores every call in
//! `provider_calls` (tests and demos); `pennylane` is the first real billing provider,
//! `pipedrive` the first real CRM; `ldap` and `oidc` are the login providers (kind
//! `auth`, at most one active: database login is always on).

pub mod ldap;
pub mod llm;
pub mod odoo;
pub mod oidc;
pub mod pennylane;
pub mod pipedrive;
pub mod platform;
pub mod recording;
pub mod registry;
pub mod store;

pub use registry::ProviderKind;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

/// Why a provider call failed: worth retrying, or not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Timeouts, 429, 5xx, a database blip: retry with backoff.
    #[error("transient provider failure: {0}")]
    Transient(String),
    /// The request itself is refused: retrying will not help.
    #[error("provider refused the request: {0}")]
    Permanent(String),
}

/// What a provider created or updated on its side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExternalRef {
    pub provider: String,
    pub external_id: String,
}

/// A lead as pushed to a CRM, with what the CRM already holds for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadSnapshot {
    pub lead_id: Uuid,
    pub external_id: Option<String>,
    pub title: String,
    pub organization: String,
    pub contact_name: String,
    pub contact_email: String,
    pub contact_phone: Option<String>,
    pub status: String,
    pub value: Option<Decimal>,
    pub currency: String,
    pub expected_close_date: Option<NaiveDate>,
    pub lost_reason: Option<String>,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
    /// The CRM objects Tentabo linked the lead to (this provider's).
    #[serde(skip)]
    pub links: Vec<CrmLink>,
}

/// A CRM object a lead is linked to (`person`, `organization`, `lead`, `deal`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrmLink {
    pub object: String,
    pub external_id: String,
    /// The object's update time on the CRM side, when known.
    pub remote_updated_at: Option<DateTime<Utc>>,
}

impl CrmLink {
    pub fn new(
        object: &str,
        external_id: String,
        remote_updated_at: Option<DateTime<Utc>>,
    ) -> CrmLink {
        CrmLink {
            object: object.to_owned(),
            external_id,
            remote_updated_at,
        }
    }
}

/// What a push made or found on the CRM side: the lead's main object, and every object
/// it is linked to there.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrmPushed {
    pub primary: ExternalRef,
    pub links: Vec<CrmLink>,
}

/// Who is billed for an order: its distributor when it has one, else its partner.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BillingCustomer {
    /// `distributor`, `partner`, or `user` (an order of no organisation).
    pub kind: &'static str,
    pub id: Uuid,
    pub name: String,
}

/// An order as sent to billing for a quote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderSnapshot {
    pub order_id: Uuid,
    pub reference: String,
    pub currency: String,
    pub total: Decimal,
    pub customer: BillingCustomer,
    pub lines: Vec<OrderLineSnapshot>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderLineSnapshot {
    pub product_id: Uuid,
    /// What the line says on a quote: product and duration.
    pub label: String,
    pub quantity: i64,
    pub duration_months: i32,
    pub total: Decimal,
}

/// A contract as sent to billing for an invoice, with the order's quote when billing
/// made one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContractSnapshot {
    pub contract_id: Uuid,
    pub order: OrderSnapshot,
    pub quote: Option<ExternalRef>,
}

#[async_trait]
pub trait CrmProvider: Send + Sync {
    fn name(&self) -> &str;
    /// A live call proving the configuration works (connection test, health check).
    async fn check(&self) -> Result<(), ProviderError>;
    /// Creates or updates the lead on the CRM side as it is now (its status, fields,
    /// contact and organization). Idempotent: a retry finds what an earlier attempt made.
    async fn push_lead(
        &self,
        lead: &LeadSnapshot,
        idempotency_key: &str,
    ) -> Result<CrmPushed, ProviderError>;
}

#[async_trait]
pub trait BillingProvider: Send + Sync {
    fn name(&self) -> &str;
    /// A live call proving the configuration works (connection test, health check).
    async fn check(&self) -> Result<(), ProviderError>;
    async fn create_quote(
        &self,
        order: &OrderSnapshot,
        idempotency_key: &str,
    ) -> Result<ExternalRef, ProviderError>;
    async fn create_invoice(
        &self,
        contract: &ContractSnapshot,
        idempotency_key: &str,
    ) -> Result<ExternalRef, ProviderError>;
}
