//! Users who log in through an external system (an LDAP directory, an OpenID
//! provider): their groups or claims mapped to a role and an organisation, the Tentabo
//! user created or updated on login (just in time), the directory sync that disables
//! users gone from the directory or from every mapped group, and the SSO login's
//! single-use records (`sso_logins`, `sso_codes`).
//!
//! Every write here opens its transaction and its audit row commits with it; the calls
//! to the directory or the provider happen before, never inside one.

use chrono::{Duration as Span, Utc};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use tentabo_schema::models::organisations::{NewUser, User};
use tentabo_schema::schema::{distributors, partners, sso_codes, sso_logins, users};
use uuid::Uuid;

use crate::WorkflowError;
use crate::audit::{self, AuditContext};
use crate::error::AuthFailure;
use crate::identity::{Role, sessions};
use crate::providers::ldap::{DirectoryError, DirectoryUser, GroupMapping, LdapDirectory};
use crate::providers::oidc::{OidcSettings, VerifiedIdentity};

diesel::define_sql_function! {
    /// SQL `lower(text)`.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// `users.auth_provider` of directory and SSO users.
pub const LDAP: &str = "ldap";
pub const OIDC: &str = "oidc";

/// How long a started SSO login may take, and how long the console has to exchange
/// the one-time code.
pub const LOGIN_TTL: Span = Span::minutes(10);
pub const CODE_TTL: Span = Span::seconds(60);

/// A role and the organisation it needs, resolved to ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Assignment {
    pub role: Role,
    pub partner_id: Option<Uuid>,
    pub distributor_id: Option<Uuid>,
}

/// The first mapping row the user's groups (or claim values) match. A row's group is
/// a DN or a common name; both compare without regard to case.
pub fn matching<'a>(groups: &[String], rows: &'a [GroupMapping]) -> Option<&'a GroupMapping> {
    let cn = |dn: &str| -> Option<String> {
        let first = dn.split(',').next()?;
        let (attr, value) = first.split_once('=')?;
        attr.trim()
            .eq_ignore_ascii_case("cn")
            .then(|| value.trim().to_lowercase())
    };
    rows.iter().find(|row| {
        let wanted = row.group.trim().to_lowercase();
        groups.iter().any(|g| {
            let g = g.trim();
            g.to_lowercase() == wanted || cn(g).is_some_and(|c| c == wanted)
        })
    })
}

/// Why an external login may not become a Tentabo session (403, audited).
fn refused(code: &'static str, message: impl Into<String>) -> WorkflowError {
    WorkflowError::Refused {
        code,
        details: json!({ "message": message.into() }),
    }
}

/// The mapped row's role with its organisation's id (looked up by name).
pub async fn assign(
    conn: &mut AsyncPgConnection,
    row: &GroupMapping,
) -> Result<Assignment, WorkflowError> {
    let name = row
        .organisation
        .as_deref()
        .map(str::trim)
        .unwrap_or_default();
    let missing = || {
        refused(
            "organisation_not_found",
            format!(
                "the mapping names the organisation {name:?}, which does not exist or is not a {}",
                row.role
            ),
        )
    };
    match row.role {
        Role::Partner => {
            let id: Uuid = partners::table
                .filter(lower(partners::name).eq(name.to_lowercase()))
                .select(partners::id)
                .first(conn)
                .await
                .optional()?
                .ok_or_else(missing)?;
            Ok(Assignment {
                role: row.role,
                partner_id: Some(id),
                distributor_id: None,
            })
        }
        Role::Distributor => {
            let id: Uuid = distributors::table
                .filter(lower(distributors::name).eq(name.to_lowercase()))
                .select(distributors::id)
                .first(conn)
                .await
                .optional()?
                .ok_or_else(missing)?;
            Ok(Assignment {
                role: row.role,
                partner_id: None,
                distributor_id: Some(id),
            })
        }
        role => Ok(Assignment {
            role,
            partner_id: None,
            distributor_id: None,
        }),
    }
}

