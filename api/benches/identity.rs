//! Logins per second and authorised GETs per second through the real API over HTTP.
//!
//!   ./dev bench -p tentabo-api --bench identity
//!
//! Builds the application exactly as `tentabo-api serve` does, on a fresh migrated and
//! seeded database (dropped at the end), and drives it from the same process.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use secrecy::SecretString;
use tentabo_api::Application;
use tentabo_api::config::{ApiConfig, AuthConfig, DatabaseConfig, RedisConfig};
use tentabo_schema::db::{quote_ident, with_database};

const RUN_FOR: Duration = Duration::from_secs(5);

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Runs `clients` loops of `call` for RUN_FOR; returns (calls/s, p50 ms, p99 ms).
async fn drive<F, Fut>(clients: usize, call: F) -> (f64, f64, f64)
where
    F: Fn(reqwest::Client) -> Fut + Send + Sync + 'static + Clone,
    Fut: std::future::Future<Output = bool> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (stop, call) = (stop.clone(), call.clone());
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(4)
            .build()
            .unwrap();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while !AtomicBool::load(&stop, Ordering::Relaxed) {
                let t = Instant::now();
                assert!(call(client.clone()).await, "a request failed");
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
        tentabo_workflows::identity::seed::seed_demo(&mut conn).await.unwrap();

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
            secrets_key: None,
            request_timeout_ms: 30_000,
            sentry_dsn: None,
            environment: "test".to_owned(),
            limits: Default::default(),
            console: Default::default(),
        };
        let app = Application::build(config).await.unwrap();
        let base = format!("http://{}", app.local_addr().unwrap());
        tokio::spawn(app.run_until_stopped(std::future::pending()));

        let login_url = format!("{base}/api/v1/auth/login");
        let login = move |c: reqwest::Client| {
            let url = login_url.clone();
            async move {
                c.post(url)
                    .json(&serde_json::json!({ "email": "am1@salescommand.com", "password": "demo123" }))
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200)
            }
        };
        let (logins, l50, l99) = drive(4, login.clone()).await;

        let token: serde_json::Value = reqwest::Client::new()
            .post(format!("{base}/api/v1/auth/login"))
            .json(&serde_json::json!({ "email": "distributor@salescommand.com", "password": "demo123" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = token["access_token"].as_str().unwrap().to_owned();
        let get_url = format!("{base}/api/v1/partners");
        let get = move |c: reqwest::Client| {
            let (url, token) = (get_url.clone(), token.clone());
            async move { c.get(url).bearer_auth(token).send().await.is_ok_and(|r| r.status() == 200) }
        };
        let (gets, g50, g99) = drive(32, get).await;
        let health_url = format!("{base}/healthz");
        let health = move |c: reqwest::Client| {
            let url = health_url.clone();
            async move { c.get(url).send().await.is_ok_and(|r| r.status() == 200) }
        };
        let (hz, h50, h99) = drive(32, health).await;

        println!("identity: real HTTP on loopback, {RUN_FOR:?} per measurement, client in the same process");
        println!("  logins (argon2id m=19MiB t=2 p=1), 4 clients   {logins:>9.0} /s   p50 {l50:>6.1} ms   p99 {l99:>6.1} ms");
        println!("  authorised GET /api/v1/partners, 32 clients   {gets:>9.0} /s   p50 {g50:>6.1} ms   p99 {g99:>6.1} ms");
        println!("    (each GET: JWT check, session + user read, casbin decision, scoped list query)");
        println!("  GET /healthz (no auth, no database), 32 clients {hz:>9.0} /s   p50 {h50:>6.1} ms   p99 {h99:>6.1} ms  (HTTP floor)");

        drop(conn);
        diesel::sql_query(format!("DROP DATABASE {} WITH (FORCE)", quote_ident(&name))).execute(&mut admin).await.unwrap();
    });
}
