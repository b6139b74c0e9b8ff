//! An LDAP directory (OpenLDAP, the Oxiadmin directory, Active Directory) as a login
//! source, with `ldap3`.
//!
//! A login: a pooled connection binds as the service account, searches the user with
//! the configured filter (the login escaped with [`ldap3::ldap_escape`], so `*`, `(`,
//! `)`, `\` and NUL are literal characters), then binds as the user's DN with the
//! presented password. An unknown login binds a DN that does not exist instead, so both
//! failures cost the same round trips and answer the same. Groups come from the
//! user's `memberOf` (or a group search), and are mapped to a role and an organisation
//! by [`crate::identity::external`].
//!
//! Connections are kept in a small pool (`pool_size`), every operation has a timeout,
//! and a connection that failed is dropped rather than reused. `ldaps://` URLs and
//! StartTLS verify the server against the configured CA (PEM) or the system's roots.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchEntry};
use schemars::JsonSchema;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use super::registry::Settings;
use crate::error::FieldErrors;
use crate::identity::Role;

pub const NAME: &str = "ldap";

/// LDAP result code for a refused bind (wrong password, unknown DN).
const INVALID_CREDENTIALS: u32 = 49;

/// Where a user's groups come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupSource {
    /// The user entry's `memberOf` attribute (OpenLDAP's memberof overlay, Active
    /// Directory).
    #[default]
    MemberOf,
    /// A search of groups naming the user as a member (`group_filter`).
    Search,
}

/// One row of the group → role table: the first row whose group the user is in wins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupMapping {
    /// The group's DN, or its common name (`cn`), compared without regard to case.
    /// For OpenID Connect: a value of the role claim (an app role, or a group's object
    /// id in Entra ID).
    #[schemars(length(min = 1, max = 500))]
    pub group: String,
    pub role: Role,
    /// The partner's or distributor's name, for the partner and distributor roles.
    #[serde(default)]
    pub organisation: Option<String>,
}

/// Checks a mapping table (keys `configuration.<field>.<row>.…`).
pub fn validate_mappings(field: &str, rows: &[GroupMapping], errors: &mut FieldErrors) {
    for (i, row) in rows.iter().enumerate() {
        if row.group.trim().is_empty() {
            errors.add(&format!("configuration.{field}.{i}.group"), "required");
        }
        let needs_org = matches!(row.role, Role::Partner | Role::Distributor);
        let has_org = row
            .organisation
            .as_deref()
            .is_some_and(|o| !o.trim().is_empty());
        if needs_org && !has_org {
            errors.add(
                &format!("configuration.{field}.{i}.organisation"),
                "required",
            );
        }
        if !needs_org && has_org {
            errors.add(
                &format!("configuration.{field}.{i}.organisation"),
                "not_allowed_for_role",
            );
        }
    }
}

/// The directory's settings (the service account's password is a credential).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LdapSettings {
    /// `ldap://host:389` or `ldaps://host:636`.
    #[schemars(length(min = 8, max = 500))]
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS before binding.
    #[serde(default)]
    pub starttls: bool,
    /// CA certificate(s), PEM, the server's certificate must chain to (empty: the
    /// system's roots).
    #[serde(default)]
    #[schemars(length(max = 20000))]
    pub ca_certificate: Option<String>,
    /// The service account that searches users and groups.
    #[schemars(length(min = 1, max = 500))]
    pub bind_dn: String,
    /// Where users are searched (subtree).
    #[schemars(length(min = 1, max = 500))]
    pub user_base_dn: String,
    /// The user search; `{login}` stands for what the user typed (escaped).
    #[serde(default = "default_user_filter")]
    #[schemars(length(min = 9, max = 1000))]
    pub user_filter: String,
    #[serde(default = "default_mail")]
    pub email_attribute: String,
    #[serde(default = "default_name")]
    pub name_attribute: String,
    #[serde(default)]
    pub group_source: GroupSource,
    /// Where groups are searched (with `group_source: search`).
    #[serde(default)]
    pub group_base_dn: Option<String>,
    /// The group search; `{dn}` stands for the user's DN (escaped).
    #[serde(default = "default_group_filter")]
    pub group_filter: String,
    /// Groups → role and organisation; a user in none of them may not log in.
    #[serde(default)]
    pub group_mappings: Vec<GroupMapping>,
    /// Seconds before a connection or an operation is abandoned.
    #[serde(default = "five")]
    #[schemars(range(min = 1, max = 60))]
    pub timeout_seconds: u32,
    /// Connections kept open (and the most used at once).
    #[serde(default = "four")]
    #[schemars(range(min = 1, max = 32))]
    pub pool_size: u32,
    /// Run the directory sync every night (users gone or unmapped are disabled).
    #[serde(default = "yes")]
    pub nightly_sync: bool,
}

