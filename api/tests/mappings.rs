//! `POST /api/v1/mappings/auto-map`: proposals for any source described as fields, and
//! every bad request named field by field.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
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
