//! Users: one role each, and the organisation that role requires.

use diesel::sql_types::{BigInt, Bool, Nullable, Text, Uuid as SqlUuid};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use tentabo_schema::models::organisations::{NewUser, User};
use tentabo_schema::schema::users;
use uuid::Uuid;

use crate::WorkflowError;
use crate::audit::{self, AuditContext};
use crate::error::{FieldErrors, map_unique};
use crate::identity::RowScope;
use crate::identity::listing::{Sort, cursor_binds, like_pattern, scope_binds};
use crate::identity::organisations::{self, OrgKind};
use crate::identity::{Email, Name, Password, Role, password, sessions};
use crate::pagination::{Cursor, Page};

const COLUMNS: &str = "id, email, full_name, password_hash, role, distributor_id, partner_id, auth_provider, is_active, created_at, updated_at, language";

/// Users visible in scope `$1` (kind) / `$2` (id).
const SCOPE_SQL: &str = "($1 = 'all' \
    OR ($1 = 'partner' AND partner_id = $2) \
    OR ($1 = 'distributor' AND distributor_id = $2) \
    OR ($1 = 'attached' AND (distributor_id = $2 OR partner_id IN \
        (SELECT partner_id FROM distributor_partners WHERE distributor_id = $2))))";

pub const SORTS: &[(&str, &str, &str)] = &[
    ("email", "email", "text"),
    ("created_at", "created_at", "timestamptz"),
];

#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub q: Option<String>,
    pub role: Option<Role>,
    pub partner_id: Option<Uuid>,
    pub distributor_id: Option<Uuid>,
    pub is_active: Option<bool>,
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    scope: RowScope,
    filter: &UserFilter,
    sort: Sort,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<User>, WorkflowError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE {SCOPE_SQL} \
         AND ($3::text IS NULL OR email ILIKE $3 OR full_name ILIKE $3) \
         AND ($4::text IS NULL OR role = $4) AND ($5::uuid IS NULL OR partner_id = $5) \
         AND ($6::uuid IS NULL OR distributor_id = $6) AND ($7::bool IS NULL OR is_active = $7) \
         AND {after} {order} LIMIT $10",
        after = sort.after(8),
        order = sort.order_by(),
    );
    let (scope_kind, scope_id) = scope_binds(scope);
    let (ck, cid) = cursor_binds(cursor);
    let rows: Vec<User> = diesel::sql_query(sql)
        .bind::<Text, _>(scope_kind)
        .bind::<Nullable<SqlUuid>, _>(scope_id)
        .bind::<Nullable<Text>, _>(filter.q.as_deref().map(like_pattern))
        .bind::<Nullable<Text>, _>(filter.role.map(Role::as_str))
        .bind::<Nullable<SqlUuid>, _>(filter.partner_id)
        .bind::<Nullable<SqlUuid>, _>(filter.distributor_id)
        .bind::<Nullable<Bool>, _>(filter.is_active)
        .bind::<Nullable<Text>, _>(ck)
        .bind::<Nullable<SqlUuid>, _>(cid)
        .bind::<BigInt, _>(limit + 1)
        .load(conn)
        .await?;
    Ok(Page::from_rows(rows, limit, |u| {
        sort.cursor(u.created_at, u.email.clone(), u.id)
    }))
}

/// One user in scope; outside it, `NotFound`.
pub async fn get(
    conn: &mut AsyncPgConnection,
    scope: RowScope,
    id: Uuid,
) -> Result<User, WorkflowError> {
    let (scope_kind, scope_id) = scope_binds(scope);
    let row: Option<User> = diesel::sql_query(format!(
        "SELECT {COLUMNS} FROM users WHERE {SCOPE_SQL} AND id = $3"
    ))
    .bind::<Text, _>(scope_kind)
    .bind::<Nullable<SqlUuid>, _>(scope_id)
    .bind::<SqlUuid, _>(id)
    .get_result(conn)
    .await
    .optional()?;
    row.ok_or(WorkflowError::NotFound)
}

