//! The Odoo mapper: `res.partner` (→ organization when `is_company`, else contact),
//! `crm.lead` (→ lead), `sale.order` (→ order), `product.product` (→ product).
//!
//! Odoo's conventions are read here and nowhere else: `false` for an empty field,
//! `[id, "display name"]` for a many2one, `"YYYY-MM-DD HH:MM:SS"` datetimes in UTC,
//! `"YYYY-MM-DD"` dates. A record is split into field name → the JSON text of its value
//! (borrowed, nothing copied); a field is parsed when the mapping reads it, and numbers
//! are read from their text into `Decimal` exactly (never through a float).
//!
//! Archives: records are read with `active_test: false`, so archived ones arrive too.
//! An archived opportunity with a lost reason or a probability of 0 is how Odoo marks
//! a lost one: its canonical status is `lost`. Any other archived record (a partner, a
//! product, a lead archived without being lost) is gone: loaded soft-deleted.
//!
//! Lead stages: the canonical `status` is the lead vocabulary of SPEC §10, from the
//! stage's name through the policy's stage table, `won` for a stage Odoo flags
//! `is_won` (read from `crm.stage`), `lost` as above; the stage's own name is kept in
//! `stage`. A lead's country (`country_id`, read from `res.country`) is the region of
//! its national phone numbers. Both reference models are read at the start of a lead
//! run into the raw zone, so a retry from the raw zone needs no call to Odoo.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::Arc;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::policy::{Policy, Severity};
use super::{Entity, Field, Fields, Issue, Mapped, Mapper, RawRecord, Reason, Rejected};
use crate::providers::odoo::{parse_date, parse_datetime};

mod models;
#[cfg(test)]
mod tests;

pub use models::*;

/// Maps records of one Odoo model, with the run's reference data and policy.
#[derive(Debug, Clone)]
pub struct OdooMapper {
    pub model: &'static str,
    reference: Arc<Reference>,
    policy: Arc<Policy>,
}

impl OdooMapper {
    /// A mapper with no reference data and the default policy.
    pub fn new(model: &'static str) -> OdooMapper {
        OdooMapper::with(model, Arc::default(), Arc::default())
    }

    pub fn with(model: &'static str, reference: Arc<Reference>, policy: Arc<Policy>) -> OdooMapper {
        OdooMapper {
            model,
            reference,
            policy,
        }
    }

    /// The policy the validator and normalizer apply after this mapper.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }
}

/// A field name as the record spells it: borrowed from the record's text unless it
/// holds escapes.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key<'a>(Cow<'a, str>);

impl std::borrow::Borrow<str> for Key<'_> {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }
        }
        d.deserialize_str(Visitor)
    }
}

/// A record as field name → the JSON text of its value: nothing is parsed (nor copied)
/// until the mapper reads the field, and numbers are read from their text.
type Object<'a> = BTreeMap<Key<'a>, &'a RawValue>;

/// A JSON string's value (the text between the quotes when it has no escapes).
fn string(json: &str) -> Option<String> {
    match json.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) if !inner.contains('\\') => Some(inner.to_owned()),
        Some(_) => serde_json::from_str(json).ok(),
        None => None,
    }
}

fn is_number(json: &str) -> bool {
    json.starts_with(|c: char| c == '-' || c.is_ascii_digit())
}

/// Reads one Odoo value, recording a reason when it has the wrong shape.
struct Reader<'a> {
    record: &'a Object<'a>,
    reasons: Vec<Reason>,
}

