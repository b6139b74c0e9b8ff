//! A stateful test peer that speaks Pipedrive's API on 127.0.0.1:0: v1 under `/api/v1`
//! (`/users/me`, leads, webhooks), v2 under `/api/v2` (persons, organizations, deals,
//! pipelines, stages, deal fields, activities, and the searches), and OAuth 2.0 under
//! `/oauth` (`/authorize` redirects back with a code, `/token` exchanges and refreshes).
//!
//! What it holds to from the real service (Pipedrive's OpenAPI documents and docs):
//! `{success, data, additional_data}` envelopes, v2 creates answering 200 and v1 creates
//! 201, v2 cursor paging (`additional_data.next_cursor`) and v1 offset paging
//! (`additional_data.pagination`), `update_time` with second precision, v1 writing
//! `false` for an empty relation, search answers `{items: [{result_score, item}]}`,
//! errors `{success: false, error, error_info}`, the `x-api-token` header (or an OAuth
//! bearer), and rate-limit headers on every answer (`x-ratelimit-limit`,
//! `x-ratelimit-remaining`, `x-ratelimit-reset`, 2-second windows) with a 429 beyond.
//! Bodies are checked for the fields the documents require and refused with 400.
//!
//! Webhooks (v2 format: `meta`, `data`, `previous`) are delivered to every registered
//! subscription following the changed object, with HTTP Basic credentials; a delivery
//! answered with anything but 2xx is retried ([`PeerState::retry_delays`], Pipedrive's
//! 3 s / 30 s / 150 s shortened for tests). Changes made "in Pipedrive's UI"
//! ([`PeerState::ui_move_deal`] etc.) deliver webhooks like API changes do.
//!
//! It starts seeded like a real French installation: accented names, French phone
//! formats, HTML in notes, an archived lead, a lost deal, `false` relations.
//!
//! Faults ([`PeerState::push_fault`]): a 429 with `Retry-After`, an empty 500, and an
//! accepted request whose answer stalls (the object exists, the client times out).
#![allow(dead_code, clippy::unwrap_used, clippy::result_large_err)]

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

/// Requests allowed per 2-second window (per token).
pub const DEFAULT_BURST: u32 = 80;

#[derive(Debug, Clone)]
pub enum Fault {
    /// 429 with `Retry-After` (seconds).
    TooMany(u64),
    /// An empty 500.
    ServerError,
    /// The request is processed, then its answer stalls past the client's timeout.
    AcceptThenStall,
}

