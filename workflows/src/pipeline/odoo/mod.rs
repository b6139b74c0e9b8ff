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
use crate::mapping::rules::{Compiled, Mapping, Transform, connector_fields, default_mapping};
use crate::mapping::vocabulary::Kind;
use crate::providers::odoo::{parse_date, parse_datetime};

const PROVIDER: &str = "odoo";

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
    /// The mapping version of each entity the model maps to.
    mappings: Arc<Vec<Mapping>>,
    /// Fields asked for beside the mappings' own (those earlier versions read).
    also: Arc<Vec<String>>,
}

impl OdooMapper {
    /// A mapper with no reference data and the default policy.
    pub fn new(model: &'static str) -> OdooMapper {
        OdooMapper::with(model, Arc::default(), Arc::default())
    }

    pub fn with(model: &'static str, reference: Arc<Reference>, policy: Arc<Policy>) -> OdooMapper {
        let mappings = MODELS
            .iter()
            .filter(|(m, _)| *m == model)
            .flat_map(|(_, entities)| entities.iter())
            .filter_map(|e| default_mapping(PROVIDER, model, *e))
            .collect();
        OdooMapper {
            model,
            reference,
            policy,
            mappings: Arc::new(mappings),
            also: Arc::default(),
        }
    }

    /// This mapper also asking the source for `fields` (what the object's other
    /// versions read, so the raw zone holds it for a replay).
    pub fn also_reading(mut self, fields: Vec<String>) -> OdooMapper {
        self.also = Arc::new(fields);
        self
    }

    /// This mapper running `mappings` (one per entity) instead of the defaults.
    pub fn with_mappings(mut self, mappings: Vec<Mapping>) -> OdooMapper {
        self.mappings = Arc::new(mappings);
        self
    }

    fn mapping(&self, entity: Entity) -> Option<&Mapping> {
        self.mappings.iter().find(|m| m.entity == entity)
    }