fn default_user_filter() -> String {
    "(&(objectClass=inetOrgPerson)(|(uid={login})(mail={login})))".into()
}
fn default_group_filter() -> String {
    "(&(objectClass=groupOfNames)(member={dn}))".into()
}
fn default_mail() -> String {
    "mail".into()
}
fn default_name() -> String {
    "cn".into()
}
fn five() -> u32 {
    5
}
fn four() -> u32 {
    4
}
fn yes() -> bool {
    true
}

/// Whether a filter's parentheses balance (a typo there would match the wrong users).
fn balanced(filter: &str) -> bool {
    let mut depth = 0i32;
    let mut escaped = false;
    for c in filter.chars() {
        match c {
            '\\' => escaped = !escaped,
            '(' if !escaped => depth += 1,
            ')' if !escaped => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => escaped = false,
        }
    }
    depth == 0 && filter.starts_with('(')
}

impl Settings for LdapSettings {
    fn validate(&self, errors: &mut FieldErrors) {
        let scheme = self.url.split("://").next().unwrap_or_default();
        if !matches!(scheme, "ldap" | "ldaps") || !self.url.contains("://") {
            errors.add("configuration.url", "invalid_ldap_url");
        }
        if self.starttls && scheme == "ldaps" {
            errors.add("configuration.starttls", "starttls_with_ldaps");
        }
        if !self.user_filter.contains("{login}") || !balanced(&self.user_filter) {
            errors.add("configuration.user_filter", "invalid_filter");
        }
        if self.group_source == GroupSource::Search {
            if !self.group_filter.contains("{dn}") || !balanced(&self.group_filter) {
                errors.add("configuration.group_filter", "invalid_filter");
            }
            if self.group_base_dn.as_deref().is_none_or(str::is_empty) {
                errors.add("configuration.group_base_dn", "required");
            }
        }
        if let Some(pem) = self
            .ca_certificate
            .as_deref()
            .filter(|p| !p.trim().is_empty())
            && roots(pem).is_err()
        {
            errors.add("configuration.ca_certificate", "invalid_certificate");
        }
        validate_mappings("group_mappings", &self.group_mappings, errors);
    }
}

/// Trusted roots from PEM text.
fn roots(pem: &str) -> Result<rustls::RootCertStore, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut store = rustls::RootCertStore::empty();
    let mut count = 0;
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let cert = cert.map_err(|e| format!("unreadable PEM: {e}"))?;
        store
            .add(cert)
            .map_err(|e| format!("unusable certificate: {e}"))?;
        count += 1;
    }
    if count == 0 {
        return Err("no certificate in the PEM text".into());
    }
    Ok(store)
}

/// Why the directory said no, or could not say.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// Unknown login, wrong password, or an ambiguous login (deliberately one case).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The directory did not answer (refused, timed out, closed): try again later.
    #[error("directory unavailable: {0}")]
    Unavailable(String),
    /// The directory answered but refuses our configuration (the service bind, a bad
    /// base DN or filter).
    #[error("directory refused the configuration: {0}")]
    Misconfigured(String),
}

/// A directory entry as Tentabo reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectoryUser {
    pub dn: String,
    pub email: Option<String>,
    pub full_name: Option<String>,
    /// Group DNs.
    pub groups: Vec<String>,
}

/// The directory client: settings, the service password, and a pool of connections.
pub struct LdapDirectory {
    settings: LdapSettings,
    bind_password: SecretString,
    tls: Option<Arc<rustls::ClientConfig>>,
    idle: Mutex<Vec<Ldap>>,
    permits: Semaphore,
}

impl std::fmt::Debug for LdapDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapDirectory")
            .field("url", &self.settings.url)
            .finish_non_exhaustive()
    }
}

/// A pooled connection, given back when dropped unless it failed.
struct Pooled<'a> {
    dir: &'a LdapDirectory,
    ldap: Option<Ldap>,
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl Pooled<'_> {
    fn ldap(&mut self) -> &mut Ldap {
        // Present until `broken` takes it.
        self.ldap
            .as_mut()
            .expect("a pooled connection is present until dropped")
    }
    /// The connection failed: close it instead of reusing it.
    fn broken(&mut self) {
        self.ldap = None;
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(ldap) = self.ldap.take() {
            self.dir
                .idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(ldap);
        }
    }
}

