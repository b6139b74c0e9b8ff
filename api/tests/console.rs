//! What the web console needs from the API: the built console served beside the API on
//! one origin, the session kept in an httpOnly cookie across reloads, the caller's
//! permissions for the navigation, the login methods, and the committed OpenAPI
//! document the console's client is generated from.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/mod.rs"]
mod support;

use app::{DEMO_PASSWORD, TestApp};
use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, SET_COOKIE};
use serde_json::{Value, json};
use support::{TestDb, TestRedis};

const ADMIN: &str = "superadmin@salescommand.com";
const PARTNER: &str = "am1@salescommand.com";
const FULFILLER: &str = "fulfiller@salescommand.com";

/// A console build of its own: an index page and one hashed asset.
fn built_console() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tentabo-console-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>Tentabo</title><script type=module src=/assets/app-3f2a.js></script>",
    )
    .unwrap();
    std::fs::write(dir.join("assets/app-3f2a.js"), "console.log('tentabo')").unwrap();
    dir
}

async fn app_with(console: Option<std::path::PathBuf>, demo: bool, secure: bool) -> TestApp {
    let db = TestDb::new().await;
    let redis = TestRedis::new();
    let mut cfg = app::config(&db.url, &redis.url, &redis.namespace);
    cfg.console.dir = console;
    cfg.console.demo = demo;
    cfg.console.cookie_secure = secure;
    let app = TestApp::spawn_with(db, redis, cfg).await;
    app.seed().await;
    app
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    cookie: Option<&str>,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = app.client.request(method, app.url(path));
    if let Some(c) = cookie {
        req = req.header(COOKIE, c);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

/// `name=value` of the response's session cookie, and the whole header.
fn session_cookie(res: &reqwest::Response) -> (String, String) {
    let header = res
        .headers()
        .get(SET_COOKIE)
        .expect("a Set-Cookie header")
        .to_str()
        .unwrap()
        .to_owned();
    let pair = header.split(';').next().unwrap().trim().to_owned();
    (pair, header)
}

#[tokio::test]
async fn the_console_is_served_beside_the_api_with_client_routes_and_cached_assets() {
    let dir = built_console();
    let app = app_with(Some(dir.clone()), false, true).await;

    for path in [
        "/",
        "/leads",
        "/orders/0b8f6c52-8c1f-4a8e-9a57-3b4a2c1d0e9f",
        "/fr/admin/users",
    ] {
        let res = app.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.headers()[CACHE_CONTROL], "no-cache", "{path}");
        let csp = res.headers()[CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{csp}"
        );
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        assert!(
            res.text().await.unwrap().contains("<title>Tentabo</title>"),
            "{path}"
        );
    }
    let asset = app.get("/assets/app-3f2a.js").await;
    assert_eq!(asset.status(), 200);
    assert!(
        asset.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    assert_eq!(
        asset.headers()[CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(asset.text().await.unwrap(), "console.log('tentabo')");

    // A missing asset is a 404, never the index page; API paths keep the API's 404.
    for path in ["/assets/app-0000.js", "/api/v1/nothing-here", "/api"] {
        let res = app.get(path).await;
        assert_eq!(res.status(), 404, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{path}");
    }
    // The console only answers reads; a write to one of its paths is the API's 404.
    let res = send(&app, reqwest::Method::POST, "/leads", None, Some(json!({}))).await;
    assert_eq!(res.status(), 404);
    // A path that climbs out of the directory never reaches the file system outside.
    let res = app.get("/..%2f..%2fetc%2fpasswd").await;
    assert!(
        !res.text().await.unwrap().contains("root:"),
        "path traversal"
    );
    // The API and its docs still answer on the same origin.
    assert_eq!(app.get("/api/v1/openapi.json").await.status(), 200);
    assert_eq!(app.get("/healthz").await.status(), 200);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn without_a_console_every_unknown_path_is_the_api_404() {
    let app = app_with(None, false, true).await;
    for path in ["/", "/leads"] {
        let res = app.get(path).await;
        assert_eq!(res.status(), 404, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found");
    }
}

#[tokio::test]
async fn a_console_dir_without_an_index_page_is_refused_at_start() {
    let dir = std::env::temp_dir().join(format!("tentabo-empty-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = TestDb::new().await;
    let redis = TestRedis::new();
    let mut cfg = app::config(&db.url, &redis.url, &redis.namespace);
    cfg.console.dir = Some(dir.clone());
    let err = tentabo_api::startup::Application::build(cfg)
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("no index.html"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn the_session_cookie_survives_a_reload_rotates_and_ends_with_logout() {
    let app = app_with(None, false, true).await;
    let res = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({ "email": PARTNER, "password": DEMO_PASSWORD, "cookie": true })),
    )
    .await;
    assert_eq!(res.status(), 200);
    let (first, header) = session_cookie(&res);
    for part in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/api/v1/auth",
        "Secure",
        "Max-Age=3600",
    ] {
        assert!(header.contains(part), "{header} lacks {part}");
    }
    let body: Value = res.json().await.unwrap();
    assert!(
        body["refresh_token"].is_null(),
        "the body keeps no refresh token: {body}"
    );
    assert!(body["access_token"].as_str().unwrap().len() > 20);

    // A reload: the page has no token, the browser sends the cookie.
    let res = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/auth/refresh",
        Some(&first),
        Some(json!({})),
    )
    .await;
    assert_eq!(res.status(), 200);
    let (second, _) = session_cookie(&res);
    assert_ne!(first, second, "the cookie rotates");
    let body: Value = res.json().await.unwrap();
    assert!(body["refresh_token"].is_null());
    let access = body["access_token"].as_str().unwrap().to_owned();
    let me = app.get_as(&access, "/api/v1/auth/me").await;
    assert_eq!(me.status(), 200);

    // The used cookie again: reuse, the session is revoked (as for body tokens).
    let res = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/auth/refresh",
        Some(&first),
        Some(json!({})),
    )
    .await;
    assert_eq!(res.status(), 401);
    let res = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/auth/refresh",
        Some(&second),
        Some(json!({})),
    )
    .await;
    assert_eq!(res.status(), 401, "reuse revoked the whole session");

    // A new login, then logout through the cookie clears it and ends the session.
    let res = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({ "email": PARTNER, "password": DEMO_PASSWORD, "cookie": true })),
    )
    .await;
    let (third, _) = session_cookie(&res);
    let res = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/auth/logout",
        Some(&third),
        Some(json!({})),
    )
    .await;
    assert_eq!(res.status(), 204);
    let (cleared, header) = session_cookie(&res);
    assert_eq!(cleared, "tentabo_refresh=");
    assert!(header.contains("Max-Age=0"), "{header}");
    let res = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/auth/refresh",
        Some(&third),
        Some(json!({})),
    )
    .await;
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn refresh_and_logout_without_any_token_are_refused_clearly() {
    let app = app_with(None, false, false).await;
    // No cookie, no body token.
    let res = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({})),
    )
    .await;
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "missing_token");
    let res = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/auth/logout",
        None,
        Some(json!({})),
    )
    .await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["error"]["details"]["fields"]["refresh_token"][0],
        "required"
    );
    // A cookie that is not a session's.
    let res = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/auth/refresh",
        Some("tentabo_refresh=not-a-token"),
        Some(json!({})),
    )
    .await;
    assert_eq!(res.status(), 401);
    // An empty body token is a field error, whatever the cookie says.
    let res = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/auth/refresh",
        Some("tentabo_refresh=x"),
        Some(json!({ "refresh_token": "  " })),
    )
    .await;
    assert_eq!(res.status(), 422);
    // Without "cookie": true nothing is set and the body carries the token (API clients).
    let res = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({ "email": ADMIN, "password": DEMO_PASSWORD })),
    )
    .await;
    assert!(res.headers().get(SET_COOKIE).is_none());
    let body: Value = res.json().await.unwrap();
    assert!(body["refresh_token"].as_str().unwrap().len() >= 43);
    // Insecure cookies when configured so (plain HTTP on loopback).
    let res = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({ "email": ADMIN, "password": DEMO_PASSWORD, "cookie": true })),
    )
    .await;
    let (_, header) = session_cookie(&res);
    assert!(!header.contains("Secure"), "{header}");
}

