//! The Pipedrive client against Pipedrive's own published OpenAPI descriptions
//! (`tests/specs/pipedrive-openapi-v1.yaml` and `-v2.yaml`, see `tests/specs/SOURCES.md`),
//! each served by Prism with request validation on: every request shape the client
//! sends — the connection test, the searches (email, name, reference), person,
//! organization, inbox item, deal and activity creation, deal and inbox item patches,
//! the reference field, pipelines and stages, every changed-since list and its paging,
//! webhook registration and removal, the OAuth code exchange and refresh — must be
//! accepted (Prism answers a request that breaks a document with its 4xx). Prism serves
//! a document's paths at its root, so a small router puts v1 under `/api/v1` and v2
//! under `/api/v2`, where Pipedrive has them.

#![allow(clippy::unwrap_used)]

#[path = "../../tests/support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use diesel_async::RunQueryDsl;
use secrecy::SecretString;
use serde_json::json;
use tentabo_workflows::outbound::{CallLog, Outbound};
use tentabo_workflows::providers::pipedrive::{self, Auth, Pipedrive, PipedriveSettings, oauth};
use tentabo_workflows::providers::registry::{self, ProviderKind};
use tentabo_workflows::providers::{CrmLink, LeadSnapshot};
use tentabo_workflows::retry::RetryPolicy;
use uuid::Uuid;

struct Prism {
    child: tokio::process::Child,
    url: String,
}