pub struct PipedrivePeer {
    pub addr: SocketAddr,
    pub state: Arc<PeerState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PipedrivePeer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub struct PeerState {
    pub token: String,
    pub client_id: String,
    pub client_secret: String,
    data: Mutex<Data>,
    faults: Mutex<VecDeque<Fault>>,
    /// (method, path) of every request, in order.
    seen: Mutex<Vec<(String, String)>>,
    /// Requests per window, and the limit.
    window: Mutex<(Instant, u32)>,
    pub burst: Mutex<u32>,
    /// Requests answered 429 because the window's budget was spent.
    pub throttled: Mutex<usize>,
    pub stall: Mutex<Duration>,
    /// Every create (`POST` under `/api`) is processed, then its answer stalls for
    /// `stall`: the client times out after Pipedrive made the object.
    pub stall_creates: Mutex<bool>,
    /// Delays between webhook delivery attempts (3 retries at most, like Pipedrive).
    pub retry_delays: Mutex<Vec<Duration>>,
    /// Every delivery attempt: (subscription url, event id, attempt, HTTP status or 0).
    pub deliveries: Mutex<Vec<(String, String, u32, u16)>>,
    /// Every event delivered: (webhook, event id, body).
    sent: Mutex<Vec<(Value, String, Value)>>,
    http: reqwest::Client,
}

#[derive(Default)]
struct Data {
    next_id: i64,
    persons: BTreeMap<i64, Value>,
    orgs: BTreeMap<i64, Value>,
    deals: BTreeMap<i64, Value>,
    leads: BTreeMap<String, Value>,
    activities: BTreeMap<i64, Value>,
    pipelines: BTreeMap<i64, Value>,
    stages: BTreeMap<i64, Value>,
    fields: Vec<Value>,
    webhooks: BTreeMap<i64, Value>,
    /// OAuth: codes issued, access tokens (→ expiry), refresh tokens (→ valid).
    codes: Vec<String>,
    access: BTreeMap<String, DateTime<Utc>>,
    refresh: BTreeMap<String, bool>,
    /// Seconds an access token lives.
    expires_in: i64,
    /// Token exchanges and refreshes answered.
    token_calls: Vec<String>,
    /// The clock of `update_time` (seconds; strictly increasing per change).
    last_time: i64,
}

fn ts(t: i64) -> String {
    DateTime::<Utc>::from_timestamp(t, 0)
        .unwrap()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl Data {
    fn id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }
    /// The time of a change: now, or a second after the last change (second precision
    /// like Pipedrive, yet each change of one object is later than the previous).
    fn now(&mut self) -> String {
        let t = Utc::now().timestamp().max(self.last_time + 1);
        self.last_time = t;
        ts(t)
    }

    fn seeded() -> Data {
        let mut d = Data {
            next_id: 9_000,
            expires_in: 3600,
            last_time: Utc::now().timestamp() - 86_400,
            ..Default::default()
        };
        let t = d.now();
        d.pipelines.insert(
            1,
            json!({ "id": 1, "name": "Pipeline", "order_nr": 1, "is_deleted": false,
                    "is_deal_probability_enabled": false, "add_time": t, "update_time": t }),
        );
        for (i, name) in [
            "Qualified",
            "Contact Made",
            "Demo Scheduled",
            "Proposal Made",
            "Negotiations Started",
        ]
        .iter()
        .enumerate()
        {
            let id = i as i64 + 1;
            d.stages.insert(
                id,
                json!({ "id": id, "order_nr": id, "name": name, "pipeline_id": 1,
                        "deal_probability": 100, "is_deleted": false, "is_deal_rot_enabled": false,
                        "days_to_rotten": null, "add_time": t, "update_time": t }),
            );
        }
        for (code, name, ty) in [
            ("title", "Title", "varchar"),
            ("value", "Value", "monetary"),
            ("stage_id", "Stage", "stage"),
            (
                "9f6ad4ab6f8e2d7c0a1b3c5d7e9f0a2b4c6d8e0f",
                "Référence interne",
                "varchar",
            ),
        ] {
            d.fields.push(
                json!({ "field_name": name, "field_code": code, "field_type": ty,
                "is_custom_field": code.len() == 40, "options": null, "subfields": null }),
            );
        }
        let org = d.id();
        d.orgs.insert(
            org,
            json!({ "id": org, "name": "Boulangerie Dupont & Fils", "owner_id": 1, "add_time": t,
                    "update_time": t, "is_deleted": false, "visible_to": 3, "label_ids": [],
                    "address": { "value": "12 rue de la Paix, 75002 Paris", "country": "France" },
                    "custom_fields": {} }),
        );
        let person = d.id();
        d.persons.insert(
            person,
            json!({ "id": person, "name": "Élodie Marchand", "owner_id": 1, "org_id": org,
                    "emails": [{ "value": "elodie.marchand@dupont-fils.fr", "primary": true, "label": "work" }],
                    "phones": [{ "value": "06 12 34 56 78", "primary": true, "label": "mobile" },
                               { "value": "+33 1 42 68 53 00", "primary": false, "label": "work" }],
                    "add_time": t, "update_time": t, "is_deleted": false, "visible_to": 3,
                    "label_ids": [], "custom_fields": {} }),
        );
        let lost = d.id();
        d.deals.insert(
            lost,
            json!({ "id": lost, "title": "Renouvellement <b>2025</b>", "owner_id": 1, "person_id": person,
                    "org_id": org, "stage_id": 2, "pipeline_id": 1, "value": 4200.5, "currency": "EUR",
                    "status": "lost", "lost_reason": "Budget gelé", "add_time": t, "update_time": t,
                    "expected_close_date": null, "is_deleted": false, "is_archived": false,
                    "probability": null, "visible_to": 3, "label_ids": [], "custom_fields": {} }),
        );
        d.leads.insert(
            "2b1c8a70-5a3e-11ef-9c1d-0b8d7e2a4c11".into(),
            json!({ "id": "2b1c8a70-5a3e-11ef-9c1d-0b8d7e2a4c11", "title": "Salon Vivatech — contact",
                    "owner_id": 1, "creator_id": 1, "label_ids": [], "person_id": person,
                    "organization_id": false, "source_name": "Manually created", "origin": "ManuallyCreated",
                    "is_archived": true, "was_seen": true, "value": null, "expected_close_date": null,
                    "add_time": t, "update_time": t, "visible_to": "3" }),
        );
        let act = d.id();
        d.activities.insert(
            act,
            json!({ "id": act, "subject": "Appel de suivi", "type": "call", "owner_id": 1,
                    "deal_id": lost, "lead_id": null, "person_id": person, "org_id": org,
                    "due_date": "2026-11-20", "due_time": "14:30", "duration": "00:30", "done": true,
                    "note": "<p>Rappeler après le <em>comité</em></p>", "add_time": t, "update_time": t,
                    "is_deleted": false }),
        );
        d
    }
}

impl PipedrivePeer {
    pub async fn start(token: &str) -> PipedrivePeer {
        let state = Arc::new(PeerState {
            token: token.to_owned(),
            client_id: "tentabo-test-app".into(),
            client_secret: "s3cr3t-client".into(),
            data: Mutex::new(Data::seeded()),
            faults: Mutex::default(),
            seen: Mutex::default(),
            window: Mutex::new((Instant::now(), 0)),
            burst: Mutex::new(DEFAULT_BURST),
            throttled: Mutex::new(0),
            stall: Mutex::new(Duration::from_secs(5)),
            stall_creates: Mutex::new(false),
            retry_delays: Mutex::new(vec![
                Duration::from_millis(300),
                Duration::from_millis(600),
                Duration::from_millis(1200),
            ]),
            deliveries: Mutex::default(),
            sent: Mutex::default(),
            http: reqwest::Client::new(),
        });
        let app = router(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        PipedrivePeer { addr, state, task }
    }

    /// The base URL (`/api/v1`, `/api/v2` and `/oauth` are under it).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl PeerState {
    pub fn push_fault(&self, f: Fault) {
        lock(&self.faults).push_back(f);
    }
    /// How many requests were `method path` (path without query).
    pub fn count(&self, method: &str, path: &str) -> usize {
        lock(&self.seen)
            .iter()
            .filter(|(m, p)| m == method && p == path)
            .count()
    }
    pub fn requests(&self) -> Vec<(String, String)> {
        lock(&self.seen).clone()
    }
    pub fn deals(&self) -> Vec<Value> {
        lock(&self.data).deals.values().cloned().collect()
    }
    pub fn deal(&self, id: i64) -> Option<Value> {
        lock(&self.data).deals.get(&id).cloned()
    }
    pub fn persons(&self) -> Vec<Value> {
        lock(&self.data).persons.values().cloned().collect()
    }
    pub fn orgs(&self) -> Vec<Value> {
        lock(&self.data).orgs.values().cloned().collect()
    }
    pub fn leads(&self) -> Vec<Value> {
        lock(&self.data).leads.values().cloned().collect()
    }
    pub fn activities(&self) -> Vec<Value> {
        lock(&self.data).activities.values().cloned().collect()
    }
    pub fn webhooks(&self) -> Vec<Value> {
        lock(&self.data).webhooks.values().cloned().collect()
    }
    /// The name of a deal's stage.
    pub fn stage_of(&self, deal: i64) -> Option<String> {
        let d = lock(&self.data);
        let stage = d.deals.get(&deal)?["stage_id"].as_i64()?;
        d.stages.get(&stage)?["name"].as_str().map(str::to_owned)
    }
    /// The id of the stage `name` in the pipeline `pipeline` (by name).
    pub fn stage_in(&self, pipeline: &str, name: &str) -> Option<i64> {
        let d = lock(&self.data);
        let pid = d
            .pipelines
            .values()
            .find(|p| p["name"].as_str() == Some(pipeline))?["id"]
            .as_i64()?;
        d.stages
            .values()
            .find(|s| s["pipeline_id"] == pid && s["name"].as_str() == Some(name))
            .and_then(|s| s["id"].as_i64())
    }
    pub fn stage_id(&self, name: &str) -> Option<i64> {
        lock(&self.data)
            .stages
            .values()
            .find(|s| s["name"].as_str() == Some(name))
            .and_then(|s| s["id"].as_i64())
    }
    pub fn token_calls(&self) -> Vec<String> {
        lock(&self.data).token_calls.clone()
    }
    pub fn set_token_lifetime(&self, seconds: i64) {
        lock(&self.data).expires_in = seconds;
    }
    /// Issues an authorization code (what `/oauth/authorize` hands the browser).
    pub fn issue_code(&self) -> String {
        let code = format!("code-{}", uuid::Uuid::new_v4().simple());
        lock(&self.data).codes.push(code.clone());
        code
    }
    /// Expires every access token now (the next call is answered 401).
    pub fn expire_access_tokens(&self) {
        let past = Utc::now() - chrono::TimeDelta::seconds(1);
        for v in lock(&self.data).access.values_mut() {
            *v = past;
        }
    }
    /// The app was uninstalled: access and refresh tokens stop working.
    pub fn revoke_grant(&self) {
        let mut d = lock(&self.data);
        d.access.clear();
        for v in d.refresh.values_mut() {
            *v = false;
        }
    }

    /// The seeded person (Élodie Marchand, with an email) and her organization.
    pub fn seeded_person(&self) -> (i64, i64) {
        let d = lock(&self.data);
        let p = d.persons.values().next().unwrap();
        (p["id"].as_i64().unwrap(), p["org_id"].as_i64().unwrap())
    }

    /// Adds `n` deals as a real installation holds them (benches): one update second
    /// each, in order, a mix of statuses, stages, values, close dates, `false` and
    /// `null` relations, HTML in titles.
    pub fn seed_deals(&self, n: usize) {
        let mut d = lock(&self.data);
        let stages: Vec<i64> = d.stages.keys().copied().collect();
        for k in 0..n {
            let id = d.id();
            let t = d.now();
            let status = match k % 10 {
                0 => "won",
                1 => "lost",
                _ => "open",
            };
            let deal = json!({ "id": id, "title": format!("Contrat <b>n° {k}</b> — Société {}", k % 977),
                "owner_id": 1 + (k % 7) as i64, "person_id": if k % 5 == 0 { Value::Bool(false) } else { json!(1000 + k % 300) },
                "org_id": if k % 3 == 0 { Value::Null } else { json!(2000 + k % 200) },
                "stage_id": stages[k % stages.len()], "pipeline_id": 1,
                "value": (k % 50_000) as f64 + 0.5, "currency": if k % 4 == 0 { "USD" } else { "EUR" },
                "status": status, "lost_reason": if status == "lost" { json!("Budget gelé") } else { Value::Null },
                "add_time": t, "update_time": t, "stage_change_time": t,
                "expected_close_date": if k % 2 == 0 { json!("2027-03-31") } else { Value::Null },
                "is_deleted": false, "is_archived": false, "probability": null, "visible_to": 3,
                "label_ids": [], "custom_fields": {}, "won_time": null, "lost_time": null });
            d.deals.insert(id, deal);
        }
    }

    /// A deal created in Pipedrive's UI (delivers a `create` webhook).
    pub fn ui_create_deal(
        self: &Arc<Self>,
        title: &str,
        stage: &str,
        owner_id: i64,
        person_org: Option<(i64, i64)>,
    ) -> i64 {
        self.make_deal(title, stage, owner_id, person_org, true)
    }

    /// A deal created in Pipedrive's UI whose webhook is lost.
    pub fn ui_create_deal_silently(
        self: &Arc<Self>,
        title: &str,
        stage: &str,
        owner_id: i64,
        person_org: Option<(i64, i64)>,
    ) -> i64 {
        self.make_deal(title, stage, owner_id, person_org, false)
    }

    fn make_deal(
        self: &Arc<Self>,
        title: &str,
        stage: &str,
        owner_id: i64,
        person_org: Option<(i64, i64)>,
        notify: bool,
    ) -> i64 {
        let stage_id = self.stage_id(stage).unwrap();
        let (person, org) =
            person_org.map_or((Value::Null, Value::Null), |(p, o)| (json!(p), json!(o)));
        let (id, body) = {
            let mut d = lock(&self.data);
            let id = d.id();
            let t = d.now();
            let deal = json!({ "id": id, "title": title, "owner_id": owner_id, "person_id": person,
                "org_id": org, "stage_id": stage_id, "pipeline_id": 1, "value": 12500, "currency": "EUR",
                "status": "open", "lost_reason": null, "add_time": t, "update_time": t,
                "expected_close_date": null, "is_deleted": false, "is_archived": false,
                "probability": null, "visible_to": 3, "label_ids": [], "custom_fields": {} });
            d.deals.insert(id, deal.clone());
            (id, deal)
        };
        if notify {
            self.notify("app", "deal", "create", id.to_string(), body, json!(null));
        }
        id
    }

    /// Moves a deal to another stage of its pipeline in Pipedrive's UI.
    pub fn ui_move_deal(self: &Arc<Self>, id: i64, stage: &str) {
        let stage_id = {
            let d = lock(&self.data);
            let pipeline = d.deals[&id]["pipeline_id"].clone();
            d.stages
                .values()
                .find(|s| s["pipeline_id"] == pipeline && s["name"].as_str() == Some(stage))
                .and_then(|s| s["id"].as_i64())
                .unwrap()
        };
        self.ui_patch_deal(id, json!({ "stage_id": stage_id }));
    }

    /// Changes a deal in Pipedrive's UI (delivers a `change` webhook).
    pub fn ui_patch_deal(self: &Arc<Self>, id: i64, patch: Value) {
        let (body, previous) = {
            let mut d = lock(&self.data);
            let t = d.now();
            let deal = d.deals.get_mut(&id).unwrap();
            let previous = apply_patch(deal, &patch, &t);
            (deal.clone(), previous)
        };
        self.notify("app", "deal", "change", id.to_string(), body, previous);
    }

    /// Changes a deal without any webhook (a delivery lost for good).
    pub fn ui_patch_deal_silently(&self, id: i64, patch: Value) {
        let mut d = lock(&self.data);
        let t = d.now();
        let deal = d.deals.get_mut(&id).unwrap();
        apply_patch(deal, &patch, &t);
    }

    /// Delivers the webhooks following `object` (in the background, with retries).
    /// `source` is Pipedrive's `meta.change_source`: `app` (a person in the UI) or
    /// `api` (an integration, by the token's user).
    fn notify(
        self: &Arc<Self>,
        source: &str,
        object: &str,
        action: &str,
        id: String,
        data: Value,
        previous: Value,
    ) {
        let hooks: Vec<Value> = lock(&self.data)
            .webhooks
            .values()
            .filter(|h| {
                (h["event_object"] == object || h["event_object"] == "*")
                    && (h["event_action"] == action || h["event_action"] == "*")
            })
            .cloned()
            .collect();
        for hook in hooks {
            let event_id = uuid::Uuid::new_v4().to_string();
            let body = json!({
                "meta": {
                    "action": action, "entity": object, "entity_id": id, "id": event_id,
                    "company_id": "7777", "correlation_id": uuid::Uuid::new_v4().to_string(),
                    "is_bulk_edit": false, "timestamp": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
                    "type": "general", "user_id": "1", "version": "2.0",
                    "webhook_id": hook["id"].to_string(), "webhook_owner_id": "1",
                    "change_source": source, "permitted_user_ids": ["1"], "attempt": 1, "host": "company.pipedrive.com",
                },
                "data": data.clone(),
                "previous": previous.clone(),
            });
            let state = self.clone();
            tokio::spawn(async move { state.deliver(hook, event_id, body).await });
        }
    }

    async fn deliver(&self, hook: Value, event_id: String, mut body: Value) {
        lock(&self.sent).push((hook.clone(), event_id.clone(), body.clone()));
        let url = hook["subscription_url"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let user = hook["http_auth_user"].as_str().map(str::to_owned);
        let password = hook["http_auth_password"].as_str().map(str::to_owned);
        let delays = lock(&self.retry_delays).clone();
        for attempt in 1..=(delays.len() as u32 + 1) {
            body["meta"]["attempt"] = json!(attempt);
            let mut req = self
                .http
                .post(&url)
                .json(&body)
                .timeout(Duration::from_secs(10));
            if let Some(u) = &user {
                req = req.basic_auth(u, password.as_deref());
            }
            let status = match req.send().await {
                Ok(r) => r.status().as_u16(),
                Err(_) => 0,
            };
            lock(&self.deliveries).push((url.clone(), event_id.clone(), attempt, status));
            if (200..300).contains(&status) {
                return;
            }
            if let Some(d) = delays.get(attempt as usize - 1) {
                tokio::time::sleep(*d).await;
            }
        }
    }

    /// Delivers the last delivered event once more, unchanged (what Pipedrive does when
    /// it misjudges an answer as late); answers the status Tentabo gave.
    pub async fn redeliver_last(&self) -> Option<u16> {
        let (hook, event_id, body) = lock(&self.sent).last().cloned()?;
        let before = lock(&self.deliveries).len();
        self.deliver(hook, event_id, body).await;
        lock(&self.deliveries).get(before).map(|d| d.3)
    }
}

/// Applies a patch to an object; answers the previous values of what changed.
fn apply_patch(obj: &mut Value, patch: &Value, now: &str) -> Value {
    let mut previous = Map::new();
    for (k, v) in patch.as_object().into_iter().flatten() {
        if k == "custom_fields" {
            let cf = obj["custom_fields"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            let mut merged = cf.clone();
            for (ck, cv) in v.as_object().into_iter().flatten() {
                merged.insert(ck.clone(), cv.clone());
            }
            if merged != cf {
                previous.insert(k.clone(), Value::Object(cf));
                obj[k] = Value::Object(merged);
            }
            continue;
        }
        if obj.get(k) != Some(v) {
            previous.insert(k.clone(), obj.get(k).cloned().unwrap_or(Value::Null));
            obj[k] = v.clone();
            match (k.as_str(), v.as_str()) {
                ("stage_id", _) => obj["stage_change_time"] = json!(now),
                ("status", Some("won")) => obj["won_time"] = json!(now),
                ("status", Some("lost")) => obj["lost_time"] = json!(now),
                _ => {}
            }
        }
    }
    if !previous.is_empty() {
        obj["update_time"] = json!(now);
    }
    Value::Object(previous)
}

// ── HTTP ──────────────────────────────────────────────────────────────────────────

type Answer = Result<Response, Response>;

fn ok(data: Value) -> Response {
    Json(json!({ "success": true, "data": data })).into_response()
}

fn created(data: Value) -> Response {
    (
        StatusCode::CREATED,
        Json(json!({ "success": true, "data": data })),
    )
        .into_response()
}

fn fail(status: StatusCode, error: &str, info: &str) -> Response {
    (
        status,
        Json(
            json!({ "success": false, "error": error, "error_info": info, "data": null,
                     "additional_data": null }),
        ),
    )
        .into_response()
}

fn not_found(what: &str) -> Response {
    fail(
        StatusCode::NOT_FOUND,
        &format!("{what} not found"),
        "Please check developers.pipedrive.com",
    )
}

fn bad(what: &str) -> Response {
    fail(
        StatusCode::BAD_REQUEST,
        what,
        "Please check developers.pipedrive.com",
    )
}

fn router(state: Arc<PeerState>) -> axum::Router {
    use axum::routing::patch;
    let v1 = axum::Router::new()
        .route("/users/me", get(me))
        .route("/leads", post(create_lead).get(list_leads))
        .route("/leads/{id}", get(get_lead).patch(patch_lead))
        .route("/webhooks", post(create_webhook).get(list_webhooks))
        .route("/webhooks/{id}", delete(delete_webhook));
    let v2 = axum::Router::new()
        .route("/persons", post(create_person).get(list_persons))
        .route("/persons/search", get(search_persons))
        .route("/persons/{id}", get(get_person))
        .route("/organizations", post(create_org).get(list_orgs))
        .route("/organizations/search", get(search_orgs))
        .route("/organizations/{id}", get(get_org))
        .route("/deals", post(create_deal).get(list_deals))
        .route("/deals/search", get(search_deals))
        .route("/deals/{id}", get(get_deal).patch(patch_deal))
        .route("/leads/search", get(search_leads))
        .route("/pipelines", get(list_pipelines).post(create_pipeline))
        .route("/stages", get(list_stages).post(create_stage))
        .route("/dealFields", get(list_fields).post(create_field))
        .route("/activities", get(list_activities).post(create_activity))
        .route("/activities/{id}", patch(patch_activity));
    let api = axum::Router::new()
        .nest("/api/v1", v1)
        .nest("/api/v2", v2)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard));
    axum::Router::new()
        .route("/oauth/authorize", get(authorize))
        .route("/oauth/token", post(token))
        .merge(api)
        .layer(axum::middleware::from_fn_with_state(state.clone(), faults))
        .with_state(state)
}

/// Faults, then the request log.
async fn faults(State(s): State<Arc<PeerState>>, req: Request, next: Next) -> Response {
    lock(&s.seen).push((req.method().to_string(), req.uri().path().to_owned()));
    let fault = lock(&s.faults).pop_front();
    match fault {
        Some(Fault::TooMany(secs)) => {
            let mut r = fail(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests",
                "Rate limit exceeded",
            );
            r.headers_mut()
                .insert("retry-after", HeaderValue::from(secs));
            r
        }
        Some(Fault::ServerError) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Some(Fault::AcceptThenStall) => {
            let res = next.run(req).await;
            let stall = *lock(&s.stall);
            tokio::time::sleep(stall).await;
            res
        }
        None => {
            let stall_create = *lock(&s.stall_creates)
                && req.method() == axum::http::Method::POST
                && req.uri().path().starts_with("/api/")
                && req.uri().path() != "/api/v1/webhooks";
            let res = next.run(req).await;
            if stall_create {
                let stall = *lock(&s.stall);
                tokio::time::sleep(stall).await;
            }
            res
        }
    }
}

/// Authentication and the rate-limit window.
async fn guard(State(s): State<Arc<PeerState>>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let token_ok = headers
        .get("x-api-token")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t == s.token);
    let bearer_ok = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| {
            lock(&s.data)
                .access
                .get(t)
                .is_some_and(|exp| *exp > Utc::now())
        });
    if !token_ok && !bearer_ok {
        return (
            StatusCode::UNAUTHORIZED,
            Json(
                json!({ "success": false, "error": "unauthorized access", "errorCode": 401,
                         "error_info": "Please check developers.pipedrive.com" }),
            ),
        )
            .into_response();
    }
    let limit = *lock(&s.burst);
    let (remaining, reset) = {
        let mut w = lock(&s.window);
        if w.0.elapsed() >= Duration::from_secs(2) {
            *w = (Instant::now(), 0);
        }
        w.1 += 1;
        let reset = 2.0 - w.0.elapsed().as_secs_f64();
        (limit as i64 - w.1 as i64, reset.max(0.0).ceil() as u64)
    };
    let mut res = if remaining < 0 {
        *lock(&s.throttled) += 1;
        let mut r = fail(
            StatusCode::TOO_MANY_REQUESTS,
            "Request over limit",
            "Rate limit exceeded",
        );
        r.headers_mut()
            .insert("retry-after", HeaderValue::from(reset.max(1)));
        r
    } else {
        next.run(req).await
    };
    let h = res.headers_mut();
    h.insert("x-ratelimit-limit", HeaderValue::from(limit));
    h.insert(
        "x-ratelimit-remaining",
        HeaderValue::from(remaining.max(0) as u64),
    );
    h.insert("x-ratelimit-reset", HeaderValue::from(reset));
    h.insert("x-daily-requests-left", HeaderValue::from(9_500_u64));
    res
}

