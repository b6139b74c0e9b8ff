//! Builds the application. `main` and the tests go through `Application::build`, so the
//! tests exercise exactly what production runs.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, Request};
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

use tentabo_workflows::authz::Authorizer;
use tentabo_workflows::identity::auth::DatabaseAuthProvider;
use tentabo_workflows::identity::tokens::TokenKeys;

use crate::config::ApiConfig;
use crate::metrics::Metrics;
use crate::ratelimit::LoginLimiter;
use crate::state::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
}

impl Application {
    /// Connects the pools (lazily: a database that is down makes `/readyz` answer 503,
    /// it does not stop the server) and binds the listener.
    pub async fn build(config: ApiConfig) -> anyhow::Result<Application> {
        let db = tentabo_schema::db::build_pool(
            config.database.url.expose_secret(),
            config.database.pool_size,
        )?;
        let redis = redis::Client::open(config.redis.url.expose_secret())?;
        let tokens = TokenKeys::new(
            config.auth.jwt_secret.expose_secret().as_bytes(),
            config.auth.access_ttl(),
            config.auth.refresh_ttl(),
        )?;
        let authz = Authorizer::load().await?;
        // Once per process; another Application in the same process (tests) keeps the
        // first one's ranges.
        tentabo_workflows::limits::install(config.limits.business_limits());
        let login_limiter =
            LoginLimiter::new(redis.clone(), &config.redis.namespace, config.auth.limits());
        let auth_provider = Arc::new(DatabaseAuthProvider::new(db.clone()));
        let listener = TcpListener::bind(config.bind).await?;
        let cursor_key =
            crate::cursor::CursorKey::derive(config.auth.jwt_secret.expose_secret().as_bytes());
        let keys = config
            .secrets_key
            .as_ref()
            .map(tentabo_workflows::secrets::KeyRing::parse)
            .transpose()?
            .map(Arc::new);
        let outbound = tentabo_workflows::outbound::Outbound::new(
            Some(tentabo_workflows::outbound::RateLimiter::new(
                redis.clone(),
                &config.redis.namespace,
            )),
            tentabo_workflows::outbound::CallLog::start(db.clone(), 10_000),
        )?;
        if let Some(dsn) = &config.sentry_dsn {
            tentabo_workflows::errors_report::install(
                dsn,
                &config.environment,
                "api",
                outbound.clone(),
            )
            .map_err(anyhow::Error::msg)?;
        }
        let platform = Arc::new(tentabo_workflows::providers::platform::Platform::new(
            db.clone(),
            keys,
            outbound,
            tentabo_workflows::retry::RetryPolicy {
                initial: Duration::from_millis(200),
                max: Duration::from_secs(5),
                retry_after_cap: Duration::from_secs(5),
                ..Default::default()
            },
        ));
        let console = config
            .console
            .dir
            .as_deref()
            .map(crate::console::Console::new)
            .transpose()?
            .map(Arc::new);
        let state = AppState {
            console,
            platform,
            db,
            redis,
            config: Arc::new(config),
            metrics: Metrics::install(),
            authz: Arc::new(authz),
            tokens: Arc::new(tokens),
            auth_provider,
            login_limiter,
            cursor_key,
            webhook_secret: Arc::default(),
        };
        Ok(Application {
            listener,
            router: app(state.clone()),
            state,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then stops accepting and lets in-flight
    /// requests finish.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    }
}

/// The router with its middleware stack: request ids, tracing, metrics, timeout,
/// panic → 500.
pub fn app(state: AppState) -> Router {
    let limit = Duration::from_millis(state.config.request_timeout_ms);
    let cursor_key = state.cursor_key.clone();
    // Innermost first: the URL check and the time limit run closest to the handlers;
    // panics, timeouts and every other error then pass `localize` (French messages)
    // and `track` (metrics) on their way out.
    crate::routes::router(state)
        .layer(axum::middleware::from_fn(move |req, next| {
            crate::cursor::guard(cursor_key.clone(), req, next)
        }))
        .layer(axum::middleware::from_fn(
            crate::extract::reject_control_characters,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::error::BODY_LIMIT_BYTES,
        ))
        .layer(axum::middleware::from_fn(move |req, next| {
            crate::error::time_limit(limit, req, next)
        }))
        .layer(CatchPanicLayer::custom(crate::error::panic_response))
        .layer(axum::middleware::from_fn(crate::error::localize))
        .layer(axum::middleware::from_fn(crate::error::report_errors))
        .layer(axum::middleware::from_fn(crate::metrics::track))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let request_id = req
                .extensions()
                .get::<RequestId>()
                .and_then(|id| id.header_value().to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %request_id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
    tracing::info!("shutdown signal received");
}
