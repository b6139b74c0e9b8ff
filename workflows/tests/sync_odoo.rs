//! Sync runs from the Odoo test peer into the data lake, against real Postgres: a full
//! run loads exactly the source; an incremental run after 3 edits loads exactly those 3;
//! a bad record is quarantined with its reasons while the rest load (run `partial`); an
//! authentication failure fails the run with a clear error and moves no watermark; a
//! record gone from the source is soft-deleted by the next full run.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/db.rs"]
#[allow(dead_code)]
mod db;
#[path = "../../tests/support/odoo.rs"]
mod odoo;

use std::time::Duration;

use db::TestDb;
use diesel::sql_types::{Nullable, Text};
use diesel_async::RunQueryDsl;
use odoo::{OdooPeer, Peer};
use secrecy::SecretString;
use serde_json::{Map, Value, json};
use tentabo_workflows::pipeline::run::{self, Mode};
use tentabo_workflows::providers::odoo::{OdooClient, OdooConfig};
use tentabo_workflows::retry::RetryPolicy;

/// 250 companies and, for each, one contact; write_dates tie in blocks of 40.
fn partners() -> Vec<Map<String, Value>> {
    let mut out = Vec::new();
    for i in 1..=250_i64 {
        let wd = format!("2026-01-01 00:{:02}:00", i / 40);
        out.push(json!({
            "id": i, "name": format!("Company {i}"), "is_company": true, "customer_rank": 1,
            "supplier_rank": 0, "email": format!("INFO@company{i}.example"), "phone": "+33 1 42 68 53 00",
            "country_code": "fr", "parent_id": false, "write_date": wd, "create_date": "2025-12-01 09:00:00"
        }).as_object().unwrap().clone());
        out.push(json!({
            "id": 1000 + i, "name": format!("Contact {i}"), "is_company": false,
            "parent_id": [i, format!("Company {i}")], "email": false, "phone": false,
            "function": "Buyer", "country_code": false, "write_date": wd, "create_date": "2025-12-01 09:00:00"
        }).as_object().unwrap().clone());
    }
    out
}

async fn setup() -> (TestDb, OdooPeer) {
    let db = TestDb::new().await;
    let peer = OdooPeer::start(Peer {
        database: "prod".into(),
        login: "sync@example.com".into(),
        password: "s3cret".into(),
        stall: Duration::from_secs(2),
        ..Default::default()
    })
    .await;
    peer.set("res.partner", partners());
    (db, peer)
}

fn client(peer: &OdooPeer, password: &str) -> OdooClient {
    OdooClient::new(
        OdooConfig {
            url: peer.url(),
            database: "prod".into(),
            login: "sync@example.com".into(),
            password: SecretString::from(password.to_owned()),
            timeout: Duration::from_secs(2),
            retry: RetryPolicy {
                initial: Duration::from_millis(10),
                max: Duration::from_millis(50),
                multiplier: 2.0,
                retry_after_cap: Duration::from_secs(5),
                randomization: 0.0,
            },
            max_attempts: 5,
            rate_limit_per_second: None,
        },
        tentabo_workflows::outbound::Outbound::standalone(),
    )
}

/// Pages of `page_size`, and a one-minute look-back window.
fn options(page_size: usize) -> run::Options {
    run::Options {
        page_size,
        look_back: Duration::from_secs(60),
        ..Default::default()
    }
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    db.count(sql).await
}

async fn sync(
    db: &TestDb,
    peer: &OdooPeer,
    mode: Mode,
) -> (uuid::Uuid, Result<run::Totals, String>) {
    let pool = db.pool(2);
    let id = {
        let mut conn = db.conn().await;
        run::create(&mut conn, "res.partner", mode, None)
            .await
            .unwrap()
    };
    let mut c = client(peer, "s3cret");
    let result = run::execute(&pool, &mut c, id, options(100))
        .await
        .map_err(|e| e.to_string());
    (id, result)
}

