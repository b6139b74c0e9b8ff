//! The worker's own Prometheus endpoint counts relayed rows and finished jobs.
//! (Its own test binary: the metrics recorder is global to a process.)

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/mod.rs"]
mod support;
#[path = "../../tests/support/worker.rs"]
mod worker;

use std::time::Duration;

use serde_json::json;
use support::{TestDb, TestRedis, eventually};
use worker::{RunningWorker, count_status, noop, worker_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_serves_its_metrics() {
    let db = TestDb::new().await;
    let redis = TestRedis::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    tentabo_worker::serve_metrics(addr).unwrap();
    let mut conn = db.conn().await;
    tentabo_workflows::jobs::enqueue(
        &mut conn,
        &[
            noop("m1", json!({})),
            noop("m2", json!({ "fail_permanently": true })),
        ],
    )
    .await
    .unwrap();
    let w = RunningWorker::start(worker_config(&db.url, &redis.url, &redis.namespace));
    eventually(Duration::from_secs(20), "both finished", || async {
        let mut c = db.conn().await;
        count_status(&mut c, "done").await == 1 && count_status(&mut c, "dead").await == 1
    })
    .await;
    let mut text = String::new();
    for _ in 0..50 {
        text = reqwest::get(format!("http://{addr}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if text.contains("jobs_finished_total") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        text.contains(r#"outbox_relayed_total{queue="noop"} 2"#),
        "{text}"
    );
    assert!(
        text.contains(r#"jobs_finished_total{queue="noop",outcome="done"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"jobs_finished_total{queue="noop",outcome="dead"} 1"#),
        "{text}"
    );
    // Queue depths by state and the outbox lag, sampled every second here.
    let metrics = || async {
        reqwest::get(format!("http://{addr}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    eventually(
        Duration::from_secs(20),
        "the dead job is sampled",
        || async {
            metrics()
                .await
                .contains(r#"tentabo_jobs{queue="noop",state="dead"} 1"#)
        },
    )
    .await;
    let text = metrics().await;
    assert!(
        text.contains(r#"tentabo_jobs{queue="noop",state="pending"} 0"#),
        "{text}"
    );
    assert!(text.contains("tentabo_outbox_lag_seconds 0"), "{text}");
    // A finished run's records and time per stage.
    tentabo_worker::observe::sync_run(&tentabo_workflows::pipeline::run::RunView {
        id: uuid::Uuid::nil(),
        provider: "odoo".into(),
        entity: "crm.lead".into(),
        mode: "full".into(),
        status: "partial".into(),
        started_at: None,
        finished_at: None,
        estimate: Some(7),
        fetched: 7,
        unchanged: 1,
        loaded: 5,
        quarantined: 1,
        deleted: 0,
        conflicts: 0,
        warned: 0,
        warnings: json!({}),
        quarantine_reasons: json!({}),
        timings: json!({ "connector": 1_500_000, "loader": 250_000 }),
        error: None,
        created_at: chrono::Utc::now(),
    });
    let text = metrics().await;
    for line in [
        r#"tentabo_sync_runs_total{provider="odoo",entity="crm.lead",status="partial"} 1"#,
        r#"tentabo_sync_records_total{provider="odoo",entity="crm.lead",stage="loaded"} 5"#,
        r#"tentabo_sync_records_total{provider="odoo",entity="crm.lead",stage="quarantined"} 1"#,
        r#"tentabo_sync_stage_seconds_sum{provider="odoo",entity="crm.lead",stage="connector"} 1.5"#,
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
    w.stop().await;
}
