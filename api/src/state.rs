//! The state every handler receives. Built once by `Application::build`, for `main` and
//! the tests alike.

use std::sync::Arc;

use tentabo_schema::DbPool;

use crate::config::ApiConfig;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub db: DbPool,
    pub redis: redis::Client,
    pub config: Arc<ApiConfig>,
    pub metrics: Metrics,
}
