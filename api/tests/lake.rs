//! The data lake over HTTP after real sync runs from the Odoo test peer: serving
//! aggregates and dashboards in each caller's scope, browsing the raw (admins),
//! canonical and serving zones, local edits and the three conflict policies, owner links,
//! and the run's estimate and stage timings.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/odoo.rs"]
mod odoo;
#[path = "../../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use app::TestApp;
use diesel_async::RunQueryDsl;
use odoo::OdooPeer;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Map, Value, json};
use tentabo_workflows::pipeline::load::ConflictPolicy;
use tentabo_workflows::pipeline::run::{self, Mode};
use tentabo_workflows::providers::odoo::{OdooClient, OdooConfig};
use tentabo_workflows::retry::RetryPolicy;

const ADMIN: &str = "superadmin@salescommand.com";
const PARTNER: &str = "am1@salescommand.com"; // Acme Partner, attached to Demo Distribution
const DISTRIBUTOR: &str = "distributor@salescommand.com";
const FULFILLER: &str = "fulfiller@salescommand.com";

/// A crm.lead as Odoo sends it (a lost one archived, at probability 0, with a reason).
fn lead(
    id: i64,
    user: i64,
    stage: &str,
    revenue: &str,
    closed: Option<&str>,
    lost: bool,
) -> Map<String, Value> {
    let text = format!(
        r#"{{"id": {id}, "name": "Lead {id}", "partner_name": "Client {id}", "contact_name": false,
            "email_from": "buyer{id}@client.example", "phone": false, "expected_revenue": {revenue},
            "company_currency": [1, "EUR"], "probability": {probability}, "active": {active}, "date_deadline": false,
            "user_id": [{user}, "User {user}"], "source_id": false,
            "lost_reason_id": {lost}, "stage_id": [3, "{stage}"], "date_closed": {closed},
            "create_date": "2026-01-01 08:00:00", "write_date": "2026-01-02 08:00:{id:02}"}}"#,
        lost = if lost {
            r#"[1, "Too expensive"]"#
        } else {
            "false"
        },
        closed = closed.map_or("false".to_owned(), |c| format!("\"{c}\"")),
        probability = if lost { 0 } else { 50 },
        active = !lost,
    );
    serde_json::from_str(&text).unwrap()
}

/// Owners: 10 sells for Acme, 20 for Demo Distribution, 30 for Gamma, 40 for nobody.
fn leads() -> Vec<Map<String, Value>> {
    vec![
        lead(1, 10, "New", "1000", None, false),
        lead(2, 10, "New", "1000", None, false),
        lead(3, 10, "Won", "5000", Some("2026-03-10 10:00:00"), false),
        lead(4, 10, "New", "700", Some("2026-03-11 10:00:00"), true),
        lead(5, 20, "Won", "3000", Some("2026-04-02 10:00:00"), false),
        lead(6, 20, "Qualified", "2000", None, false),
        lead(7, 30, "Won", "9000", Some("2026-03-20 10:00:00"), false),
        lead(8, 40, "Qualified", "100", None, false),
    ]
}

struct Lake {
    app: TestApp,
    peer: OdooPeer,
    admin: String,
}

impl Lake {
    async fn new() -> Lake {
        let app = TestApp::seeded().await;
        let peer = OdooPeer::with_credentials("sync", "pw").await;
        peer.set("crm.lead", leads());
        let admin = app.token(ADMIN).await;
        Lake { app, peer, admin }
    }

