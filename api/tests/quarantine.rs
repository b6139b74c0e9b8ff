//! The quarantine and the sync settings over HTTP, after real sync runs from the Odoo
//! peer's Odoo-17-shaped records: an admin makes contact formats errors, a run
//! quarantines the records they refuse, the quarantine lists them with every reason and
//! filters them; after a settings change a retry from the raw zone loads what is now
//! accepted and leaves the rest with their reasons. Bad input gets a field-level 422
//! and changes nothing; other roles are refused.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/odoo.rs"]
mod odoo;
#[path = "../../tests/support/mod.rs"]
mod support;

use app::TestApp;
use odoo::{OdooPeer, odoo17};
use reqwest::Method;
use serde_json::{Value, json};
use tentabo_workflows::pipeline::run::{self, Mode};

const ADMIN: &str = "superadmin@salescommand.com";
const PARTNER: &str = "am1@salescommand.com";

struct Setup {
    app: TestApp,
    peer: OdooPeer,
    admin: String,
}

impl Setup {
    async fn new() -> Setup {
        let app = TestApp::seeded().await;
        let peer = OdooPeer::with_credentials("sync", "pw").await;
        odoo17::install(&peer);
        let admin = app.token(ADMIN).await;
        Setup { app, peer, admin }
    }

    async fn sync(&self, model: &str, mode: Mode) -> uuid::Uuid {
        let id = {
            let mut conn = self.app.db.conn().await;
            run::create(&mut conn, model, mode, None).await.unwrap()
        };
        let mut client = self.peer.client("sync", "pw");
        run::execute(
            &self.app.db.pool(2),
            &mut client,
            id,
            run::Options::default(),
        )
        .await
        .unwrap();
        id
    }

    async fn count(&self, sql: &str) -> i64 {
        self.app.db.count(sql).await
    }