/// A user as the admin API creates it.
#[derive(Debug, Clone)]
pub struct NewUserInput {
    pub email: Email,
    pub full_name: Name,
    pub password: Option<Password>,
    pub role: Role,
    pub partner_id: Option<Uuid>,
    pub distributor_id: Option<Uuid>,
}

/// The organisation a role requires, and that the named organisation exists.
async fn check_membership(
    conn: &mut AsyncPgConnection,
    role: Role,
    partner_id: Option<Uuid>,
    distributor_id: Option<Uuid>,
) -> Result<(), WorkflowError> {
    let mut errors = FieldErrors::default();
    match role {
        Role::Partner => {
            if partner_id.is_none() {
                errors.add("partner_id", "required_for_role");
            }
            if distributor_id.is_some() {
                errors.add("distributor_id", "not_allowed_for_role");
            }
        }
        Role::Distributor => {
            if distributor_id.is_none() {
                errors.add("distributor_id", "required_for_role");
            }
            if partner_id.is_some() {
                errors.add("partner_id", "not_allowed_for_role");
            }
        }
        Role::Admin | Role::RestrictedAdmin | Role::Fulfiller => {
            if partner_id.is_some() {
                errors.add("partner_id", "not_allowed_for_role");
            }
            if distributor_id.is_some() {
                errors.add("distributor_id", "not_allowed_for_role");
            }
        }
    }
    errors.into_result()?;
    if let Some(p) = partner_id {
        organisations::get(conn, OrgKind::Partner, RowScope::All, p)
            .await
            .map_err(|e| {
                if matches!(e, WorkflowError::NotFound) {
                    FieldErrors::single("partner_id", "not_found")
                } else {
                    e
                }
            })?;
    }
    if let Some(d) = distributor_id {
        organisations::get(conn, OrgKind::Distributor, RowScope::All, d)
            .await
            .map_err(|e| {
                if matches!(e, WorkflowError::NotFound) {
                    FieldErrors::single("distributor_id", "not_found")
                } else {
                    e
                }
            })?;
    }
    Ok(())
}

async fn hash_off_thread(pw: &Password) -> Result<String, WorkflowError> {
    let pw = pw.expose().to_owned();
    tokio::task::spawn_blocking(move || password::hash(&pw))
        .await
        .map_err(|e| WorkflowError::internal("hashing a password off the async threads", e))?
}

pub async fn create(
    conn: &mut AsyncPgConnection,
    input: &NewUserInput,
    ctx: &AuditContext,
) -> Result<User, WorkflowError> {
    let hash = match &input.password {
        Some(p) => Some(hash_off_thread(p).await?),
        None => None,
    };
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        check_membership(conn, input.role, input.partner_id, input.distributor_id).await?;
        let new = NewUser {
            id: Uuid::now_v7(),
            email: input.email.as_str().to_owned(),
            full_name: input.full_name.as_str().to_owned(),
            password_hash: hash.clone(),
            role: input.role.as_str().to_owned(),
            distributor_id: input.distributor_id,
            partner_id: input.partner_id,
            auth_provider: "database".into(),
        };
        let user: User = diesel::insert_into(users::table)
            .values(&new)
            .returning(User::as_returning())
            .get_result(conn)
            .await
            .map_err(|e| {
                map_unique(
                    e,
                    &[(
                        "users_email_key",
                        "email_taken",
                        "A user with this email exists",
                    )],
                )
            })?;
        audit::record(
            conn,
            ctx.entry(
                "user_created",
                "user",
                user.id,
                json!({ "email": user.email, "role": user.role,
                "partner_id": user.partner_id, "distributor_id": user.distributor_id }),
            ),
        )
        .await?;
        Ok(user)
    })
    .await
}

/// A partial update. `Some(None)` clears an organisation.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub full_name: Option<Name>,
    pub role: Option<Role>,
    pub partner_id: Option<Option<Uuid>>,
    pub distributor_id: Option<Option<Uuid>>,
    pub is_active: Option<bool>,
    pub password: Option<Password>,
    /// `en` or `fr` (checked by the caller).
    pub language: Option<String>,
}

