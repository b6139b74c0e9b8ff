//! Sessions and token rotation. A login starts a session and hands out an access token
//! and a refresh token. Refreshing rotates the refresh token; presenting a rotated one
//! again revokes the whole session (the token leaked). Every authenticated request
//! checks that its session is live and its user active, so logout, reuse detection
//! and disabling a user stop existing access tokens at once.

use chrono::{DateTime, Utc};
use diesel::{
    ExpressionMethods, NullableExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use tentabo_schema::models::organisations::User;
use tentabo_schema::models::sessions::{RefreshToken, Session};
use tentabo_schema::schema::{refresh_tokens, sessions, users};
use uuid::Uuid;

use crate::WorkflowError;
use crate::error::AuthFailure;
use crate::identity::Principal;
use crate::identity::tokens::{Claims, TokenKeys, hash_refresh_token, new_refresh_token};
use crate::identity::types::role_of;

/// What a successful login or refresh returns to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedTokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
    pub user_id: Uuid,
    pub session_id: Uuid,
}

fn chrono_from(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Starts a session for an authenticated user; the session, its refresh token and the
/// `login_succeeded` audit row commit together.
pub async fn start(
    conn: &mut AsyncPgConnection,
    keys: &TokenKeys,
    user: &User,
    client_ip: Option<String>,
    user_agent: Option<String>,
    audit_ctx: &crate::audit::AuditContext,
) -> Result<IssuedTokens, WorkflowError> {
    let role = role_of(user)?;
    let now = Utc::now();
    let session = Session {
        id: Uuid::new_v4(),
        user_id: user.id,
        auth_provider: user.auth_provider.clone(),
        created_at: now,
        last_used_at: now,
        expires_at: now + chrono_from(keys.refresh_ttl),
        revoked_at: None,
        revoked_reason: None,
        client_ip,
        user_agent: user_agent.map(|ua| ua.chars().take(300).collect()),
    };
    let (refresh, hash) = new_refresh_token();
    let token = RefreshToken {
        id: Uuid::new_v4(),
        session_id: session.id,
        token_hash: hash,
        created_at: now,
        expires_at: session.expires_at,
        used_at: None,
    };
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        diesel::insert_into(sessions::table)
            .values(&session)
            .execute(conn)
            .await?;
        diesel::insert_into(refresh_tokens::table)
            .values(&token)
            .execute(conn)
            .await?;
        crate::audit::record(
            conn,
            audit_ctx.entry(
                "login_succeeded",
                "user",
                user.id,
                serde_json::json!({ "session_id": session.id, "provider": user.auth_provider }),
            ),
        )
        .await
    })
    .await?;
    Ok(IssuedTokens {
        access_token: keys.issue(user.id, session.id, role)?,
        refresh_token: refresh,
        expires_in: keys.access_ttl.as_secs(),
        user_id: user.id,
        session_id: session.id,
    })
}

enum Rotation {
    Rotated(IssuedTokens),
    Reused { user_id: Uuid, session_id: Uuid },
    Refused(AuthFailure),
}

/// Rotates a refresh token. A token presented a second time revokes its session and
/// answers `RefreshTokenReused` (the revocation is committed).
pub async fn refresh(
    conn: &mut AsyncPgConnection,
    keys: &TokenKeys,
    presented: &str,
) -> Result<IssuedTokens, WorkflowError> {
    let hash = hash_refresh_token(presented);
    let outcome = conn
        .transaction::<_, WorkflowError, _>(async |conn| {
            let found: Option<(RefreshToken, Session, User)> = refresh_tokens::table
                .inner_join(sessions::table.inner_join(users::table))
                .filter(refresh_tokens::token_hash.eq(&hash))
                .select((
                    RefreshToken::as_select(),
                    Session::as_select(),
                    User::as_select(),
                ))
                .for_update()
                .first(conn)
                .await
                .optional()?;
            let Some((token, session, user)) = found else {
                return Ok(Rotation::Refused(AuthFailure::InvalidToken));
            };
            let now = Utc::now();
            if token.used_at.is_some() {
                revoke_session(conn, session.id, "refresh_token_reused").await?;
                return Ok(Rotation::Reused {
                    user_id: user.id,
                    session_id: session.id,
                });
            }
            if session.revoked_at.is_some() {
                return Ok(Rotation::Refused(AuthFailure::SessionRevoked));
            }
            if token.expires_at <= now || session.expires_at <= now {
                return Ok(Rotation::Refused(AuthFailure::TokenExpired));
            }
            if !user.is_active
                || !crate::identity::organisations::organisation_active(conn, &user).await?
            {
                revoke_session(conn, session.id, "user_disabled").await?;
                return Ok(Rotation::Refused(AuthFailure::AccountDisabled));
            }
            diesel::update(refresh_tokens::table.find(token.id))
                .set(refresh_tokens::used_at.eq(now))
                .execute(conn)
                .await?;
            let (next, next_hash) = new_refresh_token();
            diesel::insert_into(refresh_tokens::table)
                .values(RefreshToken {
                    id: Uuid::new_v4(),
                    session_id: session.id,
                    token_hash: next_hash,
                    created_at: now,
                    expires_at: session.expires_at,
                    used_at: None,
                })
                .execute(conn)
                .await?;
            diesel::update(sessions::table.find(session.id))
                .set(sessions::last_used_at.eq(now))
                .execute(conn)
                .await?;
            Ok(Rotation::Rotated(IssuedTokens {
                access_token: keys.issue(user.id, session.id, role_of(&user)?)?,
                refresh_token: next,
                expires_in: keys.access_ttl.as_secs(),
                user_id: user.id,
                session_id: session.id,
            }))
        })
        .await?;
    match outcome {
        Rotation::Rotated(t) => Ok(t),
        Rotation::Reused {
            user_id,
            session_id,
        } => {
            tracing::warn!(%user_id, %session_id, "refresh token reused: session revoked");
            Err(WorkflowError::Unauthenticated(
                AuthFailure::RefreshTokenReused,
            ))
        }
        Rotation::Refused(f) => Err(WorkflowError::Unauthenticated(f)),
    }
}

