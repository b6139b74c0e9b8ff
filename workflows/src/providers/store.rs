//! `provider_configs`: each configured provider's settings (checked against its
//! registry entry before anything is stored), its credentials sealed with the secrets
//! key ring, whether it is the active one of its kind, and its health. Every change is
//! one transaction with its audit row; audit rows name the credential fields that were
//! set or cleared, never a value.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::OptionalExtension;
use diesel::sql_types::{BigInt, Bool, Integer, Jsonb, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::registry::{self, ProviderKind, ProviderSpec};
use crate::WorkflowError;
use crate::audit::{self, AuditContext};
use crate::authz::{Action, Actor, Object};
use crate::error::FieldErrors;
use crate::secrets::KeyRing;
use crate::sql::{self, Bind};

#[derive(Debug, Clone, PartialEq, diesel::QueryableByName)]
pub struct StoredProvider {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Bool)]
    pub is_active: bool,
    #[diesel(sql_type = Jsonb)]
    pub configuration: Value,
    /// Field → sealed value.
    #[diesel(sql_type = Jsonb)]
    pub credentials: Value,
    #[diesel(sql_type = Nullable<Text>)]
    pub health_status: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub health_reason: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_health_check: Option<DateTime<Utc>>,
    #[diesel(sql_type = BigInt)]
    pub version: i64,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
    /// What Tentabo keeps about the provider (registered webhook ids…).
    #[diesel(sql_type = Jsonb)]
    pub runtime: Value,
}

impl StoredProvider {
    /// The credential fields that hold a value.
    pub fn secrets_set(&self) -> Vec<String> {
        self.credentials
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    pub fn spec(&self) -> Option<&'static ProviderSpec> {
        registry::find(ProviderKind::parse(&self.kind)?, &self.name)
    }
}

const COLUMNS: &str = "id, kind, name, is_active, configuration, credentials, health_status, \
    health_reason, last_health_check, version, created_at, updated_at, runtime";

/// The purpose a credential is sealed for: a value only opens in its own field.
pub fn purpose(kind: ProviderKind, name: &str, field: &str) -> String {
    format!("provider:{}:{name}:{field}", kind.as_str())
}

pub async fn list(conn: &mut AsyncPgConnection) -> Result<Vec<StoredProvider>, WorkflowError> {
    Ok(sql::query(format!(
        "SELECT {COLUMNS} FROM provider_configs ORDER BY kind, name"
    ))
    .load(conn)
    .await?)
}

pub async fn get(
    conn: &mut AsyncPgConnection,
    kind: ProviderKind,
    name: &str,
) -> Result<Option<StoredProvider>, WorkflowError> {
    read(conn, kind, name, "").await
}

/// The row of `kind`/`name`, `lock` appended to the query (`FOR UPDATE` in a write).
async fn read(
    conn: &mut AsyncPgConnection,
    kind: ProviderKind,
    name: &str,
    lock: &str,
) -> Result<Option<StoredProvider>, WorkflowError> {
    Ok(sql::query(format!(
        "SELECT {COLUMNS} FROM provider_configs WHERE kind = $1 AND name = $2 {lock}"
    ))
    .bind(Bind::Text(kind.as_str().to_owned()))
    .bind(Bind::Text(name.to_owned()))
    .get_result(conn)
    .await
    .map(Some)
    .or_else(none_if_missing)?)
}

pub async fn active(
    conn: &mut AsyncPgConnection,
    kind: ProviderKind,
) -> Result<Option<StoredProvider>, WorkflowError> {
    Ok(sql::query(format!(
        "SELECT {COLUMNS} FROM provider_configs WHERE kind = $1 AND is_active"
    ))
    .bind(Bind::Text(kind.as_str().to_owned()))
    .get_result(conn)
    .await
    .map(Some)
    .or_else(none_if_missing)?)
}

#[derive(diesel::QueryableByName)]
struct Stamp {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = BigInt)]
    version: i64,
}

