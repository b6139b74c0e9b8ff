//! With a Sentry-compatible DSN set, a dead job is reported with its job id and queue to
//! the DSN's store endpoint, authenticated with the DSN's public key. (Its own test
//! binary: the reporter is global to a process.)

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/mod.rs"]
mod support;
#[path = "../../tests/support/worker.rs"]
mod worker;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use secrecy::SecretString;
use serde_json::json;
use support::{TestDb, TestRedis, eventually};
use worker::{RunningWorker, noop, worker_config};

type Seen = Arc<Mutex<Vec<(String, serde_json::Value)>>>;

async fn store(
    State(seen): State<Seen>,
    headers: HeaderMap,
    axum::Json(event): axum::Json<serde_json::Value>,
) -> axum::Json<serde_json::Value> {
    let auth = headers
        .get("x-sentry-auth")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    seen.lock().unwrap().push((auth, event.clone()));
    axum::Json(json!({ "id": event["event_id"] }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_job_is_reported_with_its_job_id() {
    let seen: Seen = Arc::default();
    let app = axum::Router::new()
        .route("/api/42/store/", axum::routing::post(store))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let db = TestDb::new().await;
    let redis = TestRedis::new();
    let ids = tentabo_workflows::jobs::enqueue(
        &mut db.conn().await,
        &[
            noop("fine", json!({})),
            noop("doomed", json!({ "fail_permanently": true })),
        ],
    )
    .await
    .unwrap();
    let mut config = worker_config(&db.url, &redis.url, &redis.namespace);
    config.sentry_dsn = Some(SecretString::from(format!("http://publickey123@{addr}/42")));
    config.environment = "staging".into();
    let w = RunningWorker::start(config);
    eventually(
        Duration::from_secs(30),
        "the dead job is reported",
        || async { !seen.lock().unwrap().is_empty() },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "only the dead job: {seen:?}");
    let (auth, event) = &seen[0];
    assert!(auth.contains("sentry_key=publickey123"), "{auth}");
    assert!(auth.contains("sentry_version=7"), "{auth}");
    assert_eq!(event["tags"]["job_id"], ids[1].to_string());
    assert_eq!(event["tags"]["queue"], "noop");
    assert_eq!(
        (event["level"].as_str(), event["environment"].as_str()),
        (Some("error"), Some("staging"))
    );
    assert!(
        event["message"]["formatted"]
            .as_str()
            .unwrap()
            .starts_with("job noop dead after 1 attempt(s)"),
        "{event}"
    );
    w.stop().await;
}
