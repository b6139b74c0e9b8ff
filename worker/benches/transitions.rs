//! Lifecycle transitions per second, their latency, and transition → job-start latency.
//!
//!   ./dev bench -p tentabo-worker --bench transitions
//!
//! On a fresh migrated database (a clone of the test template, dropped at the end):
//!
//! 1. The transition service (`sales::transition::apply`, the code behind
//!    `POST /api/v1/leads/{id}/transitions`, without HTTP) at 16 and at 64 concurrent
//!    connections, each task cycling its own lead through contact → qualify → propose →
//!    negotiate → lose → reopen. Each transaction locks the row, updates it and inserts
//!    a history, an audit and two outbox rows in one statement (the effect, and the
//!    dashboards' refresh request), then reads the resource back.
//! 2. The same transaction's SQL under pgbench, same server, same connection counts:
//!    the ceiling. The figure that binds is the ratio.
//! 3. With the worker running, transitions at a steady rate; per effect, the time from
//!    the transition's transaction to the start of its job (both stamped by Postgres).

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use diesel::sql_types::{Double, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use secrecy::SecretString;
use serde_json::Value;
use support::TestDb;
use tentabo_workflows::audit::AuditContext;
use tentabo_workflows::authz::Authorizer;
use tentabo_workflows::identity::{Principal, Role};
use tentabo_workflows::lifecycle::lead::LeadMachine;
use tentabo_workflows::sales::Caller;
use tentabo_workflows::sales::transition::{self, Request};
use uuid::Uuid;

const RUN_FOR: Duration = Duration::from_secs(8);
const CYCLE: [&str; 6] = [
    "contact",
    "qualify",
    "propose",
    "negotiate",
    "lose",
    "reopen",
];

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

async fn admin(db: &TestDb) -> Principal {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    let mut conn = db.conn().await;
    tentabo_workflows::identity::seed::seed_demo(&mut conn)
        .await
        .unwrap();
    let id = diesel::sql_query("SELECT id FROM users WHERE email = 'superadmin@salescommand.com'")
        .get_result::<Id>(&mut conn)
        .await
        .unwrap()
        .id;
    Principal {
        user_id: id,
        session_id: Uuid::new_v4(),
        email: "superadmin@salescommand.com".into(),
        role: Role::Admin,
        partner_id: None,
        distributor_id: None,
    }
}

/// `n` fresh leads owned by the admin, numbered 0..n in `bench_leads` for pgbench.
async fn leads(db: &TestDb, owner: Uuid, n: usize) -> Vec<Uuid> {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    let mut conn = db.conn().await;
    diesel::sql_query("DROP TABLE IF EXISTS bench_leads")
        .execute(&mut conn)
        .await
        .unwrap();
    diesel::sql_query("CREATE TABLE bench_leads (n INTEGER PRIMARY KEY, id UUID NOT NULL)")
        .execute(&mut conn)
        .await
        .unwrap();
    diesel::sql_query(
        "WITH l AS (INSERT INTO leads (id, title, organization, contact_name, contact_email, owner_id) \
             SELECT gen_random_uuid(), 'Bench', 'Org', 'Name', 'x@y.test', $1 FROM generate_series(1, $2) \
             RETURNING id) \
         INSERT INTO bench_leads SELECT row_number() OVER () - 1, id FROM l",
    )
    .bind::<SqlUuid, _>(owner)
    .bind::<diesel::sql_types::Integer, _>(i32::try_from(n).unwrap())
    .execute(&mut conn)
    .await
    .unwrap();
    diesel::sql_query("SELECT id FROM bench_leads ORDER BY n")
        .load::<Id>(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect()
}

/// Every task cycles its own lead for `run_for`, or `per_task` transitions paced at
/// `interval`. Returns the latencies.
async fn drive(
    pool: &tentabo_schema::DbPool,
    caller: &Arc<Caller>,
    leads: &[Uuid],
    run_for: Duration,
    interval: Option<Duration>,
) -> (Vec<Duration>, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for lead in leads {
        let (stop, pool, caller, lead) = (stop.clone(), pool.clone(), caller.clone(), *lead);
        tasks.push(tokio::spawn(async move {
            let audit = AuditContext {
                actor_id: Some(caller.who.user_id),
                ..Default::default()
            };
            let mut lat = Vec::new();
            let mut step = 0;
            let mut tick = interval.map(tokio::time::interval);
            while !AtomicBool::load(&stop, Ordering::Relaxed) {
                if let Some(t) = tick.as_mut() {
                    t.tick().await;
                }
                let req = Request {
                    id: lead,
                    event: CYCLE[step % CYCLE.len()].to_owned(),
                    expected_version: None,
                    payload: None,
                    idempotency: None,
                };
                let t = Instant::now();
                let mut conn = pool.get().await.unwrap();
                transition::apply::<LeadMachine>(&mut conn, &caller, &audit, &req, &|_| {
                    Value::Null
                })
                .await
                .unwrap();
                lat.push(t.elapsed());
                step += 1;
            }
            lat
        }));
    }
    tokio::time::sleep(run_for).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort();
    let rate = all.len() as f64 / elapsed;
    (all, rate)
}

/// The transition's SQL, one client per lead, as pgbench runs it.
const PGBENCH_SCRIPT: &str = r#"
SELECT id AS lid FROM bench_leads WHERE n = :client_id \gset
BEGIN;
SELECT state, version + 1 AS v, partner_id, distributor_id FROM leads WHERE id = :lid FOR UPDATE \gset
UPDATE leads SET state = CASE WHEN state = 'new' THEN 'contacted' ELSE 'new' END, version = :v, updated_at = now() WHERE id = :lid;
INSERT INTO lifecycle_history (object_type, object_id, version, event, from_state, to_state, actor_id, payload) VALUES ('lead', :lid, :v, 'contact', 'new', 'contacted', NULL, '{}');
INSERT INTO audit_logs (actor_id, action, object_type, object_id, request_id, details) VALUES (NULL, 'lead.transition', 'lead', :lid, NULL, '{}');
INSERT INTO outbox (queue, payload, idempotency_key, max_attempts) VALUES ('pgbench', '{}', 'pgbench:' || :lid::text || ':' || :v::text, 15), ('pgbench_refresh', '{}', 'pgbench:' || :lid::text || ':' || :v::text || '-refresh', 10);
SELECT id, title, state, version FROM leads WHERE id = :lid;
COMMIT;
"#;

fn pgbench(url: &str, clients: usize, sql: &str) -> (f64, f64) {
    let script = std::env::temp_dir().join(format!("tentabo-transition-{}.sql", Uuid::new_v4()));
    std::fs::write(&script, sql).unwrap();
    let out = std::process::Command::new("pgbench")
        .args([
            "-n",
            "-M",
            "prepared",
            "-c",
            &clients.to_string(),
            "-j",
            "2",
            "-T",
        ])
        .arg(RUN_FOR.as_secs().to_string())
        .arg("-f")
        .arg(&script)
        .arg(url)
        .output()
        .expect("pgbench (postgresql-contrib / the server package) must be installed");
    let _ = std::fs::remove_file(&script);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pgbench failed: {}{}",
        text,
        String::from_utf8_lossy(&out.stderr)
    );
    let grab = |prefix: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.split_whitespace().find_map(|w| w.parse::<f64>().ok()))
            .unwrap_or_else(|| panic!("no `{prefix}` in pgbench output:\n{text}"))
    };
    (grab("tps ="), grab("latency average ="))
}

