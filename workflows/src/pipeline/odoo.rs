//! The Odoo mapper: `res.partner` (→ organization when `is_company`, else contact),
//! `crm.lead` (→ lead), `sale.order` (→ order), `product.product` (→ product).
//!
//! Odoo's conventions are read here and nowhere else: `false` for an empty field,
//! `[id, "display name"]` for a many2one, `"YYYY-MM-DD HH:MM:SS"` datetimes in UTC,
//! `"YYYY-MM-DD"` dates. Numbers are read from the JSON text into `Decimal` exactly
//! (never through a float).

use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::{Entity, Field, Fields, Mapped, Mapper, RawRecord, Reason, Rejected};
use crate::providers::odoo::DATETIME_FORMAT;

/// The Odoo models the mapper knows, and the canonical entity of each.
pub const MODELS: &[(&str, &[Entity])] = &[
    ("res.partner", &[Entity::Organization, Entity::Contact]),
    ("crm.lead", &[Entity::Lead]),
    ("sale.order", &[Entity::Order]),
    ("product.product", &[Entity::Product]),
];

/// The model a canonical entity is read from.
pub fn model_of(entity: Entity) -> Option<&'static str> {
    MODELS
        .iter()
        .find(|(_, es)| es.contains(&entity))
        .map(|(m, _)| *m)
}

/// The fields to ask Odoo for, per model.
pub fn fields_of(model: &str) -> &'static [&'static str] {
    match model {
        "res.partner" => &[
            "name",
            "is_company",
            "parent_id",
            "email",
            "phone",
            "mobile",
            "website",
            "vat",
            "street",
            "street2",
            "city",
            "zip",
            "state_id",
            "country_code",
            "industry_id",
            "customer_rank",
            "supplier_rank",
            "function",
            "create_date",
            "write_date",
        ],
        "crm.lead" => &[
            "name",
            "partner_name",
            "contact_name",
            "email_from",
            "phone",
            "expected_revenue",
            "company_currency",
            "probability",
            "date_deadline",
            "user_id",
            "source_id",
            "lost_reason_id",
            "stage_id",
            "date_closed",
            "create_date",
            "write_date",
        ],
        "sale.order" => &[
            "name",
            "partner_id",
            "state",
            "date_order",
            "currency_id",
            "amount_untaxed",
            "amount_tax",
            "amount_total",
            "user_id",
            "create_date",
            "write_date",
        ],
        "product.product" => &[
            "name",
            "default_code",
            "barcode",
            "uom_id",
            "list_price",
            "standard_price",
            "detailed_type",
            "active",
            "description_sale",
            "create_date",
            "write_date",
        ],
        _ => &[],
    }
}

/// Maps records of one Odoo model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OdooMapper {
    pub model: &'static str,
}

/// Reads one Odoo value, recording a reason when it has the wrong shape.
struct Reader<'a> {
    record: &'a Map<String, Value>,
    reasons: Vec<Reason>,
}

