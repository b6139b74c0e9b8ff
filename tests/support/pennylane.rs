//! A stateful test peer that speaks Pennylane's Company API v2 (`/api/external/v2/…`) on
//! 127.0.0.1:0, for a client's integration tests.
//!
//! It serves `GET /me`; customers (`GET /customers`, `GET /customers/{id}`,
//! `POST /company_customers`, `POST /individual_customers`); quotes (`POST|GET /quotes`,
//! `GET /quotes/{id}`, `PUT /quotes/{id}/update_status`); customer invoices
//! (`POST|GET /customer_invoices`, `GET /customer_invoices/{id}`, `POST
//! /customer_invoices/create_from_quote`, `PUT …/{id}/finalize`, `PUT …/{id}/mark_as_paid`)
//! and the invoice changelog (`GET /changelogs/customer_invoices`). Requests need
//! `Authorization: Bearer <token>`; bodies are validated like the vendor's OpenAPI file
//! (unknown keys, required keys, types, dates, enums) and refused with its 400 shapes;
//! lists take `filter` (JSON array of `{field, operator, value}`), `sort`, `limit` and
//! opaque base64 cursors. It starts seeded like a real French installation: accented
//! names, French phone formats, HTML notes, a paid, a late and a draft invoice, with
//! changelog entries from the last few days. Ids are above `i32::MAX`, as real ones soon are.
//!
//! Faults, queued ([`PeerState::push_fault`]: one per request, authorized or not), armed
//! for the next request to one path ([`PeerState::fault_on`]) or permanent
//! ([`PeerState::fail_always`]), apply before authentication: a 429 with
//! `retry-after` and `ratelimit-*` headers and Pennylane's plain-text body, an empty 500,
//! a stall before the answer, and an accepted request whose answer stalls (the object
//! exists but the client times out).
#![allow(dead_code, clippy::unwrap_used, clippy::result_large_err)]

use std::cmp::Ordering;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, Query, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, TimeDelta, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Value, json};

/// The path prefix every route lives under.
const V2: &str = "/api/external/v2";
/// The host the API's own links point to, as in real answers.
const BASE: &str = "https://app.pennylane.com/api/external/v2";
/// Pennylane's documented limit: 25 requests per 5 s, per token.
const RATE_LIMIT: usize = 25;
const RATE_WINDOW: Duration = Duration::from_secs(5);

// ------------------------------------------------------------------------------------------
// Public API

pub struct PennylanePeer {
    pub addr: SocketAddr,
    pub state: Arc<PeerState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PennylanePeer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl PennylanePeer {
    /// A peer accepting `Bearer <token>`, seeded with realistic data.
    pub async fn start(token: &str) -> PennylanePeer {
        let state = Arc::new(PeerState {
            token: token.to_owned(),
            stall: Mutex::new(Duration::from_secs(5)),
            faults: Mutex::default(),
            fail_always: Mutex::default(),
            data: Mutex::new(Data::seeded(Utc::now())),
            seen: Mutex::default(),
            armed: Mutex::default(),
        });
        let app = router(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        PennylanePeer { addr, state, task }
    }

    /// The client's base URL: `http://127.0.0.1:PORT/api/external/v2`.
    pub fn url(&self) -> String {
        format!("http://{}{V2}", self.addr)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 429, `retry-after: N`, `ratelimit-*` headers, body "Rate limit exceeded. Please retry in N seconds."
    TooManyRequests { retry_after_secs: u64 },
    /// 500 with an empty body; the request is not processed.
    ServerError,
    /// Sleeps `stall`, then answers normally.
    Stall,
    /// Processes the request (its changes commit), then sleeps `stall` before answering.
    AcceptThenStall,
}

pub struct PeerState {
    pub token: String,
    /// How long [`Fault::Stall`] and [`Fault::AcceptThenStall`] sleep (default 5 s).
    pub stall: Mutex<Duration>,
    /// Each incoming request (authorized or not) takes the front one, if any.
    pub faults: Mutex<VecDeque<Fault>>,
    /// When `Some`, every request gets this fault (the queue is left alone).
    pub fail_always: Mutex<Option<Fault>>,
    pub data: Mutex<Data>,
    /// Every request, in arrival order; `status` is 0 until it is answered.
    pub seen: Mutex<Vec<Seen>>,
    /// Faults armed by [`PeerState::fault_on`]: (method, path, fault).
    armed: Mutex<Vec<(String, String, Fault)>>,
}

#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// The full path, e.g. `/api/external/v2/quotes`.
    pub path: String,
    /// The raw (still URL-encoded) query string, empty if none.
    pub query: String,
    pub at: Instant,
    pub status: u16,
}

/// The stored objects, as the API renders them (private `_lines` keys aside).
pub struct Data {
    pub customers: Vec<Value>,
    pub quotes: Vec<Value>,
    pub invoices: Vec<Value>,
    /// Kept in ascending `processed_at` order; a changelog cursor is an index into it.
    pub invoice_changes: Vec<Change>,
    next_id: i64,
    next_number: i64,
}

#[derive(Debug, Clone)]
pub struct Change {
    pub id: i64,
    pub operation: String,
    pub processed_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl PeerState {
    fn store(&self) -> MutexGuard<'_, Data> {
        self.data.lock().unwrap()
    }

    pub fn push_fault(&self, f: Fault) {
        self.faults.lock().unwrap().push_back(f);
    }

    /// Arms `f` for the next request with this method and path (in full, or relative to
    /// the base); an armed fault goes before the queue, which that request leaves alone.
    pub fn fault_on(&self, method: &str, path: &str, f: Fault) {
        let armed = (method.to_owned(), path.to_owned(), f);
        self.armed.lock().unwrap().push(armed);
    }

    fn take_armed(&self, method: &str, path: &str) -> Option<Fault> {
        let mut armed = self.armed.lock().unwrap();
        let i = armed.iter().position(|(m, p, _)| {
            m.eq_ignore_ascii_case(method) && (path == p.as_str() || relative(path) == p.as_str())
        })?;
        Some(armed.remove(i).2)
    }

    pub fn customers_with_reference(&self, r: &str) -> Vec<Value> {
        with_reference(&self.store().customers, r)
    }

    pub fn quotes_with_reference(&self, r: &str) -> Vec<Value> {
        with_reference(&self.store().quotes, r)
    }

    pub fn invoices_with_reference(&self, r: &str) -> Vec<Value> {
        with_reference(&self.store().invoices, r)
    }

    pub fn invoice(&self, id: i64) -> Option<Value> {
        let data = self.store();
        find(&data.invoices, id).map(public)
    }

    /// Changes an invoice as Pennylane would when it is paid/late/cancelled, bumps
    /// `updated_at`, appends an "update" change. Panics if there is no such invoice.
    pub fn set_invoice_status(
        &self,
        id: i64,
        status: &str,
        paid: bool,
        remaining_amount_with_tax: &str,
    ) {
        let done = self.store().touch_invoice(id, Utc::now(), |inv| {
            set_payment(inv, status, paid, remaining_amount_with_tax);
        });
        assert!(done.is_some(), "no invoice {id} on the Pennylane peer");
    }

    /// When each request arrived, in arrival order.
    pub fn arrivals(&self) -> Vec<Instant> {
        self.seen.lock().unwrap().iter().map(|s| s.at).collect()
    }

    /// Requests with this method whose path starts with `path_prefix`, given either in
    /// full (`/api/external/v2/quotes`) or relative to the base (`/quotes`).
    pub fn count(&self, method: &str, path_prefix: &str) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| {
                s.method.eq_ignore_ascii_case(method)
                    && (s.path.starts_with(path_prefix)
                        || relative(&s.path).starts_with(path_prefix))
            })
            .count()
    }
}

// ------------------------------------------------------------------------------------------
// Routing, faults, authentication

