//! A test peer that speaks Odoo's external JSON-RPC (`POST /jsonrpc`), on 127.0.0.1:0:
//! `common.login` (uid, or `false` for a wrong password), `object.execute_kw` with
//! `search_read` (prefix-notation domains with `|`, `&` and comparisons, `order`,
//! `limit`, `fields`), `search_count` and `fields_get`; an `AccessDenied` error for bad credentials.
//! Like Odoo, a search leaves out archived records (`active: false`) unless the call's
//! context says `active_test: false`. The reference models a lead mapping reads
//! (`crm.stage` with Odoo's standard stages, `res.country`) are there from the start;
//! [`odoo17`] holds records shaped like an Odoo 17 installation's demo data.
//! Records are plain JSON objects a test can edit at any time (between page fetches).
//! Faults can be injected on a share of calls: 429 with `Retry-After`, 500, a stall
//! longer than the client's timeout, a malformed body.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    TooManyRequests,
    ServerError,
    Stall,
    Malformed,
}

#[derive(Default)]
pub struct Peer {
    pub database: String,
    pub login: String,
    pub password: String,
    /// model → records (each with at least `id` and `write_date`).
    pub models: Mutex<BTreeMap<String, Vec<Map<String, Value>>>>,
    /// Inject a fault on every n-th call (cycling through `faults`).
    pub fault_every: Mutex<Option<(u64, Vec<Fault>)>>,
    pub stall: Duration,
    pub calls: AtomicU64,
    pub faults_sent: AtomicU64,
    /// `search_read` calls answered (pages served), reference models left out.
    pub pages: AtomicU64,
    /// Models whose records are computed on demand (see [`Generated`]).
    pub generated: Mutex<BTreeMap<String, Generated>>,
    /// Edits to apply once the n-th page (`search_read`) has been served: a source
    /// that changes while a run pages through it.
    pub edits_after_page: Mutex<Vec<ScheduledEdit>>,
}

/// A change made to one stored record.
pub type Edit = Box<dyn FnOnce(&mut Map<String, Value>) + Send>;

/// An edit of record `id` of `model`, applied right after page `after_page` is served.
pub struct ScheduledEdit {
    pub after_page: u64,
    pub model: String,
    pub id: i64,
    pub edit: Edit,
}

/// A `crm.lead` model of `count` records computed on demand, so a million records cost
/// the peer no memory. Record `id` (1..=count) has a `write_date` shared with its block
/// of 7 (ties across page boundaries); with `edited_every: Some(n)` (n ≥ 2) every n-th
/// record was edited after all the others: another name, a later `write_date`. The
/// peer serves the keyset domain the connector sends (`[]` or
/// `write_date > wm OR (write_date = wm AND id > last_id)`), ordered by `write_date, id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generated {
    pub count: i64,
    pub edited_every: Option<i64>,
}

const GENERATED_EPOCH: i64 = 1_735_689_600; // 2025-01-01 00:00:00 UTC

impl Generated {
    fn edited(&self) -> i64 {
        self.edited_every.map_or(0, |n| self.count / n)
    }

    pub fn is_edited(&self, id: i64) -> bool {
        self.edited_every.is_some_and(|n| id % n == 0)
    }

    /// The id at position `pos` of the (write_date, id) order.
    fn id_at(&self, pos: i64) -> i64 {
        let kept = self.count - self.edited();
        match self.edited_every {
            None => pos + 1,
            Some(n) if pos < kept => pos + pos / (n - 1) + 1,
            Some(n) => (pos - kept + 1) * n,
        }
    }

    /// Seconds after the epoch of record `id`'s `write_date`.
    fn secs(&self, id: i64) -> i64 {
        match self.edited_every {
            Some(n) if self.is_edited(id) => 10_000_000 + (id / n) / 7,
            _ => id / 7,
        }
    }

    pub fn write_date(&self, id: i64) -> String {
        chrono::DateTime::from_timestamp(GENERATED_EPOCH + self.secs(id), 0)
            .unwrap()
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    }

    /// The record's title as the canonical zone must hold it.
    pub fn title(&self, id: i64) -> String {
        if self.is_edited(id) {
            format!("Lead {id} (edited)")
        } else {
            format!("Lead {id}")
        }
    }

    /// The expected revenue, in cents.
    pub fn revenue_cents(id: i64) -> i64 {
        (id * 7919) % 5_000_000 + 100
    }