async fn me(State(_): State<Arc<PeerState>>) -> Response {
    ok(
        json!({ "id": 1, "name": "Camille Durand", "email": "camille@exemple.fr", "company_id": 7777,
               "company_domain": "exemple", "locale": "fr_FR", "timezone_name": "Europe/Paris",
               "is_admin": 1, "active_flag": true }),
    )
}

// ── OAuth ─────────────────────────────────────────────────────────────────────────

async fn authorize(
    State(s): State<Arc<PeerState>>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    if q.get("client_id") != Some(&s.client_id) {
        return bad("unknown client_id");
    }
    let (Some(redirect), Some(state)) = (q.get("redirect_uri"), q.get("state")) else {
        return bad("redirect_uri and state are required");
    };
    let code = s.issue_code();
    let sep = if redirect.contains('?') { '&' } else { '?' };
    let to = format!("{redirect}{sep}code={code}&state={}", url_encode(state));
    (StatusCode::FOUND, [("location", to)]).into_response()
}

fn url_encode(s: &str) -> String {
    let mut u = reqwest::Url::parse("http://x/").unwrap();
    u.query_pairs_mut().append_pair("v", s);
    u.query()
        .unwrap_or_default()
        .trim_start_matches("v=")
        .to_owned()
}

async fn token(State(s): State<Arc<PeerState>>, headers: HeaderMap, body: Bytes) -> Response {
    let expected = format!(
        "Basic {}",
        B64.encode(format!("{}:{}", s.client_id, s.client_secret))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "success": false, "message": "Invalid client credentials", "error": "invalid_client" })),
        )
            .into_response();
    }
    if headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|c| !c.starts_with("application/x-www-form-urlencoded"))
    {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "form-encoded body expected",
        )
            .into_response();
    }
    let form: BTreeMap<String, String> =
        reqwest::Url::parse(&format!("http://x/?{}", String::from_utf8_lossy(&body)))
            .unwrap()
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    let invalid = || {
        (
            StatusCode::BAD_REQUEST,
            Json(
                json!({ "success": false, "message": "Invalid grant: refresh token is invalid",
                         "error": "invalid_grant" }),
            ),
        )
            .into_response()
    };
    let mut d = lock(&s.data);
    let refresh = match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let Some(code) = form.get("code") else {
                return invalid();
            };
            let Some(i) = d.codes.iter().position(|c| c == code) else {
                return invalid();
            };
            d.codes.remove(i);
            d.token_calls.push("authorization_code".into());
            let r = format!("refresh-{}", uuid::Uuid::new_v4().simple());
            d.refresh.insert(r.clone(), true);
            r
        }
        Some("refresh_token") => {
            let Some(r) = form.get("refresh_token") else {
                return invalid();
            };
            if d.refresh.get(r) != Some(&true) {
                return invalid();
            }
            d.token_calls.push("refresh_token".into());
            // Pipedrive keeps the refresh token (its expiry is renewed).
            r.clone()
        }
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "success": false, "message": "unsupported grant_type", "error": "unsupported_grant_type" })),
            )
                .into_response();
        }
    };
    let access = format!("access-{}", uuid::Uuid::new_v4().simple());
    let expires_in = d.expires_in;
    d.access.insert(
        access.clone(),
        Utc::now() + chrono::TimeDelta::seconds(expires_in),
    );
    Json(
        json!({ "access_token": access, "token_type": "Bearer", "refresh_token": refresh,
                 "scope": "base,deals:full,contacts:full,leads:full,activities:full,admin",
                 "expires_in": expires_in, "api_domain": null }),
    )
    .into_response()
}

