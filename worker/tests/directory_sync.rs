//! The nightly directory sync, end to end: the schedule writes one `directory_sync`
//! job a day while an LDAP directory is the active login provider, the worker runs it
//! against a real slapd, and a user gone from the directory is disabled with their
//! sessions revoked (their access token stops working).

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/ldap.rs"]
mod ldap;
#[path = "../../tests/support/mod.rs"]
mod support;
#[path = "../../tests/support/worker.rs"]
mod worker;

use std::time::Duration;

use app::TestApp;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use ldap::Slapd;
use reqwest::Method;
use serde_json::json;
use support::eventually;
use worker::{RunningWorker, worker_config};

const ADMIN: &str = "superadmin@salescommand.com";
const WAIT: Duration = Duration::from_secs(30);

async fn count(app: &TestApp, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut conn = app.db.conn().await;
    diesel::sql_query(sql)
        .get_result::<N>(&mut conn)
        .await
        .unwrap()
        .n
}

#[tokio::test]
async fn the_nightly_directory_sync_disables_users_gone_from_the_directory() {
    let slapd = Slapd::start();
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    let configuration = json!({
        "url": slapd.url(),
        "bind_dn": ldap::SERVICE_DN,
        "user_base_dn": ldap::PEOPLE,
        "group_mappings": [
            { "group": "partner-a-sales", "role": "partner", "organisation": "Acme Partner" },
        ],
    });
    let (status, body) = app
        .call(
            &admin,
            Method::PUT,
            "/api/v1/providers/auth/ldap",
            Some(json!({ "configuration": configuration, "credentials": { "bind_password": ldap::SERVICE_PW } })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/providers/auth/ldap/activate",
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let res = app.login_response("leaving", "leaving-pw").await;
    assert_eq!(res.status(), 200);
    let token = res.json::<serde_json::Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    slapd.delete(&format!("uid=leaving,{}", ldap::PEOPLE));

    let worker = RunningWorker::start(worker_config(
        &app.db.url,
        &app.redis.url,
        &app.redis.namespace,
    ));
    let pool = tentabo_schema::db::build_pool(&app.db.url, 2).unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    // A tick every second: the job is written once (its key names the day).
    let schedule = tentabo_worker::schedule::parse("* * * * * *").unwrap();
    let task = tokio::spawn(tentabo_worker::schedule::nightly_sync(
        schedule,
        pool,
        shutdown.clone(),
    ));
    eventually(WAIT, "the directory sync disabled Léa", || async {
        count(
            &app,
            "SELECT count(*) AS n FROM users WHERE email = 'lea.leaving@partner-a.test' AND NOT is_active",
        )
        .await
            == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    shutdown.cancel();
    task.await.unwrap();
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM outbox WHERE queue = 'directory_sync'"
        )
        .await,
        1,
        "once a day, whatever the ticks"
    );
    let (status, _) = app.call(&token, Method::GET, "/api/v1/auth/me", None).await;
    assert!(status == 401 || status == 403, "{status}");
    worker.stop().await;
}
