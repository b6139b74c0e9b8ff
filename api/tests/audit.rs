//! `GET /api/v1/audit`: admins read who did what, filtered and cursor-paged; everyone
//! else is refused; bad filters are named.

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
async fn admins_read_the_audit_log_filtered_and_paged() {
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    // Audited actions by the admin: three failed job operations are refused (404), so
    // make real ones — a provider configured three times.
    for i in 0..3 {
        let (status, body) = app
            .call(
                &admin,
                Method::PUT,
                "/api/v1/providers/crm/recording",
                Some(json!({ "configuration": {} })),
            )
            .await;
        assert_eq!(status, 200, "{i}: {body}");
    }
    let wrong = app.login_response(PARTNER, "not-the-password").await;
    assert_eq!(wrong.status(), 401);

    let (status, page) = app
        .call(
            &admin,
            Method::GET,
            "/api/v1/audit?actor=SUPERADMIN@salescommand.com&object_type=provider&limit=2",
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(
        items
            .iter()
            .all(|e| e["actor_email"] == ADMIN && e["object_type"] == "provider"),
        "{page}"
    );
    assert!(
        items[0]["id"].as_i64() > items[1]["id"].as_i64(),
        "newest first"
    );
    let cursor = page["next_cursor"].as_str().unwrap();
    let (status, next) = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/v1/audit?actor=SUPERADMIN@salescommand.com&object_type=provider&limit=2&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{next}");
    let rest = next["items"].as_array().unwrap();
    assert!(!rest.is_empty());
    assert!(
        rest[0]["id"].as_i64() < items[1]["id"].as_i64(),
        "strictly after"
    );
    let ids: Vec<Value> = items.iter().chain(rest).map(|e| e["id"].clone()).collect();
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(ids, unique);

    // By action: the refused login, with its request id.
    let (_, failed) = app
        .call(
            &admin,
            Method::GET,
            "/api/v1/audit?action=login_failed",
            None,
        )
        .await;
    let first = &failed["items"][0];
    assert_eq!(first["action"], "login_failed", "{failed}");
    assert!(first["request_id"].is_string(), "{first}");
    assert!(
        !failed.to_string().contains("not-the-password"),
        "no password in the log"
    );

    // Nobody else reads it; bad filters and cursors are named.
    let partner = app.token(PARTNER).await;
    let (status, _) = app.call(&partner, Method::GET, "/api/v1/audit", None).await;
    assert_eq!(status, 403);
    for (query, field, code) in [
        ("limit=0", "limit", "out_of_range"),
        ("actor=%20", "actor", "blank"),
        ("cursor=abc", "cursor", "invalid_cursor"),
    ] {
        let (status, err) = app
            .call(&admin, Method::GET, &format!("/api/v1/audit?{query}"), None)
            .await;
        assert_eq!(status, 422, "{query}: {err}");
        assert_eq!(
            err["error"]["details"]["fields"][field],
            json!([code]),
            "{query}: {err}"
        );
    }
    let (status, _) = app
        .call(&admin, Method::GET, "/api/v1/audit?colour=red", None)
        .await;
    assert_eq!(status, 422, "unknown parameters are refused");
}
