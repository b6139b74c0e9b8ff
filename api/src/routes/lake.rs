//! Reading the data lake: dashboards (`/api/v1/dashboard/…`), browsing the raw (admins),
//! canonical and serving zones within the caller's row scope, local edits of canonical
//! rows, sync conflicts and the owner links that scope synced records.

use crate::extract::Path;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use tentabo_workflows::error::FieldErrors;
use tentabo_workflows::lake::{
    self, Conflict, Keep, Listing, MonthRevenue, OwnerLink, PipelineFigure, RevenueDashboard,
    RowPage, Serving, WinRate,
};
use tentabo_workflows::pipeline::Entity;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{AuthUser, Json, Query, RequestMeta};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(dashboard_pipeline))
        .routes(routes!(dashboard_win_rate))
        .routes(routes!(dashboard_won_revenue))
        .routes(routes!(dashboard_revenue))
        .routes(routes!(browse_raw))
        .routes(routes!(browse_canonical))
        .routes(routes!(edit_canonical))
        .routes(routes!(browse_serving))
        .routes(routes!(list_conflicts))
        .routes(routes!(resolve_conflict))
        .routes(routes!(list_owner_links))
        .routes(routes!(put_owner_link))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PipelineDashboard {
    /// Leads and their value per stage, owner (the source's user) and currency.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<PipelineFigure>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SourceParams {
    /// Whose leads: `tentabo` (the platform's own leads and orders), a provider's synced
    /// ones (`odoo`, `pipedrive`), or `all` (the default).
    #[param(pattern = r"^(all|tentabo|odoo|pipedrive)$")]
    pub source: Option<String>,
}

impl SourceParams {
    fn provider(&self) -> Result<Option<&str>, ApiError> {
        match self.source.as_deref() {
            None | Some("all") => Ok(None),
            Some(s @ (lake::OWN | "odoo" | "pipedrive")) => Ok(Some(s)),
            Some(_) => Err(FieldErrors::single("source", "invalid_choice").into()),
        }
    }
}

