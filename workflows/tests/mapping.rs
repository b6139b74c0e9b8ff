//! Field mappings against the Odoo peer and a real Postgres: the engine alone proposes
//! the seeded default Odoo mapping from the peer's `fields_get`; an approved version
//! changes the next run's canonical rows (extras included); a replay rebuilds an
//! object's canonical zone from the raw zone with no call to the source, and
//! re-approving the previous version brings its rows back; bad decisions change
//! nothing.

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
use tentabo_workflows::WorkflowError;
use tentabo_workflows::audit::AuditContext;
use tentabo_workflows::mapping::engine::{self, Learned, SourceField};
use tentabo_workflows::mapping::rules::{self, Transform};
use tentabo_workflows::mapping::sources;
use tentabo_workflows::mapping::store::{self, Decision, VersionDetail};
use tentabo_workflows::pipeline::Entity;
use tentabo_workflows::pipeline::run::{self, Mode, ReplayOutcome};

async fn live_fields(peer: &OdooPeer, model: &str) -> Vec<SourceField> {
    let described = peer
        .client("sync@example.com", "s3cret")
        .fields_get(model)
        .await
        .unwrap();
    sources::from_odoo(&described)
        .into_iter()
        .filter(|f| f.mappable)
        .map(|f| f.field)
        .collect()
}

#[tokio::test]
async fn from_fields_get_alone_the_engine_proposes_the_default_odoo_mapping() {
    let peer = OdooPeer::with_credentials("sync@example.com", "s3cret").await;
    odoo17::install(&peer);
    let (mut right, mut total) = (0, 0);
    for (object, entity) in rules::objects("odoo") {
        let fields = live_fields(&peer, object).await;
        let proposals = engine::propose_excluding(
            entity.as_str(),
            &fields,
            &Learned::default(),
            rules::derived("odoo", object, *entity),
        )
        .unwrap();
        let defaults = rules::defaults("odoo", object, *entity).unwrap();
        for rule in &defaults {
            let p = proposals
                .iter()
                .find(|p| p.source_field == rule.source)
                .unwrap_or_else(|| panic!("{object}.{} is not in fields_get", rule.source));
            total += 1;
            if p.target_field == rule.target {
                right += 1;
            } else {
                println!(
                    "{object} → {}: {} proposed {:?} ({:.2}: {}), default {:?}",
                    entity.as_str(),
                    rule.source,
                    p.target_field,
                    p.confidence,
                    p.reason,
                    rule.target
                );
            }
        }
        // No confident proposal is wrong: every one at or above the auto-approval
        // threshold writes a target some default rule of that source writes.
        for p in proposals.iter().filter(|p| p.confidence >= 0.9) {
            let targets: Vec<&Option<String>> = defaults
                .iter()
                .filter(|r| r.source == p.source_field)
                .map(|r| &r.target)
                .collect();
            assert!(
                targets.contains(&&p.target_field),
                "{object}: an auto-approvable mistake: {p:?}"
            );
        }
    }
    let share = right as f64 / total as f64;
    println!("top-1 against the default Odoo mapping: {right}/{total} = {share:.3}");
    assert!(share >= 0.9, "top-1 {share:.3} < 0.9");
}

fn ctx() -> AuditContext {
    AuditContext {
        actor_id: None,
        request_id: Some("test".into()),
        client_ip: None,
    }
}