/// The price of row-level security as a second wall: the same pgbench transaction, once
/// as a plain role and once with an RLS policy on `leads` and the scope set per
/// transaction (`set_config(…, true)`, the `SET LOCAL` every request would need).
async fn rls_cost(db: &TestDb, clients: usize) -> (f64, f64) {
    // Roles are cluster-wide: one fixed name, dropped again at the end (and before, if
    // an interrupted run left it).
    let role = "tentabo_bench_rls";
    let mut conn = db.conn().await;
    let _ = diesel::sql_query(format!("DROP ROLE IF EXISTS {role}"))
        .execute(&mut conn)
        .await;
    for sql in [
        format!("CREATE ROLE {role} LOGIN"),
        format!("GRANT USAGE ON SCHEMA public TO {role}"),
        format!("GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO {role}"),
        format!("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}"),
    ] {
        diesel::sql_query(sql).execute(&mut conn).await.unwrap();
    }
    let url = match db
        .url
        .split_once("://")
        .and_then(|(scheme, rest)| rest.split_once('@').map(|(_, host)| (scheme, host)))
    {
        Some((scheme, host)) => format!("{scheme}://{role}@{host}"),
        None => panic!("DATABASE_URL must name a user for the RLS comparison"),
    };
    let (plain, _) = pgbench(&url, clients, PGBENCH_SCRIPT);
    for sql in [
        "ALTER TABLE leads ENABLE ROW LEVEL SECURITY",
        "CREATE POLICY tentabo_scope ON leads USING ( \
             current_setting('tentabo.scope_kind') = 'all' \
             OR (current_setting('tentabo.scope_kind') = 'partner' AND partner_id = nullif(current_setting('tentabo.scope_id'), '')::uuid) \
             OR (current_setting('tentabo.scope_kind') IN ('distributor', 'attached') AND distributor_id = nullif(current_setting('tentabo.scope_id'), '')::uuid) \
             OR (current_setting('tentabo.scope_kind') = 'attached' AND partner_id IN \
                 (SELECT partner_id FROM distributor_partners WHERE distributor_id = nullif(current_setting('tentabo.scope_id'), '')::uuid)))",
    ] {
        diesel::sql_query(sql).execute(&mut conn).await.unwrap();
    }
    let scoped = PGBENCH_SCRIPT.replace(
        "BEGIN;\n",
        "BEGIN;\nSELECT set_config('tentabo.scope_kind', 'all', true), set_config('tentabo.scope_id', '', true);\n",
    );
    let (rls, _) = pgbench(&url, clients, &scoped);
    for sql in [
        "DROP POLICY tentabo_scope ON leads".to_owned(),
        "ALTER TABLE leads DISABLE ROW LEVEL SECURITY".to_owned(),
        format!("DROP OWNED BY {role}"),
        format!("DROP ROLE {role}"),
    ] {
        diesel::sql_query(sql).execute(&mut conn).await.unwrap();
    }
    (plain, rls)
}

