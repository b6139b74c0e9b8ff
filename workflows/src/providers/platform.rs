//! The running side of the provider platform: the active provider of a kind, built from
//! its stored configuration when a job or a request needs it (and rebuilt when its row's
//! version moves, so a changed configuration or a switch is seen by the next job without
//! a restart), connection tests, health, and activation.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use secrecy::SecretString;
use serde::Serialize;
use tentabo_schema::DbPool;
use uuid::Uuid;

use super::ldap::{DirectoryError, LdapDirectory, LdapSettings};
use super::odoo::{OdooClient, OdooConfig, OdooSettings};
use super::oidc::{OidcClient, OidcSettings};
use super::pennylane::{Pennylane, PennylaneSettings};
use super::pipedrive::{self, AuthMode, Pipedrive, PipedriveSettings, oauth};
use super::recording::Recording;
use super::registry::{self, ProviderKind};
use super::store::{self, HealthCheck, StoredProvider};
use super::{BillingProvider, CrmProvider, ProviderError};
use crate::WorkflowError;
use crate::authz::{Action, Actor, Object};
use crate::outbound::{BreakerState, Outbound};
use crate::retry::RetryPolicy;
use crate::secrets::KeyRing;
use diesel_async::AsyncConnection;

/// A provider built from its configuration.
#[derive(Clone)]
pub enum Instance {
    Crm(Arc<dyn CrmProvider>),
    Billing(Arc<dyn BillingProvider>),
    Erp(OdooConfig),
    /// A login directory (kind `auth`).
    Directory(Arc<LdapDirectory>),
    /// A single sign-on provider (kind `auth`).
    Sso(Arc<OidcClient>),
    /// The LLM engine of field mapping (kind `llm`).
    Llm(Arc<super::llm::LlmClient>),
}

struct Built {
    id: Uuid,
    version: i64,
    instance: Instance,
}

/// Checks slower than this make a provider `degraded`.
pub const SLOW_CHECK: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Healthy,
    Degraded,
    Offline,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Healthy => "healthy",
            Health::Degraded => "degraded",
            Health::Offline => "offline",
        }
    }
}

/// What a connection test found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckOutcome {
    pub ok: bool,
    pub status: Health,
    pub reason: Option<String>,
    pub latency_ms: i32,
    pub breaker: BreakerState,
}

pub struct Platform {
    db: DbPool,
    keys: Option<Arc<KeyRing>>,
    outbound: Outbound,
    retry: RetryPolicy,
    cache: Mutex<HashMap<ProviderKind, Arc<Built>>>,
    /// The Pipedrive client (active or not: the sync and webhooks use it), by row
    /// id and version.
    pipedrive: Mutex<Option<(Uuid, i64, Arc<Pipedrive>)>>,
    /// The environment's providers, written (once) before the first lookup.
    pending: Mutex<Vec<Bootstrap>>,
    bootstrapped: tokio::sync::OnceCell<()>,
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Platform").finish_non_exhaustive()
    }
}

impl Platform {
    pub fn new(
        db: DbPool,
        keys: Option<Arc<KeyRing>>,
        outbound: Outbound,
        retry: RetryPolicy,
    ) -> Platform {
        Platform {
            db,
            keys,
            outbound,
            retry,
            cache: Mutex::new(HashMap::new()),
            pipedrive: Mutex::new(None),
            pending: Mutex::new(Vec::new()),
            bootstrapped: tokio::sync::OnceCell::new(),
        }
    }

    /// Providers the environment names, written into an empty table before the first
    /// lookup (see [`Platform::bootstrap`]).
    pub fn with_bootstrap(self, choices: Vec<Bootstrap>) -> Platform {
        *self.pending.lock().unwrap_or_else(|p| p.into_inner()) = choices;
        self
    }

    async fn ensure_bootstrapped(&self) -> Result<(), WorkflowError> {
        self.bootstrapped
            .get_or_try_init(|| async {
                let choices = self
                    .pending
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                self.bootstrap(choices).await
            })
            .await
            .map(|_| ())
    }

    pub fn outbound(&self) -> &Outbound {
        &self.outbound
    }

    pub fn keys(&self) -> Option<&KeyRing> {
        self.keys.as_deref()
    }

