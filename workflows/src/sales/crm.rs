//! A lead and its CRM: what a push sends (the lead as it is now, with the CRM objects
//! it is linked to), what a push records (`crm_links`), and a change made in the CRM
//! applied back to the lead — through the transition service, with the provider's
//! integration user as actor, so history, audit and effects behave as for a person.
//!
//! Collisions: `crm_links.synced_at` is the lead's `updated_at` when both sides last
//! agreed. A remote change arriving while the lead was changed locally since then is a
//! conflict (`sync_conflicts`, entity `tentabo_lead`) decided by the configured policy;
//! a remote stage move the lead's machine refuses is one too. A remote change older than
//! (or as old as) the one last applied is ignored: redeliveries and replays change
//! nothing.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::OptionalExtension;
use diesel::sql_types::{Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::Caller;
use super::transition;
use crate::WorkflowError;
use crate::audit::{self, AuditContext};
use crate::authz::Authorizer;
use crate::identity::{Principal, Role};
use crate::jobs::{self, JobKind, JobRequest, payloads};
use crate::lifecycle::lead::{LeadEvent, LeadMachine, LeadState};
use crate::providers::{CrmLink, CrmPushed, LeadSnapshot};
use crate::sql::{self, Bind};

/// The conflict entity of a lead-level CRM conflict.
pub const CONFLICT_ENTITY: &str = "tentabo_lead";

#[derive(diesel::QueryableByName)]
struct SnapshotRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Nullable<Text>)]
    provider_id: Option<String>,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Text)]
    organization: String,
    #[diesel(sql_type = Text)]
    contact_name: String,
    #[diesel(sql_type = Text)]
    contact_email: String,
    #[diesel(sql_type = Nullable<Text>)]
    contact_phone: Option<String>,
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = Nullable<diesel::sql_types::Numeric>)]
    value: Option<Decimal>,
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    expected_close_date: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Text>)]
    lost_reason: Option<String>,
    #[diesel(sql_type = Integer)]
    version: i32,
    #[diesel(sql_type = Timestamptz)]
    updated_at: DateTime<Utc>,
}

/// One link row.
#[derive(Debug, Clone, PartialEq, Serialize, diesel::QueryableByName)]
pub struct Link {
    #[diesel(sql_type = SqlUuid)]
    pub lead_id: Uuid,
    #[diesel(sql_type = Text)]
    pub object: String,
    #[diesel(sql_type = Text)]
    pub external_id: String,
    #[diesel(sql_type = Integer)]
    pub pushed_version: i32,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub remote_updated_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Timestamptz)]
    pub synced_at: DateTime<Utc>,
}

const LINK_COLUMNS: &str =
    "lead_id, object, external_id, pushed_version, remote_updated_at, synced_at";

/// A lead's links to `provider`.
pub async fn links(
    conn: &mut AsyncPgConnection,
    lead_id: Uuid,
    provider: &str,
) -> Result<Vec<Link>, WorkflowError> {
    Ok(sql::query(format!(
        "SELECT {LINK_COLUMNS} FROM crm_links WHERE lead_id = $1 AND provider = $2 ORDER BY object"
    ))
    .bind(Bind::Uuid(lead_id))
    .bind(Bind::Text(provider.to_owned()))
    .load(conn)
    .await?)
}

/// Every CRM link of a lead (each provider's), by provider and object.
pub async fn all_links(
    conn: &mut AsyncPgConnection,
    lead_id: Uuid,
) -> Result<Vec<(String, Link)>, WorkflowError> {
    use diesel::QueryableByName;
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        provider: String,
        #[diesel(embed)]
        link: Link,
    }
    let rows: Vec<Row> = sql::query(format!(
        "SELECT provider, {LINK_COLUMNS} FROM crm_links WHERE lead_id = $1 ORDER BY provider, object"
    ))
    .bind(Bind::Uuid(lead_id))
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.provider, r.link)).collect())
}

/// Where a person opens a CRM object in the CRM's web app (Pipedrive: on the company's
/// own domain; `api.pipedrive.com` names none).
pub fn web_url(base_url: &str, object: &str, external_id: &str) -> Option<String> {
    let base = base_url.trim_end_matches('/');
    if base.contains("://api.pipedrive.com") {
        return None;
    }
    let path = match object {
        "deal" => "deal",
        "lead" => "leads/inbox",
        "person" => "person",
        "organization" => "organization",
        _ => return None,
    };
    Some(format!("{base}/{path}/{external_id}"))
}

