//! Lifecycles end to end over real HTTP, Postgres, Redis and the worker: the
//! order-to-contract path with its billing effects, a lead converted into an order
//! with its CRM pushes, 100 concurrent conflicting transitions, Redis down during
//! 1,000 transitions, and the nightly contract-expiry scan.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/mod.rs"]
mod support;
#[path = "../../tests/support/worker.rs"]
mod worker;

use std::time::Duration;

use app::TestApp;
use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use futures::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use support::{PrivateRedis, eventually};
use uuid::Uuid;
use worker::{RunningWorker, worker_config};

const WAIT: Duration = Duration::from_secs(30);

async fn app_with_catalogue() -> TestApp {
    let app = TestApp::seeded().await;
    let mut conn = app.db.conn().await;
    tentabo_workflows::catalogue::seed_demo(&mut conn)
        .await
        .unwrap();
    app
}

fn start_worker(app: &TestApp, redis_url: &str) -> RunningWorker {
    RunningWorker::start(worker_config(&app.db.url, redis_url, &app.redis.namespace))
}

async fn count(app: &TestApp, sql: &str, bind: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut conn = app.db.conn().await;
    diesel::sql_query(sql)
        .bind::<Text, _>(bind)
        .get_result::<N>(&mut conn)
        .await
        .unwrap()
        .n
}

async fn provider_calls(app: &TestApp, operation: &str) -> i64 {
    count(
        app,
        "SELECT count(*) AS n FROM provider_calls WHERE operation = $1",
        operation,
    )
    .await
}

async fn event(app: &TestApp, token: &str, path: &str, event: &str) -> (u16, Value) {
    app.call(token, Method::POST, path, Some(json!({ "event": event })))
        .await
}

#[tokio::test]
async fn an_order_goes_from_created_to_an_active_invoiced_contract() {
    let app = app_with_catalogue().await;
    let worker = start_worker(&app, &app.redis.url);
    let partner = app.token("am1@salescommand.com").await;
    let fulfiller = app.token("fulfiller@salescommand.com").await;
    let storage = app.id_of("products", "name", "Backup Storage").await;
    let seats = app.id_of("products", "name", "Collaboration Seats").await;

    let (status, order) = app
        .call(
            &partner,
            Method::POST,
            "/api/v1/orders",
            Some(json!({
                "lines": [
                    { "product_id": storage, "duration_months": 24, "quantity": 15 },
                    { "product_id": seats, "duration_months": 12, "quantity": 3 }
                ]
            })),
        )
        .await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["state"], "created");
    assert_eq!(order["version"], 1);
    assert_eq!(order["allowed_events"], json!(["send", "cancel"]));
    assert_eq!(order["lines"].as_array().unwrap().len(), 2);
    assert_eq!(
        order["pricing"].as_array().unwrap().len(),
        2,
        "the engine's working is stored"
    );
    let total: rust_decimal::Decimal = order["total"].as_str().unwrap().parse().unwrap();
    assert!(total > rust_decimal::Decimal::ZERO);
    let id = order["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/orders/{id}/transitions");

    let (status, sent) = app
        .call(
            &partner,
            Method::POST,
            &path,
            Some(json!({ "event": "send", "expected_version": 1 })),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["state"], "sent");
    assert_eq!(sent["version"], 2);
    assert_eq!(
        sent["allowed_events"],
        json!(["cancel"]),
        "fulfilment is not the partner's"
    );
    eventually(WAIT, "the quote is requested", || async {
        provider_calls(&app, "create_quote").await == 1
    })
    .await;
    eventually(WAIT, "the quote id is recorded", || async {
        let (_, o) = app
            .call(&partner, Method::GET, &format!("/api/v1/orders/{id}"), None)
            .await;
        o["billing_quote_id"].is_string()
    })
    .await;

    let (status, started) = event(&app, &fulfiller, &path, "start_fulfillment").await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["allowed_events"], json!(["fulfill"]));
    let (status, cancel) = event(&app, &partner, &path, "cancel").await;
    assert_eq!(
        status, 409,
        "cancel is refused once fulfilment started: {cancel}"
    );
    assert_eq!(cancel["error"]["code"], "illegal_transition");
    assert_eq!(cancel["error"]["details"]["state"], "in_fulfillment");
    let (status, fulfilled) = event(&app, &fulfiller, &path, "fulfill").await;
    assert_eq!(status, 200, "{fulfilled}");
    assert_eq!(fulfilled["state"], "fulfilled");
    assert_eq!(fulfilled["allowed_events"], json!([]));

    let contract_of = || async {
        let (_, list) = app
            .call(
                &partner,
                Method::GET,
                &format!("/api/v1/contracts?order_id={id}"),
                None,
            )
            .await;
        list["items"].as_array().cloned().unwrap_or_default()
    };
    eventually(WAIT, "the contract is active and invoiced", || async {
        let items = contract_of().await;
        items.len() == 1
            && items[0]["billing_invoices"]
                .as_array()
                .is_some_and(|i| i.len() == 1)
    })
    .await;
    let contract = contract_of().await.remove(0);
    assert_eq!(contract["state"], "active");
    assert!(
        contract["expiration_date"].is_string(),
        "runs for the longest line (24 months)"
    );
    assert_eq!(provider_calls(&app, "create_invoice").await, 1);

    // Deliver every effect again, as a lost acknowledgement would: nothing happens twice.
    {
        let mut conn = app.db.conn().await;
        diesel::sql_query(
            "UPDATE outbox SET status = 'pending', available_at = now(), finished_at = NULL \
             WHERE queue IN ('billing_request_quote', 'create_active_contract', 'billing_request_invoice')",
        )
        .execute(&mut conn)
        .await
        .unwrap();
    }
    eventually(WAIT, "the replayed effects finish", || async {
        count(
            &app,
            "SELECT count(*) AS n FROM outbox WHERE status <> $1",
            "done",
        )
        .await
            == 0
    })
    .await;
    assert_eq!(
        provider_calls(&app, "create_quote").await,
        1,
        "quote requested once"
    );
    assert_eq!(
        provider_calls(&app, "create_invoice").await,
        1,
        "invoice requested once"
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM contracts WHERE order_id::text = $1",
            &id
        )
        .await,
        1
    );
    assert_eq!(
        contract_of().await[0]["billing_invoices"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let (_, history) = app
        .call(
            &partner,
            Method::GET,
            &format!("/api/v1/orders/{id}/history"),
            None,
        )
        .await;
    let steps: Vec<(i64, &str, &str, &str)> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["version"].as_i64().unwrap(),
                h["event"].as_str().unwrap(),
                h["from_state"].as_str().unwrap(),
                h["to_state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            (2, "send", "created", "sent"),
            (3, "start_fulfillment", "sent", "in_fulfillment"),
            (4, "fulfill", "in_fulfillment", "fulfilled"),
        ]
    );
    assert_eq!(worker.stop().await, 0, "no worker restarts");
}