    /// One run of crm.lead to its end; returns the run's id.
    async fn sync(&self, mode: Mode, policy: ConflictPolicy) -> uuid::Uuid {
        let pool = self.app.db.pool(2);
        let id = {
            let mut conn = self.app.db.conn().await;
            run::create(&mut conn, "crm.lead", mode, None)
                .await
                .unwrap()
        };
        let mut client = OdooClient::new(
            OdooConfig {
                url: self.peer.url(),
                database: "prod".into(),
                login: "sync".into(),
                password: SecretString::from("pw".to_owned()),
                timeout: Duration::from_secs(5),
                retry: RetryPolicy::default(),
                max_attempts: 2,
                rate_limit_per_second: None,
            },
            tentabo_workflows::outbound::Outbound::standalone(),
        );
        let options = run::Options {
            page_size: 3,
            look_back: Duration::from_secs(0),
            conflicts: policy,
            ..Default::default()
        };
        let totals = run::execute(&pool, &mut client, id, options).await.unwrap();
        // A run that changed leads asks for the serving refresh in its last transaction;
        // run it as the worker would.
        let mut conn = self.app.db.conn().await;
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let asked: N = diesel::sql_query(format!(
            "SELECT count(*) AS n FROM outbox WHERE queue = 'refresh_serving' \
             AND idempotency_key = 'refresh_serving:sync_run:{id}'"
        ))
        .get_result(&mut conn)
        .await
        .unwrap();
        assert_eq!(asked.n, i64::from(totals.loaded + totals.deleted > 0));
        tentabo_workflows::lake::refresh_serving(&mut conn, "odoo")
            .await
            .unwrap();
        id
    }

    async fn link(&self, owner: &str, body: Value) {
        let (status, b) = self
            .app
            .call(
                &self.admin,
                Method::PUT,
                &format!("/api/v1/sync/owners/odoo/{owner}"),
                Some(body),
            )
            .await;
        assert_eq!(status, 200, "{b}");
    }

    async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        self.app.call(token, Method::GET, path, None).await
    }

    /// Every page of a lake listing, following the cursors.
    async fn all_pages(&self, token: &str, path: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let sep = if path.contains('?') { '&' } else { '?' };
            let url = match &cursor {
                Some(c) => format!("{path}{sep}limit=3&cursor={c}"),
                None => format!("{path}{sep}limit=3"),
            };
            let (status, body) = self.get(token, &url).await;
            assert_eq!(status, 200, "{url}: {body}");
            out.extend(body["items"].as_array().unwrap().iter().cloned());
            match body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return out,
            }
        }
    }

    /// Links the owners to the demo organisations and syncs everything.
    async fn loaded() -> Lake {
        let lake = Lake::new().await;
        let acme = lake.app.id_of("partners", "name", "Acme Partner").await;
        let gamma = lake.app.id_of("partners", "name", "Gamma Partner").await;
        let dist = lake
            .app
            .id_of("distributors", "name", "Demo Distribution")
            .await;
        lake.link("10", json!({ "partner_id": acme })).await;
        lake.link("20", json!({ "distributor_id": dist })).await;
        lake.link("30", json!({ "partner_id": gamma })).await;
        lake.sync(Mode::Full, ConflictPolicy::SourceWins).await;
        lake
    }
}

