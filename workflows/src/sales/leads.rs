//! Leads: the seeds' provider-agnostic Lead model, owned by a partner and/or a
//! distributor. Created `new`; every later change of state goes through
//! [`super::transition`].

use chrono::{DateTime, Utc};
use diesel::sql_types::{
    BigInt, Bool, Integer, Jsonb, Nullable, Numeric, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use serde_json::json;
use uuid::Uuid;

use super::{Caller, Kind, Owners, resolve_owners, scope_sql};
use crate::WorkflowError;
use crate::audit::{self, AuditContext};
use crate::authz::Action;
use crate::error::FieldErrors;
use crate::identity::listing::{Sort, cursor_binds, like_pattern, scope_binds};
use crate::identity::{Email, Name};
use crate::lifecycle::lead::{LeadEvent, LeadState};
use crate::pagination::{Cursor, Page};

#[derive(Debug, Clone, PartialEq, diesel::QueryableByName)]
pub struct Lead {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Text)]
    pub organization: String,
    #[diesel(sql_type = Text)]
    pub contact_name: String,
    #[diesel(sql_type = Text)]
    pub contact_email: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub contact_phone: Option<String>,
    #[diesel(sql_type = Nullable<Numeric>)]
    pub value: Option<Decimal>,
    #[diesel(sql_type = Text)]
    pub currency: String,
    #[diesel(sql_type = Nullable<Integer>)]
    pub probability: Option<i32>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub expected_close_date: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Text>)]
    pub source: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub lost_reason: Option<String>,
    #[diesel(sql_type = Text)]
    pub state: String,
    #[diesel(sql_type = Integer)]
    pub version: i32,
    #[diesel(sql_type = SqlUuid)]
    pub owner_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub partner_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub distributor_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    pub provider_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub provider_id: Option<String>,
    #[diesel(sql_type = Jsonb)]
    pub provider_metadata: serde_json::Value,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub converted_order_id: Option<Uuid>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_sync_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, title, organization, contact_name, contact_email, contact_phone, \
    value, currency, probability, expected_close_date, source, lost_reason, state, version, \
    owner_id, partner_id, distributor_id, provider_name, provider_id, provider_metadata, \
    converted_order_id, created_at, updated_at, last_sync_at";

impl Lead {
    pub fn owners(&self) -> Owners {
        Owners {
            partner_id: self.partner_id,
            distributor_id: self.distributor_id,
        }
    }
    pub fn lead_state(&self) -> Result<LeadState, WorkflowError> {
        super::resource::parse_state(&self.state)
    }
    /// The events this caller may send this lead now (the API's `allowed_events`).
    pub fn allowed_events(&self, caller: &Caller) -> Vec<LeadEvent> {
        super::resource::allowed::<crate::lifecycle::lead::LeadMachine>(
            caller,
            &self.state,
            self.owners(),
        )
    }
}

/// A lead as the caller typed it; [`NewLead::validate`] reports every problem at once.
#[derive(Debug, Clone, Default)]
pub struct NewLead {
    pub title: String,
    pub organization: String,
    pub contact_name: String,
    pub contact_email: String,
    pub contact_phone: Option<String>,
    pub value: Option<Decimal>,
    pub currency: Option<String>,
    pub probability: Option<i32>,
    pub expected_close_date: Option<DateTime<Utc>>,
    pub source: Option<String>,
    pub partner_id: Option<Uuid>,
    pub distributor_id: Option<Uuid>,
}

/// Changes to a lead's fields (not its state). `Some(None)` clears a nullable field.
#[derive(Debug, Clone, Default)]
pub struct LeadPatch {
    pub title: Option<String>,
    pub organization: Option<String>,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<Option<String>>,
    pub value: Option<Option<Decimal>>,
    pub currency: Option<String>,
    pub probability: Option<Option<i32>>,
    pub expected_close_date: Option<Option<DateTime<Utc>>>,
    pub source: Option<Option<String>>,
    pub lost_reason: Option<Option<String>>,
}

fn text(errors: &mut FieldErrors, field: &str, raw: &str) -> String {
    match Name::parse(raw) {
        Ok(n) => n.as_str().to_owned(),
        Err(code) => {
            errors.add(field, code);
            String::new()
        }
    }
}

