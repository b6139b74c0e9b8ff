//! The normalizer: every value in its canonical format. Text trimmed (empty → null),
//! emails lower-cased, phones in E.164, ISO-3166 alpha-2 country codes and ISO 4217
//! currencies upper-cased, money rounded half-even to cents. Timestamps are UTC
//! already: the mapper parses them as such.
//!
//! Phones: a national number is read in the record's own country, else the provider's
//! configured default country, else the installation's (`TENTABO_DEFAULT_COUNTRY`). A
//! number that parses to a valid or a *possible* number (a length that numbers of its
//! country have: fictitious ranges such as 555 numbers included) is stored in E.164, an
//! extension kept as `;ext=N` (RFC 3966); any other stays as given, with a `bad_phone`
//! warning (or an error, by the policy).

use rust_decimal::{Decimal, RoundingStrategy};

use super::policy::{Policy, Severity};
use super::{Field, Issue, Normalized, Reason, Rejected, Validated};

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

/// Whether `number`'s national number has a length numbers of its country code have.
fn possible(number: &phonenumber::PhoneNumber) -> bool {
    let national = number.national();
    let digits =
        national.value().checked_ilog10().map_or(1, |d| d + 1) + u32::from(national.zeros());
    let Ok(len) = u16::try_from(digits) else {
        return false;
    };
    phonenumber::metadata::DATABASE
        .by_code(&number.code().value())
        .is_some_and(|regions| {
            regions.iter().any(|m| {
                let d = m.descriptors();
                std::iter::once(d.general())
                    .chain(d.fixed_line())
                    .chain(d.mobile())
                    .chain(d.toll_free())
                    .chain(d.premium_rate())
                    .chain(d.shared_cost())
                    .chain(d.personal_number())
                    .chain(d.voip())
                    .chain(d.uan())
                    .any(|desc| {
                        desc.possible_length().contains(&len)
                            || desc.possible_local_length().contains(&len)
                    })
            })
        })
}

/// Whether the country code written after the `+` is the one the parser read: in
/// `+5 555-555-5555` the writer meant a country code `5`, which does not exist, while
/// the parser would read the digits as `+55` (Brazil). When the first group of digits
/// is longer than any country code, the split is the parser's.
fn written_code_matches(raw: &str, code: u16) -> bool {
    let Some(rest) = raw.trim_start().strip_prefix('+') else {
        return true;
    };
    let group: String = rest.chars().take_while(char::is_ascii_digit).collect();
    group.len() > 3 || group == code.to_string()
}

/// A phone number in E.164 (with `;ext=N` when it has an extension), read with each of
/// `regions` (ISO alpha-2) in turn as the region of a national number. A number written
/// internationally (`+…`) is read as such, whatever the regions.
pub fn e164(raw: &str, regions: &[Option<&str>]) -> Option<String> {
    let international = raw.trim_start().starts_with('+');
    let mut hints: Vec<Option<phonenumber::country::Id>> = if international {
        Vec::new()
    } else {
        regions
            .iter()
            .flatten()
            .filter_map(|c| {
                c.to_ascii_uppercase()
                    .parse::<phonenumber::country::Id>()
                    .ok()
            })
            .map(Some)
            .collect()
    };
    hints.dedup();
    if hints.is_empty() {
        hints.push(None);
    }
    for hint in hints {
        let Ok(number) = phonenumber::parse(hint, raw) else {
            continue;
        };
        if !written_code_matches(raw, number.code().value()) {
            return None;
        }
        if phonenumber::is_valid(&number) || possible(&number) {
            let mut out = number.format().mode(phonenumber::Mode::E164).to_string();
            if let Some(ext) = number.extension() {
                out.push_str(";ext=");
                out.push_str(ext.as_ref());
            }
            return Some(out);
        }
    }
    None
}