/// The lead linked to a CRM object, if any.
pub async fn linked(
    conn: &mut AsyncPgConnection,
    provider: &str,
    object: &str,
    external_id: &str,
) -> Result<Option<Link>, WorkflowError> {
    Ok(sql::query(format!(
        "SELECT {LINK_COLUMNS} FROM crm_links WHERE provider = $1 AND object = $2 AND external_id = $3 \
         ORDER BY synced_at DESC LIMIT 1"
    ))
    .bind(Bind::Text(provider.to_owned()))
    .bind(Bind::Text(object.to_owned()))
    .bind(Bind::Text(external_id.to_owned()))
    .get_result(conn)
    .await
    .optional()?)
}

/// Links a lead to a CRM object found on the CRM's side (a deal converted there from a
/// linked inbox item): agreeing as of the lead's current state.
pub async fn link(
    conn: &mut AsyncPgConnection,
    lead_id: Uuid,
    provider: &str,
    object: &str,
    external_id: &str,
) -> Result<(), WorkflowError> {
    sql::query(
        "INSERT INTO crm_links (lead_id, provider, object, external_id, pushed_version, synced_at) \
         SELECT id, $2, $3, $4, version, updated_at FROM leads WHERE id = $1 \
         ON CONFLICT (lead_id, provider, object) DO UPDATE SET external_id = EXCLUDED.external_id",
    )
    .bind(Bind::Uuid(lead_id))
    .bind(Bind::Text(provider.to_owned()))
    .bind(Bind::Text(object.to_owned()))
    .bind(Bind::Text(external_id.to_owned()))
    .execute(conn)
    .await?;
    Ok(())
}

/// A deal created in the CRM by a user linked to a partner or distributor
/// (`provider_owner_links`), as a new Tentabo lead.
#[derive(Debug, Clone)]
pub struct Import {
    pub provider: String,
    pub owner_external_id: String,
    pub deal_id: String,
    pub person_id: Option<String>,
    pub organization_id: Option<String>,
    pub lead: super::leads::NewLead,
    /// The state the deal's stage means (a new lead when none).
    pub state: Option<String>,
}

/// Which of `external_ids` (CRM objects of one kind) are linked to a lead.
pub async fn linked_among(
    conn: &mut AsyncPgConnection,
    provider: &str,
    object: &str,
    external_ids: &[String],
) -> Result<std::collections::HashSet<String>, WorkflowError> {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = Text)]
        external_id: String,
    }
    if external_ids.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<Id> = sql::query(
        "SELECT external_id FROM crm_links WHERE provider = $1 AND object = $2 \
         AND external_id = ANY($3)",
    )
    .bind(Bind::Text(provider.to_owned()))
    .bind(Bind::Text(object.to_owned()))
    .bind(Bind::Texts(external_ids.to_vec()))
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.external_id).collect())
}

/// The CRM users linked to a partner or distributor.
pub async fn partner_sellers(
    conn: &mut AsyncPgConnection,
    provider: &str,
) -> Result<std::collections::HashSet<String>, WorkflowError> {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = Text)]
        owner_external_id: String,
    }
    let rows: Vec<Id> =
        sql::query("SELECT owner_external_id FROM provider_owner_links WHERE provider = $1")
            .bind(Bind::Text(provider.to_owned()))
            .load(conn)
            .await?;
    Ok(rows.into_iter().map(|r| r.owner_external_id).collect())
}

/// Whether a CRM user is linked to a partner or distributor (`provider_owner_links`).
pub async fn sells_for_a_partner(
    conn: &mut AsyncPgConnection,
    provider: &str,
    owner_external_id: &str,
) -> Result<bool, WorkflowError> {
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        found: bool,
    }
    let f: Found = sql::query(
        "SELECT EXISTS (SELECT 1 FROM provider_owner_links WHERE provider = $1 \
             AND owner_external_id = $2) AS found",
    )
    .bind(Bind::Text(provider.to_owned()))
    .bind(Bind::Text(owner_external_id.to_owned()))
    .get_result(conn)
    .await?;
    Ok(f.found)
}