    /// The fields to ask Odoo for: what the connector reads and what the rules read.
    pub fn fields(&self) -> Vec<&str> {
        let mut out: Vec<&str> = connector_fields(PROVIDER, self.model).to_vec();
        for m in self.mappings.iter() {
            for s in m.sources() {
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
        for s in self.also.iter() {
            if !out.contains(&s.as_str()) {
                out.push(s);
            }
        }
        out
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

/// A many2one's parts as JSON text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pair<'a> {
    id: Option<&'a str>,
    name: Option<&'a str>,
}

/// `[42, "Name"]` split at its first comma, when it has that plain shape (a number,
/// then one string without quotes or escapes inside).
fn split_pair(v: &str) -> Option<Pair<'_>> {
    let inner = v.strip_prefix('[')?.strip_suffix(']')?;
    let (id, name) = inner.split_once(',')?;
    let (id, name) = (id.trim(), name.trim());
    let text = name.strip_prefix('"')?.strip_suffix('"')?;
    (is_number(id) && !text.contains(['"', '\\'])).then_some(Pair {
        id: Some(id),
        name: Some(name),
    })
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

    /// Odoo's `active`: true unless the record says `false` (absent: not archivable).
    fn active(&self) -> bool {
        self.record.get("active").is_none_or(|v| v.get() != "false")
    }

    /// A many2one's id.
    fn id(&self, key: &str) -> Option<i64> {
        self.many2one(key)
            .flatten()
            .and_then(|p| p.id.and_then(|id| id.parse().ok()))
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
    /// `Some(None)` when not an array. The usual shape is split in place (no
    /// allocation); anything else goes through the JSON parser.
    fn many2one(&self, key: &str) -> Option<Option<Pair<'a>>> {
        self.get(key).map(|v| {
            split_pair(v).or_else(|| {
                serde_json::from_str::<Vec<&'a RawValue>>(v)
                    .ok()
                    .map(|p| Pair {
                        id: p.first().map(|x| x.get()),
                        name: p.get(1).map(|x| x.get()),
                    })
            })
        })
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
        let name = match pair.and_then(|p| p.name).and_then(string) {
            Some(name) => Field::Text(name),
            None => self.bad(name_field, "bad_many2one"),
        };
        let id = match pair.and_then(|p| p.id) {
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
            Some(pair) => match pair.and_then(|p| p.id) {
                Some(id) if is_number(id) => Field::Text(id.to_owned()),
                _ => self.bad(field, "bad_many2one"),
            },
        }
    }

    fn bad(&mut self, field: &'static str, code: &'static str) -> Field {
        self.reasons.push(Reason::field(field, code));
        Field::Null
    }
}

impl<'a> Reader<'a> {
    /// A flag: `true`, or a number above zero (Odoo's `customer_rank`).
    fn boolean(&self, key: &str) -> Field {
        let v = self.record.get(key).map(|v| v.get());
        Field::Bool(match v {
            Some("true") => true,
            Some(v) if is_number(v) => v.parse::<f64>().is_ok_and(|x| x > 0.0),
            _ => false,
        })
    }

    /// One rule's value.
    fn apply(&mut self, rule: &Compiled) -> Field {
        let (key, field) = (&*rule.source, rule.target.unwrap_or_default());
        match rule.transform {
            Transform::AsIs => match rule.kind {
                Kind::Money | Kind::Number | Kind::Percent => self.decimal(key, field),
                Kind::Date => self.date(key, field),
                Kind::DateTime => self.time(key, field),
                Kind::Bool => self.boolean(key),
                _ => self.text(key, field),
            },
            Transform::Many2oneId if rule.reference => self.reference(key, field),
            Transform::Many2oneId => self.id_of(key, field),
            Transform::Many2oneName => self.name_of(key, field),
            Transform::Selection => match (self.text(key, field), &rule.values) {
                (Field::Text(t), Some(map)) => Field::Text(map.get(&t).cloned().unwrap_or(t)),
                (other, _) => other,
            },
            Transform::Date => self.date(key, field),
            Transform::Datetime => self.time(key, field),
            Transform::Money | Transform::Number => self.decimal(key, field),
            Transform::Boolean => self.boolean(key),
            Transform::FirstName | Transform::LastName => match self.text(key, field) {
                Field::Text(t) => {
                    let t = t.trim();
                    let (first, last) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
                    let part = if rule.transform == Transform::FirstName {
                        first
                    } else {
                        last.trim()
                    };
                    if part.is_empty() {
                        Field::Null
                    } else {
                        Field::Text(part.to_owned())
                    }
                }
                other => other,
            },
            Transform::KeepInExtras | Transform::Ignore => Field::Null,
        }
    }
}

/// Runs a version's rules on a record: canonical fields into `f`, the values kept as
/// extras into a JSON object's text.
fn run_rules(r: &mut Reader, mapping: &Mapping, f: &mut Fields) -> Option<String> {
    let mut extras: Option<String> = None;
    for rule in &mapping.rules {
        match rule.target {
            Some(target) => {
                let value = r.apply(rule);
                f.insert(target, value);
            }
            None if rule.transform == Transform::KeepInExtras => {
                if let Some(v) = r.get(&rule.source) {
                    let out = extras.get_or_insert_with(|| String::from("{"));
                    if out.len() > 1 {
                        out.push(',');
                    }
                    out.push_str(
                        &serde_json::to_string(&*rule.source).unwrap_or_else(|_| "\"?\"".into()),
                    );
                    out.push(':');
                    out.push_str(v);
                }
            }
            None => {}
        }
    }
    if let Some(out) = extras.as_mut() {
        out.push('}');
    }
    extras
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
            "res.partner" if record.get("is_company").is_some_and(|v| v.get() == "true") => {
                Entity::Organization
            }
            "res.partner" => Entity::Contact,
            "crm.lead" => Entity::Lead,
            "sale.order" => Entity::Order,
            "product.product" => Entity::Product,
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
        let Some(mapping) = self.mapping(entity) else {
            return Err(reject(
                Some(entity),
                vec![Reason::record(
                    "no_mapping",
                    format!("no active mapping of {} to {}", self.model, entity.as_str()),
                )],
            ));
        };
        let extras = run_rules(&mut r, mapping, &mut f);
        match entity {
            Entity::Lead => {
                // Derived by the connector, whatever the mapping: the canonical status
                // and the region of the lead's national phone numbers.
                let name_of = |p: Option<Pair>| p.and_then(|p| p.name).and_then(string);
                let stage_pair = r.many2one("stage_id").flatten();
                let lost_reason = name_of(r.many2one("lost_reason_id").flatten());
                let stage = name_of(stage_pair);
                let probability_zero = r
                    .get("probability")
                    .filter(|v| is_number(v))
                    .and_then(|v| {
                        Decimal::from_str(v)
                            .or_else(|_| Decimal::from_scientific(v))
                            .ok()
                    })
                    .is_some_and(|d| d.is_zero());
                // Odoo archives a lost opportunity, with a reason or at probability 0.
                let lost = deleted && (lost_reason.is_some() || probability_zero);
                let won = stage_pair
                    .and_then(|p| p.id)
                    .and_then(|id| id.parse::<i64>().ok())
                    .and_then(|id| self.reference.stages.get(&id))
                    .is_some_and(|s| s.is_won);
                let status = if lost {
                    Field::Text("lost".into())
                } else if won {
                    Field::Text("won".into())
                } else {
                    match stage {
                        None => Field::Null,
                        Some(name) => match self.policy.lead_status(&name) {
                            Some(s) => Field::Text(s.into()),
                            None if self.policy.severity("unknown_stage") == Severity::Error => {
                                r.reasons.push(Reason {
                                    field: Some("status"),
                                    code: "unknown_stage",
                                    detail: Some(name),
                                });
                                Field::Null
                            }
                            None => {
                                issues.push(Issue {
                                    field: "status",
                                    code: "unknown_stage",
                                    original: name,
                                });
                                Field::Null
                            }
                        },
                    }
                };
                // A lost opportunity is no deleted one.
                deleted &= !lost;
                f.insert("status", status);
                if let Some(code) = r
                    .id("country_id")
                    .and_then(|id| self.reference.countries.get(&id))
                {
                    // The region of the lead's national phone numbers (not a column).
                    f.insert("country_code", Field::Text(code.clone()));
                }
            }
            // `sale.order` has no `active`: nothing is archived.
            Entity::Order => deleted = false,
            _ => {}
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
            extras,
        })
    }
}
