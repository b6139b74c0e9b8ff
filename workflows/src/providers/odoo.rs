//! The Odoo (v16+) external JSON-RPC client: `POST {url}/jsonrpc` with service `common`
//! (`login`) and service `object` (`execute_kw`: `search_read`, `fields_get`, ...).
//!
//! Facts of the protocol this client relies on: datetimes are `"YYYY-MM-DD HH:MM:SS"`
//! strings in UTC; an empty relational or text field is `false`; a many2one is
//! `[id, "display name"]`; a wrong password makes `login` return `false`, and
//! `execute_kw` then fails with an error whose `data.name` is
//! `odoo.exceptions.AccessDenied`.
//!
//! Records are returned as the raw JSON text Odoo sent (`RawValue`), so the raw zone
//! can keep them byte-exact. Paging is by keyset on (`write_date`, `id`), never offset.
//! Every call goes through [`OdooClient::call`], which goes through the outbound layer
//! (`crate::outbound`): a timeout, retries with the platform's backoff on 429
//! (honouring `Retry-After`), 5xx, timeouts and malformed answers, the breaker, the
//! shared rate limit and the call log; an Odoo-level error (access denied, a bad
//! domain) is not retried.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::outbound::{
    BreakerSettings, Endpoint, Outbound, OutboundError, Rate, Request, Response, Verdict,
};
use crate::retry::RetryPolicy;

/// Odoo's datetime format (UTC, no zone marker).
pub const DATETIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// The value of `N` ASCII digits.
fn digits<const N: usize>(b: &[u8]) -> Option<u32> {
    let b = b.get(..N)?;
    b.iter().try_fold(0u32, |n, d| {
        d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
    })
}

/// An Odoo date, `YYYY-MM-DD`. The fixed layout Odoo always sends is read directly
/// (chrono's format-driven parser is a measurable share of the mapper); anything else
/// goes through chrono, so what is accepted does not change.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let fixed = || {
        (b.len() == 10 && b[4] == b'-' && b[7] == b'-').then_some(())?;
        let y = i32::try_from(digits::<4>(b)?).ok()?;
        NaiveDate::from_ymd_opt(y, digits::<2>(&b[5..])?, digits::<2>(&b[8..])?)
    };
    fixed().or_else(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}

/// An Odoo datetime, `YYYY-MM-DD HH:MM:SS` in UTC (same fast path as [`parse_date`]).
pub fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    let b = s.as_bytes();
    let fixed = || {
        (b.len() == 19 && b[10] == b' ' && b[13] == b':' && b[16] == b':').then_some(())?;
        let date = parse_date(s.get(..10)?)?;
        date.and_hms_opt(
            digits::<2>(&b[11..])?,
            digits::<2>(&b[14..])?,
            digits::<2>(&b[17..])?,
        )
    };
    fixed().or_else(|| NaiveDateTime::parse_from_str(s, DATETIME_FORMAT).ok())
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OdooError {
    /// Wrong login or password (`login` answered `false`, or `AccessDenied`).
    #[error("Odoo refused the credentials")]
    AccessDenied,
    /// Odoo answered with an error of its own (`data.name`, `message`).
    #[error("Odoo error {name}: {message}")]
    Server { name: String, message: String },
    /// Transport failures that outlived the retries (status, timeout, bad JSON).
    #[error("Odoo unreachable after {attempts} attempts: {last}")]
    Unavailable { attempts: u32, last: String },
}

/// Where a keyset page starts: strictly after (`write_date`, `id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Keyset {
    pub write_date: Option<DateTime<Utc>>,
    pub id: i64,
}

/// One record as Odoo sent it, with the keys the pager needs.
#[derive(Debug, Clone)]
pub struct OdooRecord {
    pub id: i64,
    pub write_date: DateTime<Utc>,
    pub raw: Box<RawValue>,
}

/// Odoo's settings as an admin configures them (the password is a credential).
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OdooSettings {
    /// The instance's address (`https://mycompany.odoo.com`).
    #[schemars(url)]
    pub url: String,
    /// The database name.
    #[schemars(length(min = 1, max = 200))]
    pub database: String,
    /// The login (an email, usually) of the user Tentabo reads as.
    #[schemars(length(min = 1, max = 200))]
    pub login: String,
    /// Seconds before a call is abandoned.
    #[serde(default = "default_timeout")]
    #[schemars(range(min = 1, max = 600))]
    pub timeout_seconds: u32,
    /// Attempts per call (429, 5xx and timeouts are retried).
    #[serde(default = "default_attempts")]
    #[schemars(range(min = 1, max = 10))]
    pub max_attempts: u32,
    /// Calls per second shared by every worker (none: unlimited).
    #[serde(default)]
    #[schemars(range(min = 0.1, max = 1000.0))]
    pub rate_limit_per_second: Option<f64>,
}