/// Creates the lead of an imported deal, linked to it (so its push finds the deal and
/// makes nothing new), in the state its stage means, in one transaction with its audit
/// rows; `None` when the deal's owner sells for no partner or distributor, or the deal
/// is already linked.
pub async fn import_deal(
    conn: &mut AsyncPgConnection,
    authz: &Authorizer,
    import: Import,
) -> Result<Option<Uuid>, WorkflowError> {
    #[derive(diesel::QueryableByName)]
    struct Owner {
        #[diesel(sql_type = Nullable<SqlUuid>)]
        partner_id: Option<Uuid>,
        #[diesel(sql_type = Nullable<SqlUuid>)]
        distributor_id: Option<Uuid>,
    }
    let owner: Option<Owner> = sql::query(
        "SELECT partner_id, distributor_id FROM provider_owner_links \
         WHERE provider = $1 AND owner_external_id = $2",
    )
    .bind(Bind::Text(import.provider.clone()))
    .bind(Bind::Text(import.owner_external_id.clone()))
    .get_result(conn)
    .await
    .optional()?;
    let Some(owner) = owner else { return Ok(None) };
    if linked(conn, &import.provider, "deal", &import.deal_id)
        .await?
        .is_some()
    {
        return Ok(None);
    }
    let caller = integration_caller(conn, authz, &import.provider).await?;
    let audit_ctx = AuditContext {
        actor_id: Some(caller.who.user_id),
        request_id: Some(format!("{}:deal:{}", import.provider, import.deal_id)),
        client_ip: None,
    };
    let mut new = import.lead.clone();
    new.partner_id = owner.partner_id;
    new.distributor_id = owner.distributor_id;
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        let lead = super::leads::create(conn, &caller, &audit_ctx, new).await?;
        let state = import
            .state
            .as_deref()
            .filter(|s| *s != "new" && transition::parse_state::<LeadState>(s).is_ok());
        if let Some(state) = state {
            // Imported where the CRM has it: one step, recorded as the import.
            sql::query("UPDATE leads SET state = $2, version = version + 1 WHERE id = $1")
                .bind(Bind::Uuid(lead.id))
                .bind(Bind::Text(state.to_owned()))
                .execute(conn)
                .await?;
            sql::query(
                "INSERT INTO lifecycle_history (object_type, object_id, version, event, from_state, \
                     to_state, actor_id, payload) \
                 SELECT 'lead', id, version, 'import', 'new', state, $2, $3 FROM leads WHERE id = $1",
            )
            .bind(Bind::Uuid(lead.id))
            .bind(Bind::Uuid(caller.who.user_id))
            .bind(Bind::Json(json!({ "source": import.provider, "deal_id": import.deal_id })))
            .execute(conn)
            .await?;
        }
        audit::record(
            conn,
            audit_ctx.entry(
                "lead.imported",
                "lead",
                lead.id,
                json!({ "source": import.provider, "deal_id": import.deal_id, "state": state }),
            ),
        )
        .await?;
        for (object, id) in [
            ("deal", Some(&import.deal_id)),
            ("person", import.person_id.as_ref()),
            ("organization", import.organization_id.as_ref()),
        ] {
            if let Some(id) = id {
                link(conn, lead.id, &import.provider, object, id).await?;
            }
        }
        Ok(Some(lead.id))
    })
    .await
}

/// The lead as it is now with its links to `provider`, or `None` if it was deleted.
pub async fn lead_snapshot(
    conn: &mut AsyncPgConnection,
    lead_id: Uuid,
    provider: &str,
) -> Result<Option<LeadSnapshot>, WorkflowError> {
    let row: Option<SnapshotRow> = sql::query(
        "SELECT id, provider_id, title, organization, contact_name, contact_email, contact_phone, \
                state, value, currency, expected_close_date, lost_reason, version, updated_at \
         FROM leads WHERE id = $1",
    )
    .bind(Bind::Uuid(lead_id))
    .get_result(conn)
    .await
    .optional()?;
    let Some(r) = row else { return Ok(None) };
    let links = links(conn, lead_id, provider)
        .await?
        .into_iter()
        .map(|l| CrmLink::new(&l.object, l.external_id, l.remote_updated_at))
        .collect();
    Ok(Some(LeadSnapshot {
        lead_id: r.id,
        external_id: r.provider_id,
        title: r.title,
        organization: r.organization,
        contact_name: r.contact_name,
        contact_email: r.contact_email,
        contact_phone: r.contact_phone,
        status: r.state,
        value: r.value,
        currency: r.currency,
        expected_close_date: r.expected_close_date.map(|t| t.date_naive()),
        lost_reason: r.lost_reason,
        version: r.version,
        updated_at: r.updated_at,
        links,
    }))
}

/// Whether the CRM already holds this state of the lead: every link agreed at or after
/// the lead's last change (a push of an older state, or of a change the CRM itself
/// made, has nothing to send).
pub async fn already_synced(
    conn: &mut AsyncPgConnection,
    lead: &LeadSnapshot,
    provider: &str,
) -> Result<bool, WorkflowError> {
    let links = links(conn, lead.lead_id, provider).await?;
    Ok(links
        .iter()
        .any(|l| l.object == "deal" || l.object == "lead")
        && links.iter().all(|l| l.synced_at >= lead.updated_at))
}