/// An operation's failure: a refusal by the server (with its result code) or a
/// connection problem.
fn classify(e: LdapError) -> (Option<u32>, String) {
    match e {
        LdapError::LdapResult { result } => (
            Some(result.rc),
            format!("result code {} {}", result.rc, result.text),
        ),
        other => (None, other.to_string()),
    }
}

impl LdapDirectory {
    pub fn new(
        settings: LdapSettings,
        bind_password: SecretString,
    ) -> Result<LdapDirectory, DirectoryError> {
        let tls = match settings
            .ca_certificate
            .as_deref()
            .filter(|p| !p.trim().is_empty())
        {
            Some(pem) => {
                let store = roots(pem).map_err(DirectoryError::Misconfigured)?;
                Some(Arc::new(
                    rustls::ClientConfig::builder_with_provider(Arc::new(
                        rustls::crypto::aws_lc_rs::default_provider(),
                    ))
                    .with_safe_default_protocol_versions()
                    .map_err(|e| DirectoryError::Misconfigured(e.to_string()))?
                    .with_root_certificates(store)
                    .with_no_client_auth(),
                ))
            }
            None => None,
        };
        let permits = Semaphore::new(settings.pool_size.clamp(1, 32) as usize);
        Ok(LdapDirectory {
            settings,
            bind_password,
            tls,
            idle: Mutex::new(Vec::new()),
            permits,
        })
    }

