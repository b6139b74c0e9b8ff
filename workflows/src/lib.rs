//! The domain: job kinds and the outbox ledger, audit, retry policy. Later: lifecycles,
//! pricing, tenancy rules, the sync pipeline and provider traits.
//! No HTTP server and no job queue live here: `api` and `worker` call into this crate.

pub mod audit;
pub mod authz;
pub mod catalogue;
pub mod error;
pub mod errors_report;
pub mod identity;
pub mod jobs;
pub mod lake;
pub mod lifecycle;
pub mod limits;
pub mod mapping;
pub mod notifications;
pub mod outbound;
pub mod pagination;
pub mod pipeline;
pub mod pricing;
pub mod providers;
pub mod retry;
pub mod sales;
pub mod secrets;
pub mod sql;
pub mod telemetry;

pub use error::WorkflowError;