/// Takes the lead's push lease for `ttl` (`false`: another push holds it). A push
/// holds it across its provider calls, so two pushes of one lead never both create.
/// The same holder (a job's retry) takes its own lease back.
pub async fn lease(
    conn: &mut AsyncPgConnection,
    lead_id: Uuid,
    holder: Uuid,
    ttl: std::time::Duration,
) -> Result<bool, WorkflowError> {
    let ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    let n = sql::query(
        "INSERT INTO crm_push_leases (lead_id, holder, expires_at) \
         SELECT $1, $2, now() + make_interval(secs => $3::bigint / 1000.0) \
         WHERE EXISTS (SELECT 1 FROM leads WHERE id = $1) \
         ON CONFLICT (lead_id) DO UPDATE SET holder = EXCLUDED.holder, \
             expires_at = EXCLUDED.expires_at, \
             again = crm_push_leases.again AND crm_push_leases.holder = EXCLUDED.holder \
         WHERE crm_push_leases.expires_at < now() OR crm_push_leases.holder = EXCLUDED.holder",
    )
    .bind(Bind::Uuid(lead_id))
    .bind(Bind::Uuid(holder))
    .bind(Bind::BigInt(ms))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Asks the push holding the lead's lease to push once more before it lets go
/// (`false`: no live lease — take it instead).
pub async fn hand_off(conn: &mut AsyncPgConnection, lead_id: Uuid) -> Result<bool, WorkflowError> {
    let n = sql::query(
        "UPDATE crm_push_leases SET again = TRUE WHERE lead_id = $1 AND expires_at >= now()",
    )
    .bind(Bind::Uuid(lead_id))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Gives the lease back (only its holder can); answers whether another push asked for
/// one more round meanwhile (then the lease is kept, cleared of the request).
pub async fn release(
    conn: &mut AsyncPgConnection,
    lead_id: Uuid,
    holder: Uuid,
) -> Result<bool, WorkflowError> {
    let again = sql::query(
        "UPDATE crm_push_leases SET again = FALSE WHERE lead_id = $1 AND holder = $2 AND again",
    )
    .bind(Bind::Uuid(lead_id))
    .bind(Bind::Uuid(holder))
    .execute(conn)
    .await?;
    if again == 1 {
        return Ok(true);
    }
    sql::query("DELETE FROM crm_push_leases WHERE lead_id = $1 AND holder = $2 AND NOT again")
        .bind(Bind::Uuid(lead_id))
        .bind(Bind::Uuid(holder))
        .execute(conn)
        .await?;
    Ok(false)
}

/// A push that failed for good lets the lease go; a round handed to it meanwhile is
/// queued as a push of its own (it may succeed: the lead changed since).
pub async fn give_up(
    conn: &mut AsyncPgConnection,
    lead_id: Uuid,
    holder: Uuid,
) -> Result<(), WorkflowError> {
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        #[derive(diesel::QueryableByName)]
        struct Again {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            again: bool,
        }
        let released: Option<Again> = sql::query(
            "DELETE FROM crm_push_leases WHERE lead_id = $1 AND holder = $2 RETURNING again",
        )
        .bind(Bind::Uuid(lead_id))
        .bind(Bind::Uuid(holder))
        .get_result(conn)
        .await
        .optional()?;
        if released.is_some_and(|r| r.again) {
            #[derive(diesel::QueryableByName)]
            struct V {
                #[diesel(sql_type = Integer)]
                version: i32,
            }
            let v: V = sql::query("SELECT version FROM leads WHERE id = $1")
                .bind(Bind::Uuid(lead_id))
                .get_result(conn)
                .await?;
            jobs::enqueue(
                conn,
                &[JobRequest::new(
                    &payloads::PushLeadStatus {
                        lead_id,
                        version: v.version,
                    },
                    format!(
                        "lead:{lead_id}:v{}:{}:after-{}",
                        v.version,
                        JobKind::CrmPushLeadStatus.queue(),
                        Uuid::now_v7()
                    ),
                )],
            )
            .await?;
        }
        Ok(())
    })
    .await
}