impl<'a> Reader<'a> {
    /// The value's JSON text; `None` when absent, `false` (Odoo's empty) or `null`.
    fn get(&self, key: &str) -> Option<&'a str> {
        match self.record.get(key).map(|v| v.get()) {
            None | Some("false") | Some("null") => None,
            Some(v) => Some(v),
        }
    }

    fn text(&mut self, key: &str, field: &'static str) -> Field {
        match self.get(key) {
            None => Field::Null,
            Some(v) if is_number(v) => Field::Text(v.to_owned()),
            Some(v) => match string(v) {
                Some(s) => Field::Text(s),
                None => self.bad(field, "wrong_type"),
            },
        }
    }

    fn bool(&mut self, key: &str) -> Field {
        Field::Bool(self.record.get(key).is_some_and(|v| v.get() == "true"))
    }

    /// Odoo's `active`: true unless the record says `false` (absent: not archivable).
    fn active(&self) -> bool {
        self.record.get("active").is_none_or(|v| v.get() != "false")
    }

    /// A many2one's id.
    fn id(&self, key: &str) -> Option<i64> {
        self.many2one(key)
            .flatten()
            .and_then(|p| p.first().and_then(|id| id.get().parse().ok()))
    }

    /// A number read exactly from its JSON text (never through a float).
    fn decimal(&mut self, key: &str, field: &'static str) -> Field {
        match self.get(key) {
            None => Field::Null,
            Some(v) if is_number(v) => {
                match Decimal::from_str(v).or_else(|_| Decimal::from_scientific(v)) {
                    Ok(d) => Field::Decimal(d.normalize()),
                    Err(_) => self.bad(field, "not_a_number"),
                }
            }
            Some(_) => self.bad(field, "not_a_number"),
        }
    }

    fn time(&mut self, key: &str, field: &'static str) -> Field {
        let Some(v) = self.get(key) else {
            return Field::Null;
        };
        match string(v).and_then(|s| parse_datetime(&s)) {
            Some(t) => Field::Time(t.and_utc()),
            None => self.bad(field, "bad_datetime"),
        }
    }

    fn date(&mut self, key: &str, field: &'static str) -> Field {
        let Some(v) = self.get(key) else {
            return Field::Null;
        };
        match string(v).and_then(|s| parse_date(&s)) {
            Some(d) => Field::Date(d),
            None => self.bad(field, "bad_date"),
        }
    }

    /// A many2one's `[id, "display name"]`, each part as JSON text: `None` when empty,
    /// `Some(None)` when not an array.
    fn many2one(&self, key: &str) -> Option<Option<Vec<&'a RawValue>>> {
        self.get(key).map(|v| serde_json::from_str(v).ok())
    }

    /// A many2one's display name.
    fn name_of(&mut self, key: &str, field: &'static str) -> Field {
        self.pair(key, field, None).0
    }

    /// A many2one's display name and id, parsed once: the name, or `bad_many2one` on
    /// `name_field`; the id as text, or — when `id_field` is given — `bad_many2one` on it.
    fn pair(
        &mut self,
        key: &str,
        name_field: &'static str,
        id_field: Option<&'static str>,
    ) -> (Field, Field) {
        let Some(pair) = self.many2one(key) else {
            return (Field::Null, Field::Null);
        };
        let name = match pair
            .as_ref()
            .and_then(|p| p.get(1))
            .and_then(|n| string(n.get()))
        {
            Some(name) => Field::Text(name),
            None => self.bad(name_field, "bad_many2one"),
        };
        let id = match pair.as_ref().and_then(|p| p.first()).map(|id| id.get()) {
            Some(id) if is_number(id) => Field::Text(id.to_owned()),
            _ => match id_field {
                Some(field) => self.bad(field, "bad_many2one"),
                None => Field::Null,
            },
        };
        (name, id)
    }

    /// A many2one as a reference to the other record's external id.
    fn reference(&mut self, key: &str, field: &'static str) -> Field {
        match self.id_of(key, field) {
            Field::Text(id) => Field::Ref(id),
            other => other,
        }
    }

    /// A many2one's id as text (an identifier outside the canonical zone, such as the
    /// Odoo user owning a record).
    fn id_of(&mut self, key: &str, field: &'static str) -> Field {
        match self.many2one(key) {
            None => Field::Null,
            Some(pair) => match pair.as_ref().and_then(|p| p.first()).map(|id| id.get()) {
                Some(id) if is_number(id) => Field::Text(id.to_owned()),
                _ => self.bad(field, "bad_many2one"),
            },
        }
    }

    fn positive(&mut self, key: &str) -> Field {
        let n = self
            .get(key)
            .filter(|v| is_number(v))
            .and_then(|v| v.parse::<f64>().ok());
        Field::Bool(n.is_some_and(|x| x > 0.0))
    }

    fn bad(&mut self, field: &'static str, code: &'static str) -> Field {
        self.reasons.push(Reason::field(field, code));
        Field::Null
    }
}