#[tokio::test]
async fn a_full_run_then_an_incremental_run_load_exactly_what_changed() {
    let (db, peer) = setup().await;
    let (_, full) = sync(&db, &peer, Mode::Full).await;
    let full = full.unwrap();
    assert_eq!((full.fetched, full.loaded, full.quarantined), (500, 500, 0));
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM canonical_organizations").await,
        250
    );
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM canonical_contacts").await,
        250
    );
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM raw_records").await,
        500
    );
    // Normalized on the way in; the raw zone keeps Odoo's bytes.
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM canonical_organizations WHERE email LIKE 'info@%' AND phone = '+33142685300' AND country_code = 'FR'").await,
        250
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) AS n FROM raw_records WHERE body::text LIKE '%\"INFO@%'"
        )
        .await,
        250
    );
    assert_eq!(count(&db, "SELECT count(*) AS n FROM canonical_contacts WHERE organization_external_id IS NOT NULL").await, 250);

    for id in [3, 120, 1200] {
        peer.edit("res.partner", id, |r| {
            r.insert("write_date".into(), json!("2026-02-01 00:00:00"));
            r.insert("name".into(), json!(format!("Renamed {id}")));
        });
    }
    let (_, inc) = sync(&db, &peer, Mode::Incremental).await;
    let inc = inc.unwrap();
    // The minute before the watermark (00:05:00–00:06:00: companies 200–250 and their
    // contacts, less contact 1200 which moved) is read again and skipped by hash; only
    // the 3 edits load.
    assert_eq!(
        (inc.fetched, inc.loaded, inc.unchanged),
        (104, 3, 101),
        "exactly the 3 edits loaded"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) AS n FROM canonical_organizations WHERE name LIKE 'Renamed%'"
        )
        .await,
        2
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) AS n FROM canonical_contacts WHERE name LIKE 'Renamed%'"
        )
        .await,
        1
    );
    let (_, nothing) = sync(&db, &peer, Mode::Incremental).await;
    let nothing = nothing.unwrap();
    assert_eq!(
        (nothing.loaded, nothing.unchanged),
        (0, 3),
        "the watermark moved past them; the look-back re-reads only them"
    );
}

#[tokio::test]
async fn a_bad_record_is_quarantined_with_its_reasons_and_the_rest_loads() {
    let (db, peer) = setup().await;
    peer.edit("res.partner", 7, |r| {
        r.insert("email".into(), json!("not-an-email"));
        r.insert("name".into(), json!(false));
    });
    peer.edit("res.partner", 8, |r| {
        r.insert("write_date".into(), json!("2026-01-01 00:00:00"));
        r.insert("phone".into(), json!("12"));
    });
    let (id, totals) = sync(&db, &peer, Mode::Full).await;
    let totals = totals.unwrap();
    // No name: an error, quarantined. A bad email, an impossible phone: warnings, the
    // records load with the values as given.
    assert_eq!((totals.loaded, totals.quarantined), (499, 1));
    assert_eq!(totals.warned, 1);
    assert_eq!(
        totals.warnings,
        [("bad_phone".to_owned(), 1)].into_iter().collect(),
        "record 7 is quarantined: its email warning is not counted"
    );
    assert_eq!(
        totals.reasons,
        [("required".to_owned(), 1)].into_iter().collect()
    );
    #[derive(diesel::QueryableByName)]
    struct Q {
        #[diesel(sql_type = Nullable<Text>)]
        external_id: Option<String>,
        #[diesel(sql_type = Text)]
        stage: String,
        #[diesel(sql_type = Text)]
        reasons: String,
    }
    let mut conn = db.conn().await;
    let q: Vec<Q> = diesel::sql_query(
        "SELECT external_id, stage, reasons::text AS reasons FROM quarantine ORDER BY external_id",
    )
    .load(&mut conn)
    .await
    .unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(
        (q[0].external_id.as_deref(), q[0].stage.as_str()),
        (Some("7"), "validator")
    );
    assert!(q[0].reasons.contains("\"required\""), "{}", q[0].reasons);
    assert_eq!(
        text(&db, "SELECT phone || ' ' || (issues->0->>'code') AS t FROM canonical_organizations WHERE external_id = '8'").await.as_deref(),
        Some("12 bad_phone"),
        "kept as given, flagged"
    );
    let status = count(
        &db,
        &format!("SELECT count(*) AS n FROM sync_runs WHERE id = '{id}' AND status = 'partial' \
                  AND warned = 1 AND warnings = '{{\"bad_phone\": 1}}' AND quarantine_reasons = '{{\"required\": 1}}'"),
    )
    .await;
    assert_eq!(status, 1, "the run ends partial, with its counts per code");
}