/// Records what a push made or found: the lead's main CRM object and every link, as
/// agreeing with the lead state that was pushed.
pub async fn record_push(
    conn: &mut AsyncPgConnection,
    lead: &LeadSnapshot,
    pushed: &CrmPushed,
) -> Result<(), WorkflowError> {
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        sql::query(
            "UPDATE leads SET provider_name = $2, provider_id = $3, last_sync_at = now() WHERE id = $1",
        )
        .bind(Bind::Uuid(lead.lead_id))
        .bind(Bind::Text(pushed.primary.provider.clone()))
        .bind(Bind::Text(pushed.primary.external_id.clone()))
        .execute(conn)
        .await?;
        for link in &pushed.links {
            sql::query(
                "INSERT INTO crm_links (lead_id, provider, object, external_id, pushed_version, \
                     remote_updated_at, synced_at) \
                 SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM leads WHERE id = $1) \
                 ON CONFLICT (lead_id, provider, object) DO UPDATE SET \
                     external_id = EXCLUDED.external_id, \
                     pushed_version = GREATEST(crm_links.pushed_version, EXCLUDED.pushed_version), \
                     remote_updated_at = GREATEST(crm_links.remote_updated_at, EXCLUDED.remote_updated_at), \
                     synced_at = GREATEST(crm_links.synced_at, EXCLUDED.synced_at)",
            )
            .bind(Bind::Uuid(lead.lead_id))
            .bind(Bind::Text(pushed.primary.provider.clone()))
            .bind(Bind::Text(link.object.clone()))
            .bind(Bind::Text(link.external_id.clone()))
            .bind(Bind::Int(lead.version))
            .bind(Bind::OptTime(link.remote_updated_at))
            .bind(Bind::Time(lead.updated_at))
            .execute(conn)
            .await?;
        }
        Ok(())
    })
    .await
}

/// The provider's integration user: the actor of changes a CRM makes (history and
/// audit name it). It cannot sign in (no password, inactive) and is made on first use.
pub async fn integration_caller(
    conn: &mut AsyncPgConnection,
    authz: &Authorizer,
    provider: &str,
) -> Result<Caller, WorkflowError> {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    let email = format!("{provider}@integrations.tentabo.invalid");
    let label = format!("{} (integration)", capitalised(provider));
    let id: Id = sql::query(
        "INSERT INTO users (id, email, full_name, role, auth_provider, is_active) \
         VALUES ($1, $2, $3, 'admin', 'integration', FALSE) \
         ON CONFLICT (email) DO UPDATE SET full_name = users.full_name RETURNING id",
    )
    .bind(Bind::Uuid(Uuid::now_v7()))
    .bind(Bind::Text(email.clone()))
    .bind(Bind::Text(label))
    .get_result(conn)
    .await?;
    let who = Principal {
        user_id: id.id,
        session_id: Uuid::nil(),
        email,
        role: Role::Admin,
        partner_id: None,
        distributor_id: None,
    };
    Caller::load(conn, authz, &who).await
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// A change the CRM made to the object a lead is linked to, in Tentabo's terms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RemoteChange {
    pub provider: String,
    /// `deal` or `lead`.
    pub object: String,
    pub external_id: String,
    /// The lead state the CRM's stage or status means (`None`: no opinion, e.g. a stage
    /// outside the mapping).
    pub state: Option<String>,
    pub value: Option<Decimal>,
    pub currency: Option<String>,
    pub expected_close_date: Option<NaiveDate>,
    pub lost_reason: Option<String>,
    /// When the CRM changed the object.
    pub updated_at: DateTime<Utc>,
    /// What the CRM's object said (kept on a conflict).
    pub raw: Value,
}

/// What applying a remote change did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Applied {
    /// No Tentabo lead is linked to the object.
    NotLinked,
    /// Already applied (a redelivery or an older change), or nothing differs.
    Unchanged,
    /// The lead was changed: its new version, and the event applied, if any.
    Updated { version: i32, event: Option<String> },
    /// A conflict was recorded (its id) with the resolution the policy chose.
    Conflict { id: i64, resolution: String },
}

#[derive(diesel::QueryableByName)]
struct Current {
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = Integer)]
    version: i32,
    #[diesel(sql_type = Nullable<diesel::sql_types::Numeric>)]
    value: Option<Decimal>,
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    expected_close_date: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Text>)]
    lost_reason: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    updated_at: DateTime<Utc>,
}

/// The single event that takes a lead from `from` to `to`, if the machine allows one.
pub fn event_between(from: LeadState, to: LeadState) -> Option<LeadEvent> {
    LeadEvent::ALL.into_iter().find(|e| {
        *e != LeadEvent::Convert
            && crate::lifecycle::lead::apply(from, *e, Role::Admin).is_ok_and(|t| t.to == to)
    })
}

/// Applies a CRM change to the linked lead, in one transaction (fields, the transition
/// with its history, audit and effects, the link's new agreement, or the conflict).
pub async fn apply_remote(
    conn: &mut AsyncPgConnection,
    authz: &Authorizer,
    policy: crate::pipeline::load::ConflictPolicy,
    change: &RemoteChange,
) -> Result<Applied, WorkflowError> {
    apply(conn, authz, policy, change, false).await
}