pub fn normalize(record: Validated, policy: &Policy) -> Result<Normalized, Rejected> {
    let m = record.0;
    let country = m
        .fields
        .get("country_code")
        .and_then(Field::text)
        .map(|c| c.trim().to_ascii_uppercase());
    let regions = [country.as_deref(), policy.default_country.as_deref()];
    let mut reasons = Vec::new();
    let mut issues = m.issues;
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
                    match e164(trimmed, &regions) {
                        Some(p) => Field::Text(p),
                        None => match policy.severity("bad_phone") {
                            Severity::Error => {
                                reasons.push(Reason {
                                    field: Some(field),
                                    code: "bad_phone",
                                    detail: Some(trimmed.to_owned()),
                                });
                                Field::Null
                            }
                            s => {
                                issues.push(Issue {
                                    field,
                                    code: "bad_phone",
                                    original: t.clone(),
                                });
                                if s == Severity::DiscardValue {
                                    Field::Null
                                } else {
                                    Field::Text(trimmed.to_owned())
                                }
                            }
                        },
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
            entity: Some(m.entity),
            external_id: Some(m.external_id),
            reasons,
        });
    }
    Ok(Normalized {
        entity: m.entity,
        external_id: m.external_id,
        hash: m.hash,
        fields,
        issues,
        deleted: m.deleted,
        extras: m.extras,
    })
}

/// Rounds money the way the normalizer does (for callers comparing figures).
pub fn money(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::policy::SyncSettings;
    use crate::pipeline::{Entity, Fields, Mapped, validate};

    fn normalized_with(fields: Fields, policy: &Policy) -> Result<Normalized, Rejected> {
        let m = Mapped::new(Entity::Organization, "1".into(), [0; 32], fields);
        normalize(
            validate(m, &|_, _| true, policy).unwrap_or_else(|r| panic!("{r:?}")),
            policy,
        )
    }

    fn normalized(fields: Fields) -> Result<Normalized, Rejected> {
        let strict = SyncSettings {
            severity: [("bad_phone".to_owned(), Severity::Error)].into(),
            ..Default::default()
        };
        normalized_with(fields, &Policy::new(&strict, None))
    }

    fn phone(raw: &str, country: Option<&str>, policy: &Policy) -> (Field, Vec<Issue>) {
        let mut f = Fields::new();
        f.insert("name", Field::Text("X".into()));
        f.insert("phone", Field::Text(raw.into()));
        if let Some(c) = country {
            f.insert("country_code", Field::Text(c.into()));
        }
        let n = normalized_with(f, policy).unwrap_or_else(|r| panic!("{r:?}"));
        (n.fields["phone"].clone(), n.issues)
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
            e164("+1 650-253-0000", &[None]).as_deref(),
            Some("+16502530000")
        );
    }

    #[test]
    fn phones_of_real_installations_load() {
        let p = Policy::default();
        let text = |s: &str| Field::Text(s.into());
        // National formats, read in the record's country.
        assert_eq!(
            phone("(803)-873-6126", Some("US"), &p).0,
            text("+18038736126")
        );
        assert_eq!(
            phone("01 42 68 53 00", Some("fr"), &p).0,
            text("+33142685300")
        );
        // International formats, whatever the record's country.
        assert_eq!(
            phone("+32 10 588 558", Some("US"), &p).0,
            text("+3210588558")
        );
        // Fictitious ranges are possible numbers: kept in E.164.
        assert_eq!(phone("+1 555-555-5555", None, &p).0, text("+15555555555"));
        assert_eq!(phone("+1 555 754 3010", None, &p).0, text("+15557543010"));
        // Extensions are kept.
        assert_eq!(
            phone("+1 555-754-3010 ext. 42", None, &p).0,
            text("+15557543010;ext=42")
        );
        // No country on the record: the provider's default, then the installation's.
        let be = Policy::new(
            &SyncSettings {
                default_country: Some("BE".into()),
                ..Default::default()
            },
            Some("US"),
        );
        assert_eq!(phone("010 58 85 58", None, &be).0, text("+3210588558"));
        let us = Policy::new(&SyncSettings::default(), Some("US"));
        assert_eq!(phone("(976)-397-4091", None, &us).0, text("+19763974091"));
        // The record's own country wins over the defaults.
        assert_eq!(
            phone("010 58 85 58", Some("BE"), &us).0,
            text("+3210588558")
        );
    }

    #[test]
    fn an_impossible_phone_stays_as_given_with_a_warning() {
        let p = Policy::default();
        let (value, issues) = phone(" +5 555-555-5555 ", None, &p);
        assert_eq!(value, Field::Text("+5 555-555-5555".into()));
        assert_eq!(
            issues,
            vec![Issue {
                field: "phone",
                code: "bad_phone",
                original: " +5 555-555-5555 ".into()
            }]
        );
        // A national number with no country anywhere cannot be read: kept, flagged.
        let (value, issues) = phone("(803)-873-6126", None, &p);
        assert_eq!(value, Field::Text("(803)-873-6126".into()));
        assert_eq!(issues.len(), 1);
    }
}
