//! `tentabo-worker jobs …`, run as an operator would: queues, failures, one job, retry
//! and discard (audited), JSON output that parses, and one clear line for bad input.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/mod.rs"]
mod support;

use std::process::{Command, Output};

use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use support::TestDb;

fn worker(db: &TestDb, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tentabo-worker"))
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env("RUST_LOG", "warn")
        .env("USER", "ops-test")
        .arg("jobs")
        .args(args)
        .args(["--database-url", &db.url])
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn refused(out: &Output) -> String {
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[derive(diesel::QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

#[tokio::test]
async fn operators_see_retry_and_discard_jobs_from_the_command_line() {
    let db = TestDb::new().await;
    let ids: Vec<i64> = diesel::sql_query(
        "INSERT INTO outbox (queue, payload, idempotency_key, status, attempts, max_attempts, last_error) VALUES \
           ('noop', '{}', 'dead-1', 'dead', 5, 5, 'provider said no'), \
           ('noop', '{}', 'retrying-1', 'pending', 2, 5, 'timed out'), \
           ('noop', '{}', 'done-1', 'done', 1, 5, NULL) \
         RETURNING id",
    )
    .load::<Id>(&mut db.conn().await)
    .await
    .unwrap()
    .into_iter()
    .map(|r| r.id)
    .collect();
    let (dead, retrying, done) = (ids[0], ids[1], ids[2]);

    let queues: serde_json::Value =
        serde_json::from_str(&ok(&worker(&db, &["queues", "--output", "json"]))).unwrap();
    let noop = queues
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["queue"] == "noop")
        .unwrap();
    assert_eq!(
        (noop["dead"].clone(), noop["retrying"].clone()),
        (1.into(), 1.into()),
        "{queues}"
    );
    let table = ok(&worker(&db, &["queues"]));
    assert!(
        table.lines().next().unwrap().contains("discarded"),
        "{table}"
    );

    let failures = ok(&worker(&db, &["failures"]));
    assert_eq!(failures.lines().count(), 2, "{failures}");
    assert!(
        failures.contains("provider said no") && !failures.contains("done"),
        "{failures}"
    );
    let json = ok(&worker(
        &db,
        &["failures", "--queue", "noop", "-n", "1", "--output", "json"],
    ));
    let first: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(first["id"], retrying, "newest first");

    let shown: serde_json::Value = serde_json::from_str(&ok(&worker(
        &db,
        &["show", &done.to_string(), "--output", "json"],
    )))
    .unwrap();
    assert_eq!(shown["status"], "done");
    assert!(refused(&worker(&db, &["show", "999999"])).contains("no job 999999"));

    let retried: serde_json::Value = serde_json::from_str(&ok(&worker(
        &db,
        &["retry", &dead.to_string(), "--output", "json"],
    )))
    .unwrap();
    assert_eq!(retried["status"], "pending");
    let again = refused(&worker(&db, &["retry", &done.to_string()]));
    assert_eq!(
        again.trim(),
        "error: the job is done",
        "one line, no backtrace"
    );
    let discarded = ok(&worker(&db, &["discard", &retrying.to_string()]));
    assert!(discarded.contains("discarded"), "{discarded}");
    assert!(refused(&worker(&db, &["discard", "424242"])).contains("no job 424242"));
    assert_eq!(
        db.count(
            "SELECT count(*) AS n FROM audit_logs WHERE action IN ('job_retried', 'job_discarded') \
             AND request_id = 'cli:ops-test' AND object_type = 'job'"
        )
        .await,
        2,
        "retry and discard are audited"
    );

    // Bad input: one clear line, a non-zero exit.
    assert!(refused(&worker(&db, &["show", "forty-two"])).contains("invalid value"));
    assert!(refused(&worker(&db, &["failures", "-n", "0"])).contains("invalid value"));
    let no_db = Command::new(env!("CARGO_BIN_EXE_tentabo-worker"))
        .env_remove("DATABASE_URL")
        .args(["jobs", "queues"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&no_db.stderr).contains("--database-url"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = Command::new(env!("CARGO_BIN_EXE_tentabo-worker"))
        .env_remove("DATABASE_URL")
        .args([
            "jobs",
            "queues",
            "--database-url",
            &format!("postgres://postgres@127.0.0.1:{port}/x"),
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&unreachable.stderr).contains("cannot connect to the database")
    );
}