fn ids(rows: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = rows
        .iter()
        .map(|r| r["external_id"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn dashboards_show_each_caller_its_scope() {
    let lake = Lake::loaded().await;
    let partner = lake.app.token(PARTNER).await;
    let distributor = lake.app.token(DISTRIBUTOR).await;
    let fulfiller = lake.app.token(FULFILLER).await;

    // Win rate: won / (won + lost).
    let rate = async |token: &str| {
        let (s, r) = lake.get(token, "/api/v1/dashboard/win-rate").await;
        assert_eq!(s, 200, "{r}");
        (r["won"].clone(), r["lost"].clone(), r["rate"].clone())
    };
    assert_eq!(rate(&lake.admin).await, (json!(3), json!(1), json!("0.75")));
    assert_eq!(rate(&partner).await, (json!(1), json!(1), json!("0.5")));
    assert_eq!(
        rate(&distributor).await,
        (json!(2), json!(1), json!("0.6667"))
    );
    assert_eq!(
        lake.get(&fulfiller, "/api/v1/dashboard/win-rate").await.0,
        403
    );

    // Won revenue by month of closing.
    let (_, rev) = lake.get(&lake.admin, "/api/v1/dashboard/won-revenue").await;
    let months: Vec<(String, String, i64)> = rev["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["month"].as_str().unwrap().to_owned(),
                m["revenue"].as_str().unwrap().to_owned(),
                m["won_count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        months,
        vec![
            ("2026-03-01".into(), "14000.00".into(), 2),
            ("2026-04-01".into(), "3000.00".into(), 1)
        ]
    );
    let (_, rev) = lake.get(&partner, "/api/v1/dashboard/won-revenue").await;
    assert_eq!(rev["items"].as_array().unwrap().len(), 1);
    assert_eq!(rev["items"][0]["revenue"], json!("5000.00"));
    let (_, rev) = lake
        .get(&distributor, "/api/v1/dashboard/won-revenue")
        .await;
    assert_eq!(rev["items"].as_array().unwrap().len(), 2, "{rev}");

    // Pipeline value by stage and owner.
    let (_, pipe) = lake.get(&partner, "/api/v1/dashboard/pipeline").await;
    let rows: Vec<(String, String, i64, String)> = pipe["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap().to_owned(),
                r["owner_external_id"].as_str().unwrap().to_owned(),
                r["lead_count"].as_i64().unwrap(),
                r["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("lost".into(), "10".into(), 1, "700.00".into()),
            ("new".into(), "10".into(), 2, "2000.00".into()),
            ("won".into(), "10".into(), 1, "5000.00".into())
        ]
    );
    let (_, pipe) = lake.get(&lake.admin, "/api/v1/dashboard/pipeline").await;
    let owners: std::collections::BTreeSet<&str> = pipe["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["owner_external_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        owners.into_iter().collect::<Vec<_>>(),
        vec!["10", "20", "30", "40"],
        "admins also see unlinked owners"
    );

    // The serving zone follows a later load: a lead won in the source.
    lake.peer.edit("crm.lead", 6, |r| {
        r.insert("stage_id".into(), json!([4, "Won"]));
        r.insert("date_closed".into(), json!("2026-04-15 09:00:00"));
        r.insert("write_date".into(), json!("2026-02-01 00:00:00"));
    });
    lake.sync(Mode::Incremental, ConflictPolicy::SourceWins)
        .await;
    let (_, dist) = lake.get(&distributor, "/api/v1/dashboard/win-rate").await;
    assert_eq!(
        (dist["won"].clone(), dist["lost"].clone()),
        (json!(3), json!(1)),
        "{dist}"
    );
    let (_, rows) = lake
        .get(&distributor, "/api/v1/data-lake/serving/won_revenue")
        .await;
    let april: Vec<&Value> = rows["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["month"] == json!("2026-04-01"))
        .collect();
    assert_eq!(april.len(), 1, "{rows}");
    assert_eq!(april[0]["revenue"], json!("5000.00"), "money as a string");
    assert_eq!(
        lake.get(&partner, "/api/v1/data-lake/serving/nope").await.0,
        404
    );
}

#[tokio::test]
async fn browsing_the_zones_respects_the_caller_scope() {
    let lake = Lake::loaded().await;
    let partner = lake.app.token(PARTNER).await;
    let distributor = lake.app.token(DISTRIBUTOR).await;

    let all = lake
        .all_pages(&lake.admin, "/api/v1/data-lake/canonical/lead")
        .await;
    assert_eq!(
        ids(&all),
        vec!["1", "2", "3", "4", "5", "6", "7", "8"],
        "every row once across pages"
    );
    assert!(all[0].get("content_hash").is_none());
    let mine = lake
        .all_pages(&partner, "/api/v1/data-lake/canonical/lead?provider=odoo")
        .await;
    assert_eq!(ids(&mine), vec!["1", "2", "3", "4"]);
    let dist = lake
        .all_pages(&distributor, "/api/v1/data-lake/canonical/lead")
        .await;
    assert_eq!(ids(&dist), vec!["1", "2", "3", "4", "5", "6"]);
    let lead3 = all.iter().find(|r| r["external_id"] == json!("3")).unwrap();
    assert_eq!(
        (
            lead3["value"].clone(),
            lead3["currency"].clone(),
            lead3["owner_external_id"].clone()
        ),
        (json!("5000.00"), json!("EUR"), json!("10"))
    );

    // Organizations carry no owner: admins only.
    assert_eq!(
        lake.get(&partner, "/api/v1/data-lake/canonical/organization")
            .await
            .0,
        403
    );
    assert_eq!(
        lake.get(&lake.admin, "/api/v1/data-lake/canonical/organization")
            .await
            .0,
        200
    );
    assert_eq!(
        lake.get(&lake.admin, "/api/v1/data-lake/canonical/nothing")
            .await
            .0,
        404
    );

    // The raw zone is for admins, byte-exact.
    assert_eq!(lake.get(&partner, "/api/v1/data-lake/raw").await.0, 403);
    let raw = lake
        .all_pages(&lake.admin, "/api/v1/data-lake/raw?source=crm.lead")
        .await;
    assert_eq!(raw.len(), 8);
    assert_eq!(raw[0]["body"]["user_id"], json!([10, "User 10"]));
    assert_eq!(
        lake.all_pages(&lake.admin, "/api/v1/data-lake/raw?source=res.partner")
            .await
            .len(),
        0
    );

    // Bad listing parameters are refused, not ignored.
    let (s, b) = lake
        .get(&lake.admin, "/api/v1/data-lake/raw?cursor=%21%21")
        .await;
    assert_eq!(s, 422, "{b}");
    assert_eq!(
        b["error"]["details"]["fields"]["cursor"],
        json!(["invalid_cursor"])
    );
    assert_eq!(
        lake.get(&lake.admin, "/api/v1/data-lake/canonical/lead?limit=0")
            .await
            .0,
        422
    );
    assert_eq!(
        lake.get(&lake.admin, "/api/v1/data-lake/canonical/lead?colour=red")
            .await
            .0,
        422
    );

    // Owner links: admins only, one organisation each.
    let (s, _) = lake
        .app
        .call(
            &partner,
            Method::PUT,
            "/api/v1/sync/owners/odoo/40",
            Some(json!({ "partner_id": uuid::Uuid::new_v4() })),
        )
        .await;
    assert_eq!(s, 403);
    let (s, b) = lake
        .app
        .call(
            &lake.admin,
            Method::PUT,
            "/api/v1/sync/owners/odoo/40",
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 422, "{b}");
    let (s, b) = lake
        .app
        .call(
            &lake.admin,
            Method::PUT,
            "/api/v1/sync/owners/odoo/40",
            Some(json!({ "partner_id": uuid::Uuid::new_v4() })),
        )
        .await;
    assert_eq!(
        (s, b["error"]["details"]["fields"]["partner_id"].clone()),
        (422, json!(["unknown_organisation"]))
    );
    let (s, b) = lake
        .app
        .call(
            &lake.admin,
            Method::PUT,
            "/api/v1/sync/owners/odoo/%20",
            Some(json!({ "partner_id": uuid::Uuid::new_v4() })),
        )
        .await;
    assert_eq!(
        (
            s,
            b["error"]["details"]["fields"]["owner_external_id"].clone()
        ),
        (422, json!(["required"]))
    );
    let (_, links) = lake.get(&lake.admin, "/api/v1/sync/owners").await;
    assert_eq!(links["items"].as_array().unwrap().len(), 3);
    // Linking owner 40 to Acme brings its lead into the partner's scope.
    let acme = lake.app.id_of("partners", "name", "Acme Partner").await;
    lake.link("40", json!({ "partner_id": acme })).await;
    let mine = lake
        .all_pages(&partner, "/api/v1/data-lake/canonical/lead")
        .await;
    assert_eq!(ids(&mine), vec!["1", "2", "3", "4", "8"]);
}

#[tokio::test]
async fn a_run_reports_its_estimate_and_stage_timings() {
    let lake = Lake::new().await;
    let id = lake.sync(Mode::Full, ConflictPolicy::SourceWins).await;
    let (s, run) = lake
        .get(&lake.admin, &format!("/api/v1/sync/runs/{id}"))
        .await;
    assert_eq!(s, 200, "{run}");
    assert_eq!(run["progress"], json!({ "done": 8, "estimate": 8 }));
    for stage in [
        "connector_us",
        "mapper_us",
        "validator_us",
        "normalizer_us",
        "loader_us",
    ] {
        assert!(run["timings"][stage].as_u64().is_some(), "{stage}: {run}");
    }
    assert!(run["timings"]["connector_us"].as_u64().unwrap() > 0);
    assert!(run["timings"]["loader_us"].as_u64().unwrap() > 0);
}

async fn edit(lake: &Lake, id: i64, body: Value) -> (u16, Value) {
    lake.app
        .call(
            &lake.admin,
            Method::PATCH,
            &format!("/api/v1/data-lake/canonical/lead/odoo/{id}"),
            Some(body),
        )
        .await
}

fn source_edit(lake: &Lake, id: i64, title: &str, minute: u32) {
    let title = title.to_owned();
    lake.peer.edit("crm.lead", id, move |r| {
        r.insert("name".into(), json!(title));
        r.insert(
            "write_date".into(),
            json!(format!("2026-03-01 00:{minute:02}:00")),
        );
    });
}

async fn title(lake: &Lake, id: &str) -> String {
    let rows = lake
        .all_pages(&lake.admin, "/api/v1/data-lake/canonical/lead")
        .await;
    rows.iter().find(|r| r["external_id"] == json!(id)).unwrap()["title"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn local_edits_are_checked_and_conflicts_follow_the_policy() {
    let lake = Lake::loaded().await;
    let partner = lake.app.token(PARTNER).await;
    let lake = &lake;

    // Local edits: admins, known fields, values of the column's type.
    let (s, b) = edit(lake, 1, json!({ "title": "Local 1" })).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["title"], json!("Local 1"));
    assert!(b["local_modified_at"].is_string());
    assert_eq!(b["value"], json!("1000.00"), "money as a string");
    // The edit changed a lead: the serving zone's refresh is asked for with it.
    {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = lake.app.db.conn().await;
        let asked: N = diesel::sql_query(
            "SELECT count(*) AS n FROM outbox WHERE idempotency_key LIKE 'refresh_serving:edit:%'",
        )
        .get_result(&mut conn)
        .await
        .unwrap();
        assert_eq!(asked.n, 1);
    }
    let (s, b) = edit(lake, 1, json!({ "colour": "red", "title": "x" })).await;
    assert_eq!(
        (s, b["error"]["details"]["fields"]["fields.colour"].clone()),
        (422, json!(["unknown_field"]))
    );
    let (s, b) = edit(lake, 1, json!({ "value": "a lot" })).await;
    assert_eq!(
        (s, b["error"]["code"].clone()),
        (422, json!("invalid_value")),
        "{b}"
    );
    assert_eq!(
        edit(lake, 1, json!({ "title": null })).await.0,
        422,
        "title is required"
    );
    assert_eq!(edit(lake, 1, json!({})).await.0, 422);
    assert_eq!(edit(lake, 999, json!({ "title": "x" })).await.0, 404);
    let (s, _) = lake
        .app
        .call(
            &partner,
            Method::PATCH,
            "/api/v1/data-lake/canonical/lead/odoo/1",
            Some(json!({ "title": "x" })),
        )
        .await;
    assert_eq!(s, 403);
    assert_eq!(
        title(lake, "1").await,
        "Local 1",
        "refused edits changed nothing"
    );

    // source_wins: the source's change replaces the local edit.
    source_edit(lake, 1, "Source 1", 1);
    let run_id = lake
        .sync(Mode::Incremental, ConflictPolicy::SourceWins)
        .await;
    assert_eq!(title(lake, "1").await, "Source 1");
    let (_, run) = lake
        .get(&lake.admin, &format!("/api/v1/sync/runs/{run_id}"))
        .await;
    assert_eq!(run["counts"]["conflicts"], json!(1));

    // local_wins: the local edit stays, and keeps winning.
    edit(lake, 2, json!({ "title": "Local 2" })).await;
    source_edit(lake, 2, "Source 2", 2);
    lake.sync(Mode::Incremental, ConflictPolicy::LocalWins)
        .await;
    assert_eq!(title(lake, "2").await, "Local 2");
    source_edit(lake, 2, "Source 2 again", 3);
    lake.sync(Mode::Incremental, ConflictPolicy::LocalWins)
        .await;
    assert_eq!(title(lake, "2").await, "Local 2");
    // A full run still sees the kept row: it is not soft-deleted.
    lake.sync(Mode::Full, ConflictPolicy::LocalWins).await;
    let live = lake
        .all_pages(&lake.admin, "/api/v1/data-lake/canonical/lead")
        .await;
    assert_eq!(live.len(), 8);

    // manual: the local edit stays and one conflict waits, refreshed by later runs.
    edit(lake, 3, json!({ "title": "Local 3" })).await;
    edit(lake, 4, json!({ "title": "Local 4" })).await;
    source_edit(lake, 3, "Source 3", 4);
    source_edit(lake, 4, "Source 4", 4);
    lake.sync(Mode::Incremental, ConflictPolicy::Manual).await;
    source_edit(lake, 3, "Source 3 again", 5);
    lake.sync(Mode::Incremental, ConflictPolicy::Manual).await;
    assert_eq!(title(lake, "3").await, "Local 3");
    let (_, pending) = lake
        .get(&lake.admin, "/api/v1/sync/conflicts?resolution=pending")
        .await;
    let pending = pending["items"].as_array().unwrap().clone();
    assert_eq!(pending.len(), 2, "{pending:?}");
    let c3 = pending
        .iter()
        .find(|c| c["external_id"] == json!("3"))
        .unwrap();
    let c4 = pending
        .iter()
        .find(|c| c["external_id"] == json!("4"))
        .unwrap();
    assert_eq!(
        (c3["local"]["title"].clone(), c3["remote"]["title"].clone()),
        (json!("Local 3"), json!("Source 3 again"))
    );
    assert_eq!(
        (c3["local"]["value"].clone(), c3["remote"]["value"].clone()),
        (json!("5000.00"), json!("5000"))
    );

    let resolve = |id: &Value, keep: &str| {
        let path = format!("/api/v1/sync/conflicts/{id}/resolve");
        let body = json!({ "keep": keep });
        async move {
            lake.app
                .call(&lake.admin, Method::POST, &path, Some(body))
                .await
        }
    };
    // A stored source version that names a required column as null is refused in
    // words and changes nothing; one that leaves a column out keeps the row's value.
    let tamper = |sql: String| async move {
        let mut conn = lake.app.db.conn().await;
        diesel_async::RunQueryDsl::execute(diesel::sql_query(sql), &mut conn)
            .await
            .unwrap();
    };
    let c3_id = c3["id"].as_i64().unwrap();
    tamper(format!(
        "UPDATE sync_conflicts SET remote = remote || '{{\"title\": null}}' WHERE id = {c3_id}"
    ))
    .await;
    let (s, b) = resolve(&c3["id"], "source").await;
    assert_eq!(
        (
            s,
            b["error"]["code"].clone(),
            b["error"]["details"]["column"].clone()
        ),
        (422, json!("source_version_incomplete"), json!("title")),
        "{b}"
    );
    assert_eq!(title(lake, "3").await, "Local 3", "nothing applied");
    tamper(format!(
        "UPDATE sync_conflicts SET remote = (remote - 'value') || '{{\"title\": \"Source 3 again\"}}' \
         WHERE id = {c3_id}"
    ))
    .await;
    let (s, b) = resolve(&c3["id"], "source").await;
    assert_eq!(
        (s, b["resolution"].clone()),
        (200, json!("source_applied")),
        "{b}"
    );
    let rows = lake
        .all_pages(&lake.admin, "/api/v1/data-lake/canonical/lead")
        .await;
    let row3 = rows
        .iter()
        .find(|r| r["external_id"] == json!("3"))
        .unwrap();
    assert_eq!(
        row3["value"],
        json!("5000.00"),
        "a column left out keeps its value: {row3}"
    );
    assert_eq!(title(lake, "3").await, "Source 3 again");
    let (s, b) = resolve(&c3["id"], "local").await;
    assert_eq!(
        (s, b["error"]["code"].clone()),
        (409, json!("conflict_already_resolved"))
    );
    let (s, b) = resolve(&c4["id"], "local").await;
    assert_eq!((s, b["resolution"].clone()), (200, json!("local_kept")));
    assert_eq!(title(lake, "4").await, "Local 4");
    assert_eq!(resolve(&json!(424242), "local").await.0, 404);
    assert_eq!(resolve(&c4["id"], "both").await.0, 422);
    let (s, _) = lake
        .app
        .call(&partner, Method::GET, "/api/v1/sync/conflicts", None)
        .await;
    assert_eq!(s, 403);
    assert_eq!(
        lake.get(&lake.admin, "/api/v1/sync/conflicts?resolution=maybe")
            .await
            .0,
        422
    );

    // Every conflict is on record with its policy and resolution.
    let (_, every) = lake.get(&lake.admin, "/api/v1/sync/conflicts").await;
    // Conflicts and runs page by cursor (3 a page), newest first, each once.
    let ids = |items: &[Value]| items.iter().map(|i| i["id"].clone()).collect::<Vec<_>>();
    let paged = lake.all_pages(&lake.admin, "/api/v1/sync/conflicts").await;
    assert_eq!(ids(&paged), ids(every["items"].as_array().unwrap()));
    assert!(paged.len() > 3, "more than one page: {}", paged.len());
    let (_, runs) = lake.get(&lake.admin, "/api/v1/sync/runs?limit=200").await;
    let runs = runs["items"].as_array().unwrap().clone();
    let paged = lake.all_pages(&lake.admin, "/api/v1/sync/runs").await;
    assert_eq!(ids(&paged), ids(&runs));
    assert!(paged.len() > 3, "more than one page: {}", paged.len());
    let (s, b) = lake
        .get(&lake.admin, "/api/v1/sync/runs?cursor=bm90LWEtY3Vyc29y")
        .await;
    assert_eq!(
        (s, b["error"]["details"]["fields"]["cursor"][0].clone()),
        (422, json!("invalid_cursor")),
        "{b}"
    );
    let mut seen: Vec<(String, String, String)> = every["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["external_id"].as_str().unwrap().to_owned(),
                c["policy"].as_str().unwrap().to_owned(),
                c["resolution"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("1".into(), "source_wins".into(), "source_applied".into()),
            ("2".into(), "local_wins".into(), "local_kept".into()),
            ("2".into(), "local_wins".into(), "local_kept".into()),
            ("3".into(), "manual".into(), "source_applied".into()),
            ("4".into(), "manual".into(), "local_kept".into()),
        ]
    );
}

#[tokio::test]
async fn concurrent_refreshes_of_one_provider_take_turns() {
    let lake = Lake::loaded().await;
    let (mut a, mut b, mut c, mut d) = (
        lake.app.db.conn().await,
        lake.app.db.conn().await,
        lake.app.db.conn().await,
        lake.app.db.conn().await,
    );
    use tentabo_workflows::lake::refresh_serving;
    let (ra, rb, rc, rd) = tokio::join!(
        refresh_serving(&mut a, "odoo"),
        refresh_serving(&mut b, "odoo"),
        refresh_serving(&mut c, "odoo"),
        refresh_serving(&mut d, "odoo")
    );
    for r in [ra, rb, rc, rd] {
        r.unwrap();
    }
    let (_, rev) = lake.get(&lake.admin, "/api/v1/dashboard/won-revenue").await;
    assert_eq!(rev["items"].as_array().unwrap().len(), 2, "{rev}");
}
