//! The LDAP directory's admin actions: test a login against the configured directory
//! (active or not) without creating anything, and run the directory sync now.

use std::time::Instant;

use axum::extract::State;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use tentabo_workflows::WorkflowError;
use tentabo_workflows::authz::{Action, Object};
use tentabo_workflows::identity::auth::{AuthProvider, LdapAuthProvider};
use tentabo_workflows::identity::external;
use tentabo_workflows::providers::ldap::DirectoryError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{AuthUser, Json, RequestMeta};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(test_login))
        .routes(routes!(sync_directory))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestLoginRequest {
    /// A directory user name or email.
    #[schema(min_length = 1, max_length = 254)]
    pub login: String,
    #[schema(min_length = 1, max_length = 256)]
    pub password: String,
}

impl std::fmt::Debug for TestLoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestLoginRequest").finish_non_exhaustive()
    }
}

/// The directory entry a test login found.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DirectoryEntryDto {
    pub dn: String,
    pub email: Option<String>,
    pub full_name: Option<String>,
    /// Group DNs.
    pub groups: Vec<String>,
}

/// What a test login found.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TestLoginResult {
    /// The login would succeed.
    pub ok: bool,
    /// Why not: `invalid_credentials`, `directory_unavailable`, `account_not_mapped`,
    /// `organisation_not_found`, `directory_email_missing`.
    pub reason: Option<String>,
    pub latency_ms: u64,
    /// The entry, when the password was right.
    pub entry: Option<DirectoryEntryDto>,
    /// The mapped role, organisation and email, when the entry maps.
    pub role: Option<String>,
    pub partner_id: Option<Uuid>,
    pub distributor_id: Option<Uuid>,
    /// The organisation's name, as the mapping names it.
    pub organisation: Option<String>,
    pub email: Option<String>,
}

/// Tries a login against the configured LDAP directory (admins): nothing is created;
/// the answer says what the login would give, or why it would fail.
#[utoipa::path(post, path = "/api/v1/providers/auth/ldap/test-login", tag = "providers", request_body = TestLoginRequest, security(("bearer" = [])),
    responses((status = 200, body = TestLoginResult), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody, description = "no LDAP directory is configured"),
        (status = 422, body = ErrorBody)))]
async fn test_login(
    State(s): State<AppState>,
    who: AuthUser,
    Json(body): Json<TestLoginRequest>,
) -> Result<Json<TestLoginResult>, ApiError> {
    s.authz
        .authorize(&who.0, Object::Provider, Action::Manage)?;
    let directory = s.platform.configured_directory().await?;
    let started = Instant::now();
    let found = directory
        .authenticate(
            body.login.trim(),
            &SecretString::from(body.password.clone()),
        )
        .await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mut result = TestLoginResult {
        ok: false,
        reason: None,
        latency_ms,
        entry: None,
        role: None,
        partner_id: None,
        distributor_id: None,
        organisation: None,
        email: None,
    };
    let entry = match found {
        Ok(e) => e,
        Err(e) => {
            result.reason = Some(
                match e {
                    DirectoryError::InvalidCredentials => "invalid_credentials",
                    DirectoryError::Unavailable(_) | DirectoryError::Misconfigured(_) => {
                        "directory_unavailable"
                    }
                }
                .to_owned(),
            );
            return Ok(Json(result));
        }
    };
    result.entry = Some(DirectoryEntryDto {
        dn: entry.dn.clone(),
        email: entry.email.clone(),
        full_name: entry.full_name.clone(),
        groups: entry.groups.clone(),
    });
    let mut conn = s.conn().await?;
    match external::map_directory_user(&mut conn, &directory, &entry).await {
        Ok(p) => {
            result.ok = true;
            result.role = Some(p.assignment.role.as_str().to_owned());
            result.partner_id = p.assignment.partner_id;
            result.distributor_id = p.assignment.distributor_id;
            result.organisation = tentabo_workflows::identity::external::matching(
                &entry.groups,
                &directory.settings().group_mappings,
            )
            .and_then(|row| row.organisation.clone());
            result.email = Some(p.email);
        }
        Err(WorkflowError::Unauthenticated(f)) => result.reason = Some(f.code().to_owned()),
        Err(WorkflowError::Refused { code, .. }) => result.reason = Some(code.to_owned()),
        Err(e) => return Err(e.into()),
    }
    Ok(Json(result))
}

/// What a directory sync did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DirectorySyncDto {
    /// Directory users Tentabo knows that were checked.
    pub checked: usize,
    /// Users whose role, organisation, name or email changed.
    pub updated: usize,
    /// Users disabled (gone from the directory or from every mapped group); their
    /// sessions are revoked.
    pub disabled: usize,
}

/// Runs the directory sync now (admins; it also runs every night): users gone from
/// the directory or from every mapped group are disabled and their sessions revoked.
#[utoipa::path(post, path = "/api/v1/providers/auth/ldap/sync", tag = "providers", security(("bearer" = [])),
    responses((status = 200, body = DirectorySyncDto), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "no LDAP directory is active"),
        (status = 503, body = ErrorBody, description = "the directory does not answer")))]
async fn sync_directory(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
) -> Result<Json<DirectorySyncDto>, ApiError> {
    s.authz
        .authorize(&who.0, Object::Provider, Action::Manage)?;
    let Some(directory) = s.platform.directory().await? else {
        return Err(WorkflowError::Refused {
            code: "provider_not_active",
            details: serde_json::json!({ "message": "no LDAP directory is the active login provider" }),
        }
        .into());
    };
    let provider = LdapAuthProvider::new(s.db.clone(), directory);
    let report = provider
        .sync_users(&meta.audit(Some(who.0.user_id)))
        .await?;
    Ok(Json(DirectorySyncDto {
        checked: report.checked,
        updated: report.updated,
        disabled: report.disabled,
    }))
}