/// An external identity, checked and mapped, about to become a Tentabo user.
#[derive(Debug, Clone)]
pub struct Provisioned {
    /// `ldap` or `oidc`.
    pub provider: &'static str,
    pub external_id: String,
    pub email: String,
    pub full_name: String,
    pub assignment: Assignment,
    /// An existing user with this email may be linked (OIDC with a verified email).
    pub link_by_email: bool,
}

/// Creates or updates the Tentabo user of an external identity (just in time), with
/// its audit rows, in one transaction. A disabled user stays disabled (an admin
/// enables them); an email held by another account is refused unless linking is
/// allowed.
pub async fn provision(
    conn: &mut AsyncPgConnection,
    who: &Provisioned,
    ctx: &AuditContext,
) -> Result<User, WorkflowError> {
    // The common case, a returning user whose directory entry did not change, reads
    // one row and writes nothing (no lock: concurrent logins of one user do not queue).
    let current: Option<User> = users::table
        .filter(users::auth_provider.eq(who.provider))
        .filter(users::external_id.eq(&who.external_id))
        .select(User::as_select())
        .first(conn)
        .await
        .optional()?;
    if let Some(u) = current
        && u.email == who.email
        && u.full_name == who.full_name
        && u.role == who.assignment.role.as_str()
        && u.partner_id == who.assignment.partner_id
        && u.distributor_id == who.assignment.distributor_id
    {
        return Ok(u);
    }
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        // Concurrent first logins of one identity queue here: the second finds the
        // user the first made (rather than a unique violation or `email_taken`).
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind::<diesel::sql_types::Text, _>(format!("{}|{}", who.provider, who.external_id))
            .execute(conn)
            .await?;
        let by_external: Option<User> = users::table
            .filter(users::auth_provider.eq(who.provider))
            .filter(users::external_id.eq(&who.external_id))
            .select(User::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()?;
        let linked_now = by_external.is_none();
        let existing = match by_external {
            Some(u) => Some(u),
            None => {
                let by_email: Option<User> = users::table
                    .filter(users::email.eq(&who.email))
                    .select(User::as_select())
                    .for_update()
                    .first(conn)
                    .await
                    .optional()?;
                match by_email {
                    Some(u) if who.link_by_email => Some(u),
                    Some(_) => {
                        return Err(refused(
                            "email_taken",
                            "another Tentabo account already uses this email",
                        ));
                    }
                    None => None,
                }
            }
        };
        let a = who.assignment;
        let Some(before) = existing else {
            let new = NewUser {
                id: Uuid::now_v7(),
                email: who.email.clone(),
                full_name: who.full_name.clone(),
                password_hash: None,
                role: a.role.as_str().to_owned(),
                distributor_id: a.distributor_id,
                partner_id: a.partner_id,
                auth_provider: who.provider.to_owned(),
            };
            let user: User = diesel::insert_into(users::table)
                .values((&new, users::external_id.eq(&who.external_id)))
                .returning(User::as_returning())
                .get_result(conn)
                .await?;
            audit::record(
                conn,
                ctx.entry(
                    "user_provisioned",
                    "user",
                    user.id,
                    json!({ "provider": who.provider, "email": user.email, "role": user.role,
                            "partner_id": user.partner_id, "distributor_id": user.distributor_id }),
                ),
            )
            .await?;
            return Ok(user);
        };
        // A linked database user keeps logging in with a password too; the link only
        // records the external identity. Directory and SSO users follow the mapping.
        let follows_mapping = before.auth_provider == who.provider;
        let (role, partner_id, distributor_id) = if follows_mapping {
            (a.role.as_str().to_owned(), a.partner_id, a.distributor_id)
        } else {
            (before.role.clone(), before.partner_id, before.distributor_id)
        };
        let user: User = diesel::update(users::table.find(before.id))
            .set((
                users::external_id.eq(&who.external_id),
                users::role.eq(&role),
                users::partner_id.eq(partner_id),
                users::distributor_id.eq(distributor_id),
                users::full_name.eq(if follows_mapping { &who.full_name } else { &before.full_name }),
                users::email.eq(if follows_mapping { &who.email } else { &before.email }),
                users::updated_at.eq(Utc::now()),
            ))
            .returning(User::as_returning())
            .get_result(conn)
            .await?;
        if user.role != before.role
            || user.partner_id != before.partner_id
            || user.distributor_id != before.distributor_id
            || user.email != before.email
            || user.full_name != before.full_name
        {
            audit::record(
                conn,
                ctx.entry(
                    "user_updated_from_directory",
                    "user",
                    user.id,
                    json!({ "provider": who.provider,
                            "before": { "role": before.role, "email": before.email, "partner_id": before.partner_id, "distributor_id": before.distributor_id },
                            "after": { "role": user.role, "email": user.email, "partner_id": user.partner_id, "distributor_id": user.distributor_id } }),
                ),
            )
            .await?;
        }
        if linked_now {
            audit::record(
                conn,
                ctx.entry("account_linked", "user", user.id, json!({ "provider": who.provider })),
            )
            .await?;
        }
        Ok(user)
    })
    .await
}

