//! The provider admin API: configuration checked field by field with nothing stored on
//! a refusal, credentials write-only and sealed at rest, live tests that record health,
//! activation that refuses a provider failing its test, and Odoo's fields.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/odoo.rs"]
mod odoo;
#[path = "../../tests/support/pennylane.rs"]
mod pennylane;
#[path = "../../tests/support/mod.rs"]
mod support;

use app::TestApp;
use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{Value, json};

const ADMIN: &str = "superadmin@salescommand.com";
const PARTNER: &str = "am1@salescommand.com";
const TOKEN: &str = "pl-live-7f3a9c0e2b4d4f6a8e1c";

#[derive(diesel::QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let mut conn = app.db.conn().await;
    diesel::sql_query(sql)
        .get_result::<N>(&mut conn)
        .await
        .unwrap()
        .n
}

#[derive(diesel::QueryableByName)]
struct Text1 {
    #[diesel(sql_type = Text)]
    t: String,
}

async fn text(app: &TestApp, sql: &str) -> String {
    let mut conn = app.db.conn().await;
    diesel::sql_query(sql)
        .get_result::<Text1>(&mut conn)
        .await
        .unwrap()
        .t
}

fn fast(url: &str) -> Value {
    json!({ "base_url": url, "timeout_seconds": 2, "max_attempts": 2, "rate_limit_per_second": 50.0 })
}

