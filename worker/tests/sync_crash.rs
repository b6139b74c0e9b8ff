//! Crash test (issue 6): the real worker binary runs a 60,000-record sync from the Odoo
//! test peer and is killed with SIGKILL at random points, 10 times. Each time the job's
//! lease lapses, the sweep hands it back and a new worker process resumes the run from
//! its last committed page. Once done, the canonical zone equals the source exactly
//! (every record once, with the source's values), the run counted every record once
//! (no page loaded twice), the watermark is the last record, and the job took one
//! attempt per worker life (a long run renews its lease: it is not mistaken for a
//! dead one).

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/odoo.rs"]
mod odoo;
#[path = "../../tests/support/mod.rs"]
mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use diesel_async::RunQueryDsl;
use odoo::{Generated, OdooPeer};
use support::{TestDb, TestRedis};
use tentabo_workflows::pipeline::run::{self, Mode};

const RECORDS: i64 = 60_000;
const KILLS: usize = 10;

#[derive(diesel::QueryableByName, Debug)]
struct Progress {
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = BigInt)]
    fetched: i64,
}

async fn progress(db: &TestDb, id: uuid::Uuid) -> Progress {
    let mut conn = db.conn().await;
    diesel::sql_query("SELECT status, fetched FROM sync_runs WHERE id = $1")
        .bind::<diesel::sql_types::Uuid, _>(id)
        .get_result(&mut conn)
        .await
        .unwrap()
}

fn worker(db: &TestDb, redis: &TestRedis, peer: &OdooPeer) -> Child {
    Command::new(env!("CARGO_BIN_EXE_tentabo-worker"))
        .arg("run")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &db.url)
        .env("DATABASE_POOL_SIZE", "4")
        .env("REDIS_URL", &redis.url)
        .env("TENTABO_REDIS_NAMESPACE", &redis.namespace)
        .env("TENTABO_WORKER_METRICS_BIND", "127.0.0.1:0")
        .env("TENTABO_RELAY_INTERVAL_MS", "10")
        .env("TENTABO_POLL_INTERVAL_MS", "20")
        .env("TENTABO_RUN_TIMEOUT_SECS", "2")
        .env("TENTABO_RETRY_INITIAL_MS", "50")
        .env("TENTABO_RETRY_MAX_SECS", "1")
        .env("TENTABO_ODOO_URL", peer.url())
        .env("TENTABO_ODOO_DATABASE", "prod")
        .env("TENTABO_ODOO_LOGIN", "sync")
        .env("TENTABO_ODOO_PASSWORD", "pw")
        // The password is stored sealed (provider_configs), under the test key ring.
        .env(
            "TENTABO_SECRETS_KEY",
            "test:dGVzdC1vbmx5LXNlY3JldHMta2V5LTMyLWJ5dGVzISE=",
        )
        .env("TENTABO_SYNC_PAGE_SIZE", "1000")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the worker binary starts")
}

/// A small xorshift generator: random kill points, reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_ten_times_resumes_to_exactly_the_source() {
    let db = TestDb::new().await;
    let redis = TestRedis::new();
    let peer = OdooPeer::with_credentials("sync", "pw").await;
    let source = Generated {
        count: RECORDS,
        edited_every: None,
    };
    peer.generate("crm.lead", source);
    let run_id = {
        let mut conn = db.conn().await;
        run::request(&mut conn, "crm.lead", Mode::Full, None, None)
            .await
            .unwrap()
    };
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("kill points seed: {seed}");
    let mut rng = Rng(seed);
    let started = Instant::now();
    let mut killed_at = Vec::new();
    let mut last = 0;
    while killed_at.len() < KILLS {
        let mut child = support::ChildGuard(worker(&db, &redis, &peer));
        // Let this worker get going (at least one more page committed), then kill it at
        // a random point: inside a page's transaction, between pages, mid-request.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let p = progress(&db, run_id).await;
            assert_ne!(p.status, "failed", "the run must not fail");
            if p.fetched > last {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no progress after a restart ({p:?})"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.below(1_500))).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let p = progress(&db, run_id).await;
        assert_ne!(
            p.status,
            "succeeded",
            "killed before the end ({} kills)",
            killed_at.len()
        );
        killed_at.push(p.fetched);
        last = p.fetched;
    }
    println!("killed at {killed_at:?} records");
    let mut child = support::ChildGuard(worker(&db, &redis, &peer));
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let p = progress(&db, run_id).await;
        if p.status == "succeeded" {
            break;
        }
        assert_ne!(p.status, "failed");
        assert!(Instant::now() < deadline, "the run did not finish ({p:?})");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    println!(
        "{RECORDS} records with {KILLS} kills in {:?}",
        started.elapsed()
    );

    #[derive(diesel::QueryableByName, Debug, PartialEq)]
    struct Check {
        #[diesel(sql_type = BigInt)]
        rows: i64,
        #[diesel(sql_type = BigInt)]
        distinct_ids: i64,
        #[diesel(sql_type = BigInt)]
        matching: i64,
        #[diesel(sql_type = BigInt)]
        raw: i64,
    }
    let mut conn = db.conn().await;
    // Every canonical row holds its source record's values (title, revenue, owner).
    let check: Check = diesel::sql_query(
        "SELECT count(*) AS rows, count(DISTINCT external_id) AS distinct_ids, \
                count(*) FILTER (WHERE title = 'Lead ' || external_id \
                    AND value = ((external_id::bigint * 7919) % 5000000 + 100) / 100.0 \
                    AND owner_external_id = (external_id::bigint % 23 + 2)::text \
                    AND currency = 'EUR' AND deleted_at IS NULL) AS matching, \
                (SELECT count(*) FROM raw_records WHERE entity = 'crm.lead') AS raw \
         FROM canonical_leads WHERE provider = 'odoo'",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        check,
        Check {
            rows: RECORDS,
            distinct_ids: RECORDS,
            matching: RECORDS,
            raw: RECORDS
        }
    );

    #[derive(diesel::QueryableByName, Debug)]
    struct Run {
        #[diesel(sql_type = BigInt)]
        fetched: i64,
        #[diesel(sql_type = BigInt)]
        loaded: i64,
        #[diesel(sql_type = Nullable<Text>)]
        cursor_value: Option<String>,
        #[diesel(sql_type = Nullable<Text>)]
        cursor_id: Option<String>,
        #[diesel(sql_type = Integer)]
        attempts: i32,
    }
    let r: Run = diesel::sql_query(
        "SELECT r.fetched, r.loaded, c.cursor_value, c.cursor_id, \
                (SELECT attempts FROM outbox WHERE idempotency_key = 'sync_run:' || r.id) AS attempts \
         FROM sync_runs r JOIN sync_checkpoints c ON c.provider = r.provider AND c.entity = r.entity \
         WHERE r.id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(run_id)
    .get_result(&mut conn)
    .await
    .unwrap();
    // Each page's counts commit with the page: a page loaded twice would count twice.
    assert_eq!((r.fetched, r.loaded), (RECORDS, RECORDS), "{r:?}");
    assert_eq!(
        (r.cursor_value.as_deref(), r.cursor_id.as_deref()),
        (
            Some(source.write_date(RECORDS).as_str()),
            Some(RECORDS.to_string().as_str())
        ),
        "the watermark is the last record"
    );
    assert!(
        r.attempts as usize <= KILLS + 1,
        "one attempt per worker life, none for a long run mistaken for a dead one: {r:?}"
    );
}
