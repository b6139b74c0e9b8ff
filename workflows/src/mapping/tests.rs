use super::engine::{Learned, SourceField, propose};

fn f(name: &str, label: &str, ty: &str) -> SourceField {
    SourceField {
        name: name.into(),
        label: Some(label.into()),
        kind: Some(ty.into()),
        ..SourceField::default()
    }
}

fn with_samples(mut field: SourceField, samples: &[&str]) -> SourceField {
    field.samples = samples.iter().map(|s| (*s).to_owned()).collect();
    field
}

/// Top-1 accuracy against the expected targets; every proposal at or above 0.9 must be
/// right (those would be approved by themselves).
fn assess(entity: &str, fields: &[SourceField], expected: &[(&str, Option<&str>)]) -> f64 {
    let proposals = propose(entity, fields, &Learned::default()).unwrap();
    let mut right = 0;
    for (field, want) in expected {
        let p = proposals.iter().find(|p| p.source_field == *field).unwrap();
        if p.target_field.as_deref() == *want {
            right += 1;
        } else {
            println!(
                "{entity}.{field}: proposed {:?} ({:.2}: {}), expected {want:?}",
                p.target_field, p.confidence, p.reason
            );
            assert!(p.confidence < 0.9, "an auto-approvable mistake: {p:?}");
        }
    }
    right as f64 / expected.len() as f64
}

#[test]
fn odoo_partner_fields_map_to_the_organization_as_the_odoo_mapper_does() {
    let fields = vec![
        f("name", "Name", "char"),
        f("active", "Active", "boolean"),
        f("is_company", "Is a Company", "boolean"),
        f("parent_id", "Related Company", "many2one"),
        with_samples(f("email", "Email", "char"), &["contact@acme.fr", "false"]),
        with_samples(
            f("phone", "Phone", "char"),
            &["+33 1 42 68 53 00", "01 42 68 53 00"],
        ),
        f("mobile", "Mobile", "char"),
        f("website", "Website Link", "char"),
        with_samples(f("vat", "Tax ID", "char"), &["FR40303265045"]),
        f("street", "Street", "char"),
        f("street2", "Street2", "char"),
        f("city", "City", "char"),
        f("zip", "Zip", "char"),
        f("state_id", "State", "many2one"),
        with_samples(f("country_code", "Country Code", "char"), &["FR", "BE"]),
        f("industry_id", "Industry", "many2one"),
        f("customer_rank", "Customer Rank", "integer"),
        f("supplier_rank", "Supplier Rank", "integer"),
        f("function", "Job Position", "char"),
        f("create_date", "Created on", "datetime"),
        f("write_date", "Last Updated on", "datetime"),
    ];
    let expected = [
        ("name", Some("name")),
        ("email", Some("email")),
        ("phone", Some("phone")),
        ("website", Some("website")),
        ("vat", Some("vat_number")),
        ("street", Some("street")),
        ("street2", Some("street2")),
        ("city", Some("city")),
        ("zip", Some("postal_code")),
        ("state_id", Some("state")),
        ("country_code", Some("country_code")),
        ("industry_id", Some("industry")),
        ("customer_rank", Some("is_customer")),
        ("supplier_rank", Some("is_supplier")),
        ("create_date", Some("created_at")),
        ("write_date", Some("updated_at")),
    ];
    let top1 = assess("organization", &fields, &expected);
    assert!(top1 >= 0.9, "top-1 {top1}");
}

