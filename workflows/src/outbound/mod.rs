//! The one outbound HTTP layer: every call Tentabo makes to another system (Odoo,
//! Pennylane, and every later provider) goes through [`Outbound::send`]. Per call:
//!
//! 1. the provider's circuit breaker admits it, or it fails fast ([`breaker`]);
//! 2. the provider's rate limit, shared through Redis by every process, books its slot
//!    and the call waits for it ([`ratelimit`]);
//! 3. the request goes out with the endpoint's timeout;
//! 4. 429, 5xx, timeouts, transport errors and answers the caller's check refuses are
//!    retried by the platform's retry driver (`RetryPolicy::run`: exponential backoff
//!    with jitter, `Retry-After` honoured and capped);
//! 5. each attempt leaves one call-log row ([`calllog`], written off the call path) and
//!    its metrics: `tentabo_provider_calls_total{provider,outcome}`,
//!    `tentabo_provider_call_seconds{provider}`, `tentabo_provider_breaker_state{provider}`
//!    (0 closed, 1 half-open, 2 open), `tentabo_provider_rate_limit_wait_seconds_total`.
//!
//! Other 4xx answers are returned to the caller, which knows what a 404 or a 422 means
//! for its protocol. Nothing here logs a body or a header: credentials travel in
//! [`Request::bearer`] or [`Request::headers`] and are never copied anywhere else.

pub mod breaker;
pub mod calllog;
pub mod ratelimit;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

pub use breaker::{Breaker, BreakerSettings, BreakerState};
pub use calllog::{CallLog, CallRecord};
pub use ratelimit::{Rate, RateLimiter};

use crate::retry::{Failure, GaveUp, RetryPolicy};

/// Where and how a provider is called.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The provider's name: breaker, rate limit, call log and metrics are keyed by it.
    pub provider: String,
    /// `https://host[/prefix]`, no trailing slash needed.
    pub base_url: String,
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// Attempts per call (1 = no retry).
    pub max_attempts: u32,
    pub rate: Option<Rate>,
    /// The provider's own rate-limit headers, read after every answer: when few calls
    /// are left in its window, the next calls wait for the window's reset (slowing down
    /// before a 429 rather than after).
    pub pacing: Option<Pacing>,
    pub breaker: BreakerSettings,
}

/// Which answer headers announce a provider's remaining budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing {
    /// Calls left in the current window (`x-ratelimit-remaining`).
    pub remaining: &'static str,
    /// Seconds until the window resets (`x-ratelimit-reset`).
    pub reset: &'static str,
    /// Calls kept in reserve: at or below this many left, wait for the reset.
    pub reserve: u32,
}

/// The longest pause a provider's headers can impose on one call.
const MAX_PACING_PAUSE: Duration = Duration::from_secs(60);

/// One call. `template` is the path as the call log and metrics name it
/// (`/quotes/{id}`); `path` is the real one.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub template: &'static str,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub json: Option<serde_json::Value>,
    /// A form-encoded body (OAuth token endpoints).
    pub form: Option<Vec<(String, String)>>,
    /// Safe to send again after a timeout or a 5xx (every method but `POST`, unless
    /// marked [`Request::replayable`]).
    pub replay: bool,
    pub bearer: Option<SecretString>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Request {
    pub fn new(method: Method, template: &'static str, path: impl Into<String>) -> Request {
        Request {
            replay: method != Method::POST,
            method,
            template,
            path: path.into(),
            query: Vec::new(),
            json: None,
            form: None,
            bearer: None,
            headers: Vec::new(),
        }
    }
    pub fn get(template: &'static str) -> Request {
        Request::new(Method::GET, template, template)
    }
    pub fn query(mut self, name: &str, value: impl Into<String>) -> Request {
        self.query.push((name.to_owned(), value.into()));
        self
    }
    pub fn json(mut self, body: serde_json::Value) -> Request {
        self.json = Some(body);
        self
    }
    pub fn form(mut self, fields: Vec<(String, String)>) -> Request {
        self.form = Some(fields);
        self
    }
    /// Marks a `POST` as safe to send twice (a JSON-RPC read, a token refresh).
    pub fn replayable(mut self) -> Request {
        self.replay = true;
        self
    }
    /// Whether sending the request twice is harmless. A `POST` may create something
    /// each time: after a timeout or a 5xx it may have been processed, so the layer does
    /// not send it again (a 429 or a refused connection, never processed, are retried);
    /// the caller's own retry looks the object up before creating it.
    pub fn is_replayable(&self) -> bool {
        self.replay
    }
    pub fn bearer(mut self, token: &SecretString) -> Request {
        self.bearer = Some(token.clone());
        self
    }
}