/// Decides a pending lead conflict (`POST /sync/conflicts/{id}/resolve`), in the
/// caller's transaction: `source` applies the CRM's change now (a stage move the lead's
/// machine refuses cannot be: 409 `transition_refused`), `local` keeps the lead and
/// pushes it back to the CRM.
pub async fn decide(
    conn: &mut AsyncPgConnection,
    authz: &Authorizer,
    provider: &str,
    remote: &Value,
    source: bool,
) -> Result<(), WorkflowError> {
    let change = remote.get("remote").unwrap_or(remote);
    let text = |k: &str| change.get(k).and_then(Value::as_str).map(str::to_owned);
    let (Some(object), Some(external_id)) = (text("object"), text("external_id")) else {
        return Err(WorkflowError::Invalid(
            "a lead conflict without its CRM object".into(),
        ));
    };
    if !source {
        let link = linked(conn, provider, &object, &external_id)
            .await?
            .ok_or(WorkflowError::NotFound)?;
        #[derive(diesel::QueryableByName)]
        struct V {
            #[diesel(sql_type = Integer)]
            version: i32,
        }
        let v: V = sql::query("SELECT version FROM leads WHERE id = $1")
            .bind(Bind::Uuid(link.lead_id))
            .get_result(conn)
            .await?;
        return push_again(
            conn,
            provider,
            link.lead_id,
            v.version,
            &format!("decided-{}", Uuid::now_v7()),
        )
        .await;
    }
    if remote.get("refused").is_some() {
        return Err(WorkflowError::Refused {
            code: "transition_refused",
            details: json!({
                "message": "the lead's lifecycle cannot make this move in one step: keep the local state, or move the lead in Tentabo",
                "from": remote.get("from"), "to": remote.get("to"),
            }),
        });
    }
    let decided = RemoteChange {
        provider: provider.to_owned(),
        object,
        external_id,
        state: text("state"),
        value: change
            .get("value")
            .and_then(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .or_else(|| v.as_f64().map(|f| f.to_string()))
            })
            .and_then(|v| v.parse().ok()),
        currency: text("currency"),
        expected_close_date: text("expected_close_date")
            .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()),
        lost_reason: text("lost_reason"),
        updated_at: text("updated_at")
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map_or_else(Utc::now, |t| t.with_timezone(&Utc)),
        raw: change.get("raw").cloned().unwrap_or(Value::Null),
    };
    match apply(
        conn,
        authz,
        crate::pipeline::load::ConflictPolicy::SourceWins,
        &decided,
        true,
    )
    .await?
    {
        Applied::Conflict { .. } => Err(WorkflowError::Refused {
            code: "transition_refused",
            details: json!({ "message": "the lead's lifecycle cannot make this move in one step" }),
        }),
        _ => Ok(()),
    }
}