#[tokio::test]
async fn a_won_lead_converts_into_an_order_and_every_status_reaches_the_crm() {
    let app = app_with_catalogue().await;
    let worker = start_worker(&app, &app.redis.url);
    let distributor = app.token("distributor@salescommand.com").await;
    let partner = app.token("am1@salescommand.com").await;
    let acme = app.id_of("partners", "name", "Acme Partner").await;

    let (status, lead) = app.call(&distributor, Method::POST, "/api/v1/leads", Some(json!({
        "title": "Backup for 40 sites", "organization": "Client SA", "contact_name": "Carla Client",
        "contact_email": "Carla@Client.test", "value": "12000.00", "probability": 30,
        "partner_id": acme
    }))).await;
    assert_eq!(status, 201, "{lead}");
    assert_eq!(lead["state"], "new");
    assert_eq!(lead["contact_email"], "carla@client.test");
    assert_eq!(lead["value"], "12000.00");
    let id = lead["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/leads/{id}/transitions");
    for step in ["contact", "qualify", "propose", "negotiate", "win"] {
        let (status, body) = event(&app, &partner, &path, step).await;
        assert_eq!(status, 200, "{step}: {body}");
    }
    let (status, converted) = event(&app, &partner, &path, "convert").await;
    assert_eq!(status, 200, "{converted}");
    assert_eq!(converted["state"], "won");
    let (status, again) = event(&app, &partner, &path, "convert").await;
    assert_eq!(status, 409);
    assert_eq!(again["error"]["code"], "already_converted");

    eventually(
        WAIT,
        "the order of the lead exists and is linked",
        || async {
            let (_, l) = app
                .call(&partner, Method::GET, &format!("/api/v1/leads/{id}"), None)
                .await;
            l["converted_order_id"].is_string()
        },
    )
    .await;
    let (_, l) = app
        .call(&partner, Method::GET, &format!("/api/v1/leads/{id}"), None)
        .await;
    let order_id = l["converted_order_id"].as_str().unwrap();
    let (status, order) = app
        .call(
            &partner,
            Method::GET,
            &format!("/api/v1/orders/{order_id}"),
            None,
        )
        .await;
    assert_eq!(
        status, 200,
        "the partner owns the order of its lead: {order}"
    );
    assert_eq!(order["lead_id"], id.as_str());
    assert_eq!(order["state"], "created");
    let (status, refused) = event(
        &app,
        &partner,
        &format!("/api/v1/orders/{order_id}/transitions"),
        "send",
    )
    .await;
    assert_eq!(
        status, 422,
        "an order without lines cannot be sent: {refused}"
    );

    // Six pushes were asked for (the creation and five moves); pushes of one lead
    // arriving while another runs hand it their round, so the CRM gets between one and
    // six calls — and the last one carries the lead's final state.
    eventually(WAIT, "every push of the lead finishes", || async {
        provider_calls(&app, "push_lead_status").await >= 1
            && count(
                &app,
                "SELECT count(*) AS n FROM outbox WHERE status <> $1",
                "done",
            )
            .await
                == 0
    })
    .await;
    assert!(provider_calls(&app, "push_lead_status").await <= 6);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM (SELECT request->>'status' AS s FROM provider_calls \
             WHERE operation = 'push_lead_status' ORDER BY id DESC LIMIT 1) last WHERE s = $1",
            "won",
        )
        .await,
        1,
        "the CRM holds the final state"
    );
    let (_, l) = app
        .call(&partner, Method::GET, &format!("/api/v1/leads/{id}"), None)
        .await;
    assert_eq!(l["provider_name"], "recording");
    assert!(l["provider_id"].is_string());
    worker.stop().await;
}

