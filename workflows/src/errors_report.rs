//! Error tracking: server errors of the API (with their request id) and dead jobs of the
//! worker (with their job id and queue) reported to a Sentry-compatible endpoint
//! (Sentry, GlitchTip…) when `TENTABO_SENTRY_DSN` is set — off by default.
//!
//! The event goes to the DSN's store endpoint (`POST /api/{project}/store/`, JSON, the
//! `X-Sentry-Auth` header with the DSN's public key) through the outbound layer
//! (timeout, breaker, call log as provider `sentry`), from a task of its own: reporting
//! never slows or fails what it reports. Messages carry what the logs carry — never a
//! credential or a request body.

use std::sync::OnceLock;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::outbound::{Endpoint, Outbound, Request};

/// Where reports go, from a DSN `{scheme}://{public_key}@{host}[:port]/{project_id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dsn {
    pub base_url: String,
    pub public_key: String,
    pub project_id: String,
}

impl Dsn {
    pub fn parse(dsn: &str) -> Result<Dsn, String> {
        let url = url::Url::parse(dsn).map_err(|e| format!("sentry DSN: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("sentry DSN: the scheme must be http or https".into());
        }
        let public_key = url.username().to_owned();
        if public_key.is_empty() {
            return Err("sentry DSN: no public key (https://KEY@host/PROJECT)".into());
        }
        let project_id = url
            .path_segments()
            .and_then(|mut s| s.next_back().map(str::to_owned))
            .filter(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
            .ok_or("sentry DSN: no numeric project id (https://KEY@host/PROJECT)")?;
        let host = url.host_str().ok_or("sentry DSN: no host")?;
        let base_url = match url.port() {
            Some(port) => format!("{}://{host}:{port}", url.scheme()),
            None => format!("{}://{host}", url.scheme()),
        };
        Ok(Dsn {
            base_url,
            public_key,
            project_id,
        })
    }
}

struct Reporter {
    dsn: Dsn,
    endpoint: Endpoint,
    outbound: Outbound,
    environment: String,
    server: &'static str,
}

static REPORTER: OnceLock<Reporter> = OnceLock::new();

/// Turns reporting on for this process (once; later calls change nothing). `server` is
/// `api` or `worker`.
pub fn install(
    dsn: &SecretString,
    environment: &str,
    server: &'static str,
    outbound: Outbound,
) -> Result<(), String> {
    let dsn = Dsn::parse(dsn.expose_secret())?;
    let endpoint = Endpoint {
        provider: "sentry".into(),
        base_url: dsn.base_url.clone(),
        timeout: Duration::from_secs(5),
        retry: crate::retry::RetryPolicy::default(),
        max_attempts: 1,
        rate: None,
        pacing: None,
        breaker: Default::default(),
    };
    let _ = REPORTER.set(Reporter {
        dsn,
        endpoint,
        outbound,
        environment: environment.to_owned(),
        server,
    });
    Ok(())
}

/// The event a report sends: an error-level message with tags (the request or job id).
pub fn event(
    message: &str,
    tags: &[(&str, String)],
    environment: &str,
    server: &str,
) -> serde_json::Value {
    let tags: serde_json::Map<String, serde_json::Value> = tags
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    json!({
        "event_id": uuid::Uuid::new_v4().simple().to_string(),
        "timestamp": chrono::Utc::now().to_rfc3339(),
        "level": "error",
        "platform": "other",
        "logger": format!("tentabo-{server}"),
        "server_name": server,
        "release": concat!("tentabo@", env!("CARGO_PKG_VERSION")),
        "environment": environment,
        "message": { "formatted": message },
        "tags": tags,
    })
}

/// Reports an error if reporting is on (a DSN was installed); returns at once.
pub fn report(message: &str, tags: &[(&str, String)]) {
    let Some(r) = REPORTER.get() else {
        return;
    };
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let body = event(message, tags, &r.environment, r.server);
    let path = format!("/api/{}/store/", r.dsn.project_id);
    let auth = format!(
        "Sentry sentry_version=7, sentry_client=tentabo/{}, sentry_key={}",
        env!("CARGO_PKG_VERSION"),
        r.dsn.public_key
    );
    runtime.spawn(async move {
        let mut req = Request::new(Method::POST, "/api/{project}/store/", path).json(body);
        if let Ok(value) = HeaderValue::from_str(&auth) {
            req.headers
                .push((HeaderName::from_static("x-sentry-auth"), value));
        }
        match r.outbound.send(&r.endpoint, &req).await {
            Ok(res) if res.is_success() => {}
            Ok(res) => tracing::warn!(status = res.status, "error report refused"),
            Err(e) => tracing::warn!(error = %e, "error report not sent"),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dsn_names_the_server_the_key_and_the_project() {
        assert_eq!(
            Dsn::parse("https://abc123@o1.ingest.example.com/42").unwrap(),
            Dsn {
                base_url: "https://o1.ingest.example.com".into(),
                public_key: "abc123".into(),
                project_id: "42".into()
            }
        );
        assert_eq!(
            Dsn::parse("http://k@127.0.0.1:9000/7").unwrap().base_url,
            "http://127.0.0.1:9000"
        );
        for bad in [
            "not a url",
            "ftp://k@host/1",
            "https://host/1",
            "https://k@host/",
            "https://k@host/abc",
        ] {
            assert!(Dsn::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_event_carries_the_message_and_the_tags() {
        let e = event("job noop dead", &[("job_id", "7".into())], "prod", "worker");
        assert_eq!(e["message"]["formatted"], "job noop dead");
        assert_eq!(e["tags"]["job_id"], "7");
        assert_eq!(
            (e["level"].as_str(), e["environment"].as_str()),
            (Some("error"), Some("prod"))
        );
        assert_eq!(e["event_id"].as_str().unwrap().len(), 32);
    }
}
