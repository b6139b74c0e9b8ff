//! Pennylane (Company API v2, `https://app.pennylane.com/api/external/v2`): customers,
//! quotes when an order is sent, customer invoices when it is fulfilled, and the
//! invoices' status read back (changelogs + `GET /customer_invoices/{id}`).
//!
//! Protocol facts this client relies on (from Pennylane's published OpenAPI document,
//! `../shared/specs/pennylane/`): a bearer token; request bodies refuse unknown keys;
//! dates are `YYYY-MM-DD`; prices are decimal *strings* and quantities JSON numbers;
//! lists page with `cursor`/`limit` and answer `{items, has_more, next_cursor}`;
//! `filter` is a JSON array of `{field, operator, value}`; errors are
//! `{"error": …, "status": …}`; a 429 carries `Retry-After`.
//!
//! Idempotency: every object carries our reference in `external_reference`
//! (`tentabo-<kind>-<uuid>`), and each create first looks the reference up — a job that
//! timed out after Pennylane accepted the call finds the object on its retry instead of
//! making a second one. Customers and invoices filter on it; quotes cannot (their
//! `external_reference` is not filterable), so the customer's quotes are scanned.

use chrono::{Duration as Days, NaiveDate, Utc};
use reqwest::Method;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::time::Duration;

use super::registry::Settings;
use super::{
    BillingCustomer, BillingProvider, ContractSnapshot, ExternalRef, OrderSnapshot, ProviderError,
};
use crate::error::FieldErrors;
use crate::outbound::{
    BreakerSettings, Endpoint, Outbound, OutboundError, Rate, Request, Response,
};
use crate::retry::RetryPolicy;

pub const NAME: &str = "pennylane";
/// Pages of a customer's quotes scanned for our reference (100 each) before giving up.
const MAX_QUOTE_PAGES: u32 = 100;

pub const DEFAULT_BASE_URL: &str = "https://app.pennylane.com/api/external/v2";

/// Pennylane's VAT rate codes (the `vat_rate` enum of invoice and quote lines).
pub const VAT_RATES: &[&str] = &[
    "FR_1_05",
    "FR_1_75",
    "FR_09",
    "FR_21",
    "FR_40",
    "FR_50",
    "FR_55",
    "FR_60",
    "FR_65",
    "FR_85",
    "FR_92",
    "FR_100",
    "FR_130",
    "FR_15_385",
    "FR_160",
    "FR_196",
    "FR_200",
    "AD_10",
    "AD_45",
    "AD_95",
    "AT_100",
    "AT_130",
    "AT_190",
    "AT_200",
    "BE_60",
    "BE_120",
    "BE_210",
    "BG_90",
    "BG_200",
    "CH_25",
    "CH_37",
    "CH_77",
    "CH_26",
    "CH_38",
    "CH_81",
    "CY_30",
    "CY_50",
    "CY_80",
    "CY_90",
    "CY_190",
    "CZ_100",
    "CZ_120",
    "CZ_150",
    "CZ_210",
    "DE_70",
    "DE_190",
    "DK_250",
    "EE_90",
    "EE_200",
    "EE_220",
    "EE_240",
    "ES_40",
    "ES_70",
    "ES_100",
    "ES_210",
    "FI_100",
    "FI_135",
    "FI_140",
    "FI_240",
    "FI_255",
    "GB_50",
    "GB_200",
    "GR_60",
    "GR_130",
    "GR_170",
    "GR_240",
    "GR_40",
    "HR_50",
    "HR_130",
    "HR_250",
    "HU_50",
    "HU_180",
    "HU_270",
    "IE_48",
    "IE_90",
    "IE_135",
    "IE_210",
    "IE_230",
    "IT_40",
    "IT_50",
    "IT_100",
    "IT_220",
    "LT_50",
    "LT_90",
    "LT_120",
    "LT_210",
    "LU_30",
    "LU_70",
    "LU_80",
    "LU_120",
    "LU_130",
    "LU_140",
    "LU_160",
    "LU_170",
    "LV_50",
    "LV_120",
    "LV_210",
    "MC_09",
    "MC_21",
    "MC_55",
    "MC_85",
    "MC_100",
    "MC_200",
    "MT_50",
    "MT_70",
    "MT_120",
    "MT_180",
    "MU_150",
    "NL_90",
    "NL_210",
    "PL_50",
    "PL_80",
    "PL_230",
    "PT_60",
    "PT_130",
    "PT_160",
    "PT_180",
    "PT_220",
    "PT_230",
    "RO_50",
    "RO_90",
    "RO_110",
    "RO_190",
    "RO_210",
    "SE_60",
    "SE_120",
    "SE_250",
    "SI_50",
    "SI_95",
    "SI_220",
    "SK_50",
    "SK_100",
    "SK_190",
    "SK_200",
    "SK_230",
    "NO_120",
    "NO_150",
    "NO_250",
    "exempt",
    "intracom_21",
    "intracom_55",
    "intracom_85",
    "intracom_100",
    "crossborder",
    "extracom",
    "mixed",
];

