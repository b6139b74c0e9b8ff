//! No credential anywhere it should not be: with Pennylane and Odoo configured (a wrong
//! key first, then the right ones; Odoo's password through the environment bootstrap),
//! quotes and invoices made, syncs run from both and connections tested, neither a
//! `pg_dump` of the whole database nor any log line of the API (debug level, captured
//! in process) or of the worker binary (debug level, its whole output) holds a secret.
//! The dump does hold the sealed values, and the logs are not empty: the scan is not
//! vacuous.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/odoo.rs"]
mod odoo;
#[path = "../../tests/support/pennylane.rs"]
mod pennylane;
#[path = "../../tests/support/mod.rs"]
mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::TestApp;
use reqwest::Method;
use serde_json::{Value, json};
use support::eventually;

const PENNYLANE_KEY: &str = "pl-secret-4c1d7e9a0b2f";
const WRONG_KEY: &str = "pl-wrong-88e2a61f3c";
const ODOO_PASSWORD: &str = "odoo-secret-5b3a91d2";
const ADMIN: &str = "superadmin@salescommand.com";
const WAIT: Duration = Duration::from_secs(60);

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

fn pg_dump() -> std::path::PathBuf {
    let mut candidates: Vec<std::path::PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|d| d.path().join("bin/pg_dump"))
        .filter(|p| p.exists())
        .collect();
    candidates.sort();
    candidates
        .pop()
        .unwrap_or_else(|| std::path::PathBuf::from("pg_dump"))
}