/// The directory's error as the API answers it: bad credentials are the usual 401, a
/// directory that does not answer is a 503 (database users still log in).
pub fn directory_failure(e: DirectoryError) -> WorkflowError {
    match e {
        DirectoryError::InvalidCredentials => {
            WorkflowError::Unauthenticated(AuthFailure::InvalidCredentials)
        }
        DirectoryError::Unavailable(reason) => {
            tracing::warn!(%reason, "the LDAP directory did not answer");
            WorkflowError::Unavailable {
                code: "directory_unavailable",
                message: "the directory does not answer".into(),
            }
        }
        DirectoryError::Misconfigured(reason) => {
            tracing::error!(%reason, "the LDAP directory refuses Tentabo's configuration");
            WorkflowError::Unavailable {
                code: "directory_unavailable",
                message: "the directory refuses Tentabo's configuration".into(),
            }
        }
    }
}

/// A directory entry mapped to what its Tentabo user would be.
pub async fn map_directory_user(
    conn: &mut AsyncPgConnection,
    directory: &LdapDirectory,
    entry: &DirectoryUser,
) -> Result<Provisioned, WorkflowError> {
    let row = matching(&entry.groups, &directory.settings().group_mappings)
        .ok_or(WorkflowError::Unauthenticated(AuthFailure::NotMapped))?;
    let assignment = assign(conn, row).await?;
    let email = entry
        .email
        .as_deref()
        .map(|e| e.trim().to_lowercase())
        .filter(|e| crate::identity::types::is_address(e))
        .ok_or_else(|| {
            refused(
                "directory_email_missing",
                "the directory account has no usable email address",
            )
        })?;
    Ok(Provisioned {
        provider: LDAP,
        external_id: entry.dn.to_lowercase(),
        full_name: entry
            .full_name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| email.clone()),
        email,
        assignment,
        link_by_email: false,
    })
}

/// What the directory sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DirectorySyncReport {
    /// Directory users Tentabo knows that were checked.
    pub checked: usize,
    /// Users whose role, organisation, name or email changed.
    pub updated: usize,
    /// Users disabled (gone from the directory or from every mapped group); their
    /// sessions are revoked.
    pub disabled: usize,
}