impl Prism {
    async fn start(spec: &str, probe: &str) -> Prism {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = tokio::process::Command::new("bash")
            .arg(root.join("tests/prism/prism.sh"))
            .args(["mock", "-h", "127.0.0.1", "-p", &port.to_string()])
            .arg(root.join("tests/specs").join(spec))
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start Prism (tests/prism/prism.sh)");
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let started = std::time::Instant::now();
        // The first run installs Prism (npm) before it listens.
        while http
            .get(format!("{url}{probe}"))
            .header("x-api-token", "probe")
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

#[derive(Clone)]
struct Upstreams {
    v1: String,
    v2: String,
    http: reqwest::Client,
}

/// `/api/v1/…` and `/oauth/…` → the v1 mock, `/api/v2/…` → the v2 mock.
async fn route(State(u): State<Upstreams>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let query = req
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let target = if let Some(rest) = path.strip_prefix("/api/v1") {
        format!("{}{rest}{query}", u.v1)
    } else if let Some(rest) = path.strip_prefix("/api/v2") {
        format!("{}{rest}{query}", u.v2)
    } else {
        format!("{}{path}{query}", u.v1)
    };
    let method = req.method().clone();
    let headers = req.headers().clone();
    let body: Bytes = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let mut out = u.http.request(method, target).body(body);
    for (k, v) in &headers {
        if k != "host" && k != "content-length" {
            out = out.header(k, v);
        }
    }
    match out.send().await {
        Ok(r) => {
            let status = StatusCode::from_u16(r.status().as_u16()).unwrap();
            let ct = r
                .headers()
                .get("content-type")
                .cloned()
                .unwrap_or_else(|| "application/json".parse().unwrap());
            let b = r.bytes().await.unwrap_or_default();
            (status, [("content-type", ct)], b).into_response()
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

fn settings(url: &str) -> PipedriveSettings {
    let spec = registry::find(ProviderKind::Crm, registry::PIPEDRIVE).unwrap();
    let checked = spec
        .check(&json!({ "base_url": url, "max_attempts": 1, "owner_id": 7 }))
        .unwrap();
    registry::settings(&checked).unwrap()
}

fn snapshot(status: &str, links: Vec<CrmLink>) -> LeadSnapshot {
    LeadSnapshot {
        lead_id: Uuid::new_v4(),
        external_id: None,
        title: "Sauvegarde des 40 agences".into(),
        organization: "Boulangeries Martin SAS".into(),
        contact_name: "Zoé Lefèvre".into(),
        contact_email: "zoe.lefevre@boulangeries-martin.fr".into(),
        contact_phone: Some("06 12 34 56 78".into()),
        status: status.into(),
        value: Some(rust_decimal::Decimal::new(1_800_050, 2)),
        currency: "EUR".into(),
        expected_close_date: chrono::NaiveDate::from_ymd_opt(2027, 3, 31),
        lost_reason: (status == "lost").then(|| "Budget gelé".into()),
        version: 3,
        updated_at: chrono::Utc::now(),
        links,
    }
}

#[tokio::test]
async fn every_request_the_client_sends_passes_the_vendor_specs() {
    let v1 = Prism::start("pipedrive-openapi-v1.yaml", "/users/me").await;
    let v2 = Prism::start("pipedrive-openapi-v2.yaml", "/pipelines").await;
    let upstreams = Upstreams {
        v1: v1.url.clone(),
        v2: v2.url.clone(),
        http: reqwest::Client::new(),
    };
    let app = axum::Router::new().fallback(route).with_state(upstreams);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let db = support::TestDb::new().await;
    let pool = tentabo_schema::db::build_pool(&db.url, 2).unwrap();
    let outbound = Outbound::new(None, CallLog::start(pool, 100)).unwrap();
    let client = Pipedrive::new(
        outbound.clone(),
        settings(&base),
        Auth::Token(SecretString::from("prism-token".to_owned())),
        RetryPolicy::default(),
    );

    use tentabo_workflows::providers::CrmProvider;
    client.check().await.unwrap();
    client.reference_key().await.unwrap();
    client.pipeline().await.unwrap();
    client.find_person_by_email("zoe@exemple.fr").await.unwrap();
    client
        .find_organization_by_name("Boulangeries Martin SAS")
        .await
        .unwrap();
    client
        .find_deal_by_reference("tentabo-lead-x")
        .await
        .unwrap();
    client
        .find_lead_by_reference("tentabo-lead-x")
        .await
        .unwrap();
    let org = client
        .create_organization("Boulangeries Martin SAS")
        .await
        .unwrap();
    client
        .create_person(
            "Zoé Lefèvre",
            "zoe@exemple.fr",
            Some("06 12 34 56 78"),
            Some(org.id),
        )
        .await
        .unwrap();
    let key = client.reference_key().await.unwrap();
    let item = client
        .create_lead(
            json!({ "title": "Salon", "person_id": 1, "organization_id": 2,
            "value": { "amount": 900.5, "currency": "EUR" }, "expected_close_date": "2027-03-31",
            "owner_id": 7, key.clone(): "tentabo-lead-x" }),
        )
        .await
        .unwrap();
    client
        .update_lead(&item.id, json!({ "is_archived": true }))
        .await
        .unwrap();
    client.lead(&item.id).await.unwrap();
    let deal = client
        .create_deal(json!({ "title": "Sauvegarde", "person_id": 1, "org_id": 2, "pipeline_id": 1,
            "stage_id": 1, "value": 18000.5, "currency": "EUR", "status": "open",
            "expected_close_date": "2027-03-31", "owner_id": 7, "custom_fields": { key.clone(): "tentabo-lead-x" } }))
        .await
        .unwrap();
    client
        .update_deal(
            deal.id,
            json!({ "status": "lost", "lost_reason": "Budget gelé", "stage_id": 2 }),
        )
        .await
        .unwrap();
    client.deal(deal.id).await.unwrap();
    client.deal_raw(deal.id).await.unwrap();
    // The push itself: found objects, patched where they differ (Prism's examples
    // differ from the snapshot in every field), an inbox item archived on conversion.
    for status in ["new", "qualified", "won", "lost"] {
        client
            .push_lead(&snapshot(status, Vec::new()), "k")
            .await
            .unwrap();
    }
    let linked = vec![
        CrmLink::new("organization", "2".into(), None),
        CrmLink::new("person", "1".into(), None),
        CrmLink::new("lead", item.id.clone(), None),
        CrmLink::new("deal", deal.id.to_string(), None),
    ];
    client
        .push_lead(&snapshot("proposal", linked), "k")
        .await
        .unwrap();
    let since = Some(chrono::Utc::now() - chrono::Duration::days(2));
    for template in [
        "/deals",
        "/persons",
        "/organizations",
        "/activities",
        "/stages",
    ] {
        let page = client
            .changed_page(template, since, None, 500)
            .await
            .unwrap();
        client
            .changed_page(
                template,
                None,
                page.next.as_deref().or(Some("eyJpZCI6N30")),
                100,
            )
            .await
            .unwrap();
    }
    client.leads_page(since, 0, 500).await.unwrap();
    client.leads_page(None, 500, 100).await.unwrap();
    client
        .create_activity(
            json!({ "subject": "Démonstration", "type": "meeting", "deal_id": deal.id,
            "person_id": 1, "due_date": "2027-01-15", "due_time": "10:30", "done": false,
            "note": "<p>Salle B</p>\n<!-- tentabo-activity-x -->" }),
        )
        .await
        .unwrap();
    client
        .activities_of("deal_id", &deal.id.to_string())
        .await
        .unwrap();
    client.activities_of("lead_id", &item.id).await.unwrap();
    let hooks = client
        .register_webhooks(
            "https://tentabo.example.com/api/v1/webhooks/pipedrive",
            "tentabo",
            &SecretString::from("s3cret".to_owned()),
        )
        .await
        .unwrap();
    assert_eq!(hooks.len(), pipedrive::FOLLOWED.len());
    client.remove_webhooks(&hooks).await.unwrap();
    // OAuth: the code exchange and a refresh at the v1 document's token endpoint.
    let app_client = oauth::Client {
        client_id: "tentabo-app".into(),
        client_secret: SecretString::from("app-secret".to_owned()),
        token_url: format!("{base}/oauth/token"),
        authorize_url: format!("{base}/oauth/authorize"),
    };
    let tokens = oauth::exchange_code(
        &outbound,
        RetryPolicy::default(),
        &app_client,
        "code-1",
        "https://tentabo.example.com/api/v1/providers/crm/pipedrive/oauth/callback",
    )
    .await
    .unwrap();
    assert!(!tokens.refresh_token.is_empty());

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
        "GET /users/me",
        "GET /dealFields",
        "GET /pipelines",
        "GET /stages",
        "GET /persons/search",
        "GET /organizations/search",
        "GET /deals/search",
        "GET /leads/search",
        "POST /persons",
        "POST /organizations",
        "POST /leads",
        "PATCH /leads/{id}",
        "GET /leads/{id}",
        "POST /deals",
        "PATCH /deals/{id}",
        "GET /deals/{id}",
        "GET /deals",
        "GET /persons",
        "GET /organizations",
        "GET /activities",
        "GET /leads",
        "POST /activities",
        "POST /webhooks",
        "DELETE /webhooks/{id}",
        "POST /oauth/token",
    ] {
        assert!(
            shapes.contains(expected),
            "{expected} not exercised: {shapes:?}"
        );
    }
    server.abort();
}