// ── searches ──────────────────────────────────────────────────────────────────────

fn search_answer(items: Vec<Value>) -> Response {
    Json(json!({
        "success": true,
        "data": { "items": items.into_iter().map(|i| json!({ "result_score": 1.0, "item": i })).collect::<Vec<_>>() },
        "additional_data": { "next_cursor": null },
    }))
    .into_response()
}

fn term(q: &BTreeMap<String, String>) -> Result<String, Response> {
    match q.get("term").map(|t| t.trim().to_lowercase()) {
        Some(t) if !t.is_empty() => Ok(t),
        _ => Err(bad("term is required")),
    }
}

fn check_search(q: &BTreeMap<String, String>, fields: &[&str]) -> Result<String, Response> {
    if let Some(f) = q.get("fields")
        && !fields.contains(&f.as_str())
    {
        return Err(bad("invalid fields"));
    }
    if q.get("exact_match")
        .is_some_and(|e| e != "true" && e != "false")
    {
        return Err(bad("exact_match must be a boolean"));
    }
    term(q)
}

async fn search_persons(
    State(s): State<Arc<PeerState>>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Answer {
    let t = check_search(&q, &["custom_fields", "email", "notes", "phone", "name"])?;
    let d = lock(&s.data);
    let items = d
        .persons
        .values()
        .filter(|p| p["is_deleted"] != json!(true))
        .filter(|p| match q.get("fields").map(String::as_str) {
            Some("email") => p["emails"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|e| e["value"].as_str().is_some_and(|v| v.to_lowercase() == t)),
            _ => p["name"].as_str().is_some_and(|n| n.to_lowercase() == t),
        })
        .map(|p| json!({ "id": p["id"], "type": "person", "name": p["name"],
            "emails": p["emails"].as_array().into_iter().flatten().map(|e| e["value"].clone()).collect::<Vec<_>>(),
            "phones": [], "visible_to": 3, "owner": { "id": p["owner_id"] }, "organization": null,
            "custom_fields": [], "notes": [] }))
        .collect();
    Ok(search_answer(items))
}

async fn search_orgs(
    State(s): State<Arc<PeerState>>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Answer {
    let t = check_search(&q, &["address", "custom_fields", "notes", "name"])?;
    let d = lock(&s.data);
    let items = d
        .orgs
        .values()
        .filter(|o| o["is_deleted"] != json!(true))
        .filter(|o| o["name"].as_str().is_some_and(|n| n.to_lowercase() == t))
        .map(|o| {
            json!({ "id": o["id"], "type": "organization", "name": o["name"], "address": null,
            "visible_to": 3, "owner": { "id": o["owner_id"] }, "custom_fields": [], "notes": [] })
        })
        .collect();
    Ok(search_answer(items))
}

fn has_custom(obj: &Value, t: &str, nested: bool) -> bool {
    let values: Vec<&Value> = if nested {
        obj["custom_fields"]
            .as_object()
            .map(|m| m.values().collect())
            .unwrap_or_default()
    } else {
        obj.as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| k.len() == 40)
                    .map(|(_, v)| v)
                    .collect()
            })
            .unwrap_or_default()
    };
    values
        .into_iter()
        .any(|v| v.as_str().is_some_and(|s| s.to_lowercase() == t))
}

