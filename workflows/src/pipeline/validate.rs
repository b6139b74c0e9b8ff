//! The validator: declarative rules per canonical entity (required, type, format,
//! referential). Every failing rule is reported, not only the first; each is an error
//! (the record is refused) or a warning (kept, flagged) by the run's [`Policy`].

use super::policy::{Policy, Severity};
use super::{Entity, Field, Issue, Mapped, Reason, Rejected, Validated};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Bool,
    Int,
    Decimal,
    Time,
    Date,
    Ref,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Email,
    /// ISO 4217: three capital letters.
    Currency,
    /// ISO 3166-1 alpha-2.
    Country,
    /// A phone number the normalizer can put in E.164 (checked there, with the country).
    Phone,
    /// 0–100.
    Percentage,
    /// A web address: a host with a dot, with or without `http(s)://`.
    Url,
    /// A tax number: 4–20 letters and digits once separators are dropped, 2+ digits.
    Vat,
}

impl Format {
    /// The code of a value this format refuses.
    pub fn code(self) -> &'static str {
        match self {
            Format::Email => "bad_email",
            Format::Currency => "bad_currency",
            Format::Country => "bad_country",
            Format::Phone => "bad_phone",
            Format::Percentage => "bad_percentage",
            Format::Url => "bad_url",
            Format::Vat => "bad_vat",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Required(&'static str),
    Type(&'static str, Kind),
    Format(&'static str, Format),
    /// The field names a record of this entity that must be known (loaded before or in
    /// the same run).
    References(&'static str, Entity),
    /// A number its column can hold, `NUMERIC(precision, scale)` (once rounded to the
    /// scale): one too large is refused here, with its record, rather than by Postgres,
    /// with its whole page.
    Numeric(&'static str, u32, u32),
}

/// The rules of each canonical entity.
pub fn rules(entity: Entity) -> &'static [Rule] {
    use self::Format as F;
    use self::Kind as K;
    use Rule::{Format, Numeric, References, Required, Type};
    match entity {
        Entity::Organization => &[
            Required("name"),
            Type("name", K::Text),
            Format("email", F::Email),
            Format("country_code", F::Country),
            Format("website", F::Url),
            Format("vat_number", F::Vat),
            Type("is_customer", K::Bool),
            Type("updated_at", K::Time),
        ],
        Entity::Contact => &[
            Required("name"),
            Format("email", F::Email),
            Format("country_code", F::Country),
            References("organization", Entity::Organization),
            Type("updated_at", K::Time),
        ],
        Entity::Lead => &[
            Required("title"),
            Type("value", K::Decimal),
            Numeric("value", 18, 2),
            Format("currency", F::Currency),
            Format("contact_email", F::Email),
            Format("probability", F::Percentage),
            Type("expected_close_date", K::Date),
            Type("updated_at", K::Time),
        ],
        Entity::Order => &[
            Required("reference"),
            Required("currency"),
            Format("currency", F::Currency),
            Type("amount_total", K::Decimal),
            Numeric("amount_untaxed", 18, 2),
            Numeric("amount_tax", 18, 2),
            Numeric("amount_total", 18, 2),
            References("customer", Entity::Organization),
            Type("updated_at", K::Time),
        ],
        Entity::Product => &[
            Required("name"),
            Type("list_price", K::Decimal),
            Numeric("list_price", 18, 4),
            Numeric("cost_price", 18, 4),
            Type("active", K::Bool),
            Type("updated_at", K::Time),
        ],
        Entity::Invoice => &[
            Required("number"),
            Required("currency"),
            Format("currency", F::Currency),
            Type("amount_total", K::Decimal),
            Numeric("amount_untaxed", 18, 2),
            Numeric("amount_tax", 18, 2),
            Numeric("amount_total", 18, 2),
            Numeric("amount_due", 18, 2),
            References("customer", Entity::Organization),
        ],
    }
}

fn kind_of(f: &Field) -> Option<Kind> {
    match f {
        Field::Null => None,
        Field::Text(_) => Some(Kind::Text),
        Field::Bool(_) => Some(Kind::Bool),
        Field::Int(_) => Some(Kind::Int),
        Field::Decimal(_) => Some(Kind::Decimal),
        Field::Time(_) => Some(Kind::Time),
        Field::Date(_) => Some(Kind::Date),
        Field::Ref(_) => Some(Kind::Ref),
    }
}

fn format_ok(format: Format, f: &Field) -> bool {
    match (format, f) {
        (Format::Email, Field::Text(t)) => crate::identity::types::is_address(t.trim()),
        (Format::Currency, Field::Text(t)) => {
            crate::limits::is_iso_currency(&t.trim().to_ascii_uppercase())
        }
        (Format::Country, Field::Text(t)) => {
            isocountry::CountryCode::for_alpha2_caseless(t.trim()).is_ok()
        }
        (Format::Phone, Field::Text(t)) => t.chars().filter(char::is_ascii_digit).count() >= 4,
        (Format::Percentage, Field::Decimal(d)) => {
            *d >= rust_decimal::Decimal::ZERO && *d <= rust_decimal::Decimal::ONE_HUNDRED
        }
        (Format::Percentage, Field::Int(i)) => (0..=100).contains(i),
        (Format::Url, Field::Text(t)) => {
            let t = t.trim();
            let rest = t
                .strip_prefix("https://")
                .or_else(|| t.strip_prefix("http://"))
                .unwrap_or(t);
            let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
            let host = host.rsplit_once(':').map_or(host, |(h, port)| {
                if port.bytes().all(|b| b.is_ascii_digit()) {
                    h
                } else {
                    host
                }
            });
            !t.contains(char::is_whitespace)
                && host.contains('.')
                && !host.starts_with('.')
                && !host.ends_with('.')
                && host
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
        }
        (Format::Vat, Field::Text(t)) => {
            let compact: Vec<char> = t
                .chars()
                .filter(|c| !matches!(c, ' ' | '.' | '-' | '/'))
                .collect();
            (4..=20).contains(&compact.len())
                && compact.iter().all(char::is_ascii_alphanumeric)
                && compact.iter().filter(|c| c.is_ascii_digit()).count() >= 2
        }
        _ => false,
    }
}

/// The text of a value as given, for an issue or a reason.
fn original(f: &Field) -> String {
    match f {
        Field::Text(t) | Field::Ref(t) => t.clone(),
        other => serde_json::to_value(other)
            .map(|v| match v {
                serde_json::Value::String(s) => s,
                v => v.to_string(),
            })
            .unwrap_or_default(),
    }
}

/// Checks `record` against its entity's rules. `known(entity, external_id)` answers
/// referential rules (records already loaded, or in the same run); `policy` says which
/// failed rules are errors and which are warnings.
pub fn validate(
    mut record: Mapped,
    known: &dyn Fn(Entity, &str) -> bool,
    policy: &Policy,
) -> Result<Validated, Rejected> {
    let mut reasons = Vec::new();
    // A failed rule whose severity is configuration: a reason, or an issue on the row.
    fn fail(
        policy: &Policy,
        reasons: &mut Vec<Reason>,
        record: &mut Mapped,
        field: &'static str,
        code: &'static str,
        detail: String,
    ) {
        match policy.severity(code) {
            Severity::Error => reasons.push(Reason {
                field: Some(field),
                code,
                detail: Some(detail),
            }),
            s => {
                let given = record.fields.get(field).map(original).unwrap_or_default();
                if s == Severity::DiscardValue {
                    record.fields.insert(field, Field::Null);
                }
                record.issues.push(Issue {
                    field,
                    code,
                    original: given,
                });
            }
        }
    }
    for rule in rules(record.entity) {
        match *rule {
            Rule::Required(field) => {
                if record.fields.get(field).is_none_or(Field::is_null) {
                    reasons.push(Reason::field(field, "required"));
                }
            }
            Rule::Type(field, kind) => {
                if let Some(f) = record.fields.get(field).filter(|f| !f.is_null())
                    && kind_of(f) != Some(kind)
                {
                    reasons.push(Reason::field(field, "wrong_type"));
                }
            }
            Rule::Format(field, format) => {
                let bad = record
                    .fields
                    .get(field)
                    .filter(|f| !f.is_null() && !format_ok(format, f))
                    .map(original);
                if let Some(given) = bad {
                    fail(
                        policy,
                        &mut reasons,
                        &mut record,
                        field,
                        format.code(),
                        given,
                    );
                }
            }
            Rule::Numeric(field, precision, scale) => {
                let value = match record.fields.get(field) {
                    Some(Field::Decimal(d)) => Some(*d),
                    Some(Field::Int(i)) => Some(rust_decimal::Decimal::from(*i)),
                    _ => None,
                };
                let limit = rust_decimal::Decimal::from(10_i64.pow(precision - scale));
                let too_large = value.is_some_and(|v| {
                    v.round_dp_with_strategy(
                        scale,
                        rust_decimal::RoundingStrategy::MidpointAwayFromZero,
                    )
                    .abs()
                        >= limit
                });
                if too_large {
                    reasons.push(Reason::field(field, "out_of_range"));
                }
            }
            Rule::References(field, entity) => {
                let unknown = match record.fields.get(field) {
                    Some(Field::Ref(id)) if !known(entity, id) => {
                        Some(format!("{} {id}", entity.as_str()))
                    }
                    Some(f) if !f.is_null() && !matches!(f, Field::Ref(_)) => {
                        reasons.push(Reason::field(field, "wrong_type"));
                        None
                    }
                    _ => None,
                };
                if let Some(detail) = unknown {
                    fail(
                        policy,
                        &mut reasons,
                        &mut record,
                        field,
                        "unknown_reference",
                        detail,
                    );
                }
            }
        }
    }
    if reasons.is_empty() {
        Ok(Validated(record))
    } else {
        Err(Rejected {
            stage: "validator",
            entity: Some(record.entity),
            external_id: Some(record.external_id),
            reasons,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::Fields;
    use std::collections::HashSet;

    /// A `known` that accepts references to the given set (for tests and single runs).
    fn known_in(set: &HashSet<(Entity, String)>) -> impl Fn(Entity, &str) -> bool + '_ {
        move |e, id| set.contains(&(e, id.to_owned()))
    }

    fn mapped(entity: Entity, fields: Fields) -> Mapped {
        Mapped::new(entity, "42".into(), [0; 32], fields)
    }

    fn strict() -> Policy {
        let s = crate::pipeline::policy::SyncSettings {
            severity: crate::pipeline::policy::CONFIGURABLE
                .iter()
                .map(|(c, _)| ((*c).to_owned(), Severity::Error))
                .collect(),
            ..Default::default()
        };
        Policy::new(&s, None)
    }

    #[test]
    fn every_failing_rule_is_reported() {
        let mut f = Fields::new();
        f.insert("title", Field::Text("  ".into()));
        f.insert("currency", Field::Text("EURO".into()));
        f.insert("contact_email", Field::Text("not an email".into()));
        f.insert("probability", Field::Int(140));
        f.insert("value", Field::Text("12".into()));
        let Err(rejected) = validate(mapped(Entity::Lead, f), &|_, _| true, &strict()) else {
            panic!("must be rejected");
        };
        let got: Vec<(Option<&str>, &str)> =
            rejected.reasons.iter().map(|r| (r.field, r.code)).collect();
        assert_eq!(
            got,
            vec![
                (Some("title"), "required"),
                (Some("value"), "wrong_type"),
                (Some("currency"), "bad_currency"),
                (Some("contact_email"), "bad_email"),
                (Some("probability"), "bad_percentage"),
            ]
        );
    }

    #[test]
    fn amounts_too_large_for_their_column_are_refused() {
        let order = |total: rust_decimal::Decimal| {
            let mut f = Fields::new();
            f.insert("reference", Field::Text("SO42".into()));
            f.insert("currency", Field::Text("EUR".into()));
            f.insert("amount_total", Field::Decimal(total));
            validate(mapped(Entity::Order, f), &|_, _| true, &Policy::default())
        };
        // NUMERIC(18, 2): 16 digits before the point, once rounded to cents.
        assert!(order("9999999999999999.99".parse().unwrap()).is_ok());
        assert!(order("-9999999999999999.99".parse().unwrap()).is_ok());
        for too_large in ["10000000000000000", "9999999999999999.995", "-1e17"] {
            let value = rust_decimal::Decimal::from_scientific(too_large)
                .or_else(|_| too_large.parse())
                .unwrap();
            let Err(r) = order(value) else {
                panic!("{too_large} must be refused");
            };
            assert_eq!(
                (r.reasons[0].field, r.reasons[0].code),
                (Some("amount_total"), "out_of_range"),
                "{too_large}"
            );
        }
        // NUMERIC(18, 4) prices: 14 digits.
        let mut f = Fields::new();
        f.insert("name", Field::Text("Widget".into()));
        f.insert(
            "list_price",
            Field::Decimal(rust_decimal::Decimal::from(100_000_000_000_000_i64)),
        );
        let Err(r) = validate(mapped(Entity::Product, f), &|_, _| true, &Policy::default()) else {
            panic!("a 15-digit price must be refused");
        };
        assert_eq!(r.reasons[0].code, "out_of_range");
    }

    #[test]
    fn references_must_be_known() {
        let mut f = Fields::new();
        f.insert("name", Field::Text("Ann".into()));
        f.insert("organization", Field::Ref("7".into()));
        f.insert("country_code", Field::Text("fr".into()));
        let set: HashSet<(Entity, String)> = [(Entity::Organization, "7".to_owned())].into();
        assert!(
            validate(
                mapped(Entity::Contact, f.clone()),
                &known_in(&set),
                &Policy::default()
            )
            .is_ok()
        );
        let Err(r) = validate(
            mapped(Entity::Contact, f),
            &|_, _| false,
            &Policy::default(),
        ) else {
            panic!("unknown organization");
        };
        assert_eq!(r.reasons[0].code, "unknown_reference");
    }

    #[test]
    fn empty_optional_fields_pass() {
        let mut f = Fields::new();
        f.insert("name", Field::Text("Acme".into()));
        f.insert("email", Field::Null);
        f.insert("country_code", Field::Text(String::new()));
        assert!(
            validate(
                mapped(Entity::Organization, f),
                &|_, _| true,
                &Policy::default()
            )
            .is_ok()
        );
    }

    #[test]
    fn contact_formats_are_warnings_by_default_the_record_keeps_them_as_given() {
        let mut f = Fields::new();
        f.insert("name", Field::Text("Acme".into()));
        f.insert("email", Field::Text("sales at acme".into()));
        f.insert("website", Field::Text("not a site".into()));
        f.insert("vat_number", Field::Text("n/a".into()));
        f.insert("country_code", Field::Text("XX".into()));
        let v = validate(
            mapped(Entity::Organization, f),
            &|_, _| true,
            &Policy::default(),
        )
        .unwrap_or_else(|r| panic!("{r:?}"));
        let issues: Vec<(&str, &str, &str)> = v
            .record()
            .issues
            .iter()
            .map(|i| (i.field, i.code, i.original.as_str()))
            .collect();
        assert_eq!(
            issues,
            vec![
                ("email", "bad_email", "sales at acme"),
                ("country_code", "bad_country", "XX"),
                ("website", "bad_url", "not a site"),
                ("vat_number", "bad_vat", "n/a"),
            ]
        );
        assert_eq!(
            v.record().fields["email"],
            Field::Text("sales at acme".into())
        );
    }

    #[test]
    fn discard_value_drops_the_value_and_records_it() {
        let s = crate::pipeline::policy::SyncSettings {
            severity: [("bad_email".to_owned(), Severity::DiscardValue)].into(),
            ..Default::default()
        };
        let mut f = Fields::new();
        f.insert("name", Field::Text("Acme".into()));
        f.insert("email", Field::Text("nope".into()));
        let v = validate(
            mapped(Entity::Organization, f),
            &|_, _| true,
            &Policy::new(&s, None),
        )
        .unwrap_or_else(|r| panic!("{r:?}"));
        assert_eq!(v.record().fields["email"], Field::Null);
        assert_eq!(v.record().issues[0].original, "nope");
    }

    #[test]
    fn urls_and_vat_numbers_of_real_shapes_pass() {
        let ok = |format, t: &str| format_ok(format, &Field::Text(t.into()));
        for url in [
            "www.odoo.com",
            "http://www.example.com/",
            "https://shop.example.be:8443/fr?x=1",
            "example.co.uk",
        ] {
            assert!(ok(Format::Url, url), "{url}");
        }
        for url in [
            "localhost",
            "http://",
            "www.exa mple.com",
            "https://.com",
            "mailto:jo@x.com",
        ] {
            assert!(!ok(Format::Url, url), "{url}");
        }
        for vat in [
            "BE0477472701",
            "FR 12 345 678 901",
            "US12-3456789",
            "DE123456789",
        ] {
            assert!(ok(Format::Vat, vat), "{vat}");
        }
        for vat in ["n/a", "12", "BE-??-01"] {
            assert!(!ok(Format::Vat, vat), "{vat}");
        }
    }
}