fn default_timeout() -> u32 {
    30
}
fn default_attempts() -> u32 {
    5
}

impl super::registry::Settings for OdooSettings {}

#[derive(Debug, Clone)]
pub struct OdooConfig {
    pub url: String,
    pub database: String,
    pub login: String,
    pub password: SecretString,
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// Attempts per call before giving up.
    pub max_attempts: u32,
    /// Calls per second shared by every process (none: unlimited).
    pub rate_limit_per_second: Option<f64>,
}

impl OdooConfig {
    pub fn from_settings(
        s: &OdooSettings,
        password: SecretString,
        retry: RetryPolicy,
    ) -> OdooConfig {
        OdooConfig {
            url: s.url.clone(),
            database: s.database.clone(),
            login: s.login.clone(),
            password,
            timeout: Duration::from_secs(u64::from(s.timeout_seconds)),
            retry,
            max_attempts: s.max_attempts,
            rate_limit_per_second: s.rate_limit_per_second,
        }
    }

    fn endpoint(&self) -> Endpoint {
        Endpoint {
            provider: "odoo".to_owned(),
            base_url: self.url.clone(),
            timeout: self.timeout,
            retry: self.retry,
            max_attempts: self.max_attempts,
            rate: self.rate_limit_per_second.map(|per_second| Rate {
                per_second,
                burst: 1,
            }),
            pacing: None,
            breaker: BreakerSettings::default(),
        }
    }
}

pub struct OdooClient {
    config: OdooConfig,
    endpoint: Endpoint,
    outbound: Outbound,
    uid: Option<i64>,
    /// Calls made, retries included (for run statistics and tests).
    pub calls: u64,
}

#[derive(Deserialize)]
struct Reply<'a> {
    #[serde(borrow)]
    result: Option<&'a RawValue>,
    error: Option<RpcError>,
}

#[derive(Deserialize)]
struct RpcError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    data: Option<RpcErrorData>,
}

#[derive(Deserialize)]
struct RpcErrorData {
    #[serde(default)]
    name: String,
    #[serde(default)]
    message: String,
}

/// The outbound layer's check of a 2xx answer: a reply that is not JSON-RPC, or has
/// neither a result nor an error, is retried like a 5xx.
fn rpc_verdict(res: &Response) -> Verdict {
    match serde_json::from_slice::<Reply<'_>>(&res.body) {
        Ok(Reply {
            result: None,
            error: None,
        }) => Verdict::Retry("answer without result".into()),
        Ok(_) => Verdict::Accept,
        Err(e) => Verdict::Retry(format!("malformed answer: {e}")),
    }
}

impl OdooClient {
    pub fn new(config: OdooConfig, outbound: Outbound) -> OdooClient {
        OdooClient {
            endpoint: config.endpoint(),
            config,
            outbound,
            uid: None,
            calls: 0,
        }
    }