fn vat_rate_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        "enum": VAT_RATES,
        "default": "FR_200",
        "description": "Pennylane VAT rate code applied to every line (e.g. FR_200 = 20 %)",
    })
}

/// Pennylane's settings (the API token is a credential, stored apart).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PennylaneSettings {
    /// API base URL.
    #[serde(default = "default_base_url")]
    #[schemars(url)]
    pub base_url: String,
    #[serde(default = "default_vat_rate")]
    #[schemars(schema_with = "vat_rate_schema")]
    pub default_vat_rate: String,
    /// Finalize invoices when they are created (otherwise they stay drafts in Pennylane).
    #[serde(default = "yes")]
    pub finalize_invoices: bool,
    /// Days a quote stays valid (its deadline).
    #[serde(default = "thirty")]
    #[schemars(range(min = 1, max = 365))]
    pub quote_validity_days: u32,
    /// Days until an invoice is due.
    #[serde(default = "thirty")]
    #[schemars(range(min = 0, max = 365))]
    pub payment_terms_days: u32,
    /// Country (ISO 3166 alpha-2) of customers created in Pennylane.
    #[serde(default = "default_country")]
    #[schemars(length(min = 2, max = 2))]
    pub customer_country: String,
    /// Seconds before a call is abandoned.
    #[serde(default = "twenty")]
    #[schemars(range(min = 1, max = 120))]
    pub timeout_seconds: u32,
    /// Attempts per call (429, 5xx and timeouts are retried).
    #[serde(default = "four")]
    #[schemars(range(min = 1, max = 10))]
    pub max_attempts: u32,
    /// Calls per second, shared by every worker (Pennylane allows 25 per 5 s per token).
    #[serde(default = "four_per_second")]
    #[schemars(range(min = 0.1, max = 1000.0))]
    pub rate_limit_per_second: f64,
    /// Consecutive failures that open the circuit breaker.
    #[serde(default = "five")]
    #[schemars(range(min = 1, max = 100))]
    pub breaker_threshold: u32,
    /// Seconds the breaker stays open before a probe call.
    #[serde(default = "thirty")]
    #[schemars(range(min = 1, max = 3600))]
    pub breaker_cool_down_seconds: u32,
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_owned()
}
fn default_vat_rate() -> String {
    "FR_200".to_owned()
}
fn default_country() -> String {
    "FR".to_owned()
}
fn yes() -> bool {
    true
}
fn thirty() -> u32 {
    30
}
fn twenty() -> u32 {
    20
}
fn four() -> u32 {
    4
}
fn five() -> u32 {
    5
}
fn four_per_second() -> f64 {
    4.0
}

impl Settings for PennylaneSettings {
    fn validate(&self, errors: &mut FieldErrors) {
        if isocountry::CountryCode::for_alpha2(&self.customer_country).is_err() {
            errors.add("configuration.customer_country", "invalid_country");
        }
    }
}

impl PennylaneSettings {
    pub fn endpoint(&self, retry: RetryPolicy) -> Endpoint {
        Endpoint {
            provider: NAME.to_owned(),
            base_url: self.base_url.clone(),
            timeout: Duration::from_secs(u64::from(self.timeout_seconds)),
            retry,
            max_attempts: self.max_attempts,
            rate: Some(Rate {
                per_second: self.rate_limit_per_second,
                burst: 1,
            }),
            pacing: None,
            breaker: BreakerSettings {
                threshold: self.breaker_threshold,
                cool_down: Duration::from_secs(u64::from(self.breaker_cool_down_seconds)),
            },
        }
    }
}

