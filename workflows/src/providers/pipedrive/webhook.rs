//! Pipedrive's webhook deliveries (webhooks v2: `{meta, data, previous}`), received:
//! the HTTP Basic credentials checked against the ones Tentabo generated when it
//! registered the webhooks (else nothing is stored), the event recorded once in
//! `webhook_events` (a retried delivery carries the same `meta.id` and only counts), and
//! a `crm_webhook_event` job queued in the same statement. The job does the work (the
//! same code path as the pull), so the answer is fast. No audit row: `webhook_events`
//! is itself the record of every delivery.

use base64::Engine as _;
use diesel::sql_types::{BigInt, Bool};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::WorkflowError;
use crate::error::{AuthFailure, FieldErrors};
use crate::jobs::{JobRequest, payloads};
use crate::providers::platform::WEBHOOK_USER;
use crate::providers::registry::{self, ProviderKind};
use crate::providers::store;
use crate::secrets::KeyRing;
use crate::sql::{self, Bind};

/// The largest delivery accepted (Pipedrive's objects are a few kilobytes).
pub const MAX_BODY: usize = 512 * 1024;

/// What receiving a delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub event: i64,
    /// False for a redelivery of an event already recorded.
    pub new: bool,
}

/// Compares in time independent of where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    let (ha, hb) = (Sha256::digest(a), Sha256::digest(b));
    ha.iter()
        .zip(hb.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// The Basic credentials of an `Authorization` header.
fn basic(header: Option<&str>) -> Option<(String, String)> {
    let encoded = header?.trim().strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// The webhook password, opened once and kept for a short while: a delivery costs no
/// read of the provider row. A password that does not match is checked against the
/// stored one again at once, so a new password (a new activation) works immediately;
/// an old one stays accepted for at most [`WebhookSecret::TTL`].
#[derive(Debug, Default)]
pub struct WebhookSecret {
    cached: std::sync::Mutex<Option<(std::time::Instant, Option<SecretString>)>>,
}

impl WebhookSecret {
    pub const TTL: std::time::Duration = std::time::Duration::from_secs(5);

    fn get(&self) -> Option<Option<SecretString>> {
        let c = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        c.as_ref()
            .filter(|(at, _)| at.elapsed() < Self::TTL)
            .map(|(_, s)| s.clone())
    }

    fn set(&self, secret: Option<SecretString>) {
        *self.cached.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((std::time::Instant::now(), secret));
    }

    async fn load(
        &self,
        conn: &mut AsyncPgConnection,
        keys: Option<&KeyRing>,
    ) -> Result<Option<SecretString>, WorkflowError> {
        let row = store::get(conn, ProviderKind::Crm, registry::PIPEDRIVE).await?;
        let secret = match (row, keys) {
            (Some(row), Some(keys)) => store::open_credential(keys, &row, "webhook_password")?,
            _ => None,
        };
        self.set(secret.clone());
        Ok(secret)
    }
}

/// Verifies and records one delivery. `authorization` is the request's header.
pub async fn receive(
    conn: &mut AsyncPgConnection,
    keys: Option<&KeyRing>,
    secret: &WebhookSecret,
    authorization: Option<&str>,
    body: &[u8],
) -> Result<Received, WorkflowError> {
    let refused = WorkflowError::Unauthenticated(AuthFailure::InvalidCredentials);
    let Some((user, password)) = basic(authorization) else {
        return Err(WorkflowError::Unauthenticated(AuthFailure::MissingToken));
    };
    let matches = |expected: &Option<SecretString>| {
        expected.as_ref().is_some_and(|e| {
            let user_ok = same(user.as_bytes(), WEBHOOK_USER.as_bytes());
            let password_ok = same(password.as_bytes(), e.expose_secret().as_bytes());
            user_ok && password_ok
        })
    };
    let ok = match secret.get() {
        Some(cached) if matches(&cached) => true,
        // Not cached, expired, or not this one: the stored password decides.
        _ => matches(&secret.load(conn, keys).await?),
    };
    if !ok {
        return Err(refused);
    }
    if body.len() > MAX_BODY {
        return Err(FieldErrors::single("body", "too_long"));
    }
    let v: Value =
        serde_json::from_slice(body).map_err(|_| FieldErrors::single("body", "invalid_json"))?;
    let meta = v.get("meta").filter(|m| m.is_object());
    let Some(meta) = meta else {
        return Err(FieldErrors::single("meta", "required"));
    };
    let text = |k: &str| {
        meta.get(k).and_then(|x| match x {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    let mut errors = FieldErrors::default();
    let event_id = text("id");
    let entity = text("entity");
    let action = text("action");
    for (k, v) in [
        ("meta.id", &event_id),
        ("meta.entity", &entity),
        ("meta.action", &action),
    ] {
        if v.is_none() {
            errors.add(k, "required");
        }
    }
    errors.into_result()?;
    let (event_id, entity, action) = (
        event_id.unwrap_or_default(),
        entity.unwrap_or_default(),
        action.unwrap_or_default(),
    );
    if event_id.len() > 200 || entity.len() > 64 || action.len() > 64 {
        return Err(FieldErrors::single("meta", "too_long"));
    }
    let entity_id = text("entity_id");
    // The event and its job in one statement (atomic without a transaction's round
    // trips): a redelivery only counts, and queues nothing.
    let job = JobRequest::new(
        &payloads::CrmWebhookEvent {
            provider: registry::PIPEDRIVE.to_owned(),
            event_id: event_id.clone(),
        },
        format!("webhook:{}:{event_id}", registry::PIPEDRIVE),
    );
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = Bool)]
        inserted: bool,
    }
    let row: Row = sql::query(
        "WITH ev AS ( \
             INSERT INTO webhook_events (provider, event_id, entity, action, entity_id, payload) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (provider, event_id) DO UPDATE SET deliveries = webhook_events.deliveries + 1 \
             RETURNING id, (xmax = 0) AS inserted), \
         job AS ( \
             INSERT INTO outbox (queue, payload, idempotency_key, max_attempts) \
             SELECT $7, $8, $9, $10 FROM ev WHERE ev.inserted \
             ON CONFLICT (idempotency_key) DO NOTHING) \
         SELECT id, inserted FROM ev",
    )
    .bind(Bind::Text(registry::PIPEDRIVE.to_owned()))
    .bind(Bind::Text(event_id))
    .bind(Bind::Text(entity))
    .bind(Bind::Text(action))
    .bind(Bind::OptText(entity_id))
    .bind(Bind::Json(v))
    .bind(Bind::Text(job.kind().queue().to_owned()))
    .bind(Bind::Json(job.payload().clone()))
    .bind(Bind::Text(job.idempotency_key().to_owned()))
    .bind(Bind::Int(job.kind().max_attempts()))
    .get_result(conn)
    .await?;
    Ok(Received {
        event: row.id,
        new: row.inserted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_parse_and_compare() {
        let h = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("tentabo:p:a:ss")
        );
        assert_eq!(basic(Some(&h)), Some(("tentabo".into(), "p:a:ss".into())));
        assert_eq!(basic(Some("Bearer abc")), None);
        assert_eq!(basic(Some("Basic !!!")), None);
        assert_eq!(basic(None), None);
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
    }
}