#[test]
fn odoo_lead_fields_map_to_the_lead() {
    let fields = vec![
        f("name", "Opportunity", "char"),
        f("partner_name", "Company Name", "char"),
        f("contact_name", "Contact Name", "char"),
        f("email_from", "Email", "char"),
        f("phone", "Phone", "char"),
        f("expected_revenue", "Expected Revenue", "monetary"),
        f("company_currency", "Currency", "many2one"),
        f("probability", "Probability", "float"),
        f("date_deadline", "Expected Closing", "date"),
        f("user_id", "Salesperson", "many2one"),
        f("source_id", "Source", "many2one"),
        f("lost_reason_id", "Lost Reason", "many2one"),
        f("stage_id", "Stage", "many2one"),
        f("create_date", "Created on", "datetime"),
        f("write_date", "Last Updated on", "datetime"),
        f("color", "Color Index", "integer"),
    ];
    let expected = [
        ("name", Some("title")),
        ("partner_name", Some("organization")),
        ("contact_name", Some("contact_name")),
        ("email_from", Some("contact_email")),
        ("phone", Some("contact_phone")),
        ("expected_revenue", Some("value")),
        ("company_currency", Some("currency")),
        ("probability", Some("probability")),
        ("date_deadline", Some("expected_close_date")),
        ("user_id", Some("owner")),
        ("source_id", Some("source")),
        ("lost_reason_id", Some("lost_reason")),
        ("stage_id", Some("stage")),
        ("create_date", Some("created_at")),
        ("write_date", Some("updated_at")),
        ("color", None),
    ];
    let top1 = assess("lead", &fields, &expected);
    assert!(top1 >= 0.9, "top-1 {top1}");
}

#[test]
fn a_french_labelled_custom_source_maps() {
    let fields = vec![
        with_samples(
            f("x_studio_raison_sociale", "Raison sociale", "char"),
            &["ACME SAS"],
        ),
        f("x_nom_commercial", "Nom de la société", "char"),
        with_samples(
            f("x_studio_tva", "Numéro de TVA", "char"),
            &["FR40303265045"],
        ),
        with_samples(f("x_courriel", "Courriel", "char"), &["contact@acme.fr"]),
        with_samples(f("x_tel", "Téléphone", "char"), &["01 42 68 53 00"]),
        f("x_site", "Site web", "char"),
        f("x_adresse", "Adresse", "char"),
        f("x_complement", "Complément d'adresse", "char"),
        f("x_cp", "Code postal", "char"),
        f("x_ville", "Ville", "char"),
        with_samples(f("x_pays", "Pays", "char"), &["FR"]),
        f("x_secteur", "Secteur d'activité", "selection"),
        f("x_est_client", "Est client", "boolean"),
        f("x_date_creation", "Date de création", "datetime"),
        f("x_notes_internes", "Notes internes", "text"),
    ];
    let expected = [
        ("x_studio_raison_sociale", Some("legal_name")),
        ("x_nom_commercial", Some("name")),
        ("x_studio_tva", Some("vat_number")),
        ("x_courriel", Some("email")),
        ("x_tel", Some("phone")),
        ("x_site", Some("website")),
        ("x_adresse", Some("street")),
        ("x_complement", Some("street2")),
        ("x_cp", Some("postal_code")),
        ("x_ville", Some("city")),
        ("x_pays", Some("country_code")),
        ("x_secteur", Some("industry")),
        ("x_est_client", Some("is_customer")),
        ("x_date_creation", Some("created_at")),
        ("x_notes_internes", None),
    ];
    let top1 = assess("organization", &fields, &expected);
    assert!(top1 >= 0.9, "top-1 {top1}");
}

#[test]
fn an_english_source_in_several_naming_styles_maps() {
    let fields = vec![
        f("firstName", "", "string"),
        f("LastName", "", "string"),
        with_samples(f("EMAIL_ADDRESS", "", "string"), &["jane@example.com"]),
        f("workPhone", "", "string"),
        f("cell-phone", "", "string"),
        f("jobTitle", "", "string"),
        f("companyId", "", "many2one"),
        f("Country", "", "string"),
        f("createdAt", "", "datetime"),
        f("updatedAt", "", "datetime"),
        f("favouriteColour", "", "string"),
    ];
    let expected = [
        ("firstName", Some("first_name")),
        ("LastName", Some("last_name")),
        ("EMAIL_ADDRESS", Some("email")),
        ("workPhone", Some("phone")),
        ("cell-phone", Some("mobile")),
        ("jobTitle", Some("job_title")),
        ("companyId", Some("organization")),
        ("Country", Some("country_code")),
        ("createdAt", Some("created_at")),
        ("updatedAt", Some("updated_at")),
        ("favouriteColour", None),
    ];
    let top1 = assess("contact", &fields, &expected);
    assert!(top1 >= 0.9, "top-1 {top1}");
}

