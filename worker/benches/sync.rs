//! Sync throughput at volume (issue 6): Odoo-shaped `crm.lead` records (~740 bytes each)
//! served over HTTP by the Odoo test peer's generator, through every stage (connector →
//! mapper → validator → normalizer → loader → logger) into the raw and canonical zones.
//!
//!   ./dev bench -p tentabo-worker --bench sync
//!   TENTABO_BENCH_RECORDS=200000 ./dev bench -p tentabo-worker --bench sync   (quicker)
//!   TENTABO_BENCH_ONLY_RSS=1 ./dev bench -p tentabo-worker --bench sync       (phase 3c only)
//!
//! Each phase gets a fresh migrated database (a clone of the test template), and every
//! timed phase starts on a settled server (a `CHECKPOINT` first: see [`settle`]):
//! 1. a full run of 100,000 records, then of 1,000,000: records/s end to end, time per
//!    stage, peak RSS of this process during the run (reset before each run through
//!    `/proc/self/clear_refs`), which must stay flat from 100k to 1M, and the WAL the
//!    server wrote meanwhile (records, full-page images, bytes);
//! 2. an incremental run after 1% of the records changed in the source, as a fraction
//!    of the full run's time; then (b) a second full run with nothing changed in the
//!    source: its time against the cold run's, and the canonical rows it wrote (target:
//!    none, and at most half the cold run's time); (c) memory across runs: the worker
//!    binary's resident set (`VmRSS`) before each of 10 consecutive full runs of
//!    `TENTABO_BENCH_RSS_RECORDS` (default 200,000; every other run finds half of them
//!    edited), asked for through the outbox like any run, with
//!    `TENTABO_WORKER_RELEASE_MEMORY=false` and then `true` (the default): target flat
//!    within 10 %;
//! 3. the ceiling: the same rows (raw bodies and the normalized canonical rows, prepared
//!    beforehand) loaded by plain `COPY` (psql `\copy`) into keyed tables shaped like
//!    `raw_records` and `canonical_leads`, same server, same run;
//! 4. the loader alone, four ways, on the same prepared pages: `unnest` of one array per
//!    column (what the pipeline uses: a raw upsert that tells which keys are new, a plain
//!    insert of their canonical rows), multi-row `VALUES` upserts with a bind per value,
//!    COPY into a staging table then `INSERT … SELECT … ON CONFLICT`, and COPY of the
//!    page's new keys straight into both tables (a second connection: diesel-async has
//!    no COPY).

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/odoo.rs"]
mod odoo;
#[path = "../../tests/support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{Duration, Instant};

use diesel_async::AsyncConnection;
use futures::SinkExt;
use odoo::{Generated, OdooPeer};
use secrecy::SecretString;
use serde_json::value::RawValue;
use support::TestDb;
use tentabo_workflows::pipeline::load::{self, columns};
use tentabo_workflows::pipeline::odoo::OdooMapper;
use tentabo_workflows::pipeline::run::{self, Mode, Totals};
use tentabo_workflows::pipeline::{
    Entity, Field, Mapper, Normalized, RawRecord, normalize, validate,
};
use tentabo_workflows::providers::odoo::{OdooClient, OdooConfig};
use tentabo_workflows::retry::RetryPolicy;

