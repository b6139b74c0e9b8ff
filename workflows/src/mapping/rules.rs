//! Mappings as data: a version of a (provider, source object, canonical entity) mapping
//! is a list of [`Rule`]s — a source field, a canonical field of SPEC §10 (or none: kept
//! in the row's `extras`, or ignored) and a [`Transform`] out of a closed set. The
//! mapper stage runs a version [`compile`]d once per run: targets resolved to the
//! vocabulary's `'static` names, nothing looked up per record.
//!
//! What a connector computes itself is no rule: Odoo's lead `status` (from the stage,
//! `is_won`, the lost reason and the archive) and its `country_code` (the country's
//! code through `res.country`) — [`derived`] names them, and no rule may target them.
//! The seeded default versions ([`defaults`]) are the Odoo mapping this crate had in
//! code: activated when no version of theirs exists, they give the same canonical rows.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::vocabulary::{Kind, targets};
use crate::error::FieldErrors;
use crate::pipeline::Entity;

/// How a source value becomes a canonical value (the closed set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// The value converted to the target's kind (text, number, date, flag).
    AsIs,
    /// A many2one's id (a reference to the other record when the target is one).
    Many2oneId,
    /// A many2one's display name.
    Many2oneName,
    /// A selection's value, through the rule's value map when it has one.
    Selection,
    /// `YYYY-MM-DD`.
    Date,
    /// `YYYY-MM-DD HH:MM:SS` in UTC.
    Datetime,
    /// An exact decimal (the currency comes from its own rule).
    Money,
    Number,
    /// `true`, or a number above zero.
    Boolean,
    /// The first word of a full name, or the rest of it.
    FirstName,
    LastName,
    /// No canonical field: the value is kept in the row's `extras`.
    KeepInExtras,
    /// Not read.
    Ignore,
}

impl Transform {
    pub const ALL: [Transform; 13] = [
        Transform::AsIs,
        Transform::Many2oneId,
        Transform::Many2oneName,
        Transform::Selection,
        Transform::Date,
        Transform::Datetime,
        Transform::Money,
        Transform::Number,
        Transform::Boolean,
        Transform::FirstName,
        Transform::LastName,
        Transform::KeepInExtras,
        Transform::Ignore,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Transform::AsIs => "as_is",
            Transform::Many2oneId => "many2one_id",
            Transform::Many2oneName => "many2one_name",
            Transform::Selection => "selection",
            Transform::Date => "date",
            Transform::Datetime => "datetime",
            Transform::Money => "money",
            Transform::Number => "number",
            Transform::Boolean => "boolean",
            Transform::FirstName => "first_name",
            Transform::LastName => "last_name",
            Transform::KeepInExtras => "keep_in_extras",
            Transform::Ignore => "ignore",
        }
    }

    pub fn parse(s: &str) -> Option<Transform> {
        Transform::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether the transform writes no canonical field.
    pub fn targetless(self) -> bool {
        matches!(self, Transform::KeepInExtras | Transform::Ignore)
    }
}

/// One rule of a mapping version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub source: String,
    pub target: Option<String>,
    pub transform: Transform,
    /// A selection's source value → canonical value (empty: as given).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, String>,
}

impl Rule {
    fn new(source: &str, target: &str, transform: Transform) -> Rule {
        Rule {
            source: source.to_owned(),
            target: Some(target.to_owned()),
            transform,
            values: BTreeMap::new(),
        }
    }
}

/// A rule ready to run: its target as the vocabulary's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    pub source: Box<str>,
    pub target: Option<&'static str>,
    pub transform: Transform,
    /// The value becomes a reference to another canonical record (checked by the
    /// validator against the canonical zone).
    pub reference: bool,
    pub kind: Kind,
    pub values: Option<HashMap<String, String>>,
}

/// A version compiled for the mapper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub entity: Entity,
    pub rules: Vec<Compiled>,
}

impl Mapping {
    /// The source fields the rules read (extras included), once each.
    pub fn sources(&self) -> impl Iterator<Item = &str> {
        let mut seen = std::collections::HashSet::new();
        self.rules
            .iter()
            .filter(|r| r.transform != Transform::Ignore)
            .map(|r| &*r.source)
            .filter(move |s| seen.insert(*s))
    }
}

/// The canonical fields a provider's connector computes itself for `object` → `entity`
/// (no rule may target them).
pub fn derived(provider: &str, object: &str, entity: Entity) -> &'static [&'static str] {
    match (provider, object, entity) {
        ("odoo", "crm.lead", Entity::Lead) => &["status", "country_code"],
        _ => &[],
    }
}

/// The source fields a provider's connector reads for `object` whatever the mapping
/// (the archive flag, what routes a record to its entity, what derived fields need).
pub fn connector_fields(provider: &str, object: &str) -> &'static [&'static str] {
    match (provider, object) {
        ("odoo", "res.partner") => &["active", "is_company"],
        ("odoo", "crm.lead") => &[
            "active",
            "stage_id",
            "lost_reason_id",
            "probability",
            "country_id",
        ],
        ("odoo", "product.product") => &["active"],
        _ => &[],
    }
}

