//! Sync runs against the Odoo peer holding records shaped like an Odoo 17 installation's
//! demo data (`odoo::odoo17`): national-format phones, fictitious numbers, an extension,
//! archived contacts, products and lost opportunities, won stages, HTML, `false` for
//! empty fields. Nothing is quarantined for a contact-field format; every opportunity
//! loads, lost ones as `lost`; every canonical row carries its raw record's id; a run
//! that finds nothing changed writes no canonical row.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/db.rs"]
#[allow(dead_code)]
mod db;
#[path = "../../tests/support/odoo.rs"]
mod odoo;

use db::TestDb;
use diesel::sql_types::{Nullable, Text};
use diesel_async::RunQueryDsl;
use odoo::{OdooPeer, odoo17};
use serde_json::json;
use tentabo_workflows::audit::AuditContext;
use tentabo_workflows::pipeline::policy::{self, Severity, SyncSettings};
use tentabo_workflows::pipeline::run::{self, Mode};

async fn setup() -> (TestDb, OdooPeer) {
    let db = TestDb::new().await;
    let peer = OdooPeer::with_credentials("sync@example.com", "s3cret").await;
    odoo17::install(&peer);
    (db, peer)
}

async fn sync(db: &TestDb, peer: &OdooPeer, model: &str, mode: Mode) -> run::Totals {
    let id = {
        let mut conn = db.conn().await;
        run::create(&mut conn, model, mode, None).await.unwrap()
    };
    let options = run::Options {
        page_size: 5,
        ..Default::default()
    };
    run::execute(
        &db.pool(2),
        &mut peer.client("sync@example.com", "s3cret"),
        id,
        options,
    )
    .await
    .unwrap()
}

async fn n(db: &TestDb, sql: &str) -> i64 {
    db.count(sql).await
}

async fn texts(db: &TestDb, sql: &str) -> Vec<(String, Option<String>)> {
    #[derive(diesel::QueryableByName)]
    struct T {
        #[diesel(sql_type = Text)]
        k: String,
        #[diesel(sql_type = Nullable<Text>)]
        v: Option<String>,
    }
    let mut conn = db.conn().await;
    diesel::sql_query(sql)
        .load::<T>(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.k, t.v))
        .collect()
}

fn codes(pairs: &[(&str, i64)]) -> std::collections::BTreeMap<String, i64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

