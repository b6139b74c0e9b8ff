//! A Tentabo lead pushed to Pipedrive (the documented mapping, README "Pipedrive"):
//!
//! - its organization is found by name, else created; its person found by email, else
//!   created in that organization;
//! - while its state is one of `inbox_states` (default new, contacted) and no deal
//!   exists, it is a Leads Inbox item (title, value, expected close date, person,
//!   organization, Tentabo's reference);
//! - from the first state outside the inbox on, it is a deal in the configured pipeline,
//!   in the stage named for its state (found or created); won and lost set the deal's
//!   status (and lost reason) and keep its stage; the inbox item, if any, is archived;
//! - a lead lost while still in the inbox archives its inbox item.
//!
//! Each object is looked up before it is created (links Tentabo recorded, then the
//! reference, email or name), and an existing deal or lead is patched only with what
//! differs: a retried push creates nothing twice, and a push that changes nothing sends
//! nothing (a webhook echo of Tentabo's own change ends here).

use chrono::NaiveDate;
use serde_json::{Map, Value, json};

use super::{Pipedrive, decimal, lead_reference, money, time};
use crate::providers::{CrmLink, CrmPushed, ExternalRef, LeadSnapshot, ProviderError};

fn link<'a>(lead: &'a LeadSnapshot, object: &str) -> Option<&'a str> {
    lead.links
        .iter()
        .find(|l| l.object == object)
        .map(|l| l.external_id.as_str())
}

fn numeric(id: Option<&str>) -> Option<i64> {
    id.and_then(|s| s.parse().ok())
}

fn same_money(remote: Option<&Value>, local: Option<rust_decimal::Decimal>) -> bool {
    let remote = remote.and_then(decimal).filter(|d| !d.is_zero());
    let local = local.filter(|d| !d.is_zero());
    match (remote, local) {
        (Some(a), Some(b)) => a.normalize() == b.normalize(),
        (None, None) => true,
        _ => false,
    }
}

fn close_date(d: Option<NaiveDate>) -> Value {
    d.map_or(Value::Null, |d| {
        Value::String(d.format("%Y-%m-%d").to_string())
    })
}

pub async fn push(p: &Pipedrive, lead: &LeadSnapshot) -> Result<CrmPushed, ProviderError> {
    let reference = lead_reference(lead.lead_id);
    let mut links = Vec::new();

    let org_id = match numeric(link(lead, "organization")) {
        Some(id) => id,
        None => match p.find_organization_by_name(&lead.organization).await? {
            Some(id) => id,
            None => p.create_organization(&lead.organization).await?.id,
        },
    };
    links.push(CrmLink::new("organization", org_id.to_string(), None));
    let person_id = match numeric(link(lead, "person")) {
        Some(id) => id,
        None => match p.find_person_by_email(&lead.contact_email).await? {
            Some(id) => id,
            None => {
                p.create_person(
                    &lead.contact_name,
                    &lead.contact_email,
                    lead.contact_phone.as_deref(),
                    Some(org_id),
                )
                .await?
                .id
            }
        },
    };
    links.push(CrmLink::new("person", person_id.to_string(), None));

    let settings = p.settings();
    let mut deal_id = numeric(link(lead, "deal"));
    if deal_id.is_none() && !settings.is_inbox(&lead.status) {
        deal_id = p.find_deal_by_reference(&reference).await?;
    }
    let mut inbox_id = link(lead, "lead").map(str::to_owned);
    let in_inbox = deal_id.is_none() && (settings.is_inbox(&lead.status) || lead.status == "lost");
    if inbox_id.is_none() && (in_inbox || deal_id.is_none()) {
        inbox_id = p.find_lead_by_reference(&reference).await?;
    }

    if in_inbox && (lead.status != "lost" || inbox_id.is_some()) {
        let item = push_inbox(p, lead, &reference, inbox_id.as_deref(), person_id, org_id).await?;
        links.push(CrmLink::new("lead", item.0.clone(), item.1));
        return Ok(CrmPushed {
            primary: ExternalRef {
                provider: super::NAME.to_owned(),
                external_id: format!("lead:{}", item.0),
            },
            links,
        });
    }

    let deal = push_deal(p, lead, &reference, deal_id, person_id, org_id).await?;
    links.push(CrmLink::new(
        "deal",
        deal.id.to_string(),
        time(deal.update_time.as_deref()),
    ));
    // The inbox item became this deal: archive it (once).
    if let Some(item) = &inbox_id {
        if let Some(l) = p.lead(item).await?
            && l.is_archived != Some(true)
        {
            p.update_lead(item, json!({ "is_archived": true })).await?;
        }
        links.push(CrmLink::new("lead", item.clone(), None));
    }
    Ok(CrmPushed {
        primary: ExternalRef {
            provider: super::NAME.to_owned(),
            external_id: format!("deal:{}", deal.id),
        },
        links,
    })
}