    /// Every one of `requests` answers 403 to a partner.
    async fn forbidden_to_partners(&self, requests: &[(Method, &str, Option<Value>)]) {
        let partner = self.app.token(PARTNER).await;
        for (method, path, body) in requests {
            let (status, answer) = self
                .app
                .call(&partner, method.clone(), path, body.clone())
                .await;
            assert_eq!(status, 403, "{method} {path}: {answer}");
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.app.call(&self.admin, method, path, body).await
    }
}

fn external_ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["external_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn settings_show_defaults_and_overrides_and_refuse_bad_values() {
    let s = Setup::new().await;
    let (status, body) = s
        .call(Method::GET, "/api/v1/sync/settings/odoo", None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stored"], json!({}));
    assert_eq!(body["effective"]["severity"]["bad_phone"], "warning");
    assert_eq!(body["effective"]["severity"]["bad_currency"], "error");
    assert_eq!(body["effective"]["lead_stages"]["proposition"], "proposal");
    assert_eq!(body["effective"]["default_country"], Value::Null);

    let good = json!({"default_country": "be", "severity": {"bad_email": "discard_value"},
                      "lead_stages": {"Demo Scheduled": "negotiation"}});
    let (status, body) = s
        .call(Method::PUT, "/api/v1/sync/settings/odoo", Some(good))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["effective"]["default_country"], "BE");
    assert_eq!(body["effective"]["severity"]["bad_email"], "discard_value");
    assert_eq!(
        body["effective"]["lead_stages"]["demo scheduled"],
        "negotiation"
    );
    assert!(body["updated_at"].is_string());

    // Field by field, and nothing stored.
    let bad = json!({"default_country": "Belgium", "severity": {"required": "warning"},
                     "lead_stages": {"Demo": "maybe"}});
    let (status, body) = s
        .call(Method::PUT, "/api/v1/sync/settings/odoo", Some(bad))
        .await;
    assert_eq!(status, 422, "{body}");
    let details = &body["error"]["details"]["fields"];
    for field in ["default_country", "severity.required", "lead_stages.Demo"] {
        assert!(details.get(field).is_some(), "{field}: {body}");
    }
    let (status, body) = s
        .call(
            Method::PUT,
            "/api/v1/sync/settings/odoo",
            Some(json!({"severity": {"bad_phone": "sometimes"}})),
        )
        .await;
    assert_eq!(status, 422, "an unknown severity: {body}");
    let (_, body) = s
        .call(Method::GET, "/api/v1/sync/settings/odoo", None)
        .await;
    assert_eq!(
        body["stored"]["default_country"], "BE",
        "unchanged by the refused writes"
    );

    let (status, _) = s
        .call(Method::GET, "/api/v1/sync/settings/pipedrive", None)
        .await;
    assert_eq!(status, 404);
    s.forbidden_to_partners(&[
        (Method::GET, "/api/v1/sync/settings/odoo", None),
        (Method::PUT, "/api/v1/sync/settings/odoo", Some(json!({}))),
    ])
    .await;
    let audited = s
        .count("SELECT count(*) AS n FROM audit_logs WHERE action = 'sync.settings.update'")
        .await;
    assert_eq!(
        audited, 1,
        "the stored change is audited, the refused ones are not"
    );
}

#[tokio::test]
async fn quarantined_records_are_listed_filtered_and_retried_after_a_settings_change() {
    let s = Setup::new().await;
    // Strict phones, and a lead that cannot load whatever the settings: no title.
    let strict = json!({"severity": {"bad_phone": "error", "unknown_stage": "error"}});
    let (status, body) = s
        .call(Method::PUT, "/api/v1/sync/settings/odoo", Some(strict))
        .await;
    assert_eq!(status, 200, "{body}");
    s.peer.edit("crm.lead", 12, |r| {
        r.insert("name".into(), json!(false));
    });
    let partners_run = s.sync("res.partner", Mode::Full).await;
    let leads_run = s.sync("crm.lead", Mode::Full).await;

    let (status, run) = s
        .call(Method::GET, &format!("/api/v1/sync/runs/{leads_run}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(run["status"], "partial");
    assert_eq!(
        run["counts"]["quarantine_reasons"],
        json!({"bad_phone": 1, "unknown_stage": 1, "required": 1})
    );

    let (status, all) = s.call(Method::GET, "/api/v1/sync/quarantine", None).await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(
        external_ids(&all),
        vec!["31", "37", "10", "12", "7"],
        "oldest first: partners, then leads in page order"
    );
    let lead7 = &all["items"][4];
    assert_eq!(lead7["source"], "crm.lead");
    assert_eq!(lead7["entity"], "lead");
    assert_eq!(lead7["stage"], "normalizer");
    assert_eq!(lead7["reasons"][0]["code"], "bad_phone");
    assert_eq!(
        lead7["record"]["phone"], "+5 555-555-5555",
        "the fields as received"
    );

    for (query, want) in [
        (format!("run={partners_run}"), vec!["31", "37"]),
        ("entity=lead".to_owned(), vec!["10", "12", "7"]),
        ("source=res.partner".to_owned(), vec!["31", "37"]),
        ("stage=mapper".to_owned(), vec!["10"]),
        ("code=required".to_owned(), vec!["12"]),
        ("status=resolved".to_owned(), vec![]),
    ] {
        let (status, page) = s
            .call(
                Method::GET,
                &format!("/api/v1/sync/quarantine?{query}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{query}: {page}");
        assert_eq!(external_ids(&page), want, "{query}");
    }
    // Paging by cursor.
    let (_, first) = s
        .call(Method::GET, "/api/v1/sync/quarantine?limit=3", None)
        .await;
    assert_eq!(external_ids(&first), vec!["31", "37", "10"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, rest) = s
        .call(
            Method::GET,
            &format!("/api/v1/sync/quarantine?limit=3&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(external_ids(&rest), vec!["12", "7"]);
    assert_eq!(rest["next_cursor"], Value::Null);

    // Bad filters and bodies: field-level 422s.
    for query in [
        "stage=somewhere",
        "status=maybe",
        "entity=unicorn",
        "cursor=%21%21",
        "limit=0",
    ] {
        let (status, body) = s
            .call(
                Method::GET,
                &format!("/api/v1/sync/quarantine?{query}"),
                None,
            )
            .await;
        assert_eq!(status, 422, "{query}: {body}");
    }
    for body in [
        json!({}),
        json!({"ids": [1], "entity": "lead"}),
        json!({"ids": []}),
        json!({"entity": "unicorn"}),
    ] {
        let (status, answer) = s
            .call(
                Method::POST,
                "/api/v1/sync/quarantine/retry",
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, 422, "{body}: {answer}");
    }

    // Phones and stages are warnings again: a retry of the leads loads what is accepted.
    let relaxed = json!({"lead_stages": {"Demo Scheduled": "negotiation"}});
    let (status, _) = s
        .call(Method::PUT, "/api/v1/sync/settings/odoo", Some(relaxed))
        .await;
    assert_eq!(status, 200);
    let calls_before = s.peer.state.calls.load(std::sync::atomic::Ordering::SeqCst);
    let (status, out) = s
        .call(
            Method::POST,
            "/api/v1/sync/quarantine/retry",
            Some(json!({"entity": "lead"})),
        )
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(
        (
            out["retried"].as_i64(),
            out["loaded"].as_i64(),
            out["quarantined"].as_i64()
        ),
        (Some(3), Some(2), Some(1))
    );
    assert_eq!(
        s.peer.state.calls.load(std::sync::atomic::Ordering::SeqCst),
        calls_before,
        "a retry reads the raw zone, not the source"
    );
    let still = out["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["loaded"] == false)
        .unwrap();
    assert_eq!(
        (
            still["external_id"].as_str(),
            still["reasons"][0]["code"].as_str()
        ),
        (Some("12"), Some("required"))
    );
    assert_eq!(
        s.count("SELECT count(*) AS n FROM canonical_leads WHERE external_id = '10' AND status = 'negotiation' \
                     AND raw_record_id IS NOT NULL").await,
        1,
        "loaded under the new stage table, with its lineage"
    );
    assert_eq!(
        s.count(
            "SELECT count(*) AS n FROM canonical_leads WHERE external_id = '7' AND status = 'lost' \
                     AND contact_phone = '+5 555-555-5555' AND issues->0->>'code' = 'bad_phone'"
        )
        .await,
        1,
        "the lost lead loads, its impossible phone kept and flagged"
    );
    let (_, open) = s.call(Method::GET, "/api/v1/sync/quarantine", None).await;
    assert_eq!(external_ids(&open), vec!["31", "37", "12"]);
    let (_, resolved) = s
        .call(Method::GET, "/api/v1/sync/quarantine?status=resolved", None)
        .await;
    assert_eq!(external_ids(&resolved), vec!["10", "7"]);
    assert_eq!(resolved["items"][0]["resolution"], "loaded");
    let (_, twelve) = s
        .call(Method::GET, "/api/v1/sync/quarantine?code=required", None)
        .await;
    assert_eq!(
        twelve["items"][0]["attempts"], 2,
        "refused by the run, then by the retry"
    );

    // Retrying by id: a resolved row is refused, nothing retried; an open one loads.
    let resolved_id = resolved["items"][0]["id"].as_i64().unwrap();
    let partner_id = open["items"][1]["id"].as_i64().unwrap();
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v1/sync/quarantine/retry",
            Some(json!({"ids": [partner_id, resolved_id]})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["details"]["fields"].get("ids.1").is_some(),
        "{body}"
    );
    let (status, out) = s
        .call(
            Method::POST,
            "/api/v1/sync/quarantine/retry",
            Some(json!({"ids": [partner_id]})),
        )
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["loaded"], 1);
    assert_eq!(
        s.count("SELECT count(*) AS n FROM canonical_contacts WHERE external_id = '37'")
            .await,
        1
    );
    assert_eq!(
        s.count("SELECT count(*) AS n FROM audit_logs WHERE action = 'sync.quarantine.retry'")
            .await,
        2
    );
    // Other roles may neither read nor retry.
    s.forbidden_to_partners(&[
        (Method::GET, "/api/v1/sync/quarantine", None),
        (
            Method::POST,
            "/api/v1/sync/quarantine/retry",
            Some(json!({"entity": "lead"})),
        ),
    ])
    .await;
}
