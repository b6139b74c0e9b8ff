//! Directory logins per second and their latency at 16 concurrent logins, against a
//! real OpenLDAP slapd started for the run (tests/ldap/slapd.sh), and the same run's
//! baseline: Debian's `ldap-utils` doing what a login needs for the same user —
//! `ldapsearch` as the service account (bind + search) then `ldapwhoami` as the user
//! (bind) — at the same concurrency.
//!
//!   ./dev bench -p tentabo-api --bench ldap_login
//!
//! Three figures: the directory check alone (`LdapDirectory::authenticate`: service
//! bind, search, user bind on a pooled connection), the whole API login over HTTP
//! (directory check, the user read or updated, a session and its refresh token and
//! audit row written, tokens signed), and the ldap-utils baseline.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/ldap.rs"]
mod ldap;
#[path = "../../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use app::TestApp;
use secrecy::SecretString;
use serde_json::json;
use tentabo_workflows::providers::ldap::{LdapDirectory, LdapSettings};

const RUN_FOR: Duration = Duration::from_secs(6);
const CONCURRENCY: usize = 16;
const USER_DN: &str = "uid=jdupont,ou=people,dc=tentabo,dc=test";

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Runs CONCURRENCY loops of `call()` for RUN_FOR; (calls/s, p50 ms, p99 ms).
async fn drive<F, Fut>(call: F) -> (f64, f64, f64)
where
    F: Fn() -> Fut + Send + Sync + 'static + Clone,
    Fut: std::future::Future<Output = bool> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (stop, call) = (stop.clone(), call.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                assert!(call().await, "a login failed");
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

fn settings(url: &str, pool_size: u32) -> serde_json::Value {
    json!({
        "url": url,
        "bind_dn": ldap::SERVICE_DN,
        "user_base_dn": ldap::PEOPLE,
        "pool_size": pool_size,
        "group_mappings": [
            { "group": "partner-a-sales", "role": "partner", "organisation": "Acme Partner" },
        ],
    })
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // slapd's per-operation log would measure the disk: errors only.
        let slapd = ldap::Slapd::start_logging("none");
        let url = slapd.url();

        // Baseline: ldap-utils, the same three operations, the same user.
        let base_url = url.clone();
        let baseline = drive(move || {
            let url = base_url.clone();
            async move {
                let search = tokio::process::Command::new("ldapsearch")
                    .args(["-x", "-LLL", "-H", &url, "-D", ldap::SERVICE_DN, "-w", ldap::SERVICE_PW,
                           "-b", ldap::PEOPLE, "(uid=jdupont)", "dn"])
                    .output()
                    .await
                    .unwrap();
                let bind = tokio::process::Command::new("ldapwhoami")
                    .args(["-x", "-H", &url, "-D", USER_DN, "-w", "jdupont-pw"])
                    .output()
                    .await
                    .unwrap();
                if !(search.status.success() && bind.status.success()) {
                    eprintln!(
                        "ldap-utils failed: {} {}",
                        String::from_utf8_lossy(&search.stderr),
                        String::from_utf8_lossy(&bind.stderr)
                    );
                }
                search.status.success() && bind.status.success()
            }
        })
        .await;

        // The directory check alone, pooled connections.
        let directory = Arc::new(
            LdapDirectory::new(
                serde_json::from_value::<LdapSettings>(settings(&url, 8)).unwrap(),
                SecretString::from(ldap::SERVICE_PW.to_owned()),
            )
            .unwrap(),
        );
        let password = SecretString::from("jdupont-pw".to_owned());
        let dir = directory.clone();
        let check = drive(move || {
            let (dir, pw) = (dir.clone(), password.clone());
            async move {
                dir.authenticate("jdupont", &pw)
                    .await
                    .map_err(|e| eprintln!("directory check failed: {e}"))
                    .is_ok()
            }
        })
        .await;

        // The whole API login over HTTP.
        let db = support::TestDb::new().await;
        let redis = support::TestRedis::new();
        let mut cfg = app::config(&db.url, &redis.url, &redis.namespace);
        cfg.auth.login_max_per_ip = 1_000_000;
        cfg.database.pool_size = 16;
        let app = TestApp::spawn_with(db, redis, cfg).await;
        app.seed().await;
        let admin = app.token("superadmin@salescommand.com").await;
        let (s, b) = app
            .call(&admin, reqwest::Method::PUT, "/api/v1/providers/auth/ldap",
                Some(json!({ "configuration": settings(&url, 8), "credentials": { "bind_password": ldap::SERVICE_PW } })))
            .await;
        assert_eq!(s, 200, "{b}");
        let (s, b) = app
            .call(&admin, reqwest::Method::POST, "/api/v1/providers/auth/ldap/activate", None)
            .await;
        assert_eq!(s, 200, "{b}");
        let login_url = app.url("/api/v1/auth/login");
        let client = reqwest::Client::new();
        let full = drive(move || {
            let (client, url) = (client.clone(), login_url.clone());
            async move {
                match client
                    .post(url)
                    .json(&json!({ "email": "jdupont", "password": "jdupont-pw" }))
                    .send()
                    .await
                {
                    Ok(r) if r.status() == 200 => true,
                    Ok(r) => {
                        eprintln!("login answered {}: {}", r.status(), r.text().await.unwrap_or_default());
                        false
                    }
                    Err(e) => {
                        eprintln!("login request failed: {e}");
                        false
                    }
                }
            }
        })
        .await;

        println!("LDAP logins at {CONCURRENCY} concurrent, {} s each (same slapd, same user):", RUN_FOR.as_secs());
        println!(
            "  baseline ldapsearch + ldapwhoami (ldap-utils): {:>8.0} logins/s  p50 {:>6.2} ms  p99 {:>6.2} ms",
            baseline.0, baseline.1, baseline.2
        );
        println!(
            "  LdapDirectory::authenticate (pool of 8):       {:>8.0} logins/s  p50 {:>6.2} ms  p99 {:>6.2} ms  = {:.1}x the baseline",
            check.0, check.1, check.2, check.0 / baseline.0
        );
        println!(
            "  POST /api/v1/auth/login (directory + session):  {:>8.0} logins/s  p50 {:>6.2} ms  p99 {:>6.2} ms  = {:.1}x the baseline",
            full.0, full.1, full.2, full.0 / baseline.0
        );
        drop(app);
    });
}