/// A Pennylane invoice as Tentabo reads it back.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Invoice {
    pub id: i64,
    pub invoice_number: Option<String>,
    pub external_reference: Option<String>,
    pub status: Option<String>,
    pub paid: Option<bool>,
    pub draft: Option<bool>,
    pub currency: Option<String>,
    pub currency_amount: Option<String>,
    pub remaining_amount_with_tax: Option<String>,
    pub date: Option<String>,
    pub deadline: Option<String>,
}

/// An object carrying our reference.
trait Referenced: serde::de::DeserializeOwned {
    fn reference(&self) -> Option<&str>;
}

impl Referenced for Customer {
    fn reference(&self) -> Option<&str> {
        self.external_reference.as_deref()
    }
}

impl Referenced for Invoice {
    fn reference(&self) -> Option<&str> {
        self.external_reference.as_deref()
    }
}

#[derive(Debug, Clone, Deserialize)]
struct Quote {
    id: i64,
    external_reference: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Customer {
    id: i64,
    external_reference: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawPage<'a> {
    #[serde(borrow)]
    items: Vec<&'a RawValue>,
    #[serde(default)]
    has_more: bool,
    next_cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Id {
    id: i64,
}

#[derive(Debug, Deserialize)]
struct Page<T> {
    items: Vec<T>,
    #[serde(default)]
    has_more: bool,
    next_cursor: Option<String>,
}

/// One changelog entry: an object changed (no payload; read the object).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Change {
    pub id: i64,
    pub operation: String,
    pub processed_at: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChangePage {
    pub items: Vec<Change>,
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: Option<String>,
    message: Option<String>,
}

pub struct Pennylane {
    outbound: Outbound,
    endpoint: Endpoint,
    token: SecretString,
    settings: PennylaneSettings,
}

impl std::fmt::Debug for Pennylane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pennylane")
            .field("base_url", &self.settings.base_url)
            .finish_non_exhaustive()
    }
}

/// The references Tentabo writes in `external_reference`.
pub fn customer_reference(c: &BillingCustomer) -> String {
    format!("tentabo-{}-{}", c.kind, c.id)
}
pub fn quote_reference(order: &OrderSnapshot) -> String {
    format!("tentabo-order-{}", order.order_id)
}
pub fn invoice_reference(contract: &ContractSnapshot) -> String {
    format!("tentabo-contract-{}", contract.contract_id)
}

fn filter(field: &str, operator: &str, value: Value) -> String {
    json!([{ "field": field, "operator": operator, "value": value }]).to_string()
}

fn transient(e: OutboundError) -> ProviderError {
    ProviderError::Transient(e.to_string())
}

/// A refusal's reason, from Pennylane's error body (`error` or `message`).
fn refusal(what: &str, res: &Response) -> ProviderError {
    let reason = res
        .json::<ErrorBody>()
        .ok()
        .and_then(|b| b.error.or(b.message))
        .unwrap_or_else(|| res.snippet(200));
    let reason: String = reason.chars().take(300).collect();
    match res.status {
        401 => ProviderError::Permanent(format!("Pennylane refused the API token ({reason})")),
        403 => ProviderError::Permanent(format!(
            "the API token may not {what} (missing scope: {reason})"
        )),
        s => ProviderError::Permanent(format!("Pennylane refused to {what}: HTTP {s}: {reason}")),
    }
}

fn malformed(what: &str, e: serde_json::Error) -> ProviderError {
    ProviderError::Transient(format!("malformed Pennylane answer to {what}: {e}"))
}

/// A decimal as Pennylane's price strings (`"100.00"`).
fn amount(d: Decimal) -> String {
    let mut d = d.round_dp(6).normalize();
    if d.scale() < 2 {
        d.rescale(2);
    }
    d.to_string()
}

impl Pennylane {
    pub fn new(
        outbound: Outbound,
        settings: PennylaneSettings,
        token: SecretString,
        retry: RetryPolicy,
    ) -> Pennylane {
        Pennylane {
            endpoint: settings.endpoint(retry),
            outbound,
            token,
            settings,
        }
    }