fn router(state: Arc<PeerState>) -> axum::Router {
    let api = axum::Router::new()
        .route("/me", get(me))
        .route("/customers", get(list_customers))
        .route("/customers/{id}", get(get_customer))
        .route("/company_customers", post(post_company_customer))
        .route("/individual_customers", post(post_individual_customer))
        .route("/quotes", get(list_quotes).post(post_quote))
        .route("/quotes/{id}", get(get_quote))
        .route("/quotes/{id}/update_status", put(update_quote_status))
        .route("/customer_invoices", get(list_invoices).post(post_invoice))
        .route(
            "/customer_invoices/create_from_quote",
            post(invoice_from_quote),
        )
        .route("/customer_invoices/{id}", get(get_invoice))
        .route("/customer_invoices/{id}/finalize", put(finalize_invoice))
        .route(
            "/customer_invoices/{id}/mark_as_paid",
            put(mark_invoice_paid),
        )
        .route("/changelogs/customer_invoices", get(invoice_changes));
    axum::Router::new()
        .nest(V2, api)
        .fallback(|| async { not_found() })
        .layer(axum::middleware::from_fn_with_state(state.clone(), gate))
        .with_state(state)
}

/// Records the request, applies a fault if one is due, checks the token, answers.
async fn gate(State(st): State<Arc<PeerState>>, req: Request, next: Next) -> Response {
    let (method, path) = (req.method().to_string(), req.uri().path().to_owned());
    let slot = {
        let mut seen = st.seen.lock().unwrap();
        seen.push(Seen {
            method: method.clone(),
            path: path.clone(),
            query: req.uri().query().unwrap_or_default().to_owned(),
            at: Instant::now(),
            status: 0,
        });
        seen.len() - 1
    };
    let always = *st.fail_always.lock().unwrap();
    let fault = always
        .or_else(|| st.take_armed(&method, &path))
        .or_else(|| st.faults.lock().unwrap().pop_front());
    let stall = *st.stall.lock().unwrap();
    let mut resp = match fault {
        Some(Fault::TooManyRequests { retry_after_secs }) => too_many_requests(retry_after_secs),
        Some(Fault::ServerError) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        _ => {
            if fault == Some(Fault::Stall) {
                tokio::time::sleep(stall).await;
            }
            if authorized(&st.token, req.headers()) {
                next.run(req).await
            } else {
                error(401, "The access token is invalid")
            }
        }
    };
    if resp.status() != StatusCode::TOO_MANY_REQUESTS {
        rate_headers(&st, resp.headers_mut());
    }
    st.seen.lock().unwrap()[slot].status = resp.status().as_u16();
    if fault == Some(Fault::AcceptThenStall) {
        tokio::time::sleep(stall).await;
    }
    resp
}

fn authorized(token: &str, headers: &HeaderMap) -> bool {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| t == token)
}

fn too_many_requests(secs: u64) -> Response {
    let body = format!("Rate limit exceeded. Please retry in {secs} seconds.");
    let mut r = (StatusCode::TOO_MANY_REQUESTS, body).into_response();
    let h = r.headers_mut();
    h.insert("retry-after", HeaderValue::from(secs));
    h.insert("ratelimit-limit", HeaderValue::from(RATE_LIMIT));
    h.insert("ratelimit-remaining", HeaderValue::from(0u64));
    h.insert(
        "ratelimit-reset",
        HeaderValue::from(Utc::now().timestamp() + secs as i64),
    );
    r
}

/// The `ratelimit-*` headers Pennylane puts on every answer.
fn rate_headers(st: &PeerState, h: &mut HeaderMap) {
    let recent = st
        .seen
        .lock()
        .unwrap()
        .iter()
        .rev()
        .take_while(|s| s.at.elapsed() < RATE_WINDOW)
        .count();
    h.insert("ratelimit-limit", HeaderValue::from(RATE_LIMIT));
    h.insert(
        "ratelimit-remaining",
        HeaderValue::from(RATE_LIMIT.saturating_sub(recent)),
    );
    h.insert(
        "ratelimit-reset",
        HeaderValue::from(Utc::now().timestamp() + 5),
    );
}

// ------------------------------------------------------------------------------------------
// Handlers

type Reply = Result<Response, Response>;
type St = State<Arc<PeerState>>;
type Params = Query<HashMap<String, String>>;

async fn me() -> Response {
    reply(
        200,
        json!({
            "user": { "id": 48_213, "first_name": "Camille", "last_name": "Rousseau",
                      "email": "camille.rousseau@tentabo-demo.fr", "locale": "fr" },
            "company": { "id": 1_204_877, "name": "Éditions Tentabo Démo SAS", "reg_no": "552100554" },
            "scopes": ["customers:all", "quotes:all", "customer_invoices:all"],
        }),
    )
}

async fn list_customers(State(st): St, Query(q): Params) -> Reply {
    let items = st.store().customers.iter().map(public).collect();
    list(items, &q, CUSTOMER_FILTERS, &["id"], "customer")
}

async fn get_customer(State(st): St, Path(id): Path<String>) -> Reply {
    let id = path_id(&id)?;
    let data = st.store();
    let c = find(&data.customers, id).ok_or_else(not_found)?;
    Ok(reply(200, public(c)))
}

async fn post_company_customer(State(st): St, body: String) -> Reply {
    let b = parse_body(&body)?;
    validate(&b, COMPANY_CUSTOMER)?;
    let c = st.store().create_customer("company", &b, Utc::now())?;
    Ok(reply(201, without(c, "customer_type")))
}

async fn post_individual_customer(State(st): St, body: String) -> Reply {
    let b = parse_body(&body)?;
    validate(&b, INDIVIDUAL_CUSTOMER)?;
    let c = st.store().create_customer("individual", &b, Utc::now())?;
    Ok(reply(201, without(c, "customer_type")))
}

async fn list_quotes(State(st): St, Query(q): Params) -> Reply {
    let items = st.store().quotes.iter().map(public).collect();
    list(items, &q, QUOTE_FILTERS, &["id"], "quote")
}

async fn get_quote(State(st): St, Path(id): Path<String>) -> Reply {
    let id = path_id(&id)?;
    let data = st.store();
    let q = find(&data.quotes, id).ok_or_else(not_found)?;
    Ok(reply(200, public(q)))
}

async fn post_quote(State(st): St, body: String) -> Reply {
    let b = parse_body(&body)?;
    validate(&b, QUOTE)?;
    no_key(&b, "imputation_dates")?;
    let lines = manual_lines(&b)?;
    let q = st.store().create_quote(&b, lines, Utc::now())?;
    Ok(reply(201, public(&q)))
}

async fn update_quote_status(State(st): St, Path(id): Path<String>, body: String) -> Reply {
    let id = path_id(&id)?;
    let b = parse_body(&body)?;
    validate(&b, QUOTE_STATUS)?;
    let mut data = st.store();
    let q = find_mut(&mut data.quotes, id).ok_or_else(not_found)?;
    q["status"] = b["status"].clone();
    q["updated_at"] = json!(ts(Utc::now()));
    Ok(reply(200, public(q)))
}

async fn list_invoices(State(st): St, Query(q): Params) -> Reply {
    let items = st.store().invoices.iter().map(public).collect();
    list(items, &q, INVOICE_FILTERS, &["id", "date"], "invoice")
}

async fn get_invoice(State(st): St, Path(id): Path<String>) -> Reply {
    let id = path_id(&id)?;
    let data = st.store();
    let inv = find(&data.invoices, id).ok_or_else(not_found)?;
    Ok(reply(200, public(inv)))
}

async fn post_invoice(State(st): St, body: String) -> Reply {
    let b = parse_body(&body)?;
    validate(&b, INVOICE)?;
    // `draft: true` selects the spec's draft branch, which lacks two finalized-only keys.
    let draft = b["draft"] == true;
    if draft {
        no_key(&b, "transaction_reference")?;
        no_key(&b, "imputation_dates")?;
    }
    let lines = manual_lines(&b)?;
    let inv = st
        .store()
        .create_invoice(&b, lines, draft, None, Utc::now())?;
    Ok(reply(201, public(&inv)))
}

async fn invoice_from_quote(State(st): St, body: String) -> Reply {
    let b = parse_body(&body)?;
    validate(&b, FROM_QUOTE)?;
    let inv = st.store().invoice_from_quote(&b, Utc::now())?;
    Ok(reply(201, public(&inv)))
}

async fn finalize_invoice(State(st): St, Path(id): Path<String>) -> Reply {
    let id = path_id(&id)?;
    let now = Utc::now();
    let mut data = st.store();
    let draft = find(&data.invoices, id).ok_or_else(not_found)?["draft"] == true;
    if !draft {
        return Err(error(422, "This invoice has already been finalized"));
    }
    let number = data.invoice_number(now);
    let inv = data.touch_invoice(id, now, |inv| finalize_fields(inv, &number));
    Ok(reply(200, inv.unwrap()))
}