async fn search_deals(
    State(s): State<Arc<PeerState>>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Answer {
    let t = check_search(&q, &["custom_fields", "notes", "title"])?;
    let d = lock(&s.data);
    let items = d
        .deals
        .values()
        .filter(|x| x["is_deleted"] != json!(true))
        .filter(|x| match q.get("fields").map(String::as_str) {
            Some("custom_fields") => has_custom(x, &t, true),
            _ => x["title"].as_str().is_some_and(|n| n.to_lowercase() == t),
        })
        .map(|x| json!({ "id": x["id"], "type": "deal", "title": x["title"], "value": x["value"],
            "currency": x["currency"], "status": x["status"], "visible_to": 3,
            "owner": { "id": x["owner_id"] }, "stage": { "id": x["stage_id"], "name": "" },
            "person": null, "organization": null, "custom_fields": [], "notes": [], "is_archived": false }))
        .collect();
    Ok(search_answer(items))
}

async fn search_leads(
    State(s): State<Arc<PeerState>>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Answer {
    let t = check_search(&q, &["custom_fields", "notes", "title"])?;
    let d = lock(&s.data);
    let items = d
        .leads
        .values()
        .filter(|x| match q.get("fields").map(String::as_str) {
            Some("custom_fields") => has_custom(x, &t, false),
            _ => x["title"].as_str().is_some_and(|n| n.to_lowercase() == t),
        })
        .map(|x| json!({ "id": x["id"], "type": "lead", "title": x["title"], "owner": { "id": x["owner_id"] },
            "person": null, "organization": null, "phones": [], "emails": [], "custom_fields": [],
            "notes": [], "value": null, "currency": null, "visible_to": 3, "is_archived": x["is_archived"] }))
        .collect();
    Ok(search_answer(items))
}

// ── v2 objects ────────────────────────────────────────────────────────────────────

fn object(body: &Bytes) -> Result<Map<String, Value>, Response> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(bad("the body must be a JSON object")),
    }
}

