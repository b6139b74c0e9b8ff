//! `/api/v1/users`: administration of users (admin), reading within the caller's scope.

use crate::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use tentabo_workflows::WorkflowError;
use tentabo_workflows::authz::{Action, Object};
use tentabo_workflows::error::FieldErrors;
use tentabo_workflows::identity::listing::Sort;
use tentabo_workflows::identity::users::{self, NewUserInput, UserFilter, UserPatch};
use tentabo_workflows::identity::{Email, Name, Password, Role};
use tentabo_workflows::pagination::{self, Cursor};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{AuthUser, Json, Query, RequestMeta};
use crate::routes::dto::{List, UserDto, double_option};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UserListParams {
    /// Search in email and full name.
    pub q: Option<String>,
    #[param(pattern = r"^(admin|restricted_admin|partner|distributor|fulfiller)$")]
    pub role: Option<String>,
    pub partner_id: Option<Uuid>,
    pub distributor_id: Option<Uuid>,
    pub is_active: Option<bool>,
    /// `email` (default) or `created_at`, `-` prefix for descending.
    #[param(pattern = r"^-?(email|created_at)$")]
    pub sort: Option<String>,
    #[param(min_length = 1, pattern = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$")]
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

fn parse_role(field: &str, raw: &str, errors: &mut FieldErrors) -> Option<Role> {
    raw.parse()
        .map_err(|()| errors.add(field, "unknown_role"))
        .ok()
}

/// Users in the caller's scope: a partner sees its organisation's users, a distributor
/// its own and its attached partners'.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(UserListParams), security(("bearer" = [])),
    responses((status = 200, body = List<UserDto>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_users(
    State(s): State<AppState>,
    who: AuthUser,
    Query(p): Query<UserListParams>,
) -> Result<Json<List<UserDto>>, ApiError> {
    let scope = s.authz.view_scope(&who.0, Object::User)?;
    let mut errors = FieldErrors::default();
    let role = p
        .role
        .as_deref()
        .and_then(|r| parse_role("role", r, &mut errors));
    errors.into_result()?;
    let sort = Sort::parse(p.sort.as_deref(), users::SORTS)?;
    let cursor = p.cursor.as_deref().map(Cursor::decode).transpose()?;
    let limit = pagination::limit(p.limit)?;
    let filter = UserFilter {
        q: p.q.filter(|q| !q.trim().is_empty()),
        role,
        partner_id: p.partner_id,
        distributor_id: p.distributor_id,
        is_active: p.is_active,
    };
    let mut conn = s.conn().await?;
    Ok(Json(
        users::list(&mut conn, scope, &filter, sort, cursor.as_ref(), limit)
            .await?
            .into(),
    ))
}

/// One user (404 outside the caller's scope).
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = UserDto), (status = 404, body = ErrorBody)))]
async fn get_user(
    State(s): State<AppState>,
    who: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<Json<UserDto>, ApiError> {
    let scope = s.authz.view_scope(&who.0, Object::User)?;
    let mut conn = s.conn().await?;
    Ok(Json(users::get(&mut conn, scope, id).await?.into()))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub full_name: String,
    /// 8 to 256 characters; omit for users of an external provider.
    #[schema(min_length = 8, max_length = 256)]
    pub password: Option<String>,
    #[schema(pattern = r"^(admin|restricted_admin|partner|distributor|fulfiller)$")]
    pub role: String,
    /// Required for the partner role.
    pub partner_id: Option<Uuid>,
    /// Required for the distributor role.
    pub distributor_id: Option<Uuid>,
}

/// Creates a user (admin).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUser, security(("bearer" = [])),
    responses((status = 201, body = UserDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_user(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Json(b): Json<CreateUser>,
) -> Result<(StatusCode, Json<UserDto>), ApiError> {
    s.authz.authorize(&who.0, Object::User, Action::Manage)?;
    let mut errors = FieldErrors::default();
    let email = Email::parse(&b.email)
        .map_err(|c| errors.add("email", c))
        .ok();
    let full_name = Name::parse(&b.full_name)
        .map_err(|c| errors.add("full_name", c))
        .ok();
    let password = b
        .password
        .as_deref()
        .map(Password::parse)
        .transpose()
        .map_err(|c| errors.add("password", c))
        .ok()
        .flatten();
    let role = parse_role("role", &b.role, &mut errors);
    let (Some(email), Some(full_name), Some(role)) = (email, full_name, role) else {
        return Err(WorkflowError::Validation(errors).into());
    };
    errors.into_result()?;
    let input = NewUserInput {
        email,
        full_name,
        password,
        role,
        partner_id: b.partner_id,
        distributor_id: b.distributor_id,
    };
    let mut conn = s.conn().await?;
    let user = users::create(&mut conn, &input, &meta.audit(Some(who.0.user_id))).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct UpdateUser {
    #[schema(nullable = false, min_length = 1, max_length = 200, pattern = r"\S")]
    pub full_name: Option<String>,
    #[schema(
        nullable = false,
        pattern = r"^(admin|restricted_admin|partner|distributor|fulfiller)$"
    )]
    pub role: Option<String>,
    /// `null` detaches the user from its partner.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub partner_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub distributor_id: Option<Option<Uuid>>,
    /// `false` disables the user: no login, and existing tokens stop working.
    #[schema(nullable = false)]
    pub is_active: Option<bool>,
    /// Sets a new password and ends the user's sessions.
    #[schema(nullable = false, min_length = 8, max_length = 256)]
    pub password: Option<String>,
    /// `en` or `fr`: the language of the user's notification emails.
    #[schema(nullable = false, pattern = r"^(en|fr)$")]
    pub language: Option<String>,
}

/// Updates a user (admin): name, role and organisation, active flag, password,
/// language.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", request_body = UpdateUser, security(("bearer" = [])),
    responses((status = 200, body = UserDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_user(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path(id): Path<Uuid>,
    Json(b): Json<UpdateUser>,
) -> Result<Json<UserDto>, ApiError> {
    s.authz.authorize(&who.0, Object::User, Action::Manage)?;
    let mut errors = FieldErrors::default();
    let patch = UserPatch {
        full_name: b
            .full_name
            .as_deref()
            .and_then(|n| Name::parse(n).map_err(|c| errors.add("full_name", c)).ok()),
        role: b
            .role
            .as_deref()
            .and_then(|r| parse_role("role", r, &mut errors)),
        partner_id: b.partner_id,
        distributor_id: b.distributor_id,
        is_active: b.is_active,
        password: b.password.as_deref().and_then(|p| {
            Password::parse(p)
                .map_err(|c| errors.add("password", c))
                .ok()
        }),
        language: b.language.and_then(|l| match l.as_str() {
            "en" | "fr" => Some(l),
            _ => {
                errors.add("language", "invalid_choice");
                None
            }
        }),
    };
    errors.into_result()?;
    let mut conn = s.conn().await?;
    Ok(Json(
        users::update(&mut conn, id, &patch, &meta.audit(Some(who.0.user_id)))
            .await?
            .into(),
    ))
}