#[tokio::test]
async fn me_lists_what_the_role_may_do() {
    let app = app_with(None, false, true).await;
    let perms = |token: String| {
        let app = &app;
        async move {
            let me: Value = app
                .get_as(&token, "/api/v1/auth/me")
                .await
                .json()
                .await
                .unwrap();
            me["permissions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let admin = perms(app.token(ADMIN).await).await;
    for p in [
        "provider:manage",
        "user:manage",
        "job:manage",
        "lead:create",
        "order:view_partners",
    ] {
        assert!(admin.contains(&p.to_owned()), "admin lacks {p}: {admin:?}");
    }
    let partner = perms(app.token(PARTNER).await).await;
    assert!(partner.contains(&"lead:create".to_owned()), "{partner:?}");
    for p in ["provider:manage", "user:manage", "job:manage"] {
        assert!(!partner.contains(&p.to_owned()), "a partner may not {p}");
    }
    let fulfiller = perms(app.token(FULFILLER).await).await;
    assert!(
        fulfiller.contains(&"order:activate".to_owned()),
        "{fulfiller:?}"
    );
    assert!(
        !fulfiller.contains(&"lead:create".to_owned()),
        "{fulfiller:?}"
    );
    // The user's fields are still there.
    let me: Value = app
        .get_as(&app.token(PARTNER).await, "/api/v1/auth/me")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], PARTNER);
    assert_eq!(me["role"], "partner");
}

#[tokio::test]
async fn login_methods_list_demo_logins_only_in_demo_mode() {
    let app = app_with(None, true, true).await;
    let m: Value = app.get("/api/v1/auth/methods").await.json().await.unwrap();
    assert_eq!(m["password"], true);
    let logins = m["demo_logins"].as_array().unwrap();
    assert!(
        logins
            .iter()
            .any(|l| l["email"] == ADMIN && l["role"] == "admin")
    );
    // Each listed login really logs in with the listed password.
    for l in logins {
        let res = app
            .login_response(
                l["email"].as_str().unwrap(),
                l["password"].as_str().unwrap(),
            )
            .await;
        assert_eq!(res.status(), 200, "{l}");
    }
    let plain = app_with(None, false, true).await;
    let m: Value = plain
        .get("/api/v1/auth/methods")
        .await
        .json()
        .await
        .unwrap();
    assert!(m["demo_logins"].is_null(), "{m}");
}

/// The console's client is generated from `web/openapi.json`: it must be the document
/// the API serves (regenerate with `tentabo-api openapi > web/openapi.json`, then
/// `cd web && npm run gen:client`).
#[test]
fn the_committed_openapi_document_is_the_api_s() {
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../web/openapi.json"))
            .expect("web/openapi.json");
    let served = tentabo_api::routes::api().1.to_pretty_json().unwrap();
    // Each operation names each parameter once (a generated client would otherwise
    // see two `model`s).
    let doc: serde_json::Value = serde_json::from_str(&served).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let mut names: Vec<String> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .map(|p| format!("{}:{}", p["in"], p["name"]))
                        .collect()
                })
                .unwrap_or_default();
            let all = names.len();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), all, "{method} {path} names a parameter twice");
        }
    }
    assert!(
        committed.trim_end() == served.trim_end(),
        "web/openapi.json differs from the API's document: run \
         `cargo run -p tentabo-api -- openapi > web/openapi.json` and regenerate the console's client"
    );
}
