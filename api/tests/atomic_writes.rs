//! Every write the domain offers commits with its audit row or not at all: with the
//! audit insert made to fail (a trigger that raises), each write answers 500 and leaves
//! every table exactly as it was — the change, its history, its outbox rows, the audit
//! log. The fingerprint of each table (an md5 of its rows) is compared before and after.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/mod.rs"]
mod support;

use app::TestApp;
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

const ADMIN: &str = "superadmin@salescommand.com";

const TABLES: &[&str] = &[
    "leads",
    "orders",
    "order_lines",
    "contracts",
    "notes",
    "lifecycle_history",
    "outbox",
    "products",
    "product_price_tiers",
    "product_price_history",
    "durations",
    "users",
    "partners",
    "distributors",
    "distributor_partners",
    "sync_settings",
    "provider_owner_links",
    "audit_logs",
];

async fn fingerprint(app: &TestApp) -> Vec<(String, String)> {
    #[derive(diesel::QueryableByName)]
    struct Md5 {
        #[diesel(sql_type = diesel::sql_types::Text)]
        md5: String,
    }
    let mut conn = app.db.conn().await;
    let mut out = Vec::new();
    for t in TABLES {
        let row: Md5 = diesel::sql_query(format!(
            "SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS md5 FROM {t} x"
        ))
        .get_result(&mut conn)
        .await
        .unwrap();
        out.push(((*t).to_owned(), row.md5));
    }
    out
}

async fn id(app: &TestApp, sql: &str) -> Uuid {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    let mut conn = app.db.conn().await;
    diesel::sql_query(sql)
        .get_result::<Id>(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .id
}

async fn exec(app: &TestApp, sql: &str) {
    let mut conn = app.db.conn().await;
    diesel::sql_query(sql).execute(&mut conn).await.unwrap();
}

#[tokio::test]
async fn no_write_outlives_a_failed_audit_row() {
    let app = TestApp::seeded_with_sales().await;
    let admin = app.token(ADMIN).await;
    let order = id(
        &app,
        "SELECT id FROM orders WHERE state = 'created' LIMIT 1",
    )
    .await;
    let product = id(&app, "SELECT id FROM products LIMIT 1").await;
    let duration = id(&app, "SELECT id FROM durations WHERE months = 12").await;
    let lead = id(&app, "SELECT id FROM leads WHERE state = 'new' LIMIT 1").await;
    let acme = app.id_of("partners", "name", "Acme Partner").await;
    let beta = app.id_of("partners", "name", "Beta Partner").await;
    let gamma = app.id_of("partners", "name", "Gamma Partner").await;
    let distributor = app.id_of("distributors", "name", "Demo Distribution").await;
    let user = app.id_of("users", "email", "am1@salescommand.com").await;
    // A contract of the order, as fulfilment would leave it.
    let contract = Uuid::now_v7();
    exec(
        &app,
        &format!(
            "INSERT INTO contracts (id, order_id, user_id, partner_id) \
             SELECT '{contract}', id, created_by, partner_id FROM orders WHERE id = '{order}'"
        ),
    )
    .await;
    let line = json!({ "product_id": product, "duration_months": 12, "quantity": 5 });
    // An order without a contract, to delete.
    let (status, spare) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/orders",
            Some(json!({ "lines": [line] })),
        )
        .await;
    assert_eq!(status, 201, "{spare}");
    let spare = spare["id"].as_str().unwrap().to_owned();

    exec(
        &app,
        "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN RAISE EXCEPTION 'audit refused'; END $$",
    )
    .await;
    exec(
        &app,
        "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_logs FOR EACH ROW \
         EXECUTE FUNCTION refuse_audit()",
    )
    .await;
    let before = fingerprint(&app).await;

    let writes: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::POST,
            "/api/v1/orders".into(),
            Some(json!({ "lines": [line] })),
        ),
        (
            Method::PUT,
            format!("/api/v1/orders/{order}/lines"),
            Some(json!({ "lines": [line] })),
        ),
        (
            Method::POST,
            format!("/api/v1/orders/{order}/reassign"),
            Some(json!({ "partner_id": beta })),
        ),
        (Method::DELETE, format!("/api/v1/orders/{spare}"), None),
        (
            Method::POST,
            format!("/api/v1/contracts/{contract}/reassign"),
            Some(json!({ "partner_id": beta })),
        ),
        (
            Method::POST,
            format!("/api/v1/leads/{lead}/transitions"),
            Some(json!({ "event": "contact" })),
        ),
        (
            Method::POST,
            "/api/v1/products".into(),
            Some(json!({
                "name": "Atomic", "type": "storage", "unit": "TB",
                "progressive_price_list": [
                    { "min_quantity": 0, "max_quantity": null, "price_per_unit": "1.00", "period": "month" }
                ]
            })),
        ),
        (
            Method::PATCH,
            format!("/api/v1/products/{product}"),
            Some(json!({ "name": "Renamed" })),
        ),
        (
            Method::POST,
            "/api/v1/durations".into(),
            Some(json!({ "months": 48, "discount_percentage": "12" })),
        ),
        (
            Method::PATCH,
            format!("/api/v1/durations/{duration}"),
            Some(json!({ "discount_percentage": "7" })),
        ),
        (
            Method::POST,
            "/api/v1/users".into(),
            Some(json!({
                "email": "new@example.com", "full_name": "New", "password": "long-enough",
                "role": "partner", "partner_id": acme
            })),
        ),
        (
            Method::PATCH,
            format!("/api/v1/users/{user}"),
            Some(json!({ "full_name": "Renamed" })),
        ),
        (
            Method::POST,
            "/api/v1/partners".into(),
            Some(json!({ "name": "Atomic Partner" })),
        ),
        (
            Method::PATCH,
            format!("/api/v1/partners/{acme}"),
            Some(json!({ "name": "Renamed Partner" })),
        ),
        (
            Method::POST,
            "/api/v1/distributors".into(),
            Some(json!({ "name": "Atomic Distribution" })),
        ),
        (
            Method::PUT,
            format!("/api/v1/distributors/{distributor}/partners/{gamma}"),
            None,
        ),
        (
            Method::DELETE,
            format!("/api/v1/distributors/{distributor}/partners/{acme}"),
            None,
        ),
        (
            Method::PUT,
            "/api/v1/sync/settings/odoo".into(),
            Some(json!({ "default_country": "be" })),
        ),
        (
            Method::PUT,
            "/api/v1/sync/owners/odoo/40".into(),
            Some(json!({ "partner_id": acme })),
        ),
    ];
    for (method, path, body) in writes {
        let (status, answer) = app.call(&admin, method.clone(), &path, body).await;
        assert_eq!(status, 500, "{method} {path}: {answer}");
        assert_eq!(answer["error"]["code"], "internal_error");
        assert_eq!(
            fingerprint(&app).await,
            before,
            "{method} {path} left a change without its audit row"
        );
    }
}
