//! The Pennylane client through the outbound layer, against the stateful peer: one
//! quote and one invoice per reference however often a job retries (a timeout after
//! Pennylane accepted the call included), 429 with `Retry-After` honoured, 5xx and
//! timeouts retried, the circuit breaker opening, failing fast and closing after a
//! probe, and the call log.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/pennylane.rs"]
mod pennylane;
#[path = "../../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use pennylane::{Fault, PennylanePeer};
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde_json::json;
use tentabo_workflows::outbound::{BreakerState, CallLog, Outbound, RateLimiter};
use tentabo_workflows::providers::pennylane::{Pennylane, PennylaneSettings};
use tentabo_workflows::providers::registry::{self, ProviderKind};
use tentabo_workflows::providers::{
    BillingCustomer, BillingProvider, ContractSnapshot, ExternalRef, OrderLineSnapshot,
    OrderSnapshot, ProviderError,
};
use tentabo_workflows::retry::RetryPolicy;
use uuid::Uuid;

const TOKEN: &str = "pl-test-token-41b2";

fn settings(peer: &PennylanePeer, timeout_seconds: u32, max_attempts: u32) -> PennylaneSettings {
    settings_with(peer, timeout_seconds, max_attempts, 3)
}

fn settings_with(
    peer: &PennylanePeer,
    timeout_seconds: u32,
    max_attempts: u32,
    breaker_threshold: u32,
) -> PennylaneSettings {
    let spec = registry::find(ProviderKind::Billing, registry::PENNYLANE).unwrap();
    let checked = spec
        .check(&json!({
            "base_url": peer.url(),
            "timeout_seconds": timeout_seconds,
            "max_attempts": max_attempts,
            "rate_limit_per_second": 100.0,
            "breaker_threshold": breaker_threshold,
            "breaker_cool_down_seconds": 1,
        }))
        .unwrap();
    registry::settings(&checked).unwrap()
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        initial: Duration::from_millis(10),
        max: Duration::from_millis(50),
        retry_after_cap: Duration::from_secs(5),
        ..Default::default()
    }
}

fn client(peer: &PennylanePeer, outbound: &Outbound, timeout: u32, attempts: u32) -> Pennylane {
    Pennylane::new(
        outbound.clone(),
        settings(peer, timeout, attempts),
        SecretString::from(TOKEN.to_owned()),
        fast_retry(),
    )
}

fn order() -> OrderSnapshot {
    OrderSnapshot {
        order_id: Uuid::new_v4(),
        reference: "ORD-2026-0042".into(),
        currency: "EUR".into(),
        total: Decimal::new(123_450, 2),
        customer: BillingCustomer {
            kind: "partner",
            id: Uuid::new_v4(),
            name: "Société Générale d'Électricité".into(),
        },
        lines: vec![
            OrderLineSnapshot {
                product_id: Uuid::new_v4(),
                label: "Backup Storage (24 months)".into(),
                quantity: 15,
                duration_months: 24,
                total: Decimal::new(90_000, 2),
            },
            // 3 seats for 334.50: the unit price is not exact to 6 places → one unit.
            OrderLineSnapshot {
                product_id: Uuid::new_v4(),
                label: "Collaboration Seats (12 months)".into(),
                quantity: 7,
                duration_months: 12,
                total: Decimal::new(33_450, 2),
            },
        ],
    }
}

