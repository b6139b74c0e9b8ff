//! Pipedrive webhook deliveries accepted per second through the real API over HTTP
//! (HTTP Basic checked against the sealed password, the event recorded once in
//! `webhook_events`, its job queued in the outbox, all in one transaction), and their
//! latency, at 64 concurrent senders; against the same run's HTTP floor (`/healthz` at
//! the same concurrency) and a redelivery of events already recorded (deduplicated).
//!
//!   ./dev bench -p tentabo-api --bench webhooks
//!
//! Target (issue 17): ≥ 2,000 deliveries/s with p99 ≤ 50 ms on 2 cores.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use secrecy::SecretString;
use tentabo_api::Application;
use tentabo_api::config::{ApiConfig, AuthConfig, DatabaseConfig, RedisConfig};
use tentabo_schema::db::{quote_ident, with_database};
use tentabo_workflows::secrets::KeyRing;

const RUN_FOR: Duration = Duration::from_secs(6);
const SENDERS: usize = 64;
const KEY: &str = "bench:YmVuY2gtb25seS1zZWNyZXRzLWtleS0zMi1ieXRlcyE=";
const PASSWORD: &str = "bench-webhook-password-0123456789";

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Runs `clients` loops of `call(n)` (n: a number unique to the call) for RUN_FOR;
/// returns (calls/s, p50 ms, p99 ms).
async fn drive<F, Fut>(clients: usize, call: F) -> (f64, f64, f64)
where
    F: Fn(reqwest::Client, u64) -> Fut + Send + Sync + 'static + Clone,
    Fut: std::future::Future<Output = bool> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (stop, call, counter) = (stop.clone(), call.clone(), counter.clone());
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(2)
            .build()
            .unwrap();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while !AtomicBool::load(&stop, Ordering::Relaxed) {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let t = Instant::now();
                assert!(call(client.clone(), n).await, "a request failed");
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    tokio::time::sleep(RUN_FOR).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort();
    (all.len() as f64 / elapsed, pct(&all, 0.5), pct(&all, 0.99))
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let server = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let redis_url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into());
        let name = format!("tentabo_bench_{}", uuid::Uuid::new_v4().simple());
        let url = with_database(&server, &name);
        let mut admin = AsyncPgConnection::establish(&with_database(&server, "postgres")).await.unwrap();
        diesel::sql_query(format!("CREATE DATABASE {}", quote_ident(&name))).execute(&mut admin).await.unwrap();
        tentabo_schema::db::run_migrations(&url).await.unwrap();
        let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
        // Pipedrive configured, with the webhook password Tentabo generated, sealed.
        let keys = KeyRing::parse(&SecretString::from(KEY.to_owned())).unwrap();
        let sealed = keys.seal(
            "provider:crm:pipedrive:webhook_password",
            &SecretString::from(PASSWORD.to_owned()),
        );
        diesel::sql_query(
            "INSERT INTO provider_configs (kind, name, configuration, credentials) \
             VALUES ('crm', 'pipedrive', '{}', jsonb_build_object('webhook_password', $1::text))",
        )
        .bind::<diesel::sql_types::Text, _>(sealed)
        .execute(&mut conn)
        .await
        .unwrap();

        let config = ApiConfig {
            database: DatabaseConfig { url: SecretString::from(url.clone()), pool_size: 32 },
            redis: RedisConfig { url: SecretString::from(redis_url), namespace: format!("bench-{name}") },
            auth: AuthConfig {
                jwt_secret: SecretString::from("bench-secret-that-is-long-enough-for-hs256".to_owned()),
                access_ttl_secs: 900,
                refresh_ttl_secs: 3600,
                login_max_failures: 5,
                login_failure_window_secs: 900,
                login_max_per_ip: u64::MAX / 2,
                login_ip_window_secs: 60,
                trust_forwarded_for: false,
            },
            bind: "127.0.0.1:0".parse().unwrap(),
            default_country: None,
            mapping_auto_approve: tentabo_workflows::mapping::store::DEFAULT_AUTO_APPROVE,
            metrics_token: None,
            secrets_key: Some(SecretString::from(KEY.to_owned())),
            request_timeout_ms: 30_000,
            sentry_dsn: None,
            environment: "test".to_owned(),
            limits: Default::default(),
            console: Default::default(),
        };
        let app = Application::build(config).await.unwrap();
        let base = format!("http://{}", app.local_addr().unwrap());
        tokio::spawn(app.run_until_stopped(std::future::pending()));

        let auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("tentabo:{PASSWORD}"))
        );
        // A realistic delivery: a deal change, v2 format, about 1.5 KB.
        let body = |event: String| {
            serde_json::json!({
                "meta": { "action": "change", "entity": "deal", "entity_id": "9001", "id": event,
                    "company_id": "7777", "correlation_id": "c0ffee00-0000-4000-8000-000000000000",
                    "is_bulk_edit": false, "timestamp": "2026-12-03T08:00:00.000Z", "type": "general",
                    "user_id": "1", "version": "2.0", "webhook_id": "42", "webhook_owner_id": "1",
                    "change_source": "app", "permitted_user_ids": ["1"], "attempt": 1, "host": "exemple.pipedrive.com" },
                "data": { "id": 9001, "title": "Sauvegarde des 40 agences", "owner_id": 1, "person_id": 12,
                    "org_id": 7, "stage_id": 4, "pipeline_id": 1, "value": 18000.5, "currency": "EUR",
                    "status": "open", "lost_reason": null, "add_time": "2026-11-02T09:00:00Z",
                    "update_time": "2026-12-03T08:00:00Z", "expected_close_date": "2027-03-31",
                    "probability": null, "visible_to": "3", "label_ids": [], "custom_fields": {} },
                "previous": { "stage_id": 3 },
            })
        };
        let hook_url = format!("{base}/api/v1/webhooks/pipedrive");
        let (url1, auth1) = (hook_url.clone(), auth.clone());
        let deliver = move |c: reqwest::Client, n: u64| {
            let (url, auth, b) = (url1.clone(), auth1.clone(), body(format!("evt-{n}")));
            async move {
                c.post(url).header("authorization", auth).json(&b).send().await
                    .is_ok_and(|r| r.status() == 200)
            }
        };
        // Warm-up (connections, plans).
        let _ = drive(SENDERS, deliver.clone()).await;
        let (hooks, w50, w99) = drive(SENDERS, deliver.clone()).await;
        let (url2, auth2) = (hook_url.clone(), auth.clone());
        let redeliver = move |c: reqwest::Client, n: u64| {
            let (url, auth, b) = (url2.clone(), auth2.clone(), body(format!("evt-{}", n % 1000)));
            async move {
                c.post(url).header("authorization", auth).json(&b).send().await
                    .is_ok_and(|r| r.status() == 200)
            }
        };
        let (dups, d50, d99) = drive(SENDERS, redeliver).await;
        let health_url = format!("{base}/healthz");
        let health = move |c: reqwest::Client, _n: u64| {
            let url = health_url.clone();
            async move { c.get(url).send().await.is_ok_and(|r| r.status() == 200) }
        };
        let (hz, h50, h99) = drive(SENDERS, health).await;
        let (events, jobs): (i64, i64) = {
            #[derive(diesel::QueryableByName)]
            struct N {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                e: i64,
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                j: i64,
            }
            let n: N = diesel::sql_query(
                "SELECT (SELECT count(*) FROM webhook_events) AS e, \
                        (SELECT count(*) FROM outbox WHERE queue = 'crm_webhook_event') AS j",
            )
            .get_result(&mut conn)
            .await
            .unwrap();
            (n.e, n.j)
        };

        println!("webhooks: real HTTP on loopback, {RUN_FOR:?} per measurement, {SENDERS} senders in the same process");
        println!("  new deliveries (Basic check, record, queue the job)  {hooks:>8.0} /s   p50 {w50:>6.1} ms   p99 {w99:>6.1} ms");
        println!("  redeliveries (deduplicated, counted)                 {dups:>8.0} /s   p50 {d50:>6.1} ms   p99 {d99:>6.1} ms");
        println!("  GET /healthz (no auth, no database): HTTP floor      {hz:>8.0} /s   p50 {h50:>6.1} ms   p99 {h99:>6.1} ms");
        println!("  new deliveries / floor: {:.0} %", hooks / hz * 100.0);
        println!("  events recorded {events}, jobs queued {jobs} (one per event)");
        assert_eq!(events, jobs, "one job per recorded event");

        drop(conn);
        diesel::sql_query(format!("DROP DATABASE {} WITH (FORCE)", quote_ident(&name))).execute(&mut admin).await.unwrap();
    });
}