/// The active provider's id and version: what a cached client is checked against.
pub async fn active_stamp(
    conn: &mut AsyncPgConnection,
    kind: ProviderKind,
) -> Result<Option<(Uuid, i64)>, WorkflowError> {
    let stamp: Option<Stamp> =
        sql::query("SELECT id, version FROM provider_configs WHERE kind = $1 AND is_active")
            .bind(Bind::Text(kind.as_str().to_owned()))
            .get_result(conn)
            .await
            .map(Some)
            .or_else(none_if_missing)?;
    Ok(stamp.map(|s| (s.id, s.version)))
}

fn none_if_missing<T>(e: diesel::result::Error) -> Result<Option<T>, diesel::result::Error> {
    match e {
        diesel::result::Error::NotFound => Ok(None),
        e => Err(e),
    }
}

/// Seals and stores (or clears) a credential Tentabo writes itself (OAuth tokens, a
/// generated webhook password), in the caller's transaction. `rebuild` bumps the row's
/// version so every process builds its client again (a new grant); a token refresh does
/// not (each process's session reloads the stored pair when its own goes stale).
pub async fn set_internal_credential(
    conn: &mut AsyncPgConnection,
    keys: &KeyRing,
    kind: ProviderKind,
    name: &str,
    field: &str,
    value: Option<&SecretString>,
    rebuild: bool,
) -> Result<(), WorkflowError> {
    let sealed = value.map(|v| keys.seal(&purpose(kind, name, field), v));
    let n = sql::query(
        "UPDATE provider_configs SET \
             credentials = CASE WHEN $4::text IS NULL THEN credentials - $3 \
                 ELSE jsonb_set(credentials, ARRAY[$3], to_jsonb($4::text)) END, \
             version = version + CASE WHEN $5 THEN 1 ELSE 0 END, updated_at = now() \
         WHERE kind = $1 AND name = $2",
    )
    .bind(Bind::Text(kind.as_str().to_owned()))
    .bind(Bind::Text(name.to_owned()))
    .bind(Bind::Text(field.to_owned()))
    .bind(Bind::OptText(sealed))
    .bind(Bind::Bool(rebuild))
    .execute(conn)
    .await?;
    if n == 0 {
        return Err(WorkflowError::NotFound);
    }
    Ok(())
}

/// Opens one stored credential.
pub fn open_credential(
    keys: &KeyRing,
    row: &StoredProvider,
    field: &str,
) -> Result<Option<SecretString>, WorkflowError> {
    let Some(kind) = ProviderKind::parse(&row.kind) else {
        return Ok(None);
    };
    let Some(sealed) = row.credentials.get(field).and_then(Value::as_str) else {
        return Ok(None);
    };
    keys.open(&purpose(kind, &row.name, field), sealed)
        .map(Some)
        .map_err(|e| WorkflowError::Upstream(format!("{}/{} `{field}`: {e}", row.kind, row.name)))
}

/// Sets one key of the provider's runtime state.
pub async fn set_runtime(
    conn: &mut AsyncPgConnection,
    kind: ProviderKind,
    name: &str,
    key: &str,
    value: Value,
) -> Result<(), WorkflowError> {
    sql::query(
        "UPDATE provider_configs SET runtime = jsonb_set(runtime, ARRAY[$3], $4) \
         WHERE kind = $1 AND name = $2",
    )
    .bind(Bind::Text(kind.as_str().to_owned()))
    .bind(Bind::Text(name.to_owned()))
    .bind(Bind::Text(key.to_owned()))
    .bind(Bind::Json(value))
    .execute(conn)
    .await?;
    Ok(())
}

/// A configuration as an admin sends it. Credentials: a value sets the field, `None`
/// clears it, an absent field keeps what is stored.
#[derive(Debug, Default)]
pub struct Configure {
    pub configuration: Value,
    pub credentials: BTreeMap<String, Option<SecretString>>,
}