#[tokio::test]
async fn an_order_makes_one_customer_one_quote_and_one_invoice_from_it() {
    let peer = PennylanePeer::start(TOKEN).await;
    let outbound = Outbound::standalone();
    let pl = client(&peer, &outbound, 5, 3);
    pl.check().await.unwrap();
    let order = order();
    let quote = pl.create_quote(&order, "k1").await.unwrap();
    assert_eq!(quote.provider, "pennylane");
    let again = pl.create_quote(&order, "k1").await.unwrap();
    assert_eq!(again, quote, "a repeat finds the quote by our reference");
    let reference = format!("tentabo-order-{}", order.order_id);
    let quotes = peer.state.quotes_with_reference(&reference);
    assert_eq!(quotes.len(), 1);
    assert_eq!(quotes[0]["currency_amount_before_tax"], "1234.50");
    let customers = peer
        .state
        .customers_with_reference(&format!("tentabo-partner-{}", order.customer.id));
    assert_eq!(customers.len(), 1);
    assert_eq!(customers[0]["name"], "Société Générale d'Électricité");

    let contract = ContractSnapshot {
        contract_id: Uuid::new_v4(),
        order: order.clone(),
        quote: Some(quote.clone()),
    };
    let invoice = pl.create_invoice(&contract, "k2").await.unwrap();
    assert_eq!(pl.create_invoice(&contract, "k2").await.unwrap(), invoice);
    let invoices = peer
        .state
        .invoices_with_reference(&format!("tentabo-contract-{}", contract.contract_id));
    assert_eq!(invoices.len(), 1);
    assert_eq!(invoices[0]["quote"]["id"].to_string(), quote.external_id);
    assert_eq!(invoices[0]["draft"], false, "finalized per the settings");
    assert_eq!(
        peer.state
            .count("POST", "/api/external/v2/company_customers"),
        1
    );
    assert_eq!(peer.state.count("POST", "/api/external/v2/quotes"), 1);

    // A contract whose quote came from another provider gets a plain invoice.
    let other = ContractSnapshot {
        contract_id: Uuid::new_v4(),
        order: order.clone(),
        quote: Some(ExternalRef {
            provider: "recording".into(),
            external_id: "create_quote-x".into(),
        }),
    };
    pl.create_invoice(&other, "k3").await.unwrap();
    let plain = peer
        .state
        .invoices_with_reference(&format!("tentabo-contract-{}", other.contract_id));
    assert_eq!(plain.len(), 1);
    assert!(plain[0]["quote"].is_null());
}

#[tokio::test]
async fn a_call_accepted_before_a_timeout_is_found_on_retry_not_made_twice() {
    let peer = PennylanePeer::start(TOKEN).await;
    *peer.state.stall.lock().unwrap() = Duration::from_secs(3);
    let outbound = Outbound::standalone();
    // One attempt per call: the job's retry is what comes back.
    let pl = client(&peer, &outbound, 1, 1);
    let order = order();
    peer.state
        .fault_on("POST", "/api/external/v2/quotes", Fault::AcceptThenStall);
    let first = pl.create_quote(&order, "k").await;
    assert!(
        matches!(first, Err(ProviderError::Transient(_))),
        "{first:?}"
    );
    let reference = format!("tentabo-order-{}", order.order_id);
    assert_eq!(
        peer.state.quotes_with_reference(&reference).len(),
        1,
        "accepted"
    );
    pl.create_quote(&order, "k").await.unwrap();
    assert_eq!(
        peer.state.quotes_with_reference(&reference).len(),
        1,
        "not doubled"
    );

    let quote = ExternalRef {
        provider: "pennylane".into(),
        external_id: peer.state.quotes_with_reference(&reference)[0]["id"].to_string(),
    };
    let contract = ContractSnapshot {
        contract_id: Uuid::new_v4(),
        order,
        quote: Some(quote),
    };
    peer.state.fault_on(
        "POST",
        "/api/external/v2/customer_invoices/create_from_quote",
        Fault::AcceptThenStall,
    );
    assert!(pl.create_invoice(&contract, "k").await.is_err());
    pl.create_invoice(&contract, "k").await.unwrap();
    let reference = format!("tentabo-contract-{}", contract.contract_id);
    assert_eq!(peer.state.invoices_with_reference(&reference).len(), 1);
}