fn email(errors: &mut FieldErrors, raw: &str) -> String {
    match Email::parse(raw) {
        Ok(e) => e.as_str().to_owned(),
        Err(code) => {
            errors.add("contact_email", code);
            String::new()
        }
    }
}

fn optional_text(raw: Option<&str>) -> Option<String> {
    raw.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

pub(crate) fn check_currency(errors: &mut FieldErrors, currency: &str) {
    if !crate::limits::is_iso_currency(currency) {
        errors.add("currency", "invalid_currency");
    }
}

fn check_numbers(errors: &mut FieldErrors, value: Option<Decimal>, probability: Option<i32>) {
    if value.is_some_and(|v| v.is_sign_negative() || v.scale() > 2) {
        errors.add("value", "invalid_amount");
    } else if let Some(v) = value {
        crate::limits::get().check_amount(errors, "value", v);
    }
    if probability.is_some_and(|p| !(0..=100).contains(&p)) {
        errors.add("probability", "out_of_range");
    }
}

pub const SORTS: &[(&str, &str, &str)] = &[
    ("created_at", "created_at", "timestamptz"),
    ("title", "lower(title)", "text"),
    ("updated_at", "updated_at", "timestamptz"),
];

#[derive(Debug, Clone, Default)]
pub struct LeadFilter {
    pub state: Option<LeadState>,
    pub q: Option<String>,
    pub owner_id: Option<Uuid>,
    pub partner_id: Option<Uuid>,
    pub distributor_id: Option<Uuid>,
}

pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    audit_ctx: &AuditContext,
    new: NewLead,
) -> Result<Lead, WorkflowError> {
    let scope = caller.scope(Kind::Lead, Action::Create)?;
    let mut errors = FieldErrors::default();
    let title = text(&mut errors, "title", &new.title);
    let organization = text(&mut errors, "organization", &new.organization);
    let contact_name = text(&mut errors, "contact_name", &new.contact_name);
    let contact_email = email(&mut errors, &new.contact_email);
    let currency = new.currency.unwrap_or_else(|| "EUR".to_owned());
    check_currency(&mut errors, &currency);
    check_numbers(&mut errors, new.value, new.probability);
    if let Some(at) = new.expected_close_date {
        crate::limits::get().check_date(&mut errors, "expected_close_date", at);
    }
    errors.into_result()?;
    let owners = resolve_owners(
        conn,
        caller,
        Owners {
            partner_id: new.partner_id,
            distributor_id: new.distributor_id,
        },
        scope,
    )
    .await?;
    let id = Uuid::now_v7();
    // The lead and its audit row commit together.
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        let lead: Lead = diesel::sql_query(format!(
            "INSERT INTO leads (id, title, organization, contact_name, contact_email, contact_phone, \
                 value, currency, probability, expected_close_date, source, owner_id, partner_id, \
                 distributor_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING {COLUMNS}"
        ))
        .bind::<SqlUuid, _>(id)
        .bind::<Text, _>(&title)
        .bind::<Text, _>(&organization)
        .bind::<Text, _>(&contact_name)
        .bind::<Text, _>(&contact_email)
        .bind::<Nullable<Text>, _>(optional_text(new.contact_phone.as_deref()))
        .bind::<Nullable<Numeric>, _>(new.value)
        .bind::<Text, _>(&currency)
        .bind::<Nullable<Integer>, _>(new.probability)
        .bind::<Nullable<Timestamptz>, _>(new.expected_close_date)
        .bind::<Nullable<Text>, _>(optional_text(new.source.as_deref()))
        .bind::<SqlUuid, _>(caller.who.user_id)
        .bind::<Nullable<SqlUuid>, _>(owners.partner_id)
        .bind::<Nullable<SqlUuid>, _>(owners.distributor_id)
        .get_result(conn)
        .await?;
        audit::record(
            conn,
            audit_ctx.entry("lead.create", "lead", id, json!({ "title": title })),
        )
        .await?;
        // A new lead reaches the CRM like a moved one.
        crm_push(conn, &lead, None).await?;
        crate::lake::own_changed(conn, &format!("lead:{id}:created")).await?;
        Ok(lead)
    })
    .await
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    filter: &LeadFilter,
    sort: Sort,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<Lead>, WorkflowError> {
    let scope = caller.view_scope(Kind::Lead)?;
    let sql = format!(
        "SELECT {COLUMNS} FROM leads WHERE {scope} \
         AND ($3::text IS NULL OR state = $3) \
         AND ($4::text IS NULL OR title ILIKE $4 OR organization ILIKE $4 \
              OR contact_name ILIKE $4 OR contact_email ILIKE $4) \
         AND ($5::uuid IS NULL OR owner_id = $5) \
         AND ($6::uuid IS NULL OR partner_id = $6) \
         AND ($7::uuid IS NULL OR distributor_id = $7) \
         AND {after} {order} LIMIT $10",
        scope = scope_sql(1),
        after = sort.after(8),
        order = sort.order_by(),
    );
    let (scope_kind, scope_id) = scope_binds(scope);
    let (ck, cid) = cursor_binds(cursor);
    let rows: Vec<Lead> = diesel::sql_query(sql)
        .bind::<Text, _>(scope_kind)
        .bind::<Nullable<SqlUuid>, _>(scope_id)
        .bind::<Nullable<Text>, _>(filter.state.map(super::resource::state_name))
        .bind::<Nullable<Text>, _>(filter.q.as_deref().map(like_pattern))
        .bind::<Nullable<SqlUuid>, _>(filter.owner_id)
        .bind::<Nullable<SqlUuid>, _>(filter.partner_id)
        .bind::<Nullable<SqlUuid>, _>(filter.distributor_id)
        .bind::<Nullable<Text>, _>(ck)
        .bind::<Nullable<SqlUuid>, _>(cid)
        .bind::<BigInt, _>(limit + 1)
        .load(conn)
        .await?;
    Ok(Page::from_rows(rows, limit, |l| {
        let key = match sort.column {
            "updated_at" => super::timestamp_key(l.updated_at),
            _ => l.title.to_lowercase(),
        };
        sort.cursor(l.created_at, key, l.id)
    }))
}

