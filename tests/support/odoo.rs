//! A test peer that speaks Odoo's external JSON-RPC (`POST /jsonrpc`), on 127.0.0.1:0:
//! `common.login` (uid, or `false` for a wrong password), `object.execute_kw` with
//! `search_read` (prefix-notation domains with `|`, `&` and comparisons, `order`,
//! `limit`, `fields`), `search_count` and `fields_get`; an `AccessDenied` error for bad credentials.
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
    /// `search_read` calls answered (pages served).
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

    /// Record `id` as Odoo sends it (about 740 bytes).
    pub fn record(&self, id: i64) -> String {
        let cents = Self::revenue_cents(id);
        let user = id % 23 + 2;
        let (stage_id, stage) =
            [(1, "New"), (2, "Qualified"), (3, "Proposition"), (4, "Won")][(id % 4) as usize];
        format!(
            r#"{{"id": {id}, "name": "{title}", "partner_name": "Client {id} Industries SARL", "contact_name": "Camille Martin-{id}", "email_from": "Camille.Martin{id}@Client{id}-Industries.example", "phone": "+33 1 42 68 {a:02} {b:02}", "expected_revenue": {eur}.{c:02}, "company_currency": [1, "EUR"], "probability": {p}.0, "date_deadline": "2026-{m:02}-{d:02}", "user_id": [{user}, "Sales Representative {user}"], "source_id": [{src}, "Website contact form"], "lost_reason_id": false, "stage_id": [{stage_id}, "{stage}"], "date_closed": {closed}, "create_date": "2024-12-{d:02} 09:15:00", "write_date": "{wd}", "description": "Inbound request for a three-year subscription with onboarding and premium support, {id}."}}"#,
            title = self.title(id),
            a = id % 97,
            b = id % 89,
            eur = cents / 100,
            c = cents % 100,
            p = id % 100,
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
            match method {
                "search_read" => {
                    let served = peer.pages.fetch_add(1, Ordering::SeqCst) + 1;
                    let domain = call_args.get(0).cloned().unwrap_or(json!([]));
                    let mut hits: Vec<&Map<String, Value>> =
                        records.iter().filter(|r| matches(&domain, r)).collect();
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
                            .partition(|e| e.after_page == served);
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
                        json!(records.iter().filter(|r| matches(&domain, r)).count()),
                    )
                }
                "fields_get" => {
                    let mut fields = Map::new();
                    for r in records.iter().take(1) {
                        for (k, v) in r {
                            let ty = match v {
                                Value::Number(_) => "integer",
                                Value::Array(_) => "many2one",
                                Value::Bool(_) => "boolean",
                                _ => "char",
                            };
                            fields.insert(k.clone(), json!({ "string": k, "type": ty }));
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
