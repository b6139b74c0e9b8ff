//! Mapping replay throughput (issue 19): an object's canonical rows rebuilt from the raw
//! zone with a newly approved mapping version, against the full sync run that filled the
//! raw zone, same machine, same database, same run.
//!
//!   ./dev bench -p tentabo-worker --bench replay
//!   TENTABO_BENCH_RECORDS=20000 ./dev bench -p tentabo-worker --bench replay   (quicker)
//!
//! 1. a full run of `TENTABO_BENCH_RECORDS` (default 100,000) Odoo-shaped `crm.lead`
//!    records from the Odoo test peer's generator (connector → … → loader), timed;
//! 2. a version proposed by the rules engine from Odoo 17's `crm.lead` fields, approved;
//! 3. its replay (raw zone → mapper → validator → normalizer → loader; no call to the
//!    source), timed: records/s and the ratio to the full run's.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/odoo.rs"]
mod odoo;
#[path = "../../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use odoo::{Generated, OdooPeer, odoo17};
use secrecy::SecretString;
use support::TestDb;
use tentabo_workflows::audit::AuditContext;
use tentabo_workflows::mapping::engine::{self, Learned};
use tentabo_workflows::mapping::{rules, sources, store};
use tentabo_workflows::pipeline::Entity;
use tentabo_workflows::pipeline::run::{self, Mode, ReplayOutcome, Totals};
use tentabo_workflows::providers::odoo::{OdooClient, OdooConfig};
use tentabo_workflows::retry::RetryPolicy;

fn stages(t: &Totals) -> String {
    let s = t.timings;
    let ms = |us: u64| us as f64 / 1000.0;
    format!(
        "read {:.0} ms, mapper {:.0} ms, validator {:.0} ms, normalizer {:.0} ms, loader {:.0} ms",
        ms(s.connector_us),
        ms(s.mapper_us),
        ms(s.validator_us),
        ms(s.normalizer_us),
        ms(s.loader_us)
    )
}

fn main() {
    let records: i64 = std::env::var("TENTABO_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let peer = OdooPeer::with_credentials("sync", "pw").await;
        peer.generate(
            "crm.lead",
            Generated {
                count: records,
                edited_every: None,
            },
        );
        let db = TestDb::new().await;
        println!("replay bench: {records} Odoo-shaped crm.lead records, pages of 1,000, 2 cores");

        let id = run::create(&mut db.conn().await, "crm.lead", Mode::Full, None)
            .await
            .unwrap();
        let mut client = OdooClient::new(
            OdooConfig {
                url: peer.url(),
                database: "prod".into(),
                login: "sync".into(),
                password: SecretString::from("pw".to_owned()),
                timeout: Duration::from_secs(60),
                retry: RetryPolicy::default(),
                max_attempts: 2,
                rate_limit_per_second: None,
            },
            tentabo_workflows::outbound::Outbound::standalone(),
        );
        let t = Instant::now();
        let full = run::execute(&db.pool(2), &mut client, id, run::Options::default())
            .await
            .unwrap();
        let full_time = t.elapsed();
        let full_rate = full.fetched as f64 / full_time.as_secs_f64();
        println!(
            "full sync run       {:>8} records  {:>6.1} s  {:>8.0} records/s  ({})",
            full.fetched,
            full_time.as_secs_f64(),
            full_rate,
            stages(&full)
        );

        let mut conn = db.conn().await;
        let mut fields: Vec<_> = sources::from_odoo(&serde_json::Value::Object(
            odoo17::fields("crm.lead").unwrap(),
        ))
        .into_iter()
        .filter(|f| f.mappable)
        .map(|f| f.field)
        .collect();
        sources::add_samples(&mut conn, "odoo", "crm.lead", &mut fields)
            .await
            .unwrap();
        let exclude = rules::derived("odoo", "crm.lead", Entity::Lead);
        let proposals =
            engine::propose_excluding("lead", &fields, &Learned::default(), exclude).unwrap();
        let ctx = AuditContext::default();
        let version = store::create_proposed(
            &mut conn,
            &ctx,
            "odoo",
            "crm.lead",
            Entity::Lead,
            &fields,
            proposals,
            0.9,
        )
        .await
        .unwrap();
        store::approve(&mut conn, &ctx, version.version.id)
            .await
            .unwrap();
        drop(conn);

        let t = Instant::now();
        let outcome = run::replay_version(&db.pool(3), version.version.id, run::Options::default())
            .await
            .unwrap();
        let replay_time = t.elapsed();
        let ReplayOutcome::Done { totals, .. } = outcome else {
            panic!("{outcome:?}")
        };
        let replay_rate = totals.fetched as f64 / replay_time.as_secs_f64();
        println!(
            "replay from raw     {:>8} records  {:>6.1} s  {:>8.0} records/s  ({})",
            totals.fetched,
            replay_time.as_secs_f64(),
            replay_rate,
            stages(&totals)
        );
        assert_eq!(totals.fetched, full.fetched);
        assert_eq!(
            totals.loaded + totals.quarantined,
            full.fetched,
            "{totals:?}"
        );
        println!(
            "replay / full run   {:.2}× (the full run's records/s, same machine and run)",
            replay_rate / full_rate
        );
    });
}
