//! Recurring revenue from Tentabo's own contracts, and the dashboards over its own leads
//! and orders: contracts priced with monthly and yearly tiers, upgraded, downgraded and
//! lost across months give the hand-computed MRR/ARR and movements to the cent, in each
//! caller's scope; each change asks for the refresh job; `source` chooses whose leads.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/mod.rs"]
mod support;

use app::TestApp;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

const ADMIN: &str = "superadmin@salescommand.com";
const FULFILLER: &str = "fulfiller@salescommand.com";

/// An order of `quantity` × `product` over `months`, fulfilled, and its contract
/// activated as the worker's job would; answers (order id, contract id).
async fn contract(
    app: &TestApp,
    owner: &str,
    product: Uuid,
    months: u32,
    quantity: u32,
) -> (Uuid, Uuid) {
    let order = order(app, owner, product, months, quantity).await;
    fulfil(app, order).await
}

async fn order(app: &TestApp, owner: &str, product: Uuid, months: u32, quantity: u32) -> Uuid {
    let token = app.token(owner).await;
    let (status, order) = app
        .call(
            &token,
            Method::POST,
            "/api/v1/orders",
            Some(json!({ "lines": [{ "product_id": product, "duration_months": months, "quantity": quantity }] })),
        )
        .await;
    assert_eq!(status, 201, "{order}");
    order["id"].as_str().unwrap().parse().unwrap()
}

async fn fulfil(app: &TestApp, order: Uuid) -> (Uuid, Uuid) {
    let admin = app.token(ADMIN).await;
    let fulfiller = app.token(FULFILLER).await;
    let path = format!("/api/v1/orders/{order}/transitions");
    for (token, e) in [
        (&admin, "send"),
        (&fulfiller, "start_fulfillment"),
        (&fulfiller, "fulfill"),
    ] {
        let (status, body) = app
            .call(token, Method::POST, &path, Some(json!({ "event": e })))
            .await;
        assert_eq!(status, 200, "{e}: {body}");
    }
    let mut conn = app.db.conn().await;
    tentabo_workflows::sales::contracts::activate_for_order(&mut conn, order)
        .await
        .unwrap();
    let contract = tentabo_workflows::sales::contracts::for_order(&mut conn, order)
        .await
        .unwrap()
        .unwrap();
    (order, contract.id)
}