/// The (object, entity) pairs of a provider that mappings exist for.
pub fn objects(provider: &str) -> &'static [(&'static str, Entity)] {
    match provider {
        "odoo" => &[
            ("res.partner", Entity::Organization),
            ("res.partner", Entity::Contact),
            ("crm.lead", Entity::Lead),
            ("sale.order", Entity::Order),
            ("product.product", Entity::Product),
        ],
        _ => &[],
    }
}

/// The seeded default version of a (provider, object, entity), if there is one.
pub fn defaults(provider: &str, object: &str, entity: Entity) -> Option<Vec<Rule>> {
    use Transform::*;
    let r = Rule::new;
    let dates = || {
        [
            r("create_date", "created_at", Datetime),
            r("write_date", "updated_at", Datetime),
        ]
    };
    let rules: Vec<Rule> = match (provider, object, entity) {
        ("odoo", "res.partner", Entity::Organization) => [
            r("name", "name", AsIs),
            r("name", "legal_name", AsIs),
            r("email", "email", AsIs),
            r("phone", "phone", AsIs),
            r("country_code", "country_code", AsIs),
            r("vat", "vat_number", AsIs),
            r("website", "website", AsIs),
            r("street", "street", AsIs),
            r("street2", "street2", AsIs),
            r("city", "city", AsIs),
            r("zip", "postal_code", AsIs),
            r("state_id", "state", Many2oneName),
            r("industry_id", "industry", Many2oneName),
            r("customer_rank", "is_customer", Boolean),
            r("supplier_rank", "is_supplier", Boolean),
        ]
        .into_iter()
        .chain(dates())
        .collect(),
        ("odoo", "res.partner", Entity::Contact) => [
            r("name", "name", AsIs),
            r("email", "email", AsIs),
            r("phone", "phone", AsIs),
            r("mobile", "mobile", AsIs),
            r("country_code", "country_code", AsIs),
            r("function", "job_title", AsIs),
            r("parent_id", "organization", Many2oneId),
        ]
        .into_iter()
        .chain(dates())
        .collect(),
        ("odoo", "crm.lead", Entity::Lead) => [
            r("name", "title", AsIs),
            r("partner_name", "organization", AsIs),
            r("contact_name", "contact_name", AsIs),
            r("email_from", "contact_email", AsIs),
            r("phone", "contact_phone", AsIs),
            r("expected_revenue", "value", Money),
            r("company_currency", "currency", Many2oneName),
            r("probability", "probability", Number),
            r("date_deadline", "expected_close_date", Date),
            r("user_id", "owner", Many2oneName),
            r("user_id", "owner_external_id", Many2oneId),
            r("source_id", "source", Many2oneName),
            r("lost_reason_id", "lost_reason", Many2oneName),
            r("stage_id", "stage", Many2oneName),
            r("date_closed", "closed_at", Datetime),
        ]
        .into_iter()
        .chain(dates())
        .collect(),
        ("odoo", "sale.order", Entity::Order) => [
            r("name", "reference", AsIs),
            r("partner_id", "customer", Many2oneId),
            r("state", "status", Selection),
            r("date_order", "order_date", Datetime),
            r("currency_id", "currency", Many2oneName),
            r("amount_untaxed", "amount_untaxed", Money),
            r("amount_tax", "amount_tax", Money),
            r("amount_total", "amount_total", Money),
            r("user_id", "owner", Many2oneName),
            r("user_id", "owner_external_id", Many2oneId),
        ]
        .into_iter()
        .chain(dates())
        .collect(),
        ("odoo", "product.product", Entity::Product) => [
            r("name", "name", AsIs),
            r("default_code", "sku", AsIs),
            r("barcode", "barcode", AsIs),
            r("uom_id", "unit", Many2oneName),
            r("list_price", "list_price", Money),
            r("standard_price", "cost_price", Money),
            r("detailed_type", "product_type", Selection),
            r("active", "active", Boolean),
            r("description_sale", "description", AsIs),
        ]
        .into_iter()
        .chain(dates())
        .collect(),
        _ => return None,
    };
    Some(rules)
}

/// The most rules one version may hold.
pub const MAX_RULES: usize = 2_000;