    async fn call(&self, req: Request) -> Result<Response, ProviderError> {
        self.outbound
            .send(&self.endpoint, &req.bearer(&self.token))
            .await
            .map_err(transient)
    }

    /// The connection test: `GET /me` (any valid token may call it).
    pub async fn me(&self) -> Result<Value, ProviderError> {
        let res = self.call(Request::get("/me")).await?;
        if !res.is_success() {
            return Err(refusal("read its own account", &res));
        }
        res.json().map_err(|e| malformed("/me", e))
    }

    /// The customer with our reference, created when Pennylane has none.
    pub async fn customer(&self, c: &BillingCustomer) -> Result<i64, ProviderError> {
        let reference = customer_reference(c);
        if let Some(id) = self.find_customer(&reference).await? {
            return Ok(id);
        }
        let body = json!({
            "name": c.name,
            "billing_address": {
                "address": "",
                "postal_code": "",
                "city": "",
                "country_alpha2": self.settings.customer_country,
            },
            "external_reference": reference,
        });
        let res = self
            .call(Request::new(Method::POST, "/company_customers", "/company_customers").json(body))
            .await?;
        match res.status {
            201 | 200 => Ok(res
                .json::<Customer>()
                .map_err(|e| malformed("a customer creation", e))?
                .id),
            // Created meanwhile (a concurrent job): read it.
            409 => self.find_customer(&reference).await?.ok_or_else(|| {
                ProviderError::Transient("customer reference taken but not found".into())
            }),
            _ => Err(refusal("create a customer", &res)),
        }
    }

    async fn find_customer(&self, reference: &str) -> Result<Option<i64>, ProviderError> {
        let found: Option<Customer> = self
            .find_by_reference("/customers", "list customers", reference)
            .await?;
        Ok(found.map(|c| c.id))
    }

    /// The object of a list whose `external_reference` filter finds ours. The filter
    /// should leave only ours; a server that ignores it must not make us bill someone
    /// else, so the reference is checked again.
    async fn find_by_reference<T: Referenced>(
        &self,
        path: &'static str,
        what: &str,
        reference: &str,
    ) -> Result<Option<T>, ProviderError> {
        let res = self
            .call(
                Request::get(path)
                    .query(
                        "filter",
                        filter("external_reference", "eq", json!(reference)),
                    )
                    .query("limit", "1"),
            )
            .await?;
        if !res.is_success() {
            return Err(refusal(what, &res));
        }
        let page: Page<T> = res.json().map_err(|e| malformed(path, e))?;
        Ok(page
            .items
            .into_iter()
            .find(|o| o.reference() == Some(reference)))
    }