async fn sync(db: &TestDb, peer: &OdooPeer, model: &str, mode: Mode) -> run::Totals {
    let id = {
        let mut conn = db.conn().await;
        run::create(&mut conn, model, mode, None).await.unwrap()
    };
    run::execute(
        &db.pool(2),
        &mut peer.client("sync@example.com", "s3cret"),
        id,
        run::Options {
            page_size: 5,
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

#[derive(diesel::QueryableByName, Debug, PartialEq)]
struct ContactRow {
    #[diesel(sql_type = Text)]
    external_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    phone: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    job_title: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    segment: Option<String>,
}

async fn contact(db: &TestDb, id: i64) -> ContactRow {
    diesel::sql_query(format!(
        "SELECT external_id, phone, job_title, extras->>'x_studio_segment' AS segment \
         FROM canonical_contacts WHERE provider = 'odoo' AND external_id = '{id}'"
    ))
    .get_result(&mut db.conn().await)
    .await
    .unwrap()
}

fn rule_id(v: &VersionDetail, source: &str) -> i64 {
    v.rules
        .iter()
        .find(|r| r.source_field == source)
        .unwrap_or_else(|| panic!("no rule for {source}"))
        .id
}

fn decision(rule_id: i64, status: &str, target: Option<Option<&str>>) -> Decision {
    Decision {
        rule_id,
        status: status.into(),
        target_field: target.map(|t| t.map(str::to_owned)),
        transform: None,
        value_map: None,
    }
}

#[tokio::test]
async fn an_approved_version_changes_the_next_run_and_a_replay_rebuilds_the_rest() {
    let db = TestDb::new().await;
    let peer = OdooPeer::with_credentials("sync@example.com", "s3cret").await;
    odoo17::install(&peer);
    sync(&db, &peer, "res.partner", Mode::Full).await;
    let before = contact(&db, 41).await;
    assert_eq!(before.phone, None, "Camille has no phone, only a mobile");
    assert_eq!(before.job_title.as_deref(), Some("Purchase Manager"));
    assert_eq!(before.segment, None);

    // The installation adds a Studio field; the next proposal keeps it in extras, a
    // person maps the mobile to the phone and drops the job position.
    peer.edit_all("res.partner", |r| {
        let segment = if r["id"].as_i64().unwrap() % 2 == 0 {
            "ent"
        } else {
            "smb"
        };
        r.insert("x_studio_segment".into(), json!(segment));
    });
    let mut fields = live_fields(&peer, "res.partner").await;
    let mut conn = db.conn().await;
    sources::add_samples(&mut conn, "odoo", "res.partner", &mut fields)
        .await
        .unwrap();
    let proposals =
        engine::propose_excluding("contact", &fields, &Learned::default(), &[]).unwrap();
    let draft = store::create_proposed(
        &mut conn,
        &ctx(),
        "odoo",
        "res.partner",
        Entity::Contact,
        &fields,
        proposals,
        0.9,
    )
    .await
    .unwrap();
    assert_eq!(draft.version.status, "draft");
    assert_eq!(draft.version.version, 2, "the seeded default is version 1");
    assert!(draft.version.proposed > 0 && draft.version.approved > 0);

    // Bad decisions: refused whole, nothing stored.
    let bad = store::decide(
        &mut conn,
        &ctx(),
        draft.version.id,
        &[
            decision(rule_id(&draft, "mobile"), "approved", Some(Some("email"))),
            decision(
                rule_id(&draft, "ref"),
                "approved",
                Some(Some("favourite_colour")),
            ),
            decision(999_999, "approved", None),
            decision(rule_id(&draft, "city"), "maybe", None),
        ],
    )
    .await
    .unwrap_err();
    let WorkflowError::Validation(errors) = bad else {
        panic!("{bad:?}")
    };
    assert_eq!(
        errors.0["decisions.0.target_field"],
        ["target_taken"],
        "{errors:?}"
    );
    assert_eq!(
        errors.0["decisions.1.target_field"],
        ["unknown_target"],
        "{errors:?}"
    );
    assert_eq!(
        errors.0["decisions.2.rule_id"],
        ["unknown_rule"],
        "{errors:?}"
    );
    assert_eq!(
        errors.0["decisions.3.status"],
        ["invalid_choice"],
        "{errors:?}"
    );
    assert_eq!(
        store::get(&mut conn, draft.version.id).await.unwrap(),
        draft
    );
    assert_eq!(
        db.count("SELECT count(*) AS n FROM mapping_feedback").await,
        0
    );

    let decided = store::decide(
        &mut conn,
        &ctx(),
        draft.version.id,
        &[
            decision(rule_id(&draft, "phone"), "rejected", None),
            decision(rule_id(&draft, "mobile"), "approved", Some(Some("phone"))),
            decision(rule_id(&draft, "function"), "rejected", None),
            decision(rule_id(&draft, "x_studio_segment"), "approved", Some(None)),
        ],
    )
    .await
    .unwrap();
    let mobile = decided
        .rules
        .iter()
        .find(|r| r.source_field == "mobile")
        .unwrap();
    assert_eq!(
        (
            mobile.target_field.as_deref(),
            mobile.engine.as_str(),
            mobile.status.as_str()
        ),
        (Some("phone"), "person", "approved")
    );
    let segment = decided
        .rules
        .iter()
        .find(|r| r.source_field == "x_studio_segment")
        .unwrap();
    assert_eq!(segment.transform, Transform::KeepInExtras.as_str());
    // The decisions taught the engine.
    assert!(
        db.count("SELECT count(*) AS n FROM mapping_feedback WHERE votes > 0")
            .await
            >= 1
    );

    let active = store::approve(&mut conn, &ctx(), draft.version.id)
        .await
        .unwrap();
    assert_eq!(active.version.status, "active");
    assert_eq!(active.version.proposed, 0);
    assert_eq!(
        db.count(
            "SELECT count(*) AS n FROM mapping_versions WHERE object = 'res.partner' AND entity = 'contact' \
             AND version = 1 AND status = 'retired'"
        )
        .await,
        1
    );
    assert_eq!(
        db.count("SELECT count(*) AS n FROM outbox WHERE queue = 'replay_mapping'")
            .await,
        1,
        "the activation asked for a replay"
    );

    // Approving changed no row yet: the replay does, from the raw zone, without a call
    // to Odoo.
    assert_eq!(contact(&db, 41).await, before);
    let calls = peer.calls();
    let outcome = run::replay_version(
        &db.pool(3),
        draft.version.id,
        run::Options {
            page_size: 4,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(peer.calls(), calls, "a replay calls no source");
    let ReplayOutcome::Done { run_id, totals } = outcome else {
        panic!("{outcome:?}")
    };
    let raw = db
        .count("SELECT count(*) AS n FROM raw_records WHERE provider = 'odoo' AND entity = 'res.partner'")
        .await;
    assert_eq!(totals.fetched, raw);
    assert_eq!(totals.loaded + totals.quarantined, raw, "{totals:?}");
    let replayed = contact(&db, 39).await;
    assert_eq!(replayed.phone.as_deref(), Some("+32473123456"));
    assert_eq!(replayed.job_title, None);
    // Its raw body was read before the field existed: nothing to keep yet.
    assert_eq!(replayed.segment, None);
    let camille = contact(&db, 41).await;
    assert_eq!(camille.phone.as_deref(), Some("+33612345678"));
    assert_eq!(
        db.count(&format!(
            "SELECT count(*) AS n FROM sync_runs WHERE id = '{run_id}' AND mode = 'replay' AND status = 'succeeded'"
        ))
        .await,
        1
    );
    // The next run reads the new field (the active version asks for it) and maps what
    // it reads with the new version.
    peer.edit("res.partner", 41, |r| {
        r.insert("write_date".into(), json!("2030-01-01 00:00:00"));
    });
    sync(&db, &peer, "res.partner", Mode::Incremental).await;
    let after = contact(&db, 41).await;
    assert_eq!(after.phone.as_deref(), Some("+33612345678"));
    assert_eq!(after.job_title, None);
    assert_eq!(after.segment.as_deref(), Some("smb"));
    // A replay leaves the model's watermark alone, and the archived contact stays gone.
    assert_eq!(
        db.count("SELECT count(*) AS n FROM canonical_contacts WHERE external_id = '40' AND deleted_at IS NOT NULL")
            .await,
        1
    );
    // A second delivery of the job finds its run ended: nothing more.
    let again = run::replay_version(&db.pool(2), draft.version.id, run::Options::default())
        .await
        .unwrap();
    assert!(matches!(again, ReplayOutcome::Done { run_id: r, .. } if r == run_id));

    // Re-approving version 1 (retired) brings the default rows back by a replay.
    let v1: uuid::Uuid = store::list(&mut conn, "odoo", "res.partner", Entity::Contact)
        .await
        .unwrap()
        .into_iter()
        .find(|v| v.version == 1)
        .unwrap()
        .id;
    store::approve(&mut conn, &ctx(), v1).await.unwrap();
    let superseded = run::replay_version(&db.pool(2), draft.version.id, run::Options::default())
        .await
        .unwrap();
    assert!(
        matches!(superseded, ReplayOutcome::Done { run_id: r, .. } if r == run_id),
        "the old job keeps its ended run"
    );
    run::replay_version(&db.pool(3), v1, run::Options::default())
        .await
        .unwrap();
    let back = contact(&db, 41).await;
    assert_eq!(back.phone, None);
    assert_eq!(back.job_title.as_deref(), Some("Purchase Manager"));
    assert_eq!(back.segment, None, "extras follow the mapping");
    // An active or rejected version cannot be approved; a draft only is rejected.
    let e = store::approve(&mut conn, &ctx(), v1).await.unwrap_err();
    assert!(
        matches!(
            e,
            WorkflowError::Conflict {
                code: "mapping_version_not_approvable",
                ..
            }
        ),
        "{e:?}"
    );
    let e = store::reject(&mut conn, &ctx(), v1).await.unwrap_err();
    assert!(
        matches!(
            e,
            WorkflowError::Conflict {
                code: "mapping_version_not_draft",
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_replay_rebuilds_100000_canonical_rows_from_raw_with_no_source_call() {
    let db = TestDb::new().await;
    // 100,000 opportunities in the raw zone, as a sync would have stored them.
    diesel::sql_query(
        "WITH b AS (SELECT n, json_build_object('id', n, 'name', 'Lead ' || n, 'active', true, \
             'partner_name', 'Company ' || (n % 977), 'email_from', 'buyer' || n || '@example.com', \
             'expected_revenue', (n % 5000) * 10 + 0.5, 'probability', 20, \
             'stage_id', json_build_array(1, 'New'), 'user_id', false, \
             'x_studio_tier', CASE WHEN n % 3 = 0 THEN 'gold' ELSE 'silver' END, \
             'create_date', '2025-01-01 00:00:00', 'write_date', '2025-01-02 00:00:00')::text AS body \
           FROM generate_series(1, 100000) AS n) \
         INSERT INTO raw_records (provider, entity, external_id, content_hash, body) \
         SELECT 'odoo', 'crm.lead', n::text, sha256(convert_to(body, 'UTF8')), body::json FROM b",
    )
    .execute(&mut db.conn().await)
    .await
    .unwrap();
    let mut conn = db.conn().await;
    // A version keeping the tier in extras, approved by hand.
    let mut fields = live_fields_for_lead();
    sources::add_samples(&mut conn, "odoo", "crm.lead", &mut fields)
        .await
        .unwrap();
    let tier = fields.iter().find(|f| f.name == "x_studio_tier").unwrap();
    assert_eq!(tier.samples.len(), 2, "{:?}", tier.samples);
    let proposals = engine::propose_excluding(
        "lead",
        &fields,
        &Learned::default(),
        rules::derived("odoo", "crm.lead", Entity::Lead),
    )
    .unwrap();
    let draft = store::create_proposed(
        &mut conn,
        &ctx(),
        "odoo",
        "crm.lead",
        Entity::Lead,
        &fields,
        proposals,
        0.9,
    )
    .await
    .unwrap();
    store::approve(&mut conn, &ctx(), draft.version.id)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let outcome = run::replay_version(&db.pool(3), draft.version.id, run::Options::default())
        .await
        .unwrap();
    let ReplayOutcome::Done { totals, .. } = outcome else {
        panic!("{outcome:?}")
    };
    println!(
        "replayed {} raw records in {:.1} s ({totals:?})",
        totals.fetched,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(totals.fetched, 100_000);
    assert_eq!(totals.loaded, 100_000, "{totals:?}");
    assert_eq!(
        db.count("SELECT count(*) AS n FROM canonical_leads WHERE provider = 'odoo'")
            .await,
        100_000
    );
    assert_eq!(
        db.count(
            "SELECT count(*) AS n FROM canonical_leads WHERE extras->>'x_studio_tier' = 'gold'"
        )
        .await,
        33_333
    );
    assert_eq!(
        db.count(
            "SELECT count(*) AS n FROM canonical_leads WHERE title = 'Lead 77' AND value = 770.5"
        )
        .await,
        1
    );
}

/// `crm.lead`'s fields as Odoo 17 describes them, plus the Studio field of the test.
fn live_fields_for_lead() -> Vec<SourceField> {
    let mut described = odoo17::fields("crm.lead").unwrap();
    described.insert(
        "x_studio_tier".into(),
        json!({ "string": "Partner Tier", "type": "selection", "store": true,
                "selection": [["gold", "Gold"], ["silver", "Silver"]] }),
    );
    sources::from_odoo(&serde_json::Value::Object(described))
        .into_iter()
        .filter(|f| f.mappable)
        .map(|f| f.field)
        .collect()
}

#[tokio::test]
async fn a_selection_value_map_and_a_changed_target_reach_the_canonical_rows() {
    let db = TestDb::new().await;
    let peer = OdooPeer::with_credentials("sync@example.com", "s3cret").await;
    odoo17::install(&peer);
    sync(&db, &peer, "res.partner", Mode::Full).await;
    sync(&db, &peer, "sale.order", Mode::Full).await;
    #[derive(diesel::QueryableByName)]
    struct Order {
        #[diesel(sql_type = Text)]
        external_id: String,
        #[diesel(sql_type = Nullable<Text>)]
        status: Option<String>,
    }
    async fn orders(db: &TestDb) -> Vec<(String, Option<String>)> {
        diesel::sql_query("SELECT external_id, status FROM canonical_orders ORDER BY external_id")
            .load::<Order>(&mut db.conn().await)
            .await
            .unwrap()
            .into_iter()
            .map(|o| (o.external_id, o.status))
            .collect()
    }
    let before = orders(&db).await;
    assert_eq!(before[0].1.as_deref(), Some("sale"), "{before:?}");

    let mut conn = db.conn().await;
    let fields = live_fields(&peer, "sale.order").await;
    let proposals = engine::propose_excluding("order", &fields, &Learned::default(), &[]).unwrap();
    let draft = store::create_proposed(
        &mut conn,
        &ctx(),
        "odoo",
        "sale.order",
        Entity::Order,
        &fields,
        proposals,
        0.9,
    )
    .await
    .unwrap();
    // Odoo's states in the installation's words.
    let mut map = Decision {
        value_map: Some(
            [("sale", "confirmed"), ("draft", "quotation")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        ),
        ..decision(rule_id(&draft, "state"), "approved", Some(Some("status")))
    };
    map.transform = Some("selection".into());
    let too_big = Decision {
        value_map: Some(
            (0..501)
                .map(|i| (format!("k{i}"), "v".to_owned()))
                .collect(),
        ),
        ..decision(rule_id(&draft, "state"), "approved", None)
    };
    let e = store::decide(&mut conn, &ctx(), draft.version.id, &[too_big])
        .await
        .unwrap_err();
    assert!(
        matches!(&e, WorkflowError::Validation(f) if f.0["decisions.0.value_map"] == ["too_many"]),
        "{e:?}"
    );
    let decided = store::decide(&mut conn, &ctx(), draft.version.id, &[map])
        .await
        .unwrap();
    let state = decided
        .rules
        .iter()
        .find(|r| r.source_field == "state")
        .unwrap();
    assert_eq!(
        state.value_map,
        json!({ "sale": "confirmed", "draft": "quotation" })
    );
    store::approve(&mut conn, &ctx(), draft.version.id)
        .await
        .unwrap();
    let ReplayOutcome::Done { totals, .. } =
        run::replay_version(&db.pool(3), draft.version.id, run::Options::default())
            .await
            .unwrap()
    else {
        panic!("no replay")
    };
    assert_eq!(totals.quarantined, 0, "{totals:?}");
    let after = orders(&db).await;
    let status = |id: &str| after.iter().find(|o| o.0 == id).unwrap().1.clone();
    assert_eq!(status("1").as_deref(), Some("confirmed"), "{after:?}");
    assert_eq!(status("2").as_deref(), Some("quotation"), "{after:?}");
}