async fn mark_invoice_paid(State(st): St, Path(id): Path<String>) -> Reply {
    let id = path_id(&id)?;
    let mut data = st.store();
    let draft = find(&data.invoices, id).ok_or_else(not_found)?["draft"] == true;
    if draft {
        return Err(error(422, "A draft invoice cannot be marked as paid"));
    }
    data.touch_invoice(id, Utc::now(), |inv| set_payment(inv, "paid", true, "0.00"));
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn invoice_changes(State(st): St, Query(q): Params) -> Reply {
    let limit = limit(&q, 1000)?;
    let start = q.get("start_date").filter(|s| !s.is_empty());
    let cursor = q.get("cursor").filter(|s| !s.is_empty());
    if start.is_some() && cursor.is_some() {
        return Err(error(400, "start_date and cursor cannot be used together"));
    }
    let data = st.store();
    let changes = &data.invoice_changes;
    let from = match (cursor, start) {
        (Some(c), _) => decode_cursor(c, "index")?,
        (None, Some(s)) => {
            let t = DateTime::parse_from_rfc3339(s)
                .map_err(|_| {
                    bad_request(
                        "start_date",
                        "InvalidDateTimeFormat",
                        format!("{s:?} is not conformant with date-time format in start_date"),
                    )
                })?
                .with_timezone(&Utc);
            if t < Utc::now() - TimeDelta::weeks(4) {
                return Err(error(
                    422,
                    "start_date is too old: changes are only kept for the last 4 weeks",
                ));
            }
            changes
                .iter()
                .position(|c| c.processed_at >= t)
                .unwrap_or(changes.len())
        }
        (None, None) => 0,
    };
    let items: Vec<Value> = changes
        .iter()
        .skip(from)
        .take(limit)
        .map(|c| {
            json!({ "id": c.id, "operation": c.operation, "processed_at": ts(c.processed_at),
                    "updated_at": ts(c.updated_at), "created_at": ts(c.created_at) })
        })
        .collect();
    let end = from + items.len();
    let has_more = end < changes.len();
    Ok(reply(
        200,
        json!({ "items": items, "has_more": has_more,
                "next_cursor": has_more.then(|| encode_cursor("index", end)) }),
    ))
}

// ------------------------------------------------------------------------------------------
// The store

impl Data {
    fn seeded(now: DateTime<Utc>) -> Data {
        let mut d = Data {
            customers: Vec::new(),
            quotes: Vec::new(),
            invoices: Vec::new(),
            invoice_changes: Vec::new(),
            next_id: 2_147_483_900,
            next_number: 1,
        };
        seed(&mut d, now);
        d
    }

    fn id(&mut self) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn invoice_number(&mut self, at: DateTime<Utc>) -> String {
        let n = self.next_number;
        self.next_number += 1;
        format!("F-{}-{n:04}", at.year())
    }

    fn change(&mut self, id: i64, operation: &str, at: DateTime<Utc>, created_at: DateTime<Utc>) {
        self.invoice_changes.push(Change {
            id,
            operation: operation.to_owned(),
            processed_at: at,
            updated_at: at,
            created_at,
        });
    }

    /// Applies `edit` to invoice `id`, bumps `updated_at`, logs an "update"; the public object.
    fn touch_invoice(
        &mut self,
        id: i64,
        at: DateTime<Utc>,
        edit: impl FnOnce(&mut Value),
    ) -> Option<Value> {
        let inv = find_mut(&mut self.invoices, id)?;
        edit(inv);
        inv["updated_at"] = json!(ts(at));
        let created = parse_ts(&inv["created_at"]);
        let out = public(inv);
        self.change(id, "update", at, created);
        Some(out)
    }

    fn create_customer(
        &mut self,
        kind: &str,
        b: &Value,
        at: DateTime<Utc>,
    ) -> Result<Value, Response> {
        let ext = str_or(b, "external_reference", &uuid::Uuid::new_v4().to_string());
        if self
            .customers
            .iter()
            .any(|c| c["external_reference"] == ext.as_str())
        {
            return Err(error(409, "Resource already exists."));
        }
        let id = self.id();
        let name = if kind == "company" {
            str_or(b, "name", "")
        } else {
            format!(
                "{} {}",
                str_or(b, "first_name", ""),
                str_or(b, "last_name", "")
            )
        };
        let billing = b["billing_address"].clone();
        let mut c = json!({
            "id": id, "name": name, "billing_iban": or_null(b, "billing_iban"),
            "payment_conditions": str_or(b, "payment_conditions", "30_days"),
            "recipient": str_or(b, "recipient", ""), "phone": str_or(b, "phone", ""),
            "reference": or_null(b, "reference"), "notes": or_null(b, "notes"),
            "ledger_account": if b["ledger_account"].is_object() { json!({ "id": id + 50_000 }) } else { Value::Null },
            "emails": b.get("emails").cloned().unwrap_or_else(|| json!([])),
            "delivery_address": b.get("delivery_address").cloned().unwrap_or_else(|| billing.clone()),
            "billing_address": billing,
        });
        merge(
            &mut c,
            json!({
                "created_at": ts(at), "updated_at": ts(at), "customer_type": kind,
                "external_reference": ext,
                "billing_language": str_or(b, "billing_language", "fr_FR"),
                "mandates": { "url": filter_url("gocardless_mandates", "customer_id", &format!("\"{id}\"")) },
                "pro_account_mandates": { "url": filter_url("pro_account/mandates", "customer_id", &format!("\"{id}\"")) },
                "contacts": link(&format!("customers/{id}/contacts")),
            }),
        );
        if kind == "company" {
            c["vat_number"] = json!(str_or(b, "vat_number", ""));
            c["reg_no"] = json!(str_or(b, "reg_no", ""));
        } else {
            c["first_name"] = json!(str_or(b, "first_name", ""));
            c["last_name"] = json!(str_or(b, "last_name", ""));
        }
        self.customers.push(c.clone());
        Ok(c)
    }

    fn create_quote(
        &mut self,
        b: &Value,
        lines: Vec<Value>,
        at: DateTime<Utc>,
    ) -> Result<Value, Response> {
        let customer_id = b["customer_id"].as_i64().unwrap_or_default();
        if find(&self.customers, customer_id).is_none() {
            return Err(error(422, "Customer not found"));
        }
        let (before, tax, total) = totals(&lines);
        let id = self.id();
        let number = format!("D-{}-{:04}", at.year(), self.quotes.len() + 1);
        let l = |s: &str| link(&format!("quotes/{id}/{s}"));
        let mut q = json!({
            "id": id, "label": null, "quote_number": number,
            "currency": str_or(b, "currency", "EUR"),
            "amount": total, "currency_amount": total, "currency_amount_before_tax": before,
            "exchange_rate": "1.0", "currency_tax": tax, "tax": tax,
            "date": b["date"], "deadline": b["deadline"],
            "language": str_or(b, "language", "fr_FR"), "status": "pending",
            "discount": discount(b),
        });
        merge(
            &mut q,
            json!({
                "public_file_url": pdf_url("quote"), "filename": format!("Devis {number}.pdf"),
                "special_mention": or_null(b, "special_mention"),
                "customer": customer_ref(customer_id),
                "invoice_line_sections": l("invoice_line_sections"), "invoice_lines": l("invoice_lines"),
                "linked_invoices": { "url": filter_url("customer_invoices", "quote_id", &id.to_string()) },
                "pdf_invoice_free_text": str_or(b, "pdf_invoice_free_text", ""),
                "pdf_invoice_subject": str_or(b, "pdf_invoice_subject", ""),
                "pdf_description": or_null(b, "pdf_description"),
                "quote_template": opt_id(b, "quote_template_id"),
                "appendices": l("appendices"),
                "external_reference": str_or(b, "external_reference", &uuid::Uuid::new_v4().to_string()),
                "archived_at": null, "created_at": ts(at), "updated_at": ts(at),
                "_lines": lines,
            }),
        );
        self.quotes.push(q.clone());
        Ok(q)
    }

    fn create_invoice(
        &mut self,
        b: &Value,
        lines: Vec<Value>,
        draft: bool,
        quote_id: Option<i64>,
        at: DateTime<Utc>,
    ) -> Result<Value, Response> {
        let customer_id = b["customer_id"].as_i64().unwrap_or_default();
        if find(&self.customers, customer_id).is_none() {
            return Err(error(422, "Customer not found"));
        }
        let (before, tax, total) = totals(&lines);
        let id = self.id();
        let ledger_entry = self.id();
        let l = |s: &str| link(&format!("customer_invoices/{id}/{s}"));
        let mut inv = json!({
            "id": id, "label": or_null(b, "label"), "invoice_number": "",
            "currency": str_or(b, "currency", "EUR"),
            "amount": total, "currency_amount": total, "currency_amount_before_tax": before,
            "exchange_rate": "1.0", "currency_tax": tax, "tax": tax,
            "date": b["date"], "deadline": b["deadline"],
            "language": str_or(b, "language", "fr_FR"), "paid": false, "status": "draft",
            "discount": discount(b),
        });
        merge(
            &mut inv,
            json!({
                "ledger_entry": { "id": ledger_entry }, "public_file_url": null, "filename": null,
                "remaining_amount_with_tax": total, "remaining_amount_without_tax": before,
                "draft": true, "special_mention": or_null(b, "special_mention"),
                "customer": customer_ref(customer_id),
                "invoice_line_sections": l("invoice_line_sections"), "invoice_lines": l("invoice_lines"),
                "custom_header_fields": l("custom_header_fields"), "categories": l("categories"),
                "pdf_invoice_free_text": str_or(b, "pdf_invoice_free_text", ""),
                "pdf_invoice_subject": str_or(b, "pdf_invoice_subject", ""),
                "pdf_description": or_null(b, "pdf_description"),
            }),
        );
        merge(
            &mut inv,
            json!({
                "billing_subscription": null, "credited_invoice": null,
                "customer_invoice_template": opt_id(b, "customer_invoice_template_id"),
                "transaction_reference": or_null(b, "transaction_reference"),
                "payments": l("payments"), "matched_transactions": l("matched_transactions"),
                "appendices": l("appendices"),
                "quote": quote_id.map_or(Value::Null, |q| json!({ "id": q })),
                "external_reference": str_or(b, "external_reference", &uuid::Uuid::new_v4().to_string()),
                "e_invoicing": null, "archived_at": null, "created_at": ts(at), "updated_at": ts(at),
                "_lines": lines,
            }),
        );
        if !draft {
            let number = self.invoice_number(at);
            finalize_fields(&mut inv, &number);
        }
        self.invoices.push(inv.clone());
        self.change(id, "insert", at, at);
        Ok(inv)
    }

    /// The invoice inherits the quote's customer, currency, lines and texts; the quote is
    /// then "invoiced".
    fn invoice_from_quote(&mut self, b: &Value, at: DateTime<Utc>) -> Result<Value, Response> {
        let quote_id = b["quote_id"].as_i64().unwrap_or_default();
        let quote = find(&self.quotes, quote_id).ok_or_else(not_found)?.clone();
        let body = json!({
            "customer_id": quote["customer"]["id"],
            "date": day(at), "deadline": day(at + TimeDelta::days(30)),
            "currency": quote["currency"], "language": quote["language"],
            "discount": quote["discount"], "special_mention": quote["special_mention"],
            "pdf_invoice_free_text": quote["pdf_invoice_free_text"],
            "pdf_invoice_subject": quote["pdf_invoice_subject"],
            "pdf_description": quote["pdf_description"],
            "external_reference": b.get("external_reference"),
            "customer_invoice_template_id": b.get("customer_invoice_template_id"),
        });
        let lines = quote["_lines"].as_array().cloned().unwrap_or_default();
        let inv = self.create_invoice(&body, lines, b["draft"] == true, Some(quote_id), at)?;
        let q = find_mut(&mut self.quotes, quote_id).unwrap();
        q["status"] = json!("invoiced");
        q["updated_at"] = json!(ts(at));
        Ok(inv)
    }
}

fn finalize_fields(inv: &mut Value, number: &str) {
    inv["draft"] = json!(false);
    inv["status"] = json!("upcoming");
    inv["invoice_number"] = json!(number);
    inv["public_file_url"] = json!(pdf_url("invoice"));
    inv["filename"] = json!(format!("Facture {number}.pdf"));
}

fn set_payment(inv: &mut Value, status: &str, paid: bool, remaining_with_tax: &str) {
    let total = decimal(&inv["currency_amount"]);
    let before = decimal(&inv["currency_amount_before_tax"]);
    let remaining = Decimal::from_str(remaining_with_tax).unwrap_or_default();
    let without_tax = if total.is_zero() {
        remaining
    } else {
        remaining * before / total
    };
    inv["status"] = json!(status);
    inv["paid"] = json!(paid);
    inv["remaining_amount_with_tax"] = json!(remaining_with_tax);
    inv["remaining_amount_without_tax"] = json!(money(without_tax));
}

/// Product-based lines need a product catalogue, which this peer does not have.
fn manual_lines(b: &Value) -> Result<Vec<Value>, Response> {
    let lines = b["invoice_lines"].as_array().cloned().unwrap_or_default();
    if lines.iter().any(|l| l.get("product_id").is_some()) {
        return Err(error(422, "Product not found"));
    }
    Ok(lines)
}

/// (before tax, tax, total), each line rounded to the cent.
fn totals(lines: &[Value]) -> (String, String, String) {
    let (mut before, mut tax) = (Decimal::ZERO, Decimal::ZERO);
    for l in lines {
        let qty = l["quantity"].to_string();
        let qty = Decimal::from_str(&qty)
            .or_else(|_| Decimal::from_scientific(&qty))
            .unwrap_or_default();
        let price = decimal(&l["raw_currency_unit_price"]);
        let net = round2(qty * price);
        before += net;
        tax += round2(
            net * vat_percent(l["vat_rate"].as_str().unwrap_or("exempt")) / Decimal::ONE_HUNDRED,
        );
    }
    (money(before), money(tax), money(before + tax))
}

/// The rate a `vat_rate` code stands for, in percent: `FR_200` → 20, `FR_55` → 5.5,
/// `FR_1_05` → 1.05, `DE_70_BU0002` → 7; exempt, intracom, extracom, … → 0.
fn vat_percent(code: &str) -> Decimal {
    let mut parts = code.split('_');
    let country = parts.next().unwrap_or_default();
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Decimal::ZERO;
    }
    let digits: Vec<&str> = parts
        .take_while(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    match digits.as_slice() {
        [tenths] => Decimal::from_str(tenths).unwrap_or_default() / Decimal::TEN,
        [units, decimals] => Decimal::from_str(&format!("{units}.{decimals}")).unwrap_or_default(),
        _ => Decimal::ZERO,
    }
}

fn round2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

fn money(d: Decimal) -> String {
    let mut r = round2(d);
    r.rescale(2);
    r.to_string()
}

fn decimal(v: &Value) -> Decimal {
    v.as_str()
        .and_then(|s| Decimal::from_str(s).ok())
        .unwrap_or_default()
}

// ------------------------------------------------------------------------------------------
// Lists: filter, sort, pagination

const CMP: &[&str] = &["lt", "lteq", "gt", "gteq", "eq", "not_eq", "in", "not_in"];
const EQ_IN: &[&str] = &["eq", "not_eq", "in", "not_in"];
const CUSTOMER_FILTERS: &[(&str, &[&str])] = &[
    ("id", CMP),
    ("customer_type", &["eq", "not_eq"]),
    ("ledger_account_id", &["eq", "not_eq"]),
    ("name", &["start_with", "eq"]),
    (
        "external_reference",
        &["start_with", "eq", "not_eq", "in", "not_in"],
    ),
    ("reg_no", EQ_IN),
    ("emails", &["in"]),
];
const QUOTE_FILTERS: &[(&str, &[&str])] = &[("id", CMP), ("customer_id", CMP), ("status", EQ_IN)];
const INVOICE_FILTERS: &[(&str, &[&str])] = &[
    ("id", CMP),
    ("date", CMP),
    ("customer_id", CMP),
    ("quote_id", CMP),
    ("invoice_number", EQ_IN),
    ("draft", &["eq"]),
    ("credit_note", &["eq"]),
    ("external_reference", &["eq"]),
];

struct Pred {
    field: String,
    op: String,
    value: Value,
}

impl Pred {
    fn test(&self, item: &Value) -> bool {
        let actual = match self.field.as_str() {
            "customer_id" => item["customer"]["id"].clone(),
            "quote_id" => item["quote"]["id"].clone(),
            "ledger_account_id" => item["ledger_account"]["id"].clone(),
            "credit_note" => Value::Bool(false),
            f => item[f].clone(),
        };
        matches(&actual, &self.op, &self.value)
    }
}

/// Compares as Pennylane's filters do, on the values' text (`"42"` matches 42, `"true"`
/// matches true); `in`/`not_in` take a JSON array or a comma-separated string.
fn matches(actual: &Value, op: &str, expected: &Value) -> bool {
    if let Value::Array(xs) = actual {
        return xs.iter().any(|x| matches(x, op, expected));
    }
    if actual.is_null() {
        return matches!(op, "not_eq" | "not_in");
    }
    let a = scalar(actual);
    let e = scalar(expected);
    let set = || -> Vec<String> {
        match expected {
            Value::Array(xs) => xs.iter().map(scalar).collect(),
            _ => e.split(',').map(|s| s.trim().to_owned()).collect(),
        }
    };
    match op {
        "eq" => a == e,
        "not_eq" => a != e,
        "in" => set().contains(&a),
        "not_in" => !set().contains(&a),
        "start_with" => a.starts_with(&e),
        "lt" => order(&a, &e).is_lt(),
        "lteq" => order(&a, &e).is_le(),
        "gt" => order(&a, &e).is_gt(),
        "gteq" => order(&a, &e).is_ge(),
        _ => false,
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn order(a: &str, b: &str) -> Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.total_cmp(&y),
        _ => a.cmp(b),
    }
}

fn parse_filter(raw: Option<&String>, allowed: &[(&str, &[&str])]) -> Result<Vec<Pred>, Response> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(Vec::new());
    };
    let not_list = || {
        bad_request(
            "filter",
            "ValidateError",
            format!("{raw:?} is not a JSON array of {{field, operator, value}} objects"),
        )
    };
    let parsed: Value = serde_json::from_str(raw).map_err(|_| not_list())?;
    let items = parsed.as_array().ok_or_else(not_list)?;
    items
        .iter()
        .map(|f| {
            let (Some(field), Some(op), Some(value)) =
                (f["field"].as_str(), f["operator"].as_str(), f.get("value"))
            else {
                return Err(bad_request(
                    "filter",
                    "NotExistRequiredKey",
                    format!("required parameters field,operator,value not exist in filter {f}"),
                ));
            };
            let Some((_, ops)) = allowed.iter().find(|(name, _)| *name == field) else {
                let names: Vec<&str> = allowed.iter().map(|(n, _)| *n).collect();
                return Err(bad_request(
                    "filter",
                    "NotEnumInclude",
                    format!(
                        "{field:?} isn't part of the enum in filter field: {}",
                        names.join(", ")
                    ),
                ));
            };
            if !ops.contains(&op) {
                return Err(bad_request(
                    "filter",
                    "NotEnumInclude",
                    format!(
                        "{op:?} isn't part of the enum in filter operator for {field}: {}",
                        ops.join(", ")
                    ),
                ));
            }
            Ok(Pred {
                field: field.to_owned(),
                op: op.to_owned(),
                value: value.clone(),
            })
        })
        .collect()
}

