//! `tentabo-worker sync …` and `jobs tail`, run as an operator would against a running
//! worker: a followed run prints its progress and exits with the run's status, `runs`
//! and `show` read it back, JSON output parses, and bad input ends with one clear line.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/odoo.rs"]
mod odoo;
#[path = "../../tests/support/mod.rs"]
mod support;
#[path = "../../tests/support/worker.rs"]
mod worker;

use std::process::{Command, Output, Stdio};

use app::TestApp;
use worker::{RunningWorker, worker_config};

const ADMIN: &str = "superadmin@salescommand.com";

fn cli(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tentabo-worker"))
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .args(args)
        .args(["--database-url", url])
        .output()
        .unwrap()
}

/// Runs the command on a blocking thread, so the test's runtime (serving the Odoo peer
/// and the worker) goes on meanwhile.
async fn cli_async(url: &str, args: &[&str]) -> Output {
    let url = url.to_owned();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        cli(&url, &args)
    })
    .await
    .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// One line on stderr, no panic, a non-zero exit.
fn refused(out: &Output, expected: &str) {
    let err = stderr(out);
    assert!(!out.status.success(), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    assert!(err.contains(expected), "expected `{expected}` in: {err}");
}

#[tokio::test]
async fn a_followed_sync_shows_progress_and_exits_with_the_runs_status() {
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    let url = app.db.url.clone();
    let worker = RunningWorker::start(worker_config(
        &app.db.url,
        &app.redis.url,
        &app.redis.namespace,
    ));

    // No ERP configured yet: the run fails at once, with the reason, and exit status 4.
    let out = cli_async(&url, &["sync", "odoo", "contact", "--follow"]).await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stdout(&out).contains("failed"), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("no ERP source is active"),
        "{}",
        stdout(&out)
    );
    // …and it blocks no later run.

    let peer = odoo::OdooPeer::with_credentials("sync@example.com", "odoo-s3cret").await;
    odoo::odoo17::install(&peer);
    app.configure_odoo(&admin, &peer.url(), "odoo-s3cret").await;
    let (status, body) = app
        .call(
            &admin,
            reqwest::Method::POST,
            "/api/v1/providers/erp/odoo/activate",
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let out = cli_async(
        &url,
        &[
            "sync", "odoo", "lead", "--mode", "full", "--follow", "--output", "json",
        ],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stderr(&out),
        stdout(&out)
    );
    let run: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(
        (&run["status"], &run["entity"], &run["mode"]),
        (
            &serde_json::json!("succeeded"),
            &serde_json::json!("crm.lead"),
            &serde_json::json!("full")
        )
    );
    let leads = odoo::odoo17::leads().len() as i64;
    assert_eq!(run["fetched"], leads, "{run}");
    // The progress went to stderr, ending with the finished run's counts.
    let progress = stderr(&out);
    let last = progress.lines().last().unwrap();
    assert!(last.starts_with("succeeded"), "{progress}");
    assert!(last.contains(&format!("{leads}/{leads}")), "{progress}");
    assert!(last.contains(&format!("loaded {leads}")), "{progress}");

    // `runs` lists both, newest first; `show` tells one in detail.
    let out = cli_async(&url, &["sync", "runs", "--output", "json"]).await;
    let runs: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(runs[0]["id"], run["id"]);
    assert!(runs.iter().any(|r| r["status"] == "failed"));
    let id = run["id"].as_str().unwrap();
    let out = cli_async(&url, &["sync", "show", id]).await;
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(text.starts_with(id) && text.contains("succeeded"), "{text}");
    assert!(text.contains("timings µs"), "{text}");

    // Without --follow: the queued run, at once.
    let out = cli_async(&url, &["sync", "odoo", "contact"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("res.partner"), "{}", stdout(&out));
    worker.stop().await;
}

#[tokio::test]
async fn jobs_tail_prints_the_end_of_the_job_log_and_follows_it() {
    let app = TestApp::seeded().await;
    let url = app.db.url.clone();
    let mut conn = app.db.conn().await;
    tentabo_workflows::jobs::enqueue(
        &mut conn,
        &[
            worker::noop("tail-1", serde_json::json!({})),
            worker::noop("tail-2", serde_json::json!({})),
        ],
    )
    .await
    .unwrap();
    let out = cli_async(&url, &["jobs", "tail", "-n", "1", "--output", "json"]).await;
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["status"], "pending");

    // Following: the worker runs the pending jobs and a new one; each change is printed.
    let mut child = Command::new(env!("CARGO_BIN_EXE_tentabo-worker"))
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .args(["jobs", "tail", "-n", "2", "--follow", "--output", "json"])
        .args(["--database-url", &url])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<serde_json::Value>();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in reader.lines().map_while(Result::ok) {
            if tx.send(serde_json::from_str(&line).unwrap()).is_err() {
                break;
            }
        }
    });
    let wait = std::time::Duration::from_secs(60);
    let mut lines = Vec::new();
    // The two pending jobs first; then a new one, then the worker runs all three.
    for _ in 0..2 {
        lines.push(
            tokio::time::timeout(wait, rx.recv())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    assert!(lines.iter().all(|j| j["status"] == "pending"), "{lines:?}");
    tentabo_workflows::jobs::enqueue(&mut conn, &[worker::noop("tail-3", serde_json::json!({}))])
        .await
        .unwrap();
    let new = tokio::time::timeout(wait, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(new["status"], "pending", "{new}");
    let worker = RunningWorker::start(worker_config(
        &app.db.url,
        &app.redis.url,
        &app.redis.namespace,
    ));
    while lines.iter().filter(|j| j["status"] == "done").count() < 3 {
        let next = tokio::time::timeout(wait, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("three jobs done: {lines:?}"))
            .unwrap();
        lines.push(next);
    }
    child.kill().unwrap();
    let _ = child.wait();
    let mut done: Vec<i64> = lines
        .iter()
        .filter(|j| j["status"] == "done")
        .map(|j| j["id"].as_i64().unwrap())
        .collect();
    done.sort_unstable();
    done.dedup();
    assert_eq!(done.len(), 3, "each job once done: {lines:?}");
    worker.stop().await;
}

#[tokio::test]
async fn bad_input_gets_one_clear_line_and_a_failing_exit() {
    let db = support::TestDb::new().await;
    refused(
        &cli(&db.url, &["sync", "netsuite", "lead"]),
        "error: unknown provider `netsuite` (one of: odoo, pennylane, pipedrive)",
    );
    refused(
        &cli(&db.url, &["sync", "pennylane", "lead"]),
        "error: `pennylane` has no entity `lead` (one of: invoice)",
    );
    refused(
        &cli(
            &db.url,
            &["sync", "show", "0193a7c4-0000-7000-8000-000000000000"],
        ),
        "error: no sync run 0193a7c4-0000-7000-8000-000000000000",
    );
    refused(&cli(&db.url, &["sync", "show", "42"]), "invalid value '42'");
    refused(
        &cli(&db.url, &["sync", "odoo", "lead", "--mode", "sometimes"]),
        "invalid value 'sometimes'",
    );
    // No database: one line, whatever the command.
    for args in [
        &["sync", "odoo", "lead"][..],
        &["sync", "runs"],
        &["jobs", "tail"],
    ] {
        refused(
            &cli("postgres://nobody@127.0.0.1:1/none", args),
            "error: cannot connect to the database",
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_tentabo-worker"))
        .env_remove("DATABASE_URL")
        .args(["sync", "odoo", "lead"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).to_lowercase().contains("database"),
        "a missing database is named: {}",
        stderr(&out)
    );
    // A second run of an entity while one is queued is refused, by name.
    let first = cli(&db.url, &["sync", "odoo", "order"]);
    assert!(first.status.success(), "{}", stderr(&first));
    refused(
        &cli(&db.url, &["sync", "odoo", "order"]),
        "error: a run of this entity is already queued or running",
    );
}