async fn wait_run(app: &TestApp, admin: &str, path: &str, body: Value) -> Value {
    let (status, run) = app.call(admin, Method::POST, path, Some(body)).await;
    assert_eq!(status, 202, "{run}");
    let get = format!("/api/v1/sync/runs/{}", run["id"].as_str().unwrap());
    let started = Instant::now();
    loop {
        let r = app.call(admin, Method::GET, &get, None).await.1;
        if r["finished_at"].is_string() {
            return r;
        }
        assert!(started.elapsed() < WAIT, "run did not end: {r}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn no_secret_reaches_the_database_in_clear_or_any_log_line() {
    let api_logs = Captured::default();
    {
        use tracing_subscriber::layer::SubscriberExt;
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new("debug"))
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(api_logs.clone()),
            );
        tracing::subscriber::set_global_default(subscriber).unwrap();
    }
    let app = TestApp::seeded().await;
    {
        let mut conn = app.db.conn().await;
        tentabo_workflows::catalogue::seed_demo(&mut conn)
            .await
            .unwrap();
    }
    let peer = pennylane::PennylanePeer::start(PENNYLANE_KEY).await;
    let erp = odoo::OdooPeer::with_credentials("sync@example.com", ODOO_PASSWORD).await;
    odoo::odoo17::install(&erp);
    let admin = app.token(ADMIN).await;

    // A wrong key first: its test fails, with a reason that must not quote it.
    let configure = |key: &'static str| {
        json!({
            "configuration": { "base_url": peer.url(), "timeout_seconds": 5, "rate_limit_per_second": 50.0 },
            "credentials": { "api_key": key },
        })
    };
    for key in [WRONG_KEY, PENNYLANE_KEY] {
        let (status, b) = app
            .call(
                &admin,
                Method::PUT,
                "/api/v1/providers/billing/pennylane",
                Some(configure(key)),
            )
            .await;
        assert_eq!(status, 200, "{b}");
        let (_, test) = app
            .call(
                &admin,
                Method::POST,
                "/api/v1/providers/billing/pennylane/test",
                None,
            )
            .await;
        assert_eq!(test["ok"], key == PENNYLANE_KEY, "{test}");
    }
    let (status, b) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/providers/billing/pennylane/activate",
            None,
        )
        .await;
    assert_eq!(status, 200, "{b}");

    // The worker binary, Odoo's password given by the environment (bootstrap).
    let worker_log = std::env::temp_dir().join(format!("tentabo-leak-{}.log", app.db.name));
    let out = std::fs::File::create(&worker_log).unwrap();
    let mut worker = support::ChildGuard(
        std::process::Command::new(env!("CARGO_BIN_EXE_tentabo-worker"))
            .arg("run")
            .env("DATABASE_URL", &app.db.url)
            .env("REDIS_URL", &app.redis.url)
            .env("TENTABO_REDIS_NAMESPACE", &app.redis.namespace)
            .env("TENTABO_SECRETS_KEY", app::SECRETS_KEY)
            .env("TENTABO_ODOO_URL", erp.url())
            .env("TENTABO_ODOO_DATABASE", "prod")
            .env("TENTABO_ODOO_LOGIN", "sync@example.com")
            .env("TENTABO_ODOO_PASSWORD", ODOO_PASSWORD)
            .env("TENTABO_WORKER_METRICS_BIND", "127.0.0.1:0")
            .env("TENTABO_RETRY_INITIAL_MS", "50")
            .env("RUST_LOG", "debug")
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap(),
    );

    // Effects through Pennylane, then syncs from both providers.
    let partner = app.token("am1@salescommand.com").await;
    let fulfiller = app.token("fulfiller@salescommand.com").await;
    let storage = app.id_of("products", "name", "Backup Storage").await;
    let (status, order) = app
        .call(
            &partner,
            Method::POST,
            "/api/v1/orders",
            Some(json!({ "lines": [{ "product_id": storage, "duration_months": 12, "quantity": 5 }] })),
        )
        .await;
    assert_eq!(status, 201, "{order}");
    let id = order["id"].as_str().unwrap().to_owned();
    let transitions = format!("/api/v1/orders/{id}/transitions");
    let (status, _) = app
        .call(
            &partner,
            Method::POST,
            &transitions,
            Some(json!({ "event": "send" })),
        )
        .await;
    assert_eq!(status, 200);
    eventually(WAIT, "the quote is recorded", || async {
        app.call(&admin, Method::GET, &format!("/api/v1/orders/{id}"), None)
            .await
            .1["billing_quote_id"]
            .is_string()
    })
    .await;
    for event in ["start_fulfillment", "fulfill"] {
        let (status, b) = app
            .call(
                &fulfiller,
                Method::POST,
                &transitions,
                Some(json!({ "event": event })),
            )
            .await;
        assert_eq!(status, 200, "{b}");
    }
    eventually(WAIT, "the invoice is recorded", || async {
        let (_, list) = app
            .call(
                &admin,
                Method::GET,
                &format!("/api/v1/contracts?order_id={id}"),
                None,
            )
            .await;
        list["items"][0]["billing_invoices"]
            .as_array()
            .is_some_and(|i| !i.is_empty())
    })
    .await;
    let odoo_run = wait_run(&app, &admin, "/api/v1/sync/odoo/organization", json!({})).await;
    assert_eq!(odoo_run["status"], "succeeded", "{odoo_run}");
    let pl_run = wait_run(
        &app,
        &admin,
        "/api/v1/sync/pennylane/invoice",
        json!({ "mode": "full" }),
    )
    .await;
    assert_eq!(pl_run["status"], "succeeded", "{pl_run}");
    let (_, test) = app
        .call(&admin, Method::POST, "/api/v1/integrations/odoo/test", None)
        .await;
    assert_eq!(test["ok"], true, "{test}");

    // The worker stops (SIGTERM) and its whole output is read.
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &worker.id().to_string()])
        .status();
    let started = Instant::now();
    while worker.try_wait().unwrap().is_none() && started.elapsed() < Duration::from_secs(40) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = worker.kill();
    let worker_output = std::fs::read_to_string(&worker_log).unwrap();
    let _ = std::fs::remove_file(&worker_log);
    app.state.platform.outbound().call_log().flush().await;

    let dump = std::process::Command::new(pg_dump())
        .args(["--no-owner", "--dbname", &app.db.url])
        .output()
        .unwrap();
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let dump = String::from_utf8_lossy(&dump.stdout).into_owned();
    let api_output = String::from_utf8_lossy(&api_logs.0.lock().unwrap()).into_owned();

    // Not vacuous: the sealed values are in the dump, the logs speak of the calls.
    assert!(
        dump.contains("\"v1.test."),
        "sealed credentials in the dump"
    );
    assert!(dump.contains("provider_call_log"));
    assert!(api_output.contains("pennylane"), "API logs captured");
    assert!(
        worker_output.contains("\"level\":\"DEBUG\""),
        "worker logs at debug"
    );
    assert!(
        worker_output.contains("sync run finished"),
        "{worker_output}"
    );
    for secret in [PENNYLANE_KEY, WRONG_KEY, ODOO_PASSWORD] {
        assert!(!dump.contains(secret), "`{secret}` in the database dump");
        assert!(!api_output.contains(secret), "`{secret}` in the API's logs");
        assert!(
            !worker_output.contains(secret),
            "`{secret}` in the worker's logs"
        );
    }
}
