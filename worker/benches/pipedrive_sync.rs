//! A full Pipedrive sync of 100,000 deals (`TENTABO_BENCH_RECORDS`) from the stateful
//! Pipedrive peer over HTTP (v2 `/deals`, sorted by update time, pages of 500 — the
//! largest Pipedrive serves), through every stage into the raw and canonical zones,
//! against the Odoo source's full run of as many `crm.lead` records in the same run on
//! the same machine (the target binds on that ratio).
//!
//!   ./dev bench -p tentabo-worker --bench pipedrive_sync

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/odoo.rs"]
mod odoo;
#[path = "../../tests/support/pipedrive.rs"]
mod pipedrive;
#[path = "../../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use odoo::{Generated, OdooPeer};
use pipedrive::PipedrivePeer;
use secrecy::SecretString;
use support::TestDb;
use tentabo_workflows::authz::Authorizer;
use tentabo_workflows::outbound::{CallLog, Outbound};
use tentabo_workflows::pipeline::load::ConflictPolicy;
use tentabo_workflows::pipeline::pipedrive::{self as pd, Context, Source};
use tentabo_workflows::pipeline::run::{self, Mode};
use tentabo_workflows::providers::odoo::{OdooClient, OdooConfig};
use tentabo_workflows::providers::pipedrive::{Auth, Pipedrive};
use tentabo_workflows::providers::registry::{self, ProviderKind};
use tentabo_workflows::retry::RetryPolicy;

const TOKEN: &str = "bench-token";

fn main() {
    let records: usize = std::env::var("TENTABO_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        println!(
            "pipedrive sync bench: {records} records per source, 2 cores, peer in this process"
        );
        // Pipedrive: deals as a real installation holds them.
        let peer = PipedrivePeer::start(TOKEN).await;
        *peer.state.burst.lock().unwrap() = u32::MAX / 2;
        peer.state.seed_deals(records);
        let db = TestDb::new().await;
        let pool = db.pool(4);
        let spec = registry::find(ProviderKind::Crm, registry::PIPEDRIVE).unwrap();
        let settings = registry::settings(
            &spec
                .check(
                    &serde_json::json!({ "base_url": peer.url(), "pipeline": "Pipeline",
                    "rate_limit_per_second": 1000, "timeout_seconds": 60 }),
                )
                .unwrap(),
        )
        .unwrap();
        let client = Pipedrive::new(
            Outbound::new(None, CallLog::disabled()).unwrap(),
            settings,
            Auth::Token(SecretString::from(TOKEN.to_owned())),
            RetryPolicy::default(),
        );
        let authz = Authorizer::load().await.unwrap();
        let id = {
            let mut conn = db.conn().await;
            pd::request(&mut conn, Source::Deals, Mode::Full, None, None)
                .await
                .unwrap()
        };
        let ctx = Context {
            db: &pool,
            client: &client,
            authz: &authz,
            default_country: Some("FR"),
        };
        let t = Instant::now();
        let totals = pd::execute(&ctx, id, ConflictPolicy::SourceWins)
            .await
            .unwrap();
        let pipedrive = t.elapsed();
        assert_eq!(
            totals.fetched as usize,
            records + 1,
            "every deal read (and the seeded one)"
        );
        print("Pipedrive deals, full run", records, pipedrive, &totals);
        // A second, incremental run: nothing changed, the boundary second read again.
        let id = {
            let mut conn = db.conn().await;
            pd::request(&mut conn, Source::Deals, Mode::Incremental, None, None)
                .await
                .unwrap()
        };
        let t = Instant::now();
        let inc = pd::execute(&ctx, id, ConflictPolicy::SourceWins)
            .await
            .unwrap();
        println!(
            "  incremental run right after: {:.2} s, {} fetched, {} loaded",
            t.elapsed().as_secs_f64(),
            inc.fetched,
            inc.loaded
        );
        drop(pool);
        drop(db);
        drop(peer);

        // The same-run baseline: Odoo-shaped crm.lead records, same count.
        let odoo = OdooPeer::with_credentials("sync", "pw").await;
        odoo.generate(
            "crm.lead",
            Generated {
                count: i64::try_from(records).unwrap(),
                edited_every: None,
            },
        );
        let db = TestDb::new().await;
        let pool = db.pool(2);
        let id = {
            let mut conn = db.conn().await;
            run::create(&mut conn, "crm.lead", Mode::Full, None)
                .await
                .unwrap()
        };
        let mut c = OdooClient::new(
            OdooConfig {
                url: odoo.url(),
                database: "prod".into(),
                login: "sync".into(),
                password: SecretString::from("pw".to_owned()),
                timeout: Duration::from_secs(30),
                retry: RetryPolicy::default(),
                max_attempts: 3,
                rate_limit_per_second: None,
            },
            Outbound::standalone(),
        );
        let t = Instant::now();
        let totals_o = run::execute(&pool, &mut c, id, run::Options::default())
            .await
            .unwrap();
        let odoo_time = t.elapsed();
        print(
            "Odoo crm.lead, full run (baseline)",
            records,
            odoo_time,
            &totals_o,
        );
        let (p, o) = (
            records as f64 / pipedrive.as_secs_f64(),
            records as f64 / odoo_time.as_secs_f64(),
        );
        println!(
            "  Pipedrive / Odoo: {p:.0} / {o:.0} records/s = {:.0} %",
            p / o * 100.0
        );
    });
}

fn print(what: &str, records: usize, took: Duration, t: &run::Totals) {
    println!(
        "  {what}: {records} records in {:.2} s = {:.0} records/s ({} pages; loaded {}, quarantined {}, warned {})",
        took.as_secs_f64(),
        records as f64 / took.as_secs_f64(),
        t.pages,
        t.loaded,
        t.quarantined,
        t.warned
    );
    let ms = |us: u64| us as f64 / 1000.0;
    println!(
        "    connector {:.0} ms, mapper {:.0} ms, validator {:.0} ms, normalizer {:.0} ms, loader {:.0} ms",
        ms(t.timings.connector_us),
        ms(t.timings.mapper_us),
        ms(t.timings.validator_us),
        ms(t.timings.normalizer_us),
        ms(t.timings.loader_us)
    );
}