/// Checks and stores a provider's configuration (created or replaced); nothing is
/// stored when any field is refused.
pub async fn put(
    conn: &mut AsyncPgConnection,
    actor: &Actor<'_>,
    keys: Option<&KeyRing>,
    spec: &'static ProviderSpec,
    input: Configure,
) -> Result<(StoredProvider, bool), WorkflowError> {
    actor
        .authz
        .authorize(actor.who, Object::Provider, Action::Manage)?;
    let configuration = spec.check(&input.configuration);
    let mut errors = match &configuration {
        Ok(_) => FieldErrors::default(),
        Err(e) => e.clone(),
    };
    for (field, value) in &input.credentials {
        let at = format!("credentials.{field}");
        if spec.secret(field).is_none() {
            errors.add(&at, "unknown_field");
        } else if spec.secret(field).is_some_and(|s| s.internal) {
            errors.add(&at, "read_only");
        } else if value
            .as_ref()
            .is_some_and(|v| v.expose_secret().trim().is_empty())
        {
            errors.add(&at, "too_short");
        } else if value
            .as_ref()
            .is_some_and(|v| v.expose_secret().len() > 4096)
        {
            errors.add(&at, "too_long");
        }
    }
    let to_seal = input.credentials.values().any(Option::is_some);
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        let existing = read(conn, spec.kind, spec.name, "FOR UPDATE").await?;
        let mut sealed: BTreeMap<String, Value> = existing
            .as_ref()
            .and_then(|e| e.credentials.as_object().cloned())
            .map(|m| m.into_iter().collect())
            .unwrap_or_default();
        for (field, value) in &input.credentials {
            match value {
                None => {
                    sealed.remove(field);
                }
                Some(_) => {
                    sealed.insert(field.clone(), Value::Null);
                }
            }
        }
        for secret in spec.secrets.iter().filter(|s| s.required) {
            if !sealed.contains_key(secret.name) {
                errors.add(&format!("credentials.{}", secret.name), "required");
            }
        }
        if !errors.is_empty() {
            return Err(WorkflowError::Validation(errors.clone()));
        }
        let keys = match (keys, to_seal) {
            (Some(k), _) => Some(k),
            (None, false) => None,
            (None, true) => {
                return Err(WorkflowError::Refused {
                    code: "secrets_key_missing",
                    details: json!({
                        "message": "TENTABO_SECRETS_KEY is not set: credentials cannot be stored"
                    }),
                });
            }
        };
        for (field, value) in &input.credentials {
            if let (Some(v), Some(keys)) = (value, keys) {
                let p = purpose(spec.kind, spec.name, field);
                sealed.insert(field.clone(), Value::String(keys.seal(&p, v)));
            }
        }
        let configuration = configuration.clone().map_err(WorkflowError::Validation)?;
        let created = existing.is_none();
        let row: StoredProvider = sql::query(format!(
            "INSERT INTO provider_configs (kind, name, configuration, credentials) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (kind, name) DO UPDATE SET configuration = EXCLUDED.configuration, \
                 credentials = EXCLUDED.credentials, version = provider_configs.version + 1, \
                 updated_at = now() \
             RETURNING {COLUMNS}"
        ))
        .bind(Bind::Text(spec.kind.as_str().to_owned()))
        .bind(Bind::Text(spec.name.to_owned()))
        .bind(Bind::Json(configuration.clone()))
        .bind(Bind::Json(Value::Object(sealed.into_iter().collect())))
        .get_result(conn)
        .await?;
        let changed: Vec<&String> = input.credentials.keys().collect();
        audit::record(
            conn,
            actor.audit.entry(
                if created {
                    "provider.created"
                } else {
                    "provider.configured"
                },
                "provider",
                format!("{}/{}", spec.kind.as_str(), spec.name),
                json!({
                    "configuration": configuration,
                    "credentials_changed": changed,
                    "credentials_set": row.secrets_set(),
                    "version": row.version,
                }),
            ),
        )
        .await?;
        Ok((row, created))
    })
    .await
}

