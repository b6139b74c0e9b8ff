//! Two `tentabo-worker run` processes against one database and one Redis namespace —
//! as two replicas of the Kubernetes Deployment run: every effect runs once, each
//! schedule writes one job per tick (its key is the day) though both processes tick
//! every second, and the nightly sync makes one run per Odoo model, each run once.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/odoo.rs"]
mod odoo;
#[path = "../../tests/support/mod.rs"]
mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use app::TestApp;
use reqwest::Method;
use serde_json::json;
use support::eventually;

const ADMIN: &str = "superadmin@salescommand.com";
const WAIT: Duration = Duration::from_secs(90);

struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        // SIGTERM: the worker lets in-flight jobs finish.
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn worker_process(app: &TestApp) -> Process {
    Process(
        Command::new(env!("CARGO_BIN_EXE_tentabo-worker"))
            .arg("run")
            .env("DATABASE_URL", &app.db.url)
            .env("REDIS_URL", &app.redis.url)
            .env("TENTABO_REDIS_NAMESPACE", &app.redis.namespace)
            .env("TENTABO_SECRETS_KEY", app::SECRETS_KEY)
            .env(
                "TENTABO_WORKER_METRICS_BIND",
                format!("127.0.0.1:{}", free_port()),
            )
            .env("DATABASE_POOL_SIZE", "8")
            .env("TENTABO_WORKER_CONCURRENCY", "4")
            // Every schedule ticks every second in both processes.
            .env("TENTABO_CONTRACT_EXPIRY_SCHEDULE", "* * * * * *")
            .env("TENTABO_SYNC_SCHEDULE", "* * * * * *")
            .env("TENTABO_POLL_INTERVAL_MS", "20")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_processes_run_every_effect_and_schedule_once() {
    let app = TestApp::seeded().await;
    let admin = app.token(ADMIN).await;
    let partner = app.token("am1@salescommand.com").await;
    let peer = odoo::OdooPeer::with_credentials("sync@example.com", "odoo-s3cret").await;
    odoo::odoo17::install(&peer);
    app.configure_odoo(&admin, &peer.url(), "odoo-s3cret").await;
    let (status, body) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/providers/erp/odoo/activate",
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let odoo_models = tentabo_workflows::pipeline::odoo::MODELS.len() as i64;
    let (_w1, _w2) = (worker_process(&app), worker_process(&app));
    // Effects: 30 new leads, each pushed to the CRM (the recording provider) by a job.
    for i in 0..30 {
        let (status, body) = app
            .call(
                &partner,
                Method::POST,
                "/api/v1/leads",
                Some(
                    json!({ "title": format!("Lead {i}"), "organization": "Client SA",
                             "contact_name": "Carla", "contact_email": "carla@client.test" }),
                ),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    eventually(WAIT, "every lead push ran", || async {
        app.db
            .count(
                "SELECT count(*) AS n FROM outbox WHERE queue = 'crm_push_lead_status' AND status = 'done'",
            )
            .await
            == 30
    })
    .await;
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM provider_calls WHERE operation = 'push_lead_status'")
            .await,
        30,
        "each effect reached the provider once"
    );
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM outbox WHERE queue = 'crm_push_lead_status' AND attempts <> 1")
            .await,
        0,
        "no effect ran twice"
    );

    // Schedules: both processes ticked every second, for several seconds.
    eventually(WAIT, "the nightly syncs ran", || async {
        app.db
            .count("SELECT count(*) AS n FROM sync_runs WHERE provider = 'odoo' AND status IN ('succeeded', 'partial')")
            .await
            >= odoo_models
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM outbox WHERE queue = 'contract_expiry_scan'")
            .await,
        1,
        "one scan per day however many ticks and processes"
    );
    assert_eq!(
        app.db
            .count(
                "SELECT count(*) AS n FROM (SELECT entity FROM sync_runs GROUP BY entity HAVING count(*) > 1) t",
            )
            .await,
        0,
        "one nightly run per model"
    );
    eventually(WAIT, "every run and job settled", || async {
        app.db
            .count("SELECT count(*) AS n FROM sync_runs WHERE status IN ('queued', 'running')")
            .await
            == 0
            && app
                .db
                .count("SELECT count(*) AS n FROM outbox WHERE queue = 'sync_run' AND status <> 'done'")
                .await
                == 0
    })
    .await;
    // Each model once, none failed (the Odoo 17 fixture quarantines a few orders).
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM sync_runs WHERE status IN ('succeeded', 'partial')")
            .await,
        odoo_models
    );
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM outbox WHERE queue = 'sync_run'")
            .await,
        odoo_models,
        "one job per run"
    );
}
