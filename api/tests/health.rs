//! Operations endpoints over real HTTP: liveness, readiness (and its failures), the
//! error shape, OpenAPI, the offline docs page, metrics, request ids, shutdown.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/mod.rs"]
mod support;

use app::TestApp;
use serde_json::Value;
use support::{PrivateRedis, TestDb, TestRedis};

#[tokio::test]
async fn healthz_answers_with_a_request_id() {
    let app = TestApp::spawn().await;
    let res = app.get("/healthz").await;
    assert_eq!(res.status(), 200);
    let id = res
        .headers()
        .get("x-request-id")
        .expect("x-request-id")
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 36, "a uuid: {id}");
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "ok");
}

#[tokio::test]
async fn a_client_request_id_is_echoed() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");
}

#[tokio::test]
async fn readyz_is_200_when_everything_answers() {
    let app = TestApp::spawn().await;
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"]["postgres"], "ok");
    assert_eq!(body["checks"]["migrations"], "ok");
    assert_eq!(body["checks"]["redis"], "ok");
}

#[tokio::test]
async fn readyz_is_503_while_redis_is_down_and_recovers() {
    let mut redis = PrivateRedis::start().await;
    let db = TestDb::new().await;
    let ns = TestRedis::new();
    let cfg = app::config(&db.url, &redis.url(), &ns.namespace);
    let app = TestApp::spawn_with(db, ns, cfg).await;
    assert_eq!(app.get("/readyz").await.status(), 200);

    redis.stop();
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_ready");
    assert!(
        body["error"]["details"]["checks"]["redis"]
            .as_str()
            .unwrap()
            .starts_with("error"),
        "{body}"
    );
    assert_eq!(body["error"]["details"]["checks"]["postgres"], "ok");

    redis.start_again().await;
    support::eventually(
        std::time::Duration::from_secs(10),
        "readyz back to 200",
        || async { app.get("/readyz").await.status() == 200 },
    )
    .await;
}

#[tokio::test]
async fn readyz_is_503_when_postgres_is_down() {
    // A port nothing listens on: the database server is down.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let db = TestDb::new().await;
    let ns = TestRedis::new();
    let cfg = app::config(
        &format!("postgres://postgres@127.0.0.1:{port}/tentabo"),
        &ns.url,
        &ns.namespace,
    );
    let app = TestApp::spawn_with(db, ns, cfg).await;
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"]["details"]["checks"]["postgres"]
            .as_str()
            .unwrap()
            .starts_with("error"),
        "{body}"
    );
    assert_eq!(body["error"]["details"]["checks"]["redis"], "ok");
}

#[tokio::test]
async fn readyz_is_503_when_migrations_are_pending() {
    let db = TestDb::empty().await;
    let ns = TestRedis::new();
    let cfg = app::config(&db.url, &ns.url, &ns.namespace);
    let app = TestApp::spawn_with(db, ns, cfg).await;
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["error"]["details"]["checks"]["migrations"],
        "pending migrations"
    );
}

#[tokio::test]
async fn unknown_routes_answer_the_json_error_shape() {
    let app = TestApp::spawn().await;
    let res = app.get("/api/v1/nothing-here").await;
    assert_eq!(res.status(), 404);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert!(body["error"]["message"].is_string());
    assert!(body["error"]["details"].is_object());
}

#[tokio::test]
async fn openapi_document_describes_the_routes() {
    let app = TestApp::spawn().await;
    let res = app.get("/api/v1/openapi.json").await;
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert!(doc["paths"][path]["get"].is_object(), "missing {path}");
    }
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    // The scheme the operations name is defined, so the docs page can authorise.
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let mut secured = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = &op["responses"];
            assert!(responses["503"].is_object(), "{method} {path}: no 503");
            if op["security"].to_string().contains("\"bearer\"") {
                secured += 1;
                for code in ["401", "403"] {
                    assert!(responses[code].is_object(), "{method} {path}: no {code}");
                }
            }
            if op["requestBody"].is_object() {
                for code in ["400", "413", "415", "422"] {
                    assert!(responses[code].is_object(), "{method} {path}: no {code}");
                }
            }
            if path.ends_with("/transitions") {
                assert!(
                    op["parameters"].to_string().contains("Idempotency-Key"),
                    "{method} {path}: Idempotency-Key not declared"
                );
            }
        }
    }
    assert!(secured > 60, "{secured} secured operations");
    // Limits and enums are in the schemas.
    let limit = doc["paths"]["/api/v1/leads"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .cloned()
        .unwrap();
    assert_eq!(limit["schema"]["maximum"], 200, "{limit}");
    // The money pattern written on each decimal field is the one `money` parses by.
    for schema in ["CreateLead", "UpdateLead"] {
        assert_eq!(
            doc["components"]["schemas"][schema]["properties"]["value"]["pattern"],
            tentabo_api::routes::dto::money::PATTERN,
            "{schema}"
        );
    }
    assert!(
        doc["components"]["schemas"]["OrderDto"]["properties"]["pricing"]["type"]
            .to_string()
            .contains("array")
    );
}

#[tokio::test]
async fn docs_page_works_without_internet() {
    let app = TestApp::spawn().await;
    let res = app.get("/docs/").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    // Every script and stylesheet is served by us, not by a CDN.
    for attr in ["src=\"http", "href=\"http"] {
        assert!(!html.contains(attr), "external asset in docs page: {html}");
    }
    let bundle = app.get("/docs/swagger-ui-bundle.js").await;
    assert_eq!(bundle.status(), 200);
    assert!(bundle.bytes().await.unwrap().len() > 100_000);
    let init = app
        .get("/docs/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(init.contains("/api/v1/openapi.json"), "{init}");
}

#[tokio::test]
async fn metrics_count_requests_by_route() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    let res = app.get_as(app::METRICS_TOKEN, "/metrics").await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(
        text.contains("http_requests_total{method=\"GET\",path=\"/healthz\",status=\"200\"}"),
        "{text}"
    );
    assert!(text.contains("http_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn metrics_answer_only_the_scraper_holding_the_token() {
    let app = TestApp::seeded().await;
    let anonymous = app.get("/metrics").await;
    assert_eq!(anonymous.status(), 401);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(body["error"]["code"], "missing_token");
    let wrong = app.get_as("not-the-token", "/metrics").await;
    assert_eq!(wrong.status(), 401);
    let admin = app.token("superadmin@salescommand.com").await;
    let with_a_user_token = app.get_as(&admin, "/metrics").await;
    assert_eq!(with_a_user_token.status(), 401);
}

#[tokio::test]
async fn configuration_never_prints_its_secrets() {
    let cfg = app::config(
        "postgres://tentabo:s3cr3t-pw@127.0.0.1/x",
        "redis://:r3dis-pw@127.0.0.1/0",
        "ns",
    );
    let printed = format!("{cfg:?}");
    assert!(
        !printed.contains("s3cr3t-pw") && !printed.contains("r3dis-pw"),
        "{printed}"
    );
}

#[tokio::test]
async fn graceful_shutdown_stops_the_server() {
    let app = TestApp::spawn().await;
    let addr = app.addr;
    assert_eq!(app.get("/healthz").await.status(), 200);
    app.stop().await.expect("server stopped cleanly");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting after shutdown"
    );
}
