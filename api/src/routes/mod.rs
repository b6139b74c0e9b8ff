//! One router per resource, merged here, with the OpenAPI document built from the same
//! route list.

use axum::Router;
use axum::extract::{Request, State};
use axum::response::IntoResponse;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::error::ApiError;
use crate::state::AppState;

pub mod audit;
pub mod auth;
pub mod catalogue;
pub mod contracts;
pub mod conventions;
pub mod crm;
pub mod directory;
pub mod dto;
pub mod health;
pub mod jobs;
pub mod lake;
pub mod leads;
pub mod mappings;
pub mod notifications;
pub mod orders;
pub mod organisations;
pub mod providers;
pub mod sales;
pub mod sso;
pub mod sync;
pub mod users;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tentabo API",
        description = "Partner-relationship and sales-integration platform."
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorDetail))
)]
struct ApiDoc;

/// The routes and the OpenAPI document describing them.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (routes, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::router())
        .merge(auth::router())
        .merge(sso::router())
        .merge(catalogue::router())
        .merge(organisations::router())
        .merge(users::router())
        .merge(jobs::router())
        .merge(audit::router())
        .merge(notifications::router())
        .merge(leads::router())
        .merge(orders::router())
        .merge(contracts::router())
        .merge(sync::router())
        .merge(lake::router())
        .merge(mappings::router())
        .merge(providers::router())
        .merge(directory::router())
        .merge(crm::router())
        .split_for_parts();
    conventions::apply(&mut doc);
    (routes, doc)
}

pub fn router(state: AppState) -> Router {
    let (routes, openapi) = api();
    routes
        .merge(SwaggerUi::new("/docs").url("/api/v1/openapi.json", openapi))
        .fallback(|State(state): State<AppState>, req: Request| async move {
            match state.console {
                Some(console) => console.serve(req).await,
                None => ApiError::NotFound.into_response(),
            }
        })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state)
}