/// Filters, sorts (`-id` unless `sort` says otherwise) and pages `items`.
fn list(
    items: Vec<Value>,
    q: &HashMap<String, String>,
    filters: &[(&str, &[&str])],
    sorts: &[&str],
    kind: &str,
) -> Reply {
    let limit = limit(q, 100)?;
    let sort = q.get("sort").map_or("-id", String::as_str);
    let (key, desc) = match sort.strip_prefix('-') {
        Some(k) => (k, true),
        None => (sort, false),
    };
    if !sorts.contains(&key) {
        return Err(bad_request(
            "sort",
            "NotEnumInclude",
            format!("{sort:?} isn't part of the enum in sort"),
        ));
    }
    let preds = parse_filter(q.get("filter"), filters)?;
    let offset = match q.get("cursor").filter(|c| !c.is_empty()) {
        Some(c) => decode_cursor(c, kind)?,
        None => 0,
    };
    let mut hits: Vec<Value> = items
        .into_iter()
        .filter(|it| preds.iter().all(|p| p.test(it)))
        .collect();
    hits.sort_by(|a, b| {
        let by_id = a["id"].as_i64().cmp(&b["id"].as_i64());
        let o = match key {
            "date" => a["date"].as_str().cmp(&b["date"].as_str()).then(by_id),
            _ => by_id,
        };
        if desc { o.reverse() } else { o }
    });
    let total = hits.len();
    let page: Vec<Value> = hits.into_iter().skip(offset).take(limit).collect();
    let has_more = offset + limit < total;
    Ok(reply(
        200,
        json!({ "items": page, "has_more": has_more,
                "next_cursor": has_more.then(|| encode_cursor(kind, offset + limit)) }),
    ))
}