impl UserPatch {
    fn is_empty(&self) -> bool {
        self.full_name.is_none()
            && self.role.is_none()
            && self.partner_id.is_none()
            && self.distributor_id.is_none()
            && self.is_active.is_none()
            && self.password.is_none()
            && self.language.is_none()
    }
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    patch: &UserPatch,
    ctx: &AuditContext,
) -> Result<User, WorkflowError> {
    if patch.is_empty() {
        return Err(FieldErrors::single("body", "empty_patch"));
    }
    if ctx.actor_id == Some(id) && (patch.role.is_some() || patch.is_active == Some(false)) {
        return Err(WorkflowError::Conflict {
            code: "cannot_modify_self",
            message: "You cannot change your own role or disable yourself".into(),
        });
    }
    let hash = match &patch.password {
        Some(p) => Some(hash_off_thread(p).await?),
        None => None,
    };
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        let before: User = users::table
            .find(id)
            .select(User::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()?
            .ok_or(WorkflowError::NotFound)?;
        let before_role: Role = crate::identity::types::role_of(&before)?;
        let role = patch.role.unwrap_or(before_role);
        // Changing role moves the user out of the organisation the old role needed,
        // unless the patch names the new one.
        let keeps_orgs = role == before_role;
        let partner_id = patch.partner_id.unwrap_or(if keeps_orgs { before.partner_id } else { None });
        let distributor_id = patch.distributor_id.unwrap_or(if keeps_orgs { before.distributor_id } else { None });
        check_membership(conn, role, partner_id, distributor_id).await?;

        let user: User = diesel::update(users::table.find(id))
            .set((
                users::full_name.eq(patch.full_name.as_ref().map_or(before.full_name.clone(), |n| n.as_str().to_owned())),
                users::role.eq(role.as_str()),
                users::partner_id.eq(partner_id),
                users::distributor_id.eq(distributor_id),
                users::is_active.eq(patch.is_active.unwrap_or(before.is_active)),
                users::password_hash.eq(hash.clone().or(before.password_hash.clone())),
                users::language.eq(patch.language.clone().unwrap_or(before.language.clone())),
                users::updated_at.eq(chrono::Utc::now()),
            ))
            .returning(User::as_returning())
            .get_result(conn)
            .await?;

        if user.role != before.role {
            audit::record(conn, ctx.entry("role_changed", "user", id, json!({ "from": before.role, "to": user.role }))).await?;
        }
        if before.is_active && !user.is_active {
            sessions::revoke_user_sessions(conn, id, "user_disabled").await?;
            audit::record(conn, ctx.entry("user_disabled", "user", id, json!({}))).await?;
        } else if !before.is_active && user.is_active {
            audit::record(conn, ctx.entry("user_enabled", "user", id, json!({}))).await?;
        }
        if hash.is_some() {
            sessions::revoke_user_sessions(conn, id, "password_changed").await?;
            audit::record(conn, ctx.entry("password_changed", "user", id, json!({}))).await?;
        }
        if user.language != before.language {
            audit::record(conn, ctx.entry("user_updated", "user", id, json!({ "before": { "language": before.language }, "after": { "language": user.language } }))).await?;
        }
        if user.full_name != before.full_name || user.partner_id != before.partner_id || user.distributor_id != before.distributor_id {
            audit::record(
                conn,
                ctx.entry("user_updated", "user", id, json!({
                    "before": { "full_name": before.full_name, "partner_id": before.partner_id, "distributor_id": before.distributor_id },
                    "after": { "full_name": user.full_name, "partner_id": user.partner_id, "distributor_id": user.distributor_id } })),
            )
            .await?;
        }
        Ok(user)
    })
    .await
}

/// Which login provider an email's account belongs to (`None`: no such account).
pub async fn auth_provider_of(
    conn: &mut AsyncPgConnection,
    email: &str,
) -> Result<Option<String>, WorkflowError> {
    Ok(users::table
        .filter(users::email.eq(email))
        .select(users::auth_provider)
        .first(conn)
        .await
        .optional()?)
}