/// Applies a CRM change; `decided` (a person resolving a conflict) skips the checks
/// for an already-seen change and for a collision.
async fn apply(
    conn: &mut AsyncPgConnection,
    authz: &Authorizer,
    policy: crate::pipeline::load::ConflictPolicy,
    change: &RemoteChange,
    decided: bool,
) -> Result<Applied, WorkflowError> {
    let caller = integration_caller(conn, authz, &change.provider).await?;
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        let link: Option<Link> = sql::query(format!(
            "SELECT {LINK_COLUMNS} FROM crm_links WHERE provider = $1 AND object = $2 \
                 AND external_id = $3 ORDER BY synced_at DESC LIMIT 1 FOR UPDATE"
        ))
        .bind(Bind::Text(change.provider.clone()))
        .bind(Bind::Text(change.object.clone()))
        .bind(Bind::Text(change.external_id.clone()))
        .get_result(conn)
        .await
        .optional()?;
        let Some(link) = link else {
            return Ok(Applied::NotLinked);
        };
        if !decided
            && link
                .remote_updated_at
                .is_some_and(|seen| change.updated_at <= seen)
        {
            return Ok(Applied::Unchanged);
        }
        let lead: Current = sql::query(
            "SELECT state, version, value, currency, expected_close_date, lost_reason, updated_at \
             FROM leads WHERE id = $1 FOR UPDATE",
        )
        .bind(Bind::Uuid(link.lead_id))
        .get_result(conn)
        .await?;
        let from: LeadState = transition::parse_state(&lead.state)?;
        let target: Option<LeadState> = change
            .state
            .as_deref()
            .and_then(|s| transition::parse_state(s).ok())
            .filter(|t| *t != from);
        let value_changes = change.value.is_some_and(|v| Some(v) != lead.value)
            || (change.value.is_none() && lead.value.is_some_and(|v| !v.is_zero()));
        let currency_changes = change
            .currency
            .as_deref()
            .is_some_and(|c| c != lead.currency);
        let local_date = lead.expected_close_date.map(|t| t.date_naive());
        let date_changes = change.expected_close_date != local_date;
        let reason_changes = change.lost_reason.is_some() && change.lost_reason != lead.lost_reason;
        let fields_change = value_changes || currency_changes || date_changes || reason_changes;
        if target.is_none() && !fields_change {
            agree(
                conn,
                &change.provider,
                &link,
                change.updated_at,
                lead.updated_at,
            )
            .await?;
            return Ok(Applied::Unchanged);
        }
        let event = target.map(|t| (t, event_between(from, t)));
        let local = json!({
            "state": lead.state, "version": lead.version, "value": lead.value,
            "currency": lead.currency, "expected_close_date": local_date,
            "lost_reason": lead.lost_reason, "updated_at": lead.updated_at,
        });
        let remote = json!({
            "state": change.state, "value": change.value, "currency": change.currency,
            "expected_close_date": change.expected_close_date, "lost_reason": change.lost_reason,
            "updated_at": change.updated_at, "object": change.object,
            "external_id": change.external_id, "raw": change.raw,
        });
        // A stage jump the machine refuses: the lead keeps its state.
        if let Some((to, None)) = event {
            if decided {
                return Ok(Applied::Conflict {
                    id: 0,
                    resolution: "refused".into(),
                });
            }
            let resolution = if policy == crate::pipeline::load::ConflictPolicy::Manual {
                "pending"
            } else {
                "local_kept"
            };
            let id = conflict(
                conn,
                change,
                policy,
                &local,
                &json!({
                    "refused": "illegal_transition", "from": lead.state,
                    "to": transition::state_name(to), "remote": remote,
                }),
                resolution,
            )
            .await?;
            mark_seen(conn, &link, change.updated_at).await?;
            if resolution == "local_kept" {
                push_again(
                    conn,
                    &change.provider,
                    link.lead_id,
                    lead.version,
                    &format!("conflict-{id}"),
                )
                .await?;
            }
            return Ok(Applied::Conflict {
                id,
                resolution: resolution.to_owned(),
            });
        }
        let collides = !decided && lead.updated_at > link.synced_at;
        if collides {
            use crate::pipeline::load::ConflictPolicy as P;
            let resolution = match policy {
                P::SourceWins => "source_applied",
                P::LocalWins => "local_kept",
                P::Manual => "pending",
            };
            let id = conflict(conn, change, policy, &local, &remote, resolution).await?;
            if resolution != "source_applied" {
                mark_seen(conn, &link, change.updated_at).await?;
                if resolution == "local_kept" {
                    push_again(
                        conn,
                        &change.provider,
                        link.lead_id,
                        lead.version,
                        &format!("conflict-{id}"),
                    )
                    .await?;
                }
                return Ok(Applied::Conflict {
                    id,
                    resolution: resolution.to_owned(),
                });
            }
        }
        let audit_ctx = AuditContext {
            actor_id: Some(caller.who.user_id),
            request_id: Some(format!(
                "{}:{}:{}",
                change.provider, change.object, change.external_id
            )),
            client_ip: None,
        };
        if fields_change {
            sql::query(
                "UPDATE leads SET value = $2, currency = COALESCE($3, currency), \
                     expected_close_date = $4, lost_reason = COALESCE($5, lost_reason), \
                     updated_at = now() WHERE id = $1",
            )
            .bind(Bind::Uuid(link.lead_id))
            .bind(Bind::OptDecimal(change.value.filter(|v| !v.is_zero())))
            .bind(Bind::OptText(change.currency.clone()))
            .bind(Bind::OptTime(
                change
                    .expected_close_date
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|t| t.and_utc()),
            ))
            .bind(Bind::OptText(change.lost_reason.clone()))
            .execute(conn)
            .await?;
            audit::record(
                conn,
                audit_ctx.entry(
                    "lead.update",
                    "lead",
                    link.lead_id,
                    json!({ "source": change.provider, "object": change.object,
                            "external_id": change.external_id }),
                ),
            )
            .await?;
        }
        let mut applied_event = None;
        if let Some((_, Some(e))) = event {
            let payload = match (&change.lost_reason, e) {
                (Some(r), LeadEvent::Lose) => json!({ "source": change.provider, "reason": r }),
                _ => json!({ "source": change.provider }),
            };
            transition::apply::<LeadMachine>(
                conn,
                &caller,
                &audit_ctx,
                &transition::Request {
                    id: link.lead_id,
                    event: transition::state_name(e),
                    expected_version: None,
                    payload: Some(payload),
                    idempotency: None,
                },
                &|_| Value::Null,
            )
            .await?;
            applied_event = Some(transition::state_name(e));
        }
        #[derive(diesel::QueryableByName)]
        struct After {
            #[diesel(sql_type = Integer)]
            version: i32,
            #[diesel(sql_type = Timestamptz)]
            updated_at: DateTime<Utc>,
        }
        let after: After = sql::query("SELECT version, updated_at FROM leads WHERE id = $1")
            .bind(Bind::Uuid(link.lead_id))
            .get_result(conn)
            .await?;
        agree(
            conn,
            &change.provider,
            &link,
            change.updated_at,
            after.updated_at,
        )
        .await?;
        Ok(Applied::Updated {
            version: after.version,
            event: applied_event,
        })
    })
    .await
}