/// Checks and compiles a version's rules for `entity`. Field error keys are
/// `rules.<i>.<part>`: `source` (`required`, `too_long`), `target` (`unknown_target`:
/// not a field of the entity in SPEC §10; `target_taken`: another rule writes it;
/// `derived_target`: the connector computes it; `required`: a transform that writes a
/// field needs one; `not_allowed`: extras and ignored fields write none), `transform`
/// (`reference_needs_many2one_id`).
pub fn compile(
    provider: &str,
    object: &str,
    entity: Entity,
    rules: &[Rule],
) -> Result<Mapping, FieldErrors> {
    let mut errors = FieldErrors::default();
    let vocabulary = targets(entity.as_str()).unwrap_or_default();
    let derived = derived(provider, object, entity);
    if rules.len() > MAX_RULES {
        errors.add("rules", "too_many");
        return Err(errors);
    }
    let mut taken: HashMap<&str, usize> = HashMap::new();
    let mut compiled = Vec::with_capacity(rules.len());
    for (i, rule) in rules.iter().enumerate() {
        let key = |part: &str| format!("rules.{i}.{part}");
        if rule.source.trim().is_empty() {
            errors.add(&key("source"), "required");
        } else if rule.source.chars().count() > 200 {
            errors.add(&key("source"), "too_long");
        }
        let target = match (rule.target.as_deref(), rule.transform.targetless()) {
            (Some(_), true) => {
                errors.add(&key("target"), "not_allowed");
                None
            }
            (None, true) => None,
            (None, false) => {
                errors.add(&key("target"), "required");
                None
            }
            (Some(name), false) => match vocabulary.iter().find(|t| t.name == name) {
                None => {
                    errors.add(&key("target"), "unknown_target");
                    None
                }
                Some(_) if derived.contains(&name) => {
                    errors.add(&key("target"), "derived_target");
                    None
                }
                Some(t) => {
                    if taken.insert(t.name, i).is_some() {
                        errors.add(&key("target"), "target_taken");
                    }
                    Some(t)
                }
            },
        };
        if let Some(t) = target {
            if t.kind == Kind::Ref && rule.transform != Transform::Many2oneId {
                errors.add(&key("transform"), "reference_needs_many2one_id");
            }
            compiled.push(Compiled {
                source: rule.source.trim().into(),
                target: Some(t.name),
                transform: rule.transform,
                reference: t.kind == Kind::Ref,
                kind: t.kind,
                values: (!rule.values.is_empty()).then(|| {
                    rule.values
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                }),
            });
        } else if rule.transform.targetless() {
            compiled.push(Compiled {
                source: rule.source.trim().into(),
                target: None,
                transform: rule.transform,
                reference: false,
                kind: Kind::Text,
                values: None,
            });
        }
    }
    if errors.is_empty() {
        Ok(Mapping {
            entity,
            rules: compiled,
        })
    } else {
        Err(errors)
    }
}

/// The compiled default version (panics if the defaults above were wrong: a test
/// compiles every one of them).
pub fn default_mapping(provider: &str, object: &str, entity: Entity) -> Option<Mapping> {
    defaults(provider, object, entity).map(|rules| {
        compile(provider, object, entity, &rules).expect("the default mappings compile")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_compiles_and_writes_only_canonical_columns() {
        for (provider, objects) in [("odoo", objects("odoo"))] {
            for (object, entity) in objects {
                let m = default_mapping(provider, object, *entity).unwrap();
                let columns = crate::pipeline::load::columns(*entity);
                for r in &m.rules {
                    if let Some(t) = r.target {
                        assert!(columns.contains(&t), "{object}: {t} is no column");
                    }
                }
            }
        }
    }

    #[test]
    fn bad_rules_are_refused_field_by_field() {
        let rules = vec![
            Rule::new("name", "title", Transform::AsIs),
            Rule::new("subject", "title", Transform::AsIs),
            Rule::new("x", "colour", Transform::AsIs),
            Rule::new("stage_id", "status", Transform::Many2oneName),
            Rule::new("", "source", Transform::AsIs),
            Rule {
                source: "note".into(),
                target: Some("stage".into()),
                transform: Transform::KeepInExtras,
                values: BTreeMap::new(),
            },
            Rule {
                source: "amount".into(),
                target: None,
                transform: Transform::Money,
                values: BTreeMap::new(),
            },
        ];
        let e = compile("odoo", "crm.lead", Entity::Lead, &rules).unwrap_err();
        assert_eq!(e.0["rules.1.target"], ["target_taken"]);
        assert_eq!(e.0["rules.2.target"], ["unknown_target"]);
        assert_eq!(e.0["rules.3.target"], ["derived_target"]);
        assert_eq!(e.0["rules.4.source"], ["required"]);
        assert_eq!(e.0["rules.5.target"], ["not_allowed"]);
        assert_eq!(e.0["rules.6.target"], ["required"]);
        assert_eq!(e.0.len(), 6);
        let refs = vec![Rule::new("parent_id", "organization", Transform::AsIs)];
        let e = compile("odoo", "res.partner", Entity::Contact, &refs).unwrap_err();
        assert_eq!(e.0["rules.0.transform"], ["reference_needs_many2one_id"]);
    }

    #[test]
    fn transforms_round_trip_their_names() {
        for t in Transform::ALL {
            assert_eq!(Transform::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        assert_eq!(Transform::parse("uppercase"), None);
    }
}