fn int_or_absent(m: &Map<String, Value>, k: &str) -> Result<(), Response> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(()),
        Some(v) if v.is_i64() => Ok(()),
        _ => Err(bad(&format!("{k} must be an integer"))),
    }
}

async fn create_person(State(s): State<Arc<PeerState>>, body: Bytes) -> Answer {
    let m = object(&body)?;
    if m.get("name")
        .and_then(Value::as_str)
        .is_none_or(|n| n.trim().is_empty())
    {
        return Err(bad("name is required"));
    }
    int_or_absent(&m, "org_id")?;
    int_or_absent(&m, "owner_id")?;
    let mut d = lock(&s.data);
    let id = d.id();
    let t = d.now();
    let p = json!({ "id": id, "name": m["name"], "owner_id": m.get("owner_id").cloned().unwrap_or(json!(1)),
        "org_id": m.get("org_id").cloned().unwrap_or(Value::Null),
        "emails": m.get("emails").cloned().unwrap_or(json!([])), "phones": m.get("phones").cloned().unwrap_or(json!([])),
        "add_time": t, "update_time": t, "is_deleted": false, "visible_to": 3, "label_ids": [], "custom_fields": {} });
    d.persons.insert(id, p.clone());
    Ok(ok(p))
}

async fn create_org(State(s): State<Arc<PeerState>>, body: Bytes) -> Answer {
    let m = object(&body)?;
    if m.get("name")
        .and_then(Value::as_str)
        .is_none_or(|n| n.trim().is_empty())
    {
        return Err(bad("name is required"));
    }
    int_or_absent(&m, "owner_id")?;
    let mut d = lock(&s.data);
    let id = d.id();
    let t = d.now();
    let o = json!({ "id": id, "name": m["name"], "owner_id": m.get("owner_id").cloned().unwrap_or(json!(1)),
        "add_time": t, "update_time": t, "is_deleted": false, "visible_to": 3, "label_ids": [],
        "address": null, "custom_fields": {} });
    d.orgs.insert(id, o.clone());
    Ok(ok(o))
}

async fn get_person(State(s): State<Arc<PeerState>>, Path(id): Path<i64>) -> Answer {
    lock(&s.data)
        .persons
        .get(&id)
        .cloned()
        .map(ok)
        .ok_or_else(|| not_found("Person"))
}

async fn get_org(State(s): State<Arc<PeerState>>, Path(id): Path<i64>) -> Answer {
    lock(&s.data)
        .orgs
        .get(&id)
        .cloned()
        .map(ok)
        .ok_or_else(|| not_found("Organization"))
}

const DEAL_KEYS: &[&str] = &[
    "title",
    "owner_id",
    "person_id",
    "org_id",
    "pipeline_id",
    "stage_id",
    "value",
    "currency",
    "is_deleted",
    "is_archived",
    "archive_time",
    "status",
    "probability",
    "lost_reason",
    "visible_to",
    "close_time",
    "won_time",
    "lost_time",
    "expected_close_date",
    "label_ids",
    "custom_fields",
];

fn check_deal(m: &Map<String, Value>, d: &Data) -> Result<(), Response> {
    for k in m.keys() {
        if !DEAL_KEYS.contains(&k.as_str()) {
            return Err(bad(&format!("unknown field {k}")));
        }
    }
    for k in ["owner_id", "person_id", "org_id", "pipeline_id", "stage_id"] {
        int_or_absent(m, k)?;
    }
    if let Some(st) = m.get("status")
        && !matches!(st.as_str(), Some("open" | "won" | "lost" | "deleted"))
    {
        return Err(bad("status must be open, won, lost or deleted"));
    }
    if let Some(v) = m.get("value")
        && !v.is_number()
    {
        return Err(bad("value must be a number"));
    }
    if let Some(Value::String(date)) = m.get("expected_close_date")
        && chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err()
    {
        return Err(bad("expected_close_date must be YYYY-MM-DD"));
    }
    if let Some(sid) = m.get("stage_id").and_then(Value::as_i64)
        && !d.stages.contains_key(&sid)
    {
        return Err(bad("stage not found"));
    }
    if let Some(cf) = m.get("custom_fields") {
        let Some(cf) = cf.as_object() else {
            return Err(bad("custom_fields must be an object"));
        };
        for k in cf.keys() {
            if !d.fields.iter().any(|f| f["field_code"] == k.as_str()) {
                return Err(bad(&format!("unknown custom field {k}")));
            }
        }
    }
    Ok(())
}

async fn create_deal(State(s): State<Arc<PeerState>>, body: Bytes) -> Answer {
    let m = object(&body)?;
    if m.get("title")
        .and_then(Value::as_str)
        .is_none_or(|n| n.trim().is_empty())
    {
        return Err(bad("title is required"));
    }
    let (deal, id) = {
        let mut d = lock(&s.data);
        check_deal(&m, &d)?;
        let id = d.id();
        let t = d.now();
        let stage = m
            .get("stage_id")
            .and_then(Value::as_i64)
            .or_else(|| d.stages.keys().next().copied());
        let pipeline = stage
            .and_then(|st| d.stages.get(&st))
            .and_then(|st| st["pipeline_id"].as_i64());
        let mut deal = json!({ "id": id, "title": m["title"], "owner_id": 1, "person_id": null, "org_id": null,
            "stage_id": stage, "pipeline_id": pipeline, "value": 0, "currency": "EUR", "status": "open",
            "lost_reason": null, "add_time": t, "update_time": t, "stage_change_time": null,
            "expected_close_date": null, "is_deleted": false, "is_archived": false, "probability": null,
            "visible_to": 3, "label_ids": [], "custom_fields": {}, "won_time": null, "lost_time": null });
        for (k, v) in &m {
            deal[k] = v.clone();
        }
        d.deals.insert(id, deal.clone());
        (deal, id)
    };
    s.notify(
        "api",
        "deal",
        "create",
        id.to_string(),
        deal.clone(),
        json!(null),
    );
    Ok(ok(deal))
}

async fn get_deal(State(s): State<Arc<PeerState>>, Path(id): Path<i64>) -> Answer {
    lock(&s.data)
        .deals
        .get(&id)
        .filter(|d| d["is_deleted"] != json!(true))
        .cloned()
        .map(ok)
        .ok_or_else(|| not_found("Deal"))
}

async fn patch_deal(State(s): State<Arc<PeerState>>, Path(id): Path<i64>, body: Bytes) -> Answer {
    let m = object(&body)?;
    let (deal, previous) = {
        let mut d = lock(&s.data);
        check_deal(&m, &d)?;
        let t = d.now();
        let Some(deal) = d.deals.get_mut(&id) else {
            return Err(not_found("Deal"));
        };
        let previous = apply_patch(deal, &Value::Object(m), &t);
        (deal.clone(), previous)
    };
    if previous.as_object().is_some_and(|p| !p.is_empty()) {
        s.notify(
            "api",
            "deal",
            "change",
            id.to_string(),
            deal.clone(),
            previous,
        );
    }
    Ok(ok(deal))
}