    /// One JSON-RPC call through the outbound layer (timeout, retries on 429/5xx/
    /// timeouts/malformed answers, breaker, rate limit, call log); returns the raw
    /// `result`. An Odoo-level error (access denied, a bad domain) is not retried.
    pub async fn call(
        &mut self,
        service: &str,
        method: &str,
        args: Value,
    ) -> Result<Box<RawValue>, OdooError> {
        let body = json!({
            "jsonrpc": "2.0",
            "method": "call",
            "params": { "service": service, "method": method, "args": args },
            "id": self.calls,
        });
        let template = match (service, method) {
            ("common", _) => "/jsonrpc#common",
            _ => "/jsonrpc#object",
        };
        // Tentabo only reads from Odoo: a call may be sent again.
        let req = Request::new(reqwest::Method::POST, template, "/jsonrpc")
            .json(body)
            .replayable();
        let result = self
            .outbound
            .send_checked(&self.endpoint, &req, rpc_verdict)
            .await;
        let res = match result {
            Ok(res) => {
                self.calls += u64::from(res.attempts);
                res
            }
            Err(OutboundError::Unavailable { attempts, last, .. }) => {
                self.calls += u64::from(attempts);
                return Err(OdooError::Unavailable { attempts, last });
            }
            Err(e) => {
                return Err(OdooError::Unavailable {
                    attempts: 0,
                    last: e.to_string(),
                });
            }
        };
        if !res.is_success() {
            return Err(OdooError::Server {
                name: format!("HTTP {}", res.status),
                message: res.snippet(500),
            });
        }
        let reply: Reply<'_> =
            serde_json::from_slice(&res.body).map_err(|e| OdooError::Unavailable {
                attempts: 1,
                last: format!("malformed answer: {e}"),
            })?;
        if let Some(err) = reply.error {
            let data = err.data.unwrap_or(RpcErrorData {
                name: String::new(),
                message: String::new(),
            });
            if data.name == "odoo.exceptions.AccessDenied" {
                return Err(OdooError::AccessDenied);
            }
            return Err(OdooError::Server {
                name: data.name,
                message: if data.message.is_empty() {
                    err.message
                } else {
                    data.message
                },
            });
        }
        match reply.result {
            Some(r) => Ok(r.to_owned()),
            None => Err(OdooError::Unavailable {
                attempts: 1,
                last: "answer without result".into(),
            }),
        }
    }

    /// Logs in (`common.login`) once; `false` means bad credentials.
    pub async fn login(&mut self) -> Result<i64, OdooError> {
        if let Some(uid) = self.uid {
            return Ok(uid);
        }
        let args = json!([
            self.config.database,
            self.config.login,
            self.config.password.expose_secret()
        ]);
        let raw = self.call("common", "login", args).await?;
        match serde_json::from_str::<Value>(raw.get()) {
            Ok(Value::Number(n)) if n.as_i64().is_some_and(|u| u > 0) => {
                let uid = n.as_i64().unwrap_or_default();
                self.uid = Some(uid);
                Ok(uid)
            }
            _ => Err(OdooError::AccessDenied),
        }
    }

    /// `object.execute_kw(db, uid, password, model, method, args, kwargs)`.
    pub async fn execute_kw(
        &mut self,
        model: &str,
        method: &str,
        args: Value,
        kwargs: Value,
    ) -> Result<Box<RawValue>, OdooError> {
        let uid = self.login().await?;
        let all = json!([
            self.config.database,
            uid,
            self.config.password.expose_secret(),
            model,
            method,
            args,
            kwargs
        ]);
        self.call("object", "execute_kw", all).await
    }

    /// A model's fields (`fields_get`), name → description.
    pub async fn fields_get(&mut self, model: &str) -> Result<Value, OdooError> {
        let raw = self
            .execute_kw(
                model,
                "fields_get",
                json!([]),
                json!({ "attributes": ["string", "type", "relation", "help", "selection", "required", "store"] }),
            )
            .await?;
        serde_json::from_str(raw.get()).map_err(|e| OdooError::Unavailable {
            attempts: 1,
            last: format!("malformed fields_get: {e}"),
        })
    }

    /// The next page after `after`, ordered by (`write_date`, `id`): the keyset domain
    /// `write_date > wm OR (write_date = wm AND id > last_id)` in Odoo's prefix notation.
    /// Archived records are read too (`active_test: false`): the mapper decides what an
    /// archive means (a lost opportunity, a record gone).
    pub async fn page(
        &mut self,
        model: &str,
        fields: &[&str],
        after: Keyset,
        limit: usize,
    ) -> Result<Vec<OdooRecord>, OdooError> {
        let domain = keyset_domain(after);
        let mut wanted: Vec<&str> = fields.to_vec();
        for key in ["id", "write_date"] {
            if !wanted.contains(&key) {
                wanted.push(key);
            }
        }
        let raw = self
            .execute_kw(
                model,
                "search_read",
                json!([domain]),
                json!({
                    "fields": wanted, "order": "write_date asc, id asc", "limit": limit,
                    "context": { "active_test": false },
                }),
            )
            .await?;
        parse_page(&raw)
    }

    /// How many records of `model` come after `after` (`search_count` on the page domain):
    /// the run's estimate.
    pub async fn count(&mut self, model: &str, after: Keyset) -> Result<i64, OdooError> {
        let raw = self
            .execute_kw(
                model,
                "search_count",
                json!([keyset_domain(after)]),
                json!({ "context": { "active_test": false } }),
            )
            .await?;
        serde_json::from_str(raw.get()).map_err(|e| OdooError::Unavailable {
            attempts: 1,
            last: format!("malformed search_count answer: {e}"),
        })
    }
}