    /// The customer's quote with our reference (quotes do not filter on it: scan).
    async fn find_quote(
        &self,
        customer_id: i64,
        reference: &str,
    ) -> Result<Option<i64>, ProviderError> {
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut req = Request::get("/quotes")
                .query("filter", filter("customer_id", "eq", json!(customer_id)))
                .query("limit", "100");
            if let Some(c) = &cursor {
                req = req.query("cursor", c.clone());
            }
            let res = self.call(req).await?;
            if !res.is_success() {
                return Err(refusal("list quotes", &res));
            }
            let page: Page<Quote> = res.json().map_err(|e| malformed("/quotes", e))?;
            if let Some(q) = page
                .items
                .iter()
                .find(|q| q.external_reference.as_deref() == Some(reference))
            {
                return Ok(Some(q.id));
            }
            match page.next_cursor {
                // A cursor that does not move would page forever.
                Some(next) if page.has_more && cursor.as_deref() != Some(next.as_str()) => {
                    pages += 1;
                    if pages >= MAX_QUOTE_PAGES {
                        return Err(ProviderError::Transient(format!(
                            "more than {MAX_QUOTE_PAGES} pages of quotes for customer {customer_id}"
                        )));
                    }
                    cursor = Some(next);
                }
                _ => return Ok(None),
            }
        }
    }

    async fn find_invoice(&self, reference: &str) -> Result<Option<Invoice>, ProviderError> {
        self.find_by_reference("/customer_invoices", "list invoices", reference)
            .await
    }

    /// Finalizes a draft invoice (`PUT /customer_invoices/{id}/finalize`).
    pub async fn finalize(&self, id: i64) -> Result<(), ProviderError> {
        let res = self
            .call(Request::new(
                Method::PUT,
                "/customer_invoices/{id}/finalize",
                format!("/customer_invoices/{id}/finalize"),
            ))
            .await?;
        if !res.is_success() {
            return Err(refusal("finalize an invoice", &res));
        }
        Ok(())
    }

    /// One invoice as Pennylane has it now.
    pub async fn invoice(&self, id: i64) -> Result<Option<Invoice>, ProviderError> {
        self.invoice_raw(id)
            .await?
            .map(|raw| serde_json::from_str(raw.get()).map_err(|e| malformed("an invoice", e)))
            .transpose()
    }

    /// A page of every invoice (a full run), each kept as Pennylane sent it, with the
    /// next page's cursor.
    pub async fn invoices_page(
        &self,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<(String, Box<RawValue>)>, Option<String>), ProviderError> {
        let mut req = Request::get("/customer_invoices")
            .query("limit", limit.to_string())
            .query("sort", "id");
        if let Some(c) = cursor {
            req = req.query("cursor", c);
        }
        let res = self.call(req).await?;
        if !res.is_success() {
            return Err(refusal("list invoices", &res));
        }
        let page: RawPage<'_> =
            serde_json::from_slice(&res.body).map_err(|e| malformed("/customer_invoices", e))?;
        let mut items = Vec::with_capacity(page.items.len());
        for item in page.items {
            let id: Id =
                serde_json::from_str(item.get()).map_err(|e| malformed("an invoice", e))?;
            items.push((id.id.to_string(), item.to_owned()));
        }
        let next = page.next_cursor.filter(|_| page.has_more);
        Ok((items, next))
    }

    /// One invoice as Pennylane sent it (`None`: gone).
    pub async fn invoice_raw(&self, id: i64) -> Result<Option<Box<RawValue>>, ProviderError> {
        let res = self
            .call(Request::new(
                Method::GET,
                "/customer_invoices/{id}",
                format!("/customer_invoices/{id}"),
            ))
            .await?;
        match res.status {
            404 => Ok(None),
            s if (200..300).contains(&s) => serde_json::from_slice::<Box<RawValue>>(&res.body)
                .map(Some)
                .map_err(|e| malformed("an invoice", e)),
            _ => Err(refusal("read an invoice", &res)),
        }
    }

    /// A page of the invoices' changelog: from `cursor`, or from `since` on a first call.
    pub async fn invoice_changes(
        &self,
        cursor: Option<&str>,
        since: Option<chrono::DateTime<Utc>>,
        limit: u32,
    ) -> Result<ChangePage, ProviderError> {
        let mut req =
            Request::get("/changelogs/customer_invoices").query("limit", limit.to_string());
        match (cursor, since) {
            (Some(c), _) => req = req.query("cursor", c),
            (None, Some(t)) => {
                req = req.query(
                    "start_date",
                    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                )
            }
            (None, None) => {}
        }
        let res = self.call(req).await?;
        if !res.is_success() {
            return Err(refusal("read the invoices' changelog", &res));
        }
        let page: Page<Change> = res.json().map_err(|e| malformed("a changelog", e))?;
        Ok(ChangePage {
            items: page.items,
            next_cursor: page.next_cursor,
            has_more: page.has_more,
        })
    }

    fn lines(&self, order: &OrderSnapshot) -> Vec<Value> {
        order
            .lines
            .iter()
            .map(|l| {
                // Quantity × unit price must give the priced total to the cent: when the
                // tiers make the unit price inexact, the line is sent as one unit.
                let quantity = Decimal::from(l.quantity);
                let unit = (l.total / quantity).round_dp(6);
                let (quantity, unit, label) = if unit * quantity == l.total {
                    (l.quantity, unit, l.label.clone())
                } else {
                    (1, l.total, format!("{} × {}", l.label, l.quantity))
                };
                json!({
                    "label": label,
                    "quantity": quantity,
                    "unit": "piece",
                    "raw_currency_unit_price": amount(unit),
                    "vat_rate": self.settings.default_vat_rate,
                })
            })
            .collect()
    }

    fn today() -> NaiveDate {
        Utc::now().date_naive()
    }
}

