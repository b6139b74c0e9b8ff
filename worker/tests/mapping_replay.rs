//! A mapping version approved in the API is replayed by the worker: the `replay_mapping`
//! job creates the object's replay run, records it on the version, and rebuilds the
//! canonical rows from the raw zone (the run's progress readable at
//! `/api/v1/sync/runs/{id}`), with no call to Odoo.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/odoo.rs"]
mod odoo;
#[path = "../../tests/support/mod.rs"]
mod support;
#[path = "../../tests/support/worker.rs"]
mod worker;

use std::time::Duration;

use app::TestApp;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::json;
use support::eventually;
use tentabo_workflows::pipeline::run::{self, Mode};
use worker::{RunningWorker, worker_config};

const ADMIN: &str = "superadmin@salescommand.com";
const WAIT: Duration = Duration::from_secs(30);

async fn phone_of(app: &TestApp, id: &str) -> Option<String> {
    #[derive(diesel::QueryableByName)]
    struct P {
        #[diesel(sql_type = Nullable<Text>)]
        phone: Option<String>,
    }
    diesel::sql_query(format!(
        "SELECT phone FROM canonical_contacts WHERE provider = 'odoo' AND external_id = '{id}'"
    ))
    .get_result::<P>(&mut app.db.conn().await)
    .await
    .unwrap()
    .phone
}

#[tokio::test]
async fn an_approved_version_is_replayed_by_the_worker_without_calling_odoo() {
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    let peer = odoo::OdooPeer::with_credentials("sync@example.com", "odoo-s3cret").await;
    odoo::odoo17::install(&peer);
    app.configure_odoo(&admin, &peer.url(), "odoo-s3cret").await;
    // The raw zone, as a first full run leaves it.
    let run_id = run::create(&mut app.db.conn().await, "res.partner", Mode::Full, None)
        .await
        .unwrap();
    run::execute(
        &app.db.pool(2),
        &mut peer.client("sync@example.com", "odoo-s3cret"),
        run_id,
        run::Options::default(),
    )
    .await
    .unwrap();
    assert_eq!(phone_of(&app, "41").await, None);

    let (status, draft) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/mappings/odoo/res.partner/auto-map",
            Some(json!({ "entity": "contact" })),
        )
        .await;
    assert_eq!(status, 201, "{draft}");
    let id = draft["id"].as_str().unwrap().to_owned();
    let rule = |source: &str| {
        draft["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["source_field"] == source)
            .unwrap()["id"]
            .clone()
    };
    let (status, body) = app
        .call(
            &admin,
            Method::POST,
            &format!("/api/v1/mappings/versions/{id}/decisions"),
            Some(json!({ "decisions": [
                { "rule_id": rule("phone"), "status": "rejected" },
                { "rule_id": rule("mobile"), "status": "approved", "target_field": "phone" },
            ] })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .call(
            &admin,
            Method::POST,
            &format!("/api/v1/mappings/versions/{id}/approve"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let calls = peer.calls();
    let worker = RunningWorker::start(worker_config(
        &app.db.url,
        &app.redis.url,
        &app.redis.namespace,
    ));
    eventually(
        WAIT,
        "the replay gave Camille her mobile as phone",
        || async { phone_of(&app, "41").await.as_deref() == Some("+33612345678") },
    )
    .await;
    eventually(WAIT, "the replay run succeeded", || async {
        let (_, version) = app
            .call(
                &admin,
                Method::GET,
                &format!("/api/v1/mappings/versions/{id}"),
                None,
            )
            .await;
        let Some(run) = version["replay_run_id"].as_str() else {
            return false;
        };
        let (_, r) = app
            .call(
                &admin,
                Method::GET,
                &format!("/api/v1/sync/runs/{run}"),
                None,
            )
            .await;
        r["status"] == "succeeded"
    })
    .await;
    let (_, version) = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/v1/mappings/versions/{id}"),
            None,
        )
        .await;
    let run = version["replay_run_id"].as_str().unwrap();
    let (_, replay) = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/v1/sync/runs/{run}"),
            None,
        )
        .await;
    assert_eq!(replay["mode"], "replay");
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let raw = diesel::sql_query(
        "SELECT count(*) AS n FROM raw_records WHERE provider = 'odoo' AND entity = 'res.partner'",
    )
    .get_result::<N>(&mut app.db.conn().await)
    .await
    .unwrap()
    .n;
    assert_eq!(replay["progress"]["done"], raw, "{replay}");
    assert_eq!(phone_of(&app, "39").await.as_deref(), Some("+32473123456"));
    assert_eq!(peer.calls(), calls, "the replay called no source");
    worker.stop().await;
}
