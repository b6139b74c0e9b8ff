//! `AuthProvider`: who may log in with a login and a password, and how (SPEC §5). The
//! database provider is always on (the break-glass way); the LDAP directory
//! ([`LdapAuthProvider`]) serves every other login while it is the active `auth`
//! provider. Single sign-on (OpenID Connect) does not take passwords: its login path is
//! the authorization code flow (`identity::external`), ending in the same sessions.

use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper};
use diesel_async::RunQueryDsl;
use tentabo_schema::DbPool;
use tentabo_schema::models::organisations::User;
use tentabo_schema::schema::users;
use uuid::Uuid;

use crate::WorkflowError;
use crate::audit::AuditContext;
use crate::error::AuthFailure;
use crate::identity::external::{self, DirectorySyncReport};
use crate::identity::{Email, Password, password};
use crate::providers::ldap::LdapDirectory;

#[async_trait]
pub trait AuthProvider: Send + Sync {
    /// The provider's name, as stored in `users.auth_provider`.
    fn name(&self) -> &'static str;

    /// Checks credentials. Unknown user and wrong password are the same error
    /// (`InvalidCredentials`); a disabled account with the right password is
    /// `AccountDisabled`.
    /// `login` is an email for the database, an email or a user name for a directory.
    /// `ctx` audits what the login changes (a user created just in time).
    async fn authenticate(
        &self,
        login: &str,
        password: &Password,
        ctx: &AuditContext,
    ) -> Result<User, WorkflowError>;

    async fn get_user(&self, id: Uuid) -> Result<Option<User>, WorkflowError>;

    /// Brings users over from the external directory: users gone from it, or from
    /// every mapped group, are disabled and their sessions revoked.
    async fn sync_users(&self, ctx: &AuditContext) -> Result<DirectorySyncReport, WorkflowError>;
}

/// Maps provider names to constructors.
pub type ProviderRegistry = Vec<(&'static str, fn(DbPool) -> Arc<dyn AuthProvider>)>;

pub fn registry() -> ProviderRegistry {
    vec![(DatabaseAuthProvider::NAME, |db| {
        Arc::new(DatabaseAuthProvider::new(db))
    })]
}

/// Users whose argon2id hash lives in our own `users` table.
pub struct DatabaseAuthProvider {
    db: DbPool,
}

/// Verified against when the email is unknown, so that both paths cost one argon2 run
/// and response times do not reveal which emails exist.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    password::hash("not a real password, only a timing decoy").unwrap_or_default()
});

impl DatabaseAuthProvider {
    pub const NAME: &'static str = "database";

    pub fn new(db: DbPool) -> DatabaseAuthProvider {
        DatabaseAuthProvider { db }
    }
}

#[async_trait]
impl AuthProvider for DatabaseAuthProvider {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    async fn authenticate(
        &self,
        login: &str,
        pw: &Password,
        _ctx: &AuditContext,
    ) -> Result<User, WorkflowError> {
        // Not an email: nobody here, at the price of one argon2 run like anyone else.
        let email = Email::parse(login).ok();
        let user = if let Some(email) = &email {
            let mut conn = self.db.get().await?;
            users::table
                .filter(users::email.eq(email.as_str()))
                .select(User::as_select())
                .first::<User>(&mut conn)
                .await
                .optional()?
        } else {
            None
        };
        let stored = user
            .as_ref()
            .filter(|u| u.auth_provider == Self::NAME)
            .and_then(|u| u.password_hash.clone())
            .unwrap_or_else(|| DUMMY_HASH.clone());
        let candidate = pw.expose().to_owned();
        // argon2 is deliberately slow: keep it off the async workers.
        let ok = tokio::task::spawn_blocking(move || password::verify(&candidate, &stored))
            .await
            .map_err(|e| WorkflowError::internal("checking a password off the async threads", e))?;
        match user {
            Some(u) if ok && u.auth_provider == Self::NAME => {
                if u.is_active {
                    Ok(u)
                } else {
                    Err(WorkflowError::Unauthenticated(AuthFailure::AccountDisabled))
                }
            }
            _ => Err(WorkflowError::Unauthenticated(
                AuthFailure::InvalidCredentials,
            )),
        }
    }

    async fn get_user(&self, id: Uuid) -> Result<Option<User>, WorkflowError> {
        let mut conn = self.db.get().await?;
        Ok(users::table
            .find(id)
            .select(User::as_select())
            .first(&mut conn)
            .await
            .optional()?)
    }

    async fn sync_users(&self, _ctx: &AuditContext) -> Result<DirectorySyncReport, WorkflowError> {
        // The database is the directory: nothing to bring over.
        Ok(DirectorySyncReport::default())
    }
}

/// Users of the active LDAP directory: the directory checks the password, the user is
/// created or updated from the entry and its groups on each login (just in time).
pub struct LdapAuthProvider {
    db: DbPool,
    directory: Arc<LdapDirectory>,
}

impl LdapAuthProvider {
    pub const NAME: &'static str = external::LDAP;

    pub fn new(db: DbPool, directory: Arc<LdapDirectory>) -> LdapAuthProvider {
        LdapAuthProvider { db, directory }
    }
}

#[async_trait]
impl AuthProvider for LdapAuthProvider {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    async fn authenticate(
        &self,
        login: &str,
        pw: &Password,
        ctx: &AuditContext,
    ) -> Result<User, WorkflowError> {
        let secret = secrecy::SecretString::from(pw.expose().to_owned());
        // The directory first, no database connection held meanwhile.
        let entry = self
            .directory
            .authenticate(login, &secret)
            .await
            .map_err(external::directory_failure)?;
        let mut conn = self.db.get().await?;
        let mapped = external::map_directory_user(&mut conn, &self.directory, &entry).await?;
        let user = external::provision(&mut conn, &mapped, ctx).await?;
        if user.is_active {
            Ok(user)
        } else {
            Err(WorkflowError::Unauthenticated(AuthFailure::AccountDisabled))
        }
    }

    async fn get_user(&self, id: Uuid) -> Result<Option<User>, WorkflowError> {
        DatabaseAuthProvider::new(self.db.clone())
            .get_user(id)
            .await
    }

    async fn sync_users(&self, ctx: &AuditContext) -> Result<DirectorySyncReport, WorkflowError> {
        // The listing is read before the connection is taken.
        let entries = self
            .directory
            .users()
            .await
            .map_err(external::directory_failure)?;
        let mut conn = self.db.get().await?;
        external::sync_directory(&mut conn, &self.directory, entries, ctx).await
    }
}