#[test]
fn two_fields_never_win_one_target_and_every_field_gets_a_proposal() {
    let fields = vec![
        f("email", "Email", "char"),
        f("email_from", "Email", "char"),
        f("x_secondary_email", "Secondary email", "char"),
    ];
    let proposals = propose("lead", &fields, &Learned::default()).unwrap();
    assert_eq!(proposals.len(), 3);
    let winners: Vec<_> = proposals
        .iter()
        .filter_map(|p| p.target_field.as_deref())
        .collect();
    assert_eq!(
        winners.iter().filter(|t| **t == "contact_email").count(),
        1,
        "{proposals:?}"
    );
    for p in &proposals {
        assert!((0.0..=1.0).contains(&p.confidence));
        assert!(!p.reason.is_empty());
        assert_eq!(p.engine, "rules");
    }
}

#[test]
fn a_learned_correction_changes_the_next_proposal_and_a_rejection_lowers_it() {
    let field = f("x_ref_client", "Code client", "char");
    let before = propose(
        "organization",
        std::slice::from_ref(&field),
        &Learned::default(),
    )
    .unwrap();
    assert_ne!(before[0].target_field.as_deref(), Some("vat_number"));
    let mut learned = Learned::default();
    learned.record("organization", &field, "vat_number", true);
    // Another source, same label: the lesson applies.
    let other = f("customer_code", "Code client", "varchar");
    let after = propose("organization", &[other], &learned).unwrap();
    assert_eq!(after[0].target_field.as_deref(), Some("vat_number"));
    assert!(
        after[0].reason.contains("approved before"),
        "{}",
        after[0].reason
    );

    let zip = f("zip", "Zip", "char");
    let mut learned = Learned::default();
    learned.record("organization", &zip, "postal_code", false);
    let p = propose("organization", &[zip], &learned).unwrap();
    assert!(
        p[0].target_field.as_deref() != Some("postal_code") || p[0].confidence < 0.5,
        "{p:?}"
    );
}

#[test]
fn bad_requests_name_every_problem() {
    let e = propose("spaceship", &[], &Learned::default()).unwrap_err();
    let text = format!("{e:?}");
    assert!(
        text.contains("unknown_entity") && text.contains("fields"),
        "{text}"
    );
    let dup = vec![f("a", "", "char"), f("a", "", "char"), f(" ", "", "char")];
    let text = format!(
        "{:?}",
        propose("lead", &dup, &Learned::default()).unwrap_err()
    );
    assert!(
        text.contains("fields.1.name") && text.contains("duplicate"),
        "{text}"
    );
    assert!(
        text.contains("fields.2.name") && text.contains("required"),
        "{text}"
    );
    let many: Vec<_> = (0..2_001)
        .map(|i| f(&format!("f{i}"), "", "char"))
        .collect();
    let text = format!(
        "{:?}",
        propose("lead", &many, &Learned::default()).unwrap_err()
    );
    assert!(text.contains("too_many"), "{text}");
}

#[test]
fn names_are_normalised_across_styles_prefixes_and_accents() {
    use super::engine::{normalise, normalise_name};
    assert_eq!(normalise_name("x_studio_Raison_Sociale"), "raison sociale");
    assert_eq!(normalise_name("partnerId"), "partner");
    assert_eq!(normalise_name("state_id"), "state");
    assert_eq!(normalise("Numéro de TVA"), "numero de tva");
    assert_eq!(normalise("EMAIL_ADDRESS"), "email address");
    assert_eq!(normalise("cell-phone"), "cell phone");
}
