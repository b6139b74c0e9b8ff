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
}