/// Deletes a provider's configuration; refused while it is the active one.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    actor: &Actor<'_>,
    kind: ProviderKind,
    name: &str,
) -> Result<(), WorkflowError> {
    actor
        .authz
        .authorize(actor.who, Object::Provider, Action::Manage)?;
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        let Some(row) = read(conn, kind, name, "FOR UPDATE").await? else {
            return Err(WorkflowError::NotFound);
        };
        if row.is_active {
            return Err(WorkflowError::Refused {
                code: "provider_active",
                details: json!({
                    "message": "the active provider cannot be deleted: activate another one first"
                }),
            });
        }
        sql::query("DELETE FROM provider_configs WHERE id = $1")
            .bind(Bind::Uuid(row.id))
            .execute(conn)
            .await?;
        audit::record(
            conn,
            actor.audit.entry(
                "provider.deleted",
                "provider",
                format!("{}/{name}", kind.as_str()),
                json!({}),
            ),
        )
        .await
    })
    .await
}

/// Makes `name` the active provider of its kind and deactivates the previous one, in
/// one transaction (the caller has tested it). Answers the previous one's name.
pub async fn activate(
    conn: &mut AsyncPgConnection,
    audit_ctx: &AuditContext,
    kind: ProviderKind,
    name: &str,
) -> Result<Option<String>, WorkflowError> {
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            name: String,
            #[diesel(sql_type = Bool)]
            is_active: bool,
        }
        // Every row of the kind is locked: two switches take turns.
        let rows: Vec<Row> = sql::query(
            "SELECT name, is_active FROM provider_configs WHERE kind = $1 ORDER BY name FOR UPDATE",
        )
        .bind(Bind::Text(kind.as_str().to_owned()))
        .load(conn)
        .await?;
        if !rows.iter().any(|r| r.name == name) {
            return Err(WorkflowError::NotFound);
        }
        let previous = rows.iter().find(|r| r.is_active).map(|r| r.name.clone());
        if previous.as_deref() == Some(name) {
            return Ok(previous);
        }
        sql::query(
            "UPDATE provider_configs SET is_active = FALSE, version = version + 1, updated_at = now() \
             WHERE kind = $1 AND is_active",
        )
        .bind(Bind::Text(kind.as_str().to_owned()))
        .execute(conn)
        .await?;
        sql::query(
            "UPDATE provider_configs SET is_active = TRUE, version = version + 1, updated_at = now() \
             WHERE kind = $1 AND name = $2",
        )
        .bind(Bind::Text(kind.as_str().to_owned()))
        .bind(Bind::Text(name.to_owned()))
        .execute(conn)
        .await?;
        audit::record(
            conn,
            audit_ctx.entry(
                "provider.activated",
                "provider",
                format!("{}/{name}", kind.as_str()),
                json!({ "previous": previous }),
            ),
        )
        .await?;
        Ok(previous)
    })
    .await
}

/// Deactivates `name` (audited): its kind then has no active provider (for `auth`,
/// database login alone; for the others, effects wait until one is activated).
/// Answers whether it was active.
pub async fn deactivate(
    conn: &mut AsyncPgConnection,
    audit_ctx: &AuditContext,
    kind: ProviderKind,
    name: &str,
) -> Result<bool, WorkflowError> {
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = Bool)]
            is_active: bool,
        }
        let row: Option<Row> = sql::query(
            "SELECT is_active FROM provider_configs WHERE kind = $1 AND name = $2 FOR UPDATE",
        )
        .bind(Bind::Text(kind.as_str().to_owned()))
        .bind(Bind::Text(name.to_owned()))
        .get_result(conn)
        .await
        .optional()?;
        let row = row.ok_or(WorkflowError::NotFound)?;
        if !row.is_active {
            return Ok(false);
        }
        sql::query(
            "UPDATE provider_configs SET is_active = FALSE, version = version + 1, updated_at = now() \
             WHERE kind = $1 AND name = $2",
        )
        .bind(Bind::Text(kind.as_str().to_owned()))
        .bind(Bind::Text(name.to_owned()))
        .execute(conn)
        .await?;
        audit::record(
            conn,
            audit_ctx.entry(
                "provider.deactivated",
                "provider",
                format!("{}/{name}", kind.as_str()),
                json!({}),
            ),
        )
        .await?;
        Ok(true)
    })
    .await
}