async fn revoke_session(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    reason: &str,
) -> Result<(), WorkflowError> {
    diesel::update(
        sessions::table
            .find(session_id)
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(Utc::now()),
        sessions::revoked_reason.eq(reason),
    ))
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends the session a refresh token belongs to. Returns (user, session) when there was
/// one; an unknown token is not an error (logout is idempotent).
pub async fn logout(
    conn: &mut AsyncPgConnection,
    presented: &str,
    audit_ctx: &crate::audit::AuditContext,
) -> Result<Option<(Uuid, Uuid)>, WorkflowError> {
    let hash = hash_refresh_token(presented);
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        let found: Option<(Uuid, Uuid)> = refresh_tokens::table
            .inner_join(sessions::table)
            .filter(refresh_tokens::token_hash.eq(&hash))
            .select((sessions::user_id, sessions::id))
            .first(conn)
            .await
            .optional()?;
        if let Some((user_id, session_id)) = found {
            revoke_session(conn, session_id, "logout").await?;
            let ctx = crate::audit::AuditContext {
                actor_id: Some(user_id),
                ..audit_ctx.clone()
            };
            crate::audit::record(
                conn,
                ctx.entry("logout", "session", session_id, serde_json::json!({})),
            )
            .await?;
        }
        Ok(found)
    })
    .await
}

/// Revokes every live session of a user (disabled, role changed, password reset).
pub async fn revoke_user_sessions(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    reason: &str,
) -> Result<usize, WorkflowError> {
    Ok(diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(Utc::now()),
        sessions::revoked_reason.eq(reason),
    ))
    .execute(conn)
    .await?)
}

/// user id, email, role, partner, distributor, user active, session revoked at,
/// partner active, distributor active.
type LiveRow = (
    Uuid,
    String,
    String,
    Option<Uuid>,
    Option<Uuid>,
    bool,
    Option<DateTime<Utc>>,
    Option<bool>,
    Option<bool>,
);

/// The caller behind verified access-token claims, read fresh (one query): the session
/// must be live and the user active; role and organisation are today's, not the token's.
pub async fn principal(
    conn: &mut AsyncPgConnection,
    claims: &Claims,
) -> Result<Principal, WorkflowError> {
    use tentabo_schema::schema::{distributors, partners};
    // A static query: diesel-async caches it as a prepared statement (this runs on
    // every authenticated request).
    let row: Option<LiveRow> = sessions::table
        .inner_join(
            users::table
                .left_join(partners::table)
                .left_join(distributors::table),
        )
        .filter(sessions::id.eq(claims.sid))
        .filter(users::id.eq(claims.sub))
        .select((
            users::id,
            users::email,
            users::role,
            users::partner_id,
            users::distributor_id,
            users::is_active,
            sessions::revoked_at,
            partners::is_active.nullable(),
            distributors::is_active.nullable(),
        ))
        .first(conn)
        .await
        .optional()?;
    let Some((
        id,
        email,
        role,
        partner_id,
        distributor_id,
        active,
        revoked_at,
        partner_active,
        distributor_active,
    )) = row
    else {
        return Err(WorkflowError::Unauthenticated(AuthFailure::SessionRevoked));
    };
    if !(active && partner_active.unwrap_or(true) && distributor_active.unwrap_or(true)) {
        return Err(WorkflowError::Unauthenticated(AuthFailure::AccountDisabled));
    }
    if revoked_at.is_some() {
        return Err(WorkflowError::Unauthenticated(AuthFailure::SessionRevoked));
    }
    let role = role
        .parse()
        .map_err(|()| WorkflowError::Internal(format!("unknown role {role:?}")))?;
    Ok(Principal {
        user_id: id,
        session_id: claims.sid,
        email,
        role,
        partner_id,
        distributor_id,
    })
}
