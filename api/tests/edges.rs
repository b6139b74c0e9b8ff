//! The API's edges answer in the one error shape, never with a framework's plain text:
//! a path segment that does not parse, control characters anywhere in a request, a body
//! over the size limit, a request that outlives its time limit — in French too.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/mod.rs"]
mod support;

use app::TestApp;
use reqwest::Method;
use serde_json::{Value, json};
use support::{TestDb, TestRedis};

const ADMIN: &str = "superadmin@salescommand.com";

fn assert_error_shape(body: &Value) {
    assert!(body["error"]["code"].is_string(), "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert!(body["error"]["details"].is_object(), "{body}");
}

async fn leads_count(app: &TestApp) -> i64 {
    app.db.count("SELECT count(*) AS n FROM leads").await
}

#[tokio::test]
async fn a_path_id_that_is_no_uuid_answers_422_in_the_error_shape() {
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    for path in [
        "/api/v1/leads/not-a-uuid",
        "/api/v1/orders/12",
        "/api/v1/users/%20",
        "/api/v1/products/abc/price-history",
    ] {
        let res = app.get_as(&admin, path).await;
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        assert!(status == 422 || status == 404, "{path}: {status} {text}");
        let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: {text}"));
        assert_error_shape(&body);
        assert!(
            !text.contains("UUID parsing"),
            "{path}: Rust detail leaked: {text}"
        );
    }
    let res = app.get_as(&admin, "/api/v1/leads/not-a-uuid").await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "validation_failed");
    assert_eq!(
        body["error"]["details"]["fields"]["id"][0], "invalid",
        "{body}"
    );
}