/// Upgrades or downgrades `contract` to a new order of the same owner, linked as the
/// `link_replacement_order` job would, then fulfilled; answers the new contract.
async fn replace(
    app: &TestApp,
    contract: Uuid,
    event: &str,
    owner: &str,
    product: Uuid,
    months: u32,
    quantity: u32,
) -> Uuid {
    let admin = app.token(ADMIN).await;
    let next = order(app, owner, product, months, quantity).await;
    let (status, body) = app
        .call(
            &admin,
            Method::POST,
            &format!("/api/v1/contracts/{contract}/transitions"),
            Some(json!({ "event": event, "payload": { "order_id": next } })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut conn = app.db.conn().await;
    assert!(
        tentabo_workflows::sales::contracts::link_replacement(&mut conn, contract, next)
            .await
            .unwrap()
    );
    fulfil(app, next).await.1
}

async fn sql(app: &TestApp, statement: &str) {
    use diesel_async::RunQueryDsl;
    diesel::sql_query(statement)
        .execute(&mut app.db.conn().await)
        .await
        .unwrap();
}

async fn refresh(app: &TestApp) {
    tentabo_workflows::lake::refresh_serving(
        &mut app.db.conn().await,
        tentabo_workflows::lake::OWN,
    )
    .await
    .unwrap();
}

async fn revenue(app: &TestApp, who: &str) -> Value {
    let token = app.token(who).await;
    let (status, body) = app
        .call(&token, Method::GET, "/api/v1/dashboard/revenue", None)
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn month<'a>(body: &'a Value, m: &str) -> Option<&'a Value> {
    body["months"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["month"] == m)
}

/// (contracts, mrr, arr, new, expansion, contraction, churned) of a month.
fn figures(body: &Value, m: &str) -> (i64, String, String, String, String, String, String) {
    let r = month(body, m).unwrap_or_else(|| panic!("no {m} in {body}"));
    let s = |k: &str| r[k].as_str().unwrap().to_owned();
    (
        r["contracts"].as_i64().unwrap(),
        s("mrr"),
        s("arr"),
        s("new_mrr"),
        s("expansion_mrr"),
        s("contraction_mrr"),
        s("churned_mrr"),
    )
}

fn f(
    contracts: i64,
    mrr: &str,
    arr: &str,
    new: &str,
    expansion: &str,
    contraction: &str,
    churned: &str,
) -> (i64, String, String, String, String, String, String) {
    (
        contracts,
        mrr.into(),
        arr.into(),
        new.into(),
        expansion.into(),
        contraction.into(),
        churned.into(),
    )
}

#[tokio::test]
async fn contract_revenue_gives_the_hand_computed_figures_in_each_scope() {
    let app = TestApp::seeded().await;
    tentabo_workflows::catalogue::seed_demo(&mut app.db.conn().await)
        .await
        .unwrap();
    // Backup Storage: monthly tiers (10.00/TB up to 10 TB, 8.00 beyond); Collaboration
    // Seats: yearly tiers (120.00/seat up to 25, 96.00 beyond); 24 months: 5 % off,
    // 36 months: 10 % off.
    let storage = app.id_of("products", "name", "Backup Storage").await;
    let seats = app.id_of("products", "name", "Collaboration Seats").await;
    let refreshes_before = app
        .db
        .count("SELECT count(*) AS n FROM outbox WHERE queue = 'refresh_serving' AND payload->>'provider' = 'tentabo'")
        .await;

    // Acme (am1, attached to the distributor): 5 TB × 12 months = 600.00 → 50.00/month.
    let (_, a) = contract(&app, "am1@salescommand.com", storage, 12, 5).await;
    // Gamma (am3, unattached): 30 seats × 24 months = (25 × 120 + 5 × 96) × 2 = 6,960.00,
    // − 5 % = 6,612.00 → 275.50/month.
    let (_, b) = contract(&app, "am3@salescommand.com", seats, 24, 30).await;
    // Acme upgrades to 15 TB × 12 = (10 × 10 + 5 × 8) × 12 = 1,680.00 → 140.00/month.
    let a2 = replace(&app, a, "upgrade", "am1@salescommand.com", storage, 12, 15).await;
    // Gamma downgrades to 10 seats × 36 = 3,600.00 − 10 % = 3,240.00 → 90.00/month.
    let b2 = replace(&app, b, "downgrade", "am3@salescommand.com", seats, 36, 10).await;
    // Acme's new contract is lost.
    let admin = app.token(ADMIN).await;
    let (status, body) = app
        .call(
            &admin,
            Method::POST,
            &format!("/api/v1/contracts/{a2}/transitions"),
            Some(json!({ "event": "mark_lost" })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // Every change asked for the refresh (in its own transaction).
    let refreshes = app
        .db
        .count("SELECT count(*) AS n FROM outbox WHERE queue = 'refresh_serving' AND payload->>'provider' = 'tentabo'")
        .await;
    assert_eq!(
        refreshes - refreshes_before,
        4 * 3 + 3 + 4 + 2,
        "3 transitions of 4 orders, 3 of contracts, 4 activations, 2 replacements"
    );

    // The story across months (as if it had happened over this year).
    for (id, at) in [
        (a, "2026-01-15 10:00Z"),
        (b, "2026-02-03 10:00Z"),
        (a2, "2026-03-10 10:00Z"),
        (b2, "2026-04-01 10:00Z"),
    ] {
        sql(
            &app,
            &format!("UPDATE contracts SET activation_date = '{at}' WHERE id = '{id}'"),
        )
        .await;
    }
    sql(
        &app,
        &format!(
            "UPDATE lifecycle_history SET occurred_at = '2026-05-20 10:00Z' \
             WHERE object_type = 'contract' AND object_id = '{a2}' AND to_state = 'lost'"
        ),
    )
    .await;
    refresh(&app).await;

    let all = revenue(&app, ADMIN).await;
    assert_eq!(
        figures(&all, "2026-01-01"),
        f(1, "50.00", "600.00", "50.00", "0.00", "0.00", "0.00")
    );
    assert_eq!(
        figures(&all, "2026-02-01"),
        f(2, "325.50", "3906.00", "275.50", "0.00", "0.00", "0.00")
    );
    assert_eq!(
        figures(&all, "2026-03-01"),
        f(2, "415.50", "4986.00", "0.00", "90.00", "0.00", "0.00")
    );
    assert_eq!(
        figures(&all, "2026-04-01"),
        f(2, "230.00", "2760.00", "0.00", "0.00", "185.50", "0.00")
    );
    assert_eq!(
        figures(&all, "2026-05-01"),
        f(1, "90.00", "1080.00", "0.00", "0.00", "0.00", "140.00")
    );
    assert_eq!(
        figures(&all, "2026-06-01"),
        f(1, "90.00", "1080.00", "0.00", "0.00", "0.00", "0.00")
    );
    // Only Gamma's contract is left: per partner, and no distributor.
    assert_eq!(all["by_partner"].as_array().unwrap().len(), 1, "{all}");
    assert_eq!(all["by_partner"][0]["name"], "Gamma Partner");
    assert_eq!(
        (&all["by_partner"][0]["mrr"], &all["by_partner"][0]["arr"]),
        (&json!("90.00"), &json!("1080.00"))
    );

    // Acme's user sees Acme's figures only; the distributor (Acme attached) the same.
    for who in ["am1@salescommand.com", "distributor@salescommand.com"] {
        let acme = revenue(&app, who).await;
        assert_eq!(
            figures(&acme, "2026-01-01"),
            f(1, "50.00", "600.00", "50.00", "0.00", "0.00", "0.00"),
            "{who}"
        );
        assert_eq!(
            figures(&acme, "2026-03-01"),
            f(1, "140.00", "1680.00", "0.00", "90.00", "0.00", "0.00"),
            "{who}"
        );
        assert_eq!(
            figures(&acme, "2026-05-01"),
            f(0, "0.00", "0.00", "0.00", "0.00", "0.00", "140.00"),
            "{who}"
        );
        assert!(month(&acme, "2026-06-01").is_none(), "{who}: {acme}");
        assert_eq!(acme["by_partner"], json!([]), "{who}");
    }
    // Gamma's user: its contracts only.
    let gamma = revenue(&app, "am3@salescommand.com").await;
    assert!(month(&gamma, "2026-01-01").is_none());
    assert_eq!(
        figures(&gamma, "2026-04-01"),
        f(1, "90.00", "1080.00", "0.00", "0.00", "185.50", "0.00")
    );
    // Am2 (Beta) has no contract.
    assert_eq!(
        revenue(&app, "am2@salescommand.com").await["months"],
        json!([])
    );
}

#[tokio::test]
async fn dashboards_read_tentabos_own_leads_and_orders_with_a_source_filter() {
    let app = TestApp::seeded().await;
    tentabo_workflows::catalogue::seed_demo(&mut app.db.conn().await)
        .await
        .unwrap();
    let am1 = app.token("am1@salescommand.com").await;
    let am2 = app.token("am2@salescommand.com").await;
    let admin = app.token(ADMIN).await;
    let lead = |title: &str, value: &str| {
        json!({ "title": title, "organization": "Client SA", "contact_name": "Carla",
                "contact_email": "carla@client.test", "value": value, "currency": "EUR" })
    };
    let mut ids = Vec::new();
    for (token, title, value) in [
        (&am1, "Won deal", "1000.00"),
        (&am1, "Lost deal", "300.00"),
        (&am1, "Open deal", "250.50"),
        (&am2, "Beta deal", "999.99"),
    ] {
        let (status, body) = app
            .call(
                token,
                Method::POST,
                "/api/v1/leads",
                Some(lead(title, value)),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    for event in ["contact", "qualify", "propose", "negotiate", "win"] {
        let (status, body) = app
            .call(
                &am1,
                Method::POST,
                &format!("/api/v1/leads/{}/transitions", ids[0]),
                Some(json!({ "event": event })),
            )
            .await;
        assert_eq!(status, 200, "{event}: {body}");
    }
    let (status, body) = app
        .call(
            &am1,
            Method::POST,
            &format!("/api/v1/leads/{}/transitions", ids[1]),
            Some(json!({ "event": "lose", "payload": { "lost_reason": "budget" } })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let storage = app.id_of("products", "name", "Backup Storage").await;
    contract(&app, "am1@salescommand.com", storage, 12, 5).await;
    refresh(&app).await;

    let get = |token: String, path: String| {
        let app = &app;
        async move {
            let (status, body) = app.call(&token, Method::GET, &path, None).await;
            assert_eq!(status, 200, "{path}: {body}");
            body
        }
    };
    let rate = get(
        am1.clone(),
        "/api/v1/dashboard/win-rate?source=tentabo".into(),
    )
    .await;
    assert_eq!(
        (&rate["won"], &rate["lost"]),
        (&json!(1), &json!(1)),
        "{rate}"
    );
    assert_eq!(rate["rate"], json!("0.5"));
    let pipeline = get(
        am1.clone(),
        "/api/v1/dashboard/pipeline?source=tentabo".into(),
    )
    .await;
    let value_of = |status: &str| {
        pipeline["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["status"] == status)
            .map(|r| r["value"].clone())
    };
    assert_eq!(value_of("won"), Some(json!("1000.00")));
    assert_eq!(value_of("new"), Some(json!("250.50")));
    assert_eq!(
        pipeline["items"].as_array().unwrap().len(),
        3,
        "am1 does not see Beta's lead: {pipeline}"
    );
    let won = get(
        am1.clone(),
        "/api/v1/dashboard/won-revenue?source=tentabo".into(),
    )
    .await;
    assert_eq!(won["items"].as_array().unwrap().len(), 1, "{won}");
    assert_eq!(
        (&won["items"][0]["won_count"], &won["items"][0]["revenue"]),
        (&json!(1), &json!("600.00")),
        "the fulfilled order"
    );
    // The admin sees Beta's lead too; a synced source has none of these.
    let pipeline = get(
        admin.clone(),
        "/api/v1/dashboard/pipeline?source=tentabo".into(),
    )
    .await;
    assert_eq!(pipeline["items"].as_array().unwrap().len(), 4, "{pipeline}");
    let odoo = get(
        admin.clone(),
        "/api/v1/dashboard/pipeline?source=odoo".into(),
    )
    .await;
    assert_eq!(odoo["items"], json!([]));
    let all = get(admin.clone(), "/api/v1/dashboard/pipeline".into()).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 4);
    // A source that is not one is refused by name.
    let (status, body) = app
        .call(
            &admin,
            Method::GET,
            "/api/v1/dashboard/win-rate?source=salesforce",
            None,
        )
        .await;
    assert_eq!(status, 422, "{body}");
}

#[tokio::test]
async fn a_burst_of_refreshes_costs_one_rebuild() {
    use diesel_async::RunQueryDsl;
    use tentabo_workflows::lake;
    let app = TestApp::seeded().await;
    let mut conn = app.db.conn().await;
    for cause in ["a", "b"] {
        tentabo_workflows::pipeline::request_refresh(&mut conn, lake::OWN, cause)
            .await
            .unwrap();
    }
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let ids: Vec<Id> =
        diesel::sql_query("SELECT id FROM outbox WHERE queue = 'refresh_serving' ORDER BY id")
            .load(&mut conn)
            .await
            .unwrap();
    let (first, last) = (ids[0].id, ids[ids.len() - 1].id);
    assert!(
        lake::refresh_superseded(&mut conn, first, lake::OWN)
            .await
            .unwrap()
    );
    assert!(
        !lake::refresh_superseded(&mut conn, last, lake::OWN)
            .await
            .unwrap()
    );
    assert!(
        !lake::refresh_superseded(&mut conn, first, "odoo")
            .await
            .unwrap(),
        "another provider's refresh supersedes nothing"
    );
    // While one refresh holds the turn, another does not wait.
    let mut holder = app.db.conn().await;
    let turn = "hashtextextended('refresh_serving:' || 'tentabo', 0)";
    diesel::sql_query(format!("SELECT pg_advisory_lock({turn})"))
        .execute(&mut holder)
        .await
        .unwrap();
    assert!(
        !lake::try_refresh_serving(&mut conn, lake::OWN)
            .await
            .unwrap()
    );
    diesel::sql_query(format!("SELECT pg_advisory_unlock({turn})"))
        .execute(&mut holder)
        .await
        .unwrap();
    assert!(
        lake::try_refresh_serving(&mut conn, lake::OWN)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_renewal_continues_a_contract_and_one_expiring_unrenewed_churns() {
    let app = TestApp::seeded().await;
    tentabo_workflows::catalogue::seed_demo(&mut app.db.conn().await)
        .await
        .unwrap();
    let storage = app.id_of("products", "name", "Backup Storage").await;
    let seats = app.id_of("products", "name", "Collaboration Seats").await;
    // Acme: 5 TB × 12 months = 600.00 → 50.00/month, renewed with 8 TB → 960.00 → 80.00.
    let (_, c) = contract(&app, "am1@salescommand.com", storage, 12, 5).await;
    let renewal = order(&app, "am1@salescommand.com", storage, 12, 8).await;
    sql(
        &app,
        &format!("UPDATE orders SET renews_contract_id = '{c}' WHERE id = '{renewal}'"),
    )
    .await;
    let (_, r) = fulfil(&app, renewal).await;
    // Gamma: 10 seats × 12 months = 1,200.00 → 100.00/month, left to expire.
    let (_, d) = contract(&app, "am3@salescommand.com", seats, 12, 10).await;
    for (id, from, until) in [
        (c, "2026-01-10", "2026-03-10"),
        (r, "2026-03-05", "2027-03-05"),
        (d, "2026-01-20", "2026-04-15"),
    ] {
        sql(
            &app,
            &format!(
                "UPDATE contracts SET activation_date = '{from} 10:00Z', \
                 expiration_date = '{until} 10:00Z' WHERE id = '{id}'"
            ),
        )
        .await;
    }
    refresh(&app).await;
    let all = revenue(&app, ADMIN).await;
    assert_eq!(
        figures(&all, "2026-01-01"),
        f(2, "150.00", "1800.00", "150.00", "0.00", "0.00", "0.00")
    );
    assert_eq!(
        figures(&all, "2026-02-01"),
        f(2, "150.00", "1800.00", "0.00", "0.00", "0.00", "0.00")
    );
    // The renewal starts: no new revenue, the price change as expansion.
    assert_eq!(
        figures(&all, "2026-03-01"),
        f(2, "180.00", "2160.00", "0.00", "30.00", "0.00", "0.00")
    );
    // Gamma's contract expires unrenewed: churn.
    assert_eq!(
        figures(&all, "2026-04-01"),
        f(1, "80.00", "960.00", "0.00", "0.00", "0.00", "100.00")
    );
    assert_eq!(
        figures(&all, "2026-05-01"),
        f(1, "80.00", "960.00", "0.00", "0.00", "0.00", "0.00")
    );
}