/// A v2 list: filters, `updated_since`, sorting by `update_time`, cursor paging. Works
/// on references (a page clones only its own items), and sorts only when the items are
/// not in order already, so a peer holding 100,000 deals pages them quickly.
fn v2_list<'a>(items: impl Iterator<Item = &'a Value>, q: &BTreeMap<String, String>) -> Answer {
    let limit: usize = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => 100,
        Some(Ok(l)) if (1..=500).contains(&l) => l,
        _ => return Err(bad("limit must be between 1 and 500")),
    };
    let since = match q.get("updated_since") {
        None => None,
        Some(t) => Some(
            DateTime::parse_from_rfc3339(t)
                .map_err(|_| bad("updated_since must be RFC 3339"))?
                .to_utc()
                .to_rfc3339_opts(SecondsFormat::Secs, true),
        ),
    };
    // Times are all RFC 3339 UTC with second precision: they compare as text.
    let mut items: Vec<&Value> = items
        .filter(|i| {
            since
                .as_deref()
                .is_none_or(|s| i["update_time"].as_str().is_some_and(|t| t >= s))
        })
        .collect();
    fn key<'v>(v: &'v Value, k: &str) -> (Option<&'v str>, Option<i64>) {
        (v[k].as_str(), v["id"].as_i64())
    }
    match q.get("sort_by").map(String::as_str) {
        None | Some("id") => {}
        Some(k @ ("update_time" | "add_time")) => {
            if !items.is_sorted_by(|a, b| key(a, k) <= key(b, k)) {
                items.sort_by(|a, b| key(a, k).cmp(&key(b, k)));
            }
        }
        _ => return Err(bad("invalid sort_by")),
    }
    if q.get("sort_direction").map(String::as_str) == Some("desc") {
        items.reverse();
    }
    let start: usize = match q.get("cursor") {
        None => 0,
        Some(c) => B64
            .decode(c)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("offset:").and_then(|n| n.parse().ok()))
            .ok_or_else(|| bad("invalid cursor"))?,
    };
    let page: Vec<Value> = items
        .iter()
        .skip(start)
        .take(limit)
        .map(|v| (*v).clone())
        .collect();
    let next =
        (start + limit < items.len()).then(|| B64.encode(format!("offset:{}", start + limit)));
    Ok(
        Json(json!({ "success": true, "data": page, "additional_data": { "next_cursor": next } }))
            .into_response(),
    )
}

fn filter_eq(i: &Value, q: &BTreeMap<String, String>, keys: &[&str]) -> bool {
    keys.iter().all(|k| match q.get(*k) {
        None => true,
        Some(v) => match &i[*k] {
            Value::Number(n) => n.to_string() == *v,
            Value::String(s) => s == v,
            Value::Bool(b) => b.to_string() == *v,
            _ => false,
        },
    })
}