/// One check's result, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, diesel::QueryableByName)]
pub struct HealthCheck {
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub reason: Option<String>,
    #[diesel(sql_type = Integer)]
    pub latency_ms: i32,
    #[diesel(sql_type = Text)]
    pub trigger: String,
    #[diesel(sql_type = Timestamptz)]
    pub checked_at: DateTime<Utc>,
}

/// How many checks are kept per provider.
pub const CHECKS_KEPT: i64 = 200;

/// Records a check on the provider's row and in its recent checks (the oldest beyond
/// [`CHECKS_KEPT`] go).
pub async fn record_health(
    conn: &mut AsyncPgConnection,
    kind: ProviderKind,
    name: &str,
    check: &HealthCheck,
) -> Result<(), WorkflowError> {
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        sql::query(
            "UPDATE provider_configs SET health_status = $3, health_reason = $4, \
                 last_health_check = $5 WHERE kind = $1 AND name = $2",
        )
        .bind(Bind::Text(kind.as_str().to_owned()))
        .bind(Bind::Text(name.to_owned()))
        .bind(Bind::Text(check.status.clone()))
        .bind(Bind::OptText(check.reason.clone()))
        .bind(Bind::Time(check.checked_at))
        .execute(conn)
        .await?;
        sql::query(
            "INSERT INTO provider_health_checks (kind, name, status, reason, latency_ms, trigger, checked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(Bind::Text(kind.as_str().to_owned()))
        .bind(Bind::Text(name.to_owned()))
        .bind(Bind::Text(check.status.clone()))
        .bind(Bind::OptText(check.reason.clone()))
        .bind(Bind::Int(check.latency_ms))
        .bind(Bind::Text(check.trigger.clone()))
        .bind(Bind::Time(check.checked_at))
        .execute(conn)
        .await?;
        sql::query(
            "DELETE FROM provider_health_checks WHERE kind = $1 AND name = $2 AND id <= \
                 (SELECT id FROM provider_health_checks WHERE kind = $1 AND name = $2 \
                  ORDER BY id DESC OFFSET $3 LIMIT 1)",
        )
        .bind(Bind::Text(kind.as_str().to_owned()))
        .bind(Bind::Text(name.to_owned()))
        .bind(Bind::BigInt(CHECKS_KEPT))
        .execute(conn)
        .await?;
        Ok(())
    })
    .await
}