/// Creates or patches the Leads Inbox item; answers its id and update time.
async fn push_inbox(
    p: &Pipedrive,
    lead: &LeadSnapshot,
    reference: &str,
    existing: Option<&str>,
    person_id: i64,
    org_id: i64,
) -> Result<(String, Option<chrono::DateTime<chrono::Utc>>), ProviderError> {
    let value = lead.value.filter(|v| !v.is_zero()).map_or(
        Value::Null,
        |v| json!({ "amount": money(v), "currency": lead.currency }),
    );
    let archived = lead.status == "lost";
    if let Some(id) = existing
        && let Some(remote) = p.lead(id).await?
    {
        let mut patch = Map::new();
        if remote.title.as_deref() != Some(lead.title.as_str()) {
            patch.insert("title".into(), json!(lead.title));
        }
        let remote_amount = remote.value.as_ref().map(|v| &v.amount);
        let same_currency = remote
            .value
            .as_ref()
            .is_none_or(|v| v.currency == lead.currency);
        if !same_money(remote_amount, lead.value) || !same_currency {
            patch.insert("value".into(), value.clone());
        }
        if remote.expected_close_date.as_deref().map(str::trim)
            != lead
                .expected_close_date
                .map(|d| d.format("%Y-%m-%d").to_string())
                .as_deref()
        {
            patch.insert(
                "expected_close_date".into(),
                close_date(lead.expected_close_date),
            );
        }
        if remote.person_id != Some(person_id) {
            patch.insert("person_id".into(), json!(person_id));
        }
        if remote.organization_id != Some(org_id) {
            patch.insert("organization_id".into(), json!(org_id));
        }
        if remote.is_archived.unwrap_or(false) != archived {
            patch.insert("is_archived".into(), json!(archived));
        }
        if patch.is_empty() {
            return Ok((remote.id, time(remote.update_time.as_deref())));
        }
        let l = p.update_lead(id, Value::Object(patch)).await?;
        return Ok((l.id, time(l.update_time.as_deref())));
    }
    let key = p.reference_key().await?;
    let mut body = json!({
        "title": lead.title,
        "person_id": person_id,
        "organization_id": org_id,
    });
    if !value.is_null() {
        body["value"] = value;
    }
    if let Some(d) = lead.expected_close_date {
        body["expected_close_date"] = json!(d.format("%Y-%m-%d").to_string());
    }
    if let Some(owner) = p.settings().owner_id {
        body["owner_id"] = json!(owner);
    }
    // Leads share the deals' custom fields, keyed on top like v1 objects.
    body[key.as_str()] = json!(reference);
    let created = p.create_lead(body).await?;
    if archived {
        p.update_lead(&created.id, json!({ "is_archived": true }))
            .await?;
    }
    Ok((created.id, time(created.update_time.as_deref())))
}

/// Creates or patches the deal.
async fn push_deal(
    p: &Pipedrive,
    lead: &LeadSnapshot,
    reference: &str,
    existing: Option<i64>,
    person_id: i64,
    org_id: i64,
) -> Result<super::Deal, ProviderError> {
    let settings = p.settings();
    let (pipeline_id, stages) = p.pipeline().await?;
    let stage_named = |name: &str| {
        stages
            .iter()
            .find(|s| s.name.trim().eq_ignore_ascii_case(name.trim()))
            .map(|s| s.id)
    };
    let status = match lead.status.as_str() {
        "won" => "won",
        "lost" => "lost",
        _ => "open",
    };
    // Won and lost keep the deal's stage; a deal created closed goes to the last
    // (won) or first (lost) mapped stage.
    let open_stage = settings
        .stages
        .for_state(&lead.status)
        .and_then(stage_named);
    let lost_reason = (status == "lost")
        .then(|| lead.lost_reason.clone())
        .flatten()
        .filter(|r| !r.trim().is_empty());

    if let Some(id) = existing
        && let Some(remote) = p.deal(id).await?
    {
        let mut patch = Map::new();
        if remote.title.as_deref() != Some(lead.title.as_str()) {
            patch.insert("title".into(), json!(lead.title));
        }
        if !same_money(remote.value.as_ref(), lead.value) {
            patch.insert("value".into(), lead.value.map_or(json!(0), money));
        }
        if remote.currency.as_deref() != Some(lead.currency.as_str()) {
            patch.insert("currency".into(), json!(lead.currency));
        }
        if remote.expected_close_date.as_deref()
            != lead
                .expected_close_date
                .map(|d| d.format("%Y-%m-%d").to_string())
                .as_deref()
        {
            patch.insert(
                "expected_close_date".into(),
                close_date(lead.expected_close_date),
            );
        }
        if remote.person_id != Some(person_id) {
            patch.insert("person_id".into(), json!(person_id));
        }
        if remote.org_id != Some(org_id) {
            patch.insert("org_id".into(), json!(org_id));
        }
        if let Some(stage) = open_stage
            && remote.stage_id != Some(stage)
        {
            patch.insert("stage_id".into(), json!(stage));
        }
        if remote.status.as_deref() != Some(status) {
            patch.insert("status".into(), json!(status));
        }
        if let Some(r) = &lost_reason
            && remote.lost_reason.as_deref() != Some(r.as_str())
        {
            patch.insert("lost_reason".into(), json!(r));
        }
        if patch.is_empty() {
            return Ok(remote);
        }
        return p.update_deal(id, Value::Object(patch)).await;
    }
    let key = p.reference_key().await?;
    let stage_id = open_stage.or_else(|| {
        let name = if status == "won" {
            &settings.stages.negotiation
        } else {
            &settings.stages.new
        };
        stage_named(name)
    });
    let mut body = json!({
        "title": lead.title,
        "person_id": person_id,
        "org_id": org_id,
        "pipeline_id": pipeline_id,
        "currency": lead.currency,
        "status": status,
        "custom_fields": { key: reference },
    });
    if let Some(s) = stage_id {
        body["stage_id"] = json!(s);
    }
    if let Some(v) = lead.value {
        body["value"] = money(v);
    }
    if let Some(d) = lead.expected_close_date {
        body["expected_close_date"] = json!(d.format("%Y-%m-%d").to_string());
    }
    if let Some(r) = lost_reason {
        body["lost_reason"] = json!(r);
    }
    if let Some(owner) = settings.owner_id {
        body["owner_id"] = json!(owner);
    }
    p.create_deal(body).await
}