/// Records strictly after a keyset, in Odoo's prefix notation:
/// `write_date > wm OR (write_date = wm AND id > last_id)`.
fn keyset_domain(after: Keyset) -> Value {
    match after.write_date {
        None => json!([]),
        Some(wm) => {
            let wm = wm.format(DATETIME_FORMAT).to_string();
            json!([
                "|",
                ["write_date", ">", wm],
                "&",
                ["write_date", "=", wm],
                ["id", ">", after.id]
            ])
        }
    }
}

#[derive(Deserialize)]
struct Keys {
    id: i64,
    write_date: String,
}

/// Splits a `search_read` answer into records, keeping each one's raw text.
fn parse_page(raw: &RawValue) -> Result<Vec<OdooRecord>, OdooError> {
    let malformed = |e: String| OdooError::Unavailable {
        attempts: 1,
        last: format!("malformed search_read page: {e}"),
    };
    let items: Vec<&RawValue> =
        serde_json::from_str(raw.get()).map_err(|e| malformed(e.to_string()))?;
    items
        .into_iter()
        .map(|item| {
            let keys: Keys =
                serde_json::from_str(item.get()).map_err(|e| malformed(e.to_string()))?;
            let write_date = parse_datetime(&keys.write_date)
                .ok_or_else(|| {
                    malformed(format!(
                        "write_date `{}` is not a datetime",
                        keys.write_date
                    ))
                })?
                .and_utc();
            Ok(OdooRecord {
                id: keys.id,
                write_date,
                raw: item.to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_keeps_each_record_byte_exact_and_reads_its_keys() {
        let text =
            r#"[{"id": 7, "write_date": "2026-01-02 03:04:05", "name": "Acmé",  "email": false}]"#;
        let raw: Box<RawValue> = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}"));
        let page = parse_page(&raw).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].id, 7);
        assert_eq!(page[0].write_date.to_rfc3339(), "2026-01-02T03:04:05+00:00");
        assert_eq!(
            page[0].raw.get(),
            r#"{"id": 7, "write_date": "2026-01-02 03:04:05", "name": "Acmé",  "email": false}"#
        );
    }

    /// The fast path reads Odoo's fixed layout; whatever it is given, it accepts exactly
    /// what chrono's format-driven parser accepts, with the same value.
    mod dates {
        use super::*;
        use proptest::prelude::*;

        fn chrono_date(s: &str) -> Option<NaiveDate> {
            NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
        }

        fn chrono_datetime(s: &str) -> Option<NaiveDateTime> {
            NaiveDateTime::parse_from_str(s, DATETIME_FORMAT).ok()
        }

        proptest! {
            #[test]
            fn dates_read_as_chrono_reads_them(s in "[0-9]{1,5}-[0-9]{1,3}-[0-9]{1,3}|.{0,12}") {
                prop_assert_eq!(parse_date(&s), chrono_date(&s));
            }

            #[test]
            fn datetimes_read_as_chrono_reads_them(
                s in "[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{1,2}:[0-9]{2}:[0-9]{2}|.{0,21}"
            ) {
                prop_assert_eq!(parse_datetime(&s), chrono_datetime(&s));
            }
        }

        #[test]
        fn impossible_dates_are_refused_by_both_paths() {
            for s in ["2026-02-30", "2026-13-01", "2026-00-10", "2025-02-29"] {
                assert_eq!(parse_date(s), None, "{s}");
            }
            for s in [
                "2026-01-02 24:00:00",
                "2026-01-02 10:60:00",
                "2026-01-02 10:00:61",
            ] {
                assert_eq!(parse_datetime(s), chrono_datetime(s), "{s}");
            }
            assert_eq!(
                parse_datetime("2024-02-29 23:59:59").map(|t| t.to_string()),
                Some("2024-02-29 23:59:59".to_owned())
            );
        }
    }

    #[test]
    fn a_record_without_keys_is_a_malformed_page() {
        let raw: Box<RawValue> =
            serde_json::from_str(r#"[{"id": 7}]"#).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            parse_page(&raw),
            Err(OdooError::Unavailable { .. })
        ));
    }
}
