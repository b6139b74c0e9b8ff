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

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, content_type = "text/plain")))]
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
