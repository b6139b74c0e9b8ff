//! A lead's activities (calls, meetings, tasks…): the ones its CRM deal holds, read by
//! the pull and webhooks into `crm_activities`, and the ones created in Tentabo, pushed
//! to the CRM by the `crm_push_activity` job (their `external_id` is set once the CRM
//! has them). Whoever sees the lead sees them; whoever may move it may add one.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::OptionalExtension;
use diesel::sql_types::{Bool, Date, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Caller, Kind, leads};
use crate::WorkflowError;
use crate::audit::{self, AuditContext};
use crate::authz::Action;
use crate::error::FieldErrors;
use crate::jobs::{self, JobRequest, payloads};
use crate::providers::pipedrive::Activity as Remote;
use crate::sql::{self, Bind};

/// The activity types Tentabo creates (Pipedrive's default types).
pub const KINDS: &[&str] = &["call", "meeting", "task", "deadline", "email", "lunch"];
pub const MAX_SUBJECT: usize = 255;
pub const MAX_NOTE: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Serialize, diesel::QueryableByName)]
pub struct Activity {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// Where it lives: `pipedrive`, or `tentabo` while its push is pending.
    #[diesel(sql_type = Text)]
    pub provider: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub external_id: Option<String>,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub subject: String,
    #[diesel(sql_type = Nullable<Date>)]
    pub due_date: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Text>)]
    pub due_time: Option<String>,
    #[diesel(sql_type = Bool)]
    pub done: bool,
    /// The CRM user owning it (their CRM id).
    #[diesel(sql_type = Nullable<Text>)]
    pub owner: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub note: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub created_by: Option<Uuid>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, provider, external_id, kind, subject, due_date, due_time, done, owner, \
    note, created_by, created_at, updated_at";

/// The lead's activities (those of its deal too), by due date, undated last.
pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    lead_id: Uuid,
) -> Result<Vec<Activity>, WorkflowError> {
    leads::get(conn, caller, lead_id).await?;
    Ok(sql::query(format!(
        "SELECT {COLUMNS} FROM crm_activities a WHERE deleted_at IS NULL AND (lead_id = $1 \
             OR (deal_external_id IS NOT NULL AND EXISTS (SELECT 1 FROM crm_links l \
                 WHERE l.lead_id = $1 AND l.object = 'deal' AND l.provider = a.provider \
                   AND l.external_id = a.deal_external_id))) \
         ORDER BY due_date NULLS LAST, due_time NULLS LAST, created_at"
    ))
    .bind(Bind::Uuid(lead_id))
    .load(conn)
    .await?)
}

/// An activity as a caller asks for it.
#[derive(Debug, Clone, Default)]
pub struct NewActivity {
    pub kind: String,
    pub subject: String,
    pub due_date: Option<NaiveDate>,
    pub due_time: Option<String>,
    pub done: bool,
    pub note: Option<String>,
}

fn check(errors: &mut FieldErrors, new: &NewActivity) {
    if !KINDS.contains(&new.kind.as_str()) {
        errors.add("type", "unknown_type");
    }
    let subject = new.subject.trim();
    if subject.is_empty() {
        errors.add("subject", "required");
    } else if subject.chars().count() > MAX_SUBJECT {
        errors.add("subject", "too_long");
    }
    if let Some(t) = &new.due_time
        && chrono::NaiveTime::parse_from_str(t, "%H:%M").is_err()
    {
        errors.add("due_time", "invalid_time");
    }
    if new.due_time.is_some() && new.due_date.is_none() {
        errors.add("due_date", "required_with_due_time");
    }
    if new
        .note
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_NOTE)
    {
        errors.add("note", "too_long");
    }
}

/// Adds an activity to a lead (callers who may move the lead); it is pushed to the CRM
/// by a job queued in the same transaction as the row and its audit entry.
pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    audit_ctx: &AuditContext,
    lead_id: Uuid,
    new: NewActivity,
) -> Result<Activity, WorkflowError> {
    let lead = leads::get(conn, caller, lead_id).await?;
    if !caller.may(Kind::Lead, Action::UpdateStatus, lead.owners()) {
        return Err(WorkflowError::Forbidden);
    }
    let mut errors = FieldErrors::default();
    check(&mut errors, &new);
    if let Some(d) = new.due_date
        && let Some(t) = d.and_hms_opt(0, 0, 0)
    {
        crate::limits::get().check_date(&mut errors, "due_date", t.and_utc());
    }
    errors.into_result()?;
    let id = Uuid::now_v7();
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        let a: Activity = sql::query(format!(
            "INSERT INTO crm_activities (id, provider, lead_id, kind, subject, due_date, due_time, \
                 done, note, created_by) \
             VALUES ($1, 'tentabo', $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {COLUMNS}"
        ))
        .bind(Bind::Uuid(id))
        .bind(Bind::Uuid(lead_id))
        .bind(Bind::Text(new.kind.clone()))
        .bind(Bind::Text(new.subject.trim().to_owned()))
        .bind(Bind::OptDate(new.due_date))
        .bind(Bind::OptText(new.due_time.clone()))
        .bind(Bind::Bool(new.done))
        .bind(Bind::OptText(
            new.note.clone().filter(|n| !n.trim().is_empty()),
        ))
        .bind(Bind::Uuid(caller.who.user_id))
        .get_result(conn)
        .await?;
        audit::record(
            conn,
            audit_ctx.entry(
                "lead.activity_created",
                "lead",
                lead_id,
                json!({ "activity_id": id, "type": new.kind }),
            ),
        )
        .await?;
        jobs::enqueue(
            conn,
            &[JobRequest::new(
                &payloads::CrmPushActivity { activity_id: id },
                format!("activity:{id}:crm_push_activity"),
            )],
        )
        .await?;
        Ok(a)
    })
    .await
}

