//! A sync run asked for over HTTP, run by the worker against the Odoo test peer, watched
//! through the runs API and the data-lake health endpoint.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/odoo.rs"]
mod odoo;
#[path = "../../tests/support/mod.rs"]
mod support;
#[path = "../../tests/support/worker.rs"]
mod worker;

use std::time::Duration;

use app::TestApp;
use odoo::{OdooPeer, Peer};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::json;
use support::eventually;
use worker::{RunningWorker, worker_config};

#[tokio::test]
async fn an_admin_asks_for_a_sync_and_watches_it_finish() {
    let app = TestApp::seeded().await;
    let peer = OdooPeer::start(Peer {
        database: "prod".into(),
        login: "sync@example.com".into(),
        password: "s3cret".into(),
        ..Default::default()
    })
    .await;
    peer.set(
        "crm.lead",
        (1..=120)
            .map(|i| {
                json!({ "id": i, "name": format!("Lead {i}"), "partner_name": "Client", "email_from": false,
                        "expected_revenue": 1000 + i, "company_currency": [1, "EUR"], "probability": 10,
                        "stage_id": [1, "New"], "write_date": format!("2026-01-01 00:00:{:02}", i % 60) })
                .as_object()
                .unwrap()
                .clone()
            })
            .collect(),
    );
    let admin = app.token("superadmin@salescommand.com").await;
    let partner = app.token("am1@salescommand.com").await;

    let (status, _) = app
        .call(
            &partner,
            Method::POST,
            "/api/v1/sync/odoo/lead",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 403);
    let (status, body) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/sync/odoo/unicorn",
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["details"]["fields"]["entity"].clone()),
        (422, json!(["unknown_entity"]))
    );
    let (status, _) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/sync/salesforce/lead",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 404);
    let (status, body) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/sync/odoo/lead",
            Some(json!({ "mode": "sideways" })),
        )
        .await;
    assert_eq!(status, 422, "{body}");

    let (status, run) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/sync/odoo/lead",
            Some(json!({ "mode": "full" })),
        )
        .await;
    assert_eq!(status, 202, "{run}");
    assert_eq!(
        (run["status"].as_str(), run["entity"].as_str()),
        (Some("queued"), Some("crm.lead"))
    );
    let (status, busy) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/sync/odoo/lead",
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, busy["error"]["code"].clone()),
        (409, json!("sync_already_running"))
    );

    let mut cfg = worker_config(&app.db.url, &app.redis.url, &app.redis.namespace);
    cfg.odoo_url = Some(peer.url());
    cfg.odoo_database = "prod".into();
    cfg.odoo_login = "sync@example.com".into();
    cfg.odoo_password = Some(SecretString::from("s3cret".to_owned()));
    cfg.sync_page_size = 50;
    let worker = RunningWorker::start(cfg);
    let path = format!("/api/v1/sync/runs/{}", run["id"].as_str().unwrap());
    eventually(Duration::from_secs(30), "the run succeeds", || async {
        app.call(&admin, Method::GET, &path, None).await.1["status"] == "succeeded"
    })
    .await;
    let (_, done) = app.call(&admin, Method::GET, &path, None).await;
    assert_eq!(done["counts"]["fetched"], 120);
    assert_eq!(done["counts"]["loaded"], 120);
    assert_eq!(done["progress"]["done"], 120);
    assert_eq!(done["progress"]["estimate"], 120);

    let (_, runs) = app
        .call(&admin, Method::GET, "/api/v1/sync/runs", None)
        .await;
    assert_eq!(runs["items"][0]["id"], run["id"]);
    let (status, health) = app
        .call(&admin, Method::GET, "/api/v1/data-lake/health", None)
        .await;
    assert_eq!(status, 200);
    let zone = |table: &str| {
        health["zones"]
            .as_array()
            .unwrap()
            .iter()
            .find(|z| z["table"] == table)
            .cloned()
            .unwrap()
    };
    // 120 leads, and the reference records a lead run reads first (6 stages, 6 countries).
    assert_eq!(zone("raw_records")["rows"], 132);
    // The run asked for the serving refresh; the worker ran it.
    eventually(
        Duration::from_secs(30),
        "the serving zone is refreshed",
        || async {
            let (_, h) = app
                .call(&admin, Method::GET, "/api/v1/data-lake/health", None)
                .await;
            h["zones"]
                .as_array()
                .unwrap()
                .iter()
                .any(|z| z["table"] == "serving_pipeline" && z["rows"].as_i64() > Some(0))
        },
    )
    .await;
    assert_eq!(zone("canonical_leads")["rows"], 120);
    assert!(zone("canonical_leads")["newest"].is_string());
    let (status, _) = app
        .call(&partner, Method::GET, "/api/v1/data-lake/health", None)
        .await;
    assert_eq!(status, 403);
    worker.stop().await;
}