#[tokio::test]
async fn throttling_is_waited_out_and_failures_are_retried() {
    let peer = PennylanePeer::start(TOKEN).await;
    *peer.state.stall.lock().unwrap() = Duration::from_secs(3);
    let outbound = Outbound::standalone();
    let pl = Pennylane::new(
        outbound.clone(),
        settings_with(&peer, 1, 4, 50),
        SecretString::from(TOKEN.to_owned()),
        fast_retry(),
    );

    peer.state.push_fault(Fault::TooManyRequests {
        retry_after_secs: 1,
    });
    let started = Instant::now();
    pl.check().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    let seen = peer.state.seen.lock().unwrap().clone();
    assert_eq!(seen[0].status, 429);
    assert!(seen[1].at - seen[0].at >= Duration::from_millis(990));

    peer.state.push_fault(Fault::ServerError);
    peer.state.push_fault(Fault::Stall);
    pl.check().await.unwrap();
    assert_eq!(peer.state.count("GET", "/api/external/v2/me"), 2 + 3);

    // Out of attempts: a clear transient failure (the job retries later).
    for _ in 0..4 {
        peer.state.push_fault(Fault::ServerError);
    }
    let err = pl.check().await.unwrap_err();
    assert!(
        matches!(&err, ProviderError::Transient(m) if m.contains("4 attempt")),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_breaker_opens_fails_fast_and_closes_after_a_probe() {
    let peer = PennylanePeer::start(TOKEN).await;
    let outbound = Outbound::standalone();
    let pl = client(&peer, &outbound, 2, 2);
    *peer.state.fail_always.lock().unwrap() = Some(Fault::ServerError);
    assert!(pl.check().await.is_err());
    assert_eq!(outbound.breaker_state("pennylane"), BreakerState::Closed);
    let err = pl.check().await.unwrap_err();
    assert!(format!("{err:?}").contains("breaker"), "{err:?}");
    assert_eq!(outbound.breaker_state("pennylane"), BreakerState::Open);
    let reached = peer.state.seen.lock().unwrap().len();
    assert_eq!(reached, 3, "the third failure opened it");
    for _ in 0..5 {
        assert!(pl.check().await.is_err());
    }
    assert_eq!(
        peer.state.seen.lock().unwrap().len(),
        reached,
        "open: calls fail fast without reaching the peer"
    );

    *peer.state.fail_always.lock().unwrap() = None;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(outbound.breaker_state("pennylane"), BreakerState::HalfOpen);
    pl.check().await.unwrap();
    assert_eq!(outbound.breaker_state("pennylane"), BreakerState::Closed);
    assert_eq!(
        peer.state.seen.lock().unwrap().len(),
        reached + 1,
        "one probe"
    );
}

#[tokio::test]
async fn refusals_are_permanent_with_the_providers_reason() {
    let peer = PennylanePeer::start(TOKEN).await;
    let outbound = Outbound::standalone();
    let wrong = Pennylane::new(
        outbound.clone(),
        settings(&peer, 2, 3),
        SecretString::from("not-the-token".to_owned()),
        fast_retry(),
    );
    let err = wrong.check().await.unwrap_err();
    assert!(
        matches!(&err, ProviderError::Permanent(m) if m.contains("refused the API token") && !m.contains("not-the-token")),
        "{err:?}"
    );
    assert_eq!(
        peer.state.count("GET", "/api/external/v2/me"),
        1,
        "a 401 is not retried"
    );
    assert_eq!(
        outbound.breaker_state("pennylane"),
        BreakerState::Closed,
        "a refusal is an answer"
    );
}

#[tokio::test]
async fn every_attempt_leaves_a_call_log_row_without_secrets() {
    let db = support::TestDb::new().await;
    let redis = support::TestRedis::new();
    let peer = PennylanePeer::start(TOKEN).await;
    let limiter = RateLimiter::new(
        redis::Client::open(redis.url.as_str()).unwrap(),
        &redis.namespace,
    );
    let pool = tentabo_schema::db::build_pool(&db.url, 2).unwrap();
    let outbound = Outbound::new(Some(limiter), CallLog::start(pool, 100)).unwrap();
    let pl = client(&peer, &outbound, 2, 3);
    peer.state.push_fault(Fault::ServerError);
    tentabo_workflows::outbound::with_context(
        tentabo_workflows::outbound::CallContext {
            job_id: Some(77),
            request_id: Some("req-1".into()),
        },
        pl.create_quote(&order(), "k"),
    )
    .await
    .unwrap();
    outbound.call_log().flush().await;
    #[derive(diesel::QueryableByName, Debug)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        method: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        path: String,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
        status: Option<i32>,
        #[diesel(sql_type = diesel::sql_types::Text)]
        outcome: String,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        attempt: i32,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
        job_id: Option<i64>,
    }
    use diesel_async::RunQueryDsl;
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT method, path, status, outcome, attempt, job_id FROM provider_call_log ORDER BY id",
    )
    .load(&mut db.conn().await)
    .await
    .unwrap();
    assert_eq!(rows[0].outcome, "server_error");
    assert_eq!(rows[0].status, Some(500));
    assert_eq!(rows[1].attempt, 2, "the retry is its own row");
    assert!(rows.iter().all(|r| r.job_id == Some(77)));
    let paths: Vec<String> = rows
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(paths.contains(&"POST /quotes".to_owned()), "{paths:?}");
    assert!(
        rows.iter().all(|r| !r.path.contains('?')),
        "templates, no query strings"
    );
}