/// Records per page (`TENTABO_BENCH_PAGE`, default 1,000).
fn page_size() -> usize {
    std::env::var("TENTABO_BENCH_PAGE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000)
}

/// Peak resident set size of this process since the last reset (kB).
fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn reset_peak_rss() {
    // "5" resets the peak RSS (Linux ≥ 4.0).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn client(peer: &OdooPeer) -> OdooClient {
    OdooClient::new(
        OdooConfig {
            url: peer.url(),
            database: "prod".into(),
            login: "sync".into(),
            password: SecretString::from("pw".to_owned()),
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            max_attempts: 3,
            rate_limit_per_second: None,
        },
        tentabo_workflows::outbound::Outbound::standalone(),
    )
}

#[derive(diesel::QueryableByName)]
struct Now {
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    t: chrono::DateTime<chrono::Utc>,
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

struct RunFigures {
    elapsed: Duration,
    totals: Totals,
    peak_rss_kb: u64,
    wal: Option<Wal>,
}

/// The server's WAL counters (`pg_stat_wal`, Postgres ≥ 14; server-wide, so a run's
/// delta includes whatever else the server did meanwhile).
#[derive(Debug, Clone, Copy, diesel::QueryableByName)]
struct Wal {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    records: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    fpi: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    bytes: i64,
}

impl Wal {
    async fn read(db: &TestDb) -> Option<Wal> {
        let mut conn = db.conn().await;
        diesel_async::RunQueryDsl::get_result(
            diesel::sql_query(
                "SELECT wal_records::bigint AS records, wal_fpi::bigint AS fpi, \
                 wal_bytes::bigint AS bytes FROM pg_stat_wal",
            ),
            &mut conn,
        )
        .await
        .ok()
    }

    fn since(self, before: Wal) -> Wal {
        Wal {
            records: self.records - before.records,
            fpi: self.fpi - before.fpi,
            bytes: self.bytes - before.bytes,
        }
    }
}

async fn sync(db: &TestDb, peer: &OdooPeer, mode: Mode) -> RunFigures {
    let pool = db.pool(2);
    let id = {
        let mut conn = db.conn().await;
        run::create(&mut conn, "crm.lead", mode, None)
            .await
            .unwrap()
    };
    let mut c = client(peer);
    settle(db).await;
    let wal_before = Wal::read(db).await;
    reset_peak_rss();
    let t = Instant::now();
    let totals = run::execute(
        &pool,
        &mut c,
        id,
        run::Options {
            page_size: page_size(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let elapsed = t.elapsed();
    let peak_rss_kb = peak_rss_kb();
    // Backends report their WAL counters when they end (or every second or so while
    // busy): close the run's connections and give them a moment to exit.
    drop(pool);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let wal = match (wal_before, Wal::read(db).await) {
        (Some(before), Some(after)) => Some(after.since(before)),
        _ => None,
    };
    RunFigures {
        elapsed,
        totals,
        peak_rss_kb,
        wal,
    }
}

/// Starts a timed phase on a settled server: a `CHECKPOINT` writes out what the phases
/// before left dirty (the full run's ~1.5 GB of WAL), so no phase pays for another's
/// writes — as a nightly incremental run does not pay for a load of the day before.
/// Every phase gets it, the COPY ceiling included. Needs a superuser (or, from
/// Postgres 15, `pg_checkpointer`); without it the bench says so and goes on.
async fn settle(db: &TestDb) {
    let mut conn = db.conn().await;
    if let Err(e) =
        diesel_async::RunQueryDsl::execute(diesel::sql_query("CHECKPOINT"), &mut conn).await
    {
        println!("    (no CHECKPOINT before this phase: {e})");
    }
}

/// Resident set of process `pid` (kB).
fn process_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Starts the worker binary (`tentabo-worker run`) on a fresh database and Redis
/// namespace, asks it for 10 full runs of `records` leads one after the other (every
/// other run finds half the records edited), and returns its resident set before each
/// run and after the last.
async fn worker_rss_series(peer: &OdooPeer, records: i64, release: bool) -> Vec<u64> {
    let db = TestDb::new().await;
    let redis = support::TestRedis::new();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tentabo-worker"))
        .arg("run")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &db.url)
        .env("REDIS_URL", &redis.url)
        .env("TENTABO_REDIS_NAMESPACE", &redis.namespace)
        .env("TENTABO_WORKER_METRICS_BIND", "127.0.0.1:0")
        .env("TENTABO_ODOO_URL", peer.url())
        .env("TENTABO_ODOO_DATABASE", "prod")
        .env("TENTABO_ODOO_LOGIN", "sync")
        .env("TENTABO_ODOO_PASSWORD", "pw")
        .env("TENTABO_WORKER_RELEASE_MEMORY", release.to_string())
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the worker binary starts");
    // Let it start its queues.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut rss = Vec::new();
    for i in 0..10 {
        peer.generate(
            "crm.lead",
            Generated {
                count: records,
                edited_every: (i % 2 == 1).then_some(2),
            },
        );
        rss.push(process_rss_kb(child.id()));
        let id = {
            let mut conn = db.conn().await;
            run::request(&mut conn, "crm.lead", Mode::Full, None, None)
                .await
                .unwrap()
        };
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let status = {
                let mut conn = db.conn().await;
                run::get(&mut conn, id).await.unwrap().status
            };
            if status == "succeeded" {
                break;
            }
            assert!(
                status != "failed" && Instant::now() < deadline,
                "run {i}: {status}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Between two runs, as between two nightly runs: the job has settled and
        // released, the serving refresh it asked for has run, and the runtime's idle
        // blocking threads have exited (tokio retires them after 10 s).
        // `TENTABO_BENCH_RSS_SETTLE_SECS` changes the wait.
        tokio::time::sleep(Duration::from_secs(
            std::env::var("TENTABO_BENCH_RSS_SETTLE_SECS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(12),
        ))
        .await;
    }
    rss.push(process_rss_kb(child.id()));
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "worker RSS before each of 10 full runs of {records} records and after the last, TENTABO_WORKER_RELEASE_MEMORY={release} (MB): {}",
        rss.iter()
            .map(|k| format!("{:.1}", *k as f64 / 1024.0))
            .collect::<Vec<_>>()
            .join(", ")
    );
    rss
}

/// The serving refresh a run that changed leads asks for (a job of its own).
async fn refresh(db: &TestDb) -> Duration {
    let mut conn = db.conn().await;
    let t = Instant::now();
    tentabo_workflows::lake::refresh_serving(&mut conn, "odoo")
        .await
        .unwrap();
    t.elapsed()
}

fn print_run(label: &str, f: &RunFigures) {
    let t = f.totals.timings;
    let secs = |us: u64| us as f64 / 1e6;
    println!(
        "{label}: {} records in {:.1} s = {:.0} records/s | loaded {} unchanged {} | peak RSS {:.1} MB",
        f.totals.fetched,
        f.elapsed.as_secs_f64(),
        f.totals.fetched as f64 / f.elapsed.as_secs_f64(),
        f.totals.loaded,
        f.totals.unchanged,
        f.peak_rss_kb as f64 / 1024.0
    );
    println!(
        "    stages: connector {:.1} s, mapper {:.1} s, validator {:.1} s, normalizer {:.1} s, loader {:.1} s",
        secs(t.connector_us),
        secs(t.mapper_us),
        secs(t.validator_us),
        secs(t.normalizer_us),
        secs(t.loader_us)
    );
    if let Some(w) = f.wal {
        println!(
            "    WAL: {} records, {} full-page images, {:.1} MB",
            w.records,
            w.fpi,
            w.bytes as f64 / 1e6
        );
    }
}

/// Record `id` through the pure stages, as the loader receives it.
fn prepared(g: &Generated, id: i64) -> (RawRecord, Normalized) {
    let body: Box<RawValue> = serde_json::from_str(&g.record(id)).unwrap();
    let raw = RawRecord::new("odoo", "crm.lead", id.to_string(), body);
    let policy = tentabo_workflows::pipeline::policy::Policy::default();
    let n = OdooMapper::new("crm.lead")
        .map(&raw)
        .and_then(|m| validate(m, &|_, _| true, &policy))
        .and_then(|v| normalize(v, &policy))
        .unwrap();
    (raw, n)
}

/// COPY's text format for one value.
fn copy_text(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

fn hex(hash: &[u8; 32]) -> String {
    hash.iter().fold(String::from("\\\\x"), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn field_text(out: &mut String, f: Option<&Field>) {
    match f {
        None | Some(Field::Null) => out.push_str("\\N"),
        Some(Field::Text(t) | Field::Ref(t)) => copy_text(out, t),
        Some(Field::Bool(b)) => out.push_str(if *b { "t" } else { "f" }),
        Some(Field::Int(i)) => out.push_str(&i.to_string()),
        Some(Field::Decimal(d)) => out.push_str(&d.to_string()),
        Some(Field::Time(t)) => out.push_str(&t.to_rfc3339()),
        Some(Field::Date(d)) => out.push_str(&d.to_string()),
    }
}

const RAW_COLUMNS: &str = "provider, entity, external_id, content_hash, body";

fn canonical_columns() -> String {
    let mut cols = vec![
        "provider".to_owned(),
        "external_id".to_owned(),
        "content_hash".to_owned(),
    ];
    cols.extend(columns(Entity::Lead).iter().map(|c| c.to_string()));
    cols.join(", ")
}

/// One raw row and one canonical row in COPY text format.
fn copy_rows(raw_out: &mut String, canon_out: &mut String, raw: &RawRecord, n: &Normalized) {
    let h = hex(&raw.hash);
    let _ = write!(raw_out, "odoo\tcrm.lead\t{}\t{h}\t", raw.external_id);
    copy_text(raw_out, raw.body.get());
    raw_out.push('\n');
    let _ = write!(canon_out, "odoo\t{}\t{h}", n.external_id);
    for c in columns(Entity::Lead) {
        canon_out.push('\t');
        field_text(canon_out, n.fields.get(c));
    }
    canon_out.push('\n');
}

fn psql(url: &str, command: &str) {
    let out = std::process::Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-q", "-c", command])
        .output()
        .expect("psql (the Postgres client) must be installed");
    assert!(
        out.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Plain COPY of the same rows into keyed tables shaped like the raw and canonical zones.
async fn copy_ceiling(db: &TestDb, g: &Generated) -> Duration {
    let url = db.url.as_str();
    psql(
        url,
        "CREATE TABLE copy_raw (LIKE raw_records INCLUDING ALL); \
         CREATE TABLE copy_canonical (LIKE canonical_leads INCLUDING ALL);",
    );
    let dir = std::env::temp_dir();
    let raw_path = dir.join(format!("tentabo-bench-raw-{}.tsv", std::process::id()));
    let canon_path = dir.join(format!(
        "tentabo-bench-canonical-{}.tsv",
        std::process::id()
    ));
    {
        let mut raw_file = std::io::BufWriter::new(std::fs::File::create(&raw_path).unwrap());
        let mut canon_file = std::io::BufWriter::new(std::fs::File::create(&canon_path).unwrap());
        let (mut r, mut c) = (String::new(), String::new());
        for id in 1..=g.count {
            let (raw, n) = prepared(g, id);
            copy_rows(&mut r, &mut c, &raw, &n);
            if r.len() > 1 << 20 {
                raw_file.write_all(r.as_bytes()).unwrap();
                canon_file.write_all(c.as_bytes()).unwrap();
                r.clear();
                c.clear();
            }
        }
        raw_file.write_all(r.as_bytes()).unwrap();
        canon_file.write_all(c.as_bytes()).unwrap();
    }
    settle(db).await;
    let t = Instant::now();
    psql(
        url,
        &format!(
            "\\copy copy_raw ({RAW_COLUMNS}) FROM '{}'",
            raw_path.display()
        ),
    );
    psql(
        url,
        &format!(
            "\\copy copy_canonical ({}) FROM '{}'",
            canonical_columns(),
            canon_path.display()
        ),
    );
    let elapsed = t.elapsed();
    let _ = std::fs::remove_file(raw_path);
    let _ = std::fs::remove_file(canon_path);
    elapsed
}

/// The pipeline's loader: per page, one raw `INSERT … SELECT … FROM unnest(arrays) ON
/// CONFLICT`, then the canonical rows (a plain insert for the keys the raw write saw for
/// the first time), one transaction per page.
async fn load_multi_row(db: &TestDb, pages: &[Vec<(RawRecord, Normalized)>]) -> Duration {
    let mut conn = db.conn().await;
    let run_id = run::create(&mut conn, "crm.lead", Mode::Full, None)
        .await
        .unwrap();
    let t = Instant::now();
    for page in pages {
        conn.transaction::<_, tentabo_workflows::WorkflowError, _>(async |conn| {
            let raws: Vec<RawRecord> = page.iter().map(|(r, _)| r.clone()).collect();
            let written = load::upsert_raw(conn, run_id, &raws).await?;
            let rows = load::Rows::new(Entity::Lead, page.iter().map(|(_, n)| n.clone()).collect());
            let (fresh, known) = written.split(rows);
            load::write_canonical(conn, "odoo", fresh, load::Write::Insert).await?;
            load::write_canonical(conn, "odoo", known, load::Write::Upsert).await?;
            Ok(())
        })
        .await
        .unwrap();
    }
    t.elapsed()
}

/// Alternative 1: one multi-row `INSERT … VALUES (…), (…)` per table and page, a bind
/// per value (the loader's first form).
async fn load_values(db: &TestDb, pages: &[Vec<(RawRecord, Normalized)>]) -> Option<Duration> {
    use tentabo_workflows::sql::{self, Bind};
    let cols = columns(Entity::Lead);
    let width = cols.len() + 3;
    // Postgres takes at most 65,535 parameters per statement.
    if pages.first().is_some_and(|p| p.len() * width > 65_535) {
        return None;
    }
    let mut conn = db.conn().await;
    let run_id = run::create(&mut conn, "crm.lead", Mode::Full, None)
        .await
        .unwrap();
    let updates: String = cols
        .iter()
        .map(|c| format!("{c} = EXCLUDED.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let t = Instant::now();
    for page in pages {
        let mut raw_sql = String::from(
            "INSERT INTO raw_records (provider, entity, external_id, sync_run_id, content_hash, body) VALUES ",
        );
        let mut canon_sql = format!(
            "INSERT INTO canonical_leads ({}) VALUES ",
            canonical_columns()
        );
        let (mut raw_binds, mut canon_binds) = (Vec::new(), Vec::new());
        for (i, (raw, n)) in page.iter().enumerate() {
            let sep = if i > 0 { ", " } else { "" };
            let b = i * 6;
            let _ = write!(
                raw_sql,
                "{sep}(${}, ${}, ${}, ${}, ${}, ${}::text::json)",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6
            );
            raw_binds.extend([
                Bind::Text("odoo".into()),
                Bind::Text("crm.lead".into()),
                Bind::Text(raw.external_id.clone()),
                Bind::Uuid(run_id),
                Bind::Bytes(raw.hash.to_vec()),
                Bind::Text(raw.body.get().to_owned()),
            ]);
            let placeholders: Vec<String> =
                (1..=width).map(|k| format!("${}", i * width + k)).collect();
            let _ = write!(canon_sql, "{sep}({})", placeholders.join(", "));
            canon_binds.extend([
                Bind::Text("odoo".into()),
                Bind::Text(n.external_id.clone()),
                Bind::Bytes(n.hash.to_vec()),
            ]);
            for c in cols {
                canon_binds.push(value_bind(c, n.fields.get(c)));
            }
        }
        raw_sql.push_str(
            " ON CONFLICT (provider, entity, external_id) DO UPDATE SET fetched_at = now(), \
             content_hash = EXCLUDED.content_hash, body = EXCLUDED.body \
             WHERE raw_records.content_hash <> EXCLUDED.content_hash RETURNING external_id",
        );
        let _ = write!(
            canon_sql,
            " ON CONFLICT (provider, external_id) DO UPDATE SET {updates}, \
             content_hash = EXCLUDED.content_hash, last_synced_at = now(), deleted_at = NULL"
        );
        conn.transaction::<_, tentabo_workflows::WorkflowError, _>(async |conn| {
            let mut q = sql::query(raw_sql);
            for b in raw_binds {
                q = q.bind(b);
            }
            diesel_async::RunQueryDsl::execute(q, conn).await?;
            let mut q = sql::query(canon_sql);
            for b in canon_binds {
                q = q.bind(b);
            }
            diesel_async::RunQueryDsl::execute(q, conn).await?;
            Ok(())
        })
        .await
        .unwrap();
    }
    Some(t.elapsed())
}

fn value_bind(field: &str, v: Option<&Field>) -> tentabo_workflows::sql::Bind {
    use tentabo_workflows::sql::Bind;
    match (field, v) {
        ("value" | "probability", Some(Field::Decimal(d))) => Bind::OptDecimal(Some(*d)),
        ("value" | "probability", _) => Bind::OptDecimal(None),
        ("expected_close_date", Some(Field::Date(d))) => Bind::OptDate(Some(*d)),
        ("expected_close_date", _) => Bind::OptDate(None),
        ("created_at" | "updated_at" | "closed_at", Some(Field::Time(t))) => {
            Bind::OptTime(Some(*t))
        }
        ("created_at" | "updated_at" | "closed_at", _) => Bind::OptTime(None),
        (_, Some(Field::Text(t) | Field::Ref(t))) => Bind::OptText(Some(t.clone())),
        _ => Bind::OptText(None),
    }
}

/// Alternative 3: per page, find which keys exist,
/// COPY the new records straight into the raw and canonical tables (Postgres batches
/// COPY's heap inserts; `INSERT … ON CONFLICT` goes tuple by tuple) and upsert the
/// others. On a first load every key is new.
async fn load_copy_new(db: &TestDb, pages: &[Vec<(RawRecord, Normalized)>]) -> Duration {
    let (mut client, connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let cols = canonical_columns();
    let t = Instant::now();
    for page in pages {
        let ids: Vec<String> = page.iter().map(|(r, _)| r.external_id.clone()).collect();
        let tx = client.transaction().await.unwrap();
        let existing: std::collections::HashSet<String> = tx
            .query(
                "SELECT external_id FROM raw_records WHERE provider = 'odoo' AND entity = 'crm.lead' \
                 AND external_id = ANY($1)",
                &[&ids],
            )
            .await
            .unwrap()
            .into_iter()
            .map(|row| row.get(0))
            .collect();
        assert!(existing.is_empty(), "a first load: every key is new");
        let (mut r, mut c) = (String::new(), String::new());
        for (raw, n) in page {
            copy_rows(&mut r, &mut c, raw, n);
        }
        for (target, data) in [
            (format!("COPY raw_records ({RAW_COLUMNS}) FROM STDIN"), r),
            (format!("COPY canonical_leads ({cols}) FROM STDIN"), c),
        ] {
            let sink = tx.copy_in(&target).await.unwrap();
            futures::pin_mut!(sink);
            sink.send(bytes::Bytes::from(data)).await.unwrap();
            sink.finish().await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    t.elapsed()
}

/// Alternative 2: COPY each page into staging tables, then upsert from them.
async fn load_copy_staging(db: &TestDb, pages: &[Vec<(RawRecord, Normalized)>]) -> Duration {
    let (mut client, connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let cols = canonical_columns();
    let updates: String = columns(Entity::Lead)
        .iter()
        .map(|c| format!("{c} = EXCLUDED.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    client
        .batch_execute(
            "CREATE TEMP TABLE stage_raw (provider TEXT, entity TEXT, external_id TEXT, content_hash BYTEA, body JSON) \
                 ON COMMIT DELETE ROWS; \
             CREATE TEMP TABLE stage_canonical (LIKE canonical_leads INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;",
        )
        .await
        .unwrap();
    let t = Instant::now();
    for page in pages {
        let (mut r, mut c) = (String::new(), String::new());
        for (raw, n) in page {
            copy_rows(&mut r, &mut c, raw, n);
        }
        let tx = client.transaction().await.unwrap();
        let sink = tx
            .copy_in(&format!("COPY stage_raw ({RAW_COLUMNS}) FROM STDIN"))
            .await
            .unwrap();
        futures::pin_mut!(sink);
        sink.send(bytes::Bytes::from(r)).await.unwrap();
        sink.finish().await.unwrap();
        tx.query(
            &format!(
                "INSERT INTO raw_records ({RAW_COLUMNS}) SELECT {RAW_COLUMNS} FROM stage_raw \
                 ON CONFLICT (provider, entity, external_id) DO UPDATE SET fetched_at = now(), \
                     content_hash = EXCLUDED.content_hash, body = EXCLUDED.body \
                 WHERE raw_records.content_hash <> EXCLUDED.content_hash RETURNING external_id"
            ),
            &[],
        )
        .await
        .unwrap();
        let sink = tx
            .copy_in(&format!("COPY stage_canonical ({cols}) FROM STDIN"))
            .await
            .unwrap();
        futures::pin_mut!(sink);
        sink.send(bytes::Bytes::from(c)).await.unwrap();
        sink.finish().await.unwrap();
        tx.execute(
            &format!(
                "INSERT INTO canonical_leads ({cols}) SELECT {cols} FROM stage_canonical \
                 ON CONFLICT (provider, external_id) DO UPDATE SET {updates}, \
                     content_hash = EXCLUDED.content_hash, last_synced_at = now(), deleted_at = NULL, \
                     local_modified_at = NULL"
            ),
            &[],
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    t.elapsed()
}

fn main() {
    let records: i64 = std::env::var("TENTABO_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let small = (records / 10).max(1_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let peer = OdooPeer::with_credentials("sync", "pw").await;
        if std::env::var("TENTABO_BENCH_ONLY_RSS").is_ok_and(|v| v == "1") {
            // Only the worker's memory across runs (phase 3c).
            let records = std::env::var("TENTABO_BENCH_RSS_RECORDS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(200_000);
            for release in [false, true] {
                worker_rss_series(&peer, records, release).await;
            }
            return;
        }
        println!("sync bench: Odoo-shaped crm.lead records, pages of {}, 2 cores", page_size());

        // 1. Full runs, small then large: throughput, stages, memory.
        peer.generate("crm.lead", Generated { count: small, edited_every: None });
        let small_db = TestDb::new().await;
        let small_run = sync(&small_db, &peer, Mode::Full).await;
        drop(small_db);
        print_run(&format!("full run, {small} records"), &small_run);

        let g = Generated { count: records, edited_every: None };
        peer.generate("crm.lead", g);
        let db = TestDb::new().await;
        let full = sync(&db, &peer, Mode::Full).await;
        print_run(&format!("full run, {records} records"), &full);
        assert_eq!(full.totals.loaded, records, "every record loaded");
        let refresh_full = refresh(&db).await;

        // 2. 1% changed in the source, then an incremental run.
        peer.generate("crm.lead", Generated { count: records, edited_every: Some(100) });
        let inc = sync(&db, &peer, Mode::Incremental).await;
        print_run("incremental run, 1% changed", &inc);
        assert_eq!(inc.totals.loaded, records / 100, "exactly the changed records loaded");
        let refresh_inc = refresh(&db).await;

        // 3b. Nothing changed since: a second full run writes no canonical row.
        let warm_start = {
            let mut conn = db.conn().await;
            diesel_async::RunQueryDsl::get_result::<Now>(diesel::sql_query("SELECT now() AS t"), &mut conn)
                .await
                .unwrap()
                .t
        };
        let warm = sync(&db, &peer, Mode::Full).await;
        print_run("full run, nothing changed", &warm);
        let written = {
            let mut conn = db.conn().await;
            diesel_async::RunQueryDsl::get_result::<Count>(
                diesel::sql_query("SELECT count(*) AS n FROM canonical_leads WHERE last_synced_at >= $1")
                    .bind::<diesel::sql_types::Timestamptz, _>(warm_start),
                &mut conn,
            )
            .await
            .unwrap()
            .n
        };
        assert_eq!(warm.totals.loaded, 0, "nothing changed: nothing loaded");
        drop(db);

        // 3c. The worker process's resident memory before each of 10 consecutive full
        // runs (half the records changed between two runs), without and then with what
        // the worker does once a run ends (the allocator's free pages handed back).
        let rss_records: i64 = std::env::var("TENTABO_BENCH_RSS_RECORDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(200_000);
        let mut series: Vec<Vec<u64>> = Vec::new();
        for release in [false, true] {
            series.push(worker_rss_series(&peer, rss_records, release).await);
        }
        // Idle, then after the first run (which pays one-time initialisations: phone
        // metadata, compiled patterns, the runtime's threads), then the highest of the
        // measurements after it: growth from run to run is measured against the second.
        let growth = |rss: &[u64]| {
            let mb = |k: u64| k as f64 / 1024.0;
            let max = rss[1..].iter().copied().max().unwrap_or(0);
            (mb(rss[0]), mb(rss[1]), mb(max), 100.0 * (mb(max) - mb(rss[1])) / mb(rss[1]))
        };
        peer.generate("crm.lead", g);

        // 3. The ceiling: plain COPY of the same rows, same server.
        let copy_db = TestDb::new().await;
        let copy = copy_ceiling(&copy_db, &g).await;
        drop(copy_db);

        // 4. The loader alone, both ways, on the same pages (a tenth of the records).
        let pages: Vec<Vec<(RawRecord, Normalized)>> = (1..=small)
            .map(|id| prepared(&g, id))
            .collect::<Vec<_>>()
            .chunks(page_size())
            .map(<[_]>::to_vec)
            .collect();
        let multi_db = TestDb::new().await;
        settle(&multi_db).await;
        let multi = load_multi_row(&multi_db, &pages).await;
        drop(multi_db);
        let values_db = TestDb::new().await;
        settle(&values_db).await;
        let values = load_values(&values_db, &pages).await;
        drop(values_db);
        let staging_db = TestDb::new().await;
        settle(&staging_db).await;
        let staging = load_copy_staging(&staging_db, &pages).await;
        drop(staging_db);
        let direct_db = TestDb::new().await;
        settle(&direct_db).await;
        let direct = load_copy_new(&direct_db, &pages).await;
        drop(direct_db);

        let per_sec = |n: i64, d: Duration| n as f64 / d.as_secs_f64();
        let e2e = per_sec(records, full.elapsed);
        let ceiling = per_sec(records, copy);
        println!();
        println!("| figure | value |");
        println!("|---|---|");
        println!("| full run, {records} records, end to end | {:.1} s, {e2e:.0} records/s |", full.elapsed.as_secs_f64());
        println!("| plain COPY of the same rows (raw json + canonical, keyed) | {:.1} s, {ceiling:.0} records/s |", copy.as_secs_f64());
        println!("| ratio to the COPY ceiling (target ≥ 50 %) | {:.0} % |", 100.0 * e2e / ceiling);
        println!(
            "| incremental run, 1 % changed, vs full (target ≤ 3 %) | {:.2} s = {:.1} % |",
            inc.elapsed.as_secs_f64(),
            100.0 * inc.elapsed.as_secs_f64() / full.elapsed.as_secs_f64()
        );
        println!(
            "| second full run, nothing changed: time vs cold (target ≤ 50 %), canonical rows written (target 0) | {:.2} s = {:.1} %, {written} rows |",
            warm.elapsed.as_secs_f64(),
            100.0 * warm.elapsed.as_secs_f64() / full.elapsed.as_secs_f64()
        );
        let (a0, a1, a2, ap) = growth(&series[0]);
        let (b0, b1, b2, bp) = growth(&series[1]);
        println!(
            "| worker process RSS across 10 full runs of {rss_records} records: idle / after the first run → highest after a later one: TENTABO_WORKER_RELEASE_MEMORY=false / true (the default; target flat within 10 %) | {a0:.1} / {a1:.1} → {a2:.1} MB (+{ap:.1} %) / {b0:.1} / {b1:.1} → {b2:.1} MB (+{bp:.1} %) |"
        );
        println!(
            "| serving refresh (the `refresh_serving` job the run asks for) after the full / incremental run | {:.2} s / {:.2} s |",
            refresh_full.as_secs_f64(),
            refresh_inc.as_secs_f64()
        );
        println!(
            "| peak RSS, {small} → {records} records (target ≤ 150 MB, flat) | {:.1} MB → {:.1} MB |",
            small_run.peak_rss_kb as f64 / 1024.0,
            full.peak_rss_kb as f64 / 1024.0
        );
        println!(
            "| loader alone, {small} records, raw + canonical: unnest arrays (the pipeline's) / multi-row VALUES / COPY + staging upsert | {:.0} / {} / {:.0} records/s |",
            per_sec(small, multi),
            values.map_or("n/a (too many parameters)".to_owned(), |v| format!("{:.0}", per_sec(small, v))),
            per_sec(small, staging)
        );
        println!(
            "| loader alone, alternative: COPY of the new keys straight into both tables, {small} records | {:.0} records/s |",
            per_sec(small, direct)
        );
    });
}
