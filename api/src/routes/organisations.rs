//! `/api/v1/distributors` and `/api/v1/partners`: the two organisation kinds share one
//! set of rules, so their handlers are thin wrappers around the helpers below.

use crate::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use tentabo_workflows::authz::{Action, Object, RowScope};
use tentabo_workflows::error::FieldErrors;
use tentabo_workflows::identity::Name;
use tentabo_workflows::identity::listing::Sort;
use tentabo_workflows::identity::organisations::{self, OrgFilter, OrgKind, OrgPatch};
use tentabo_workflows::pagination::{self, Cursor};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{AuthUser, Json, Query, RequestMeta};
use crate::routes::dto::{List, ListParams, OrganisationDto};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_distributors, create_distributor))
        .routes(routes!(get_distributor, update_distributor))
        .routes(routes!(list_attached_partners))
        .routes(routes!(attach_partner, detach_partner))
        .routes(routes!(list_partners, create_partner))
        .routes(routes!(get_partner, update_partner))
}

fn object(kind: OrgKind) -> Object {
    match kind {
        OrgKind::Distributor => Object::Distributor,
        OrgKind::Partner => Object::Partner,
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrganisation {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct UpdateOrganisation {
    #[schema(nullable = false, min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
    /// `false` disables the organisation: its users can no longer log in.
    #[schema(nullable = false)]
    pub is_active: Option<bool>,
}

async fn list_impl(
    state: &AppState,
    who: &AuthUser,
    kind: OrgKind,
    params: ListParams,
    within: Option<RowScope>,
) -> Result<List<OrganisationDto>, ApiError> {
    let scope = match within {
        Some(s) => s,
        None => state.authz.view_scope(&who.0, object(kind))?,
    };
    let sort = Sort::parse(params.sort.as_deref(), organisations::SORTS)?;
    let cursor = params.cursor.as_deref().map(Cursor::decode).transpose()?;
    let limit = pagination::limit(params.limit)?;
    let filter = OrgFilter {
        q: params.q.filter(|q| !q.trim().is_empty()),
        is_active: params.is_active,
    };
    let mut conn = state.conn().await?;
    Ok(organisations::list(
        &mut conn,
        kind,
        scope,
        &filter,
        sort,
        cursor.as_ref(),
        limit,
    )
    .await?
    .into())
}

async fn get_impl(
    state: &AppState,
    who: &AuthUser,
    kind: OrgKind,
    id: Uuid,
) -> Result<OrganisationDto, ApiError> {
    let scope = state.authz.view_scope(&who.0, object(kind))?;
    let mut conn = state.conn().await?;
    Ok(organisations::get(&mut conn, kind, scope, id).await?.into())
}

async fn create_impl(
    state: &AppState,
    who: &AuthUser,
    meta: &RequestMeta,
    kind: OrgKind,
    body: CreateOrganisation,
) -> Result<(StatusCode, Json<OrganisationDto>), ApiError> {
    state
        .authz
        .authorize(&who.0, object(kind), Action::Manage)?;
    let name = Name::parse(&body.name).map_err(|c| FieldErrors::single("name", c))?;
    let mut conn = state.conn().await?;
    let org =
        organisations::create(&mut conn, kind, &name, &meta.audit(Some(who.0.user_id))).await?;
    Ok((StatusCode::CREATED, Json(org.into())))
}

async fn update_impl(
    state: &AppState,
    who: &AuthUser,
    meta: &RequestMeta,
    kind: OrgKind,
    id: Uuid,
    body: UpdateOrganisation,
) -> Result<OrganisationDto, ApiError> {
    state
        .authz
        .authorize(&who.0, object(kind), Action::Manage)?;
    let name = body
        .name
        .as_deref()
        .map(Name::parse)
        .transpose()
        .map_err(|c| FieldErrors::single("name", c))?;
    let patch = OrgPatch {
        name,
        is_active: body.is_active,
    };
    let mut conn = state.conn().await?;
    Ok(organisations::update(
        &mut conn,
        kind,
        id,
        &patch,
        &meta.audit(Some(who.0.user_id)),
    )
    .await?
    .into())
}

/// Distributors in the caller's scope.
#[utoipa::path(get, path = "/api/v1/distributors", tag = "organisations", params(ListParams), security(("bearer" = [])),
    responses((status = 200, body = List<OrganisationDto>), (status = 403, body = ErrorBody)))]
async fn list_distributors(
    State(s): State<AppState>,
    who: AuthUser,
    Query(p): Query<ListParams>,
) -> Result<Json<List<OrganisationDto>>, ApiError> {
    Ok(Json(
        list_impl(&s, &who, OrgKind::Distributor, p, None).await?,
    ))
}

/// Creates a distributor (admin).
#[utoipa::path(post, path = "/api/v1/distributors", tag = "organisations", request_body = CreateOrganisation, security(("bearer" = [])),
    responses((status = 201, body = OrganisationDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_distributor(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Json(b): Json<CreateOrganisation>,
) -> Result<(StatusCode, Json<OrganisationDto>), ApiError> {
    create_impl(&s, &who, &meta, OrgKind::Distributor, b).await
}

/// One distributor (404 outside the caller's scope).
#[utoipa::path(get, path = "/api/v1/distributors/{id}", tag = "organisations", security(("bearer" = [])),
    responses((status = 200, body = OrganisationDto), (status = 404, body = ErrorBody)))]
async fn get_distributor(
    State(s): State<AppState>,
    who: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<Json<OrganisationDto>, ApiError> {
    Ok(Json(get_impl(&s, &who, OrgKind::Distributor, id).await?))
}

/// Renames, disables or re-enables a distributor (admin).
#[utoipa::path(patch, path = "/api/v1/distributors/{id}", tag = "organisations", request_body = UpdateOrganisation, security(("bearer" = [])),
    responses((status = 200, body = OrganisationDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "Another organisation has this name", body = ErrorBody)))]