/// One lead in the caller's view; outside it, `NotFound`.
pub async fn get(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<Lead, WorkflowError> {
    super::fetch_in_view(conn, caller, Kind::Lead, COLUMNS, id).await
}

/// Edits a lead's fields: the callers who may update its status may edit it.
pub async fn update(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    audit_ctx: &AuditContext,
    id: Uuid,
    patch: LeadPatch,
) -> Result<Lead, WorkflowError> {
    let current = get(conn, caller, id).await?;
    if !caller.may(Kind::Lead, Action::UpdateStatus, current.owners()) {
        return Err(WorkflowError::Forbidden);
    }
    let mut errors = FieldErrors::default();
    let title = patch
        .title
        .as_deref()
        .map(|t| text(&mut errors, "title", t));
    let organization = patch
        .organization
        .as_deref()
        .map(|t| text(&mut errors, "organization", t));
    let contact_name = patch
        .contact_name
        .as_deref()
        .map(|t| text(&mut errors, "contact_name", t));
    let contact_email = patch
        .contact_email
        .as_deref()
        .map(|e| email(&mut errors, e));
    if let Some(c) = &patch.currency {
        check_currency(&mut errors, c);
    }
    check_numbers(
        &mut errors,
        patch.value.flatten(),
        patch.probability.flatten(),
    );
    if let Some(at) = patch.expected_close_date.flatten() {
        crate::limits::get().check_date(&mut errors, "expected_close_date", at);
    }
    errors.into_result()?;
    // The change and its audit row commit together.
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        let lead: Lead = diesel::sql_query(format!(
            "UPDATE leads SET \
                title = COALESCE($2, title), organization = COALESCE($3, organization), \
                contact_name = COALESCE($4, contact_name), contact_email = COALESCE($5, contact_email), \
                contact_phone = CASE WHEN $6 THEN $7 ELSE contact_phone END, \
                value = CASE WHEN $8 THEN $9 ELSE value END, \
                currency = COALESCE($10, currency), \
                probability = CASE WHEN $11 THEN $12 ELSE probability END, \
                expected_close_date = CASE WHEN $13 THEN $14 ELSE expected_close_date END, \
                source = CASE WHEN $15 THEN $16 ELSE source END, \
                lost_reason = CASE WHEN $17 THEN $18 ELSE lost_reason END, \
                updated_at = now() \
             WHERE id = $1 RETURNING {COLUMNS}"
        ))
        .bind::<SqlUuid, _>(id)
        .bind::<Nullable<Text>, _>(title)
        .bind::<Nullable<Text>, _>(organization)
        .bind::<Nullable<Text>, _>(contact_name)
        .bind::<Nullable<Text>, _>(contact_email)
        .bind::<Bool, _>(patch.contact_phone.is_some())
        .bind::<Nullable<Text>, _>(patch.contact_phone.and_then(|p| optional_text(p.as_deref())))
        .bind::<Bool, _>(patch.value.is_some())
        .bind::<Nullable<Numeric>, _>(patch.value.flatten())
        .bind::<Nullable<Text>, _>(patch.currency)
        .bind::<Bool, _>(patch.probability.is_some())
        .bind::<Nullable<Integer>, _>(patch.probability.flatten())
        .bind::<Bool, _>(patch.expected_close_date.is_some())
        .bind::<Nullable<Timestamptz>, _>(patch.expected_close_date.flatten())
        .bind::<Bool, _>(patch.source.is_some())
        .bind::<Nullable<Text>, _>(patch.source.and_then(|s| optional_text(s.as_deref())))
        .bind::<Bool, _>(patch.lost_reason.is_some())
        .bind::<Nullable<Text>, _>(patch.lost_reason.and_then(|s| optional_text(s.as_deref())))
        .get_result(conn)
        .await?;
        audit::record(conn, audit_ctx.entry("lead.update", "lead", id, json!({}))).await?;
        crm_push(conn, &lead, Some(Uuid::now_v7())).await?;
        crate::lake::own_changed(conn, &format!("lead:{id}:updated")).await?;
        Ok(lead)
    })
    .await
}

