//! Postgres restarted while 500 lead transitions are in flight, against a private
//! server: requests during the outage answer 503 in the error shape, `/readyz` names the
//! failing check, the API and the worker recover by themselves, and every transition
//! that took effect has exactly its history row, audit row and outbox row (each
//! accepted one among them), every other lead none — and each pushed effect ran once.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/private_pg.rs"]
mod private_pg;
#[path = "../../tests/support/mod.rs"]
mod support;
#[path = "../../tests/support/worker.rs"]
mod worker;

use std::time::Duration;

use app::TestApp;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures::StreamExt;
use private_pg::PrivatePostgres;
use reqwest::Method;
use serde_json::{Value, json};
use support::{TestDb, TestRedis, eventually};
use uuid::Uuid;
use worker::{RunningWorker, worker_config};

async fn connect(url: &str) -> AsyncPgConnection {
    AsyncPgConnection::establish(url).await.unwrap()
}

async fn count(url: &str, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = connect(url).await;
    diesel::sql_query(sql)
        .get_result::<N>(&mut conn)
        .await
        .unwrap()
        .n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgres_restart_mid_traffic_loses_and_doubles_nothing() {
    let pg = tokio::task::spawn_blocking(PrivatePostgres::start)
        .await
        .unwrap();
    {
        let mut conn = connect(&pg.url("postgres")).await;
        diesel::sql_query("CREATE DATABASE tentabo")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let url = pg.url("tentabo");
    tentabo_schema::db::run_migrations(&url).await.unwrap();
    {
        let mut conn = connect(&url).await;
        tentabo_workflows::identity::seed::seed_demo(&mut conn)
            .await
            .unwrap();
        diesel::sql_query(
            "INSERT INTO leads (id, title, organization, contact_name, contact_email, owner_id) \
             SELECT gen_random_uuid(), 'Lead ' || n, 'Org', 'Name', 'x@y.test', \
                    (SELECT id FROM users WHERE email = 'superadmin@salescommand.com') \
             FROM generate_series(1, 500) n",
        )
        .execute(&mut conn)
        .await
        .unwrap();
    }
    let redis = TestRedis::new();
    let cfg = app::config(&url, &redis.url, &redis.namespace);
    // The shared test database is only the harness's; the app talks to the private one.
    let app = TestApp::spawn_with(TestDb::new().await, redis, cfg).await;
    let mut wcfg = worker_config(&url, &app.redis.url, &app.redis.namespace);
    // A delivery whose start fell in the outage stays `enqueued` until the sweep hands
    // it back; a short redelivery delay keeps the test short.
    wcfg.redeliver_after_secs = 3;
    let worker = RunningWorker::start(wcfg);
    let admin = app.token("superadmin@salescommand.com").await;

    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    let ids: Vec<Uuid> = diesel::sql_query("SELECT id FROM leads")
        .load::<Id>(&mut connect(&url).await)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(ids.len(), 500);

    // The transitions, at a steady rate, while Postgres goes down and comes back.
    let traffic = {
        let (app, admin, ids) = (&app, &admin, ids.clone());
        async move {
            let start = tokio::time::Instant::now();
            futures::stream::iter(ids.into_iter().enumerate())
                .map(|(i, id)| async move {
                    // One request every 8 ms, 4 s in all: before, during and after the
                    // outage (0.3 s to about 2 s).
                    let at = Duration::from_millis(8 * u64::try_from(i).unwrap());
                    tokio::time::sleep_until(start + at).await;
                    let (status, body) = app
                        .call(
                            admin,
                            Method::POST,
                            &format!("/api/v1/leads/{id}/transitions"),
                            Some(json!({ "event": "contact" })),
                        )
                        .await;
                    (id, status, body)
                })
                .buffer_unordered(64)
                .collect::<Vec<(Uuid, u16, Value)>>()
                .await
        }
    };
    let outage = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let pg = &pg;
        tokio::task::block_in_place(|| pg.stop());
        // While it is down, readiness says which check fails.
        let res = app.get("/readyz").await;
        assert_eq!(res.status(), 503);
        let body: Value = res.json().await.unwrap();
        assert!(
            body["error"]["details"]["checks"]["postgres"]
                .as_str()
                .unwrap_or_default()
                .starts_with("error"),
            "{body}"
        );
        assert_eq!(body["error"]["details"]["checks"]["redis"], "ok", "{body}");
        tokio::time::sleep(Duration::from_millis(1500)).await;
        tokio::task::block_in_place(|| pg.start_again());
    };
    let (results, ()) = tokio::join!(traffic, outage);

    let accepted: Vec<Uuid> = results
        .iter()
        .filter(|(_, s, _)| *s == 200)
        .map(|(id, ..)| *id)
        .collect();
    let refused: Vec<&(Uuid, u16, Value)> = results.iter().filter(|(_, s, _)| *s != 200).collect();
    for (id, status, body) in &refused {
        assert_eq!(*status, 503, "lead {id}: {body}");
        assert!(body["error"]["code"].is_string(), "lead {id}: {body}");
        assert!(body["error"]["message"].is_string(), "lead {id}: {body}");
    }
    assert!(!refused.is_empty(), "the outage was felt");
    assert!(
        !accepted.is_empty(),
        "traffic went through around the outage"
    );

    // The API recovers by itself.
    eventually(Duration::from_secs(30), "ready again", || async {
        app.get("/readyz").await.status() == 200
    })
    .await;
    // Every lead left in a consistent state: moved with exactly one history, audit and
    // outbox row, or not moved with none. (A commit whose answer was lost in the
    // outage is a moved lead with a 503: consistent, and retried by a client it would
    // answer 409.)
    let moved = count(
        &url,
        "SELECT count(*) AS n FROM leads WHERE state = 'contacted'",
    )
    .await;
    for (what, sql) in [
        (
            "history",
            "SELECT count(*) AS n FROM lifecycle_history WHERE object_type = 'lead'",
        ),
        (
            "audit",
            "SELECT count(*) AS n FROM audit_logs WHERE action = 'lead.transition'",
        ),
        (
            "outbox",
            "SELECT count(*) AS n FROM outbox WHERE queue = 'crm_push_lead_status'",
        ),
    ] {
        assert_eq!(count(&url, sql).await, moved, "{what} rows per moved lead");
    }
    assert_eq!(
        count(
            &url,
            "SELECT count(*) AS n FROM leads l WHERE state = 'contacted' AND \
               (SELECT count(*) FROM lifecycle_history h WHERE h.object_id = l.id) <> 1"
        )
        .await,
        0
    );
    let accepted_list = accepted
        .iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(
        count(
            &url,
            &format!(
                "SELECT count(*) AS n FROM leads WHERE state = 'contacted' AND id IN ({accepted_list})"
            )
        )
        .await,
        i64::try_from(accepted.len()).unwrap(),
        "every accepted transition is there"
    );
    // The worker recovers by itself: every effect runs, once.
    let started = std::time::Instant::now();
    while count(
        &url,
        "SELECT count(*) AS n FROM outbox WHERE status = 'done' AND queue = 'crm_push_lead_status'",
    )
    .await
        != moved
    {
        if started.elapsed() > Duration::from_secs(120) {
            #[derive(diesel::QueryableByName, Debug)]
            #[allow(dead_code)] // read through Debug, in the failure message
            struct State {
                #[diesel(sql_type = diesel::sql_types::Text)]
                status: String,
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
                #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
                last_error: Option<String>,
            }
            let states: Vec<State> = diesel::sql_query(
                "SELECT status, count(*) AS n, max(last_error) AS last_error \
                 FROM outbox GROUP BY status",
            )
            .load(&mut connect(&url).await)
            .await
            .unwrap();
            panic!("not every push ran in 120 s: {states:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    assert_eq!(
        count(
            &url,
            "SELECT count(DISTINCT idempotency_key) AS n FROM provider_calls \
             WHERE operation = 'push_lead_status'"
        )
        .await,
        moved
    );
    assert_eq!(
        count(
            &url,
            "SELECT count(*) AS n FROM provider_calls WHERE operation = 'push_lead_status'"
        )
        .await,
        moved,
        "each effect ran once"
    );
    println!(
        "{} accepted, {} answered 503 during the outage, {moved} moved",
        accepted.len(),
        refused.len()
    );
    worker.stop().await;
}