#[tokio::test]
async fn an_authentication_failure_fails_the_run_and_moves_no_watermark() {
    let (db, peer) = setup().await;
    let pool = db.pool(2);
    let id = {
        let mut conn = db.conn().await;
        run::create(&mut conn, "res.partner", Mode::Incremental, None)
            .await
            .unwrap()
    };
    let mut bad = client(&peer, "wrong");
    let err = run::execute(&pool, &mut bad, id, options(100))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("refused the credentials"), "{err}");
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM sync_checkpoints").await,
        0
    );
    assert_eq!(count(&db, "SELECT count(*) AS n FROM raw_records").await, 0);
    assert_eq!(
        count(&db, &format!("SELECT count(*) AS n FROM sync_runs WHERE id = '{id}' AND status = 'failed' AND error LIKE '%credentials%'")).await,
        1
    );
    // The failed run no longer blocks the next one.
    let (_, ok) = sync(&db, &peer, Mode::Incremental).await;
    assert_eq!(ok.unwrap().loaded, 500);
}

#[tokio::test]
async fn a_full_run_soft_deletes_what_the_source_no_longer_has() {
    let (db, peer) = setup().await;
    sync(&db, &peer, Mode::Full).await.1.unwrap();
    let mut records = partners();
    records.retain(|r| r["id"] != json!(42));
    peer.set("res.partner", records);
    let (_, again) = sync(&db, &peer, Mode::Full).await;
    let again = again.unwrap();
    assert_eq!((again.unchanged, again.loaded, again.deleted), (499, 0, 1));
    assert_eq!(count(&db, "SELECT count(*) AS n FROM canonical_organizations WHERE deleted_at IS NOT NULL AND external_id = '42'").await, 1);
    // A record the source still has but that now fails validation is quarantined; the
    // version loaded before stays, not deleted.
    peer.edit("res.partner", 7, |r| {
        r.insert("name".into(), json!(false));
    });
    let (_, third) = sync(&db, &peer, Mode::Full).await;
    let third = third.unwrap();
    assert_eq!((third.quarantined, third.deleted), (1, 0));
    assert_eq!(count(&db, "SELECT count(*) AS n FROM canonical_organizations WHERE external_id = '7' AND deleted_at IS NULL AND name = 'Company 7'").await, 1);
    let (_, busy) = {
        let mut conn = db.conn().await;
        let first = run::create(&mut conn, "res.partner", Mode::Full, None)
            .await
            .unwrap();
        (
            first,
            run::create(&mut conn, "res.partner", Mode::Full, None).await,
        )
    };
    assert!(busy.is_err(), "one queued or running run per entity");
}

#[tokio::test]
async fn a_run_that_cannot_start_ends_failed_and_blocks_nothing() {
    let (db, peer) = setup().await;
    let pool = db.pool(2);
    let mut conn = db.conn().await;
    let id = run::create(&mut conn, "res.unknown", Mode::Full, None)
        .await
        .unwrap();
    let err = run::execute(&pool, &mut client(&peer, "s3cret"), id, options(100))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no Odoo mapping"), "{err}");
    assert_eq!(
        count(
            &db,
            &format!("SELECT count(*) AS n FROM sync_runs WHERE id = '{id}' AND status = 'failed'")
        )
        .await,
        1
    );
    assert!(
        run::create(&mut conn, "res.unknown", Mode::Full, None)
            .await
            .is_ok(),
        "not blocked"
    );
    let missing = run::execute(
        &pool,
        &mut client(&peer, "s3cret"),
        uuid::Uuid::new_v4(),
        options(100),
    )
    .await;
    assert!(matches!(
        missing,
        Err(tentabo_workflows::WorkflowError::NotFound)
    ));
}

