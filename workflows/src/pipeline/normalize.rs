//! The normalizer: every value in its canonical format. Text trimmed (empty → null),
//! emails lower-cased, phones in E.164 (libphonenumber's rules, with the record's
//! country as the hint for national numbers), ISO-3166 alpha-2 country codes and ISO
//! 4217 currencies upper-cased, money rounded half-even to cents. Timestamps are UTC
//! already: the mapper parses them as such.

use rust_decimal::{Decimal, RoundingStrategy};

use super::{Field, Normalized, Reason, Rejected, Validated};

const EMAILS: &[&str] = &["email", "contact_email"];
const PHONES: &[&str] = &["phone", "mobile", "contact_phone"];
const UPPER: &[&str] = &["country_code", "currency"];
const MONEY: &[&str] = &[
    "value",
    "amount_untaxed",
    "amount_tax",
    "amount_total",
    "amount_due",
];

/// A phone number in E.164, read with `country` (ISO alpha-2) as the hint.
pub fn e164(raw: &str, country: Option<&str>) -> Option<String> {
    let hint = country.and_then(|c| {
        c.to_ascii_uppercase()
            .parse::<phonenumber::country::Id>()
            .ok()
    });
    let number = phonenumber::parse(hint, raw).ok()?;
    phonenumber::is_valid(&number)
        .then(|| number.format().mode(phonenumber::Mode::E164).to_string())
}

pub fn normalize(record: Validated) -> Result<Normalized, Rejected> {
    let m = record.0;
    let country = m
        .fields
        .get("country_code")
        .and_then(Field::text)
        .map(|c| c.trim().to_ascii_uppercase());
    let mut reasons = Vec::new();
    let mut fields = m.fields;
    for (name, value) in fields.iter_mut() {
        let field = *name;
        *value = match std::mem::replace(value, Field::Null) {
            Field::Text(t) => {
                let trimmed = t.trim();
                if trimmed.is_empty() {
                    Field::Null
                } else if EMAILS.contains(&field) {
                    Field::Text(trimmed.to_lowercase())
                } else if UPPER.contains(&field) {
                    Field::Text(trimmed.to_ascii_uppercase())
                } else if PHONES.contains(&field) {
                    match e164(trimmed, country.as_deref()) {
                        Some(p) => Field::Text(p),
                        None => {
                            reasons.push(Reason {
                                field: Some(field),
                                code: "bad_phone",
                                detail: Some(trimmed.to_owned()),
                            });
                            Field::Null
                        }
                    }
                } else if trimmed.len() == t.len() {
                    // Already trimmed: kept as is, not copied.
                    Field::Text(t)
                } else {
                    Field::Text(trimmed.to_owned())
                }
            }
            Field::Decimal(d) if MONEY.contains(&field) => {
                Field::Decimal(d.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven))
            }
            Field::Ref(r) => Field::Ref(r.trim().to_owned()),
            other => other,
        };
    }
    if !reasons.is_empty() {
        return Err(Rejected {
            stage: "normalizer",
            external_id: Some(m.external_id),
            reasons,
        });
    }
    Ok(Normalized {
        entity: m.entity,
        external_id: m.external_id,
        hash: m.hash,
        fields,
    })
}

/// Rounds money the way the normalizer does (for callers comparing figures).
pub fn money(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{Entity, Fields, Mapped, validate};

    fn normalized(fields: Fields) -> Result<Normalized, Rejected> {
        let m = Mapped {
            entity: Entity::Organization,
            external_id: "1".into(),
            hash: [0; 32],
            fields,
        };
        normalize(validate(m, &|_, _| true).unwrap_or_else(|r| panic!("{r:?}")))
    }

    #[test]
    fn values_take_their_canonical_form() {
        let mut f = Fields::new();
        f.insert("name", Field::Text("  Boulangerie Martin  ".into()));
        f.insert("email", Field::Text(" Contact@Martin.FR ".into()));
        f.insert("phone", Field::Text("01 42 68 53 00".into()));
        f.insert("country_code", Field::Text("fr".into()));
        f.insert("website", Field::Text("   ".into()));
        let n = normalized(f).unwrap_or_else(|r| panic!("{r:?}"));
        assert_eq!(n.fields["name"], Field::Text("Boulangerie Martin".into()));
        assert_eq!(n.fields["email"], Field::Text("contact@martin.fr".into()));
        assert_eq!(n.fields["phone"], Field::Text("+33142685300".into()));
        assert_eq!(n.fields["country_code"], Field::Text("FR".into()));
        assert_eq!(n.fields["website"], Field::Null);
    }

    #[test]
    fn an_impossible_phone_number_is_refused_with_its_value() {
        let mut f = Fields::new();
        f.insert("name", Field::Text("X".into()));
        f.insert("phone", Field::Text("12".into()));
        let r = normalized(f).err().unwrap_or_else(|| panic!("refused"));
        assert_eq!(r.stage, "normalizer");
        assert_eq!(r.reasons[0].code, "bad_phone");
        assert_eq!(r.reasons[0].detail.as_deref(), Some("12"));
    }

    #[test]
    fn money_is_rounded_half_even_to_cents() {
        assert_eq!(money(Decimal::new(12345, 3)), Decimal::new(1234, 2));
        assert_eq!(money(Decimal::new(12355, 3)), Decimal::new(1236, 2));
        assert_eq!(
            e164("+1 650-253-0000", None).as_deref(),
            Some("+16502530000")
        );
    }
}
