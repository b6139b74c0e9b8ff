//! Liveness (`/healthz`), readiness (`/readyz`) and Prometheus metrics (`/metrics`).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use tentabo_workflows::WorkflowError;
use tentabo_workflows::error::AuthFailure;

use crate::error::ApiError;
use crate::state::AppState;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    pub status: &'static str,
    pub checks: Checks,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Checks {
    pub postgres: String,
    pub migrations: String,
    pub redis: String,
}

/// Postgres and Redis answer and every migration is applied; 503 otherwise.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Readiness), (status = 503, body = crate::error::ErrorBody)))]
async fn readyz(State(state): State<AppState>) -> Result<Json<Readiness>, ApiError> {
    let (postgres, migrations) =
        match tokio::time::timeout(CHECK_TIMEOUT, check_postgres(&state)).await {
            Ok(Ok(true)) => ("ok".to_owned(), "ok".to_owned()),
            Ok(Ok(false)) => ("ok".to_owned(), "pending migrations".to_owned()),
            Ok(Err(e)) => (format!("error: {e}"), "unknown".to_owned()),
            Err(_) => ("error: timed out".to_owned(), "unknown".to_owned()),
        };
    let redis = match tokio::time::timeout(CHECK_TIMEOUT, check_redis(&state)).await {
        Ok(Ok(())) => "ok".to_owned(),
        Ok(Err(e)) => format!("error: {e}"),
        Err(_) => "error: timed out".to_owned(),
    };
    let checks = Checks {
        postgres,
        migrations,
        redis,
    };
    if [&checks.postgres, &checks.migrations, &checks.redis]
        .iter()
        .all(|c| *c == "ok")
    {
        Ok(Json(Readiness {
            status: "ready",
            checks,
        }))
    } else {
        Err(ApiError::NotReady(json!({ "checks": checks })))
    }
}

async fn check_postgres(state: &AppState) -> Result<bool, String> {
    let mut conn = state.db.get().await.map_err(|e| e.to_string())?;
    tentabo_schema::db::migrations_current(&mut conn)
        .await
        .map_err(|e| e.to_string())
}

async fn check_redis(state: &AppState) -> Result<(), String> {
    let mut conn = state
        .redis
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| format!("{:?}", e.kind()))?;
    let pong: String = redis::cmd("PING")
        .query_async(&mut conn)
        .await
        .map_err(|e| format!("{:?}", e.kind()))?;
    if pong == "PONG" {
        Ok(())
    } else {
        Err(format!("unexpected answer {pong}"))
    }
}

/// Prometheus text exposition, for a scraper holding `TENTABO_METRICS_TOKEN`
/// (`Authorization: Bearer …`); off (404) when no token is configured.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    security(("metrics_token" = [])),
    responses(
        (status = 200, content_type = "text/plain", body = String),
        (status = 401, description = "Missing or wrong metrics token", body = crate::error::ErrorBody),
        (status = 404, description = "Metrics are off on this address", body = crate::error::ErrorBody),
    ))]
async fn metrics(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    use secrecy::ExposeSecret;
    use sha2::{Digest, Sha256};
    let Some(expected) = state.config.metrics_token.as_ref() else {
        return Err(ApiError::NotFound);
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(WorkflowError::Unauthenticated(AuthFailure::MissingToken))?;
    // Compared as digests: equal-length values, so the comparison time says nothing
    // about how much of the token was right.
    if Sha256::digest(given.trim().as_bytes())
        != Sha256::digest(expected.expose_secret().as_bytes())
    {
        return Err(WorkflowError::Unauthenticated(AuthFailure::InvalidToken).into());
    }
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    ))
}