/// Job-start latency of the effects of the last `phase_start` transitions, from the
/// outbox ledger: started_at − created_at, both Postgres clocks.
async fn job_start_latency(db: &TestDb, since: chrono::DateTime<chrono::Utc>) -> (usize, f64, f64) {
    #[derive(diesel::QueryableByName)]
    struct Ms {
        #[diesel(sql_type = Double)]
        ms: f64,
    }
    let mut conn = db.conn().await;
    let mut ms: Vec<f64> = diesel::sql_query(
        "SELECT (EXTRACT(EPOCH FROM (started_at - created_at)) * 1000)::float8 AS ms FROM outbox \
         WHERE queue = 'crm_push_lead_status' AND created_at >= $1 AND started_at IS NOT NULL",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(since)
    .load::<Ms>(&mut conn)
    .await
    .unwrap()
    .into_iter()
    .map(|m| m.ms)
    .collect();
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| ms[((ms.len() as f64 - 1.0) * p).round() as usize];
    (ms.len(), at(0.5), at(0.99))
}

struct Phase {
    rate: f64,
    n: usize,
    p50: f64,
    p99: f64,
    relay: f64,
    queue: f64,
    attempts: f64,
}

/// Paced transitions for 5 s with the worker running; the latency of their effects.
async fn job_start_phase(
    db: &TestDb,
    pool: &tentabo_schema::DbPool,
    caller: &Arc<Caller>,
    ids: &[Uuid],
    every: Duration,
) -> Phase {
    #[derive(diesel::QueryableByName)]
    struct Now {
        #[diesel(sql_type = diesel::sql_types::Timestamptz)]
        now: chrono::DateTime<chrono::Utc>,
    }
    #[derive(diesel::QueryableByName)]
    struct Split {
        #[diesel(sql_type = Double)]
        relay: f64,
        #[diesel(sql_type = Double)]
        queue: f64,
        #[diesel(sql_type = Double)]
        attempts: f64,
    }
    let since = {
        let mut conn = db.conn().await;
        diesel::sql_query("SELECT now() AS now")
            .get_result::<Now>(&mut conn)
            .await
            .unwrap()
            .now
    };
    let (_, rate) = drive(pool, caller, ids, Duration::from_secs(5), Some(every)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (n, p50, p99) = job_start_latency(db, since).await;
    let mut conn = db.conn().await;
    let s: Split = diesel::sql_query(
        "SELECT (percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM (enqueued_at - created_at)) * 1000))::float8 AS relay, \
                (percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM (started_at - enqueued_at)) * 1000))::float8 AS queue, \
                avg(attempts)::float8 AS attempts \
         FROM outbox WHERE queue = 'crm_push_lead_status' AND created_at >= $1 AND started_at IS NOT NULL",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(since)
    .get_result(&mut conn)
    .await
    .unwrap();
    Phase {
        rate,
        n,
        p50,
        p99,
        relay: s.relay,
        queue: s.queue,
        attempts: s.attempts,
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = TestDb::new().await;
        let who = admin(&db).await;
        let authz = Authorizer::load().await.unwrap();
        let caller = {
            let mut conn = db.conn().await;
            Arc::new(Caller::load(&mut conn, &authz, &who).await.unwrap())
        };
        println!("transition = lock row, update, history + audit + outbox rows, read back; {}s per run", RUN_FOR.as_secs());
        let mut ratio64 = 0.0;
        let mut p99_16 = 0.0;
        for clients in [16, 64] {
            let ids = leads(&db, who.user_id, clients).await;
            let pool = db.pool(clients);
            let (lat, rate) = drive(&pool, &caller, &ids, RUN_FOR, None).await;
            drop(pool);
            let (p50, p99) = (pct(&lat, 0.5), pct(&lat, 0.99));
            let (tps, avg) = pgbench(&db.url, clients, PGBENCH_SCRIPT);
            let ratio = rate / tps * 100.0;
            println!(
                "{clients:>3} connections: tentabo {rate:>7.0} transitions/s  p50 {p50:>6.2} ms  p99 {p99:>6.2} ms | \
                 pgbench same SQL {tps:>7.0} tps  avg {avg:>6.2} ms | ratio {ratio:.1} %"
            );
            if clients == 64 {
                ratio64 = ratio;
            }
            if clients == 16 {
                p99_16 = p99;
            }
        }

        let (plain, rls) = rls_cost(&db, 16).await;
        println!(
            "row-level security, pgbench at 16 connections: plain {plain:.0} tps, with an RLS policy and the scope set per transaction {rls:.0} tps ({:+.1} %)",
            (rls / plain - 1.0) * 100.0
        );

        // Job start: the worker runs; 16 tasks, each one transition every 160 ms, then
        // every 40 ms (≈ 100 and ≈ 400 transitions/s, each with one CRM push effect).
        let redis = support::TestRedis::new();
        let cfg = tentabo_worker::config::WorkerConfig {
            database_url: SecretString::from(db.url.clone()),
            database_pool_size: 16,
            redis_url: SecretString::from(redis.url.clone()),
            namespace: redis.namespace.clone(),
            concurrency: 16,
            backlog_limit: 2_000,
            relay_batch: 500,
            relay_interval_ms: 10,
            poll_interval_ms: 20,
            redeliver_after_secs: 120,
            run_timeout_secs: 900,
            retry_initial_ms: 2_000,
            retry_max_secs: 900,
            metrics_bind: None,
            secrets_key: None,
            crm_provider: "recording".into(),
            billing_provider: "recording".into(),
            contract_expiry_days: 30,
            contract_expiry_schedule: "0 0 2 * * *".into(),
            renewal_mode: "draft".to_owned(),
            sentry_dsn: None,
            environment: "test".to_owned(),
            queue_metrics_interval_secs: 15,
            smtp_url: None,
            mail_from: "Tentabo <no-reply@tentabo.invalid>".to_owned(),
            odoo_url: None,
            odoo_database: String::new(),
            odoo_login: String::new(),
            odoo_password: None,
            sync_page_size: 500,
            sync_look_back_secs: 300,
            sync_conflict_policy: tentabo_workflows::pipeline::load::ConflictPolicy::SourceWins,
            sync_lanes: 2,
            default_country: None,
        release_memory: true,
            sync_schedule: "0 30 1 * * *".into(),
            provider_health_schedule: "0 */5 * * * *".into(),
            call_log_retention_days: 30,
            shutdown_grace_secs: 10,
        };
        // The throughput runs left their effects (and pgbench's rows) in the outbox; start
        // the latency phase from an empty ledger so it measures latency, not backlog.
        {
            let mut conn = db.conn().await;
            diesel::sql_query("DELETE FROM outbox").execute(&mut conn).await.unwrap();
        }
        let token = tokio_util::sync::CancellationToken::new();
        let worker = tentabo_worker::start(cfg, token.clone()).unwrap();
        let pool = db.pool(16);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut first = (0.0, 0.0);
        for every_ms in [160, 40] {
            let ids = leads(&db, who.user_id, 16).await;
            let phase = job_start_phase(&db, &pool, &caller, &ids, Duration::from_millis(every_ms)).await;
            println!(
                "job start, worker running, {:.0} transitions/s: {} effects, transition → job start p50 {:.1} ms  p99 {:.1} ms \
                 (committed → in Redis p50 {:.1} ms, in Redis → started p50 {:.1} ms, {:.2} attempts per job)",
                phase.rate, phase.n, phase.p50, phase.p99, phase.relay, phase.queue, phase.attempts
            );
            if every_ms == 160 {
                first = (phase.p50, phase.p99);
            }
        }
        let (p50, p99) = first;
        token.cancel();
        worker.wait().await;
        println!(
            "targets: ≥ 60 % of pgbench at 64 connections (got {ratio64:.1} %), p99 ≤ 25 ms at 16 (got {p99_16:.2} ms), \
             job start at ~100/s p50 ≤ 50 ms (got {p50:.1}), p99 ≤ 250 ms (got {p99:.1})"
        );
    });
}