impl Reader<'_> {
    fn get(&self, key: &str) -> Option<&Value> {
        match self.record.get(key) {
            None | Some(Value::Bool(false)) | Some(Value::Null) => None,
            Some(v) => Some(v),
        }
    }

    fn text(&mut self, key: &str, field: &'static str) -> Field {
        match self.get(key) {
            None => Field::Null,
            Some(Value::String(s)) => Field::Text(s.clone()),
            Some(Value::Number(n)) => Field::Text(n.to_string()),
            Some(_) => self.bad(field, "wrong_type"),
        }
    }

    fn bool(&mut self, key: &str) -> Field {
        match self.record.get(key) {
            Some(Value::Bool(b)) => Field::Bool(*b),
            _ => Field::Bool(false),
        }
    }

    fn decimal(&mut self, key: &str, field: &'static str) -> Field {
        match self.get(key) {
            None => Field::Null,
            Some(Value::Number(n)) => match Decimal::from_str(&n.to_string())
                .or_else(|_| Decimal::from_scientific(&n.to_string()))
            {
                Ok(d) => Field::Decimal(d.normalize()),
                Err(_) => self.bad(field, "not_a_number"),
            },
            Some(_) => self.bad(field, "not_a_number"),
        }
    }

    fn time(&mut self, key: &str, field: &'static str) -> Field {
        match self.get(key) {
            None => Field::Null,
            Some(Value::String(s)) => match NaiveDateTime::parse_from_str(s, DATETIME_FORMAT) {
                Ok(t) => Field::Time(t.and_utc()),
                Err(_) => self.bad(field, "bad_datetime"),
            },
            Some(_) => self.bad(field, "bad_datetime"),
        }
    }

    fn date(&mut self, key: &str, field: &'static str) -> Field {
        match self.get(key) {
            None => Field::Null,
            Some(Value::String(s)) => match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                Ok(d) => Field::Date(d),
                Err(_) => self.bad(field, "bad_date"),
            },
            Some(_) => self.bad(field, "bad_date"),
        }
    }

    /// A many2one's display name.
    fn name_of(&mut self, key: &str, field: &'static str) -> Field {
        match self.get(key) {
            None => Field::Null,
            Some(Value::Array(pair)) => match pair.get(1) {
                Some(Value::String(s)) => Field::Text(s.clone()),
                _ => self.bad(field, "bad_many2one"),
            },
            Some(_) => self.bad(field, "bad_many2one"),
        }
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
        match self.get(key) {
            None => Field::Null,
            Some(Value::Array(pair)) => match pair.first() {
                Some(Value::Number(id)) => Field::Text(id.to_string()),
                _ => self.bad(field, "bad_many2one"),
            },
            Some(_) => self.bad(field, "bad_many2one"),
        }
    }

    fn positive(&mut self, key: &str) -> Field {
        match self.get(key) {
            Some(Value::Number(n)) => Field::Bool(n.as_f64().is_some_and(|x| x > 0.0)),
            _ => Field::Bool(false),
        }
    }

    fn bad(&mut self, field: &'static str, code: &'static str) -> Field {
        self.reasons.push(Reason::field(field, code));
        Field::Null
    }
}