/// An answer the caller gets to read (2xx, or a 4xx other than 429).
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// Which attempt gave this answer (1 = the first).
    pub attempts: u32,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
    /// The body as text, cut to `max` characters (for error messages; bodies of
    /// refusals carry the provider's reason, not our data).
    pub fn snippet(&self, max: usize) -> String {
        String::from_utf8_lossy(&self.body)
            .chars()
            .take(max)
            .collect()
    }
}

/// The caller's verdict on an answer the transport considered fine.
pub enum Verdict {
    Accept,
    /// Malformed or incomplete: try again.
    Retry(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    #[error("{provider}: circuit breaker open, call not made")]
    BreakerOpen { provider: String },
    #[error("{provider} unavailable after {attempts} attempt(s): {last}")]
    Unavailable {
        provider: String,
        attempts: u32,
        last: String,
    },
    #[error("{provider}: the request could not be built: {reason}")]
    Invalid { provider: String, reason: String },
}

tokio::task_local! {
    static CONTEXT: CallContext;
}

/// Who a call is made for, written on its call-log row.
#[derive(Debug, Clone, Default)]
pub struct CallContext {
    pub job_id: Option<i64>,
    pub request_id: Option<String>,
}

/// Runs `f` with calls attributed to `context` (a job's id, a request's id).
pub async fn with_context<F: std::future::Future>(context: CallContext, f: F) -> F::Output {
    CONTEXT.scope(context, f).await
}

fn current_context() -> CallContext {
    CONTEXT.try_with(Clone::clone).unwrap_or_default()
}

/// The layer; clone it freely (one per process is the intent: breakers live in it).
#[derive(Clone)]
pub struct Outbound {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    limiter: Option<RateLimiter>,
    log: CallLog,
    breakers: Mutex<HashMap<String, Arc<Breaker>>>,
    /// Per provider: no call before this instant (its headers said the budget is spent).
    paused: Mutex<HashMap<String, Instant>>,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound").finish_non_exhaustive()
    }
}

/// How one attempt failed, for the retry driver and the final error.
#[derive(Debug)]
enum Failed {
    Open,
    Transient(String),
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failed::Open => f.write_str("circuit breaker open"),
            Failed::Transient(m) => f.write_str(m),
        }
    }
}