#[tokio::test]
async fn a_run_rides_out_faults_on_one_call_in_ten() {
    let (db, peer) = setup().await;
    *peer.state.fault_every.lock().unwrap() = Some((
        10,
        vec![
            odoo::Fault::TooManyRequests,
            odoo::Fault::ServerError,
            odoo::Fault::Stall,
            odoo::Fault::Malformed,
        ],
    ));
    let pool = db.pool(2);
    let id = {
        let mut conn = db.conn().await;
        run::create(&mut conn, "res.partner", Mode::Full, None)
            .await
            .unwrap()
    };
    let mut c = OdooClient::new(
        OdooConfig {
            url: peer.url(),
            database: "prod".into(),
            login: "sync@example.com".into(),
            password: SecretString::from("s3cret".to_owned()),
            timeout: Duration::from_millis(300),
            retry: RetryPolicy {
                initial: Duration::from_millis(10),
                max: Duration::from_millis(50),
                multiplier: 2.0,
                retry_after_cap: Duration::from_secs(5),
                randomization: 0.0,
            },
            max_attempts: 6,
            rate_limit_per_second: None,
        },
        tentabo_workflows::outbound::Outbound::standalone(),
    );
    let started = std::time::Instant::now();
    // Pages of 10: ~55 calls, so each kind of fault comes up.
    let totals = run::execute(&pool, &mut c, id, options(10)).await.unwrap();
    assert_eq!((totals.fetched, totals.loaded), (500, 500));
    let faults = std::sync::atomic::AtomicU64::load(
        &peer.state.faults_sent,
        std::sync::atomic::Ordering::SeqCst,
    );
    assert!(faults >= 4, "every kind of fault was served ({faults})");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the 429's Retry-After was waited"
    );
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM canonical_organizations").await,
        250
    );
}

#[tokio::test]
async fn a_run_executes_once_at_a_time_and_an_ended_run_does_nothing() {
    let (db, peer) = setup().await;
    let pool = db.pool(2);
    let id = {
        let mut conn = db.conn().await;
        run::create(&mut conn, "res.partner", Mode::Full, None)
            .await
            .unwrap()
    };
    // Another execution holds the run (its session lock).
    let mut holder = db.conn().await;
    diesel::sql_query("SELECT pg_advisory_lock(hashtextextended($1, 0))")
        .bind::<Text, _>(id.to_string())
        .execute(&mut holder)
        .await
        .unwrap();
    let busy = run::execute(&pool, &mut client(&peer, "s3cret"), id, options(100)).await;
    assert!(
        matches!(
            busy,
            Err(tentabo_workflows::WorkflowError::Conflict {
                code: "sync_run_busy",
                ..
            })
        ),
        "{busy:?}"
    );
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM raw_records").await,
        0,
        "the refused execution read nothing"
    );
    // The holder's session ends (its process died): once Postgres has ended the
    // session, the lock is gone and the run may proceed.
    #[derive(diesel::QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    let pid = diesel::sql_query("SELECT pg_backend_pid() AS pid")
        .get_result::<Pid>(&mut holder)
        .await
        .unwrap()
        .pid;
    drop(holder);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while count(
        &db,
        &format!("SELECT count(*) AS n FROM pg_stat_activity WHERE pid = {pid}"),
    )
    .await
        > 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the holder's session did not end"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let done = run::execute(&pool, &mut client(&peer, "s3cret"), id, options(100))
        .await
        .unwrap();
    assert_eq!(done.fetched, 500);
    // A stale delivery of the ended run reads nothing and changes nothing.
    let pages =
        std::sync::atomic::AtomicU64::load(&peer.state.pages, std::sync::atomic::Ordering::SeqCst);
    let again = run::execute(&pool, &mut client(&peer, "s3cret"), id, options(100))
        .await
        .unwrap();
    assert_eq!(again, run::Totals::default());
    assert_eq!(
        std::sync::atomic::AtomicU64::load(&peer.state.pages, std::sync::atomic::Ordering::SeqCst),
        pages
    );
    assert_eq!(
        count(&db, &format!("SELECT count(*) AS n FROM sync_runs WHERE id = '{id}' AND status = 'succeeded' AND fetched = 500")).await,
        1
    );
}

/// Lead `i` (no references: its pages load on both lanes at once), `write_date` shared
/// by pairs.
fn lead(i: i64) -> Map<String, Value> {
    json!({
        "id": i, "name": format!("Lead {i}"), "partner_name": format!("Client {i}"),
        "contact_name": "Camille Martin", "email_from": format!("camille{i}@client.example"),
        "phone": "+33 1 42 68 53 00", "expected_revenue": 1200.5, "company_currency": [1, "EUR"],
        "probability": 20.0, "date_deadline": "2026-06-30", "user_id": [7, "Alex"],
        "source_id": false, "lost_reason_id": false, "stage_id": [1, "New"], "date_closed": false,
        "create_date": "2025-12-01 09:00:00",
        "write_date": format!("2026-01-01 00:00:{:02}", i / 2),
    })
    .as_object()
    .unwrap()
    .clone()
}