    /// The active billing provider, as configured now.
    pub async fn billing(&self) -> Result<Arc<dyn BillingProvider>, WorkflowError> {
        match self.active(ProviderKind::Billing).await? {
            Some(Instance::Billing(b)) => Ok(b),
            _ => Err(WorkflowError::Upstream(
                "no billing provider is active".into(),
            )),
        }
    }

    /// The active CRM provider, as configured now.
    pub async fn crm(&self) -> Result<Arc<dyn CrmProvider>, WorkflowError> {
        match self.active(ProviderKind::Crm).await? {
            Some(Instance::Crm(c)) => Ok(c),
            _ => Err(WorkflowError::Upstream("no CRM provider is active".into())),
        }
    }

    /// The active ERP source (Odoo), if one is configured and active.
    pub async fn erp(&self) -> Result<Option<OdooConfig>, WorkflowError> {
        match self.active(ProviderKind::Erp).await? {
            Some(Instance::Erp(c)) => Ok(Some(c)),
            _ => Ok(None),
        }
    }

    /// The active LLM engine of field mapping, if one is configured and active.
    pub async fn llm(&self) -> Result<Option<Arc<super::llm::LlmClient>>, WorkflowError> {
        Ok(match self.active(ProviderKind::Llm).await? {
            Some(Instance::Llm(c)) => Some(c),
            _ => None,
        })
    }

    /// The active login provider (LDAP directory or SSO), if any: database login is
    /// always on besides it.
    pub async fn login_provider(&self) -> Result<Option<Instance>, WorkflowError> {
        self.active(ProviderKind::Auth).await
    }

    /// The active LDAP directory, if the active login provider is one.
    pub async fn directory(&self) -> Result<Option<Arc<LdapDirectory>>, WorkflowError> {
        Ok(match self.active(ProviderKind::Auth).await? {
            Some(Instance::Directory(d)) => Some(d),
            _ => None,
        })
    }

    /// The active single sign-on provider named `name`, if it is the active one.
    pub async fn sso(&self, name: &str) -> Result<Option<Arc<OidcClient>>, WorkflowError> {
        Ok(match self.active(ProviderKind::Auth).await? {
            Some(Instance::Sso(c)) if name == registry::OIDC => Some(c),
            _ => None,
        })
    }

    /// The configured LDAP directory, active or not (a fresh client: "test a login").
    pub async fn configured_directory(&self) -> Result<Arc<LdapDirectory>, WorkflowError> {
        let row = {
            let mut conn = self.db.get().await?;
            store::get(&mut conn, ProviderKind::Auth, registry::LDAP).await?
        }
        .ok_or(WorkflowError::NotFound)?;
        match self.build(&row)? {
            Instance::Directory(d) => Ok(d),
            _ => Err(WorkflowError::NotFound),
        }
    }