/// Both sides agree as of the lead's `updated_at` (every link of the lead to the
/// provider) and the object's remote `seen` time.
async fn agree(
    conn: &mut AsyncPgConnection,
    provider: &str,
    link: &Link,
    seen: DateTime<Utc>,
    lead_updated_at: DateTime<Utc>,
) -> Result<(), WorkflowError> {
    sql::query(
        "UPDATE crm_links SET synced_at = GREATEST(synced_at, $3), \
             remote_updated_at = CASE WHEN object = $4 \
                 THEN GREATEST(remote_updated_at, $5) ELSE remote_updated_at END \
         WHERE lead_id = $1 AND provider = $2",
    )
    .bind(Bind::Uuid(link.lead_id))
    .bind(Bind::Text(provider.to_owned()))
    .bind(Bind::Time(lead_updated_at))
    .bind(Bind::Text(link.object.clone()))
    .bind(Bind::Time(seen))
    .execute(conn)
    .await?;
    Ok(())
}

/// The remote change was seen (and decided): a redelivery is ignored.
async fn mark_seen(
    conn: &mut AsyncPgConnection,
    link: &Link,
    seen: DateTime<Utc>,
) -> Result<(), WorkflowError> {
    sql::query(
        "UPDATE crm_links SET remote_updated_at = GREATEST(remote_updated_at, $3) \
         WHERE lead_id = $1 AND object = $2 AND external_id = $4",
    )
    .bind(Bind::Uuid(link.lead_id))
    .bind(Bind::Text(link.object.clone()))
    .bind(Bind::Time(seen))
    .bind(Bind::Text(link.external_id.clone()))
    .execute(conn)
    .await?;
    Ok(())
}

async fn conflict(
    conn: &mut AsyncPgConnection,
    change: &RemoteChange,
    policy: crate::pipeline::load::ConflictPolicy,
    local: &Value,
    remote: &Value,
    resolution: &str,
) -> Result<i64, WorkflowError> {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    // One pending conflict per object: a newer remote change replaces the one waiting.
    let id: Id = sql::query(
        "INSERT INTO sync_conflicts (provider, entity, external_id, policy, local, remote, \
             resolution, resolved_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $7 = 'pending' THEN NULL ELSE now() END) \
         ON CONFLICT (provider, entity, external_id) WHERE resolution = 'pending' DO UPDATE SET \
             policy = EXCLUDED.policy, local = EXCLUDED.local, remote = EXCLUDED.remote, \
             created_at = now() \
         RETURNING id",
    )
    .bind(Bind::Text(change.provider.clone()))
    .bind(Bind::Text(CONFLICT_ENTITY.to_owned()))
    .bind(Bind::Text(format!(
        "{}:{}",
        change.object, change.external_id
    )))
    .bind(Bind::Text(policy.as_str().to_owned()))
    .bind(Bind::Json(local.clone()))
    .bind(Bind::Json(remote.clone()))
    .bind(Bind::Text(resolution.to_owned()))
    .get_result(conn)
    .await?;
    Ok(id.id)
}

/// Local state kept: the two sides disagree until it is pushed again (the push, not
/// skipped as "already synced", makes the CRM show it).
async fn push_again(
    conn: &mut AsyncPgConnection,
    provider: &str,
    lead_id: Uuid,
    version: i32,
    tag: &str,
) -> Result<(), WorkflowError> {
    sql::query("UPDATE crm_links SET synced_at = 'epoch' WHERE lead_id = $1 AND provider = $2")
        .bind(Bind::Uuid(lead_id))
        .bind(Bind::Text(provider.to_owned()))
        .execute(conn)
        .await?;
    jobs::enqueue(
        conn,
        &[JobRequest::new(
            &payloads::PushLeadStatus { lead_id, version },
            format!(
                "lead:{lead_id}:v{version}:{}:{tag}",
                JobKind::CrmPushLeadStatus.queue()
            ),
        )],
    )
    .await?;
    Ok(())
}