/// An activity waiting for its push, with where it goes in the CRM.
#[derive(Debug, Clone, PartialEq, diesel::QueryableByName)]
pub struct Pending {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub subject: String,
    #[diesel(sql_type = Nullable<Date>)]
    pub due_date: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Text>)]
    pub due_time: Option<String>,
    #[diesel(sql_type = Bool)]
    pub done: bool,
    #[diesel(sql_type = Nullable<Text>)]
    pub note: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub deal_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub lead_item: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub person_id: Option<String>,
}

/// The marker an activity pushed by Tentabo carries at the end of its note (an HTML
/// comment, invisible in Pipedrive): a retried push finds it instead of creating the
/// activity twice.
pub fn marker(id: Uuid) -> String {
    format!("<!-- tentabo-activity-{id} -->")
}

/// A note without Tentabo's marker.
pub fn without_marker(note: &str) -> String {
    match note.find("<!-- tentabo-activity-") {
        Some(i) => note[..i].trim_end().to_owned(),
        None => note.to_owned(),
    }
}

impl Pending {
    /// The v2 `POST /activities` body.
    pub fn body(&self) -> Value {
        let mut b = json!({ "subject": self.subject, "type": self.kind, "done": self.done });
        if let Some(d) = self.deal_id.as_deref().and_then(|d| d.parse::<i64>().ok()) {
            b["deal_id"] = json!(d);
        } else if let Some(l) = &self.lead_item {
            b["lead_id"] = json!(l);
        }
        if let Some(p) = self
            .person_id
            .as_deref()
            .and_then(|d| d.parse::<i64>().ok())
        {
            b["person_id"] = json!(p);
        }
        if let Some(d) = self.due_date {
            b["due_date"] = json!(d.format("%Y-%m-%d").to_string());
        }
        if let Some(t) = &self.due_time {
            b["due_time"] = json!(t);
        }
        let note = match &self.note {
            Some(n) => format!("{n}\n{}", marker(self.id)),
            None => marker(self.id),
        };
        b["note"] = json!(note);
        b
    }
}

/// The activity if its push is still to do (`None` once pushed or gone).
pub async fn pending(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> Result<Option<Pending>, WorkflowError> {
    Ok(sql::query(
        "SELECT a.id, a.kind, a.subject, a.due_date, a.due_time, a.done, a.note, \
             (SELECT external_id FROM crm_links WHERE lead_id = a.lead_id AND provider = 'pipedrive' AND object = 'deal') AS deal_id, \
             (SELECT external_id FROM crm_links WHERE lead_id = a.lead_id AND provider = 'pipedrive' AND object = 'lead') AS lead_item, \
             (SELECT external_id FROM crm_links WHERE lead_id = a.lead_id AND provider = 'pipedrive' AND object = 'person') AS person_id \
         FROM crm_activities a WHERE a.id = $1 AND a.external_id IS NULL AND a.deleted_at IS NULL",
    )
    .bind(Bind::Uuid(id))
    .get_result(conn)
    .await
    .optional()?)
}

/// Records the CRM's id for a pushed activity.
pub async fn record_push(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    remote: &Remote,
) -> Result<(), WorkflowError> {
    sql::query(
        "UPDATE crm_activities SET provider = 'pipedrive', external_id = $2, \
             deal_external_id = COALESCE($3, deal_external_id), owner = COALESCE($4, owner), \
             remote_updated_at = $5, updated_at = now() \
         WHERE id = $1 AND external_id IS NULL",
    )
    .bind(Bind::Uuid(id))
    .bind(Bind::Text(remote.id.to_string()))
    .bind(Bind::OptText(remote.deal_id.map(|d| d.to_string())))
    .bind(Bind::OptText(remote.owner_id.map(|o| o.to_string())))
    .bind(Bind::OptTime(crate::providers::pipedrive::time(
        remote.update_time.as_deref(),
    )))
    .execute(conn)
    .await?;
    Ok(())
}