#[async_trait::async_trait]
impl BillingProvider for Pennylane {
    fn name(&self) -> &str {
        NAME
    }

    async fn check(&self) -> Result<(), ProviderError> {
        self.me().await.map(|_| ())
    }

    async fn create_quote(
        &self,
        order: &OrderSnapshot,
        _idempotency_key: &str,
    ) -> Result<ExternalRef, ProviderError> {
        let customer_id = self.customer(&order.customer).await?;
        let reference = quote_reference(order);
        let found = self.find_quote(customer_id, &reference).await?;
        let id = match found {
            Some(id) => id,
            None => {
                let today = Self::today();
                let deadline = today + Days::days(i64::from(self.settings.quote_validity_days));
                let body = json!({
                    "customer_id": customer_id,
                    "date": today.to_string(),
                    "deadline": deadline.to_string(),
                    "currency": order.currency,
                    "pdf_invoice_subject": format!("Order {}", order.reference),
                    "external_reference": reference,
                    "invoice_lines": self.lines(order),
                });
                let res = self
                    .call(Request::new(Method::POST, "/quotes", "/quotes").json(body))
                    .await?;
                if !res.is_success() {
                    return Err(refusal("create a quote", &res));
                }
                res.json::<Quote>()
                    .map_err(|e| malformed("a quote creation", e))?
                    .id
            }
        };
        Ok(ExternalRef {
            provider: NAME.to_owned(),
            external_id: id.to_string(),
        })
    }

    async fn create_invoice(
        &self,
        contract: &ContractSnapshot,
        _idempotency_key: &str,
    ) -> Result<ExternalRef, ProviderError> {
        let reference = invoice_reference(contract);
        let draft = !self.settings.finalize_invoices;
        if let Some(existing) = self.find_invoice(&reference).await? {
            // A draft left by an earlier attempt is finalized when the settings say so.
            if existing.draft == Some(true) && !draft {
                self.finalize(existing.id).await?;
            }
            return Ok(ExternalRef {
                provider: NAME.to_owned(),
                external_id: existing.id.to_string(),
            });
        }
        let quote_id = contract
            .quote
            .as_ref()
            .filter(|q| q.provider == NAME)
            .and_then(|q| q.external_id.parse::<i64>().ok());
        let req = match quote_id {
            Some(quote_id) => Request::new(
                Method::POST,
                "/customer_invoices/create_from_quote",
                "/customer_invoices/create_from_quote",
            )
            .json(json!({
                "quote_id": quote_id,
                "draft": draft,
                "external_reference": reference,
            })),
            None => {
                let customer_id = self.customer(&contract.order.customer).await?;
                let today = Self::today();
                let deadline = today + Days::days(i64::from(self.settings.payment_terms_days));
                let mut body = json!({
                    "customer_id": customer_id,
                    "date": today.to_string(),
                    "deadline": deadline.to_string(),
                    "currency": contract.order.currency,
                    "pdf_invoice_subject": format!("Order {}", contract.order.reference),
                    "external_reference": reference,
                    "invoice_lines": self.lines(&contract.order),
                });
                if draft {
                    body["draft"] = json!(true);
                }
                Request::new(Method::POST, "/customer_invoices", "/customer_invoices").json(body)
            }
        };
        let res = self.call(req).await?;
        if !res.is_success() {
            return Err(refusal("create an invoice", &res));
        }
        let invoice: Invoice = res
            .json()
            .map_err(|e| malformed("an invoice creation", e))?;
        Ok(ExternalRef {
            provider: NAME.to_owned(),
            external_id: invoice.id.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_plain_decimal_strings() {
        assert_eq!(amount(Decimal::new(10000, 2)), "100.00");
        assert_eq!(amount(Decimal::new(5, 0)), "5.00");
        assert_eq!(amount(Decimal::new(3333333333, 8)), "33.333333");
    }

    #[test]
    fn a_filter_is_a_json_array_of_conditions() {
        assert_eq!(
            filter("external_reference", "eq", json!("x")),
            r#"[{"field":"external_reference","operator":"eq","value":"x"}]"#
        );
    }
}