/// A full run of `crm.lead` in pages of 5, on `lanes` lanes, with a pool of `pool_size`.
async fn run_leads(
    db: &TestDb,
    peer: &OdooPeer,
    lanes: usize,
    pool_size: usize,
) -> (uuid::Uuid, Result<run::Totals, String>) {
    let id = {
        let mut conn = db.conn().await;
        run::create(&mut conn, "crm.lead", Mode::Full, None)
            .await
            .unwrap()
    };
    (id, resume_leads(db, peer, id, lanes, pool_size).await)
}

async fn resume_leads(
    db: &TestDb,
    peer: &OdooPeer,
    id: uuid::Uuid,
    lanes: usize,
    pool_size: usize,
) -> Result<run::Totals, String> {
    let options = run::Options {
        lanes,
        ..options(5)
    };
    run::execute(
        &db.pool(pool_size),
        &mut client(peer, "s3cret"),
        id,
        options,
    )
    .await
    .map_err(|e| e.to_string())
}

async fn status(db: &TestDb, id: uuid::Uuid) -> Option<String> {
    text(
        db,
        &format!("SELECT status AS t FROM sync_runs WHERE id = '{id}'"),
    )
    .await
}

async fn text(db: &TestDb, sql: &str) -> Option<String> {
    #[derive(diesel::QueryableByName)]
    struct T {
        #[diesel(sql_type = Nullable<Text>)]
        t: Option<String>,
    }
    let mut conn = db.conn().await;
    diesel::sql_query(sql)
        .get_result::<T>(&mut conn)
        .await
        .unwrap()
        .t
}

#[tokio::test]
async fn records_edited_while_a_two_lane_run_pages_are_loaded_once_in_their_last_version() {
    let (db, peer) = setup().await;
    peer.set("crm.lead", (1..=60).map(lead).collect());
    // Once page 1 (leads 1–5) is served, lead 3 moves into page 2 — the page loading
    // next to it on the other lane — and lead 20 (not read yet) to the very end; once
    // page 3 is served, lead 12 (just read) moves to the end too.
    peer.edit_after_page(1, "crm.lead", 3, |r| {
        r.insert("name".into(), json!("Lead 3, edited"));
        r.insert("write_date".into(), json!("2026-01-01 00:00:04"));
    });
    peer.edit_after_page(1, "crm.lead", 20, |r| {
        r.insert("name".into(), json!("Lead 20, edited"));
        r.insert("write_date".into(), json!("2026-01-01 00:05:00"));
    });
    peer.edit_after_page(3, "crm.lead", 12, |r| {
        r.insert("name".into(), json!("Lead 12, edited"));
        r.insert("write_date".into(), json!("2026-01-01 00:06:00"));
    });
    let (id, result) = run_leads(&db, &peer, 2, 2).await;
    let totals = result.unwrap();
    assert_eq!(
        totals.fetched, 62,
        "leads 3 and 12 read twice, lead 20 once"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) AS n FROM raw_records WHERE entity = 'crm.lead'"
        )
        .await,
        60
    );
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM canonical_leads").await,
        60
    );
    for (lead, title) in [
        (3, "Lead 3, edited"),
        (12, "Lead 12, edited"),
        (20, "Lead 20, edited"),
        (4, "Lead 4"),
    ] {
        assert_eq!(
            text(
                &db,
                &format!("SELECT title AS t FROM canonical_leads WHERE external_id = '{lead}'")
            )
            .await
            .as_deref(),
            Some(title),
            "lead {lead}"
        );
    }
    assert_eq!(status(&db, id).await.as_deref(), Some("succeeded"));
    assert_eq!(
        text(&db, "SELECT cursor_value || ' ' || cursor_id AS t FROM sync_checkpoints WHERE entity = 'crm.lead'")
            .await
            .as_deref(),
        Some("2026-01-01 00:06:00 12"),
        "the watermark is the last record read"
    );
}

