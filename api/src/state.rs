//! The state every handler receives. Built once by `Application::build`, for `main` and
//! the tests alike.

use std::sync::Arc;

use tentabo_schema::DbPool;
use tentabo_workflows::authz::Authorizer;
use tentabo_workflows::identity::auth::AuthProvider;
use tentabo_workflows::identity::tokens::TokenKeys;

use crate::config::ApiConfig;
use crate::metrics::Metrics;
use crate::ratelimit::LoginLimiter;

#[derive(Clone)]
pub struct AppState {
    pub db: DbPool,
    pub redis: redis::Client,
    pub config: Arc<ApiConfig>,
    pub metrics: Metrics,
    pub authz: Arc<Authorizer>,
    pub tokens: Arc<TokenKeys>,
    pub auth_provider: Arc<dyn AuthProvider>,
    pub login_limiter: LoginLimiter,
    pub cursor_key: crate::cursor::CursorKey,
    /// The provider platform (connection tests, activation, Odoo's fields).
    pub platform: Arc<tentabo_workflows::providers::platform::Platform>,
    /// Pipedrive's webhook password, kept for a few seconds (no row read per delivery).
    pub webhook_secret: Arc<tentabo_workflows::providers::pipedrive::webhook::WebhookSecret>,
    /// The web console served at `/`, when `TENTABO_CONSOLE_DIR` names one.
    pub console: Option<Arc<crate::console::Console>>,
}

impl AppState {
    /// A pooled database connection; an exhausted pool answers 503, not 500.
    pub async fn conn(&self) -> Result<tentabo_schema::DbConn, crate::error::ApiError> {
        self.db
            .get()
            .await
            .map_err(|e| tentabo_workflows::WorkflowError::from(e).into())
    }

    /// Whether the caller may manage `object` (e.g. admins see inactive catalogue rows).
    pub fn may_manage(
        &self,
        who: &tentabo_workflows::identity::Principal,
        object: tentabo_workflows::authz::Object,
    ) -> bool {
        self.authz
            .decide(who.role, object, tentabo_workflows::authz::Action::Manage)
            .is_some()
    }
}