/// Queues the lead's push to the CRM, in the caller's transaction: keyed by the version
/// (a creation) or by the edit, so each change is pushed once; the push sends the lead
/// as it is when the job runs.
async fn crm_push(
    conn: &mut AsyncPgConnection,
    lead: &Lead,
    edit: Option<Uuid>,
) -> Result<(), WorkflowError> {
    use crate::jobs::{self, JobKind, JobRequest, payloads};
    let queue = JobKind::CrmPushLeadStatus.queue();
    let key = match edit {
        None => format!("lead:{}:v{}:{queue}", lead.id, lead.version),
        Some(e) => format!("lead:{}:v{}:{queue}:edit-{e}", lead.id, lead.version),
    };
    jobs::enqueue(
        conn,
        &[JobRequest::new(
            &payloads::PushLeadStatus {
                lead_id: lead.id,
                version: lead.version,
            },
            key,
        )],
    )
    .await?;
    Ok(())
}

/// Deletes a lead (admins). Its history and notes go with it; the audit log keeps the
/// deletion. An order converted from it stays, unlinked.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    audit_ctx: &AuditContext,
    id: Uuid,
) -> Result<(), WorkflowError> {
    let lead = get(conn, caller, id).await?;
    if !caller.may(Kind::Lead, Action::Delete, lead.owners()) {
        return Err(WorkflowError::Forbidden);
    }
    // The deletion and its audit row commit together.
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        super::delete_row(conn, Kind::Lead, id).await?;
        crate::lake::own_changed(conn, &format!("lead:{id}:deleted")).await?;
        audit::record(
            conn,
            audit_ctx.entry("lead.delete", "lead", id, json!({ "title": lead.title })),
        )
        .await
    })
    .await
}

// ── The lifecycle resource ──────────────────────────────────────────────────────────

impl super::resource::Resource for crate::lifecycle::lead::LeadMachine {
    const KIND: Kind = Kind::Lead;
    type Record = Lead;

    fn action(_: LeadEvent) -> crate::authz::Action {
        crate::authz::Action::UpdateStatus
    }

    fn load(
        conn: &mut AsyncPgConnection,
        caller: &Caller,
        id: Uuid,
    ) -> impl std::future::Future<Output = Result<Self::Record, WorkflowError>> + Send {
        get(conn, caller, id)
    }

    async fn guard(
        conn: &mut AsyncPgConnection,
        _caller: &Caller,
        id: Uuid,
        event: LeadEvent,
        _payload: &serde_json::Value,
    ) -> Result<(), WorkflowError> {
        if event == LeadEvent::Convert
            && super::resource::step_taken(conn, Kind::Lead, id, "convert").await?
        {
            return Err(WorkflowError::Refused {
                code: "already_converted",
                details: json!({}),
            });
        }
        Ok(())
    }
}