fn limit(q: &HashMap<String, String>, max: i64) -> Result<usize, Response> {
    let Some(raw) = q.get("limit") else {
        return Ok(20);
    };
    let n: i64 = raw.parse().map_err(|_| {
        bad_request(
            "limit",
            "ValidateError",
            format!("{raw:?} class is String but it's not valid integer in limit"),
        )
    })?;
    if n < 1 {
        return Err(bad_request(
            "limit",
            "LessThanMinimum",
            format!("limit {n} is less than minimum value 1"),
        ));
    }
    if n > max {
        return Err(bad_request(
            "limit",
            "MoreThanMaximum",
            format!("limit {n} is more than maximum value {max}"),
        ));
    }
    Ok(n as usize)
}

/// Opaque to the client: base64 of `{"<kind>": n}` (with `=` padding, `+` and `/`).
fn encode_cursor(kind: &str, n: usize) -> String {
    B64.encode(format!("{{\"{kind}\":{n}}}"))
}

fn decode_cursor(raw: &str, kind: &str) -> Result<usize, Response> {
    B64.decode(raw)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v[kind].as_u64())
        .map(|n| n as usize)
        .ok_or_else(|| error(400, "Invalid cursor"))
}

// ------------------------------------------------------------------------------------------
// Request body validation, after the spec's schemas (additionalProperties: false throughout)

/// A body schema in the brief's notation: its keys, space-separated, `*` = required,
/// `?` = nullable. A key's type follows from its name ([`ty_of`]): the API names its
/// fields consistently. Keys not listed are refused.
type Schema = &'static str;

const ADDRESS: Schema = "*address *postal_code *city *country_alpha2";
const LEDGER_ACCOUNT: Schema = "*number";
const DISCOUNT: Schema = "*type *value";
const SECTION: Schema = "title description *rank";
const IMPUTATION: Schema = "*start_date *end_date";
const TRANSACTION_REFERENCE: Schema =
    "*banking_provider *provider_field_name *provider_field_value";
const MANUAL_LINE: Schema = "*label *quantity *raw_currency_unit_price *unit *vat_rate \
    ledger_account_id description? section_rank discount imputation_dates?";
const PRODUCT_LINE: Schema = "*product_id *quantity label raw_currency_unit_price unit vat_rate \
    ledger_account_id description? section_rank discount imputation_dates?";
const COMPANY_CUSTOMER: Schema = "*name vat_number reg_no ledger_account? phone \
    *billing_address delivery_address payment_conditions billing_iban? recipient reference? \
    notes? emails external_reference billing_language";
const INDIVIDUAL_CUSTOMER: Schema = "*first_name *last_name phone *billing_address \
    delivery_address payment_conditions billing_iban? recipient reference? ledger_account? \
    notes? emails external_reference billing_language";
const QUOTE: Schema = "*date *deadline *customer_id quote_template_id pdf_invoice_free_text? \
    pdf_invoice_subject? pdf_description? currency special_mention? language discount \
    invoice_line_sections external_reference *invoice_lines";
/// The union of the spec's two branches; [`no_key`] narrows it for drafts.
const INVOICE: Schema = "*date *deadline *customer_id customer_invoice_template_id \
    pdf_invoice_free_text? pdf_invoice_subject? pdf_description? currency special_mention? \
    language discount invoice_line_sections label? external_reference draft \
    transaction_reference *invoice_lines";
