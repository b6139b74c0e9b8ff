//! The LLM mapping engine (BYOK) against a local chat-completions peer: configured as
//! the `llm/openai` provider (key sealed, tested live on activation), its answers
//! combined with the rules engine's; a malformed answer, a target outside SPEC §10, a
//! timeout, a 500 and a wrong key each leave a proposal for every field, the rules
//! engine's, saying why. Samples are sent only when the admin allows it.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/llm.rs"]
mod llm;
#[path = "../../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use app::TestApp;
use llm::{LlmPeer, Mode};
use reqwest::Method;
use serde_json::{Value, json};

const ADMIN: &str = "superadmin@salescommand.com";

fn fields() -> Value {
    json!([
        { "name": "email", "label": "Email", "type": "char", "samples": ["contact@acme.fr"] },
        { "name": "x_hq", "label": "Siège", "type": "char", "samples": ["Lyon", "Wavre"] },
        { "name": "zip", "label": "Zip", "type": "char" },
        { "name": "x_note", "label": "Internal note", "type": "text" }
    ])
}

async fn auto_map(app: &TestApp, admin: &str) -> Vec<Value> {
    let (status, answer) = app
        .call(
            admin,
            Method::POST,
            "/api/v1/mappings/auto-map",
            Some(json!({ "entity": "organization", "fields": fields() })),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let proposals = answer["proposals"].as_array().unwrap().clone();
    assert_eq!(proposals.len(), 4, "a proposal for every field: {answer}");
    proposals
}

fn by<'a>(ps: &'a [Value], name: &str) -> &'a Value {
    ps.iter().find(|p| p["source_field"] == name).unwrap()
}

async fn configure(app: &TestApp, admin: &str, peer: &LlmPeer, key: &str, extra: Value) {
    let mut configuration =
        json!({ "base_url": peer.base_url(), "model": llm::MODEL, "timeout_seconds": 1 });
    for (k, v) in extra.as_object().unwrap() {
        configuration[k] = v.clone();
    }
    let (status, body) = app
        .call(
            admin,
            Method::PUT,
            "/api/v1/providers/llm/openai",
            Some(json!({ "configuration": configuration, "credentials": { "api_key": key } })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn the_llm_engine_is_combined_with_the_rules_and_every_failure_falls_back() {
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    let peer = LlmPeer::start().await;
    peer.answer("email", Some("email"), 0.9);
    peer.answer("x_hq", Some("city"), 0.97);
    peer.answer("zip", Some("postal_code"), 0.9);

    // Bad settings are refused field by field, nothing stored.
    let (status, err) = app
        .call(
            &admin,
            Method::PUT,
            "/api/v1/providers/llm/openai",
            Some(json!({ "configuration": { "base_url": "ftp://x", "model": "", "timeout_seconds": 0 },
                         "credentials": { "api_key": llm::KEY } })),
        )
        .await;
    assert_eq!(status, 422, "{err}");
    let f = &err["error"]["details"]["fields"];
    for key in [
        "configuration.base_url",
        "configuration.model",
        "configuration.timeout_seconds",
    ] {
        assert!(f.get(key).is_some(), "{key}: {err}");
    }

    configure(&app, &admin, &peer, llm::KEY, json!({})).await;
    // Configured but not active: the rules engine alone.
    let alone = auto_map(&app, &admin).await;
    assert!(alone.iter().all(|p| p["engine"] == "rules"), "{alone:?}");
    assert!(peer.requests().is_empty());
    let (status, body) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/providers/llm/openai/activate",
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // A good answer: agreement raises confidence; a target only the LLM found waits
    // for a person; descriptions only (no samples), the vocabulary as the schema's enum.
    let ps = auto_map(&app, &admin).await;
    let email = by(&ps, "email");
    assert_eq!(
        (&email["engine"], &email["target_field"]),
        (&json!("rules+llm"), &json!("email"))
    );
    let hq = by(&ps, "x_hq");
    assert_eq!(
        (&hq["engine"], &hq["target_field"]),
        (&json!("llm"), &json!("city")),
        "{hq}"
    );
    assert!(hq["confidence"].as_f64().unwrap() < 0.9, "{hq}");
    assert!(by(&ps, "x_note")["target_field"].is_null());
    let request = peer.requests().pop().unwrap();
    let sent = request.to_string();
    assert!(
        !sent.contains("Lyon") && !sent.contains("contact@acme.fr"),
        "samples sent: {sent}"
    );
    let target_enum = &request["response_format"]["json_schema"]["schema"]["properties"]["mappings"]
        ["items"]["properties"]["target_field"]["enum"];
    assert!(
        target_enum
            .as_array()
            .unwrap()
            .contains(&json!("legal_name")),
        "{target_enum}"
    );
    assert_eq!(request["model"], llm::MODEL);

    // With samples allowed, they go too.
    configure(
        &app,
        &admin,
        &peer,
        llm::KEY,
        json!({ "send_samples": true }),
    )
    .await;
    auto_map(&app, &admin).await;
    assert!(peer.requests().pop().unwrap().to_string().contains("Lyon"));

    // A target outside the vocabulary: that field keeps the rules' proposal.
    peer.answer("email", Some("favourite_colour"), 0.99);
    let ps = auto_map(&app, &admin).await;
    let email = by(&ps, "email");
    assert_eq!(
        (&email["engine"], &email["target_field"]),
        (&json!("rules"), &json!("email"))
    );
    assert!(
        email["reason"]
            .as_str()
            .unwrap()
            .contains("favourite_colour"),
        "{email}"
    );
    assert_eq!(
        by(&ps, "x_hq")["engine"],
        "llm",
        "the rest of the answer stands"
    );

    // Malformed, stalled past the timeout, 500: the rules engine for every field.
    for (mode, why) in [
        (Mode::Malformed, "malformed"),
        (Mode::Stall(Duration::from_secs(3)), "unavailable"),
        (Mode::ServerError, "unavailable"),
    ] {
        peer.set_mode(mode.clone());
        let ps = auto_map(&app, &admin).await;
        for p in &ps {
            assert_eq!(p["engine"], "rules", "{mode:?}: {p}");
            assert!(p["reason"].as_str().unwrap().contains(why), "{mode:?}: {p}");
        }
        assert_eq!(by(&ps, "email")["target_field"], "email");
    }
    peer.set_mode(Mode::Answer);

    // A wrong key: 401 from the peer, the rules engine answers; the live test says so.
    configure(&app, &admin, &peer, "sk-wrong", json!({})).await;
    let ps = auto_map(&app, &admin).await;
    for p in &ps {
        assert!(
            p["reason"].as_str().unwrap().contains("refused the key"),
            "{p}"
        );
    }
    let (status, test) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/providers/llm/openai/test",
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(test["ok"], false, "{test}");
    // The key is never given back.
    let (_, listed) = app
        .call(&admin, Method::GET, "/api/v1/providers/llm/openai", None)
        .await;
    assert!(!listed.to_string().contains("sk-wrong"), "{listed}");
}