/// Brings the directory's users over: every Tentabo user of the directory is looked
/// up in one listing; gone or unmapped → disabled with their sessions revoked; mapped
/// → role, organisation, name and email updated. Users not yet logged in are not
/// created (they are on their first login).
pub async fn sync_directory(
    conn: &mut AsyncPgConnection,
    directory: &LdapDirectory,
    entries: Vec<DirectoryUser>,
    ctx: &AuditContext,
) -> Result<DirectorySyncReport, WorkflowError> {
    let by_dn: std::collections::HashMap<String, &DirectoryUser> =
        entries.iter().map(|e| (e.dn.to_lowercase(), e)).collect();
    let known: Vec<(Uuid, Option<String>, bool)> = users::table
        .filter(users::auth_provider.eq(LDAP))
        .select((users::id, users::external_id, users::is_active))
        .load(conn)
        .await?;
    let mut report = DirectorySyncReport::default();
    for (id, external_id, active) in known {
        report.checked += 1;
        let entry = external_id.as_deref().and_then(|dn| by_dn.get(dn));
        let mapped = match entry {
            Some(e) => match map_directory_user(conn, directory, e).await {
                Ok(p) => Some(p),
                Err(WorkflowError::Refused { .. } | WorkflowError::Unauthenticated(_)) => None,
                Err(other) => return Err(other),
            },
            None => None,
        };
        match mapped {
            Some(p) => {
                let before: User = users::table
                    .find(id)
                    .select(User::as_select())
                    .first(conn)
                    .await?;
                if active {
                    let after = provision(conn, &p, ctx).await?;
                    if after.role != before.role
                        || after.partner_id != before.partner_id
                        || after.distributor_id != before.distributor_id
                        || after.email != before.email
                        || after.full_name != before.full_name
                    {
                        report.updated += 1;
                    }
                }
            }
            None if active => {
                let reason = if entry.is_some() {
                    "not_in_mapped_group"
                } else {
                    "gone_from_directory"
                };
                disable(conn, id, reason, ctx).await?;
                report.disabled += 1;
            }
            None => {}
        }
    }
    Ok(report)
}

/// Disables a user and revokes their sessions, audited, in one transaction.
async fn disable(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    reason: &str,
    ctx: &AuditContext,
) -> Result<(), WorkflowError> {
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        diesel::update(users::table.find(id))
            .set((users::is_active.eq(false), users::updated_at.eq(Utc::now())))
            .execute(conn)
            .await?;
        let revoked = sessions::revoke_user_sessions(conn, id, "directory_sync").await?;
        audit::record(
            conn,
            ctx.entry(
                "user_disabled",
                "user",
                id,
                json!({ "by": "directory_sync", "reason": reason, "sessions_revoked": revoked }),
            ),
        )
        .await
    })
    .await
}

fn digest(value: &str) -> String {
    let mut h = Sha256::new();
    h.update(value.as_bytes());
    format!("{:x}", h.finalize())
}

/// Records a started SSO login (single use, 10 minutes).
pub async fn remember_login(
    conn: &mut AsyncPgConnection,
    provider: &str,
    state: &str,
    nonce: &str,
    pkce_verifier: &str,
    return_to: Option<&str>,
) -> Result<(), WorkflowError> {
    let now = Utc::now();
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        diesel::delete(sso_logins::table.filter(sso_logins::expires_at.lt(now)))
            .execute(conn)
            .await?;
        diesel::insert_into(sso_logins::table)
            .values((
                sso_logins::state_hash.eq(digest(state)),
                sso_logins::provider.eq(provider),
                sso_logins::nonce.eq(nonce),
                sso_logins::pkce_verifier.eq(pkce_verifier),
                sso_logins::return_to.eq(return_to),
                sso_logins::created_at.eq(now),
                sso_logins::expires_at.eq(now + LOGIN_TTL),
            ))
            .execute(conn)
            .await?;
        Ok(())
    })
    .await
}

/// A started login, taken once by its callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLogin {
    pub nonce: String,
    pub pkce_verifier: String,
    pub return_to: Option<String>,
}

/// Takes the login a callback's `state` names: unknown, expired, already used or for
/// another provider → `None` (a tampered or replayed state).
pub async fn take_login(
    conn: &mut AsyncPgConnection,
    provider: &str,
    state: &str,
) -> Result<Option<PendingLogin>, WorkflowError> {
    let row: Option<(String, String, Option<String>)> = diesel::update(
        sso_logins::table
            .filter(sso_logins::state_hash.eq(digest(state)))
            .filter(sso_logins::provider.eq(provider))
            .filter(sso_logins::used_at.is_null())
            .filter(sso_logins::expires_at.gt(Utc::now())),
    )
    .set(sso_logins::used_at.eq(Utc::now()))
    .returning((
        sso_logins::nonce,
        sso_logins::pkce_verifier,
        sso_logins::return_to,
    ))
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.map(|(nonce, pkce_verifier, return_to)| PendingLogin {
        nonce,
        pkce_verifier,
        return_to,
    }))
}