    async fn active(&self, kind: ProviderKind) -> Result<Option<Instance>, WorkflowError> {
        self.ensure_bootstrapped().await?;
        let mut conn = self.db.get().await?;
        let Some((id, version)) = store::active_stamp(&mut conn, kind).await? else {
            return Ok(None);
        };
        let cached = self.lock_cache().get(&kind).cloned();
        if let Some(built) = cached.filter(|b| b.id == id && b.version == version) {
            return Ok(Some(built.instance.clone()));
        }
        let Some(row) = store::active(&mut conn, kind).await? else {
            return Ok(None);
        };
        drop(conn);
        let instance = self.build(&row)?;
        self.lock_cache().insert(
            kind,
            Arc::new(Built {
                id: row.id,
                version: row.version,
                instance: instance.clone(),
            }),
        );
        Ok(Some(instance))
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<ProviderKind, Arc<Built>>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn secrets(
        &self,
        row: &StoredProvider,
    ) -> Result<BTreeMap<String, SecretString>, WorkflowError> {
        let kind = ProviderKind::parse(&row.kind).ok_or_else(|| {
            WorkflowError::Internal(format!("unknown provider kind `{}`", row.kind))
        })?;
        let mut out = BTreeMap::new();
        for (field, sealed) in row.credentials.as_object().into_iter().flatten() {
            let Some(sealed) = sealed.as_str() else {
                continue;
            };
            let keys = self.keys.as_deref().ok_or_else(|| {
                WorkflowError::Upstream(format!(
                    "{}/{} has credentials but TENTABO_SECRETS_KEY is not set",
                    row.kind, row.name
                ))
            })?;
            let plain = keys
                .open(&store::purpose(kind, &row.name, field), sealed)
                .map_err(|e| {
                    WorkflowError::Upstream(format!("{}/{} `{field}`: {e}", row.kind, row.name))
                })?;
            out.insert(field.clone(), plain);
        }
        Ok(out)
    }

    /// Builds the provider a stored row describes.
    pub fn build(&self, row: &StoredProvider) -> Result<Instance, WorkflowError> {
        let unknown = || {
            WorkflowError::Upstream(format!(
                "provider {}/{} is not known to this build",
                row.kind, row.name
            ))
        };
        let spec = row.spec().ok_or_else(unknown)?;
        let mut secrets = self.secrets(row)?;
        let mut secret = |name: &str| {
            secrets.remove(name).ok_or_else(|| {
                WorkflowError::Upstream(format!("{}/{} has no `{name}` set", row.kind, row.name))
            })
        };
        match (spec.kind, spec.name) {
            (ProviderKind::Crm, registry::RECORDING) => {
                Ok(Instance::Crm(Arc::new(Recording::new(self.db.clone()))))
            }
            (ProviderKind::Billing, registry::RECORDING) => {
                Ok(Instance::Billing(Arc::new(Recording::new(self.db.clone()))))
            }
            (ProviderKind::Billing, registry::PENNYLANE) => {
                let settings: PennylaneSettings = registry::settings(&row.configuration)?;
                Ok(Instance::Billing(Arc::new(Pennylane::new(
                    self.outbound.clone(),
                    settings,
                    secret("api_key")?,
                    self.retry,
                ))))
            }
            (ProviderKind::Crm, registry::PIPEDRIVE) => {
                Ok(Instance::Crm(self.build_pipedrive(row)?))
            }
            (ProviderKind::Auth, registry::LDAP) => {
                let settings: LdapSettings = registry::settings(&row.configuration)?;
                let directory = LdapDirectory::new(settings, secret("bind_password")?)
                    .map_err(|e| WorkflowError::Upstream(e.to_string()))?;
                Ok(Instance::Directory(Arc::new(directory)))
            }
            (ProviderKind::Auth, registry::OIDC) => {
                let settings: OidcSettings = registry::settings(&row.configuration)?;
                Ok(Instance::Sso(Arc::new(OidcClient::new(
                    settings,
                    secret("client_secret")?,
                    self.outbound.clone(),
                    self.retry,
                ))))
            }
            (ProviderKind::Llm, registry::LLM) => {
                let settings: super::llm::LlmSettings = registry::settings(&row.configuration)?;
                Ok(Instance::Llm(Arc::new(super::llm::LlmClient::new(
                    self.outbound.clone(),
                    settings,
                    secret("api_key")?,
                    self.retry,
                ))))
            }
            (ProviderKind::Erp, registry::ODOO) => {
                let settings: OdooSettings = registry::settings(&row.configuration)?;
                Ok(Instance::Erp(OdooConfig::from_settings(
                    &settings,
                    secret("password")?,
                    self.retry,
                )))
            }
            _ => Err(unknown()),
        }
    }

    /// The Pipedrive client a stored row describes (cached while the row's version
    /// holds, so its reference field and stages are looked up once).
    fn build_pipedrive(&self, row: &StoredProvider) -> Result<Arc<Pipedrive>, WorkflowError> {
        {
            let cached = self.pipedrive.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((id, version, client)) = cached.as_ref()
                && *id == row.id
                && *version == row.version
            {
                return Ok(client.clone());
            }
        }
        let settings: PipedriveSettings = registry::settings(&row.configuration)?;
        let mut secrets = self.secrets(row)?;
        let missing =
            |what: &str| WorkflowError::Upstream(format!("crm/pipedrive has no `{what}` set"));
        let auth = match settings.auth {
            AuthMode::ApiToken => pipedrive::Auth::Token(
                secrets
                    .remove("api_token")
                    .ok_or_else(|| missing("api_token"))?,
            ),
            AuthMode::Oauth => {
                let secret = secrets
                    .remove("oauth_client_secret")
                    .ok_or_else(|| missing("oauth_client_secret"))?;
                let client = oauth::Client::from_settings(&settings, secret)
                    .ok_or_else(|| missing("oauth_client_id"))?;
                let tokens = secrets.remove("oauth_tokens").ok_or_else(|| {
                    WorkflowError::Upstream(
                        "crm/pipedrive is not connected: connect it to Pipedrive from the console (OAuth)".into(),
                    )
                })?;
                let tokens = oauth::Tokens::from_secret(&tokens)
                    .map_err(|e| WorkflowError::Upstream(e.to_string()))?;
                let keys = self.keys.clone().ok_or_else(|| {
                    WorkflowError::Upstream("TENTABO_SECRETS_KEY is not set".into())
                })?;
                pipedrive::Auth::OAuth(Arc::new(oauth::Session::new(
                    self.outbound.clone(),
                    self.retry,
                    client,
                    tokens,
                    Arc::new(DbTokens {
                        db: self.db.clone(),
                        keys,
                    }),
                )))
            }
        };
        let client = Arc::new(Pipedrive::new(
            self.outbound.clone(),
            settings,
            auth,
            self.retry,
        ));
        *self.pipedrive.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((row.id, row.version, client.clone()));
        Ok(client)
    }

    /// The configured Pipedrive client, active or not (`None` when not configured).
    pub async fn pipedrive(&self) -> Result<Option<Arc<Pipedrive>>, WorkflowError> {
        let row = {
            let mut conn = self.db.get().await?;
            store::get(&mut conn, ProviderKind::Crm, registry::PIPEDRIVE).await?
        };
        match row {
            Some(row) => self.build_pipedrive(&row).map(Some),
            None => Ok(None),
        }
    }

    /// The configured Pennylane client (active or not: a sync reads what it billed).
    pub async fn pennylane(&self) -> Result<Option<Pennylane>, WorkflowError> {
        let row = {
            let mut conn = self.db.get().await?;
            store::get(&mut conn, ProviderKind::Billing, registry::PENNYLANE).await?
        };
        let Some(row) = row else { return Ok(None) };
        let settings: PennylaneSettings = registry::settings(&row.configuration)?;
        let token = self.secrets(&row)?.remove("api_key").ok_or_else(|| {
            WorkflowError::Upstream("billing/pennylane has no `api_key` set".into())
        })?;
        Ok(Some(Pennylane::new(
            self.outbound.clone(),
            settings,
            token,
            self.retry,
        )))
    }

    /// A live call with the provider's configuration.
    pub async fn check(&self, row: &StoredProvider) -> CheckOutcome {
        let started = Instant::now();
        let result = match self.build(row) {
            Ok(Instance::Billing(b)) => b.check().await,
            Ok(Instance::Crm(c)) => c.check().await,
            Ok(Instance::Erp(config)) => {
                let mut client = OdooClient::new(config, self.outbound.clone());
                client
                    .login()
                    .await
                    .map(|_| ())
                    .map_err(|e| ProviderError::Permanent(e.to_string()))
            }
            Ok(Instance::Directory(d)) => d.check().await.map_err(|e| match e {
                DirectoryError::Unavailable(r) => ProviderError::Transient(r),
                other => ProviderError::Permanent(other.to_string()),
            }),
            Ok(Instance::Sso(c)) => c
                .check()
                .await
                .map_err(|e| ProviderError::Permanent(e.to_string())),
            Ok(Instance::Llm(c)) => c.check().await.map_err(|e| match e {
                super::llm::LlmError::Unavailable(r) => ProviderError::Transient(r),
                other => ProviderError::Permanent(other.to_string()),
            }),
            Err(e) => Err(ProviderError::Permanent(e.to_string())),
        };
        let latency = started.elapsed();
        let breaker = self.outbound.breaker_state(&row.name);
        let (ok, status, reason) = match result {
            Ok(()) if breaker != BreakerState::Closed => (
                true,
                Health::Degraded,
                Some(format!("circuit breaker {}", breaker.as_str())),
            ),
            Ok(()) if latency > SLOW_CHECK => (
                true,
                Health::Degraded,
                Some(format!("slow answer ({} ms)", latency.as_millis())),
            ),
            Ok(()) => (true, Health::Healthy, None),
            Err(ProviderError::Transient(r) | ProviderError::Permanent(r)) => {
                (false, Health::Offline, Some(r))
            }
        };
        CheckOutcome {
            ok,
            status,
            reason,
            latency_ms: i32::try_from(latency.as_millis()).unwrap_or(i32::MAX),
            breaker,
        }
    }

    /// Tests a configured provider and records its health.
    pub async fn test(
        &self,
        kind: ProviderKind,
        name: &str,
        trigger: &str,
    ) -> Result<CheckOutcome, WorkflowError> {
        let row = {
            let mut conn = self.db.get().await?;
            store::get(&mut conn, kind, name).await?
        }
        .ok_or(WorkflowError::NotFound)?;
        let outcome = self.check(&row).await;
        let mut conn = self.db.get().await?;
        store::record_health(
            &mut conn,
            kind,
            name,
            &HealthCheck {
                status: outcome.status.as_str().to_owned(),
                reason: outcome.reason.clone(),
                latency_ms: outcome.latency_ms,
                trigger: trigger.to_owned(),
                checked_at: Utc::now(),
            },
        )
        .await?;
        Ok(outcome)
    }

    /// Switches the active provider of `kind` to `name`: it must pass a live test first;
    /// a failing one is refused and the active one stays.
    pub async fn activate(
        &self,
        actor: &Actor<'_>,
        kind: ProviderKind,
        name: &str,
    ) -> Result<(CheckOutcome, Option<String>), WorkflowError> {
        actor
            .authz
            .authorize(actor.who, Object::Provider, Action::Manage)?;
        let outcome = self.test(kind, name, "test").await?;
        if !outcome.ok {
            return Err(WorkflowError::Refused {
                code: "provider_test_failed",
                details: serde_json::json!({
                    "message": "the provider failed its connection test; the active provider is unchanged",
                    "reason": outcome.reason,
                }),
            });
        }
        let mut conn = self.db.get().await?;
        let previous = store::activate(&mut conn, actor.audit, kind, name).await?;
        drop(conn);
        // Webhooks follow activation (calls made after the switch committed).
        if kind == ProviderKind::Crm && previous.as_deref() != Some(name) {
            if previous.as_deref() == Some(registry::PIPEDRIVE)
                && let Err(e) = self.remove_pipedrive_webhooks().await
            {
                tracing::warn!(error = %e, "Pipedrive webhooks not removed on deactivation");
            }
            if name == registry::PIPEDRIVE
                && let Err(e) = self.register_pipedrive_webhooks().await
            {
                tracing::warn!(error = %e, "Pipedrive webhooks not registered on activation");
            }
        }
        Ok((outcome, previous))
    }

    /// Deactivates a provider (admins, audited); Pipedrive's webhooks are removed after
    /// the switch committed. Answers whether it was active.
    pub async fn deactivate(
        &self,
        actor: &Actor<'_>,
        kind: ProviderKind,
        name: &str,
    ) -> Result<bool, WorkflowError> {
        actor
            .authz
            .authorize(actor.who, Object::Provider, Action::Manage)?;
        let mut conn = self.db.get().await?;
        let was_active = store::deactivate(&mut conn, actor.audit, kind, name).await?;
        drop(conn);
        if was_active
            && kind == ProviderKind::Crm
            && name == registry::PIPEDRIVE
            && let Err(e) = self.remove_pipedrive_webhooks().await
        {
            tracing::warn!(error = %e, "Pipedrive webhooks not removed on deactivation");
        }
        Ok(was_active)
    }

    /// The scheduled health check: every configured provider, one after another.
    pub async fn check_all(&self) -> Result<usize, WorkflowError> {
        let rows = {
            let mut conn = self.db.get().await?;
            store::list(&mut conn).await?
        };
        let mut n = 0;
        for row in rows {
            let Some(kind) = ProviderKind::parse(&row.kind) else {
                continue;
            };
            let outcome = self.test(kind, &row.name, "schedule").await?;
            metrics::gauge!("tentabo_provider_health", "provider" => row.name.clone(), "kind" => row.kind.clone())
                .set(match outcome.status {
                    Health::Healthy => 2.0,
                    Health::Degraded => 1.0,
                    Health::Offline => 0.0,
                });
            n += 1;
        }
        Ok(n)
    }

    /// Writes the environment's providers into an empty table (first start).
    pub async fn bootstrap(&self, choices: Vec<Bootstrap>) -> Result<(), WorkflowError> {
        let mut conn = self.db.get().await?;
        for b in choices {
            let spec = registry::find(b.kind, &b.name).ok_or_else(|| {
                WorkflowError::Invalid(format!(
                    "unknown {} provider `{}` (known: {})",
                    b.kind.as_str(),
                    b.name,
                    registry::of_kind(b.kind)
                        .map(|s| s.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            if store::bootstrap(&mut conn, self.keys(), spec, b.configuration, b.credentials)
                .await?
            {
                tracing::info!(kind = b.kind.as_str(), name = %b.name, "provider configured from the environment");
            }
        }
        Ok(())
    }
}

/// Webhook deliveries authenticate with this HTTP Basic user name.
pub const WEBHOOK_USER: &str = "tentabo";

impl Platform {
    /// Registers Tentabo's webhooks in Pipedrive (when enabled and a public URL is
    /// configured), with a freshly generated Basic password stored sealed; webhooks
    /// registered before are removed first. Answers how many were registered.
    pub async fn register_pipedrive_webhooks(&self) -> Result<usize, WorkflowError> {
        let Some(client) = self.pipedrive().await? else {
            return Ok(0);
        };
        let settings = client.settings().clone();
        let Some(url) = settings.webhook_url().filter(|_| settings.webhooks) else {
            return Ok(0);
        };
        let keys = self.keys.clone().ok_or_else(|| {
            WorkflowError::Upstream(
                "TENTABO_SECRETS_KEY is not set: webhook credentials cannot be stored".into(),
            )
        })?;
        self.remove_pipedrive_webhooks().await?;
        let password = SecretString::from(crate::secrets::random_token(32));
        {
            let mut conn = self.db.get().await?;
            store::set_internal_credential(
                &mut conn,
                &keys,
                ProviderKind::Crm,
                registry::PIPEDRIVE,
                "webhook_password",
                Some(&password),
                false,
            )
            .await?;
        }
        let ids = client
            .register_webhooks(&url, WEBHOOK_USER, &password)
            .await
            .map_err(|e| WorkflowError::Upstream(e.to_string()))?;
        let mut conn = self.db.get().await?;
        store::set_runtime(
            &mut conn,
            ProviderKind::Crm,
            registry::PIPEDRIVE,
            "webhooks",
            serde_json::json!(ids),
        )
        .await?;
        Ok(ids.len())
    }

    /// Removes the webhooks Tentabo registered, and their password.
    pub async fn remove_pipedrive_webhooks(&self) -> Result<usize, WorkflowError> {
        let row = {
            let mut conn = self.db.get().await?;
            store::get(&mut conn, ProviderKind::Crm, registry::PIPEDRIVE).await?
        };
        let Some(row) = row else { return Ok(0) };
        let ids: Vec<i64> = row
            .runtime
            .get("webhooks")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default();
        if !ids.is_empty() {
            let client = self.build_pipedrive(&row)?;
            client
                .remove_webhooks(&ids)
                .await
                .map_err(|e| WorkflowError::Upstream(e.to_string()))?;
        }
        let mut conn = self.db.get().await?;
        store::set_runtime(
            &mut conn,
            ProviderKind::Crm,
            registry::PIPEDRIVE,
            "webhooks",
            serde_json::json!([]),
        )
        .await?;
        if let Some(keys) = self.keys.as_deref() {
            store::set_internal_credential(
                &mut conn,
                keys,
                ProviderKind::Crm,
                registry::PIPEDRIVE,
                "webhook_password",
                None,
                false,
            )
            .await?;
        }
        Ok(ids.len())
    }
}

/// How long an OAuth `state` (the admin's trip to Pipedrive and back) stays valid.
pub const OAUTH_STATE_TTL: chrono::Duration = chrono::Duration::minutes(15);

/// Where Pipedrive sends the admin back after authorizing Tentabo.
pub fn pipedrive_redirect_uri(settings: &PipedriveSettings) -> Option<String> {
    settings.public_url.as_deref().map(|u| {
        format!(
            "{}/api/v1/providers/crm/pipedrive/oauth/callback",
            u.trim_end_matches('/')
        )
    })
}

fn state_hash(state: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(state.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Platform {
    /// Starts connecting Pipedrive with OAuth (admins): answers the authorization page
    /// to send the admin to. The `state` it carries is single-use, expires after
    /// [`OAUTH_STATE_TTL`], and only its hash is stored.
    pub async fn pipedrive_authorize_url(
        &self,
        actor: &Actor<'_>,
    ) -> Result<String, WorkflowError> {
        actor
            .authz
            .authorize(actor.who, Object::Provider, Action::Manage)?;
        let mut conn = self.db.get().await?;
        let row = store::get(&mut conn, ProviderKind::Crm, registry::PIPEDRIVE)
            .await?
            .ok_or(WorkflowError::NotFound)?;
        let settings: PipedriveSettings = registry::settings(&row.configuration)?;
        let refused = |code: &'static str, message: &str| WorkflowError::Refused {
            code,
            details: serde_json::json!({ "message": message }),
        };
        if settings.auth != AuthMode::Oauth {
            return Err(refused(
                "oauth_not_configured",
                "set `auth` to `oauth` and the app's client id and secret first",
            ));
        }
        let Some(redirect) = pipedrive_redirect_uri(&settings) else {
            return Err(refused(
                "public_url_required",
                "set `public_url`: Pipedrive sends the admin back there",
            ));
        };
        let secret = self
            .keys
            .as_deref()
            .map(|k| store::open_credential(k, &row, "oauth_client_secret"))
            .transpose()?
            .flatten()
            .ok_or_else(|| refused("oauth_not_configured", "the OAuth client secret is not set"))?;
        let client = oauth::Client::from_settings(&settings, secret)
            .ok_or_else(|| refused("oauth_not_configured", "the OAuth client id is not set"))?;
        let state = crate::secrets::random_token(24);
        store::set_runtime(
            &mut conn,
            ProviderKind::Crm,
            registry::PIPEDRIVE,
            "oauth_state",
            serde_json::json!({
                "hash": state_hash(&state),
                "expires_at": Utc::now() + OAUTH_STATE_TTL,
                "user_id": actor.who.user_id,
            }),
        )
        .await?;
        Ok(oauth::authorize_url(&client, &redirect, &state))
    }

    /// Finishes connecting: checks the `state`, exchanges the code for tokens, stores
    /// them sealed (every process rebuilds its client) with an audit row naming the
    /// admin who started, and checks the connection.
    pub async fn pipedrive_connect(&self, code: &str, state: &str) -> Result<(), WorkflowError> {
        let invalid = || WorkflowError::Refused {
            code: "oauth_state_invalid",
            details: serde_json::json!({ "message": "this authorization is unknown, used or expired: connect again" }),
        };
        let row = {
            let mut conn = self.db.get().await?;
            store::get(&mut conn, ProviderKind::Crm, registry::PIPEDRIVE)
                .await?
                .ok_or(WorkflowError::NotFound)?
        };
        let pending = row.runtime.get("oauth_state").cloned().unwrap_or_default();
        let hash_ok =
            pending.get("hash").and_then(serde_json::Value::as_str) == Some(&state_hash(state));
        let fresh = pending
            .get("expires_at")
            .and_then(|t| serde_json::from_value::<chrono::DateTime<Utc>>(t.clone()).ok())
            .is_some_and(|t| t > Utc::now());
        if !(hash_ok && fresh) {
            return Err(invalid());
        }
        let user_id: Option<Uuid> = pending
            .get("user_id")
            .and_then(|u| serde_json::from_value(u.clone()).ok());
        let keys = self
            .keys
            .clone()
            .ok_or_else(|| WorkflowError::Upstream("TENTABO_SECRETS_KEY is not set".into()))?;
        let settings: PipedriveSettings = registry::settings(&row.configuration)?;
        let secret =
            store::open_credential(&keys, &row, "oauth_client_secret")?.ok_or_else(invalid)?;
        let client = oauth::Client::from_settings(&settings, secret).ok_or_else(invalid)?;
        let redirect = pipedrive_redirect_uri(&settings).ok_or_else(invalid)?;
        // The state is spent whatever the exchange says.
        {
            let mut conn = self.db.get().await?;
            store::set_runtime(
                &mut conn,
                ProviderKind::Crm,
                registry::PIPEDRIVE,
                "oauth_state",
                serde_json::Value::Null,
            )
            .await?;
        }
        let tokens = oauth::exchange_code(&self.outbound, self.retry, &client, code, &redirect)
            .await
            .map_err(|e| WorkflowError::Refused {
                code: "oauth_exchange_failed",
                details: serde_json::json!({ "message": e.to_string() }),
            })?;
        let mut conn = self.db.get().await?;
        conn.transaction::<_, WorkflowError, _>(async |conn| {
            store::set_internal_credential(
                conn,
                &keys,
                ProviderKind::Crm,
                registry::PIPEDRIVE,
                "oauth_tokens",
                Some(&tokens.to_secret()),
                true,
            )
            .await?;
            crate::audit::record(
                conn,
                crate::audit::AuditContext {
                    actor_id: user_id,
                    request_id: None,
                    client_ip: None,
                }
                .entry(
                    "provider.oauth_connected",
                    "provider",
                    "crm/pipedrive",
                    serde_json::json!({ "scope": tokens.scope, "api_domain": tokens.api_domain }),
                ),
            )
            .await
        })
        .await?;
        drop(conn);
        self.test(ProviderKind::Crm, registry::PIPEDRIVE, "test")
            .await?;
        Ok(())
    }
}

/// Where a Pipedrive OAuth session keeps its tokens: sealed in `provider_configs`.
struct DbTokens {
    db: DbPool,
    keys: Arc<KeyRing>,
}

#[async_trait::async_trait]
impl oauth::TokenStore for DbTokens {
    async fn load(&self) -> Result<Option<oauth::Tokens>, ProviderError> {
        let transient = |e: WorkflowError| ProviderError::Transient(e.to_string());
        let mut conn = self
            .db
            .get()
            .await
            .map_err(|e| ProviderError::Transient(e.to_string()))?;
        let Some(row) = store::get(&mut conn, ProviderKind::Crm, registry::PIPEDRIVE)
            .await
            .map_err(transient)?
        else {
            return Ok(None);
        };
        match store::open_credential(&self.keys, &row, "oauth_tokens").map_err(transient)? {
            Some(s) => oauth::Tokens::from_secret(&s).map(Some),
            None => Ok(None),
        }
    }

    async fn save(&self, tokens: &oauth::Tokens) -> Result<(), ProviderError> {
        let mut conn = self
            .db
            .get()
            .await
            .map_err(|e| ProviderError::Transient(e.to_string()))?;
        store::set_internal_credential(
            &mut conn,
            &self.keys,
            ProviderKind::Crm,
            registry::PIPEDRIVE,
            "oauth_tokens",
            Some(&tokens.to_secret()),
            false,
        )
        .await
        .map_err(|e| ProviderError::Transient(e.to_string()))
    }

    async fn revoked(&self, reason: &str) {
        let result = async {
            let mut conn = self.db.get().await?;
            store::record_health(
                &mut conn,
                ProviderKind::Crm,
                registry::PIPEDRIVE,
                &HealthCheck {
                    status: Health::Offline.as_str().to_owned(),
                    reason: Some(reason.to_owned()),
                    latency_ms: 0,
                    trigger: "call".to_owned(),
                    checked_at: Utc::now(),
                },
            )
            .await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "revoked Pipedrive grant not recorded in health");
        }
    }
}

/// A provider named by the environment (`TENTABO_BILLING_PROVIDER`, `TENTABO_ODOO_*`).
#[derive(Clone)]
pub struct Bootstrap {
    pub kind: ProviderKind,
    pub name: String,
    pub configuration: serde_json::Value,
    pub credentials: BTreeMap<String, SecretString>,
}
