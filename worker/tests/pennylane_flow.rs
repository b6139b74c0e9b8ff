//! Pennylane as the active billing provider, end to end over HTTP, Postgres, Redis, the
//! worker and the stateful Pennylane peer: order `send` → one quote, `fulfill` → one
//! invoice from it on the contract; the same with the worker killed right after
//! Pennylane accepted each call; a switch of provider with 100 effects queued loses and
//! doubles none; a burst of 500 effects from two workers never passes the configured
//! rate at the peer.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/app.rs"]
mod app;
#[path = "../../tests/support/pennylane.rs"]
mod pennylane;
#[path = "../../tests/support/mod.rs"]
mod support;
#[path = "../../tests/support/worker.rs"]
mod worker;

use std::time::Duration;

use app::TestApp;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use pennylane::{Fault, PennylanePeer};
use reqwest::Method;
use serde_json::{Value, json};
use support::eventually;
use worker::{RunningWorker, worker_config};

const WAIT: Duration = Duration::from_secs(60);
const TOKEN: &str = "pl-flow-token-9d2e";
const ADMIN: &str = "superadmin@salescommand.com";
const PARTNER: &str = "am1@salescommand.com";
const FULFILLER: &str = "fulfiller@salescommand.com";

async fn app_with_catalogue() -> TestApp {
    let app = TestApp::seeded().await;
    let mut conn = app.db.conn().await;
    tentabo_workflows::catalogue::seed_demo(&mut conn)
        .await
        .unwrap();
    app
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut conn = app.db.conn().await;
    diesel::sql_query(sql)
        .get_result::<N>(&mut conn)
        .await
        .unwrap()
        .n
}