#[tokio::test]
async fn a_nul_byte_in_a_query_or_path_answers_422_before_any_handler() {
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    for path in [
        "/api/v1/leads?q=a%00b",
        "/api/v1/orders?q=%00",
        "/api/v1/users?q=x%01",
        "/api/v1/partners?q=%7F",
        "/api/v1/distributors?q=%C2%85",
        "/api/v1/data-lake/raw?provider=odoo%00",
        "/api/v1/jobs/failures?queue=%00",
        "/api/v1/leads?q=%FF%FE",
    ] {
        let res = app.get_as(&admin, path).await;
        assert_eq!(res.status(), 422, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            body["error"]["code"], "invalid_characters",
            "{path}: {body}"
        );
        assert_eq!(body["error"]["details"]["location"], "query", "{path}");
    }
    let (status, body) = app
        .call(
            &admin,
            Method::PUT,
            "/api/v1/sync/owners/odoo/a%00b",
            Some(json!({ "user_id": uuid::Uuid::nil() })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["details"]["location"], "path");
    // Text that merely looks like an escape is fine.
    let res = app.get_as(&admin, "/api/v1/leads?q=%2500").await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_control_character_in_a_body_field_answers_422_naming_it_and_stores_nothing() {
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    let before = leads_count(&app).await;
    for (field, value) in [
        ("contact_phone", "+33 1\u{0} 23"),
        ("source", "web\u{1b}[31m"),
        ("title", "Deal\u{7}"),
    ] {
        let mut lead = json!({
            "title": "T", "organization": "O", "contact_name": "N",
            "contact_email": "a@b.test"
        });
        lead[field] = json!(value);
        let (status, body) = app
            .call(&admin, Method::POST, "/api/v1/leads", Some(lead))
            .await;
        assert_eq!(status, 422, "{field}: {body}");
        assert_eq!(
            body["error"]["details"]["fields"][field][0], "control_character",
            "{body}"
        );
    }
    assert_eq!(leads_count(&app).await, before);
    // Multi-line text keeps its tabs and line breaks.
    let (status, lead) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/leads",
            Some(json!({
                "title": "Deal", "organization": "O", "contact_name": "N",
                "contact_email": "a@b.test"
            })),
        )
        .await;
    assert_eq!(status, 201, "{lead}");
    let note = format!("/api/v1/leads/{}/notes", lead["id"].as_str().unwrap());
    let (status, body) = app
        .call(
            &admin,
            Method::POST,
            &note,
            Some(json!({ "body": "line one\r\n\tline two", "visibility": "internal" })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .call(
            &admin,
            Method::POST,
            &note,
            Some(json!({ "body": "a\u{0}b" })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["error"]["details"]["fields"]["body"][0],
        "control_character"
    );
    // Nested: the dotted path of the field.
    let (status, body) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/quotes/preview",
            Some(json!({ "lines": [ { "product_id": "\u{0}" } ] })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["details"]["fields"]["lines.0.product_id"].is_array(),
        "{body}"
    );
}

#[tokio::test]
async fn a_body_over_the_limit_answers_413_in_the_error_shape() {
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    let huge = "x".repeat(3 * 1024 * 1024);
    let (status, body) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/leads",
            Some(json!({ "title": huge })),
        )
        .await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "payload_too_large");
    assert_eq!(body["error"]["details"]["limit_bytes"], 2 * 1024 * 1024);
}

#[tokio::test]
async fn malformed_json_and_a_wrong_content_type_keep_their_statuses() {
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    let res = app
        .client
        .post(app.url("/api/v1/leads"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{\"title\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "malformed_json");
    let res = app
        .client
        .post(app.url("/api/v1/leads"))
        .bearer_auth(&admin)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
}

#[tokio::test]
async fn a_request_that_outlives_its_limit_answers_503_in_the_callers_language() {
    let db = TestDb::new().await;
    let redis = TestRedis::new();
    let mut cfg = app::config(&db.url, &redis.url, &redis.namespace);
    // Far less than a password check takes: every login times out.
    cfg.request_timeout_ms = 1;
    let app = TestApp::spawn_with(db, redis, cfg).await;
    app.seed().await;
    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("accept-language", "fr-FR")
        .json(&json!({ "email": ADMIN, "password": app::DEMO_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "request_timeout");
    assert_eq!(
        body["error"]["message"],
        "La requête a pris trop de temps ; réessayez"
    );
}

#[tokio::test]
async fn a_forged_or_tampered_cursor_answers_422_invalid_cursor() {
    use base64::Engine;
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let forged = [
        b64(json!({ "k": 5, "id": uuid::Uuid::nil() })),
        b64(json!({ "k": "2026-02-31T00:00:00Z", "id": uuid::Uuid::nil() })),
        b64(json!({ "k": "a\u{0}", "id": uuid::Uuid::nil() })),
        "not-a-cursor".to_owned(),
        String::new(),
    ];
    for list in [
        "leads",
        "orders",
        "contracts",
        "users",
        "partners",
        "products",
    ] {
        for cursor in &forged {
            let path = format!("/api/v1/{list}?cursor={cursor}");
            let res = app.get_as(&admin, &path).await;
            assert_eq!(res.status(), 422, "{path}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(
                body["error"]["details"]["fields"]["cursor"][0], "invalid_cursor",
                "{path}: {body}"
            );
        }
    }
}

#[tokio::test]
async fn a_cursor_pages_its_own_list_only_with_the_same_sort_and_filters() {
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    let first: Value = app
        .get_as(&admin, "/api/v1/users?sort=email&limit=1")
        .await
        .json()
        .await
        .unwrap();
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    // The same list, a larger page: fine, and it starts after the first page.
    let next: Value = app
        .get_as(
            &admin,
            &format!("/api/v1/users?sort=email&limit=5&cursor={cursor}"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(next["items"][0]["id"], first["items"][0]["id"]);
    assert!(next["items"].as_array().unwrap().len() > 1, "{next}");
    for other in [
        format!("/api/v1/users?sort=-email&cursor={cursor}"),
        format!("/api/v1/users?sort=email&q=a&cursor={cursor}"),
        format!("/api/v1/partners?sort=email&cursor={cursor}"),
        format!("/api/v1/users?sort=email&cursor={}x", &cursor),
    ] {
        let res = app.get_as(&admin, &other).await;
        assert_eq!(res.status(), 422, "{other}");
    }
}

#[tokio::test]
async fn absurd_values_are_refused_with_field_errors() {
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    let lead = |patch: Value| {
        let mut l = json!({
            "title": "T", "organization": "O", "contact_name": "N",
            "contact_email": "a@b.test"
        });
        for (k, v) in patch.as_object().unwrap() {
            l[k] = v.clone();
        }
        l
    };
    let before = leads_count(&app).await;
    for (patch, field) in [
        (
            json!({ "contact_email": "a@example.com*" }),
            "contact_email",
        ),
        (json!({ "contact_email": "<script>@x.y" }), "contact_email"),
        (json!({ "currency": "ABC" }), "currency"),
        (
            json!({ "expected_close_date": "0001-01-01T00:00:00Z" }),
            "expected_close_date",
        ),
        (
            json!({ "expected_close_date": "9999-12-31T00:00:00Z" }),
            "expected_close_date",
        ),
        (json!({ "value": "60000000000000.00" }), "value"),
        (json!({ "title": "\u{200b}\u{200b}\u{feff}" }), "title"),
    ] {
        let (status, body) = app
            .call(
                &admin,
                Method::POST,
                "/api/v1/leads",
                Some(lead(patch.clone())),
            )
            .await;
        assert_eq!(status, 422, "{patch}: {body}");
        assert!(
            body["error"]["details"]["fields"][field].is_array(),
            "{patch}: {body}"
        );
    }
    // Money strings in one canonical form only.
    for value in [json!("+5"), json!("1e3"), json!(" 5"), json!(5)] {
        let (status, body) = app
            .call(
                &admin,
                Method::POST,
                "/api/v1/leads",
                Some(lead(json!({ "value": value }))),
            )
            .await;
        assert_eq!(status, 422, "{value}: {body}");
        assert_eq!(body["error"]["code"], "validation_failed");
    }
    assert_eq!(leads_count(&app).await, before);
    // Arrays in place of objects, in the body and in its lists.
    let (status, body) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/quotes/preview",
            Some(json!([[]])),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/quotes/preview",
            Some(json!({ "lines": [[uuid::Uuid::nil(), 12, 5]] })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    // A quantity far beyond any order.
    let (status, body) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/quotes/preview",
            Some(
                json!({ "lines": [ { "product_id": uuid::Uuid::nil(), "duration_months": 12,
                                      "quantity": 1_000_000_000_000_i64 } ] }),
            ),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["details"]["fields"]["lines[0].quantity"].is_array(),
        "{body}"
    );
}
