//! The HTTP edge: configuration, routes, the one error type, telemetry. Handlers are
//! thin: extract, call `tentabo_workflows`, map the result.

pub mod config;
pub mod console;
pub mod cursor;
pub mod error;
pub mod extract;
pub mod i18n;
pub mod metrics;
pub mod ratelimit;
pub mod routes;
pub mod seed;
pub mod session_cookie;
pub mod startup;
pub mod state;

pub use config::ApiConfig;
pub use error::ApiError;
pub use startup::Application;
pub use state::AppState;