/// Pipeline value by stage and owner, within the caller's scope (the `analytics`
/// permission on leads: own rows for partners, own + attached for distributors).
#[utoipa::path(get, path = "/api/v1/dashboard/pipeline", tag = "dashboard", params(SourceParams), security(("bearer" = [])),
    responses((status = 200, body = PipelineDashboard), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn dashboard_pipeline(
    State(s): State<AppState>,
    who: AuthUser,
    Query(p): Query<SourceParams>,
) -> Result<Json<PipelineDashboard>, ApiError> {
    let source = p.provider()?;
    let mut conn = s.conn().await?;
    Ok(Json(PipelineDashboard {
        items: lake::pipeline(&mut conn, &s.authz, &who.0, source).await?,
    }))
}

/// Won / (won + lost) leads, overall and per owner, within the caller's scope.
#[utoipa::path(get, path = "/api/v1/dashboard/win-rate", tag = "dashboard", params(SourceParams), security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn dashboard_win_rate(
    State(s): State<AppState>,
    who: AuthUser,
    Query(p): Query<SourceParams>,
) -> Result<Json<WinRate>, ApiError> {
    let source = p.provider()?;
    let mut conn = s.conn().await?;
    Ok(Json(
        lake::win_rate(&mut conn, &s.authz, &who.0, source).await?,
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WonRevenueDashboard {
    /// Per month of closing and currency: leads won and their value.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<MonthRevenue>,
}

/// Won revenue by month, within the caller's scope: synced leads won (by month of
/// closing) and Tentabo's own fulfilled orders (by month of fulfilment).
#[utoipa::path(get, path = "/api/v1/dashboard/won-revenue", tag = "dashboard", params(SourceParams), security(("bearer" = [])),
    responses((status = 200, body = WonRevenueDashboard), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn dashboard_won_revenue(
    State(s): State<AppState>,
    who: AuthUser,
    Query(p): Query<SourceParams>,
) -> Result<Json<WonRevenueDashboard>, ApiError> {
    let source = p.provider()?;
    let mut conn = s.conn().await?;
    Ok(Json(WonRevenueDashboard {
        items: lake::won_revenue(&mut conn, &s.authz, &who.0, source).await?,
    }))
}

/// Contract recurring revenue within the caller's scope: MRR, ARR and contracts per
/// month (UTC) and currency with the month's movements (`new_mrr`, `expansion_mrr`
/// from upgrades, `contraction_mrr` from downgrades, `churned_mrr` from lost contracts;
/// `mrr = previous mrr + new + expansion − contraction − churned`), and MRR per partner
/// and per distributor at the latest month. Money as decimal strings.
#[utoipa::path(get, path = "/api/v1/dashboard/revenue", tag = "dashboard", security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody)))]
async fn dashboard_revenue(
    State(s): State<AppState>,
    who: AuthUser,
) -> Result<Json<RevenueDashboard>, ApiError> {
    let mut conn = s.conn().await?;
    Ok(Json(
        lake::contract_revenue(&mut conn, &s.authz, &who.0).await?,
    ))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LakeParams {
    /// Only this provider's rows (e.g. `odoo`).
    pub provider: Option<String>,
    /// Raw zone only: the source's object (e.g. `res.partner`).
    pub source: Option<String>,
    /// Canonical zone only: include soft-deleted rows (default false).
    pub include_deleted: Option<bool>,
    #[param(min_length = 1, pattern = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$")]
    pub cursor: Option<String>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

impl LakeParams {
    fn listing(self) -> Result<Listing, ApiError> {
        Ok(Listing {
            provider: self.provider,
            source: self.source,
            include_deleted: self.include_deleted.unwrap_or(false),
            cursor: self.cursor,
            limit: tentabo_workflows::pagination::limit(self.limit)?,
        })
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RowPageDto {
    /// Rows with the table's column names.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<serde_json::Value>,
    pub next_cursor: Option<String>,
}

impl From<RowPage> for RowPageDto {
    fn from(p: RowPage) -> Self {
        RowPageDto {
            items: p.items,
            next_cursor: crate::cursor::seal(p.next_cursor),
        }
    }
}

/// Raw records byte-exact as received, oldest first (admins).
#[utoipa::path(get, path = "/api/v1/data-lake/raw", tag = "data-lake", params(LakeParams), security(("bearer" = [])),
    responses((status = 200, body = RowPageDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn browse_raw(
    State(s): State<AppState>,
    who: AuthUser,
    Query(p): Query<LakeParams>,
) -> Result<Json<RowPageDto>, ApiError> {
    let l = p.listing()?;
    let mut conn = s.conn().await?;
    Ok(Json(
        lake::raw(&mut conn, &s.authz, &who.0, &l).await?.into(),
    ))
}

fn entity(name: &str) -> Result<Entity, ApiError> {
    Entity::parse(name).ok_or(ApiError::NotFound)
}

/// Canonical rows of an entity (`organization`, `contact`, `lead`, `order`, `product`,
/// `invoice`) within the caller's scope: leads and orders through their owner's link,
/// the other entities for admins.
#[utoipa::path(get, path = "/api/v1/data-lake/canonical/{entity}", tag = "data-lake", params(LakeParams), security(("bearer" = [])),
    responses((status = 200, body = RowPageDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn browse_canonical(
    State(s): State<AppState>,
    who: AuthUser,
    Path(name): Path<String>,
    Query(p): Query<LakeParams>,
) -> Result<Json<RowPageDto>, ApiError> {
    let e = entity(&name)?;
    let l = p.listing()?;
    let mut conn = s.conn().await?;
    Ok(Json(
        lake::canonical(&mut conn, &s.authz, &who.0, e, &l)
            .await?
            .into(),
    ))
}

/// A local edit of a canonical row (admins): the fields given replace the row's values
/// and mark it edited; the next sync that changes the record in the source resolves the
/// conflict by the configured policy.
#[utoipa::path(patch, path = "/api/v1/data-lake/canonical/{entity}/{provider}/{external_id}", tag = "data-lake",
    request_body = Object, security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn edit_canonical(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path((name, provider, external_id)): Path<(String, String, String)>,
    Json(changes): Json<serde_json::Map<String, serde_json::Value>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let e = entity(&name)?;
    let mut conn = s.conn().await?;
    Ok(Json(
        lake::edit_canonical(
            &mut conn,
            &lake::Actor {
                authz: &s.authz,
                who: &who.0,
                audit: &meta.audit(Some(who.0.user_id)),
            },
            e,
            &provider,
            &external_id,
            &changes,
        )
        .await?,
    ))
}

/// Serving rows (`pipeline`, `won_revenue`) within the caller's dashboard scope.
#[utoipa::path(get, path = "/api/v1/data-lake/serving/{table}", tag = "data-lake", params(LakeParams), security(("bearer" = [])),
    responses((status = 200, body = RowPageDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn browse_serving(
    State(s): State<AppState>,
    who: AuthUser,
    Path(table): Path<String>,
    Query(p): Query<LakeParams>,
) -> Result<Json<RowPageDto>, ApiError> {
    let t = Serving::parse(&table).ok_or(ApiError::NotFound)?;
    let l = p.listing()?;
    let mut conn = s.conn().await?;
    Ok(Json(
        lake::serving(&mut conn, &s.authz, &who.0, t, &l)
            .await?
            .into(),
    ))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConflictParams {
    /// pending | source_applied | local_kept
    #[param(pattern = r"^(pending|source_applied|local_kept)$")]
    pub resolution: Option<String>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConflictList {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Conflict>,
    /// The next (older) page, if any.
    pub next_cursor: Option<String>,
}

/// Conflicts between local edits and source changes, newest first, cursor-paged
/// (admins).
#[utoipa::path(get, path = "/api/v1/sync/conflicts", tag = "sync", params(ConflictParams), security(("bearer" = [])),
    responses((status = 200, body = ConflictList), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_conflicts(
    State(s): State<AppState>,
    who: AuthUser,
    Query(p): Query<ConflictParams>,
) -> Result<Json<ConflictList>, ApiError> {
    let limit = tentabo_workflows::pagination::limit(p.limit)?;
    let mut conn = s.conn().await?;
    let page = lake::conflicts(
        &mut conn,
        &s.authz,
        &who.0,
        p.resolution.as_deref(),
        p.cursor.as_deref(),
        limit,
    )
    .await?;
    Ok(Json(ConflictList {
        items: page.items,
        next_cursor: crate::cursor::seal(page.next_cursor),
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveConflict {
    /// `source` (write the source's version over the local edit) or `local`.
    #[schema(value_type = String, pattern = r"^(source|local)$")]
    pub keep: Keep,
}

/// Decides a pending conflict (admins); 409 if it was already decided.
#[utoipa::path(post, path = "/api/v1/sync/conflicts/{id}/resolve", tag = "sync", request_body = ResolveConflict, security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn resolve_conflict(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path(id): Path<i64>,
    Json(b): Json<ResolveConflict>,
) -> Result<Json<Conflict>, ApiError> {
    let mut conn = s.conn().await?;
    Ok(Json(
        lake::resolve_conflict(
            &mut conn,
            &lake::Actor {
                authz: &s.authz,
                who: &who.0,
                audit: &meta.audit(Some(who.0.user_id)),
            },
            id,
            b.keep,
        )
        .await?,
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OwnerLinkList {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<OwnerLink>,
}

/// Which partner or distributor each source user sells for (admins).
#[utoipa::path(get, path = "/api/v1/sync/owners", tag = "sync", security(("bearer" = [])),
    responses((status = 200, body = OwnerLinkList), (status = 403, body = ErrorBody)))]
async fn list_owner_links(
    State(s): State<AppState>,
    who: AuthUser,
) -> Result<Json<OwnerLinkList>, ApiError> {
    let mut conn = s.conn().await?;
    Ok(Json(OwnerLinkList {
        items: lake::owner_links(&mut conn, &s.authz, &who.0).await?,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerLinkRequest {
    /// Exactly one of `partner_id` and `distributor_id`.
    pub partner_id: Option<Uuid>,
    pub distributor_id: Option<Uuid>,
}

/// Links a source user (e.g. an Odoo user id) to a partner or a distributor (admins):
/// the synced leads and orders it owns enter that organisation's scope.
#[utoipa::path(put, path = "/api/v1/sync/owners/{provider}/{owner_external_id}", tag = "sync", request_body = OwnerLinkRequest, security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_owner_link(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path((provider, owner)): Path<(String, String)>,
    Json(b): Json<OwnerLinkRequest>,
) -> Result<Json<OwnerLink>, ApiError> {
    let mut conn = s.conn().await?;
    if provider.trim().is_empty() || owner.trim().is_empty() {
        return Err(FieldErrors::single("owner_external_id", "required").into());
    }
    Ok(Json(
        lake::link_owner(
            &mut conn,
            &lake::Actor {
                authz: &s.authz,
                who: &who.0,
                audit: &meta.audit(Some(who.0.user_id)),
            },
            &provider,
            &owner,
            b.partner_id,
            b.distributor_id,
        )
        .await?,
    ))
}
