//! `POST /api/v1/mappings/auto-map`: proposals for any source described as fields, and
//! every bad request named field by field; a provider object's live fields, proposed
//! versions, decisions (and what they teach), approval with its replay job, and the
//! refusals.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/odoo.rs"]
mod odoo;
#[path = "../../tests/support/mod.rs"]
mod support;

use app::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

const ADMIN: &str = "superadmin@salescommand.com";
const PARTNER: &str = "am1@salescommand.com";

#[tokio::test]
async fn auto_map_proposes_a_target_for_every_field() {
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    let body = json!({
        "entity": "organization",
        "fields": [
            { "name": "x_studio_raison_sociale", "label": "Raison sociale", "type": "char", "samples": ["ACME SAS"] },
            { "name": "x_tva", "label": "Numéro de TVA", "type": "char", "samples": ["FR40303265045"] },
            { "name": "zip", "label": "Zip", "type": "char" },
            { "name": "email", "type": "char", "samples": ["contact@acme.fr"] },
            { "name": "x_notes", "label": "Notes internes", "type": "text" }
        ]
    });
    let (status, answer) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/mappings/auto-map",
            Some(body),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let proposals = answer["proposals"].as_array().unwrap();
    assert_eq!(proposals.len(), 5);
    let target = |field: &str| {
        proposals
            .iter()
            .find(|p| p["source_field"] == field)
            .map(|p| p["target_field"].clone())
            .unwrap()
    };
    assert_eq!(target("x_studio_raison_sociale"), "legal_name");
    assert_eq!(target("x_tva"), "vat_number");
    assert_eq!(target("zip"), "postal_code");
    assert_eq!(target("email"), "email");
    assert_eq!(target("x_notes"), Value::Null);
    for p in proposals {
        let c = p["confidence"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&c), "{p}");
        assert!(!p["reason"].as_str().unwrap().is_empty());
        assert_eq!(p["engine"], "rules");
    }
    assert!(
        proposals[0]["reason"]
            .as_str()
            .unwrap()
            .contains("legal_name"),
        "{}",
        proposals[0]
    );
}