impl Mapper for OdooMapper {
    fn map(&self, raw: &RawRecord) -> Result<Mapped, Rejected> {
        let reject = |reasons| Rejected {
            stage: "mapper",
            external_id: Some(raw.external_id.clone()),
            reasons,
        };
        let record: Map<String, Value> = serde_json::from_str(raw.body.get())
            .map_err(|e| reject(vec![Reason::record("not_an_object", e.to_string())]))?;
        let mut r = Reader {
            record: &record,
            reasons: Vec::new(),
        };
        let mut f = Fields::new();
        let entity = match self.model {
            "res.partner" => {
                let company = matches!(record.get("is_company"), Some(Value::Bool(true)));
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
                f.insert("owner", r.name_of("user_id", "owner"));
                f.insert("owner_external_id", r.id_of("user_id", "owner_external_id"));
                f.insert("source", r.name_of("source_id", "source"));
                f.insert("lost_reason", r.name_of("lost_reason_id", "lost_reason"));
                f.insert("status", r.name_of("stage_id", "status"));
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
                f.insert("owner", r.name_of("user_id", "owner"));
                f.insert("owner_external_id", r.id_of("user_id", "owner_external_id"));
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
                return Err(reject(vec![Reason::record(
                    "unknown_model",
                    format!("no mapping for Odoo model {other}"),
                )]));
            }
        };
        if !r.reasons.is_empty() {
            return Err(reject(r.reasons));
        }
        Ok(Mapped {
            entity,
            external_id: raw.external_id.clone(),
            hash: raw.hash,
            fields: f,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{normalize, validate};

    fn raw(text: &str) -> RawRecord {
        let body = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}"));
        RawRecord::new("odoo", "crm.lead", "9".into(), body)
    }

    #[test]
    fn a_crm_lead_goes_through_mapper_validator_and_normalizer() {
        let r = raw(
            r#"{"id": 9, "name": " Backup for 40 sites ", "partner_name": "Martin SA",
                "contact_name": false, "email_from": "Jo@Martin.FR", "phone": "+33 1 42 68 53 00",
                "expected_revenue": 12000.505, "company_currency": [1, "EUR"], "probability": 35.5,
                "date_deadline": "2026-03-31", "user_id": [2, "Mitchell Admin"], "source_id": false,
                "lost_reason_id": false, "stage_id": [3, "Proposition"],
                "create_date": "2026-01-02 08:00:00", "write_date": "2026-01-05 10:30:00"}"#,
        );
        let mapped = OdooMapper { model: "crm.lead" }
            .map(&r)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(mapped.entity, Entity::Lead);
        assert_eq!(mapped.fields["contact_name"], Field::Null, "false is empty");
        assert_eq!(
            mapped.fields["value"],
            Field::Decimal(Decimal::new(12000505, 3)),
            "exact, not a float"
        );
        let n = normalize(validate(mapped, &|_, _| true).unwrap_or_else(|r| panic!("{r:?}")))
            .unwrap_or_else(|r| panic!("{r:?}"));
        assert_eq!(n.fields["title"], Field::Text("Backup for 40 sites".into()));
        assert_eq!(
            n.fields["contact_email"],
            Field::Text("jo@martin.fr".into())
        );
        assert_eq!(
            n.fields["contact_phone"],
            Field::Text("+33142685300".into())
        );
        assert_eq!(
            n.fields["value"],
            Field::Decimal(Decimal::new(1200050, 2)),
            "half-even to cents"
        );
        assert_eq!(n.fields["status"], Field::Text("Proposition".into()));
        assert_eq!(
            n.fields["updated_at"],
            Field::Time(
                chrono::DateTime::parse_from_rfc3339("2026-01-05T10:30:00Z")
                    .map(|t| t.to_utc())
                    .unwrap_or_default()
            )
        );
    }

    #[test]
    fn partners_split_into_organizations_and_contacts() {
        let company = raw(
            r#"{"id": 7, "name": "Martin SA", "is_company": true, "customer_rank": 2,
            "supplier_rank": 0, "country_code": "FR", "state_id": [12, "Île-de-France"],
            "write_date": "2026-01-05 10:30:00"}"#,
        );
        let person = raw(
            r#"{"id": 8, "name": "Jo Martin", "is_company": false, "parent_id": [7, "Martin SA"],
            "function": "CFO", "write_date": "2026-01-05 10:30:00"}"#,
        );
        let m = OdooMapper {
            model: "res.partner",
        };
        let org = m.map(&company).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(org.entity, Entity::Organization);
        assert_eq!(org.fields["is_customer"], Field::Bool(true));
        assert_eq!(org.fields["state"], Field::Text("Île-de-France".into()));
        let contact = m.map(&person).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(contact.entity, Entity::Contact);
        assert_eq!(contact.fields["organization"], Field::Ref("7".into()));
    }

    #[test]
    fn a_record_of_the_wrong_shape_is_rejected_with_every_reason() {
        let bad = raw(
            r#"{"id": 9, "name": "X", "expected_revenue": "lots", "write_date": "yesterday",
            "stage_id": "Won"}"#,
        );
        let e = OdooMapper { model: "crm.lead" }
            .map(&bad)
            .err()
            .unwrap_or_else(|| panic!("rejected"));
        assert_eq!(e.stage, "mapper");
        let codes: Vec<_> = e.reasons.iter().map(|r| (r.field, r.code)).collect();
        assert!(codes.contains(&(Some("value"), "not_a_number")));
        assert!(codes.contains(&(Some("updated_at"), "bad_datetime")));
        assert!(codes.contains(&(Some("status"), "bad_many2one")));
        let not_object = raw("[1, 2]");
        assert!(OdooMapper { model: "crm.lead" }.map(&not_object).is_err());
    }
}
