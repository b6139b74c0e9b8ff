//! What a recorded webhook event does (the `crm_webhook_event` job): the object it
//! names is read again from Pipedrive (its current state: deliveries can arrive late,
//! twice or out of order) and goes the pull's way — a deal or inbox item linked to a
//! Tentabo lead through [`crate::sales::crm::apply_remote`], an activity into
//! `crm_activities`. A deal converted in Pipedrive from a linked inbox item
//! (`source_lead_id`) is linked to the same Tentabo lead first.

use chrono::Utc;
use diesel::OptionalExtension;
use diesel::sql_types::{Nullable, Text, Timestamptz};
use diesel_async::RunQueryDsl;
use serde_json::Value;
use tentabo_schema::DbPool;

use super::Pipedrive;
use crate::WorkflowError;
use crate::authz::Authorizer;
use crate::pipeline::pipedrive::{deal_change, inbox_change, policy_of, store_activities};
use crate::providers::ProviderError;
use crate::sales::crm::{self, Applied};
use crate::sql::{self, Bind};

#[derive(diesel::QueryableByName)]
struct Event {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    entity: String,
    #[diesel(sql_type = Text)]
    action: String,
    #[diesel(sql_type = Nullable<Text>)]
    entity_id: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    payload: Value,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    processed_at: Option<chrono::DateTime<Utc>>,
}

fn upstream(e: ProviderError) -> WorkflowError {
    match e {
        ProviderError::Transient(m) => WorkflowError::Upstream(m),
        ProviderError::Permanent(m) => WorkflowError::Invalid(m),
    }
}

/// Processes Pipedrive's event `event_id` once; answers what it did (also stored as its
/// `outcome`).
pub async fn process(
    db: &DbPool,
    client: &Pipedrive,
    authz: &Authorizer,
    event_id: &str,
) -> Result<String, WorkflowError> {
    let event: Option<Event> = {
        let mut conn = db.get().await?;
        sql::query(
            "SELECT id, entity, action, entity_id, payload, processed_at FROM webhook_events \
             WHERE provider = $1 AND event_id = $2",
        )
        .bind(Bind::Text(super::NAME.to_owned()))
        .bind(Bind::Text(event_id.to_owned()))
        .get_result(&mut conn)
        .await
        .optional()?
    };
    let Some(event) = event else {
        return Ok("gone".into());
    };
    if event.processed_at.is_some() {
        return Ok("already_processed".into());
    }
    // Tentabo's own change coming back (an integration's change through the API, by
    // the user Tentabo calls as): nothing to apply.
    let meta = event.payload.get("meta");
    let source = meta
        .and_then(|m| m.get("change_source"))
        .and_then(Value::as_str);
    let user = meta.and_then(|m| m.get("user_id")).and_then(super::id_text);
    let own = source == Some("api")
        && match user {
            Some(u) => client.my_user_id().await.map_err(upstream)?.to_string() == u,
            None => false,
        };
    let outcome = match (event.entity.as_str(), event.action.as_str()) {
        _ if own => "own_change".to_owned(),
        (_, "delete" | "deleted") => "ignored_delete".to_owned(),
        ("deal", _) => deal(db, client, authz, event.entity_id.as_deref()).await?,
        ("lead", _) => inbox(db, client, authz, event.entity_id.as_deref()).await?,
        ("activity", _) => {
            let data = event.payload.get("data").cloned().unwrap_or(Value::Null);
            let mut conn = db.get().await?;
            let n = store_activities(&mut conn, std::slice::from_ref(&data)).await?;
            if n > 0 {
                "activity_stored"
            } else {
                "activity_unreadable"
            }
            .to_owned()
        }
        _ => "ignored".to_owned(),
    };
    let mut conn = db.get().await?;
    sql::query("UPDATE webhook_events SET processed_at = now(), outcome = $2 WHERE id = $1")
        .bind(Bind::BigInt(event.id))
        .bind(Bind::Text(outcome.clone()))
        .execute(&mut conn)
        .await?;
    Ok(outcome)
}

fn describe(a: &Applied) -> String {
    match a {
        Applied::NotLinked => "not_linked".into(),
        Applied::Unchanged => "unchanged".into(),
        Applied::Updated { event: Some(e), .. } => format!("applied:{e}"),
        Applied::Updated { event: None, .. } => "applied:fields".into(),
        Applied::Conflict { resolution, .. } => format!("conflict:{resolution}"),
    }
}

