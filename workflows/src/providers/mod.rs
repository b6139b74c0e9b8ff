//! Provider traits (SPEC §5) for the systems lifecycle effects reach: a CRM that
//! receives lead statuses, a billing system that makes quotes and invoices. Jobs call
//! them with an idempotency key per effect, which a provider must honour (the same key
//! twice makes one quote). A registry maps provider names to constructors; until the
//! real Pipedrive and Pennylane clients exist, `recording` stores every call in
//! `provider_calls` and answers with a stable external id.

pub mod odoo;
pub mod recording;

use std::sync::Arc;

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde::Serialize;
use tentabo_schema::DbPool;
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

/// A lead as pushed to a CRM.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadSnapshot {
    pub lead_id: Uuid,
    pub external_id: Option<String>,
    pub title: String,
    pub organization: String,
    pub contact_email: String,
    pub status: String,
    pub value: Option<Decimal>,
    pub currency: String,
}

/// An order as sent to billing for a quote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderSnapshot {
    pub order_id: Uuid,
    pub reference: String,
    pub currency: String,
    pub total: Decimal,
    pub lines: Vec<OrderLineSnapshot>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderLineSnapshot {
    pub product_id: Uuid,
    pub quantity: i64,
    pub duration_months: i32,
    pub total: Decimal,
}

/// A contract as sent to billing for an invoice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContractSnapshot {
    pub contract_id: Uuid,
    pub order: OrderSnapshot,
}

#[async_trait]
pub trait CrmProvider: Send + Sync {
    fn name(&self) -> &str;
    /// Creates or updates the lead on the CRM side with its current status.
    async fn push_lead_status(
        &self,
        lead: &LeadSnapshot,
        idempotency_key: &str,
    ) -> Result<ExternalRef, ProviderError>;
}

#[async_trait]
pub trait BillingProvider: Send + Sync {
    fn name(&self) -> &str;
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

/// The providers a worker uses for effects.
#[derive(Clone)]
pub struct Providers {
    pub crm: Arc<dyn CrmProvider>,
    pub billing: Arc<dyn BillingProvider>,
}

/// Provider names the registry knows, per kind.
pub const CRM_PROVIDERS: &[&str] = &[recording::NAME];
pub const BILLING_PROVIDERS: &[&str] = &[recording::NAME];

/// The registry: a provider name to its constructor.
pub fn crm(name: &str, db: &DbPool) -> Result<Arc<dyn CrmProvider>, crate::WorkflowError> {
    match name {
        recording::NAME => Ok(Arc::new(recording::Recording::new(db.clone()))),
        other => Err(crate::WorkflowError::Invalid(format!(
            "unknown CRM provider `{other}` (known: {})",
            CRM_PROVIDERS.join(", ")
        ))),
    }
}

pub fn billing(name: &str, db: &DbPool) -> Result<Arc<dyn BillingProvider>, crate::WorkflowError> {
    match name {
        recording::NAME => Ok(Arc::new(recording::Recording::new(db.clone()))),
        other => Err(crate::WorkflowError::Invalid(format!(
            "unknown billing provider `{other}` (known: {})",
            BILLING_PROVIDERS.join(", ")
        ))),
    }
}