#[tokio::test]
async fn when_a_page_fails_the_pages_after_it_roll_back_and_the_run_resumes_from_the_last_commit() {
    for lanes in [2, 1] {
        let (db, peer) = setup().await;
        peer.set("crm.lead", (1..=40).map(lead).collect());
        // Postgres refuses lead 23 (page 5, leads 21–25), as it would refuse a row
        // breaking a constraint.
        let mut conn = db.conn().await;
        for statement in [
            "CREATE FUNCTION refuse_lead_23() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'injected failure on lead 23'; END $$",
            "CREATE TRIGGER refuse_lead_23 BEFORE INSERT ON canonical_leads FOR EACH ROW \
             WHEN (NEW.external_id = '23') EXECUTE FUNCTION refuse_lead_23()",
        ] {
            diesel::sql_query(statement)
                .execute(&mut conn)
                .await
                .unwrap();
        }
        let (id, result) = run_leads(&db, &peer, lanes, 2).await;
        let error = result.unwrap_err();
        assert!(
            error.contains("injected failure on lead 23"),
            "the error that stopped the run, not a page it stopped ({lanes} lanes): {error}"
        );
        assert_eq!(
            text(
                &db,
                &format!("SELECT status || ' ' || cursor_id AS t FROM sync_runs WHERE id = '{id}'")
            )
            .await
            .as_deref(),
            Some("failed 20"),
            "{lanes} lanes: the run's cursor is at the last page that committed"
        );
        assert_eq!(
            text(
                &db,
                "SELECT cursor_id AS t FROM sync_checkpoints WHERE entity = 'crm.lead'"
            )
            .await
            .as_deref(),
            Some("20")
        );
        for table in ["raw_records WHERE entity = 'crm.lead'", "canonical_leads"] {
            assert_eq!(
                count(&db, &format!("SELECT count(*) AS n FROM {table}")).await,
                20,
                "{lanes} lanes: pages 1–4 committed, the failed page and those after it rolled back ({table})"
            );
        }
        // Fixed: the run resumes after page 4 and loads the rest, once.
        diesel::sql_query("DROP TRIGGER refuse_lead_23 ON canonical_leads")
            .execute(&mut conn)
            .await
            .unwrap();
        resume_leads(&db, &peer, id, lanes, 2).await.unwrap();
        assert_eq!(
            count(&db, "SELECT count(*) AS n FROM canonical_leads").await,
            40
        );
        assert_eq!(
            text(&db, &format!("SELECT status || ' ' || fetched || ' ' || loaded AS t FROM sync_runs WHERE id = '{id}'"))
                .await
                .as_deref(),
            Some("succeeded 40 40"),
            "{lanes} lanes: every lead counted once"
        );
    }
}

#[tokio::test]
async fn an_amount_too_large_for_its_column_quarantines_its_record_not_its_page() {
    let (db, peer) = setup().await;
    let mut leads: Vec<Map<String, Value>> = (1..=10).map(lead).collect();
    leads[3].insert("expected_revenue".into(), json!(1e17));
    peer.set("crm.lead", leads);
    let (id, result) = run_leads(&db, &peer, 2, 2).await;
    let totals = result.unwrap();
    assert_eq!((totals.loaded, totals.quarantined), (9, 1));
    assert_eq!(
        text(&db, "SELECT external_id || ' ' || (reasons -> 0 ->> 'field') || ' ' || (reasons -> 0 ->> 'code') AS t FROM quarantine")
            .await
            .as_deref(),
        Some("4 value out_of_range")
    );
    assert_eq!(status(&db, id).await.as_deref(), Some("partial"));
}

#[tokio::test]
async fn a_run_with_no_second_connection_to_be_had_loads_on_one_lane() {
    let (db, peer) = setup().await;
    peer.set("crm.lead", (1..=30).map(lead).collect());
    // A pool of one: the run holds it, no second connection is free, and the run goes
    // on without one (at once: the pool's wait is not waited out).
    let (_, result) = run_leads(&db, &peer, 2, 1).await;
    let totals = result.unwrap();
    assert_eq!((totals.fetched, totals.loaded, totals.pages), (30, 30, 6));
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM canonical_leads").await,
        30
    );
}