    /// Record `id`'s phone and country (`country_id`) as a real installation holds them:
    /// international and national formats (with the lead's country), fictitious 555
    /// numbers, an extension, none, and one no country has.
    pub fn phone(id: i64) -> (String, &'static str) {
        let (a, b, n) = (id % 97, id % 89, id % 10_000);
        match id % 8 {
            0 => (
                format!(r#""+33 1 42 68 {a:02} {b:02}""#),
                r#"[75, "France"]"#,
            ),
            1 => (format!(r#""01 42 68 {a:02} {b:02}""#), r#"[75, "France"]"#),
            2 => (
                format!(r#""(803)-873-{n:04}""#),
                r#"[233, "United States"]"#,
            ),
            3 => (format!(r#""+1 555-555-{n:04}""#), "false"),
            4 => (
                format!(r#""+32 10 58 {a:02} {b:02}""#),
                r#"[20, "Belgium"]"#,
            ),
            5 => (format!(r#""+1 555 754 {n:04} ext. 12""#), "false"),
            6 => ("false".to_owned(), "false"),
            _ => (format!(r#""+5 555-555-{n:04}""#), "false"),
        }
    }

    /// Whether record `id` is an archived lost opportunity (one in 50).
    pub fn is_lost(id: i64) -> bool {
        id % 50 == 25
    }

    /// Record `id` as Odoo sends it (about 800 bytes, HTML description).
    pub fn record(&self, id: i64) -> String {
        let cents = Self::revenue_cents(id);
        let user = id % 23 + 2;
        let (stage_id, stage) =
            [(1, "New"), (2, "Qualified"), (3, "Proposition"), (4, "Won")][(id % 4) as usize];
        let (phone, country) = Self::phone(id);
        let lost = Self::is_lost(id);
        format!(
            r#"{{"id": {id}, "name": "{title}", "active": {active}, "partner_name": "Client {id} Industries SARL", "contact_name": "Camille Martin-{id}", "email_from": "Camille.Martin{id}@Client{id}-Industries.example", "phone": {phone}, "country_id": {country}, "expected_revenue": {eur}.{c:02}, "company_currency": [1, "EUR"], "probability": {p}.0, "date_deadline": "2026-{m:02}-{d:02}", "user_id": [{user}, "Sales Representative {user}"], "source_id": [{src}, "Website contact form"], "lost_reason_id": {lost_reason}, "stage_id": [{stage_id}, "{stage}"], "date_closed": {closed}, "create_date": "2024-12-{d:02} 09:15:00", "write_date": "{wd}", "description": "<p>Inbound request for a <b>three-year</b> subscription with onboarding and premium support, {id}.</p>"}}"#,
            title = self.title(id),
            active = !lost,
            lost_reason = if lost {
                r#"[1, "Too expensive"]"#
            } else {
                "false"
            },
            eur = cents / 100,
            c = cents % 100,
            p = if lost { 0 } else { id % 100 },
            m = id % 12 + 1,
            d = id % 28 + 1,
            src = id % 5 + 1,
            closed = if stage == "Won" {
                format!("\"2025-{:02}-{:02} 10:00:00\"", id % 12 + 1, id % 28 + 1)
            } else {
                "false".to_owned()
            },
            wd = self.write_date(id),
        )
    }

    /// Position of the first record strictly after `(write_date, id)`.
    fn first_after(&self, after: Option<(String, i64)>) -> i64 {
        let Some((wm, last)) = after else { return 0 };
        let (mut lo, mut hi) = (0, self.count);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let id = self.id_at(mid);
            if (self.write_date(id), id) > (wm.clone(), last) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        lo
    }

    /// The keyset of a domain the connector sends, if it is one.
    fn keyset(domain: &Value) -> Result<Option<(String, i64)>, String> {
        let items = domain.as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            return Ok(None);
        }
        let wm = items.get(1).and_then(|l| l.get(2)).and_then(Value::as_str);
        let id = items.get(4).and_then(|l| l.get(2)).and_then(Value::as_i64);
        match (wm, id) {
            (Some(wm), Some(id)) => Ok(Some((wm.to_owned(), id))),
            _ => Err(format!(
                "unsupported domain for a generated model: {domain}"
            )),
        }
    }

    fn page(&self, domain: &Value, limit: usize) -> Result<String, String> {
        let from = self.first_after(Self::keyset(domain)?);
        let to = (from + limit as i64).min(self.count);
        let mut out = String::with_capacity((to - from).max(0) as usize * 800 + 2);
        out.push('[');
        for pos in from..to {
            if pos > from {
                out.push_str(", ");
            }
            out.push_str(&self.record(self.id_at(pos)));
        }
        out.push(']');
        Ok(out)
    }
}

pub struct OdooPeer {
    pub addr: SocketAddr,
    pub state: Arc<Peer>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for OdooPeer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl OdooPeer {
    pub async fn start(state: Peer) -> OdooPeer {
        {
            let mut models = state.models.lock().unwrap();
            for (model, records) in odoo17::reference() {
                models.entry(model.to_owned()).or_insert(records);
            }
        }
        let state = Arc::new(state);
        let app = axum::Router::new()
            .route("/jsonrpc", axum::routing::post(rpc))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        OdooPeer { addr, state, task }
    }

    /// A peer of database `prod` accepting `login` / `password`.
    pub async fn with_credentials(login: &str, password: &str) -> OdooPeer {
        OdooPeer::start(Peer {
            database: "prod".into(),
            login: login.into(),
            password: password.into(),
            ..Default::default()
        })
        .await
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A client of this peer's database `prod`, retrying fast (tests).
    pub fn client(
        &self,
        login: &str,
        password: &str,
    ) -> tentabo_workflows::providers::odoo::OdooClient {
        tentabo_workflows::providers::odoo::OdooClient::new(
            tentabo_workflows::providers::odoo::OdooConfig {
                url: self.url(),
                database: "prod".into(),
                login: login.into(),
                password: secrecy::SecretString::from(password.to_owned()),
                timeout: Duration::from_secs(5),
                retry: tentabo_workflows::retry::RetryPolicy {
                    initial: Duration::from_millis(10),
                    max: Duration::from_millis(50),
                    multiplier: 2.0,
                    retry_after_cap: Duration::from_secs(5),
                    randomization: 0.0,
                },
                max_attempts: 3,
                rate_limit_per_second: None,
            },
            tentabo_workflows::outbound::Outbound::standalone(),
        )
    }

    pub fn set(&self, model: &str, records: Vec<Map<String, Value>>) {
        self.state
            .models
            .lock()
            .unwrap()
            .insert(model.to_owned(), records);
    }

    /// Serves `model` from a generator instead of stored records.
    pub fn generate(&self, model: &str, g: Generated) {
        self.state
            .generated
            .lock()
            .unwrap()
            .insert(model.to_owned(), g);
    }

    /// Applies `edit` to the record `id` of `model` right after the `page`-th page
    /// (counting every `search_read` answered, from 1) has been served.
    pub fn edit_after_page(
        &self,
        page: u64,
        model: &str,
        id: i64,
        edit: impl FnOnce(&mut Map<String, Value>) + Send + 'static,
    ) {
        self.state
            .edits_after_page
            .lock()
            .unwrap()
            .push(ScheduledEdit {
                after_page: page,
                model: model.to_owned(),
                id,
                edit: Box::new(edit),
            });
    }

    /// Applies `edit` to every stored record of `model`.
    pub fn edit_all(&self, model: &str, mut edit: impl FnMut(&mut Map<String, Value>)) {
        let mut models = self.state.models.lock().unwrap();
        for rec in models.get_mut(model).expect("model to edit") {
            edit(rec);
        }
    }

    /// Calls answered so far (every JSON-RPC request).
    pub fn calls(&self) -> u64 {
        self.state.calls.load(Ordering::SeqCst)
    }

    /// Applies `edit` to the record `id` of `model`.
    pub fn edit(&self, model: &str, id: i64, edit: impl FnOnce(&mut Map<String, Value>)) {
        let mut models = self.state.models.lock().unwrap();
        let rec = models
            .get_mut(model)
            .and_then(|rs| rs.iter_mut().find(|r| r["id"] == json!(id)))
            .expect("record to edit");
        edit(rec);
    }
}

fn rpc_error(id: &Value, name: &str, message: &str) -> Response {
    axum::Json(json!({
        "jsonrpc": "2.0", "id": id,
        "error": { "code": 200, "message": "Odoo Server Error",
                   "data": { "name": name, "message": message, "debug": "Traceback …" } }
    }))
    .into_response()
}

fn ok(id: &Value, result: Value) -> Response {
    axum::Json(json!({ "jsonrpc": "2.0", "id": id, "result": result })).into_response()
}

async fn rpc(State(peer): State<Arc<Peer>>, _headers: HeaderMap, body: String) -> Response {
    let n = peer.calls.fetch_add(1, Ordering::SeqCst) + 1;
    let fault = peer
        .fault_every
        .lock()
        .unwrap()
        .as_ref()
        .filter(|(every, faults)| *every > 0 && n % *every == 0 && !faults.is_empty())
        .map(|(every, faults)| faults[((n / every) as usize) % faults.len()]);
    if let Some(f) = fault {
        peer.faults_sent.fetch_add(1, Ordering::SeqCst);
        match f {
            Fault::TooManyRequests => {
                let mut r = (StatusCode::TOO_MANY_REQUESTS, "slow down").into_response();
                r.headers_mut()
                    .insert("retry-after", HeaderValue::from_static("1"));
                return r;
            }
            Fault::ServerError => return (StatusCode::BAD_GATEWAY, "upstream").into_response(),
            Fault::Stall => {
                tokio::time::sleep(peer.stall).await;
            }
            Fault::Malformed => {
                return (
                    StatusCode::OK,
                    "{\"jsonrpc\": \"2.0\", \"result\": [{\"id\": ",
                )
                    .into_response();
            }
        }
    }
    let Ok(req) = serde_json::from_str::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not JSON").into_response();
    };
    let id = req["id"].clone();
    let params = &req["params"];
    let args = params["args"].as_array().cloned().unwrap_or_default();
    match (params["service"].as_str(), params["method"].as_str()) {
        (Some("common"), Some("login")) => {
            let good = args.first() == Some(&json!(peer.database))
                && args.get(1) == Some(&json!(peer.login))
                && args.get(2) == Some(&json!(peer.password));
            ok(&id, if good { json!(2) } else { json!(false) })
        }
        (Some("object"), Some("execute_kw")) => {
            if args.get(2) != Some(&json!(peer.password)) || args.get(1) != Some(&json!(2)) {
                return rpc_error(&id, "odoo.exceptions.AccessDenied", "Access Denied");
            }
            let model = args.get(3).and_then(Value::as_str).unwrap_or_default();
            let method = args.get(4).and_then(Value::as_str).unwrap_or_default();
            let call_args = args.get(5).cloned().unwrap_or(json!([]));
            let kwargs = args.get(6).cloned().unwrap_or(json!({}));
            let generated = peer.generated.lock().unwrap().get(model).copied();
            if let Some(g) = generated {
                return serve_generated(&id, g, method, &call_args, &kwargs);
            }
            let mut models = peer.models.lock().unwrap();
            let Some(records) = models.get(model) else {
                return rpc_error(&id, "builtins.KeyError", &format!("unknown model {model}"));
            };
            // Odoo's active_test: archived records only when the context asks for them.
            let archived_too = kwargs["context"]["active_test"] == json!(false);
            let visible =
                |r: &Map<String, Value>| archived_too || r.get("active") != Some(&json!(false));
            match method {
                "search_read" => {
                    // Pages of the records a run syncs: the reference models a run reads
                    // first (stages, countries) do not count.
                    let reference = odoo17::REFERENCE_MODELS.contains(&model);
                    let served = if reference {
                        0
                    } else {
                        peer.pages.fetch_add(1, Ordering::SeqCst) + 1
                    };
                    let domain = call_args.get(0).cloned().unwrap_or(json!([]));
                    let mut hits: Vec<&Map<String, Value>> = records
                        .iter()
                        .filter(|r| visible(r) && matches(&domain, r))
                        .collect();
                    hits.sort_by(|a, b| {
                        (a["write_date"].as_str(), a["id"].as_i64())
                            .cmp(&(b["write_date"].as_str(), b["id"].as_i64()))
                    });
                    let limit = kwargs["limit"].as_u64().map_or(usize::MAX, |l| l as usize);
                    let fields: Option<Vec<String>> = kwargs["fields"].as_array().map(|f| {
                        f.iter()
                            .filter_map(|x| x.as_str().map(str::to_owned))
                            .collect()
                    });
                    // Like Odoo: asking for a field the model does not have is an error.
                    if let (Some(known), Some(asked)) = (odoo17::fields(model), &fields) {
                        let unknown = asked.iter().find(|f| {
                            !known.contains_key(*f) && !records.iter().any(|r| r.contains_key(*f))
                        });
                        if let Some(f) = unknown {
                            return rpc_error(
                                &id,
                                "builtins.ValueError",
                                &format!("Invalid field '{f}' on model '{model}'"),
                            );
                        }
                    }
                    let page: Vec<Value> = hits
                        .into_iter()
                        .take(limit)
                        .map(|r| match &fields {
                            None => Value::Object(r.clone()),
                            Some(fs) => Value::Object(
                                r.iter()
                                    .filter(|(k, _)| *k == "id" || fs.contains(k))
                                    .map(|(k, v)| (k.clone(), v.clone()))
                                    .collect(),
                            ),
                        })
                        .collect();
                    // The source changes once this page is on its way.
                    let due: Vec<ScheduledEdit> = {
                        let mut edits = peer.edits_after_page.lock().unwrap();
                        let (due, later) = std::mem::take(&mut *edits)
                            .into_iter()
                            .partition(|e| served > 0 && e.after_page == served);
                        *edits = later;
                        due
                    };
                    for e in due {
                        let record = models
                            .get_mut(&e.model)
                            .and_then(|rs| rs.iter_mut().find(|r| r["id"] == json!(e.id)))
                            .expect("record to edit");
                        (e.edit)(record);
                    }
                    ok(&id, Value::Array(page))
                }
                "search_count" => {
                    let domain = call_args.get(0).cloned().unwrap_or(json!([]));
                    ok(
                        &id,
                        json!(
                            records
                                .iter()
                                .filter(|r| visible(r) && matches(&domain, r))
                                .count()
                        ),
                    )
                }
                "fields_get" => {
                    // An Odoo 17's description of the model, then any field the records
                    // hold that it does not describe (a custom field a test added).
                    let mut fields = odoo17::fields(model).unwrap_or_default();
                    for r in records.iter() {
                        for (k, v) in r {
                            if fields.contains_key(k) {
                                continue;
                            }
                            let ty = match v {
                                Value::Number(n) if n.is_f64() => "float",
                                Value::Number(_) => "integer",
                                Value::Array(_) => "many2one",
                                Value::Bool(_) => "boolean",
                                _ => "char",
                            };
                            fields.insert(
                                k.clone(),
                                json!({ "string": k, "type": ty, "store": true }),
                            );
                        }
                    }
                    // Only the attributes asked for, as Odoo answers.
                    if let Some(wanted) = kwargs["attributes"].as_array() {
                        for d in fields.values_mut() {
                            if let Value::Object(d) = d {
                                d.retain(|k, _| wanted.iter().any(|w| w == k));
                            }
                        }
                    }
                    ok(&id, Value::Object(fields))
                }
                other => rpc_error(
                    &id,
                    "builtins.AttributeError",
                    &format!("no method {other}"),
                ),
            }
        }
        _ => rpc_error(&id, "werkzeug.exceptions.NotFound", "unknown service"),
    }
}

fn serve_generated(
    id: &Value,
    g: Generated,
    method: &str,
    args: &Value,
    kwargs: &Value,
) -> Response {
    let domain = args.get(0).cloned().unwrap_or(json!([]));
    let answer = match method {
        "search_read" => g.page(
            &domain,
            kwargs["limit"].as_u64().map_or(usize::MAX, |l| l as usize),
        ),
        "search_count" => {
            Generated::keyset(&domain).map(|k| (g.count - g.first_after(k)).to_string())
        }
        other => Err(format!("no method {other} on a generated model")),
    };
    match answer {
        // The page is assembled as text: a million records never become a JSON tree.
        Ok(result) => (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            format!(r#"{{"jsonrpc": "2.0", "id": {id}, "result": {result}}}"#),
        )
            .into_response(),
        Err(message) => rpc_error(id, "builtins.ValueError", &message),
    }
}

/// Evaluates an Odoo prefix-notation domain (`|`, `&`, implicit `&`, leaves).
fn matches(domain: &Value, record: &Map<String, Value>) -> bool {
    let items = domain.as_array().cloned().unwrap_or_default();
    let mut pos = 0;
    let mut results = Vec::new();
    while pos < items.len() {
        results.push(eval(&items, &mut pos, record));
    }
    results.into_iter().all(|b| b)
}

fn eval(items: &[Value], pos: &mut usize, record: &Map<String, Value>) -> bool {
    let item = items[*pos].clone();
    *pos += 1;
    match item.as_str() {
        Some("|") => {
            let a = eval(items, pos, record);
            let b = eval(items, pos, record);
            a || b
        }
        Some("&") => {
            let a = eval(items, pos, record);
            let b = eval(items, pos, record);
            a && b
        }
        Some("!") => !eval(items, pos, record),
        _ => {
            let leaf = item.as_array().cloned().unwrap_or_default();
            let field = leaf.first().and_then(Value::as_str).unwrap_or_default();
            let op = leaf.get(1).and_then(Value::as_str).unwrap_or_default();
            let want = leaf.get(2).cloned().unwrap_or(Value::Null);
            let have = record.get(field).cloned().unwrap_or(Value::Null);
            let ord = match (&have, &want) {
                (Value::Number(a), Value::Number(b)) => a.as_f64().partial_cmp(&b.as_f64()),
                (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
                _ => None,
            };
            match (op, ord) {
                ("=", Some(o)) => o.is_eq(),
                ("!=", Some(o)) => !o.is_eq(),
                (">", Some(o)) => o.is_gt(),
                (">=", Some(o)) => o.is_ge(),
                ("<", Some(o)) => o.is_lt(),
                ("<=", Some(o)) => o.is_le(),
                _ => false,
            }
        }
    }
}

/// Records shaped like an Odoo 17 Community installation's demo data (crm,
/// sale_management, contacts): national-format phones with the partner's country,
/// numbers in fictitious ranges, an extension, `false` for every empty field, HTML in
/// descriptions, companies with their contacts (`parent_id`), archived contacts and
/// products, won stages and archived lost opportunities with their reasons.
pub mod odoo17 {
    use serde_json::{Map, Value, json};

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    /// `fields_get` of an Odoo 17 installation for the models the tests use: labels,
    /// types, help texts, selections and relations as Odoo describes them, with the
    /// messaging machinery every model carries and a Studio field on contacts.
    pub fn fields(model: &str) -> Option<Map<String, Value>> {
        let f = |label: &str, ty: &str| json!({ "string": label, "type": ty, "store": true, "required": false, "help": false });
        let rel = |label: &str, relation: &str| json!({ "string": label, "type": "many2one", "relation": relation, "store": true, "required": false, "help": false });
        let sel = |label: &str, options: &[(&str, &str)]| {
            json!({ "string": label, "type": "selection", "store": true, "required": false, "help": false,
            "selection": options.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>() })
        };
        let help = |mut v: Value, text: &str| {
            v["help"] = json!(text);
            v
        };
        let list = |label: &str, ty: &str, relation: &str| json!({ "string": label, "type": ty, "relation": relation, "store": true, "required": false, "help": false });
        let common = |m: &mut Vec<(&str, Value)>| {
            m.push(("id", json!({ "string": "ID", "type": "integer", "store": true, "required": false, "help": false })));
            m.push(("display_name", json!({ "string": "Display Name", "type": "char", "store": false, "required": false, "help": false })));
            m.push(("create_date", f("Created on", "datetime")));
            m.push(("write_date", f("Last Updated on", "datetime")));
            m.push(("create_uid", rel("Created by", "res.users")));
            m.push(("write_uid", rel("Last Updated by", "res.users")));
            m.push(("message_ids", list("Messages", "one2many", "mail.message")));
            m.push((
                "message_follower_ids",
                list("Followers", "one2many", "mail.followers"),
            ));
            m.push((
                "activity_ids",
                list("Activities", "one2many", "mail.activity"),
            ));
            m.push((
                "activity_state",
                sel(
                    "Activity State",
                    &[
                        ("overdue", "Overdue"),
                        ("today", "Today"),
                        ("planned", "Planned"),
                    ],
                ),
            ));
        };
        let mut m: Vec<(&str, Value)> = Vec::new();
        match model {
            "res.partner" => {
                let mut name = f("Name", "char");
                name["required"] = json!(false);
                m.push(("name", name));
                m.push(("active", f("Active", "boolean")));
                m.push((
                    "is_company",
                    help(
                        f("Is a Company", "boolean"),
                        "Check if the contact is a company, otherwise it is a person",
                    ),
                ));
                m.push(("parent_id", rel("Related Company", "res.partner")));
                m.push(("email", f("Email", "char")));
                m.push(("phone", f("Phone", "char")));
                m.push(("mobile", f("Mobile", "char")));
                m.push((
                    "website",
                    help(f("Website Link", "char"), "Website of Partner or Company"),
                ));
                m.push(("vat", help(f("Tax ID", "char"), "The Tax Identification Number. Values here will be validated based on the country format. You can use '/' to indicate that the partner is not subject to tax.")));
                m.push(("street", f("Street", "char")));
                m.push(("street2", f("Street2", "char")));
                m.push(("city", f("City", "char")));
                m.push(("zip", f("Zip", "char")));
                m.push(("state_id", rel("State", "res.country.state")));
                m.push(("country_id", rel("Country", "res.country")));
                m.push(("country_code", help(f("Country Code", "char"), "The ISO country code in two chars. \nYou can use this field for quick search.")));
                m.push(("industry_id", rel("Industry", "res.partner.industry")));
                m.push(("customer_rank", f("Customer Rank", "integer")));
                m.push(("supplier_rank", f("Supplier Rank", "integer")));
                m.push(("function", f("Job Position", "char")));
                m.push(("comment", f("Notes", "html")));
                m.push(("ref", f("Reference", "char")));
                m.push(("lang", help(sel("Language", &[("en_US", "English (US)"), ("fr_FR", "French / Français")]), "All the emails and documents sent to this contact will be translated in this language.")));
                m.push((
                    "user_id",
                    help(
                        rel("Salesperson", "res.users"),
                        "The internal user in charge of this contact.",
                    ),
                ));
                m.push((
                    "category_id",
                    list("Tags", "many2many", "res.partner.category"),
                ));
                m.push(("child_ids", list("Contact", "one2many", "res.partner")));
                m.push(("image_1920", f("Image", "binary")));
                m.push((
                    "x_studio_segment",
                    sel(
                        "Segment",
                        &[("smb", "SMB"), ("mid", "Mid-market"), ("ent", "Enterprise")],
                    ),
                ));
            }
            "crm.lead" => {
                let mut name = f("Opportunity", "char");
                name["required"] = json!(true);
                m.push(("name", name));
                m.push(("active", f("Active", "boolean")));
                m.push((
                    "type",
                    sel("Type", &[("lead", "Lead"), ("opportunity", "Opportunity")]),
                ));
                m.push(("partner_id", help(rel("Customer", "res.partner"), "Linked partner (optional). Usually created when converting the lead. You can find a partner by its Name, TIN, Email or Internal Reference.")));
                m.push(("partner_name", help(f("Company Name", "char"), "The name of the future partner company that will be created while converting the lead into opportunity")));
                m.push(("contact_name", f("Contact Name", "char")));
                m.push(("email_from", f("Email", "char")));
                m.push(("phone", f("Phone", "char")));
                m.push(("mobile", f("Mobile", "char")));
                m.push(("expected_revenue", f("Expected Revenue", "monetary")));
                m.push(("recurring_revenue", f("Recurring Revenues", "monetary")));
                m.push(("company_currency", rel("Currency", "res.currency")));
                m.push(("probability", f("Probability", "float")));
                m.push((
                    "date_deadline",
                    help(
                        f("Expected Closing", "date"),
                        "Estimate of the date on which the opportunity will be won.",
                    ),
                ));
                m.push(("user_id", rel("Salesperson", "res.users")));
                m.push(("team_id", rel("Sales Team", "crm.team")));
                m.push(("source_id", help(rel("Source", "utm.source"), "This is the source of the link, e.g. Search Engine, another domain, or name of email list")));
                m.push(("lost_reason_id", rel("Lost Reason", "crm.lost.reason")));
                m.push(("stage_id", rel("Stage", "crm.stage")));
                m.push(("date_closed", f("Closed Date", "datetime")));
                m.push(("country_id", rel("Country", "res.country")));
                m.push(("city", f("City", "char")));
                m.push((
                    "priority",
                    sel(
                        "Priority",
                        &[
                            ("0", "Normal"),
                            ("1", "Good"),
                            ("2", "Very Good"),
                            ("3", "Excellent"),
                        ],
                    ),
                ));
                m.push(("description", f("Notes", "html")));
                m.push(("tag_ids", list("Tags", "many2many", "crm.tag")));
            }
            "sale.order" => {
                m.push(("name", f("Order Reference", "char")));
                m.push(("partner_id", rel("Customer", "res.partner")));
                m.push((
                    "state",
                    sel(
                        "Status",
                        &[
                            ("draft", "Quotation"),
                            ("sent", "Quotation Sent"),
                            ("sale", "Sales Order"),
                            ("cancel", "Cancelled"),
                        ],
                    ),
                ));
                m.push(("date_order", help(f("Order Date", "datetime"), "Creation date of draft/sent orders,\nConfirmation date of confirmed orders.")));
                m.push(("currency_id", rel("Currency", "res.currency")));
                m.push(("amount_untaxed", f("Untaxed Amount", "monetary")));
                m.push(("amount_tax", f("Taxes", "monetary")));
                m.push(("amount_total", f("Total", "monetary")));
                m.push(("user_id", rel("Salesperson", "res.users")));
                m.push(("client_order_ref", f("Customer Reference", "char")));
                m.push(("validity_date", f("Expiration", "date")));
                m.push(("note", f("Terms and conditions", "html")));
                m.push((
                    "invoice_status",
                    sel(
                        "Invoice Status",
                        &[
                            ("upselling", "Upselling Opportunity"),
                            ("invoiced", "Fully Invoiced"),
                            ("to invoice", "To Invoice"),
                            ("no", "Nothing to Invoice"),
                        ],
                    ),
                ));
                m.push((
                    "order_line",
                    list("Order Lines", "one2many", "sale.order.line"),
                ));
            }
            "product.product" => {
                m.push(("name", f("Name", "char")));
                m.push(("default_code", f("Internal Reference", "char")));
                m.push((
                    "barcode",
                    help(
                        f("Barcode", "char"),
                        "International Article Number used for product identification.",
                    ),
                ));
                m.push((
                    "uom_id",
                    help(
                        rel("Unit of Measure", "uom.uom"),
                        "Default unit of measure used for all stock operations.",
                    ),
                ));
                m.push((
                    "list_price",
                    help(
                        f("Sales Price", "float"),
                        "Price at which the product is sold to customers.",
                    ),
                ));
                m.push((
                    "standard_price",
                    help(
                        f("Cost", "float"),
                        "Value of the product (automatically computed in AVCO).",
                    ),
                ));
                m.push((
                    "detailed_type",
                    sel(
                        "Product Type",
                        &[
                            ("consu", "Consumable"),
                            ("service", "Service"),
                            ("product", "Storable Product"),
                        ],
                    ),
                ));
                m.push(("active", f("Active", "boolean")));
                m.push(("description_sale", help(f("Sales Description", "text"), "A description of the Product that you want to communicate to your customers.")));
                m.push(("categ_id", rel("Product Category", "product.category")));
                m.push(("sale_ok", f("Can be Sold", "boolean")));
                m.push(("weight", f("Weight", "float")));
            }
            _ => return None,
        }
        common(&mut m);
        Some(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    /// The models [`reference`] fills.
    pub const REFERENCE_MODELS: &[&str] = &["crm.stage", "res.country"];

    /// `crm.stage` (Odoo's four standard stages, a custom one, and a custom won stage) and
    /// `res.country` (a few, with Odoo's ids).
    pub fn reference() -> Vec<(&'static str, Vec<Map<String, Value>>)> {
        let wd = "2024-01-01 00:00:00";
        let stages = [
            (1, "New", false, 1),
            (2, "Qualified", false, 2),
            (3, "Proposition", false, 3),
            (4, "Won", true, 70),
            (5, "Demo Scheduled", false, 4),
            (6, "Signed", true, 80),
        ]
        .into_iter()
        .map(|(id, name, won, seq)| {
            obj(json!({"id": id, "name": name, "is_won": won, "sequence": seq, "write_date": wd}))
        })
        .collect();
        let countries = [
            (20, "BE", "Belgium"),
            (56, "DE", "Germany"),
            (75, "FR", "France"),
            (233, "US", "United States"),
            (232, "GB", "United Kingdom"),
            (104, "IN", "India"),
        ]
        .into_iter()
        .map(|(id, code, name)| {
            obj(json!({"id": id, "code": code, "name": name, "write_date": wd}))
        })
        .collect();
        vec![("crm.stage", stages), ("res.country", countries)]
    }

    fn company(
        id: i64,
        name: &str,
        country: Option<&str>,
        phone: Value,
        extra: Value,
    ) -> Map<String, Value> {
        let mut m = obj(json!({
            "id": id, "name": name, "active": true, "is_company": true, "parent_id": false,
            "email": format!("info@{}.example.com", name.to_lowercase().replace(' ', "-")),
            "phone": phone, "mobile": false, "website": false, "vat": false, "street": false,
            "street2": false, "city": false, "zip": false, "state_id": false,
            "country_code": country.map_or(json!(false), |c| json!(c)),
            "industry_id": false, "customer_rank": 1, "supplier_rank": 0, "function": false,
            "create_date": "2024-09-12 08:00:00", "write_date": format!("2024-09-12 08:00:{:02}", id % 60),
        }));
        if let Value::Object(e) = extra {
            m.extend(e);
        }
        m
    }

    fn contact(
        id: i64,
        name: &str,
        parent: (i64, &str),
        country: Option<&str>,
        phone: Value,
        extra: Value,
    ) -> Map<String, Value> {
        let mut m = company(
            id,
            name,
            country,
            phone,
            json!({
                "is_company": false, "parent_id": [parent.0, parent.1], "customer_rank": 0,
                "email": format!("{}@example.com", name.to_lowercase().replace(' ', ".")),
                "function": "Purchase Manager",
            }),
        );
        if let Value::Object(e) = extra {
            m.extend(e);
        }
        m
    }

    /// `res.partner`: 8 companies, 13 contacts (one archived).
    pub fn partners() -> Vec<Map<String, Value>> {
        vec![
            company(
                10,
                "Deco Addict",
                Some("US"),
                json!("(603)-996-3829"),
                json!({
                "website": "http://www.deco-addict.com", "street": "77 Santa Barbara Rd",
                "city": "Pleasant Hill", "zip": "94523", "state_id": [13, "California (US)"]}),
            ),
            company(
                11,
                "Gemini Furniture",
                Some("US"),
                json!("(941)-284-4875"),
                json!({}),
            ),
            company(
                12,
                "Ready Mat",
                Some("US"),
                json!("(803)-873-6126"),
                json!({"website": "www.readymat.com"}),
            ),
            company(
                13,
                "The Jackson Group",
                Some("US"),
                json!("(334)-502-1024"),
                json!({}),
            ),
            company(
                14,
                "Wood Corner",
                Some("US"),
                json!("(623)-853-7197"),
                json!({"supplier_rank": 2}),
            ),
            company(
                15,
                "Azure Interior",
                Some("US"),
                json!("(870)-931-0505"),
                json!({"vat": "US12345677"}),
            ),
            company(
                16,
                "Lumber Inc",
                Some("US"),
                json!("+1 555-555-5555"),
                json!({}),
            ),
            company(
                17,
                "Agrolait",
                Some("BE"),
                json!("+32 10 588 558"),
                json!({
                "vat": "BE0477472701", "website": "http://www.agrolait.com", "city": "Wavre"}),
            ),
            contact(
                30,
                "Addison Olson",
                (10, "Deco Addict"),
                Some("US"),
                json!("(223)-399-7637"),
                json!({}),
            ),
            contact(
                31,
                "Douglas Fletcher",
                (10, "Deco Addict"),
                Some("US"),
                json!("(132)-553-7242"),
                json!({}),
            ),
            contact(
                32,
                "Brandon Freeman",
                (15, "Azure Interior"),
                Some("US"),
                json!("(355)-687-3262"),
                json!({}),
            ),
            contact(
                33,
                "Nicole Ford",
                (15, "Azure Interior"),
                Some("US"),
                json!("(946)-638-6034"),
                json!({}),
            ),
            contact(
                34,
                "Colleen Diaz",
                (15, "Azure Interior"),
                Some("US"),
                json!("(255)-595-8393"),
                json!({}),
            ),
            contact(
                35,
                "Edwin Hansen",
                (11, "Gemini Furniture"),
                Some("US"),
                json!("(976)-397-4091"),
                json!({}),
            ),
            contact(
                36,
                "Jesse Brown",
                (11, "Gemini Furniture"),
                Some("US"),
                json!("+1 555-555-5555"),
                json!({}),
            ),
            contact(
                37,
                "Oscar Morgan",
                (11, "Gemini Furniture"),
                Some("US"),
                json!("+5 555-555-5555"),
                json!({}),
            ),
            contact(
                38,
                "Toni Rhodes",
                (13, "The Jackson Group"),
                Some("US"),
                json!("+1 555 754 3010 ext. 12"),
                json!({}),
            ),
            contact(
                39,
                "Jeff Lawson",
                (17, "Agrolait"),
                Some("BE"),
                json!("+32 10 588 558"),
                json!({"mobile": "+32 473 12 34 56"}),
            ),
            contact(
                40,
                "Ron Archived",
                (12, "Ready Mat"),
                Some("US"),
                json!(false),
                json!({"active": false}),
            ),
            contact(
                41,
                "Camille Martin",
                (17, "Agrolait"),
                Some("FR"),
                json!(false),
                json!({"mobile": "06 12 34 56 78", "email": false}),
            ),
            contact(
                42,
                "Kim Snyder",
                (14, "Wood Corner"),
                Some("US"),
                json!("(312)-555-0199"),
                json!({}),
            ),
        ]
    }

    /// The status each lead of [`leads`] must get, and whether it is gone (archived,
    /// not lost).
    pub const LEAD_STATUS: &[(i64, Option<&str>, bool)] = &[
        (1, Some("new"), false),
        (2, Some("qualified"), false),
        (3, Some("proposal"), false),
        (4, Some("won"), false),
        (5, Some("won"), false),
        (6, Some("lost"), false),
        (7, Some("lost"), false),
        (8, Some("lost"), false),
        (9, Some("qualified"), true),
        (10, None, false),
        (11, Some("won"), false),
        (12, Some("new"), false),
    ];

    #[allow(clippy::too_many_arguments)]
    fn lead(
        id: i64,
        name: &str,
        stage: (i64, &str),
        partner: &str,
        phone: Value,
        country: Value,
        revenue: f64,
        probability: f64,
        extra: Value,
    ) -> Map<String, Value> {
        let mut m = obj(json!({
            "id": id, "name": name, "active": true, "partner_name": partner,
            "contact_name": false, "email_from": format!("contact@{}.example.com", partner.to_lowercase().replace(' ', "-")),
            "phone": phone, "country_id": country, "expected_revenue": revenue,
            "company_currency": [2, "USD"], "probability": probability, "date_deadline": false,
            "user_id": [2, "Mitchell Admin"], "source_id": false, "lost_reason_id": false,
            "stage_id": [stage.0, stage.1], "date_closed": false,
            "description": format!("<p>{name}: <b>see the attached</b> quote.</p>"),
            "create_date": "2024-10-01 09:00:00", "write_date": format!("2024-10-0{} 10:00:00", id % 9 + 1),
        }));
        if let Value::Object(e) = extra {
            m.extend(e);
        }
        m
    }

    /// `crm.lead`: open opportunities in every standard stage, won ones (one in a custom
    /// won stage), archived lost ones (by reason, by probability 0), one archived but not
    /// lost, one in a stage the default table does not know.
    pub fn leads() -> Vec<Map<String, Value>> {
        let us = json!([233, "United States"]);
        let be = json!([20, "Belgium"]);
        let won = json!({"probability": 100.0, "date_closed": "2024-11-15 16:00:00"});
        vec![
            lead(
                1,
                "Office Design Project",
                (1, "New"),
                "Deco Addict",
                json!("(603)-996-3829"),
                us.clone(),
                24000.0,
                10.0,
                json!({}),
            ),
            lead(
                2,
                "Distributor Contract",
                (2, "Qualified"),
                "Gemini Furniture",
                json!("(941)-284-4875"),
                us.clone(),
                19800.0,
                30.0,
                json!({}),
            ),
            lead(
                3,
                "Quote for 150 carpets",
                (3, "Proposition"),
                "Agrolait",
                json!("+32 10 588 558"),
                be.clone(),
                40000.0,
                70.0,
                json!({}),
            ),
            lead(
                4,
                "Modern Open Space",
                (4, "Won"),
                "Azure Interior",
                json!("(870)-931-0505"),
                us.clone(),
                4500.0,
                100.0,
                won.clone(),
            ),
            lead(
                5,
                "Customizable Desk",
                (4, "Won"),
                "Wood Corner",
                json!("+1 555-555-5555"),
                json!(false),
                15000.0,
                100.0,
                won.clone(),
            ),
            lead(
                6,
                "Need 20 Desks",
                (1, "New"),
                "Ready Mat",
                json!("(803)-873-6126"),
                us.clone(),
                60000.0,
                0.0,
                json!({"active": false, "lost_reason_id": [1, "Too expensive"]}),
            ),
            lead(
                7,
                "Furnitures",
                (2, "Qualified"),
                "The Jackson Group",
                json!("+5 555-555-5555"),
                json!(false),
                9000.0,
                0.0,
                json!({"active": false, "lost_reason_id": [2, "We don't have people/skills"]}),
            ),
            lead(
                8,
                "Quote for 12 Tables",
                (3, "Proposition"),
                "Lumber Inc",
                json!(false),
                us.clone(),
                2000.0,
                0.0,
                json!({"active": false}),
            ),
            lead(
                9,
                "Archived, not lost",
                (2, "Qualified"),
                "Deco Addict",
                json!("(976)-397-4091"),
                us.clone(),
                500.0,
                40.0,
                json!({"active": false}),
            ),
            lead(
                10,
                "Info about services",
                (5, "Demo Scheduled"),
                "Azure Interior",
                json!("+1 555 754 3010 ext. 12"),
                us.clone(),
                7000.0,
                50.0,
                json!({}),
            ),
            lead(
                11,
                "Open Space Design",
                (6, "Signed"),
                "Agrolait",
                json!("+32 10 588 558"),
                be,
                11000.0,
                100.0,
                won,
            ),
            lead(
                12,
                "Cabinets",
                (1, "New"),
                "Gemini Furniture",
                json!("(976)-397-4091"),
                us,
                3000.0,
                20.0,
                json!({}),
            ),
        ]
    }

    /// `sale.order`: two orders of demo customers.
    pub fn orders() -> Vec<Map<String, Value>> {
        [
            (1, "S00001", 10, "Deco Addict", "sale", 1799.0),
            (2, "S00002", 17, "Agrolait", "draft", 2947.5),
        ]
        .into_iter()
        .map(|(id, name, partner, pname, state, total)| {
            obj(json!({
                "id": id, "name": name, "partner_id": [partner, pname], "state": state,
                "date_order": "2024-10-20 14:00:00", "currency_id": [2, "USD"],
                "amount_untaxed": total, "amount_tax": 0.0, "amount_total": total,
                "user_id": [2, "Mitchell Admin"], "create_date": "2024-10-20 14:00:00",
                "write_date": format!("2024-10-20 14:00:0{id}"),
            }))
        })
        .collect()
    }

    /// `product.product`: three products, one archived.
    pub fn products() -> Vec<Map<String, Value>> {
        [(1, "Office Chair", "FURN_7777", true), (2, "Large Desk", "E-COM09", true), (3, "Old Cabinet", "OLD-01", false)]
            .into_iter()
            .map(|(id, name, code, active)| obj(json!({
                "id": id, "name": name, "default_code": code, "barcode": false, "uom_id": [1, "Units"],
                "list_price": 70.0 * id as f64, "standard_price": 55.5, "detailed_type": "consu", "active": active,
                "description_sale": false, "create_date": "2024-01-01 00:00:00",
                "write_date": format!("2024-01-01 00:00:0{id}"),
            })))
            .collect()
    }

    /// Stores every model above in `peer`.
    pub fn install(peer: &super::OdooPeer) {
        peer.set("res.partner", partners());
        peer.set("crm.lead", leads());
        peer.set("sale.order", orders());
        peer.set("product.product", products());
    }
}
