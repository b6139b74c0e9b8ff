//! `AuthProvider`: who may log in and how (SPEC §5). The database provider is the first
//! implementation; LDAP and OIDC implement the same trait and plug into the same login
//! path without changing its callers.

use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper};
use diesel_async::RunQueryDsl;
use tentabo_schema::DbPool;
use tentabo_schema::models::organisations::User;
use tentabo_schema::schema::users;
use uuid::Uuid;

use crate::WorkflowError;
use crate::error::AuthFailure;
use crate::identity::{Email, Password, password};

#[async_trait]
pub trait AuthProvider: Send + Sync {
    /// The provider's name, as stored in `users.auth_provider`.
    fn name(&self) -> &'static str;

    /// Checks credentials. Unknown user and wrong password are the same error
    /// (`InvalidCredentials`); a disabled account with the right password is
    /// `AccountDisabled`.
    async fn authenticate(&self, email: &Email, password: &Password)
    -> Result<User, WorkflowError>;

    async fn get_user(&self, id: Uuid) -> Result<Option<User>, WorkflowError>;

    /// Brings users over from the external directory; returns how many changed.
    async fn sync_users(&self) -> Result<usize, WorkflowError>;
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

    async fn authenticate(&self, email: &Email, pw: &Password) -> Result<User, WorkflowError> {
        let user = {
            let mut conn = self.db.get().await?;
            users::table
                .filter(users::email.eq(email.as_str()))
                .select(User::as_select())
                .first::<User>(&mut conn)
                .await
                .optional()?
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

    async fn sync_users(&self) -> Result<usize, WorkflowError> {
        // The database is the directory: nothing to bring over.
        Ok(0)
    }
}