impl Outbound {
    pub fn new(limiter: Option<RateLimiter>, log: CallLog) -> Result<Outbound, OutboundError> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| OutboundError::Invalid {
                provider: "*".into(),
                reason: e.to_string(),
            })?;
        Ok(Outbound {
            inner: Arc::new(Inner {
                http,
                limiter,
                log,
                breakers: Mutex::new(HashMap::new()),
                paused: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// A layer without shared rate limits or a call log (unit tests, one-off tools).
    pub fn standalone() -> Outbound {
        Outbound::new(None, CallLog::disabled()).unwrap_or_else(|e| panic!("http client: {e}"))
    }

    pub fn call_log(&self) -> &CallLog {
        &self.inner.log
    }

    fn breaker(&self, ep: &Endpoint) -> Arc<Breaker> {
        let mut map = self
            .inner
            .breakers
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(b) = map.get(&ep.provider) {
            return b.clone();
        }
        map.entry(ep.provider.clone())
            .or_insert_with(|| Arc::new(Breaker::new(ep.breaker)))
            .clone()
    }

    /// The breaker state of `provider` in this process (closed when never called).
    pub fn breaker_state(&self, provider: &str) -> BreakerState {
        let map = self
            .inner
            .breakers
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        map.get(provider)
            .map(|b| b.state())
            .unwrap_or(BreakerState::Closed)
    }

    /// Sends `req`, retrying transient failures; see the module documentation.
    pub async fn send(&self, ep: &Endpoint, req: &Request) -> Result<Response, OutboundError> {
        self.send_checked(ep, req, |_| Verdict::Accept).await
    }

    /// A call over another protocol than HTTP (SMTP): the same breaker, timeout, call
    /// log and metrics as [`Outbound::send`]; one attempt (the job's retries back off).
    /// `method` names the operation on the call log (e.g. `SMTP`), `template` the target.
    pub async fn call_other<T>(
        &self,
        ep: &Endpoint,
        method: &'static str,
        template: &'static str,
        call: impl std::future::Future<Output = Result<T, String>>,
    ) -> Result<T, OutboundError> {
        let breaker = self.breaker(ep);
        let context = current_context();
        let req = Request::new(
            Method::from_bytes(method.as_bytes()).unwrap_or(Method::POST),
            template,
            template,
        );
        let Some(permit) = breaker.admit() else {
            self.log(ep, &req, &context, 1, None, "breaker_open", Duration::ZERO);
            return Err(OutboundError::BreakerOpen {
                provider: ep.provider.clone(),
            });
        };
        let started = Instant::now();
        let answer = tokio::time::timeout(ep.timeout, call).await;
        let elapsed = started.elapsed();
        let (outcome, result) = match answer {
            Ok(Ok(value)) => ("ok", Ok(value)),
            Ok(Err(reason)) => ("transport", Err(reason)),
            Err(_) => ("timeout", Err(format!("no answer within {:?}", ep.timeout))),
        };
        permit.record(if result.is_ok() {
            breaker::Outcome::Success
        } else {
            breaker::Outcome::Failure
        });
        self.log(ep, &req, &context, 1, None, outcome, elapsed);
        let result = result.map_err(|last| OutboundError::Unavailable {
            provider: ep.provider.clone(),
            attempts: 1,
            last,
        });
        metrics::gauge!("tentabo_provider_breaker_state", "provider" => ep.provider.clone())
            .set(breaker.state().gauge());
        result
    }

    /// As [`Outbound::send`], with the caller's check of a successful answer (a
    /// JSON-RPC reply without a result is retried like a 5xx).
    pub async fn send_checked(
        &self,
        ep: &Endpoint,
        req: &Request,
        check: impl Fn(&Response) -> Verdict,
    ) -> Result<Response, OutboundError> {
        let breaker = self.breaker(ep);
        let context = current_context();
        let url = format!(
            "{}/{}",
            ep.base_url.trim_end_matches('/'),
            req.path.trim_start_matches('/')
        );
        let what = format!("{} {} {}", ep.provider, req.method, req.template);
        let result = ep
            .retry
            .run(&what, ep.max_attempts.max(1), |attempt| {
                self.attempt(ep, req, &url, &breaker, &context, attempt, &check)
            })
            .await;
        metrics::gauge!("tentabo_provider_breaker_state", "provider" => ep.provider.clone())
            .set(breaker.state().gauge());
        result.map_err(
            |GaveUp {
                 error, attempts, ..
             }| match error {
                Failed::Open => OutboundError::BreakerOpen {
                    provider: ep.provider.clone(),
                },
                Failed::Transient(last) => OutboundError::Unavailable {
                    provider: ep.provider.clone(),
                    attempts,
                    last,
                },
            },
        )
    }

    #[allow(clippy::too_many_arguments)]
    async fn attempt(
        &self,
        ep: &Endpoint,
        req: &Request,
        url: &str,
        breaker: &Breaker,
        context: &CallContext,
        attempt: u32,
        check: &impl Fn(&Response) -> Verdict,
    ) -> Result<Response, Failure<Failed>> {
        let Some(permit) = breaker.admit() else {
            self.log(
                ep,
                req,
                context,
                attempt,
                None,
                "breaker_open",
                Duration::ZERO,
            );
            return Err(Failure::Permanent(Failed::Open));
        };
        if let (Some(limiter), Some(rate)) = (&self.inner.limiter, ep.rate) {
            match limiter.reserve(&ep.provider, rate).await {
                Ok(wait) if !wait.is_zero() => {
                    metrics::counter!("tentabo_provider_rate_limit_waits_total", "provider" => ep.provider.clone())
                        .increment(1);
                    metrics::counter!("tentabo_provider_rate_limit_wait_seconds_total", "provider" => ep.provider.clone())
                        .increment(wait.as_millis() as u64 / 1000);
                    tokio::time::sleep(wait).await;
                }
                Ok(_) => {}
                // Without Redis the budget cannot be shared; calls go on (the job queue
                // itself needs Redis, so this is brief) and the lapse is counted.
                Err(e) => {
                    metrics::counter!("tentabo_provider_rate_limit_errors_total", "provider" => ep.provider.clone())
                        .increment(1);
                    tracing::warn!(provider = %ep.provider, error = %e, "rate limit store unreachable");
                }
            }
        }
        if ep.pacing.is_some() {
            let until = self
                .inner
                .paused
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&ep.provider)
                .copied();
            if let Some(until) = until {
                let now = Instant::now();
                if until > now {
                    metrics::counter!("tentabo_provider_paced_total", "provider" => ep.provider.clone())
                        .increment(1);
                    tokio::time::sleep(until - now).await;
                }
            }
        }
        let mut builder = self
            .inner
            .http
            .request(req.method.clone(), url)
            .timeout(ep.timeout);
        if !req.query.is_empty() {
            builder = builder.query(&req.query);
        }
        if let Some(body) = &req.json {
            builder = builder.json(body);
        }
        if let Some(form) = &req.form {
            let body: String = reqwest::Url::parse("http://form.invalid/")
                .map(|mut u| {
                    u.query_pairs_mut().extend_pairs(form);
                    u.query().unwrap_or_default().to_owned()
                })
                .unwrap_or_default();
            builder = builder
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(body);
        }
        if let Some(token) = &req.bearer {
            builder = builder.bearer_auth(token.expose_secret());
        }
        for (name, value) in &req.headers {
            builder = builder.header(name.clone(), value.clone());
        }
        let started = Instant::now();
        let answer = match builder.send().await {
            Ok(res) => {
                let status = res.status().as_u16();
                let headers = res.headers().clone();
                res.bytes().await.map(|b| Response {
                    status,
                    headers,
                    body: b.to_vec(),
                    attempts: attempt,
                })
            }
            Err(e) => Err(e),
        };
        let elapsed = started.elapsed();
        if let (Some(pacing), Ok(res)) = (ep.pacing, &answer) {
            self.pace(&ep.provider, pacing, &res.headers);
        }
        let res = match answer {
            Ok(r) => r,
            Err(e) => {
                let outcome = if e.is_timeout() {
                    "timeout"
                } else {
                    "transport"
                };
                permit.record(breaker::Outcome::Failure);
                self.log(ep, req, context, attempt, None, outcome, elapsed);
                let failed = Failed::Transient(format!("{outcome}: {}", without_url(&e)));
                // A create that may have reached the provider is not sent again here:
                // the caller's own retry looks it up first (see `Request::replayable`).
                if !req.is_replayable() && !e.is_connect() {
                    return Err(Failure::Permanent(failed));
                }
                return Err(Failure::transient(failed));
            }
        };
        let retry_after = || {
            res.headers
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| crate::retry::parse_retry_after(v, chrono::Utc::now()))
        };
        if res.status == 429 || res.status >= 500 {
            let (outcome, counted) = if res.status == 429 {
                ("throttled", breaker::Outcome::Neutral)
            } else {
                ("server_error", breaker::Outcome::Failure)
            };
            permit.record(counted);
            self.log(
                ep,
                req,
                context,
                attempt,
                Some(res.status),
                outcome,
                elapsed,
            );
            if res.status >= 500 && !req.is_replayable() {
                return Err(Failure::Permanent(Failed::Transient(format!(
                    "HTTP {}",
                    res.status
                ))));
            }
            return Err(Failure::Transient {
                error: Failed::Transient(format!("HTTP {}", res.status)),
                retry_after: retry_after(),
            });
        }
        if res.is_success() {
            if let Verdict::Retry(reason) = check(&res) {
                permit.record(breaker::Outcome::Failure);
                self.log(
                    ep,
                    req,
                    context,
                    attempt,
                    Some(res.status),
                    "malformed",
                    elapsed,
                );
                return Err(Failure::transient(Failed::Transient(reason)));
            }
            permit.record(breaker::Outcome::Success);
            self.log(ep, req, context, attempt, Some(res.status), "ok", elapsed);
        } else {
            // A refusal is an answer: the provider is up.
            permit.record(breaker::Outcome::Success);
            self.log(
                ep,
                req,
                context,
                attempt,
                Some(res.status),
                "refused",
                elapsed,
            );
        }
        Ok(res)
    }

    /// Reads the provider's budget headers after an answer: at or below the reserve,
    /// the provider's next calls wait until the window resets.
    fn pace(&self, provider: &str, pacing: Pacing, headers: &HeaderMap) {
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
        };
        let (Some(remaining), Some(reset)) = (number(pacing.remaining), number(pacing.reset))
        else {
            return;
        };
        if remaining > f64::from(pacing.reserve)
            || reset.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater)
        {
            return;
        }
        let pause = Duration::from_secs_f64(reset.min(MAX_PACING_PAUSE.as_secs_f64()));
        let until = Instant::now() + pause;
        let mut paused = self.inner.paused.lock().unwrap_or_else(|p| p.into_inner());
        let entry = paused.entry(provider.to_owned()).or_insert(until);
        if *entry < until {
            *entry = until;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn log(
        &self,
        ep: &Endpoint,
        req: &Request,
        context: &CallContext,
        attempt: u32,
        status: Option<u16>,
        outcome: &'static str,
        elapsed: Duration,
    ) {
        metrics::counter!("tentabo_provider_calls_total", "provider" => ep.provider.clone(), "outcome" => outcome)
            .increment(1);
        if !elapsed.is_zero() {
            metrics::histogram!("tentabo_provider_call_seconds", "provider" => ep.provider.clone())
                .record(elapsed.as_secs_f64());
        }
        self.inner.log.record(CallRecord {
            provider: ep.provider.clone(),
            method: req.method.to_string(),
            path: req.template,
            status,
            outcome,
            latency_us: elapsed.as_micros() as i64,
            attempt,
            job_id: context.job_id,
            request_id: context.request_id.clone(),
            called_at: chrono::Utc::now(),
        });
    }
}

/// A transport error's text without the URL (a query string may carry identifiers).
fn without_url(e: &reqwest::Error) -> String {
    let mut e = format!("{}", WithoutUrl(e));
    e.truncate(300);
    e
}

struct WithoutUrl<'a>(&'a reqwest::Error);

impl std::fmt::Display for WithoutUrl<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(self.0);
        let kind = if self.0.is_timeout() {
            "timed out"
        } else if self.0.is_connect() {
            "could not connect"
        } else {
            "request failed"
        };
        f.write_str(kind)?;
        while let Some(c) = cause {
            write!(f, ": {c}")?;
            cause = c.source();
        }
        Ok(())
    }
}