async fn insert_order(app: &TestApp, state: &str) -> Uuid {
    let id = Uuid::now_v7();
    let admin = app
        .id_of("users", "email", "superadmin@salescommand.com")
        .await;
    let product = app.id_of("products", "name", "Backup Storage").await;
    let mut conn = app.db.conn().await;
    diesel::sql_query(
        "WITH o AS (INSERT INTO orders (id, reference, state, created_by) \
             VALUES ($1, 'ORD-' || $1::text, $4, $2) RETURNING id) \
         INSERT INTO order_lines (order_id, position, product_id, duration_months, quantity, \
             subtotal, discount, total) SELECT id, 0, $3, 12, 1, 10, 0, 10 FROM o",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(admin)
    .bind::<SqlUuid, _>(product)
    .bind::<Text, _>(state)
    .execute(&mut conn)
    .await
    .unwrap();
    id
}

#[tokio::test]
async fn a_hundred_concurrent_conflicting_transitions_make_one_change_each() {
    let app = app_with_catalogue().await;
    let admin = app.token("superadmin@salescommand.com").await;
    let id = insert_order(&app, "created").await;
    let path = format!("/api/v1/orders/{id}/transitions");

    // Round 1: 100 at once, half `send`, half `cancel`, all from version 1.
    let round = |events: Vec<(&'static str, Option<i32>)>| {
        let (app, admin, path) = (&app, &admin, &path);
        async move {
            futures::stream::iter(events)
                .map(|(e, v)| async move {
                    let body = json!({ "event": e, "expected_version": v });
                    let res = app.send_as(Method::POST, admin, path, Some(body)).await;
                    let status = res.status().as_u16();
                    let body: Value = res.json().await.unwrap();
                    (status, body)
                })
                .buffer_unordered(100)
                .collect::<Vec<_>>()
                .await
        }
    };
    let events: Vec<_> = (0..100)
        .map(|i| (if i % 2 == 0 { "send" } else { "cancel" }, Some(1)))
        .collect();
    let results = round(events).await;
    let ok: Vec<&Value> = results
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(ok.len(), 1, "exactly one wins");
    assert!(
        results
            .iter()
            .all(|(s, b)| *s == 200 || (*s == 409 && b["error"]["code"] == "stale_version")),
        "the others see a stale version"
    );
    let first = ok[0]["state"].as_str().unwrap().to_owned();

    // Round 2: no expected version; 100 of the same event. One applies, the rest are
    // illegal in the new state.
    let next = if first == "sent" {
        "start_fulfillment"
    } else {
        "send"
    };
    let results = round((0..100).map(|_| (next, None)).collect()).await;
    let wins = results.iter().filter(|(s, _)| *s == 200).count();
    if first == "sent" {
        assert_eq!(wins, 1, "one start_fulfillment");
        assert!(
            results
                .iter()
                .all(|(s, b)| *s == 200 || b["error"]["code"] == "illegal_transition")
        );
    } else {
        assert_eq!(wins, 0, "a cancelled order stays cancelled");
    }

    let id_text = id.to_string();
    let history = count(
        &app,
        "SELECT count(*) AS n FROM lifecycle_history WHERE object_id::text = $1",
        &id_text,
    )
    .await;
    let distinct = count(
        &app,
        "SELECT count(DISTINCT version) AS n FROM lifecycle_history WHERE object_id::text = $1",
        &id_text,
    )
    .await;
    assert_eq!(
        history,
        1 + i64::try_from(wins).unwrap(),
        "one history row per change"
    );
    assert_eq!(distinct, history, "a linear history");
    let effects = count(
        &app,
        "SELECT count(*) AS n FROM outbox WHERE idempotency_key LIKE $1",
        &format!("order:{id}:%"),
    )
    .await;
    assert_eq!(
        effects,
        if first == "sent" { 1 } else { 0 },
        "one quote request at most, never two"
    );
}

#[tokio::test]
async fn redis_down_during_a_thousand_transitions_loses_and_doubles_nothing() {
    let app = app_with_catalogue().await;
    let mut redis = PrivateRedis::start().await;
    let worker = start_worker(&app, &redis.url());
    let admin = app.token("superadmin@salescommand.com").await;
    let owner = app
        .id_of("users", "email", "superadmin@salescommand.com")
        .await;
    {
        let mut conn = app.db.conn().await;
        diesel::sql_query(
            "INSERT INTO leads (id, title, organization, contact_name, contact_email, owner_id) \
             SELECT gen_random_uuid(), 'Lead ' || n, 'Org', 'Name', 'x@y.test', $1 \
             FROM generate_series(1, 1000) n",
        )
        .bind::<SqlUuid, _>(owner)
        .execute(&mut conn)
        .await
        .unwrap();
    }
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    let ids: Vec<Uuid> = {
        let mut conn = app.db.conn().await;
        diesel::sql_query("SELECT id FROM leads")
            .load::<Id>(&mut conn)
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.id)
            .collect()
    };
    assert_eq!(ids.len(), 1000);

    redis.stop();
    let statuses: Vec<u16> = futures::stream::iter(ids)
        .map(|id| {
            let (app, admin) = (&app, &admin);
            async move {
                let path = format!("/api/v1/leads/{id}/transitions");
                event(app, admin, &path, "contact").await.0
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(
        statuses.iter().all(|s| *s == 200),
        "transitions do not need Redis"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        provider_calls(&app, "push_lead_status").await,
        0,
        "nothing ran while Redis was down"
    );

    redis.start_again().await;
    eventually(Duration::from_secs(120), "every push ran", || async {
        count(
            &app,
            "SELECT count(*) AS n FROM outbox WHERE status = 'done' AND queue = $1",
            "crm_push_lead_status",
        )
        .await
            == 1000
    })
    .await;
    assert_eq!(
        provider_calls(&app, "push_lead_status").await,
        1000,
        "each effect ran once"
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(DISTINCT idempotency_key) AS n FROM provider_calls WHERE operation = $1",
            "push_lead_status"
        )
        .await,
        1000
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM leads WHERE provider_id IS NOT NULL AND state = $1",
            "contacted"
        )
        .await,
        1000
    );
    worker.stop().await;
}

#[tokio::test]
async fn the_nightly_scan_flags_contracts_expiring_soon_once() {
    let app = app_with_catalogue().await;
    let worker = start_worker(&app, &app.redis.url);
    let admin = app.token("superadmin@salescommand.com").await;
    let soon = insert_order(&app, "fulfilled").await;
    let later = insert_order(&app, "fulfilled").await;
    let admin_id = app
        .id_of("users", "email", "superadmin@salescommand.com")
        .await;
    {
        let mut conn = app.db.conn().await;
        for (order, days) in [(soon, 10), (later, 90)] {
            diesel::sql_query(
                "INSERT INTO contracts (id, order_id, user_id, expiration_date) \
                 VALUES (gen_random_uuid(), $1, $2, now() + make_interval(days => $3))",
            )
            .bind::<SqlUuid, _>(order)
            .bind::<SqlUuid, _>(admin_id)
            .bind::<diesel::sql_types::Integer, _>(days)
            .execute(&mut conn)
            .await
            .unwrap();
        }
    }
    let job = tentabo_worker::schedule::expiry_scan_job(chrono::Utc::now());
    for _ in 0..2 {
        let mut conn = app.db.conn().await;
        tentabo_workflows::jobs::enqueue(&mut conn, std::slice::from_ref(&job))
            .await
            .unwrap();
    }
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM outbox WHERE queue = $1",
            "contract_expiry_scan"
        )
        .await,
        1,
        "one scan per day however often it is scheduled"
    );
    eventually(WAIT, "the scan ran", || async {
        count(
            &app,
            "SELECT count(*) AS n FROM outbox WHERE status = 'done' AND queue = $1",
            "contract_expiry_scan",
        )
        .await
            == 1
    })
    .await;
    let (_, due) = app
        .call(
            &admin,
            Method::GET,
            "/api/v1/contracts?renewal_due=true",
            None,
        )
        .await;
    let due = due["items"].as_array().unwrap().clone();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0]["order_id"], soon.to_string().as_str());
    assert_eq!(due[0]["renewal_due"], true);
    let (_, not_due) = app
        .call(
            &admin,
            Method::GET,
            "/api/v1/contracts?renewal_due=false",
            None,
        )
        .await;
    assert_eq!(not_due["items"][0]["order_id"], later.to_string().as_str());
    worker.stop().await;
}
