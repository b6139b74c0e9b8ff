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
    w.stop().await;
}