async fn list_deals(
    State(s): State<Arc<PeerState>>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Answer {
    let d = lock(&s.data);
    v2_list(
        d.deals.values().filter(|i| {
            filter_eq(
                i,
                &q,
                &[
                    "owner_id",
                    "person_id",
                    "org_id",
                    "pipeline_id",
                    "stage_id",
                    "status",
                ],
            )
        }),
        &q,
    )
}

async fn list_persons(
    State(s): State<Arc<PeerState>>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Answer {
    let d = lock(&s.data);
    v2_list(
        d.persons
            .values()
            .filter(|i| filter_eq(i, &q, &["owner_id", "org_id"])),
        &q,
    )
}

async fn list_orgs(
    State(s): State<Arc<PeerState>>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Answer {
    let d = lock(&s.data);
    v2_list(
        d.orgs.values().filter(|i| filter_eq(i, &q, &["owner_id"])),
        &q,
    )
}

async fn list_activities(
    State(s): State<Arc<PeerState>>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Answer {
    let d = lock(&s.data);
    v2_list(
        d.activities.values().filter(|i| {
            filter_eq(
                i,
                &q,
                &[
                    "owner_id",
                    "deal_id",
                    "lead_id",
                    "person_id",
                    "org_id",
                    "done",
                ],
            )
        }),
        &q,
    )
}

async fn list_pipelines(
    State(s): State<Arc<PeerState>>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Answer {
    let d = lock(&s.data);
    v2_list(d.pipelines.values().filter(|i| filter_eq(i, &q, &[])), &q)
}

async fn list_stages(
    State(s): State<Arc<PeerState>>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Answer {
    let d = lock(&s.data);
    v2_list(
        d.stages
            .values()
            .filter(|i| filter_eq(i, &q, &["pipeline_id"])),
        &q,
    )
}

async fn create_pipeline(State(s): State<Arc<PeerState>>, body: Bytes) -> Answer {
    let m = object(&body)?;
    let Some(name) = m
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
    else {
        return Err(bad("name is required"));
    };
    let mut d = lock(&s.data);
    let id = d.id();
    let t = d.now();
    let p = json!({ "id": id, "name": name, "order_nr": id, "is_deleted": false,
        "is_deal_probability_enabled": false, "add_time": t, "update_time": t });
    d.pipelines.insert(id, p.clone());
    Ok(ok(p))
}

async fn create_stage(State(s): State<Arc<PeerState>>, body: Bytes) -> Answer {
    let m = object(&body)?;
    let Some(name) = m
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
    else {
        return Err(bad("name is required"));
    };
    let Some(pipeline) = m.get("pipeline_id").and_then(Value::as_i64) else {
        return Err(bad("pipeline_id is required"));
    };
    let mut d = lock(&s.data);
    if !d.pipelines.contains_key(&pipeline) {
        return Err(bad("pipeline not found"));
    }
    let id = d.id();
    let t = d.now();
    let order = d
        .stages
        .values()
        .filter(|s| s["pipeline_id"] == pipeline)
        .count()
        + 1;
    let st = json!({ "id": id, "order_nr": order, "name": name, "pipeline_id": pipeline,
        "deal_probability": 100, "is_deleted": false, "is_deal_rot_enabled": false,
        "days_to_rotten": null, "add_time": t, "update_time": t });
    d.stages.insert(id, st.clone());
    Ok(ok(st))
}

async fn list_fields(
    State(s): State<Arc<PeerState>>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Answer {
    let d = lock(&s.data);
    v2_list(d.fields.iter(), &q)
}

async fn create_field(State(s): State<Arc<PeerState>>, body: Bytes) -> Answer {
    let m = object(&body)?;
    let (Some(name), Some(ty)) = (
        m.get("field_name").and_then(Value::as_str),
        m.get("field_type").and_then(Value::as_str),
    ) else {
        return Err(bad("field_name and field_type are required"));
    };
    let mut d = lock(&s.data);
    let n = d.id();
    let code = format!("{:040x}", (n as u128) * 0x9e37_79b9_7f4a_7c15);
    let code: String = code.chars().rev().take(40).collect();
    let f = json!({ "field_name": name, "field_code": code, "field_type": ty, "is_custom_field": true,
        "options": null, "subfields": null });
    d.fields.push(f.clone());
    Ok(ok(f))
}

async fn create_activity(State(s): State<Arc<PeerState>>, body: Bytes) -> Answer {
    let m = object(&body)?;
    for k in ["owner_id", "deal_id", "person_id", "org_id"] {
        int_or_absent(&m, k)?;
    }
    if let Some(Value::String(date)) = m.get("due_date")
        && chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err()
    {
        return Err(bad("due_date must be YYYY-MM-DD"));
    }
    let (a, id) = {
        let mut d = lock(&s.data);
        let id = d.id();
        let t = d.now();
        let mut a = json!({ "id": id, "subject": "Call", "type": "call", "owner_id": 1, "deal_id": null,
            "lead_id": null, "person_id": null, "org_id": null, "due_date": null, "due_time": null,
            "duration": null, "done": false, "note": null, "add_time": t, "update_time": t, "is_deleted": false });
        for (k, v) in &m {
            a[k] = v.clone();
        }
        d.activities.insert(id, a.clone());
        (a, id)
    };
    s.notify(
        "api",
        "activity",
        "create",
        id.to_string(),
        a.clone(),
        json!(null),
    );
    Ok(ok(a))
}

async fn patch_activity(
    State(s): State<Arc<PeerState>>,
    Path(id): Path<i64>,
    body: Bytes,
) -> Answer {
    let m = object(&body)?;
    let mut d = lock(&s.data);
    let t = d.now();
    let Some(a) = d.activities.get_mut(&id) else {
        return Err(not_found("Activity"));
    };
    apply_patch(a, &Value::Object(m), &t);
    Ok(ok(a.clone()))
}

// ── v1 leads and webhooks ─────────────────────────────────────────────────────────

fn check_lead(m: &Map<String, Value>) -> Result<(), Response> {
    for k in ["owner_id", "person_id", "organization_id"] {
        int_or_absent(m, k)?;
    }
    if let Some(v) = m.get("value")
        && !v.is_null()
        && (!v["amount"].is_number() || !v["currency"].is_string())
    {
        return Err(bad("value must be { amount, currency }"));
    }
    if let Some(v) = m.get("visible_to")
        && !v.is_string()
    {
        return Err(bad("visible_to must be a string"));
    }
    Ok(())
}

async fn create_lead(State(s): State<Arc<PeerState>>, body: Bytes) -> Answer {
    let m = object(&body)?;
    if m.get("title")
        .and_then(Value::as_str)
        .is_none_or(|n| n.trim().is_empty())
    {
        return Err(bad("title is required"));
    }
    check_lead(&m)?;
    if m.get("person_id").is_none() && m.get("organization_id").is_none() {
        return Err(bad("a lead needs a person_id or an organization_id"));
    }
    let (lead, id) = {
        let mut d = lock(&s.data);
        let id = uuid::Uuid::new_v4().to_string();
        let t = d.now();
        let mut lead = json!({ "id": id, "title": m["title"], "owner_id": 1, "creator_id": 1, "label_ids": [],
            "person_id": false, "organization_id": false, "source_name": "API", "origin": "API",
            "is_archived": false, "was_seen": false, "value": null, "expected_close_date": null,
            "add_time": t, "update_time": t, "visible_to": "3" });
        for (k, v) in &m {
            lead[k] = v.clone();
        }
        d.leads.insert(id.clone(), lead.clone());
        (lead, id)
    };
    s.notify("api", "lead", "create", id, lead.clone(), json!(null));
    Ok(created(lead))
}

async fn get_lead(State(s): State<Arc<PeerState>>, Path(id): Path<String>) -> Answer {
    if uuid::Uuid::parse_str(&id).is_err() {
        return Err(bad("id must be a UUID"));
    }
    lock(&s.data)
        .leads
        .get(&id)
        .cloned()
        .map(ok)
        .ok_or_else(|| not_found("Lead"))
}

async fn patch_lead(
    State(s): State<Arc<PeerState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Answer {
    let m = object(&body)?;
    check_lead(&m)?;
    let (lead, previous) = {
        let mut d = lock(&s.data);
        let t = d.now();
        let Some(lead) = d.leads.get_mut(&id) else {
            return Err(not_found("Lead"));
        };
        let previous = apply_patch(lead, &Value::Object(m), &t);
        (lead.clone(), previous)
    };
    if previous.as_object().is_some_and(|p| !p.is_empty()) {
        s.notify("api", "lead", "change", id, lead.clone(), previous);
    }
    Ok(ok(lead))
}

async fn list_leads(
    State(s): State<Arc<PeerState>>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Answer {
    let limit: usize = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(100)
        .clamp(1, 500);
    let start: usize = q.get("start").and_then(|l| l.parse().ok()).unwrap_or(0);
    let since = q
        .get("updated_since")
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
    let mut items: Vec<Value> = lock(&s.data)
        .leads
        .values()
        .filter(|l| {
            since.is_none_or(|s| {
                l["update_time"]
                    .as_str()
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .is_some_and(|t| t >= s)
            })
        })
        .cloned()
        .collect();
    items.sort_by(|a, b| a["update_time"].as_str().cmp(&b["update_time"].as_str()));
    let more = start + limit < items.len();
    let page: Vec<Value> = items.into_iter().skip(start).take(limit).collect();
    Ok(Json(
        json!({ "success": true, "data": page, "additional_data": { "pagination": {
        "start": start, "limit": limit, "more_items_in_collection": more,
        "next_start": if more { Some(start + limit) } else { None } } } }),
    )
    .into_response())
}

async fn create_webhook(State(s): State<Arc<PeerState>>, body: Bytes) -> Answer {
    let m = object(&body)?;
    for k in ["subscription_url", "event_action", "event_object", "name"] {
        if m.get(k)
            .and_then(Value::as_str)
            .is_none_or(|v| v.is_empty())
        {
            return Err(bad(&format!("{k} is required")));
        }
    }
    if !matches!(
        m["event_action"].as_str(),
        Some("create" | "change" | "delete" | "*")
    ) {
        return Err(bad("invalid event_action"));
    }
    if !matches!(
        m["event_object"].as_str(),
        Some(
            "activity"
                | "deal"
                | "lead"
                | "note"
                | "organization"
                | "person"
                | "pipeline"
                | "product"
                | "stage"
                | "user"
                | "*"
        )
    ) {
        return Err(bad("invalid event_object"));
    }
    let mut d = lock(&s.data);
    let id = d.id();
    let t = d.now();
    let hook = json!({ "id": id, "company_id": 7777, "owner_id": 1, "user_id": 1,
        "event_action": m["event_action"], "event_object": m["event_object"],
        "subscription_url": m["subscription_url"], "name": m["name"],
        "version": m.get("version").cloned().unwrap_or(json!("1.0")), "is_active": 1,
        "add_time": t, "remove_time": null, "type": "general",
        "http_auth_user": m.get("http_auth_user").cloned().unwrap_or(Value::Null),
        "http_auth_password": m.get("http_auth_password").cloned().unwrap_or(Value::Null),
        "remove_reason": null, "last_delivery_time": null, "last_http_status": null, "admin_id": 1 });
    d.webhooks.insert(id, hook.clone());
    let mut shown = hook;
    shown["http_auth_password"] = json!(null);
    Ok((
        StatusCode::CREATED,
        Json(json!({ "status": "ok", "success": true, "data": shown })),
    )
        .into_response())
}

async fn list_webhooks(State(s): State<Arc<PeerState>>) -> Response {
    let hooks: Vec<Value> = lock(&s.data)
        .webhooks
        .values()
        .map(|h| {
            let mut h = h.clone();
            h["http_auth_password"] = json!(null);
            h
        })
        .collect();
    Json(json!({ "status": "ok", "success": true, "data": hooks })).into_response()
}

async fn delete_webhook(State(s): State<Arc<PeerState>>, Path(id): Path<i64>) -> Answer {
    match lock(&s.data).webhooks.remove(&id) {
        Some(_) => Ok(
            Json(json!({ "status": "ok", "success": true, "data": { "id": id } })).into_response(),
        ),
        None => Err(not_found("Webhook")),
    }
}
