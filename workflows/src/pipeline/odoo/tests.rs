//! The mapper against records shaped like a real Odoo's.

use super::*;
use crate::pipeline::{normalize, validate};

fn raw(text: &str) -> RawRecord {
    let body = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}"));
    RawRecord::new("odoo", "crm.lead", "9".into(), body)
}

fn lead(text: &str) -> Mapped {
    OdooMapper::new("crm.lead")
        .map(&raw(text))
        .unwrap_or_else(|e| panic!("{e:?}"))
}

/// The (field, code) of every reason a `crm.lead` record is refused for.
fn refused(text: &str) -> Vec<(Option<&'static str>, &'static str)> {
    let e = OdooMapper::new("crm.lead")
        .map(&raw(text))
        .err()
        .unwrap_or_else(|| panic!("refused"));
    assert_eq!(e.stage, "mapper");
    e.reasons.iter().map(|r| (r.field, r.code)).collect()
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
    let mapped = OdooMapper::new("crm.lead")
        .map(&r)
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(mapped.entity, Entity::Lead);
    assert_eq!(mapped.fields["contact_name"], Field::Null, "false is empty");
    assert_eq!(
        mapped.fields["value"],
        Field::Decimal(Decimal::new(12000505, 3)),
        "exact, not a float"
    );
    let p = Policy::default();
    let n = normalize(
        validate(mapped, &|_, _| true, &p).unwrap_or_else(|r| panic!("{r:?}")),
        &p,
    )
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
    assert_eq!(n.fields["status"], Field::Text("proposal".into()));
    assert_eq!(n.fields["stage"], Field::Text("Proposition".into()));
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
    let m = OdooMapper::new("res.partner");
    let org = m.map(&company).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(org.entity, Entity::Organization);
    assert_eq!(org.fields["is_customer"], Field::Bool(true));
    assert_eq!(org.fields["state"], Field::Text("Île-de-France".into()));
    let contact = m.map(&person).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(contact.entity, Entity::Contact);
    assert_eq!(contact.fields["organization"], Field::Ref("7".into()));
}

#[test]
fn numbers_are_read_exactly_from_their_text() {
    let m = lead(
        r#"{"id": 9, "name": "X", "expected_revenue": 12345678901234567.89,
            "probability": 1.5e1, "write_date": "2026-01-05 10:30:00"}"#,
    );
    // A float holds 17 significant digits at most: this one has 19.
    assert_eq!(
        m.fields["value"],
        Field::Decimal(Decimal::new(1_234_567_890_123_456_789, 2))
    );
    assert_eq!(m.fields["probability"], Field::Decimal(Decimal::new(15, 0)));
}

#[test]
fn escaped_text_and_field_names_are_decoded() {
    let m = lead(
        r#"{"id": 9, "na\u006de": "Caf\u00e9 \"Le Nord\"\n", "partner_name": "A\\B",
            "user_id": [4, "Zo\u00e9"], "write_date": "2026-01-05 10:30:00"}"#,
    );
    assert_eq!(m.fields["title"], Field::Text("Café \"Le Nord\"\n".into()));
    assert_eq!(m.fields["organization"], Field::Text("A\\B".into()));
    assert_eq!(m.fields["owner"], Field::Text("Zoé".into()));
    assert_eq!(m.fields["owner_external_id"], Field::Text("4".into()));
}

#[test]
fn many2ones_of_the_wrong_shape_are_refused_field_by_field() {
    let codes = refused(
        r#"{"id": 9, "name": "X", "user_id": [4], "stage_id": ["x", 3],
            "source_id": {"id": 1}, "write_date": "2026-01-05 10:30:00"}"#,
    );
    assert_eq!(
        codes,
        vec![
            (Some("owner"), "bad_many2one"),
            (Some("source"), "bad_many2one"),
            (Some("stage"), "bad_many2one"),
        ],
        "a one-element pair has an id but no name; a name where the id goes is no id"
    );
    assert_eq!(
        refused(r#"{"id": 9, "name": "X", "user_id": ["x", "Zoé"]}"#),
        vec![(Some("owner_external_id"), "bad_many2one")]
    );
}

#[test]
fn a_text_field_holding_a_structure_is_the_wrong_type() {
    assert_eq!(
        refused(r#"{"id": 9, "name": ["X"], "phone": true}"#),
        vec![
            (Some("title"), "wrong_type"),
            (Some("contact_phone"), "wrong_type")
        ]
    );
}

#[test]
fn a_record_of_the_wrong_shape_is_rejected_with_every_reason() {
    let codes = refused(
        r#"{"id": 9, "name": "X", "expected_revenue": "lots", "write_date": "yesterday",
        "stage_id": "Won"}"#,
    );
    assert!(codes.contains(&(Some("value"), "not_a_number")));
    assert!(codes.contains(&(Some("updated_at"), "bad_datetime")));
    assert!(codes.contains(&(Some("stage"), "bad_many2one")));
    assert_eq!(refused("[1, 2]"), vec![(None, "not_an_object")]);
}

#[test]
fn many2one_pairs_of_every_shape_read_as_the_json_parser_reads_them() {
    let owner = |pair: &str| {
        let m = OdooMapper::new("crm.lead")
            .map(&raw(&format!(
                r#"{{"id": 9, "name": "X", "user_id": {pair}, "write_date": "2024-01-01 00:00:00"}}"#
            )))
            .unwrap_or_else(|e| panic!("{pair}: {e:?}"));
        (
            m.fields["owner"].clone(),
            m.fields["owner_external_id"].clone(),
        )
    };
    let text = |s: &str| Field::Text(s.to_owned());
    assert_eq!(owner(r#"[7, "Doe, Jane"]"#), (text("Doe, Jane"), text("7")));
    assert_eq!(
        owner(r#"[ 7 ,"Jane [admin]" ]"#),
        (text("Jane [admin]"), text("7"))
    );
    assert_eq!(
        owner(r#"[7, "Jane \"JD\" Doe"]"#),
        (text("Jane \"JD\" Doe"), text("7"))
    );
    assert_eq!(owner(r#"[7, "Jane", "extra"]"#), (text("Jane"), text("7")));
    assert_eq!(owner(r#"[7, "Zo\u00eb"]"#), (text("Zoë"), text("7")));
    assert_eq!(owner("false"), (Field::Null, Field::Null));
    let bad = OdooMapper::new("crm.lead")
        .map(&raw(
            r#"{"id": 9, "name": "X", "user_id": [7], "write_date": "2024-01-01 00:00:00"}"#,
        ))
        .unwrap_err();
    assert_eq!(bad.reasons[0].field, Some("owner"));
    assert_eq!(bad.reasons[0].code, "bad_many2one");
}