const FROM_QUOTE: Schema = "*quote_id *draft external_reference customer_invoice_template_id";
const QUOTE_STATUS: Schema = "*status";

const LANGUAGES: &[&str] = &["fr_FR", "en_GB", "de_DE"];
const PAYMENT_CONDITIONS: &[&str] = &[
    "upon_receipt",
    "custom",
    "7_days",
    "15_days",
    "30_days",
    "30_days_end_of_month",
    "45_days",
    "45_days_end_of_month",
    "60_days",
];
const QUOTE_STATUSES: &[&str] = &["pending", "accepted", "denied", "invoiced", "expired"];
const VAT_RATES: &str = "FR_1_05, FR_1_75, FR_09, FR_21, FR_40, FR_50, FR_55, FR_60, FR_65, FR_85, FR_92, FR_100, FR_130, FR_15_385, FR_160, FR_196, FR_200, AD_10, AD_45, AD_95, AT_100, AT_130, AT_190, AT_200, BE_60, BE_120, BE_210, BG_90, BG_200, CH_25, CH_37, CH_77, CH_26, CH_38, CH_81, CY_30, CY_50, CY_80, CY_90, CY_190, CZ_100, CZ_120, CZ_150, CZ_210, DE_70, DE_190, DK_250, EE_90, EE_200, EE_220, EE_240, ES_40, ES_70, ES_100, ES_210, FI_100, FI_135, FI_140, FI_240, FI_255, GB_50, GB_200, GR_60, GR_130, GR_170, GR_240, GR_40, HR_50, HR_130, HR_250, HU_50, HU_180, HU_270, IE_48, IE_90, IE_135, IE_210, IE_230, IT_40, IT_50, IT_100, IT_220, LT_50, LT_90, LT_120, LT_210, LU_30, LU_70, LU_80, LU_120, LU_130, LU_140, LU_160, LU_170, LV_50, LV_120, LV_210, MC_09, MC_21, MC_55, MC_85, MC_100, MC_200, MT_50, MT_70, MT_120, MT_180, MU_150, NL_90, NL_210, PL_50, PL_80, PL_230, PT_60, PT_130, PT_160, PT_180, PT_220, PT_230, RO_50, RO_90, RO_110, RO_190, RO_210, SE_60, SE_120, SE_250, SI_50, SI_95, SI_220, SK_50, SK_100, SK_190, SK_200, SK_230, NO_120, NO_150, NO_250, DE_70_BU0002, DE_190_BU0003, DE_70_BU0008, DE_190_BU0009, DE_intracom_70_BU0012, DE_intracom_190_BU0013, DE_190_electronic_BU0226, exempt, DE_intracom_exempt_BU0011, DE_intracom_exempt_BU0047, DE_exempt_BU0001, DE_exempt_BU0181, DE_exempt_BU0490, intracom_21, intracom_55, intracom_85, intracom_100, crossborder, DE_intracom_70_BU0018, DE_intracom_190_BU0019, DE_intracom_190_BU0506, extracom, DE_extracom_BU0173, DE_extracom_BU0191, DE_extracom_190_BU0511, FR_85_construction, FR_100_construction, FR_200_construction, DE_exempt_construction_BU0046, DE_70_construction_BU0091, DE_190_construction_BU0094, DE_190_construction_BU0526, DE_190_construction_BU0546, mixed";
const CURRENCIES: &str = "EUR, USD, GBP, AED, AFN, ALL, AMD, ANG, AOA, ARS, AUD, AWG, AZN, BAM, BBD, BDT, BGN, BHD, BIF, BMD, BND, BOB, BRL, BSD, BTN, BWP, BYN, BYR, BZD, CAD, CDF, CHE, CHF, CLF, CLP, CNY, COP, CRC, CUC, CUP, CVE, CZK, DJF, DKK, DOP, DZD, EGP, ERN, ETB, FJD, FKP, GEL, GGP, GHS, GIP, GMD, GNF, GTQ, GYD, HKD, HNL, HRK, HTG, HUF, IDR, ILS, IMP, INR, IQD, IRR, ISK, JEP, JMD, JOD, JPY, KES, KGS, KHR, KMF, KPW, KRW, KWD, KYD, KZT, LAK, LBP, LKR, LRD, LSL, LTL, LVL, LYD, MAD, MDL, MGA, MKD, MMK, MNT, MOP, MRO, MRU, MUR, MVR, MWK, MXN, MYR, MZN, NAD, NGN, NIO, NOK, NPR, NZD, OMR, PAB, PEN, PGK, PHP, PKR, PLN, PYG, QAR, RON, RSD, RUB, RWF, SAR, SBD, SCR, SDG, SEK, SGD, SHP, SLL, SLE, SOS, SRD, STD, SVC, SYP, SZL, THB, TJS, TMT, TND, TOP, TRY, TTD, TWD, TZS, UAH, UGX, UYU, UZS, VEF, VND, VUV, WST, XAF, XCD, XDR, XOF, XPF, YER, ZAR, ZMK, ZMW, ZWL";

#[derive(Clone, Copy)]
enum Ty {
    Str,
    Int,
    Num,
    Bool,
    Date,
    /// A string holding a decimal number (`raw_currency_unit_price`).
    DecimalStr,
    Enum(&'static [&'static str]),
    Vat,
    Currency,
    Obj(Schema),
    List(&'static Ty),
    /// `invoice_lines`: minItems 1, each line product-based (`product_id`) or manual.
    Lines,
}

fn ty_of(key: &str) -> Ty {
    match key {
        "date" | "deadline" | "start_date" | "end_date" => Ty::Date,
        "customer_id"
        | "quote_id"
        | "product_id"
        | "ledger_account_id"
        | "quote_template_id"
        | "customer_invoice_template_id"
        | "section_rank"
        | "rank" => Ty::Int,
        "quantity" => Ty::Num,
        "draft" => Ty::Bool,
        "raw_currency_unit_price" => Ty::DecimalStr,
        "vat_rate" => Ty::Vat,
        "currency" => Ty::Currency,
        "language" | "billing_language" => Ty::Enum(LANGUAGES),
        "payment_conditions" => Ty::Enum(PAYMENT_CONDITIONS),
        "status" => Ty::Enum(QUOTE_STATUSES),
        "type" => Ty::Enum(&["absolute", "relative"]),
        "billing_address" | "delivery_address" => Ty::Obj(ADDRESS),
        "ledger_account" => Ty::Obj(LEDGER_ACCOUNT),
        "discount" => Ty::Obj(DISCOUNT),
        "imputation_dates" => Ty::Obj(IMPUTATION),
        "transaction_reference" => Ty::Obj(TRANSACTION_REFERENCE),
        "invoice_line_sections" => Ty::List(&Ty::Obj(SECTION)),
        "emails" => Ty::List(&Ty::Str),
        "invoice_lines" => Ty::Lines,
        _ => Ty::Str,
    }
}

fn validate(body: &Value, schema: Schema) -> Result<(), Response> {
    object(body, schema, "#", "body")
}

/// Errors are the spec's 400 `{message, field, code}`, with openapi_parser-style messages
/// naming the value's JSON pointer (`#/invoice_lines/0/quantity`).
fn object(v: &Value, schema: Schema, path: &str, name: &str) -> Result<(), Response> {
    let Some(map) = v.as_object() else {
        return Err(type_error(v, "object", path, name));
    };
    let keys: Vec<(&str, bool, bool)> = schema
        .split_whitespace()
        .map(|k| {
            let key = k.trim_start_matches('*').trim_end_matches('?');
            (key, k.starts_with('*'), k.ends_with('?'))
        })
        .collect();
    if let Some(k) = map
        .keys()
        .find(|k| !keys.iter().any(|(key, ..)| *key == k.as_str()))
    {
        return Err(not_defined(k, path));
    }
    if let Some((key, ..)) = keys
        .iter()
        .find(|(key, required, _)| *required && !map.contains_key(*key))
    {
        return Err(bad_request(
            key,
            "NotExistRequiredKey",
            format!("required parameters {key} not exist in {path}"),
        ));
    }
    for (key, _, nullable) in &keys {
        match map.get(*key) {
            Some(Value::Null) if *nullable => {}
            Some(x) => check(x, ty_of(key), &format!("{path}/{key}"), key)?,
            None => {}
        }
    }
    Ok(())
}

