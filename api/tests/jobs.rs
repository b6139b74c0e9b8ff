//! The job-queue operations API over real HTTP, on a ledger filled by hand.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/mod.rs"]
mod support;

use app::TestApp;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{Value, json};

async fn job(app: &TestApp, key: &str, status: &str, attempts: i32, error: Option<&str>) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let mut conn = app.db.conn().await;
    diesel::sql_query(
        "INSERT INTO outbox (queue, payload, idempotency_key, status, attempts, max_attempts, last_error, finished_at) \
         VALUES ('noop', '{}', $1, $2, $3, 5, $4, CASE WHEN $2 IN ('dead', 'done') THEN now() END) RETURNING id",
    )
    .bind::<Text, _>(key)
    .bind::<Text, _>(status)
    .bind::<Integer, _>(attempts)
    .bind::<Nullable<Text>, _>(error)
    .get_result::<Id>(&mut conn)
    .await
    .unwrap()
    .id
}

async fn call(app: &TestApp, method: Method, token: &str, path: &str) -> (u16, Value) {
    let res = app.send_as(method, token, path, None).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn admins_see_the_queues_and_retry_or_discard_failures() {
    let app = TestApp::seeded().await;
    let admin = app.token("superadmin@salescommand.com").await;
    job(&app, "a", "pending", 0, None).await;
    let retrying = job(&app, "b", "pending", 2, Some("provider timed out")).await;
    job(&app, "c", "enqueued", 0, None).await;
    let running = job(&app, "d", "running", 1, None).await;
    let dead = job(&app, "e", "dead", 5, Some("HTTP 500 from billing")).await;
    let done = job(&app, "f", "done", 1, None).await;

    let (status, body) = call(&app, Method::GET, &admin, "/api/v1/jobs/queues").await;
    assert_eq!(status, 200);
    assert_eq!(
        body["queues"][0],
        json!({ "queue": "noop", "pending": 1, "retrying": 1, "enqueued": 1, "running": 1, "dead": 1, "discarded": 0 })
    );

    let (_, failures) = call(&app, Method::GET, &admin, "/api/v1/jobs/failures").await;
    let ids: Vec<i64> = failures["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [dead, retrying], "newest first, failures only");
    assert_eq!(failures["items"][0]["last_error"], "HTTP 500 from billing");
    let (_, page) = call(&app, Method::GET, &admin, "/api/v1/jobs/failures?limit=1").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let (_, next) = call(
        &app,
        Method::GET,
        &admin,
        &format!(
            "/api/v1/jobs/failures?limit=1&cursor={}",
            page["next_cursor"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(next["items"][0]["id"], retrying);

    let (status, retried) = call(
        &app,
        Method::POST,
        &admin,
        &format!("/api/v1/jobs/{dead}/retry"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (retried["status"].as_str(), retried["max_attempts"].as_i64()),
        (Some("pending"), Some(6))
    );
    let (status, err) = call(
        &app,
        Method::POST,
        &admin,
        &format!("/api/v1/jobs/{dead}/retry"),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("job_not_retryable"))
    );
    assert_eq!(
        call(
            &app,
            Method::POST,
            &admin,
            &format!("/api/v1/jobs/{done}/retry")
        )
        .await
        .0,
        409
    );
    assert_eq!(
        call(&app, Method::POST, &admin, "/api/v1/jobs/999999/retry")
            .await
            .0,
        404
    );

    let (status, discarded) = call(
        &app,
        Method::POST,
        &admin,
        &format!("/api/v1/jobs/{retrying}/discard"),
    )
    .await;
    assert_eq!(
        (status, discarded["status"].as_str()),
        (200, Some("discarded"))
    );
    let (status, err) = call(
        &app,
        Method::POST,
        &admin,
        &format!("/api/v1/jobs/{running}/discard"),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("job_not_discardable"))
    );

    #[derive(diesel::QueryableByName)]
    struct Action {
        #[diesel(sql_type = Text)]
        action: String,
    }
    let mut conn = app.db.conn().await;
    let actions: Vec<String> =
        diesel::sql_query("SELECT action FROM audit_logs WHERE object_type = 'job' ORDER BY id")
            .load::<Action>(&mut conn)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.action)
            .collect();
    assert_eq!(actions, ["job_retried", "job_discarded"]);
}

#[tokio::test]
async fn only_admins_operate_the_queues() {
    let app = TestApp::seeded().await;
    let dead = job(&app, "x", "dead", 5, Some("boom")).await;
    for who in [
        "restricted@salescommand.com",
        "am1@salescommand.com",
        "distributor@salescommand.com",
        "fulfiller@salescommand.com",
    ] {
        let t = app.token(who).await;
        assert_eq!(
            call(&app, Method::GET, &t, "/api/v1/jobs/queues").await.0,
            403,
            "{who}"
        );
        assert_eq!(
            call(&app, Method::GET, &t, "/api/v1/jobs/failures").await.0,
            403,
            "{who}"
        );
        assert_eq!(
            call(
                &app,
                Method::POST,
                &t,
                &format!("/api/v1/jobs/{dead}/retry")
            )
            .await
            .0,
            403,
            "{who}"
        );
        assert_eq!(
            call(
                &app,
                Method::POST,
                &t,
                &format!("/api/v1/jobs/{dead}/discard")
            )
            .await
            .0,
            403,
            "{who}"
        );
    }
}