    pub fn settings(&self) -> &LdapSettings {
        &self.settings
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.settings.timeout_seconds.max(1)))
    }

    async fn open(&self) -> Result<Ldap, DirectoryError> {
        let mut conn = LdapConnSettings::new()
            .set_conn_timeout(self.timeout())
            .set_starttls(self.settings.starttls);
        if let Some(tls) = &self.tls {
            conn = conn.set_config(tls.clone());
        }
        let (driver, ldap) = LdapConnAsync::with_settings(conn, &self.settings.url)
            .await
            .map_err(|e| DirectoryError::Unavailable(classify(e).1))?;
        tokio::spawn(async move {
            if let Err(e) = driver.drive().await {
                tracing::debug!(error = %e, "LDAP connection ended");
            }
        });
        Ok(ldap)
    }

    /// A connection from the pool (or a new one), waiting at most the timeout for one
    /// to be free.
    async fn connection(&self) -> Result<Pooled<'_>, DirectoryError> {
        let permit = tokio::time::timeout(self.timeout(), self.permits.acquire())
            .await
            .map_err(|_| DirectoryError::Unavailable("every directory connection is busy".into()))?
            .map_err(|_| DirectoryError::Unavailable("the directory pool is closed".into()))?;
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let ldap = match idle {
            Some(mut l) => {
                if l.is_closed() {
                    self.open().await?
                } else {
                    l
                }
            }
            None => self.open().await?,
        };
        Ok(Pooled {
            dir: self,
            ldap: Some(ldap),
            _permit: permit,
        })
    }

    /// Binds `dn` on `conn`: `Ok(false)` when the server refuses the credentials.
    async fn bind(
        &self,
        conn: &mut Pooled<'_>,
        dn: &str,
        password: &str,
    ) -> Result<bool, DirectoryError> {
        let timeout = self.timeout();
        match conn
            .ldap()
            .with_timeout(timeout)
            .simple_bind(dn, password)
            .await
            .and_then(|r| r.success())
        {
            Ok(_) => Ok(true),
            Err(e) => match classify(e) {
                (Some(INVALID_CREDENTIALS), _) => Ok(false),
                // 32 noSuchObject, 53 unwilling (e.g. an empty password).
                (Some(32 | 53), _) => Ok(false),
                (Some(_), msg) => Err(DirectoryError::Misconfigured(msg)),
                (None, msg) => {
                    conn.broken();
                    Err(DirectoryError::Unavailable(msg))
                }
            },
        }
    }

    /// Binds as the service account.
    async fn service_bind(&self, conn: &mut Pooled<'_>) -> Result<(), DirectoryError> {
        let pw = self.bind_password.expose_secret().to_owned();
        if self.bind(conn, &self.settings.bind_dn, &pw).await? {
            Ok(())
        } else {
            Err(DirectoryError::Misconfigured(
                "the service account's bind was refused (bind DN or password)".into(),
            ))
        }
    }

    fn attributes(&self) -> Vec<String> {
        vec![
            self.settings.email_attribute.clone(),
            self.settings.name_attribute.clone(),
            "memberOf".into(),
        ]
    }

    fn entry(&self, e: SearchEntry) -> DirectoryUser {
        let first = |attr: &str| {
            e.attrs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(attr))
                .and_then(|(_, v)| v.first().cloned())
        };
        let groups = e
            .attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("memberOf"))
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        DirectoryUser {
            email: first(&self.settings.email_attribute),
            full_name: first(&self.settings.name_attribute),
            dn: e.dn,
            groups,
        }
    }

    async fn search(
        &self,
        conn: &mut Pooled<'_>,
        base: &str,
        filter: &str,
        attrs: Vec<String>,
        limit: i32,
    ) -> Result<Vec<SearchEntry>, DirectoryError> {
        let timeout = self.timeout();
        let result = conn
            .ldap()
            .with_timeout(timeout)
            .with_search_options(ldap3::SearchOptions::new().sizelimit(limit))
            .search(base, Scope::Subtree, filter, attrs)
            .await;
        match result {
            Ok(r) => {
                // 4 sizeLimitExceeded still carries the entries found.
                if r.1.rc != 0 && r.1.rc != 4 {
                    return Err(DirectoryError::Misconfigured(format!(
                        "search refused: result code {} {}",
                        r.1.rc, r.1.text
                    )));
                }
                Ok(r.0.into_iter().map(SearchEntry::construct).collect())
            }
            Err(e) => {
                conn.broken();
                Err(DirectoryError::Unavailable(classify(e).1))
            }
        }
    }

    /// The user's groups per the configured source (memberOf read already).
    async fn groups(
        &self,
        conn: &mut Pooled<'_>,
        user: &mut DirectoryUser,
    ) -> Result<(), DirectoryError> {
        if self.settings.group_source == GroupSource::MemberOf {
            return Ok(());
        }
        let base = self.settings.group_base_dn.clone().unwrap_or_default();
        let filter = self
            .settings
            .group_filter
            .replace("{dn}", &ldap3::ldap_escape(user.dn.as_str()));
        let found = self
            .search(conn, &base, &filter, vec!["1.1".into()], 1000)
            .await?;
        user.groups = found.into_iter().map(|e| e.dn).collect();
        Ok(())
    }

    /// The user search's filter for a login, every character of it escaped.
    pub fn user_filter(&self, login: &str) -> String {
        self.settings
            .user_filter
            .replace("{login}", &ldap3::ldap_escape(login))
    }

    /// Checks a login and password against the directory.
    pub async fn authenticate(
        &self,
        login: &str,
        password: &SecretString,
    ) -> Result<DirectoryUser, DirectoryError> {
        // An empty password is an unauthenticated bind, which LDAP servers accept:
        // never send one.
        if password.expose_secret().is_empty() || login.is_empty() {
            return Err(DirectoryError::InvalidCredentials);
        }
        let mut conn = self.connection().await?;
        self.service_bind(&mut conn).await?;
        let found = self
            .search(
                &mut conn,
                &self.settings.user_base_dn,
                &self.user_filter(login),
                self.attributes(),
                2,
            )
            .await?;
        let mut entries = found.into_iter();
        let (entry, ambiguous) = (entries.next(), entries.next().is_some());
        let Some(entry) = entry.filter(|_| !ambiguous) else {
            if ambiguous {
                tracing::warn!("an LDAP login matched several entries; refused");
            }
            // The same round trip as a wrong password, against a DN that cannot exist.
            let decoy = format!(
                "cn=tentabo-no-such-user-{},{}",
                uuid::Uuid::new_v4().simple(),
                self.settings.user_base_dn
            );
            self.bind(&mut conn, &decoy, password.expose_secret())
                .await?;
            return Err(DirectoryError::InvalidCredentials);
        };
        let mut user = self.entry(entry);
        if !self
            .bind(&mut conn, &user.dn, password.expose_secret())
            .await?
        {
            return Err(DirectoryError::InvalidCredentials);
        }
        if self.settings.group_source == GroupSource::Search {
            self.service_bind(&mut conn).await?;
            self.groups(&mut conn, &mut user).await?;
        }
        Ok(user)
    }

    /// Every user entry the user filter matches (paged, 500 a page), with groups.
    pub async fn users(&self) -> Result<Vec<DirectoryUser>, DirectoryError> {
        let mut conn = self.connection().await?;
        self.service_bind(&mut conn).await?;
        // `{login}` → `*`: a presence match on the same attributes.
        let filter = self.settings.user_filter.replace("{login}", "*");
        let adapters: Vec<Box<dyn Adapter<_, _>>> = vec![
            Box::new(EntriesOnly::new()),
            Box::new(PagedResults::new(500)),
        ];
        let timeout = self.timeout();
        let mut stream = match conn
            .ldap()
            .with_timeout(timeout)
            .streaming_search_with(
                adapters,
                &self.settings.user_base_dn,
                Scope::Subtree,
                &filter,
                self.attributes(),
            )
            .await
        {
            Ok(s) => s,
            Err(e) => {
                conn.broken();
                return Err(DirectoryError::Unavailable(classify(e).1));
            }
        };
        let mut out = Vec::new();
        loop {
            match stream.next().await {
                Ok(Some(entry)) => out.push(self.entry(SearchEntry::construct(entry))),
                Ok(None) => break,
                Err(e) => {
                    conn.broken();
                    return Err(DirectoryError::Unavailable(classify(e).1));
                }
            }
        }
        let result = stream.finish().await;
        if result.rc != 0 {
            return Err(DirectoryError::Misconfigured(format!(
                "user listing refused: result code {} {}",
                result.rc, result.text
            )));
        }
        if self.settings.group_source == GroupSource::Search {
            for user in &mut out {
                self.groups(&mut conn, user).await?;
            }
        }
        Ok(out)
    }

    /// The connection test: the service account binds and the user base is readable.
    pub async fn check(&self) -> Result<(), DirectoryError> {
        let mut conn = self.connection().await?;
        self.service_bind(&mut conn).await?;
        let timeout = self.timeout();
        match conn
            .ldap()
            .with_timeout(timeout)
            .search(
                &self.settings.user_base_dn,
                Scope::Base,
                "(objectClass=*)",
                vec!["1.1"],
            )
            .await
        {
            Ok(r) if r.1.rc == 0 => Ok(()),
            Ok(r) => Err(DirectoryError::Misconfigured(format!(
                "the user base DN is not readable: result code {} {}",
                r.1.rc, r.1.text
            ))),
            Err(e) => {
                conn.broken();
                Err(DirectoryError::Unavailable(classify(e).1))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> LdapSettings {
        serde_json::from_value(serde_json::json!({
            "url": "ldap://127.0.0.1:389",
            "bind_dn": "cn=svc,dc=example,dc=org",
            "user_base_dn": "ou=people,dc=example,dc=org",
        }))
        .unwrap()
    }

    #[test]
    fn the_login_is_escaped_in_the_filter() {
        let dir = LdapDirectory::new(settings(), SecretString::from("x")).unwrap();
        for hostile in ["*", "*)(uid=*))(|(uid=*", "admin)(|(password=*)", "a\0b"] {
            let filter = dir.user_filter(hostile);
            assert!(balanced(&filter), "{filter}");
            let inner = filter
                .trim_start_matches("(&(objectClass=inetOrgPerson)(|(uid=")
                .split(")(mail=")
                .next()
                .unwrap();
            assert!(
                !inner.contains(['*', '(', ')', '\0']),
                "{hostile:?} → {filter}"
            );
        }
        assert_eq!(
            dir.user_filter("o'brien"),
            "(&(objectClass=inetOrgPerson)(|(uid=o'brien)(mail=o'brien)))"
        );
    }

    #[test]
    fn settings_are_checked() {
        let mut s = settings();
        s.url = "http://x".into();
        s.user_filter = "(uid=x".into();
        s.starttls = true;
        s.ca_certificate = Some("not pem".into());
        s.group_mappings = vec![
            GroupMapping {
                group: "sales".into(),
                role: Role::Partner,
                organisation: None,
            },
            GroupMapping {
                group: "admins".into(),
                role: Role::Admin,
                organisation: Some("Partner A".into()),
            },
        ];
        let mut errors = FieldErrors::default();
        s.validate(&mut errors);
        let text = format!("{errors:?}");
        for expected in [
            "configuration.url",
            "configuration.user_filter",
            "configuration.ca_certificate",
            "configuration.group_mappings.0.organisation",
            "configuration.group_mappings.1.organisation",
        ] {
            assert!(text.contains(expected), "{expected} missing from {text}");
        }
        let mut ok = FieldErrors::default();
        settings().validate(&mut ok);
        assert!(ok.is_empty(), "{ok:?}");
    }
}
