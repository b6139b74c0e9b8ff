//! The Pennylane client against Pennylane's own published OpenAPI description
//! (`tests/specs/pennylane-company-v2-openapi.json`), served by Prism with request
//! validation on: every request shape the client sends — the connection test, customer
//! lookup and creation, quote lookup and creation, invoices from a quote, plain,
//! draft, finalized, the invoice list, one invoice, the changelog by date and by
//! cursor — must be accepted (Prism answers a request that breaks the spec with its
//! 4xx). The call log records each answer's status.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::time::Duration;

use diesel_async::RunQueryDsl;
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde_json::json;
use tentabo_workflows::outbound::{CallLog, Outbound};
use tentabo_workflows::providers::pennylane::{Pennylane, PennylaneSettings};
use tentabo_workflows::providers::registry::{self, ProviderKind};
use tentabo_workflows::providers::{
    BillingCustomer, BillingProvider, ContractSnapshot, ExternalRef, OrderLineSnapshot,
    OrderSnapshot,
};
use tentabo_workflows::retry::RetryPolicy;
use uuid::Uuid;

struct Prism {
    child: tokio::process::Child,
    url: String,
}

impl Prism {
    async fn start() -> Prism {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = tokio::process::Command::new("bash")
            .arg(root.join("tests/prism/prism.sh"))
            .args(["mock", "-h", "127.0.0.1", "-p", &port.to_string()])
            .arg(root.join("tests/specs/pennylane-company-v2-openapi.json"))
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start Prism (tests/prism/prism.sh)");
        let url = format!("http://127.0.0.1:{port}/api/external/v2");
        let http = reqwest::Client::new();
        let started = std::time::Instant::now();
        // The first run installs Prism (npm) before it listens.
        while http
            .get(format!("{url}/me"))
            .bearer_auth("probe")
            .send()
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(300),
                "Prism did not start"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Prism { child, url }
    }
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

fn client(url: &str, outbound: &Outbound, finalize: bool) -> Pennylane {
    let spec = registry::find(ProviderKind::Billing, registry::PENNYLANE).unwrap();
    let checked = spec
        .check(&json!({ "base_url": url, "finalize_invoices": finalize, "max_attempts": 1 }))
        .unwrap();
    let settings: PennylaneSettings = registry::settings(&checked).unwrap();
    Pennylane::new(
        outbound.clone(),
        settings,
        SecretString::from("prism-token".to_owned()),
        RetryPolicy::default(),
    )
}

fn order() -> OrderSnapshot {
    OrderSnapshot {
        order_id: Uuid::new_v4(),
        reference: "ORD-000042".into(),
        currency: "EUR".into(),
        total: Decimal::new(123_450, 2),
        customer: BillingCustomer {
            kind: "distributor",
            id: Uuid::new_v4(),
            name: "Boulangerie Dupont & Fils SARL".into(),
        },
        lines: vec![
            OrderLineSnapshot {
                product_id: Uuid::new_v4(),
                label: "Backup Storage (24 months)".into(),
                quantity: 15,
                duration_months: 24,
                total: Decimal::new(90_000, 2),
            },
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
async fn every_request_the_client_sends_passes_the_vendor_spec() {
    let prism = Prism::start().await;
    let db = support::TestDb::new().await;
    let pool = tentabo_schema::db::build_pool(&db.url, 2).unwrap();
    let outbound = Outbound::new(None, CallLog::start(pool, 100)).unwrap();
    let finalized = client(&prism.url, &outbound, true);
    let drafts = client(&prism.url, &outbound, false);

    finalized.check().await.unwrap();
    let order = order();
    let quote = finalized.create_quote(&order, "k").await.unwrap();
    let from_quote = ContractSnapshot {
        contract_id: Uuid::new_v4(),
        order: order.clone(),
        quote: Some(quote.clone()),
    };
    finalized.create_invoice(&from_quote, "k").await.unwrap();
    drafts.create_invoice(&from_quote, "k").await.unwrap();
    let plain = ContractSnapshot {
        contract_id: Uuid::new_v4(),
        order: order.clone(),
        quote: Some(ExternalRef {
            provider: "recording".into(),
            external_id: "create_quote-1".into(),
        }),
    };
    finalized.create_invoice(&plain, "k").await.unwrap();
    drafts.create_invoice(&plain, "k").await.unwrap();
    let id: i64 = quote.external_id.parse().unwrap();
    finalized.finalize(id).await.unwrap();
    assert!(finalized.invoice_raw(id).await.unwrap().is_some());
    assert!(finalized.invoice(id).await.unwrap().is_some());
    let (items, _) = finalized.invoices_page(None, 100).await.unwrap();
    assert!(!items.is_empty());
    finalized
        .invoices_page(Some("c2Vjb25k"), 100)
        .await
        .unwrap();
    let since = chrono::Utc::now() - chrono::Duration::days(3);
    let changes = finalized
        .invoice_changes(None, Some(since), 100)
        .await
        .unwrap();
    finalized
        .invoice_changes(
            changes.next_cursor.as_deref().or(Some("c2Vjb25k")),
            None,
            100,
        )
        .await
        .unwrap();
    finalized.invoice_changes(None, None, 1000).await.unwrap();

    outbound.call_log().flush().await;
    #[derive(diesel::QueryableByName, Debug)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        method: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        path: String,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
        status: Option<i32>,
    }
    let rows: Vec<Row> =
        diesel::sql_query("SELECT method, path, status FROM provider_call_log ORDER BY id")
            .load(&mut db.conn().await)
            .await
            .unwrap();
    let refused: Vec<&Row> = rows
        .iter()
        .filter(|r| !r.status.is_some_and(|s| (200..300).contains(&s)))
        .collect();
    assert!(refused.is_empty(), "Prism refused: {refused:?}");
    let shapes: std::collections::BTreeSet<String> = rows
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    for expected in [
        "GET /me",
        "GET /customers",
        "POST /company_customers",
        "GET /quotes",
        "POST /quotes",
        "GET /customer_invoices",
        "POST /customer_invoices",
        "POST /customer_invoices/create_from_quote",
        "PUT /customer_invoices/{id}/finalize",
        "GET /customer_invoices/{id}",
        "GET /changelogs/customer_invoices",
    ] {
        assert!(
            shapes.contains(expected),
            "{expected} not exercised: {shapes:?}"
        );
    }
}
