//! The sync pipeline's record types and pure stages (SPEC §6, §10).
//!
//! A record changes type at every stage, so the compiler checks their order:
//! [`RawRecord`] (connector: bytes as received) → [`Mapped`] (mapper: canonical field
//! names) → [`Validated`] (validator: declarative rules passed; only the validator makes
//! one) → [`Normalized`] (normalizer: Decimal money with currency, UTC timestamps,
//! lower-cased emails, E.164 phones, ISO-3166 countries, trimmed text) → loader.
//! Mapper, validator and normalizer are pure and synchronous. A failed rule is an
//! error or a warning by the run's [`policy::Policy`]: a record with an error goes to
//! quarantine with its [`Reason`]s and the run goes on; a warning keeps the record and
//! the value as given, recorded as an [`Issue`] on the canonical row.

pub mod load;
pub mod normalize;
pub mod odoo;
pub mod pennylane;
pub mod pipedrive;
pub mod policy;
pub mod quarantine;
pub mod run;
pub mod validate;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

pub use normalize::normalize;
pub use validate::{Rule, validate};

/// The canonical entities (SPEC §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    Organization,
    Contact,
    Lead,
    Order,
    Product,
    Invoice,
}

impl Entity {
    pub const ALL: [Entity; 6] = [
        Entity::Organization,
        Entity::Contact,
        Entity::Lead,
        Entity::Order,
        Entity::Product,
        Entity::Invoice,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Organization => "organization",
            Entity::Contact => "contact",
            Entity::Lead => "lead",
            Entity::Order => "order",
            Entity::Product => "product",
            Entity::Invoice => "invoice",
        }
    }
    pub fn table(self) -> &'static str {
        match self {
            Entity::Organization => "canonical_organizations",
            Entity::Contact => "canonical_contacts",
            Entity::Lead => "canonical_leads",
            Entity::Order => "canonical_orders",
            Entity::Product => "canonical_products",
            Entity::Invoice => "canonical_invoices",
        }
    }
    pub fn parse(s: &str) -> Option<Entity> {
        Entity::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// A record as the connector received it: the bytes untouched, and their SHA-256. The
/// raw zone speaks the source's vocabulary: `source` is the source's object (Odoo's
/// model), the canonical entity is the mapper's decision.
#[derive(Debug, Clone)]
pub struct RawRecord {
    pub provider: String,
    pub source: String,
    pub external_id: String,
    pub body: Box<RawValue>,
    pub hash: [u8; 32],
}

impl RawRecord {
    pub fn new(provider: &str, source: &str, external_id: String, body: Box<RawValue>) -> Self {
        let hash = Sha256::digest(body.get().as_bytes()).into();
        RawRecord {
            provider: provider.to_owned(),
            source: source.to_owned(),
            external_id,
            body,
            hash,
        }
    }
}

/// A field value in canonical form, before or after normalisation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Field {
    Null,
    Text(String),
    Bool(bool),
    Int(i64),
    #[serde(with = "rust_decimal::serde::str")]
    Decimal(Decimal),
    Time(DateTime<Utc>),
    Date(NaiveDate),
    /// The external id of another record (a referential field).
    Ref(String),
}

impl Field {
    pub fn is_null(&self) -> bool {
        match self {
            Field::Null => true,
            Field::Text(t) => t.trim().is_empty(),
            _ => false,
        }
    }
    pub fn text(&self) -> Option<&str> {
        match self {
            Field::Text(t) => Some(t),
            _ => None,
        }
    }
}

/// Canonical field name → value.
pub type Fields = BTreeMap<&'static str, Field>;

/// Why a record was quarantined: the field (if any) and a stable code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    pub field: Option<&'static str>,
    pub code: &'static str,
    pub detail: Option<String>,
}

impl Reason {
    pub fn field(field: &'static str, code: &'static str) -> Reason {
        Reason {
            field: Some(field),
            code,
            detail: None,
        }
    }
    pub fn record(code: &'static str, detail: impl Into<String>) -> Reason {
        Reason {
            field: None,
            code,
            detail: Some(detail.into()),
        }
    }
}

/// A value a rule found wrong but whose record loads (a warning): kept as given (or
/// dropped, by the policy), and recorded on the canonical row's `issues`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub field: &'static str,
    pub code: &'static str,
    pub original: String,
}

/// Mapper output: canonical names, source values converted to canonical types.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    pub entity: Entity,
    pub external_id: String,
    pub hash: [u8; 32],
    pub fields: Fields,
    /// Warnings so far (the stages after add theirs).
    pub issues: Vec<Issue>,
    /// The source archived the record (and it means gone here): loaded soft-deleted.
    pub deleted: bool,
    /// The source values a mapping keeps beside the canonical fields: a JSON object's
    /// text (source field name → value as received), stored in the row's `extras`.
    pub extras: Option<String>,
}

impl Mapped {
    pub fn new(entity: Entity, external_id: String, hash: [u8; 32], fields: Fields) -> Mapped {
        Mapped {
            entity,
            external_id,
            hash,
            fields,
            issues: Vec::new(),
            deleted: false,
            extras: None,
        }
    }
}

/// A mapped record that passed its entity's rules. Only [`validate`] makes one.
#[derive(Debug, Clone, PartialEq)]
pub struct Validated(Mapped);

impl Validated {
    pub fn record(&self) -> &Mapped {
        &self.0
    }
}

/// Ready for the loader: every value in its canonical format.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalized {
    pub entity: Entity,
    pub external_id: String,
    pub hash: [u8; 32],
    pub fields: Fields,
    pub issues: Vec<Issue>,
    pub deleted: bool,
    pub extras: Option<String>,
}

/// A record a stage refused, with the reasons (all of them, not the first).
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub stage: &'static str,
    /// The canonical entity, when the mapper got that far.
    pub entity: Option<Entity>,
    pub external_id: Option<String>,
    pub reasons: Vec<Reason>,
}

/// A mapper: a source record → canonical fields. Pure and synchronous.
pub trait Mapper {
    fn map(&self, raw: &RawRecord) -> Result<Mapped, Rejected>;
}

/// Asks for a rebuild of `provider`'s serving zone (the `refresh_serving` job), in the
/// caller's transaction; `cause` keys the outbox row (one refresh per cause).
pub async fn request_refresh(
    conn: &mut diesel_async::AsyncPgConnection,
    provider: &str,
    cause: &str,
) -> Result<(), crate::WorkflowError> {
    crate::jobs::enqueue(conn, &[refresh_job(provider, cause)]).await?;
    Ok(())
}

/// The `refresh_serving` job of `provider`, keyed by `cause`, for a caller that writes
/// it with other jobs.
pub fn refresh_job(provider: &str, cause: &str) -> crate::jobs::JobRequest {
    crate::jobs::JobRequest::new(
        &crate::jobs::payloads::RefreshServing {
            provider: provider.to_owned(),
        },
        format!("refresh_serving:{cause}"),
    )
}