/// Maps a verified SSO identity to what its Tentabo user would be.
pub async fn map_sso_identity(
    conn: &mut AsyncPgConnection,
    settings: &OidcSettings,
    who: &VerifiedIdentity,
) -> Result<Provisioned, WorkflowError> {
    let row = matching(&who.role_values, &settings.role_mappings)
        .ok_or(WorkflowError::Unauthenticated(AuthFailure::NotMapped))?;
    let assignment = assign(conn, row).await?;
    let email = who
        .email
        .clone()
        .filter(|e| crate::identity::types::is_address(e))
        .ok_or_else(|| refused("sso_email_missing", "the provider sent no usable email"))?;
    let verified = who.email_verified || !settings.require_verified_email;
    if !verified {
        return Err(refused(
            "sso_email_unverified",
            "the provider does not vouch for the account's email",
        ));
    }
    Ok(Provisioned {
        provider: OIDC,
        external_id: who.external_id(),
        full_name: who
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| email.clone()),
        email,
        assignment,
        link_by_email: settings.link_by_email,
    })
}

/// Issues the one-time code the callback hands the console (60 s, single use).
pub async fn issue_code(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    provider: &str,
) -> Result<String, WorkflowError> {
    let code = crate::secrets::random_token(32);
    let now = Utc::now();
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        diesel::delete(sso_codes::table.filter(sso_codes::expires_at.lt(now - Span::hours(1))))
            .execute(conn)
            .await?;
        diesel::insert_into(sso_codes::table)
            .values((
                sso_codes::code_hash.eq(digest(&code)),
                sso_codes::user_id.eq(user_id),
                sso_codes::provider.eq(provider),
                sso_codes::created_at.eq(now),
                sso_codes::expires_at.eq(now + CODE_TTL),
            ))
            .execute(conn)
            .await?;
        Ok(())
    })
    .await?;
    Ok(code)
}

/// Redeems a one-time code: its user, once. Unknown, expired or used → invalid
/// credentials (a replayed code is refused).
pub async fn redeem_code(conn: &mut AsyncPgConnection, code: &str) -> Result<User, WorkflowError> {
    let user_id: Option<Uuid> = diesel::update(
        sso_codes::table
            .filter(sso_codes::code_hash.eq(digest(code)))
            .filter(sso_codes::used_at.is_null())
            .filter(sso_codes::expires_at.gt(Utc::now())),
    )
    .set(sso_codes::used_at.eq(Utc::now()))
    .returning(sso_codes::user_id)
    .get_result(conn)
    .await
    .optional()?;
    let id = user_id.ok_or(WorkflowError::Unauthenticated(
        AuthFailure::InvalidCredentials,
    ))?;
    let user: User = users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .await?;
    if !user.is_active {
        return Err(WorkflowError::Unauthenticated(AuthFailure::AccountDisabled));
    }
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(group: &str, role: Role) -> GroupMapping {
        GroupMapping {
            group: group.into(),
            role,
            organisation: None,
        }
    }

    #[test]
    fn the_first_matching_row_wins_by_dn_or_common_name() {
        let rows = [
            row(
                "cn=tentabo-admins,ou=groups,dc=tentabo,dc=test",
                Role::Admin,
            ),
            row("Partner-A-Sales", Role::Partner),
            row("fulfilment", Role::Fulfiller),
        ];
        let groups = |g: &[&str]| g.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            matching(
                &groups(&["CN=Tentabo-Admins,OU=Groups,DC=tentabo,DC=test"]),
                &rows
            )
            .map(|r| r.role),
            Some(Role::Admin)
        );
        assert_eq!(
            matching(
                &groups(&["cn=fulfilment,ou=g", "cn=partner-a-sales,ou=groups,dc=x"]),
                &rows
            )
            .map(|r| r.role),
            Some(Role::Partner)
        );
        assert_eq!(matching(&groups(&["cn=unrelated,ou=g"]), &rows), None);
        assert_eq!(matching(&[], &rows), None);
    }
}