fn check(v: &Value, ty: Ty, path: &str, name: &str) -> Result<(), Response> {
    let invalid = |code: &str, message: String| -> Result<(), Response> {
        Err(bad_request(name, code, message))
    };
    let not_enum = || {
        invalid(
            "NotEnumInclude",
            format!("{v} isn't part of the enum in {path}"),
        )
    };
    let text = v.as_str().unwrap_or_default();
    match ty {
        _ if v.is_null() => invalid("NotNullError", format!("{path} does not allow null values")),
        Ty::Int if !(v.is_i64() || v.is_u64()) => Err(type_error(v, "integer", path, name)),
        Ty::Num if !v.is_number() => Err(type_error(v, "number", path, name)),
        Ty::Bool if !v.is_boolean() => Err(type_error(v, "boolean", path, name)),
        Ty::Str | Ty::Date | Ty::DecimalStr | Ty::Enum(_) | Ty::Vat | Ty::Currency
            if !v.is_string() =>
        {
            Err(type_error(v, "string", path, name))
        }
        Ty::Date if !is_date(text) => invalid(
            "InvalidDateFormat",
            format!("{v} is not conformant with date format in {path}"),
        ),
        Ty::DecimalStr if Decimal::from_str(text).is_err() => invalid(
            "InvalidPattern",
            format!("{v} is not a decimal number in {path}"),
        ),
        Ty::Enum(values) if !values.contains(&text) => not_enum(),
        Ty::Vat if !VAT_RATES.split(", ").any(|c| c == text) => not_enum(),
        Ty::Currency if !CURRENCIES.split(", ").any(|c| c == text) => not_enum(),
        Ty::Obj(schema) => object(v, schema, path, name),
        Ty::List(item) => {
            let Some(xs) = v.as_array() else {
                return Err(type_error(v, "array", path, name));
            };
            for (i, x) in xs.iter().enumerate() {
                check(x, *item, &format!("{path}/{i}"), name)?;
            }
            Ok(())
        }
        Ty::Lines => {
            let Some(lines) = v.as_array() else {
                return Err(type_error(v, "array", path, name));
            };
            if lines.is_empty() {
                return invalid(
                    "LessThanMinItems",
                    format!("[] contains fewer than min items in {path}"),
                );
            }
            for (i, line) in lines.iter().enumerate() {
                let schema = if line.get("product_id").is_some() {
                    PRODUCT_LINE
                } else {
                    MANUAL_LINE
                };
                object(line, schema, &format!("{path}/{i}"), name)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Refuses `key` at the top level or on a line: the spec's draft-invoice branch has no
/// `transaction_reference` nor line `imputation_dates`, quote lines no `imputation_dates`.
fn no_key(b: &Value, key: &str) -> Result<(), Response> {
    if b.get(key).is_some() {
        return Err(not_defined(key, "#"));
    }
    let lines = b["invoice_lines"].as_array().into_iter().flatten();
    for (i, line) in lines.enumerate() {
        if line.get(key).is_some() {
            return Err(not_defined(key, &format!("#/invoice_lines/{i}")));
        }
    }
    Ok(())
}

fn not_defined(key: &str, path: &str) -> Response {
    bad_request(
        key,
        "NotExistPropertyDefinition",
        format!("properties {key} are not defined in {path}"),
    )
}

/// Names the value's class as Ruby does, like Pennylane's messages.
fn type_error(v: &Value, expected: &str, path: &str, name: &str) -> Response {
    let class = match v {
        Value::Null => "NilClass",
        Value::Bool(true) => "TrueClass",
        Value::Bool(false) => "FalseClass",
        Value::Number(n) if n.is_f64() => "Float",
        Value::Number(_) => "Integer",
        Value::String(_) => "String",
        Value::Array(_) => "Array",
        Value::Object(_) => "Hash",
    };
    bad_request(
        name,
        "ValidateError",
        format!("{v} class is {class} but it's not valid {expected} in {path}"),
    )
}

fn is_date(s: &str) -> bool {
    s.len() == 10 && NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

fn parse_body(body: &str) -> Result<Value, Response> {
    if body.trim().is_empty() {
        return Err(bad_request(
            "body",
            "NotExistRequiredKey",
            "request body is required".to_owned(),
        ));
    }
    serde_json::from_str(body)
        .map_err(|e| error(400, &format!("Invalid JSON in request body: {e}")))
}

fn path_id(raw: &str) -> Result<i64, Response> {
    raw.parse().map_err(|_| {
        bad_request(
            "id",
            "ValidateError",
            format!("{raw:?} class is String but it's not valid integer in id"),
        )
    })
}

// ------------------------------------------------------------------------------------------
// Small helpers

fn reply(status: u16, body: Value) -> Response {
    (StatusCode::from_u16(status).unwrap(), Json(body)).into_response()
}

/// `{"error": …, "status": …}`, the shape of 401, 404, 409, 422 (and some 400).
fn error(status: u16, message: &str) -> Response {
    reply(status, json!({ "error": message, "status": status }))
}

fn bad_request(field: &str, code: &str, message: String) -> Response {
    reply(
        400,
        json!({ "message": message, "field": field, "code": code }),
    )
}

fn not_found() -> Response {
    error(404, "Not Found")
}

/// A request path relative to the API's base (`/quotes`).
fn relative(path: &str) -> &str {
    path.strip_prefix(V2).unwrap_or(path)
}

fn find(items: &[Value], id: i64) -> Option<&Value> {
    items.iter().find(|v| v["id"] == id)
}

fn find_mut(items: &mut [Value], id: i64) -> Option<&mut Value> {
    items.iter_mut().find(|v| v["id"] == id)
}

fn with_reference(items: &[Value], r: &str) -> Vec<Value> {
    items
        .iter()
        .filter(|v| v["external_reference"] == r)
        .map(public)
        .collect()
}

/// The object without its private (`_`-prefixed) keys.
fn public(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('_'))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn without(mut v: Value, key: &str) -> Value {
    if let Some(m) = v.as_object_mut() {
        m.remove(key);
    }
    v
}

fn merge(into: &mut Value, more: Value) {
    if let (Some(a), Value::Object(b)) = (into.as_object_mut(), more) {
        a.extend(b);
    }
}

fn str_or(b: &Value, key: &str, default: &str) -> String {
    b.get(key)
        .and_then(Value::as_str)
        .unwrap_or(default)
        .to_owned()
}

fn or_null(b: &Value, key: &str) -> Value {
    b.get(key).cloned().unwrap_or(Value::Null)
}

fn opt_id(b: &Value, key: &str) -> Value {
    b.get(key)
        .and_then(Value::as_i64)
        .map_or(Value::Null, |id| json!({ "id": id }))
}

fn discount(b: &Value) -> Value {
    b.get("discount")
        .filter(|d| d.is_object())
        .cloned()
        .unwrap_or_else(|| json!({ "type": "relative", "value": "0" }))
}

fn customer_ref(id: i64) -> Value {
    json!({ "id": id, "url": format!("{BASE}/customers/{id}") })
}

fn link(path: &str) -> Value {
    json!({ "url": format!("{BASE}/{path}") })
}

fn pdf_url(kind: &str) -> String {
    format!(
        "https://app.pennylane.com/public/{kind}/pdf?encrypted_id={}",
        uuid::Uuid::new_v4().simple()
    )
}

/// `{BASE}/{path}?filter=[{"field":…,"operator":"eq","value":…}]`, URL-encoded;
/// `value` is JSON text (`42` or `"42"`).
fn filter_url(path: &str, field: &str, value: &str) -> String {
    let filter = format!(r#"[{{"field":"{field}","operator":"eq","value":{value}}}]"#);
    let encoded: String = filter
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("{BASE}/{path}?filter={encoded}")
}

fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_ts(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map_or_else(Utc::now, |t| t.with_timezone(&Utc))
}

fn day(at: DateTime<Utc>) -> String {
    at.date_naive().format("%Y-%m-%d").to_string()
}

// ------------------------------------------------------------------------------------------
// Seed data: a small French company's Pennylane, a few days of activity

fn seed(d: &mut Data, now: DateTime<Utc>) {
    let ago = |days: i64, minutes: i64| now - TimeDelta::days(days) + TimeDelta::minutes(minutes);
    let address = |street: &str, postal_code: &str, city: &str, country: &str| json!({ "address": street, "postal_code": postal_code, "city": city, "country_alpha2": country });
    let line = |label: &str, quantity: f64, unit: &str, price: &str, vat: &str| {
        json!({ "label": label, "quantity": quantity, "unit": unit,
                "raw_currency_unit_price": price, "vat_rate": vat })
    };

    let customers = [
        json!({
            "name": "Boulangerie Dupont & Fils SARL",
            "billing_address": address("12 rue des Martyrs", "75009", "Paris", "FR"),
            "phone": "01 42 68 53 00", "reg_no": "732829320", "vat_number": "FR44732829320",
            "recipient": "Jean Dupont", "notes": "<p>Client <b>prioritaire</b></p>",
            "emails": ["compta@boulangerie-dupont.fr", "jean.dupont@boulangerie-dupont.fr"],
            "external_reference": "3f9c2a71-5b8e-4d0c-9a6f-1e2d3c4b5a69",
        }),
        json!({
            "name": "Société Générale d'Électricité",
            "billing_address": address("3 allée de l'Étang", "69003", "Lyon", "FR"),
            "phone": "+33 6 12 34 56 78", "reg_no": "812345676", "vat_number": "FR19812345676",
            "payment_conditions": "45_days", "reference": "SGE-2023-017",
            "emails": ["factures@sge-lyon.fr"], "external_reference": "legacy-erp-0042",
        }),
        json!({
            "name": "Château Lafleur-Bégaud SCEA",
            "billing_address": address("Lieu-dit « Les Graves »", "33500", "Pomerol", "FR"),
            "phone": "05 57 51 23 45", "reg_no": "443061841", "vat_number": "FR64443061841",
            "recipient": "Mme Hélène Bégaud", "payment_conditions": "30_days_end_of_month",
            "billing_iban": "FR7630006000011234567890189",
            "notes": "Livraison le matin uniquement.\nCode portail : 1234", "emails": [],
            "external_reference": "8d1e4b2c-7a3f-4c9e-b5d6-0f1a2b3c4d5e",
        }),
        json!({
            "name": "L'Atelier Numérique SAS",
            "billing_address": address("45 bd Haussmann, Bât. B, 3ᵉ étage", "75008", "Paris", "FR"),
            "delivery_address": address("2 quai de la Fosse", "44000", "Nantes", "FR"),
            "phone": "+33 (0)1 53 00 00 00", "reg_no": "523456788", "vat_number": "FR31523456788",
            "payment_conditions": "upon_receipt", "emails": ["admin@atelier-numerique.fr"],
            "notes": "<ul><li>Relance par e-mail</li><li>Pas d'appel avant 10&nbsp;h</li></ul>",
            "external_reference": "c2b7e9f0-1d4a-4e6b-8c3d-5a7f9e1b2c4d",
        }),
        json!({
            "name": "Garage Müller & Söhne GmbH",
            "billing_address": address("Friedrichstraße 123", "10117", "Berlin", "DE"),
            "phone": "+49 30 12345678", "vat_number": "DE123456789", "billing_language": "de_DE",
            "emails": ["buchhaltung@mueller-soehne.de"],
            "external_reference": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
        }),
        json!({
            "first_name": "Élodie", "last_name": "Lefèvre-Nguyễn",
            "billing_address": address("8 impasse des Lilas", "13006", "Marseille", "FR"),
            "phone": "06 98 76 54 32", "emails": ["elodie.lefevre@exemple.fr"],
            "payment_conditions": "upon_receipt",
            "external_reference": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
        }),
    ];
    let mut ids = Vec::new();
    for (i, body) in customers.iter().enumerate() {
        let kind = if body.get("name").is_some() {
            "company"
        } else {
            "individual"
        };
        let c = d
            .create_customer(kind, body, ago(9, 30 * i as i64))
            .expect("seed customer");
        ids.push(c["id"].as_i64().unwrap());
    }
    let &[dupont, electricite, chateau, _atelier, muller, elodie] = ids.as_slice() else {
        unreachable!("six seed customers")
    };

    let quotes = [
        json!({
            "customer_id": dupont, "date": day(ago(5, 0)), "deadline": day(ago(-25, 0)),
            "pdf_invoice_subject": "Abonnement & formation",
            "invoice_lines": [
                line("Abonnement Tentabo Pro — 12 mois", 1.0, "piece", "1200.00", "FR_200"),
                line("Formation sur site (½ journée × 2)", 2.0, "day", "650.00", "FR_200"),
            ],
            "external_reference": "0b8f1c2d-3e4a-4b5c-9d6e-7f8a9b0c1d2e",
        }),
        json!({
            "customer_id": electricite, "date": day(ago(4, 0)), "deadline": day(ago(-26, 0)),
            "pdf_invoice_subject": "Licences « Entreprise » et guides",
            "special_mention": "Offre valable 30 jours.",
            "invoice_lines": [
                line("Licence annuelle « Entreprise »", 3.0, "piece", "499.90", "FR_200"),
                line("Guide pratique (livre)", 10.0, "piece", "24.50", "FR_55"),
                line("Frais de port", 1.0, "piece", "12.5", "FR_200"),
            ],
            "external_reference": "4c5d6e7f-8a9b-4c0d-a1e2-f3a4b5c6d7e8",
        }),
        json!({
            "customer_id": muller, "date": day(ago(3, 0)), "deadline": day(ago(-27, 0)),
            "language": "de_DE", "pdf_invoice_subject": "Jahreslizenz",
            "invoice_lines": [line("Jahreslizenz Tentabo (Werkstatt)", 1.5, "piece", "800.00", "DE_190")],
            "external_reference": "9e0f1a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b",
        }),
    ];
    let mut ids = Vec::new();
    for (i, body) in quotes.iter().enumerate() {
        let lines = manual_lines(body).expect("manual lines");
        let q = d
            .create_quote(body, lines, ago(5 - i as i64, 0))
            .expect("seed quote");
        ids.push(q["id"].as_i64().unwrap());
    }
    let &[dupont_quote, _, muller_quote] = ids.as_slice() else {
        unreachable!("three seed quotes")
    };
    let accepted = find_mut(&mut d.quotes, muller_quote).unwrap();
    accepted["status"] = json!("accepted");
    accepted["updated_at"] = json!(ts(ago(2, 30)));

    // Paid: invoiced from the first quote, paid two days later.
    let from_quote = json!({ "quote_id": dupont_quote, "draft": false });
    let paid = d
        .invoice_from_quote(&from_quote, ago(4, 60))
        .expect("seed invoice");
    // Late: dated weeks ago, entered a few days ago, its deadline passed.
    let late = json!({
        "customer_id": chateau, "date": day(ago(40, 0)), "deadline": day(ago(10, 0)),
        "pdf_invoice_subject": "Audit de cave — millésime 2024",
        "invoice_lines": [
            line("Audit de cave", 1.0, "piece", "2400.00", "FR_200"),
            line("Déplacement (Bordeaux ↔ Pomerol)", 64.0, "km", "0.60", "FR_200"),
        ],
        "external_reference": "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d",
    });
    let lines = manual_lines(&late).expect("manual lines");
    let late = d
        .create_invoice(&late, lines, false, None, ago(3, 30))
        .expect("seed invoice");
    d.touch_invoice(paid["id"].as_i64().unwrap(), ago(2, 0), |inv| {
        set_payment(inv, "paid", true, "0.00");
    });
    d.touch_invoice(late["id"].as_i64().unwrap(), ago(1, 0), |inv| {
        let remaining = inv["currency_amount"].as_str().unwrap_or("0.00").to_owned();
        set_payment(inv, "late", false, &remaining);
    });
    // Draft: not finalized yet.
    let draft = json!({
        "customer_id": elodie, "date": day(ago(1, 0)), "deadline": day(ago(1, 0)), "draft": true,
        "pdf_invoice_subject": "Cours particuliers",
        "invoice_lines": [
            line("Cours particulier de comptabilité", 4.0, "hour", "45.00", "FR_200"),
            line("Support pédagogique", 1.0, "piece", "15.00", "exempt"),
        ],
        "external_reference": "2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a",
    });
    let lines = manual_lines(&draft).expect("manual lines");
    d.create_invoice(&draft, lines, true, None, ago(1, 120))
        .expect("seed invoice");
}