#[tokio::test]
async fn real_partners_load_whole_with_their_phones_in_e164_or_flagged() {
    let (db, peer) = setup().await;
    let t = sync(&db, &peer, "res.partner", Mode::Full).await;
    assert_eq!(
        (t.fetched, t.quarantined),
        (21, 0),
        "nothing refused for a format"
    );
    // A number no country has, and a US number whose area code cannot start with 1:
    // kept as given, flagged.
    assert_eq!(
        (t.warned, t.warnings.clone()),
        (2, codes(&[("bad_phone", 2)]))
    );
    assert_eq!(
        n(
            &db,
            "SELECT count(*) AS n FROM canonical_organizations WHERE deleted_at IS NULL"
        )
        .await,
        8
    );
    assert_eq!(
        n(
            &db,
            "SELECT count(*) AS n FROM canonical_contacts WHERE deleted_at IS NULL"
        )
        .await,
        12
    );
    assert_eq!(
        n(&db, "SELECT count(*) AS n FROM canonical_contacts WHERE deleted_at IS NOT NULL AND external_id = '40'").await,
        1,
        "the archived contact is loaded soft-deleted"
    );
    let phones = texts(
        &db,
        "SELECT external_id AS k, phone AS v FROM canonical_contacts \
         WHERE external_id IN ('35', '36', '37', '38', '39') ORDER BY external_id",
    )
    .await;
    assert_eq!(
        phones,
        vec![
            ("35".into(), Some("+19763974091".into())),
            ("36".into(), Some("+15555555555".into())),
            ("37".into(), Some("+5 555-555-5555".into())),
            ("38".into(), Some("+15557543010;ext=12".into())),
            ("39".into(), Some("+3210588558".into())),
        ]
    );
    assert_eq!(
        texts(&db, "SELECT external_id AS k, issues::text AS v FROM canonical_contacts WHERE issues IS NOT NULL ORDER BY external_id").await,
        vec![
            (
                "31".into(),
                Some(r#"[{"code": "bad_phone", "field": "phone", "original": "(132)-553-7242"}]"#.into())
            ),
            (
                "37".into(),
                Some(r#"[{"code": "bad_phone", "field": "phone", "original": "+5 555-555-5555"}]"#.into())
            ),
        ]
    );
    assert_eq!(
        texts(
            &db,
            "SELECT external_id AS k, mobile AS v FROM canonical_contacts WHERE external_id = '41'"
        )
        .await,
        vec![("41".into(), Some("+33612345678".into()))],
        "a French mobile in national format, read in the contact's country"
    );
    assert_eq!(
        n(&db, "SELECT count(*) AS n FROM canonical_contacts WHERE organization_external_id IS NOT NULL").await,
        13,
        "contacts keep their company"
    );
}

#[tokio::test]
async fn every_opportunity_loads_lost_ones_as_lost_and_the_dashboards_count_them() {
    let (db, peer) = setup().await;
    let t = sync(&db, &peer, "crm.lead", Mode::Full).await;
    assert_eq!((t.fetched, t.loaded, t.quarantined), (12, 12, 0));
    assert_eq!(
        t.warnings,
        codes(&[("bad_phone", 1), ("unknown_stage", 1)]),
        "`+5 …` (lost lead 7) and the custom stage `Demo Scheduled` (lead 10)"
    );
    let got = texts(
        &db,
        "SELECT external_id AS k, concat_ws(' ', COALESCE(status, '-'), stage, \
                CASE WHEN deleted_at IS NULL THEN 'live' ELSE 'gone' END) AS v \
         FROM canonical_leads ORDER BY external_id::int",
    )
    .await;
    let want: Vec<(String, Option<String>)> = odoo17::LEAD_STATUS
        .iter()
        .zip(odoo17::leads())
        .map(|((id, status, gone), rec)| {
            let stage = rec["stage_id"][1].as_str().unwrap().to_owned();
            let v = format!(
                "{} {stage} {}",
                status.unwrap_or("-"),
                if *gone { "gone" } else { "live" }
            );
            (id.to_string(), Some(v))
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(
        texts(&db, "SELECT external_id AS k, lost_reason AS v FROM canonical_leads WHERE status = 'lost' ORDER BY external_id").await,
        vec![
            ("6".into(), Some("Too expensive".into())),
            ("7".into(), Some("We don't have people/skills".into())),
            ("8".into(), None),
        ]
    );
    // The lead's country reads its national phone.
    assert_eq!(
        texts(&db, "SELECT external_id AS k, contact_phone AS v FROM canonical_leads WHERE external_id IN ('1', '6') ORDER BY external_id").await,
        vec![("1".into(), Some("+16039963829".into())), ("6".into(), Some("+18038736126".into()))]
    );
    let mut conn = db.conn().await;
    tentabo_workflows::lake::refresh_serving(&mut conn, "odoo")
        .await
        .unwrap();
    assert_eq!(
        n(
            &db,
            "SELECT (sum(won_count) * 100 + sum(lost_count))::bigint AS n FROM serving_pipeline"
        )
        .await,
        303,
        "3 won (two `Won`, one in the custom won stage `Signed`), 3 lost"
    );
}

#[tokio::test]
async fn an_incremental_run_loads_exactly_the_edited_records_whatever_their_phones() {
    let (db, peer) = setup().await;
    sync(&db, &peer, "crm.lead", Mode::Full).await;
    for (id, phone) in [
        (2, "(941)-284-4875"),
        (7, "+5 555-555-5555"),
        (10, "not a phone"),
    ] {
        peer.edit("crm.lead", id, |r| {
            r.insert("name".into(), json!(format!("Edited {id}")));
            r.insert("phone".into(), json!(phone));
            r.insert("write_date".into(), json!("2024-12-01 09:00:00"));
        });
    }
    let t = sync(&db, &peer, "crm.lead", Mode::Incremental).await;
    assert_eq!((t.loaded, t.quarantined), (3, 0), "{t:?}");
    assert_eq!(
        n(
            &db,
            "SELECT count(*) AS n FROM canonical_leads WHERE title LIKE 'Edited %'"
        )
        .await,
        3
    );
}

#[tokio::test]
async fn every_canonical_row_carries_its_raw_record_id() {
    let (db, peer) = setup().await;
    for model in ["res.partner", "crm.lead", "sale.order", "product.product"] {
        let t = sync(&db, &peer, model, Mode::Full).await;
        assert_eq!(t.quarantined, 0, "{model}: {t:?}");
    }
    for (table, model, rows) in [
        ("canonical_organizations", "res.partner", 8),
        ("canonical_contacts", "res.partner", 13),
        ("canonical_leads", "crm.lead", 12),
        ("canonical_orders", "sale.order", 2),
        ("canonical_products", "product.product", 3),
    ] {
        let sql = format!(
            "SELECT count(*) AS n FROM {table} c JOIN raw_records r ON r.id = c.raw_record_id \
             AND r.provider = c.provider AND r.entity = '{model}' AND r.external_id = c.external_id \
             AND r.content_hash = c.content_hash"
        );
        assert_eq!(n(&db, &sql).await, rows, "{table}");
        assert_eq!(
            n(
                &db,
                &format!("SELECT count(*) AS n FROM {table} WHERE raw_record_id IS NULL")
            )
            .await,
            0,
            "{table}"
        );
    }
    assert_eq!(
        n(&db, "SELECT count(*) AS n FROM canonical_products WHERE deleted_at IS NOT NULL AND NOT active").await,
        1,
        "the archived product is soft-deleted"
    );
    // An edit: the row points at the raw record's new version (same raw row, new hash).
    peer.edit("res.partner", 10, |r| {
        r.insert("name".into(), json!("Deco Addict Inc"));
        r.insert("write_date".into(), json!("2024-12-01 09:00:00"));
    });
    sync(&db, &peer, "res.partner", Mode::Incremental).await;
    assert_eq!(
        n(&db, "SELECT count(*) AS n FROM canonical_organizations c JOIN raw_records r ON r.id = c.raw_record_id \
                AND r.content_hash = c.content_hash WHERE c.name = 'Deco Addict Inc'").await,
        1
    );
}

#[tokio::test]
async fn a_full_run_that_finds_nothing_changed_writes_no_canonical_row() {
    let (db, peer) = setup().await;
    sync(&db, &peer, "res.partner", Mode::Full).await;
    let versions = "SELECT 'all' AS k, string_agg(external_id || ':' || xmin::text, ',' ORDER BY external_id) AS v \
                    FROM (SELECT external_id, xmin FROM canonical_organizations \
                          UNION ALL SELECT external_id, xmin FROM canonical_contacts) t";
    let before = texts(&db, versions).await;
    let raw_versions = "SELECT 'raw' AS k, string_agg(external_id || ':' || xmin::text, ',' ORDER BY external_id) AS v \
                        FROM raw_records WHERE entity = 'res.partner'";
    let raw_before = texts(&db, raw_versions).await;
    let t = sync(&db, &peer, "res.partner", Mode::Full).await;
    assert_eq!(
        (t.fetched, t.unchanged, t.loaded, t.deleted),
        (21, 21, 0, 0)
    );
    assert_eq!(texts(&db, versions).await, before, "no row version changed");
    assert_eq!(
        texts(&db, raw_versions).await,
        raw_before,
        "no raw row rewritten"
    );
    assert_eq!(
        n(&db, "SELECT count(*) AS n FROM sync_run_keys").await,
        0,
        "the key set goes with the run"
    );
    // Two edits, one of them a contact (checked against the canonical zone): the pages
    // after the first check hashes before staging, and load exactly those two.
    for (id, name) in [(13, "The Jackson Group Ltd"), (41, "Camille Martin-Durand")] {
        peer.edit("res.partner", id, |r| {
            r.insert("name".into(), json!(name));
        });
    }
    let t = sync(&db, &peer, "res.partner", Mode::Full).await;
    assert_eq!(
        (t.fetched, t.unchanged, t.loaded, t.quarantined),
        (21, 19, 2, 0),
        "{t:?}"
    );
    assert_eq!(
        texts(&db, "SELECT external_id AS k, name AS v FROM canonical_organizations WHERE external_id = '13' \
                    UNION ALL SELECT external_id, name FROM canonical_contacts WHERE external_id = '41'").await,
        vec![("13".into(), Some("The Jackson Group Ltd".into())), ("41".into(), Some("Camille Martin-Durand".into()))]
    );
    // The source drops a company: the next full run deletes it, and only it.
    peer.state
        .models
        .lock()
        .unwrap()
        .get_mut("res.partner")
        .unwrap()
        .retain(|p| p["id"] != json!(14));
    let t = sync(&db, &peer, "res.partner", Mode::Full).await;
    assert_eq!((t.loaded, t.deleted), (0, 1));
    assert_eq!(
        n(
            &db,
            "SELECT count(*) AS n FROM canonical_organizations WHERE deleted_at IS NOT NULL"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn contact_formats_are_errors_when_the_settings_say_so() {
    let (db, peer) = setup().await;
    let mut conn = db.conn().await;
    let strict = SyncSettings {
        severity: [("bad_phone".to_owned(), Severity::Error)].into(),
        ..Default::default()
    };
    policy::store(&mut conn, &AuditContext::default(), "odoo", &strict)
        .await
        .unwrap();
    let t = sync(&db, &peer, "res.partner", Mode::Full).await;
    assert_eq!(
        (t.quarantined, t.reasons.clone()),
        (2, codes(&[("bad_phone", 2)]))
    );
    // A national number and no country anywhere: refused too.
    peer.edit("res.partner", 42, |r| {
        r.insert("country_code".into(), json!(false));
        r.insert("write_date".into(), json!("2024-12-01 09:00:00"));
    });
    let t = sync(&db, &peer, "res.partner", Mode::Incremental).await;
    assert_eq!(t.quarantined, 1, "{t:?}");
    // Unless the provider's default country reads it.
    let us = SyncSettings {
        default_country: Some("US".into()),
        ..strict
    };
    policy::store(&mut conn, &AuditContext::default(), "odoo", &us)
        .await
        .unwrap();
    peer.edit("res.partner", 42, |r| {
        r.insert("write_date".into(), json!("2024-12-02 09:00:00"));
    });
    let t = sync(&db, &peer, "res.partner", Mode::Incremental).await;
    assert_eq!((t.loaded, t.quarantined), (1, 0), "{t:?}");
    assert_eq!(
        texts(
            &db,
            "SELECT external_id AS k, phone AS v FROM canonical_contacts WHERE external_id = '42'"
        )
        .await,
        vec![("42".into(), Some("+13125550199".into()))]
    );
    assert_eq!(
        n(&db, "SELECT count(*) AS n FROM quarantine WHERE external_id = '42' AND resolution = 'loaded'").await,
        1,
        "its quarantine row is resolved by the run that loaded it"
    );
}
