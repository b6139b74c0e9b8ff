//! Pipedrive's webhook deliveries (webhooks v2: `{meta, data, previous}`), received:
//! the HTTP Basic credentials checked against the ones Tentabo generated when it
//! registered the webhooks (else nothing is stored), the event recorded once in
//! `webhook_events` (a retried delivery carries the same `meta.id` and only counts), and
//! a `crm_webhook_event` job queued in the same transaction. The job does the work
//! (the same code path as the pull), so the answer is fast.

use base64::Engine as _;
use diesel::sql_types::{BigInt, Bool};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use secrecy::ExposeSecret;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::WorkflowError;
use crate::error::{AuthFailure, FieldErrors};
use crate::jobs::{self, JobRequest, payloads};
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

/// Verifies and records one delivery. `authorization` is the request's header.
pub async fn receive(
    conn: &mut AsyncPgConnection,
    keys: Option<&KeyRing>,
    authorization: Option<&str>,
    body: &[u8],
) -> Result<Received, WorkflowError> {
    let refused = WorkflowError::Unauthenticated(AuthFailure::InvalidCredentials);
    let Some((user, password)) = basic(authorization) else {
        return Err(WorkflowError::Unauthenticated(AuthFailure::MissingToken));
    };
    let row = store::get(conn, ProviderKind::Crm, registry::PIPEDRIVE).await?;
    let (Some(row), Some(keys)) = (row, keys) else {
        return Err(refused);
    };
    let Some(expected) = store::open_credential(keys, &row, "webhook_password")? else {
        return Err(refused);
    };
    let user_ok = same(user.as_bytes(), WEBHOOK_USER.as_bytes());
    let password_ok = same(password.as_bytes(), expected.expose_secret().as_bytes());
    if !(user_ok && password_ok) {
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
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = BigInt)]
            id: i64,
            #[diesel(sql_type = Bool)]
            inserted: bool,
        }
        let row: Row = sql::query(
            "INSERT INTO webhook_events (provider, event_id, entity, action, entity_id, payload) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (provider, event_id) DO UPDATE SET deliveries = webhook_events.deliveries + 1 \
             RETURNING id, (xmax = 0) AS inserted",
        )
        .bind(Bind::Text(registry::PIPEDRIVE.to_owned()))
        .bind(Bind::Text(event_id.clone()))
        .bind(Bind::Text(entity))
        .bind(Bind::Text(action))
        .bind(Bind::OptText(entity_id))
        .bind(Bind::Json(v.clone()))
        .get_result(conn)
        .await?;
        if row.inserted {
            jobs::enqueue(
                conn,
                &[JobRequest::new(
                    &payloads::CrmWebhookEvent { event: row.id },
                    format!("webhook:{}:{}", registry::PIPEDRIVE, row.id),
                )],
            )
            .await?;
        }
        Ok(Received {
            event: row.id,
            new: row.inserted,
        })
    })
    .await
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