/// Configures Pennylane on the peer (and `recording`), then activates `active`.
async fn configure(app: &TestApp, peer: &PennylanePeer, rate: f64, timeout: u32, active: &str) {
    let admin = app.token(ADMIN).await;
    for (path, body) in [
        ("/api/v1/providers/billing/recording", json!({})),
        (
            "/api/v1/providers/billing/pennylane",
            json!({
                "configuration": {
                    "base_url": peer.url(), "timeout_seconds": timeout, "max_attempts": 2,
                    "rate_limit_per_second": rate, "breaker_threshold": 50,
                },
                "credentials": { "api_key": TOKEN },
            }),
        ),
    ] {
        let (status, b) = app.call(&admin, Method::PUT, path, Some(body)).await;
        assert_eq!(status, 200, "{b}");
    }
    let (status, b) = app
        .call(
            &admin,
            Method::POST,
            &format!("/api/v1/providers/billing/{active}/activate"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{b}");
}

async fn new_order(app: &TestApp, partner: &str) -> String {
    let storage = app.id_of("products", "name", "Backup Storage").await;
    let (status, order) = app
        .call(
            partner,
            Method::POST,
            "/api/v1/orders",
            Some(json!({ "lines": [{ "product_id": storage, "duration_months": 12, "quantity": 5 }] })),
        )
        .await;
    assert_eq!(status, 201, "{order}");
    order["id"].as_str().unwrap().to_owned()
}

async fn transition(app: &TestApp, token: &str, id: &str, event: &str) {
    let (status, b) = app
        .call(
            token,
            Method::POST,
            &format!("/api/v1/orders/{id}/transitions"),
            Some(json!({ "event": event })),
        )
        .await;
    assert_eq!(status, 200, "{event}: {b}");
}

async fn order(app: &TestApp, id: &str) -> Value {
    let admin = app.token(ADMIN).await;
    app.call(&admin, Method::GET, &format!("/api/v1/orders/{id}"), None)
        .await
        .1
}

async fn contract_of(app: &TestApp, order_id: &str) -> Option<Value> {
    let admin = app.token(ADMIN).await;
    let (_, list) = app
        .call(
            &admin,
            Method::GET,
            &format!("/api/v1/contracts?order_id={order_id}"),
            None,
        )
        .await;
    list["items"]
        .as_array()
        .and_then(|i| i.iter().next().cloned())
}

/// Sends and fulfils an order, waiting for its quote and its invoice.
async fn send_and_fulfil(app: &TestApp, id: &str) -> (String, String) {
    let partner = app.token(PARTNER).await;
    let fulfiller = app.token(FULFILLER).await;
    transition(app, &partner, id, "send").await;
    eventually(WAIT, "the quote id is recorded", || async {
        order(app, id).await["billing_quote_id"].is_string()
    })
    .await;
    transition(app, &fulfiller, id, "start_fulfillment").await;
    transition(app, &fulfiller, id, "fulfill").await;
    eventually(WAIT, "the contract is invoiced", || async {
        contract_of(app, id).await.is_some_and(|c| {
            c["billing_invoices"]
                .as_array()
                .is_some_and(|i| i.len() == 1)
        })
    })
    .await;
    let quote = order(app, id).await["billing_quote_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let contract = contract_of(app, id).await.unwrap();
    (quote, contract["id"].as_str().unwrap().to_owned())
}

async fn invoices_of(app: &TestApp, admin: &str, contract: &str) -> Value {
    let path = format!("/api/v1/contracts/{contract}");
    app.call(admin, Method::GET, &path, None).await.1["invoices"].clone()
}

fn assert_one_of_each(peer: &PennylanePeer, order_id: &str, contract_id: &str, quote_id: &str) {
    let quotes = peer
        .state
        .quotes_with_reference(&format!("tentabo-order-{order_id}"));
    assert_eq!(quotes.len(), 1, "exactly one quote");
    assert_eq!(quotes[0]["id"].to_string(), quote_id);
    let invoices = peer
        .state
        .invoices_with_reference(&format!("tentabo-contract-{contract_id}"));
    assert_eq!(invoices.len(), 1, "exactly one invoice");
    assert_eq!(
        invoices[0]["quote"]["id"].to_string(),
        quote_id,
        "made from the quote"
    );
}

#[tokio::test]
async fn send_makes_one_quote_and_fulfil_one_invoice_in_pennylane() {
    let app = app_with_catalogue().await;
    let peer = PennylanePeer::start(TOKEN).await;
    configure(&app, &peer, 50.0, 5, "pennylane").await;
    let worker = RunningWorker::start(worker_config(
        &app.db.url,
        &app.redis.url,
        &app.redis.namespace,
    ));
    let partner = app.token(PARTNER).await;
    let id = new_order(&app, &partner).await;
    let (quote, contract) = send_and_fulfil(&app, &id).await;
    assert_eq!(order(&app, &id).await["billing_provider"], "pennylane");
    assert_one_of_each(&peer, &id, &contract, &quote);

    // Every effect delivered again (a lost acknowledgement): nothing is made twice.
    {
        let mut conn = app.db.conn().await;
        diesel::sql_query(
            "UPDATE outbox SET status = 'pending', available_at = now(), finished_at = NULL \
             WHERE queue IN ('billing_request_quote', 'billing_request_invoice')",
        )
        .execute(&mut conn)
        .await
        .unwrap();
    }
    eventually(WAIT, "the replayed effects finish", || async {
        count(
            &app,
            "SELECT count(*) AS n FROM outbox WHERE status <> 'done'",
        )
        .await
            == 0
    })
    .await;
    assert_one_of_each(&peer, &id, &contract, &quote);

    // The invoice's status comes back through a sync run: finalized, then paid in
    // Pennylane, then seen paid on the contract after the next (incremental) run.
    let admin = app.token(ADMIN).await;
    let invoices = |_: &TestApp| invoices_of(&app, &admin, &contract);
    let before = invoices(&app).await;
    assert_eq!(before[0]["provider"], "pennylane");
    assert_eq!(before[0]["status"], Value::Null, "not synced yet");
    let sync = |mode: &'static str| {
        let admin = admin.clone();
        let app = &app;
        async move {
            let (status, run) = app
                .call(
                    &admin,
                    Method::POST,
                    "/api/v1/sync/pennylane/invoice",
                    Some(json!({ "mode": mode })),
                )
                .await;
            assert_eq!(status, 202, "{run}");
            let path = format!("/api/v1/sync/runs/{}", run["id"].as_str().unwrap());
            let started = std::time::Instant::now();
            let last = loop {
                let r = app.call(&admin, Method::GET, &path, None).await.1;
                if r["finished_at"].is_string() {
                    break r;
                }
                assert!(started.elapsed() < WAIT, "the sync run did not end: {r}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            };
            assert_eq!(last["status"], "succeeded", "{last}");
            last
        }
    };
    let full = sync("full").await;
    assert!(
        full["counts"]["loaded"].as_i64().unwrap() >= 4,
        "the seeded invoices and ours: {full}"
    );
    let after = invoices(&app).await;
    assert_eq!(after[0]["status"], "finalized", "{after}");
    assert_eq!(after[0]["currency"], "EUR");
    assert!(after[0]["number"].as_str().unwrap().starts_with("F-"));

    let invoice_id: i64 = after[0]["external_id"].as_str().unwrap().parse().unwrap();
    peer.state
        .set_invoice_status(invoice_id, "paid", true, "0.00");
    let incremental = sync("incremental").await;
    assert_eq!(
        incremental["counts"]["loaded"], 1,
        "only what changed: {incremental}"
    );
    let paid = invoices(&app).await;
    assert_eq!(paid[0]["status"], "paid", "{paid}");
    assert_eq!(paid[0]["amount_due"], "0.00");
    peer.state
        .set_invoice_status(invoice_id, "late", false, "120.00");
    sync("incremental").await;
    assert_eq!(invoices(&app).await[0]["status"], "late");
    let again = sync("incremental").await;
    assert_eq!(again["counts"]["loaded"], 0, "nothing changed: {again}");
    worker.stop().await;
}

#[tokio::test]
async fn a_worker_killed_after_pennylane_accepted_each_call_makes_nothing_twice() {
    let app = app_with_catalogue().await;
    let peer = PennylanePeer::start(TOKEN).await;
    *peer.state.stall.lock().unwrap() = Duration::from_secs(30);
    configure(&app, &peer, 50.0, 60, "pennylane").await;
    let mut cfg = worker_config(&app.db.url, &app.redis.url, &app.redis.namespace);
    // A dead worker's job is handed back after its lease (run timeout) ends.
    cfg.run_timeout_secs = 2;
    cfg.redeliver_after_secs = 1;
    cfg.shutdown_grace_secs = 0;
    let partner = app.token(PARTNER).await;
    let fulfiller = app.token(FULFILLER).await;
    let id = new_order(&app, &partner).await;

    let kill_after_accept = |path: &'static str, reference: String| {
        let cfg = cfg.clone();
        let peer = &peer;
        async move {
            peer.state.fault_on("POST", path, Fault::AcceptThenStall);
            let w = RunningWorker::start(cfg);
            eventually(WAIT, "Pennylane accepted the call", || async {
                !peer.state.quotes_with_reference(&reference).is_empty()
                    || !peer.state.invoices_with_reference(&reference).is_empty()
            })
            .await;
            // Killed: no grace, the in-flight job is abandoned mid-call.
            w.stop().await;
        }
    };
    transition(&app, &partner, &id, "send").await;
    kill_after_accept("/api/external/v2/quotes", format!("tentabo-order-{id}")).await;
    let w = RunningWorker::start(cfg.clone());
    eventually(WAIT, "the quote id is recorded", || async {
        order(&app, &id).await["billing_quote_id"].is_string()
    })
    .await;
    w.stop().await;

    transition(&app, &fulfiller, &id, "start_fulfillment").await;
    transition(&app, &fulfiller, &id, "fulfill").await;
    let contract_id = loop {
        if let Some(c) = contract_of(&app, &id).await {
            break c["id"].as_str().unwrap().to_owned();
        }
        // The contract is made by the worker's jobs.
        let w = RunningWorker::start(cfg.clone());
        tokio::time::sleep(Duration::from_millis(300)).await;
        w.stop().await;
    };
    // The invoice job may already have been caught by the worker above: only the
    // remaining effect is killed mid-call.
    if peer
        .state
        .invoices_with_reference(&format!("tentabo-contract-{contract_id}"))
        .is_empty()
    {
        kill_after_accept(
            "/api/external/v2/customer_invoices/create_from_quote",
            format!("tentabo-contract-{contract_id}"),
        )
        .await;
    }
    *peer.state.stall.lock().unwrap() = Duration::ZERO;
    let w = RunningWorker::start(cfg.clone());
    eventually(WAIT, "the contract is invoiced", || async {
        contract_of(&app, &id).await.is_some_and(|c| {
            c["billing_invoices"]
                .as_array()
                .is_some_and(|i| i.len() == 1)
        })
    })
    .await;
    w.stop().await;
    let quote = order(&app, &id).await["billing_quote_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_one_of_each(&peer, &id, &contract_id, &quote);
}

#[tokio::test]
async fn switching_provider_with_a_hundred_effects_queued_loses_and_doubles_none() {
    let app = app_with_catalogue().await;
    let peer = PennylanePeer::start(TOKEN).await;
    // Pennylane's rate limit spreads the hundred quotes over seconds: the switch lands
    // while effects are still queued.
    configure(&app, &peer, 30.0, 5, "pennylane").await;
    let partner = app.token(PARTNER).await;
    let mut ids = Vec::new();
    for _ in 0..100 {
        let id = new_order(&app, &partner).await;
        transition(&app, &partner, &id, "send").await;
        ids.push(id);
    }
    let worker = RunningWorker::start(worker_config(
        &app.db.url,
        &app.redis.url,
        &app.redis.namespace,
    ));
    eventually(WAIT, "some quotes reached Pennylane", || async {
        peer.state.count("POST", "/api/external/v2/quotes") >= 5
    })
    .await;
    let admin = app.token(ADMIN).await;
    let (status, b) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/providers/billing/recording/activate",
            None,
        )
        .await;
    assert_eq!(status, 200, "{b}");
    eventually(WAIT, "every quote effect finished", || async {
        count(
            &app,
            "SELECT count(*) AS n FROM outbox WHERE queue = 'billing_request_quote' AND status = 'done'",
        )
        .await
            == 100
    })
    .await;
    worker.stop().await;
    let in_pennylane = peer.state.count("POST", "/api/external/v2/quotes") as i64;
    let recorded = count(
        &app,
        "SELECT count(*) AS n FROM provider_calls WHERE operation = 'create_quote'",
    )
    .await;
    assert!(
        in_pennylane >= 5 && recorded >= 1,
        "both providers served: {in_pennylane} + {recorded}"
    );
    assert_eq!(in_pennylane + recorded, 100, "none lost, none doubled");
    for id in &ids {
        let o = order(&app, id).await;
        let provider = o["billing_provider"].as_str().unwrap();
        let in_peer = peer
            .state
            .quotes_with_reference(&format!("tentabo-order-{id}"))
            .len();
        match provider {
            "pennylane" => assert_eq!(in_peer, 1, "{id}"),
            "recording" => assert_eq!(in_peer, 0, "{id}"),
            other => panic!("{id}: {other}"),
        }
    }
}

#[tokio::test]
async fn a_burst_of_effects_from_two_workers_keeps_to_the_configured_rate() {
    const RATE: f64 = 200.0;
    const ORDERS: i64 = 500;
    let app = app_with_catalogue().await;
    let peer = PennylanePeer::start(TOKEN).await;
    configure(&app, &peer, RATE, 5, "pennylane").await;
    let partner = app.token(PARTNER).await;
    let id = new_order(&app, &partner).await;
    // 500 sent orders (copies of the first, with their lines, each billed to a
    // distributor of its own) and one quote effect each.
    {
        let mut conn = app.db.conn().await;
        diesel::sql_query(format!(
            "INSERT INTO distributors (id, name) \
             SELECT gen_random_uuid(), 'Distributeur ' || n FROM generate_series(1, {ORDERS}) AS n"
        ))
        .execute(&mut conn)
        .await
        .unwrap();
        diesel::sql_query(format!(
            "WITH d AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM distributors \
                        WHERE name LIKE 'Distributeur %'), \
             copies AS ( \
                 INSERT INTO orders (id, reference, state, created_by, partner_id, distributor_id, \
                     currency, subtotal, discount, total, pricing) \
                 SELECT gen_random_uuid(), o.reference || '-' || d.n, 'sent', o.created_by, o.partner_id, \
                     d.id, o.currency, o.subtotal, o.discount, o.total, o.pricing \
                 FROM orders o, d WHERE o.id = '{id}' RETURNING id) \
             INSERT INTO order_lines (order_id, position, product_id, duration_months, quantity, \
                 billing_period, subtotal, discount, total) \
             SELECT c.id, l.position, l.product_id, l.duration_months, l.quantity, l.billing_period, \
                 l.subtotal, l.discount, l.total \
             FROM copies c, order_lines l WHERE l.order_id = '{id}'"
        ))
        .execute(&mut conn)
        .await
        .unwrap();
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            id: uuid::Uuid,
        }
        let ids: Vec<Id> = diesel::sql_query(format!(
            "SELECT id FROM orders WHERE reference LIKE (SELECT reference FROM orders WHERE id = '{id}') || '-%'"
        ))
        .load(&mut conn)
        .await
        .unwrap();
        assert_eq!(ids.len() as i64, ORDERS);
        let requests: Vec<_> = ids
            .iter()
            .map(|o| {
                tentabo_workflows::jobs::JobRequest::new(
                    &tentabo_workflows::jobs::payloads::RequestQuote { order_id: o.id },
                    format!("burst:{}", o.id),
                )
            })
            .collect();
        tentabo_workflows::jobs::enqueue(&mut conn, &requests)
            .await
            .unwrap();
    }
    let one = RunningWorker::start(worker_config(
        &app.db.url,
        &app.redis.url,
        &app.redis.namespace,
    ));
    let two = RunningWorker::start(worker_config(
        &app.db.url,
        &app.redis.url,
        &app.redis.namespace,
    ));
    eventually(Duration::from_secs(120), "the burst is served", || async {
        count(
            &app,
            "SELECT count(*) AS n FROM outbox WHERE queue = 'billing_request_quote' AND status = 'done'",
        )
        .await
            == ORDERS
    })
    .await;
    one.stop().await;
    two.stop().await;
    let mut arrivals = peer.state.arrivals();
    arrivals.sort();
    assert!(arrivals.len() >= 1_000, "{} calls", arrivals.len());
    // Over the whole burst the limiter's slots are exact: the average rate at the peer
    // stays at the configured rate (5 % for a first or last call held up by the
    // scheduler; a limiter per process would show twice the rate).
    let span = arrivals[arrivals.len() - 1] - arrivals[0];
    let average = (arrivals.len() - 1) as f64 / span.as_secs_f64();
    assert!(
        average <= RATE * 1.05,
        "{average:.1} calls/s on average over {span:?} (rate {RATE})"
    );
    // In any one-second window: at most the rate, plus what scheduling jitter on a
    // loaded 2-core machine can bunch into it (calls held up to 150 ms behind their
    // slots land in the next window with the calls that followed on time; 214 were
    // seen once with 5 % allowed), plus one for the window's edge. Limiters per process
    // would show twice the rate here and on average.
    let most = arrivals
        .iter()
        .enumerate()
        .map(|(i, t)| {
            arrivals[i..]
                .iter()
                .take_while(|u| **u - *t < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap();
    let allowed = (RATE * 1.15) as usize + 1;
    assert!(
        most <= allowed,
        "{most} calls within one second (allowed {allowed})"
    );
    assert!(most as f64 >= RATE * 0.7, "the budget is used: {most}/s");
    assert_eq!(
        peer.state.count("POST", "/api/external/v2/quotes") as i64,
        ORDERS,
        "one quote per order"
    );
}