async fn update_distributor(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path(id): Path<Uuid>,
    Json(b): Json<UpdateOrganisation>,
) -> Result<Json<OrganisationDto>, ApiError> {
    Ok(Json(
        update_impl(&s, &who, &meta, OrgKind::Distributor, id, b).await?,
    ))
}

/// The partners attached to a distributor.
#[utoipa::path(get, path = "/api/v1/distributors/{id}/partners", tag = "organisations", params(ListParams), security(("bearer" = [])),
    responses((status = 200, body = List<OrganisationDto>), (status = 404, body = ErrorBody)))]
async fn list_attached_partners(
    State(s): State<AppState>,
    who: AuthUser,
    Path(id): Path<Uuid>,
    Query(p): Query<ListParams>,
) -> Result<Json<List<OrganisationDto>>, ApiError> {
    // The distributor must be visible, and the partners too.
    get_impl(&s, &who, OrgKind::Distributor, id).await?;
    s.authz.view_scope(&who.0, Object::Partner)?;
    Ok(Json(
        list_impl(
            &s,
            &who,
            OrgKind::Partner,
            p,
            Some(RowScope::DistributorAndAttached(id)),
        )
        .await?,
    ))
}

/// Attaches a partner to a distributor (admin; idempotent).
#[utoipa::path(put, path = "/api/v1/distributors/{id}/partners/{partner_id}", tag = "organisations", security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn attach_partner(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path((id, partner_id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    s.authz
        .authorize(&who.0, Object::Distributor, Action::Manage)?;
    let mut conn = s.conn().await?;
    organisations::attach(&mut conn, id, partner_id, &meta.audit(Some(who.0.user_id))).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Detaches a partner from a distributor (admin).
#[utoipa::path(delete, path = "/api/v1/distributors/{id}/partners/{partner_id}", tag = "organisations", security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn detach_partner(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path((id, partner_id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    s.authz
        .authorize(&who.0, Object::Distributor, Action::Manage)?;
    let mut conn = s.conn().await?;
    organisations::detach(&mut conn, id, partner_id, &meta.audit(Some(who.0.user_id))).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Partners in the caller's scope (a distributor sees its attached partners).
#[utoipa::path(get, path = "/api/v1/partners", tag = "organisations", params(ListParams), security(("bearer" = [])),
    responses((status = 200, body = List<OrganisationDto>), (status = 403, body = ErrorBody)))]
async fn list_partners(
    State(s): State<AppState>,
    who: AuthUser,
    Query(p): Query<ListParams>,
) -> Result<Json<List<OrganisationDto>>, ApiError> {
    Ok(Json(list_impl(&s, &who, OrgKind::Partner, p, None).await?))
}

/// Creates a partner (admin).
#[utoipa::path(post, path = "/api/v1/partners", tag = "organisations", request_body = CreateOrganisation, security(("bearer" = [])),
    responses((status = 201, body = OrganisationDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_partner(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Json(b): Json<CreateOrganisation>,
) -> Result<(StatusCode, Json<OrganisationDto>), ApiError> {
    create_impl(&s, &who, &meta, OrgKind::Partner, b).await
}

/// One partner (404 outside the caller's scope).
#[utoipa::path(get, path = "/api/v1/partners/{id}", tag = "organisations", security(("bearer" = [])),
    responses((status = 200, body = OrganisationDto), (status = 404, body = ErrorBody)))]
async fn get_partner(
    State(s): State<AppState>,
    who: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<Json<OrganisationDto>, ApiError> {
    Ok(Json(get_impl(&s, &who, OrgKind::Partner, id).await?))
}

/// Renames, disables or re-enables a partner (admin).
#[utoipa::path(patch, path = "/api/v1/partners/{id}", tag = "organisations", request_body = UpdateOrganisation, security(("bearer" = [])),
    responses((status = 200, body = OrganisationDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "Another organisation has this name", body = ErrorBody)))]
async fn update_partner(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path(id): Path<Uuid>,
    Json(b): Json<UpdateOrganisation>,
) -> Result<Json<OrganisationDto>, ApiError> {
    Ok(Json(
        update_impl(&s, &who, &meta, OrgKind::Partner, id, b).await?,
    ))
}