async fn deal(
    db: &DbPool,
    client: &Pipedrive,
    authz: &Authorizer,
    id: Option<&str>,
) -> Result<String, WorkflowError> {
    let Some(id) = id.and_then(|i| i.parse::<i64>().ok()) else {
        return Ok("no_entity_id".into());
    };
    let Some(raw) = client.deal_raw(id).await.map_err(upstream)? else {
        return Ok("gone".into());
    };
    let deal: Value = serde_json::from_str(raw.get())?;
    let stage = match deal.get("stage_id").and_then(Value::as_i64) {
        Some(s) => client.stage_name(s).await.map_err(upstream)?,
        None => None,
    };
    let mut conn = db.get().await?;
    // Converted in Pipedrive from an inbox item Tentabo pushed: same Tentabo lead.
    if crm::linked(&mut conn, super::NAME, "deal", &id.to_string())
        .await?
        .is_none()
        && let Some(source) = deal.get("source_lead_id").and_then(Value::as_str)
        && let Some(link) = crm::linked(&mut conn, super::NAME, "lead", source).await?
    {
        crm::link(
            &mut conn,
            link.lead_id,
            super::NAME,
            "deal",
            &id.to_string(),
        )
        .await?;
    }
    let Some(change) = deal_change(client.settings(), stage.as_deref(), &deal) else {
        return Ok("unreadable".into());
    };
    if client.settings().import_partner_deals
        && crm::linked(&mut conn, super::NAME, "deal", &id.to_string())
            .await?
            .is_none()
    {
        drop(conn);
        return import(db, client, authz, &deal, &change).await;
    }
    let applied = crm::apply_remote(
        &mut conn,
        authz,
        policy_of(client.settings().conflicts),
        &change,
    )
    .await?;
    Ok(describe(&applied))
}

/// A deal Tentabo does not know, made in Pipedrive by a user who sells for a partner or
/// distributor: a new lead (its person gives the contact; none, no import). The pull
/// imports the same way, so a lost webhook loses no deal.
pub async fn import(
    db: &DbPool,
    client: &Pipedrive,
    authz: &Authorizer,
    deal: &Value,
    change: &crm::RemoteChange,
) -> Result<String, WorkflowError> {
    let Some(owner) = deal.get("owner_id").and_then(super::id_text) else {
        return Ok("not_linked".into());
    };
    {
        let mut conn = db.get().await?;
        if !crm::sells_for_a_partner(&mut conn, super::NAME, &owner).await? {
            return Ok("not_linked".into());
        }
    }
    let person_id = deal.get("person_id").and_then(Value::as_i64);
    let org_id = deal.get("org_id").and_then(Value::as_i64);
    let person = match person_id {
        Some(p) => client.person(p).await.map_err(upstream)?,
        None => None,
    };
    let org = match org_id {
        Some(o) => client.organization(o).await.map_err(upstream)?,
        None => None,
    };
    let email = person.as_ref().and_then(super::primary_email);
    let Some(email) = email else {
        return Ok("not_imported:no_contact_email".into());
    };
    let text = |v: Option<&Value>, k: &str| {
        v.and_then(|x| x.get(k))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let title = text(Some(deal), "title")
        .unwrap_or_else(|| format!("Pipedrive deal {}", change.external_id));
    let contact_name = text(person.as_ref(), "name").unwrap_or_else(|| email.clone());
    let organization = text(org.as_ref(), "name").unwrap_or_else(|| contact_name.clone());
    let lead = crate::sales::leads::NewLead {
        title,
        organization,
        contact_name,
        contact_email: email,
        contact_phone: None,
        value: change.value,
        currency: change.currency.clone(),
        probability: None,
        expected_close_date: change
            .expected_close_date
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc()),
        source: Some("pipedrive".into()),
        partner_id: None,
        distributor_id: None,
    };
    let mut conn = db.get().await?;
    let imported = crm::import_deal(
        &mut conn,
        authz,
        crm::Import {
            provider: super::NAME.to_owned(),
            owner_external_id: owner,
            deal_id: change.external_id.clone(),
            person_id: person_id.map(|p| p.to_string()),
            organization_id: org_id.map(|o| o.to_string()),
            lead,
            state: change.state.clone(),
        },
    )
    .await;
    match imported {
        Ok(Some(id)) => Ok(format!("imported:{id}")),
        Ok(None) => Ok("not_linked".into()),
        // What the deal holds is not a valid lead (an address Tentabo refuses…).
        Err(WorkflowError::Validation(e)) => Ok(format!(
            "not_imported:{}",
            e.0.keys().cloned().collect::<Vec<_>>().join(",")
        )),
        Err(e) => Err(e),
    }
}

async fn inbox(
    db: &DbPool,
    client: &Pipedrive,
    authz: &Authorizer,
    id: Option<&str>,
) -> Result<String, WorkflowError> {
    let Some(id) = id.filter(|i| uuid::Uuid::parse_str(i).is_ok()) else {
        return Ok("no_entity_id".into());
    };
    let Some(item) = client.lead(id).await.map_err(upstream)? else {
        return Ok("gone".into());
    };
    let item = serde_json::to_value(item)?;
    let Some(change) = inbox_change(&item) else {
        return Ok("unreadable".into());
    };
    let mut conn = db.get().await?;
    let applied = crm::apply_remote(
        &mut conn,
        authz,
        policy_of(client.settings().conflicts),
        &change,
    )
    .await?;
    Ok(describe(&applied))
}