impl Mapper for OdooMapper {
    fn map(&self, raw: &RawRecord) -> Result<Mapped, Rejected> {
        let reject = |entity, reasons| Rejected {
            stage: "mapper",
            entity,
            external_id: Some(raw.external_id.clone()),
            reasons,
        };
        let record: Object = serde_json::from_str(raw.body.get())
            .map_err(|e| reject(None, vec![Reason::record("not_an_object", e.to_string())]))?;
        let mut r = Reader {
            record: &record,
            reasons: Vec::new(),
        };
        let mut f = Fields::new();
        let mut issues = Vec::new();
        let mut deleted = !r.active();
        let entity = match self.model {
            "res.partner" => {
                let company = record.get("is_company").is_some_and(|v| v.get() == "true");
                f.insert("name", r.text("name", "name"));
                f.insert("email", r.text("email", "email"));
                f.insert("phone", r.text("phone", "phone"));
                f.insert("country_code", r.text("country_code", "country_code"));
                f.insert("created_at", r.time("create_date", "created_at"));
                f.insert("updated_at", r.time("write_date", "updated_at"));
                if company {
                    f.insert("legal_name", r.text("name", "legal_name"));
                    f.insert("vat_number", r.text("vat", "vat_number"));
                    f.insert("website", r.text("website", "website"));
                    f.insert("street", r.text("street", "street"));
                    f.insert("street2", r.text("street2", "street2"));
                    f.insert("city", r.text("city", "city"));
                    f.insert("postal_code", r.text("zip", "postal_code"));
                    f.insert("state", r.name_of("state_id", "state"));
                    f.insert("industry", r.name_of("industry_id", "industry"));
                    f.insert("is_customer", r.positive("customer_rank"));
                    f.insert("is_supplier", r.positive("supplier_rank"));
                    Entity::Organization
                } else {
                    f.insert("mobile", r.text("mobile", "mobile"));
                    f.insert("job_title", r.text("function", "job_title"));
                    f.insert("organization", r.reference("parent_id", "organization"));
                    Entity::Contact
                }
            }
            "crm.lead" => {
                f.insert("title", r.text("name", "title"));
                f.insert("organization", r.text("partner_name", "organization"));
                f.insert("contact_name", r.text("contact_name", "contact_name"));
                f.insert("contact_email", r.text("email_from", "contact_email"));
                f.insert("contact_phone", r.text("phone", "contact_phone"));
                f.insert("value", r.decimal("expected_revenue", "value"));
                f.insert("currency", r.name_of("company_currency", "currency"));
                f.insert("probability", r.decimal("probability", "probability"));
                f.insert(
                    "expected_close_date",
                    r.date("date_deadline", "expected_close_date"),
                );
                let (owner, owner_id) = r.pair("user_id", "owner", Some("owner_external_id"));
                f.insert("owner", owner);
                f.insert("owner_external_id", owner_id);
                f.insert("source", r.name_of("source_id", "source"));
                let lost_reason = r.name_of("lost_reason_id", "lost_reason");
                let (stage, stage_id) = r.pair("stage_id", "stage", None);
                let probability = f.get("probability").cloned().unwrap_or(Field::Null);
                // Odoo archives a lost opportunity, with a reason or at probability 0.
                let lost = deleted
                    && (!lost_reason.is_null()
                        || matches!(probability, Field::Decimal(d) if d.is_zero()));
                let won = stage_id
                    .text()
                    .and_then(|id| id.parse::<i64>().ok())
                    .and_then(|id| self.reference.stages.get(&id))
                    .is_some_and(|s| s.is_won);
                let status = if lost {
                    Field::Text("lost".into())
                } else if won {
                    Field::Text("won".into())
                } else {
                    match stage.text() {
                        None => Field::Null,
                        Some(name) => match self.policy.lead_status(name) {
                            Some(s) => Field::Text(s.into()),
                            None if self.policy.severity("unknown_stage") == Severity::Error => {
                                r.reasons.push(Reason {
                                    field: Some("status"),
                                    code: "unknown_stage",
                                    detail: Some(name.to_owned()),
                                });
                                Field::Null
                            }
                            None => {
                                issues.push(Issue {
                                    field: "status",
                                    code: "unknown_stage",
                                    original: name.to_owned(),
                                });
                                Field::Null
                            }
                        },
                    }
                };
                // A lost opportunity is no deleted one.
                deleted &= !lost;
                f.insert("lost_reason", lost_reason);
                f.insert("status", status);
                f.insert("stage", stage);
                if let Some(code) = r
                    .id("country_id")
                    .and_then(|id| self.reference.countries.get(&id))
                {
                    // The region of the lead's national phone numbers (not a column).
                    f.insert("country_code", Field::Text(code.clone()));
                }
                f.insert("closed_at", r.time("date_closed", "closed_at"));
                f.insert("created_at", r.time("create_date", "created_at"));
                f.insert("updated_at", r.time("write_date", "updated_at"));
                Entity::Lead
            }
            "sale.order" => {
                f.insert("reference", r.text("name", "reference"));
                f.insert("customer", r.reference("partner_id", "customer"));
                f.insert("status", r.text("state", "status"));
                f.insert("order_date", r.time("date_order", "order_date"));
                f.insert("currency", r.name_of("currency_id", "currency"));
                f.insert(
                    "amount_untaxed",
                    r.decimal("amount_untaxed", "amount_untaxed"),
                );
                f.insert("amount_tax", r.decimal("amount_tax", "amount_tax"));
                f.insert("amount_total", r.decimal("amount_total", "amount_total"));
                let (owner, owner_id) = r.pair("user_id", "owner", Some("owner_external_id"));
                f.insert("owner", owner);
                f.insert("owner_external_id", owner_id);
                f.insert("created_at", r.time("create_date", "created_at"));
                f.insert("updated_at", r.time("write_date", "updated_at"));
                Entity::Order
            }
            "product.product" => {
                f.insert("name", r.text("name", "name"));
                f.insert("sku", r.text("default_code", "sku"));
                f.insert("barcode", r.text("barcode", "barcode"));
                f.insert("unit", r.name_of("uom_id", "unit"));
                f.insert("list_price", r.decimal("list_price", "list_price"));
                f.insert("cost_price", r.decimal("standard_price", "cost_price"));
                f.insert("product_type", r.text("detailed_type", "product_type"));
                f.insert("active", r.bool("active"));
                f.insert("description", r.text("description_sale", "description"));
                f.insert("created_at", r.time("create_date", "created_at"));
                f.insert("updated_at", r.time("write_date", "updated_at"));
                Entity::Product
            }
            other => {
                return Err(reject(
                    None,
                    vec![Reason::record(
                        "unknown_model",
                        format!("no mapping for Odoo model {other}"),
                    )],
                ));
            }
        };
        if entity == Entity::Order {
            // `sale.order` has no `active`: nothing is archived.
            deleted = false;
        }
        if !r.reasons.is_empty() {
            return Err(reject(Some(entity), r.reasons));
        }
        Ok(Mapped {
            entity,
            external_id: raw.external_id.clone(),
            hash: raw.hash,
            fields: f,
            issues,
            deleted,
        })
    }
}