#[tokio::test]
async fn providers_are_listed_by_kind_for_admins_only() {
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    let (status, list) = app
        .call(&admin, Method::GET, "/api/v1/providers", None)
        .await;
    assert_eq!(status, 200);
    let names: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{}/{}",
                p["kind"].as_str().unwrap(),
                p["name"].as_str().unwrap()
            )
        })
        .collect();
    for known in [
        "crm/recording",
        "billing/recording",
        "billing/pennylane",
        "erp/odoo",
    ] {
        assert!(names.contains(&known.to_owned()), "{known} in {names:?}");
    }
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["configured"] == false)
    );

    let (_, one) = app
        .call(
            &admin,
            Method::GET,
            "/api/v1/providers/billing/pennylane",
            None,
        )
        .await;
    assert_eq!(one["schema"]["type"], "object");
    assert_eq!(
        one["schema"]["properties"]["default_vat_rate"]["default"],
        "FR_200"
    );
    assert_eq!(one["credentials"][0]["name"], "api_key");
    assert_eq!(one["credentials"][0]["set"], false);

    let partner = app.token(PARTNER).await;
    let (status, _) = app
        .call(&partner, Method::GET, "/api/v1/providers", None)
        .await;
    assert_eq!(status, 403);
    let (status, _) = app
        .call(
            &partner,
            Method::PUT,
            "/api/v1/providers/billing/recording",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = app
        .call(
            &admin,
            Method::GET,
            "/api/v1/providers/billing/nobody",
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .call(
            &admin,
            Method::GET,
            "/api/v1/providers/ledger/recording",
            None,
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn bad_configuration_is_refused_field_by_field_and_nothing_is_stored() {
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    let (status, err) = app
        .call(
            &admin,
            Method::PUT,
            "/api/v1/providers/billing/pennylane",
            Some(json!({
                "configuration": { "base_url": "not a url", "default_vat_rate": "FR_20", "max_attempts": 0, "colour": 1 },
                "credentials": { "api_key": "  ", "password": "x" },
            })),
        )
        .await;
    assert_eq!(status, 422, "{err}");
    let fields = &err["error"]["details"]["fields"];
    assert_eq!(fields["configuration.base_url"], json!(["invalid_url"]));
    assert_eq!(
        fields["configuration.default_vat_rate"],
        json!(["invalid_choice"])
    );
    assert_eq!(
        fields["configuration.max_attempts"],
        json!(["out_of_range"])
    );
    assert_eq!(fields["configuration.colour"], json!(["unknown_field"]));
    assert_eq!(fields["credentials.api_key"], json!(["too_short"]));
    assert_eq!(fields["credentials.password"], json!(["unknown_field"]));

    // A missing required credential is named too.
    let (status, err) = app
        .call(
            &admin,
            Method::PUT,
            "/api/v1/providers/billing/pennylane",
            Some(json!({ "configuration": {} })),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        err["error"]["details"]["fields"]["credentials.api_key"],
        json!(["required"])
    );
    let (status, _) = app
        .call(
            &admin,
            Method::PUT,
            "/api/v1/providers/billing/pennylane",
            Some(json!({ "configuration": [] })),
        )
        .await;
    assert_eq!(status, 422);

    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM provider_configs").await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM audit_logs WHERE object_type = 'provider'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn credentials_are_write_only_sealed_and_never_in_an_answer_or_audit_row() {
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    let (status, body) = app
        .call(
            &admin,
            Method::PUT,
            "/api/v1/providers/billing/pennylane",
            Some(json!({ "configuration": fast("http://127.0.0.1:9/api/external/v2"), "credentials": { "api_key": TOKEN } })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["configured"], true);
    assert_eq!(body["credentials"][0]["set"], true);
    assert_eq!(
        body["configuration"]["default_vat_rate"], "FR_200",
        "defaults filled in"
    );
    assert!(!body.to_string().contains(TOKEN));
    let stored = text(&app, "SELECT credentials::text AS t FROM provider_configs").await;
    assert!(
        stored.contains("\"v1.test."),
        "sealed under the ring's key: {stored}"
    );
    assert!(!stored.contains(TOKEN));
    let audits = text(
        &app,
        "SELECT string_agg(details::text, ' ') AS t FROM audit_logs",
    )
    .await;
    assert!(audits.contains("credentials_set"));
    assert!(!audits.contains(TOKEN));

    // Changing a setting keeps the stored key; `null` clears it (then it is required).
    let mut changed = fast("http://127.0.0.1:9/api/external/v2");
    changed["finalize_invoices"] = json!(false);
    let (status, body) = app
        .call(
            &admin,
            Method::PUT,
            "/api/v1/providers/billing/pennylane",
            Some(json!({ "configuration": changed })),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["credentials"][0]["set"], true);
    assert_eq!(body["configuration"]["finalize_invoices"], false);
    assert_eq!(body["version"], 2);
    let (status, _) = app
        .call(
            &admin,
            Method::PUT,
            "/api/v1/providers/billing/pennylane",
            Some(json!({ "configuration": changed, "credentials": { "api_key": null } })),
        )
        .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn without_a_secrets_key_credentials_are_refused_not_stored_in_clear() {
    let db = support::TestDb::new().await;
    let redis = support::TestRedis::new();
    let mut cfg = app::config(&db.url, &redis.url, &redis.namespace);
    cfg.secrets_key = None;
    let app = TestApp::spawn_with(db, redis, cfg).await;
    app.seed().await;
    let admin = app.token(ADMIN).await;
    let (status, err) = app
        .call(
            &admin,
            Method::PUT,
            "/api/v1/providers/billing/pennylane",
            Some(json!({ "credentials": { "api_key": TOKEN } })),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(err["error"]["code"], "secrets_key_missing");
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM provider_configs").await,
        0
    );
    // A provider without credentials needs no key.
    let (status, _) = app
        .call(
            &admin,
            Method::PUT,
            "/api/v1/providers/billing/recording",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_wrong_key_fails_the_test_goes_offline_and_cannot_be_activated() {
    let app = TestApp::seeded().await;
    let peer = pennylane::PennylanePeer::start(TOKEN).await;
    let admin = app.token(ADMIN).await;
    for (path, body) in [
        ("/api/v1/providers/billing/recording", json!({})),
        (
            "/api/v1/providers/billing/pennylane",
            json!({ "configuration": fast(&peer.url()), "credentials": { "api_key": "wrong-token" } }),
        ),
    ] {
        let (status, b) = app.call(&admin, Method::PUT, path, Some(body)).await;
        assert_eq!(status, 200, "{b}");
    }
    let (status, act) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/providers/billing/recording/activate",
            None,
        )
        .await;
    assert_eq!(status, 200, "{act}");
    assert_eq!(act["active"], "recording");
    assert_eq!(act["previous"], Value::Null);

    let (status, test) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/providers/billing/pennylane/test",
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(test["ok"], false);
    assert_eq!(test["status"], "offline");
    assert!(
        test["reason"]
            .as_str()
            .unwrap()
            .contains("refused the API token"),
        "{test}"
    );
    let (_, health) = app
        .call(
            &admin,
            Method::GET,
            "/api/v1/providers/billing/pennylane/health",
            None,
        )
        .await;
    assert_eq!(health["current"]["status"], "offline");
    assert_eq!(health["checks"][0]["trigger"], "test");

    let (status, refused) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/providers/billing/pennylane/activate",
            None,
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(refused["error"]["code"], "provider_test_failed");
    assert_eq!(
        text(
            &app,
            "SELECT name AS t FROM provider_configs WHERE kind = 'billing' AND is_active"
        )
        .await,
        "recording",
        "the old provider stays active"
    );

    // The right key: the test passes and the switch happens in one transaction.
    let (status, _) = app
        .call(
            &admin,
            Method::PUT,
            "/api/v1/providers/billing/pennylane",
            Some(
                json!({ "configuration": fast(&peer.url()), "credentials": { "api_key": TOKEN } }),
            ),
        )
        .await;
    assert_eq!(status, 200);
    let (status, act) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/providers/billing/pennylane/activate",
            None,
        )
        .await;
    assert_eq!(status, 200, "{act}");
    assert_eq!(act["previous"], "recording");
    assert_eq!(act["test"]["status"], "healthy");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM provider_configs WHERE kind = 'billing' AND is_active"
        )
        .await,
        1
    );
    let (status, err) = app
        .call(
            &admin,
            Method::DELETE,
            "/api/v1/providers/billing/pennylane",
            None,
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(err["error"]["code"], "provider_active");
    let res = app
        .send_as(
            Method::DELETE,
            &admin,
            "/api/v1/providers/billing/recording",
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    let actions = text(
        &app,
        "SELECT string_agg(action, ',' ORDER BY id) AS t FROM audit_logs WHERE object_type = 'provider'",
    )
    .await;
    assert!(actions.contains("provider.activated"), "{actions}");
    assert!(actions.contains("provider.tested"), "{actions}");
    assert!(actions.ends_with("provider.deleted"), "{actions}");

    // Every call left a call-log row with the request's id and no secret.
    app.state.platform.outbound().call_log().flush().await;
    assert!(count(&app, "SELECT count(*) AS n FROM provider_call_log WHERE provider = 'pennylane' AND path = '/me' AND request_id IS NOT NULL").await >= 3);
    let log = text(
        &app,
        "SELECT string_agg(row_to_json(l)::text, ' ') AS t FROM provider_call_log l",
    )
    .await;
    assert!(!log.contains(TOKEN) && !log.contains("wrong-token"));
    // Testing an unconfigured provider is a clear refusal.
    let (status, err) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/providers/billing/recording/test",
            None,
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(err["error"]["code"], "provider_not_configured");
}

#[tokio::test]
async fn odoo_is_configured_tested_and_describes_its_fields() {
    let app = TestApp::seeded().await;
    let peer = odoo::OdooPeer::with_credentials("sync@example.com", "odoo-s3cret").await;
    odoo::odoo17::install(&peer);
    let admin = app.token(ADMIN).await;
    let (status, _) = app
        .call(
            &admin,
            Method::GET,
            "/api/v1/integrations/odoo/fields/res.partner",
            None,
        )
        .await;
    assert_eq!(status, 409, "not configured yet");
    let (status, body) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/integrations/odoo/configure",
            Some(json!({
                "configuration": { "url": peer.url(), "database": "prod", "login": "sync@example.com", "timeout_seconds": 5 },
                "credentials": { "password": "odoo-s3cret" },
            })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, test) = app
        .call(&admin, Method::POST, "/api/v1/integrations/odoo/test", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(test["ok"], true, "{test}");
    let (status, fields) = app
        .call(
            &admin,
            Method::GET,
            "/api/v1/integrations/odoo/fields/res.partner",
            None,
        )
        .await;
    assert_eq!(status, 200, "{fields}");
    let email = fields["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "email")
        .unwrap_or_else(|| panic!("{fields}"));
    assert_eq!(email["label"], "Email");
    assert_eq!(email["type"], "char");
    assert_eq!(email["mappable"], true);
    let (status, err) = app
        .call(
            &admin,
            Method::GET,
            "/api/v1/integrations/odoo/fields/Res%20Partner",
            None,
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        err["error"]["details"]["fields"]["object"],
        json!(["invalid_object"])
    );
    let (_, list) = app
        .call(&admin, Method::GET, "/api/v1/integrations", None)
        .await;
    let odoo = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "odoo")
        .unwrap()
        .clone();
    assert_eq!(odoo["configured"], true);
    assert_eq!(odoo["health"]["status"], "healthy");
}