#[tokio::test]
async fn auto_map_names_every_problem_of_a_bad_request() {
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    let partner = app.token(PARTNER).await;
    let field = json!({ "name": "a" });
    let (status, _) = app
        .call(
            &partner,
            Method::POST,
            "/api/v1/mappings/auto-map",
            Some(json!({ "entity": "lead", "fields": [field] })),
        )
        .await;
    assert_eq!(status, 403);
    let cases = [
        (
            json!({ "entity": "spaceship", "fields": [field] }),
            "entity",
            "unknown_entity",
        ),
        (
            json!({ "entity": "lead", "fields": [] }),
            "fields",
            "required",
        ),
        (
            json!({ "entity": "lead", "fields": [field, field] }),
            "fields.1.name",
            "duplicate",
        ),
        (
            json!({ "entity": "lead", "fields": [{ "name": "  " }] }),
            "fields.0.name",
            "required",
        ),
        (
            json!({ "entity": "lead", "fields": [{ "name": "a", "samples": vec!["x"; 21] }] }),
            "fields.0.samples",
            "too_many",
        ),
        (
            json!({ "entity": "lead", "fields": (0..2001).map(|i| json!({ "name": format!("f{i}") })).collect::<Vec<_>>() }),
            "fields",
            "too_many",
        ),
    ];
    for (body, field, code) in cases {
        let (status, answer) = app
            .call(
                &admin,
                Method::POST,
                "/api/v1/mappings/auto-map",
                Some(body),
            )
            .await;
        assert_eq!(status, 422, "{field}: {answer}");
        assert!(
            answer["error"]["details"]["fields"][field]
                .as_array()
                .is_some_and(|codes| codes.iter().any(|c| c == code)),
            "{field} {code}: {answer}"
        );
    }
    let (status, _) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/mappings/auto-map",
            Some(json!({ "entity": "lead", "fields": [field], "extra": 1 })),
        )
        .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn a_provider_object_is_proposed_decided_taught_and_approved() {
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    let partner = app.token(PARTNER).await;
    let peer = odoo::OdooPeer::with_credentials("sync@example.com", "odoo-s3cret").await;
    odoo::odoo17::install(&peer);
    let auto_map = "/api/v1/mappings/odoo/res.partner/auto-map";
    let (status, err) = app
        .call(
            &admin,
            Method::POST,
            auto_map,
            Some(json!({ "entity": "contact" })),
        )
        .await;
    assert_eq!(
        (status, &err["error"]["code"]),
        (409, &json!("provider_not_configured")),
        "{err}"
    );
    app.configure_odoo(&admin, &peer.url(), "odoo-s3cret").await;

    // The live field list: Odoo's labels, a Studio field, machinery not mappable.
    let (status, live) = app
        .call(
            &admin,
            Method::GET,
            "/api/v1/integrations/odoo/fields/res.partner",
            None,
        )
        .await;
    assert_eq!(status, 200, "{live}");
    let field = |name: &str| {
        live["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name}: {live}"))
    };
    assert_eq!(field("x_studio_segment")["label"], "Segment");
    assert_eq!(
        field("x_studio_segment")["selection"],
        json!(["smb", "mid", "ent"])
    );
    assert_eq!(field("message_ids")["mappable"], false);
    assert_eq!(field("parent_id")["relation"], "res.partner");
    let (status, _) = app
        .call(
            &admin,
            Method::GET,
            "/api/v1/integrations/odoo/fields/stock.quant",
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .call(
            &admin,
            Method::GET,
            "/api/v1/integrations/pipedrive/fields/deals",
            None,
        )
        .await;
    assert_eq!(status, 404);

    // Which entity: required for res.partner, and one it maps to.
    for (body, key, code) in [
        (json!({}), "entity", "required"),
        (
            json!({ "entity": "order" }),
            "entity",
            "not_mapped_from_object",
        ),
        (json!({ "entity": "spaceship" }), "entity", "unknown_entity"),
    ] {
        let (status, err) = app.call(&admin, Method::POST, auto_map, Some(body)).await;
        assert_eq!(status, 422, "{err}");
        assert_eq!(
            err["error"]["details"]["fields"][key],
            json!([code]),
            "{err}"
        );
    }
    let (status, _) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/mappings/odoo/stock.move/auto-map",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .call(
            &partner,
            Method::POST,
            auto_map,
            Some(json!({ "entity": "contact" })),
        )
        .await;
    assert_eq!(status, 403);

    let (status, draft) = app
        .call(
            &admin,
            Method::POST,
            auto_map,
            Some(json!({ "entity": "contact" })),
        )
        .await;
    assert_eq!(status, 201, "{draft}");
    assert_eq!(
        (draft["status"].clone(), draft["version"].clone()),
        (json!("draft"), json!(2))
    );
    let rules = draft["rules"].as_array().unwrap().clone();
    let rule = |source: &str| {
        rules
            .iter()
            .find(|r| r["source_field"] == source)
            .cloned()
            .unwrap_or_else(|| panic!("{source}: {draft}"))
    };
    assert!(
        rules.iter().all(|r| r["source_field"] != "message_ids"),
        "machinery left out"
    );
    // Confident proposals approved by themselves, the rest waiting for a person.
    for r in &rules {
        let confident = r["confidence"].as_f64().unwrap() >= 0.9 && !r["target_field"].is_null();
        assert_eq!(
            r["status"],
            if confident { "approved" } else { "proposed" },
            "{r}"
        );
    }
    assert_eq!(rule("email")["target_field"], "email");
    assert_eq!(rule("email")["status"], "approved");
    let id = draft["id"].as_str().unwrap().to_owned();

    let (status, list) = app
        .call(
            &admin,
            Method::GET,
            "/api/v1/mappings/odoo/res.partner/versions?entity=contact",
            None,
        )
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["active"]["version"], 1);
    assert_eq!(list["active"]["origin"], "default");
    assert_eq!(list["versions"].as_array().unwrap().len(), 2);
    let (status, _) = app
        .call(
            &admin,
            Method::GET,
            "/api/v1/mappings/odoo/res.partner/versions",
            None,
        )
        .await;
    assert_eq!(status, 422, "entity required");

    // Bad decisions: named one by one, nothing stored.
    let decisions = format!("/api/v1/mappings/versions/{id}/decisions");
    let (status, err) = app
        .call(
            &admin,
            Method::POST,
            &decisions,
            Some(json!({ "decisions": [
                { "rule_id": rule("mobile")["id"], "status": "approved", "target_field": "email" },
                { "rule_id": rule("ref")["id"], "status": "approved", "target_field": "favourite_colour" },
                { "rule_id": 987654321, "status": "approved" },
            ] })),
        )
        .await;
    assert_eq!(status, 422, "{err}");
    let fields = &err["error"]["details"]["fields"];
    assert_eq!(
        fields["decisions.0.target_field"],
        json!(["target_taken"]),
        "{err}"
    );
    assert_eq!(
        fields["decisions.1.target_field"],
        json!(["unknown_target"]),
        "{err}"
    );
    assert_eq!(
        fields["decisions.2.rule_id"],
        json!(["unknown_rule"]),
        "{err}"
    );
    let (_, unchanged) = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/v1/mappings/versions/{id}"),
            None,
        )
        .await;
    assert_eq!(unchanged["rules"], draft["rules"], "nothing stored");
    let (status, _) = app
        .call(
            &admin,
            Method::POST,
            &decisions,
            Some(json!({ "decisions": [] })),
        )
        .await;
    assert_eq!(status, 422);
    let (status, _) = app
        .call(
            &partner,
            Method::POST,
            &decisions,
            Some(json!({ "decisions": [{ "rule_id": rule("ref")["id"], "status": "rejected" }] })),
        )
        .await;
    assert_eq!(status, 403);

    // A correction: the internal reference is the contact's last name here.
    let (status, decided) = app
        .call(
            &admin,
            Method::POST,
            &decisions,
            Some(json!({ "decisions": [
                { "rule_id": rule("ref")["id"], "status": "approved", "target_field": "last_name" },
            ] })),
        )
        .await;
    assert_eq!(status, 200, "{decided}");
    let corrected = decided["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["source_field"] == "ref")
        .unwrap()
        .clone();
    assert_eq!(
        (
            &corrected["target_field"],
            &corrected["engine"],
            &corrected["decided_by"]
        ),
        (&json!("last_name"), &json!("person"), &json!(ADMIN))
    );
    // …which the engine now proposes for a field named like that, from any source.
    let (status, answer) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/mappings/auto-map",
            Some(json!({ "entity": "contact", "fields": [{ "name": "x_ref", "label": "Reference", "type": "char" }] })),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["proposals"][0]["target_field"], "last_name",
        "{answer}"
    );
    assert!(
        answer["proposals"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("approved before"),
        "{answer}"
    );

    // Approval: active, the default retired, a replay asked for, audited.
    let (status, _) = app
        .call(
            &partner,
            Method::POST,
            &format!("/api/v1/mappings/versions/{id}/approve"),
            None,
        )
        .await;
    assert_eq!(status, 403);
    let (status, active) = app
        .call(
            &admin,
            Method::POST,
            &format!("/api/v1/mappings/versions/{id}/approve"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{active}");
    assert_eq!(
        (active["status"].clone(), active["proposed"].clone()),
        (json!("active"), json!(0))
    );
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM outbox WHERE queue = 'replay_mapping'")
            .await,
        1
    );
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM audit_logs WHERE action IN ('mapping_proposed', 'mapping_decided', 'mapping_activated')")
            .await,
        3
    );
    let (_, list) = app
        .call(
            &admin,
            Method::GET,
            "/api/v1/mappings/odoo/res.partner/versions?entity=contact",
            None,
        )
        .await;
    assert_eq!(list["active"]["version"], 2);
    assert_eq!(list["versions"][1]["status"], "retired");
    for action in ["approve", "reject"] {
        let (status, err) = app
            .call(
                &admin,
                Method::POST,
                &format!("/api/v1/mappings/versions/{id}/{action}"),
                None,
            )
            .await;
        assert_eq!(status, 409, "{action} of an active version: {err}");
    }
    let (status, err) = app
        .call(
            &admin,
            Method::POST,
            &decisions,
            Some(json!({ "decisions": [{ "rule_id": rule("ref")["id"], "status": "rejected" }] })),
        )
        .await;
    assert_eq!(
        (status, &err["error"]["code"]),
        (409, &json!("mapping_version_not_draft"))
    );

    // A draft rejected as a whole; unknown versions are 404.
    let (_, second) = app
        .call(
            &admin,
            Method::POST,
            auto_map,
            Some(json!({ "entity": "organization" })),
        )
        .await;
    let second_id = second["id"].as_str().unwrap();
    let (status, rejected) = app
        .call(
            &admin,
            Method::POST,
            &format!("/api/v1/mappings/versions/{second_id}/reject"),
            None,
        )
        .await;
    assert_eq!(
        (status, &rejected["status"]),
        (200, &json!("rejected")),
        "{rejected}"
    );
    let (status, _) = app
        .call(
            &admin,
            Method::GET,
            "/api/v1/mappings/versions/0193a1b2-0000-7000-8000-000000000000",
            None,
        )
        .await;
    assert_eq!(status, 404);
}