pub async fn health_checks(
    conn: &mut AsyncPgConnection,
    kind: ProviderKind,
    name: &str,
    limit: i64,
) -> Result<Vec<HealthCheck>, WorkflowError> {
    Ok(sql::query(
        "SELECT status, reason, latency_ms, trigger, checked_at FROM provider_health_checks \
         WHERE kind = $1 AND name = $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(Bind::Text(kind.as_str().to_owned()))
    .bind(Bind::Text(name.to_owned()))
    .bind(Bind::BigInt(limit))
    .load(conn)
    .await?)
}

/// The environment's choice for a kind, written only while the table has no provider
/// of that kind (first start); after that the database is the truth. Answers whether
/// a row was written.
pub async fn bootstrap(
    conn: &mut AsyncPgConnection,
    keys: Option<&KeyRing>,
    spec: &'static ProviderSpec,
    configuration: Value,
    credentials: BTreeMap<String, SecretString>,
) -> Result<bool, WorkflowError> {
    let configuration = spec
        .check(&configuration)
        .map_err(WorkflowError::Validation)?;
    let mut sealed = serde_json::Map::new();
    for (field, value) in &credentials {
        let keys = keys.ok_or_else(|| {
            WorkflowError::Invalid(format!(
                "TENTABO_SECRETS_KEY is needed to store the {} {} credentials given in the environment",
                spec.kind.as_str(),
                spec.name
            ))
        })?;
        sealed.insert(
            field.clone(),
            Value::String(keys.seal(&purpose(spec.kind, spec.name, field), value)),
        );
    }
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        // Two processes starting at once: one writes, the other sees its row.
        sql::query(
            "SELECT pg_advisory_xact_lock(hashtextextended('provider_bootstrap:' || $1, 0))",
        )
        .bind(Bind::Text(spec.kind.as_str().to_owned()))
        .execute(conn)
        .await?;
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let n: N = sql::query("SELECT count(*) AS n FROM provider_configs WHERE kind = $1")
            .bind(Bind::Text(spec.kind.as_str().to_owned()))
            .get_result(conn)
            .await?;
        if n.n > 0 {
            return Ok(false);
        }
        sql::query(
            "INSERT INTO provider_configs (kind, name, configuration, credentials, is_active) \
             VALUES ($1, $2, $3, $4, TRUE)",
        )
        .bind(Bind::Text(spec.kind.as_str().to_owned()))
        .bind(Bind::Text(spec.name.to_owned()))
        .bind(Bind::Json(configuration.clone()))
        .bind(Bind::Json(Value::Object(sealed.clone())))
        .execute(conn)
        .await?;
        audit::record(
            conn,
            AuditContext::default().entry(
                "provider.bootstrapped",
                "provider",
                format!("{}/{}", spec.kind.as_str(), spec.name),
                json!({
                    "configuration": configuration,
                    "credentials_set": sealed.keys().collect::<Vec<_>>(),
                }),
            ),
        )
        .await?;
        Ok(true)
    })
    .await
}

/// Re-seals every stored credential under the ring's current key (key rotation); each
/// provider's row in one transaction with an audit row. Answers how many values moved.
pub async fn rotate(conn: &mut AsyncPgConnection, keys: &KeyRing) -> Result<usize, WorkflowError> {
    let rows = list(conn).await?;
    let mut moved = 0;
    for row in rows {
        let Some(kind) = ProviderKind::parse(&row.kind) else {
            continue;
        };
        let n = conn
            .transaction::<_, WorkflowError, _>(async |conn| {
                let locked: StoredProvider = sql::query(format!(
                    "SELECT {COLUMNS} FROM provider_configs WHERE id = $1 FOR UPDATE"
                ))
                .bind(Bind::Uuid(row.id))
                .get_result(conn)
                .await?;
                let mut creds = locked.credentials.as_object().cloned().unwrap_or_default();
                let mut n = 0;
                for (field, value) in creds.iter_mut() {
                    let Some(sealed) = value.as_str() else {
                        continue;
                    };
                    let p = purpose(kind, &locked.name, field);
                    let resealed = keys.reseal(&p, sealed).map_err(|e| {
                        WorkflowError::Invalid(format!(
                            "{}/{} credential `{field}`: {e}",
                            locked.kind, locked.name
                        ))
                    })?;
                    if let Some(v) = resealed {
                        *value = Value::String(v);
                        n += 1;
                    }
                }
                if n > 0 {
                    sql::query(
                        "UPDATE provider_configs SET credentials = $2, version = version + 1, \
                             updated_at = now() WHERE id = $1",
                    )
                    .bind(Bind::Uuid(row.id))
                    .bind(Bind::Json(Value::Object(creds)))
                    .execute(conn)
                    .await?;
                    audit::record(
                        conn,
                        AuditContext::default().entry(
                            "provider.credentials_resealed",
                            "provider",
                            format!("{}/{}", locked.kind, locked.name),
                            json!({ "key": keys.current(), "values": n }),
                        ),
                    )
                    .await?;
                }
                Ok(n)
            })
            .await?;
        moved += n;
    }
    Ok(moved)
}
