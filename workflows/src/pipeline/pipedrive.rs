//! Pipedrive through the six stages: connector (v2 lists of deals, persons,
//! organizations and activities, and v1 leads, changed since the checkpoint, oldest
//! change first, page by page) → mappers (deal and Leads Inbox item → canonical `lead`,
//! person → `contact`, organization → `organization`; activities go to
//! `crm_activities`) → validator → normalizer → loader (raw and canonical zones, one
//! transaction per page with the run's counts and its checkpoint) → logger (`sync_runs`).
//!
//! After each page, a deal or inbox item linked to a Tentabo lead is applied to it
//! ([`deal_change`] → [`crate::sales::crm::apply_remote`]): the same code path a webhook
//! takes, so the nightly incremental run catches any change a lost webhook missed.
//!
//! Checkpoint: `since:<RFC 3339>`, the latest `update_time` read (inclusive: the
//! boundary record is read again and found unchanged by its hash). A run's position is
//! `cursor:<opaque>|since:<RFC 3339>` (v2) or `start:<n>|since:<RFC 3339>` (v1 leads).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use diesel::sql_types::{Nullable, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use tentabo_schema::DbPool;
use uuid::Uuid;

use super::load::{self, ConflictPolicy, Rows};
use super::run::{Mode, Totals};
use super::{
    Entity, Field, Fields, Mapped, Mapper, RawRecord, Reason, Rejected, normalize, validate,
};
use crate::WorkflowError;
use crate::authz::Authorizer;
use crate::providers::ProviderError;
use crate::providers::pipedrive::{self, Pipedrive, decimal, time};
use crate::sales::crm::{self, RemoteChange};
use crate::sql::{self, Bind};

pub const PROVIDER: &str = "pipedrive";
/// Records per page.
pub const PAGE: u32 = 500;

/// What Pipedrive calls the objects a run reads (the raw zone's `source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Deals,
    Leads,
    Persons,
    Organizations,
    Activities,
}

impl Source {
    pub const ALL: [Source; 5] = [
        Source::Organizations,
        Source::Persons,
        Source::Deals,
        Source::Leads,
        Source::Activities,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Deals => "deals",
            Source::Leads => "leads",
            Source::Persons => "persons",
            Source::Organizations => "organizations",
            Source::Activities => "activities",
        }
    }
    pub fn parse(s: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|x| x.as_str() == s)
    }
    /// The source an API entity name asks for (`lead` is the deals; `lead_inbox` the
    /// Leads Inbox items).
    pub fn of_entity(entity: &str) -> Option<Source> {
        match entity {
            "lead" | "deal" => Some(Source::Deals),
            "lead_inbox" => Some(Source::Leads),
            "contact" | "person" => Some(Source::Persons),
            "organization" => Some(Source::Organizations),
            "activity" => Some(Source::Activities),
            _ => None,
        }
    }
    fn entity(self) -> Option<Entity> {
        match self {
            Source::Deals | Source::Leads => Some(Entity::Lead),
            Source::Persons => Some(Entity::Contact),
            Source::Organizations => Some(Entity::Organization),
            Source::Activities => None,
        }
    }
    fn template(self) -> &'static str {
        match self {
            Source::Deals => "/deals",
            Source::Leads => "/leads",
            Source::Persons => "/persons",
            Source::Organizations => "/organizations",
            Source::Activities => "/activities",
        }
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn id_field(v: &Value, key: &str) -> Field {
    match v.get(key) {
        Some(Value::Number(n)) => Field::Text(n.to_string()),
        Some(Value::Object(o)) => o
            .get("value")
            .or_else(|| o.get("id"))
            .and_then(pipedrive::id_text)
            .map_or(Field::Null, Field::Text),
        _ => Field::Null,
    }
}

fn time_field(v: &Value, key: &str) -> Field {
    time(v.get(key).and_then(Value::as_str)).map_or(Field::Null, Field::Time)
}

fn date_field(v: &Value, key: &'static str, field: &'static str) -> Result<Field, Reason> {
    match text(v, key) {
        None => Ok(Field::Null),
        Some(s) => pipedrive::date(Some(&s))
            .map(Field::Date)
            .ok_or_else(|| Reason::field(field, "invalid_date")),
    }
}

/// A deal → the canonical lead. Stage ids read as their names (`stages`).
pub struct DealMapper<'a> {
    pub stages: &'a HashMap<i64, String>,
}

fn parse(raw: &RawRecord, entity: Entity) -> Result<Value, Rejected> {
    serde_json::from_str(raw.body.get()).map_err(|e| Rejected {
        stage: "mapper",
        entity: Some(entity),
        external_id: Some(raw.external_id.clone()),
        reasons: vec![Reason::record("malformed_record", e.to_string())],
    })
}

fn reject(raw: &RawRecord, entity: Entity, reasons: Vec<Reason>) -> Rejected {
    Rejected {
        stage: "mapper",
        entity: Some(entity),
        external_id: Some(raw.external_id.clone()),
        reasons,
    }
}

impl Mapper for DealMapper<'_> {
    fn map(&self, raw: &RawRecord) -> Result<Mapped, Rejected> {
        let v = parse(raw, Entity::Lead)?;
        let mut f = Fields::new();
        let mut reasons = Vec::new();
        f.insert("title", text(&v, "title").map_or(Field::Null, Field::Text));
        match v.get("value") {
            None | Some(Value::Null) => {
                f.insert("value", Field::Null);
            }
            Some(x) => match decimal(x) {
                Some(d) => {
                    f.insert("value", Field::Decimal(d));
                }
                None => reasons.push(Reason::field("value", "invalid_number")),
            },
        }
        f.insert(
            "currency",
            text(&v, "currency").map_or(Field::Null, Field::Text),
        );
        let status = text(&v, "status").unwrap_or_else(|| "open".into());
        f.insert("status", Field::Text(status.clone()));
        match date_field(&v, "expected_close_date", "expected_close_date") {
            Ok(d) => {
                f.insert("expected_close_date", d);
            }
            Err(r) => reasons.push(r),
        }
        f.insert("owner_external_id", id_field(&v, "owner_id"));
        f.insert(
            "lost_reason",
            text(&v, "lost_reason").map_or(Field::Null, Field::Text),
        );
        let stage = v
            .get("stage_id")
            .and_then(Value::as_i64)
            .and_then(|s| self.stages.get(&s).cloned());
        f.insert("stage", stage.map_or(Field::Null, Field::Text));
        f.insert(
            "probability",
            v.get("probability")
                .and_then(decimal)
                .map_or(Field::Null, Field::Decimal),
        );
        f.insert("closed_at", time_field(&v, "close_time"));
        f.insert("source", Field::Text("pipedrive deal".into()));
        f.insert("created_at", time_field(&v, "add_time"));
        f.insert("updated_at", time_field(&v, "update_time"));
        if !reasons.is_empty() {
            return Err(reject(raw, Entity::Lead, reasons));
        }
        let mut m = Mapped::new(Entity::Lead, raw.external_id.clone(), raw.hash, f);
        m.deleted = status == "deleted" || v.get("is_deleted") == Some(&Value::Bool(true));
        Ok(m)
    }
}

/// A Leads Inbox item → the canonical lead (status `inbox`; archived reads as gone).
pub struct InboxMapper;

impl Mapper for InboxMapper {
    fn map(&self, raw: &RawRecord) -> Result<Mapped, Rejected> {
        let v = parse(raw, Entity::Lead)?;
        let mut f = Fields::new();
        let mut reasons = Vec::new();
        f.insert("title", text(&v, "title").map_or(Field::Null, Field::Text));
        let value = v.get("value").filter(|x| x.is_object());
        match value.and_then(|x| x.get("amount")) {
            None | Some(Value::Null) => {
                f.insert("value", Field::Null);
            }
            Some(a) => match decimal(a) {
                Some(d) => {
                    f.insert("value", Field::Decimal(d));
                }
                None => reasons.push(Reason::field("value", "invalid_number")),
            },
        }
        f.insert(
            "currency",
            value
                .and_then(|x| text(x, "currency"))
                .map_or(Field::Null, Field::Text),
        );
        f.insert("status", Field::Text("inbox".into()));
        match date_field(&v, "expected_close_date", "expected_close_date") {
            Ok(d) => {
                f.insert("expected_close_date", d);
            }
            Err(r) => reasons.push(r),
        }
        f.insert("owner_external_id", id_field(&v, "owner_id"));
        f.insert("source", Field::Text("pipedrive lead".into()));
        f.insert("created_at", time_field(&v, "add_time"));
        f.insert("updated_at", time_field(&v, "update_time"));
        if !reasons.is_empty() {
            return Err(reject(raw, Entity::Lead, reasons));
        }
        let mut m = Mapped::new(Entity::Lead, raw.external_id.clone(), raw.hash, f);
        m.deleted = v.get("is_archived") == Some(&Value::Bool(true));
        Ok(m)
    }
}

/// The primary (else first) value of a v2 `emails`/`phones` list, or v1's string.
fn primary(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Value::Array(items) => items
            .iter()
            .find(|i| i.get("primary") == Some(&Value::Bool(true)))
            .or_else(|| <[Value]>::first(items))
            .and_then(|i| {
                i.get("value")
                    .and_then(Value::as_str)
                    .or_else(|| i.as_str())
            })
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty()),
        _ => None,
    }
}

/// A person → the canonical contact.
pub struct PersonMapper;

impl Mapper for PersonMapper {
    fn map(&self, raw: &RawRecord) -> Result<Mapped, Rejected> {
        let v = parse(raw, Entity::Contact)?;
        let mut f = Fields::new();
        f.insert("name", text(&v, "name").map_or(Field::Null, Field::Text));
        f.insert(
            "first_name",
            text(&v, "first_name").map_or(Field::Null, Field::Text),
        );
        f.insert(
            "last_name",
            text(&v, "last_name").map_or(Field::Null, Field::Text),
        );
        f.insert(
            "email",
            primary(&v, "emails")
                .or_else(|| primary(&v, "email"))
                .map_or(Field::Null, Field::Text),
        );
        f.insert(
            "phone",
            primary(&v, "phones")
                .or_else(|| primary(&v, "phone"))
                .map_or(Field::Null, Field::Text),
        );
        f.insert(
            "organization",
            match id_field(&v, "org_id") {
                Field::Text(t) => Field::Ref(t),
                _ => Field::Null,
            },
        );
        f.insert("created_at", time_field(&v, "add_time"));
        f.insert("updated_at", time_field(&v, "update_time"));
        let mut m = Mapped::new(Entity::Contact, raw.external_id.clone(), raw.hash, f);
        m.deleted = v.get("is_deleted") == Some(&Value::Bool(true));
        Ok(m)
    }
}

/// An organization → the canonical organization.
pub struct OrganizationMapper;

impl Mapper for OrganizationMapper {
    fn map(&self, raw: &RawRecord) -> Result<Mapped, Rejected> {
        let v = parse(raw, Entity::Organization)?;
        let mut f = Fields::new();
        f.insert("name", text(&v, "name").map_or(Field::Null, Field::Text));
        let address = v.get("address").filter(|a| a.is_object());
        let part = |k: &str| address.and_then(|a| text(a, k));
        f.insert("street", part("value").map_or(Field::Null, Field::Text));
        f.insert("city", part("locality").map_or(Field::Null, Field::Text));
        f.insert(
            "postal_code",
            part("postal_code").map_or(Field::Null, Field::Text),
        );
        f.insert("is_customer", Field::Bool(true));
        f.insert("created_at", time_field(&v, "add_time"));
        f.insert("updated_at", time_field(&v, "update_time"));
        let mut m = Mapped::new(Entity::Organization, raw.external_id.clone(), raw.hash, f);
        m.deleted = v.get("is_deleted") == Some(&Value::Bool(true));
        Ok(m)
    }
}

/// A deal as a change to the Tentabo lead linked to it: the stage's name read as a
/// lead state through the configured mapping, won/lost from the status.
pub fn deal_change(
    settings: &pipedrive::PipedriveSettings,
    stage_name: Option<&str>,
    deal: &Value,
) -> Option<RemoteChange> {
    let id = pipedrive::id_text(deal.get("id")?)?;
    let updated_at = time(deal.get("update_time").and_then(Value::as_str))?;
    let status = deal.get("status").and_then(Value::as_str).unwrap_or("open");
    let state = match status {
        "won" => Some("won".to_owned()),
        "lost" => Some("lost".to_owned()),
        "open" => stage_name
            .and_then(|n| settings.stages.state_of(n))
            .map(str::to_owned),
        _ => None,
    };
    Some(RemoteChange {
        provider: PROVIDER.to_owned(),
        object: "deal".into(),
        external_id: id,
        state,
        value: deal.get("value").and_then(decimal).filter(|d| !d.is_zero()),
        currency: text(deal, "currency"),
        expected_close_date: pipedrive::date(
            deal.get("expected_close_date").and_then(Value::as_str),
        ),
        lost_reason: (status == "lost")
            .then(|| text(deal, "lost_reason"))
            .flatten(),
        updated_at,
        raw: deal.clone(),
    })
}

/// A Leads Inbox item as a change to the linked lead (value and close date; the inbox
/// has no stages).
pub fn inbox_change(item: &Value) -> Option<RemoteChange> {
    let id = text(item, "id")?;
    let updated_at = time(item.get("update_time").and_then(Value::as_str))?;
    let value = item.get("value").filter(|v| v.is_object());
    Some(RemoteChange {
        provider: PROVIDER.to_owned(),
        object: "lead".into(),
        external_id: id,
        state: None,
        value: value
            .and_then(|v| v.get("amount"))
            .and_then(decimal)
            .filter(|d| !d.is_zero()),
        currency: value.and_then(|v| text(v, "currency")),
        expected_close_date: pipedrive::date(
            item.get("expected_close_date").and_then(Value::as_str),
        ),
        lost_reason: None,
        updated_at,
        raw: item.clone(),
    })
}

/// What the worker gives a run: the client, who applies changes, and how.
pub struct Context<'a> {
    pub db: &'a DbPool,
    pub client: &'a Pipedrive,
    pub authz: &'a Authorizer,
    pub default_country: Option<&'a str>,
}

#[derive(diesel::QueryableByName)]
struct RunRow {
    #[diesel(sql_type = Text)]
    entity: String,
    #[diesel(sql_type = Text)]
    mode: String,
    #[diesel(sql_type = Nullable<Text>)]
    cursor_value: Option<String>,
}

#[derive(diesel::QueryableByName)]
struct Checkpoint {
    #[diesel(sql_type = Nullable<Text>)]
    cursor_value: Option<String>,
}

fn connector(e: ProviderError) -> WorkflowError {
    match e {
        ProviderError::Transient(m) => WorkflowError::Upstream(format!("connector: {m}")),
        ProviderError::Permanent(m) => WorkflowError::Invalid(format!("connector: {m}")),
    }
}

/// Where a run is: the page to read next and the latest update time seen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Position {
    cursor: Option<String>,
    start: i64,
    since: Option<DateTime<Utc>>,
}

impl Position {
    fn parse(s: &str) -> Position {
        let mut p = Position::default();
        for part in s.split('|') {
            if let Some(c) = part.strip_prefix("cursor:") {
                p.cursor = Some(c.to_owned()).filter(|c| !c.is_empty());
            } else if let Some(n) = part.strip_prefix("start:") {
                p.start = n.parse().unwrap_or(0);
            } else if let Some(t) = part.strip_prefix("since:") {
                p.since = DateTime::parse_from_rfc3339(t)
                    .ok()
                    .map(|t| t.with_timezone(&Utc));
            }
        }
        p
    }
    fn stored(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = &self.cursor {
            parts.push(format!("cursor:{c}"));
        }
        if self.start > 0 {
            parts.push(format!("start:{}", self.start));
        }
        if let Some(t) = self.since {
            parts.push(format!("since:{}", t.to_rfc3339()));
        }
        parts.join("|")
    }
}

/// Runs (or resumes) Pipedrive run `run_id` to its end; the run row records the
/// outcome (`succeeded`, `partial`, `failed` with the error).
pub async fn execute(
    ctx: &Context<'_>,
    run_id: Uuid,
    conflicts: ConflictPolicy,
) -> Result<Totals, WorkflowError> {
    let mut conn = ctx.db.get().await?;
    let run: Option<RunRow> = diesel::OptionalExtension::optional(
        sql::query(
            "UPDATE sync_runs SET status = 'running', started_at = COALESCE(started_at, now()) \
             WHERE id = $1 AND status IN ('queued', 'running', 'failed') \
             RETURNING entity, mode, cursor_value",
        )
        .bind(Bind::Uuid(run_id))
        .get_result(&mut conn)
        .await,
    )?;
    let Some(run) = run else {
        return Ok(Totals::default());
    };
    let Some(source) = Source::parse(&run.entity) else {
        return Err(WorkflowError::Invalid(format!(
            "unknown Pipedrive source `{}`",
            run.entity
        )));
    };
    let mut totals = Totals::default();
    drop(conn);
    let result = read_all(ctx, run_id, source, &run, conflicts, &mut totals).await;
    let (status, error) = match &result {
        Ok(()) if totals.quarantined > 0 => ("partial", None),
        Ok(()) => ("succeeded", None),
        Err(e) => ("failed", Some(e.to_string())),
    };
    let mut conn = ctx.db.get().await?;
    sql::query(
        "UPDATE sync_runs SET status = $2, error = $3, timings = $4, finished_at = now() WHERE id = $1",
    )
    .bind(Bind::Uuid(run_id))
    .bind(Bind::Text(status.to_owned()))
    .bind(Bind::OptText(error))
    .bind(Bind::Json(serde_json::to_value(totals.timings)?))
    .execute(&mut conn)
    .await?;
    result.map(|()| totals)
}

async fn read_all(
    ctx: &Context<'_>,
    run_id: Uuid,
    source: Source,
    run: &RunRow,
    conflicts: ConflictPolicy,
    totals: &mut Totals,
) -> Result<(), WorkflowError> {
    let mut conn = ctx.db.get().await?;
    let checkpoint: Option<Checkpoint> = diesel::OptionalExtension::optional(
        sql::query("SELECT cursor_value FROM sync_checkpoints WHERE provider = $1 AND entity = $2")
            .bind(Bind::Text(PROVIDER.to_owned()))
            .bind(Bind::Text(source.as_str().to_owned()))
            .get_result(&mut conn)
            .await,
    )?;
    let mut at = match (&run.cursor_value, run.mode.as_str()) {
        (Some(c), _) => Position::parse(c),
        (None, "full") => Position::default(),
        (None, _) => checkpoint
            .and_then(|c| c.cursor_value)
            .map(|c| {
                let mut p = Position::parse(&c);
                p.cursor = None;
                p.start = 0;
                p
            })
            .unwrap_or_default(),
    };
    // Where this run reads from: fixed for the run (the cursor belongs to it).
    let since = at.since;
    let policy = super::policy::policy(&mut conn, PROVIDER, ctx.default_country).await?;
    drop(conn);
    let stages: HashMap<i64, String> = if source == Source::Deals {
        all_stages(ctx.client).await?
    } else {
        HashMap::new()
    };
    loop {
        let t = std::time::Instant::now();
        let (items, next_cursor, next_start) = match source {
            Source::Leads => {
                let (items, next) = ctx
                    .client
                    .leads_page(since, at.start, PAGE)
                    .await
                    .map_err(connector)?;
                (items, None, next)
            }
            _ => {
                let page = ctx
                    .client
                    .changed_page(source.template(), since, at.cursor.as_deref(), PAGE)
                    .await
                    .map_err(connector)?;
                (page.items, page.next, None)
            }
        };
        totals.timings.connector_us += t.elapsed().as_micros() as u64;
        let mut values = Vec::with_capacity(items.len());
        let mut raws = Vec::with_capacity(items.len());
        for body in items {
            let v: Value = serde_json::from_str(body.get()).unwrap_or(Value::Null);
            let id = v.get("id").and_then(pipedrive::id_text).unwrap_or_default();
            if let Some(t) = time(v.get("update_time").and_then(Value::as_str)) {
                at.since = Some(at.since.map_or(t, |s| s.max(t)));
            }
            raws.push(RawRecord::new(PROVIDER, source.as_str(), id, body));
            values.push(v);
        }
        let end = next_cursor.is_none() && next_start.is_none();
        at.cursor = next_cursor.clone();
        at.start = next_start.unwrap_or(0);
        // The run's position; at the end, the checkpoint a later run starts from.
        let position = at.stored();
        let mut conn = ctx.db.get().await?;
        match source.entity() {
            Some(entity) => {
                let mapper: Box<dyn Mapper + Send + Sync + '_> = match source {
                    Source::Deals => Box::new(DealMapper { stages: &stages }),
                    Source::Leads => Box::new(InboxMapper),
                    Source::Persons => Box::new(PersonMapper),
                    _ => Box::new(OrganizationMapper),
                };
                load_page(
                    &mut conn,
                    run_id,
                    source,
                    entity,
                    mapper.as_ref(),
                    &raws,
                    &policy,
                    conflicts,
                    &position,
                    totals,
                )
                .await?;
            }
            None => {
                let n = store_activities(&mut conn, &values).await?;
                totals.fetched += values.len() as i64;
                totals.loaded += n as i64;
                totals.pages += 1;
                save_position(
                    &mut conn,
                    run_id,
                    source,
                    &position,
                    values.len() as i64,
                    n as i64,
                )
                .await?;
            }
        }
        // Changes to linked Tentabo leads, through the transition service: only the
        // page's records that are linked (one query), and, when partner sellers' deals
        // are imported, the unlinked deals of those sellers.
        let object = if source == Source::Leads {
            "lead"
        } else {
            "deal"
        };
        let ids: Vec<String> = values
            .iter()
            .filter_map(|v| v.get("id").and_then(pipedrive::id_text))
            .collect();
        let linked: std::collections::HashSet<String> =
            if matches!(source, Source::Deals | Source::Leads) {
                crm::linked_among(&mut conn, PROVIDER, object, &ids).await?
            } else {
                Default::default()
            };
        let importing = source == Source::Deals && ctx.client.settings().import_partner_deals;
        let sellers: std::collections::HashSet<String> = if importing {
            crm::partner_sellers(&mut conn, PROVIDER).await?
        } else {
            Default::default()
        };
        for v in &values {
            let id = v.get("id").and_then(pipedrive::id_text).unwrap_or_default();
            let owner = v
                .get("owner_id")
                .and_then(pipedrive::id_text)
                .unwrap_or_default();
            let wanted = linked.contains(&id) || (importing && sellers.contains(&owner));
            if !wanted {
                continue;
            }
            let change = match source {
                Source::Deals => {
                    let stage = v
                        .get("stage_id")
                        .and_then(Value::as_i64)
                        .and_then(|s| stages.get(&s))
                        .map(String::as_str);
                    deal_change(ctx.client.settings(), stage, v)
                }
                Source::Leads => inbox_change(v),
                _ => None,
            };
            if let Some(change) = change {
                let policy = policy_of(ctx.client.settings().conflicts);
                let applied = crm::apply_remote(&mut conn, ctx.authz, policy, &change).await?;
                if applied == crm::Applied::NotLinked
                    && source == Source::Deals
                    && ctx.client.settings().import_partner_deals
                {
                    crate::providers::pipedrive::events::import(
                        ctx.db, ctx.client, ctx.authz, v, &change,
                    )
                    .await?;
                }
            }
        }
        if end {
            return Ok(());
        }
    }
}

/// The configured CRM conflict policy as the lake's.
pub fn policy_of(c: pipedrive::Conflicts) -> ConflictPolicy {
    match c {
        pipedrive::Conflicts::SourceWins => ConflictPolicy::SourceWins,
        pipedrive::Conflicts::LocalWins => ConflictPolicy::LocalWins,
        pipedrive::Conflicts::Manual => ConflictPolicy::Manual,
    }
}

/// Every stage of every pipeline, by id.
async fn all_stages(client: &Pipedrive) -> Result<HashMap<i64, String>, WorkflowError> {
    let mut out = HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = client
            .changed_page("/stages", None, cursor.as_deref(), PAGE)
            .await
            .map_err(connector)?;
        for s in page.items {
            if let Ok(s) = serde_json::from_str::<pipedrive::Stage>(s.get()) {
                out.insert(s.id, s.name);
            }
        }
        match page.next {
            Some(c) if Some(&c) != cursor.as_ref() => cursor = Some(c),
            _ => return Ok(out),
        }
    }
}

/// Activities are kept as the CRM holds them (`crm_activities`), tied to the Tentabo
/// lead whose deal they belong to.
pub async fn store_activities(
    conn: &mut AsyncPgConnection,
    items: &[Value],
) -> Result<usize, WorkflowError> {
    let mut n = 0;
    for a in items {
        let Ok(act) = serde_json::from_value::<pipedrive::Activity>(a.clone()) else {
            continue;
        };
        let deal = act.deal_id.map(|d| d.to_string());
        let due_date = pipedrive::date(act.due_date.as_deref());
        n += sql::query(
            "INSERT INTO crm_activities (id, provider, external_id, lead_id, deal_external_id, kind, \
                 subject, due_date, due_time, done, owner, note, remote_updated_at, deleted_at) \
             VALUES ($1, $2, $3, \
                 (SELECT lead_id FROM crm_links WHERE provider = $2 AND object = 'deal' AND external_id = $4 LIMIT 1), \
                 $4, $5, $6, $7, $8, $9, $10, $11, $12, CASE WHEN $13 THEN now() END) \
             ON CONFLICT (provider, external_id) WHERE external_id IS NOT NULL DO UPDATE SET \
                 lead_id = COALESCE(EXCLUDED.lead_id, crm_activities.lead_id), \
                 deal_external_id = EXCLUDED.deal_external_id, kind = EXCLUDED.kind, \
                 subject = EXCLUDED.subject, due_date = EXCLUDED.due_date, due_time = EXCLUDED.due_time, \
                 done = EXCLUDED.done, owner = EXCLUDED.owner, note = EXCLUDED.note, \
                 remote_updated_at = EXCLUDED.remote_updated_at, deleted_at = EXCLUDED.deleted_at, \
                 updated_at = now() \
             WHERE crm_activities.remote_updated_at IS NULL \
                OR crm_activities.remote_updated_at <= EXCLUDED.remote_updated_at",
        )
        .bind(Bind::Uuid(Uuid::now_v7()))
        .bind(Bind::Text(PROVIDER.to_owned()))
        .bind(Bind::Text(act.id.to_string()))
        .bind(Bind::OptText(deal))
        .bind(Bind::Text(act.kind.clone().unwrap_or_else(|| "task".into())))
        .bind(Bind::Text(
            act.subject.clone().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| "(no subject)".into()),
        ))
        .bind(Bind::OptDate(due_date))
        .bind(Bind::OptText(act.due_time.clone().filter(|t| !t.is_empty())))
        .bind(Bind::Bool(act.done.unwrap_or(false)))
        .bind(Bind::OptText(act.owner_id.map(|o| o.to_string())))
        .bind(Bind::OptText(
            act.note
                .as_deref()
                .map(crate::sales::activities::without_marker)
                .filter(|n| !n.trim().is_empty()),
        ))
        .bind(Bind::OptTime(time(act.update_time.as_deref())))
        .bind(Bind::Bool(act.is_deleted.unwrap_or(false)))
        .execute(conn)
        .await?;
    }
    Ok(n)
}

async fn save_position(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    source: Source,
    position: &str,
    fetched: i64,
    loaded: i64,
) -> Result<(), WorkflowError> {
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        sql::query(
            "UPDATE sync_runs SET fetched = fetched + $2, loaded = loaded + $3, cursor_value = $4 \
             WHERE id = $1",
        )
        .bind(Bind::Uuid(run_id))
        .bind(Bind::BigInt(fetched))
        .bind(Bind::BigInt(loaded))
        .bind(Bind::Text(position.to_owned()))
        .execute(conn)
        .await?;
        checkpoint(conn, run_id, source, position).await
    })
    .await
}

async fn checkpoint(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    source: Source,
    position: &str,
) -> Result<(), WorkflowError> {
    sql::query(
        "INSERT INTO sync_checkpoints (provider, entity, cursor_value, last_run_id) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (provider, entity) DO UPDATE SET \
             cursor_value = EXCLUDED.cursor_value, last_run_id = EXCLUDED.last_run_id, \
             updated_at = now()",
    )
    .bind(Bind::Text(PROVIDER.to_owned()))
    .bind(Bind::Text(source.as_str().to_owned()))
    .bind(Bind::Text(position.to_owned()))
    .bind(Bind::Uuid(run_id))
    .execute(conn)
    .await?;
    Ok(())
}

/// One page in one transaction: raw upsert (an unchanged hash stops a record there),
/// the pure stages for what changed, canonical writes, quarantine, soft deletes, the
/// run's counts, its position and the source's checkpoint.
#[allow(clippy::too_many_arguments)]
async fn load_page(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    source: Source,
    entity: Entity,
    mapper: &(dyn Mapper + Send + Sync + '_),
    raws: &[RawRecord],
    policy: &super::policy::Policy,
    conflicts: ConflictPolicy,
    position: &str,
    totals: &mut Totals,
) -> Result<(), WorkflowError> {
    let started = std::time::Instant::now();
    let mut counts = load::PageCounts {
        fetched: raws.len() as i64,
        ..Default::default()
    };
    let mut times = super::run::StageTimes::default();
    let mut deleted_total = 0;
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        let changes = load::upsert_raw(conn, run_id, raws).await?;
        let mut good = Vec::new();
        let mut gone = Vec::new();
        let mut refused: Vec<(&RawRecord, Rejected)> = Vec::new();
        for raw in raws
            .iter()
            .filter(|r| changes.changed.contains_key(&r.external_id))
        {
            let t = std::time::Instant::now();
            let mapped = mapper.map(raw);
            times.mapper_us += t.elapsed().as_micros() as u64;
            if let Ok(m) = &mapped
                && m.deleted
            {
                gone.push(m.external_id.clone());
            }
            let t = std::time::Instant::now();
            let validated = mapped.and_then(|m| validate(m, &|_, _| true, policy));
            times.validator_us += t.elapsed().as_micros() as u64;
            let t = std::time::Instant::now();
            match validated.and_then(|v| normalize(v, policy)) {
                Ok(n) => good.push(n),
                Err(r) => refused.push((raw, r)),
            }
            times.normalizer_us += t.elapsed().as_micros() as u64;
        }
        counts.unchanged = counts.fetched - changes.changed.len() as i64;
        if !good.is_empty() {
            let mut rows = Rows::new(entity, good);
            rows.set_raw_ids(&changes.changed);
            counts.warned = rows.warned();
            counts.warnings = rows.warnings();
            let (fresh, known) = changes.split(rows);
            let mut loaded =
                load::write_canonical(conn, PROVIDER, fresh, load::Write::Insert).await?;
            if !known.is_empty() {
                let kept =
                    load::resolve_conflicts(conn, Some(run_id), PROVIDER, known, conflicts).await?;
                counts.conflicts = kept.conflicts;
                loaded +=
                    load::write_canonical(conn, PROVIDER, kept.apply, load::Write::Upsert).await?;
            }
            counts.loaded = loaded as i64;
        }
        let ids: Vec<String> = raws.iter().map(|r| r.external_id.clone()).collect();
        load::release(conn, PROVIDER, source.as_str(), &ids).await?;
        load::quarantine(conn, Some(run_id), &refused).await?;
        counts.quarantined = refused.len() as i64;
        let mut reasons = BTreeMap::new();
        for (_, r) in &refused {
            for reason in &r.reasons {
                *reasons.entry(reason.code.to_owned()).or_insert(0) += 1;
            }
        }
        counts.reasons = reasons;
        let deleted = if gone.is_empty() {
            0
        } else {
            sql::query(format!(
                "UPDATE {} SET deleted_at = now() \
                 WHERE provider = $1 AND external_id = ANY($2) AND deleted_at IS NULL",
                entity.table()
            ))
            .bind(Bind::Text(PROVIDER.to_owned()))
            .bind(Bind::Texts(gone))
            .execute(conn)
            .await? as i64
        };
        deleted_total = deleted;
        sql::query(
            "UPDATE sync_runs SET fetched = fetched + $2, unchanged = unchanged + $3, \
                 loaded = loaded + $4, quarantined = quarantined + $5, conflicts = conflicts + $6, \
                 deleted = deleted + $7, cursor_value = $8, warned = warned + $9 \
             WHERE id = $1",
        )
        .bind(Bind::Uuid(run_id))
        .bind(Bind::BigInt(counts.fetched))
        .bind(Bind::BigInt(counts.unchanged))
        .bind(Bind::BigInt(counts.loaded))
        .bind(Bind::BigInt(counts.quarantined))
        .bind(Bind::BigInt(counts.conflicts))
        .bind(Bind::BigInt(deleted))
        .bind(Bind::Text(position.to_owned()))
        .bind(Bind::BigInt(counts.warned))
        .execute(conn)
        .await?;
        checkpoint(conn, run_id, source, position).await
    })
    .await?;
    times.loader_us = (started.elapsed().as_micros() as u64)
        .saturating_sub(times.mapper_us + times.validator_us + times.normalizer_us);
    totals.fetched += counts.fetched;
    totals.unchanged += counts.unchanged;
    totals.loaded += counts.loaded;
    totals.quarantined += counts.quarantined;
    totals.conflicts += counts.conflicts;
    totals.warned += counts.warned;
    totals.deleted += deleted_total;
    totals.pages += 1;
    let t = &mut totals.timings;
    t.mapper_us += times.mapper_us;
    t.validator_us += times.validator_us;
    t.normalizer_us += times.normalizer_us;
    t.loader_us += times.loader_us;
    Ok(())
}

/// Creates a queued Pipedrive run of `source` and its job, in one transaction.
pub async fn request(
    conn: &mut AsyncPgConnection,
    source: Source,
    mode: Mode,
    requested_by: Option<Uuid>,
    key: Option<String>,
) -> Result<Uuid, WorkflowError> {
    super::run::request_for(conn, PROVIDER, source.as_str(), mode, requested_by, key).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(source: Source, v: &Value) -> RawRecord {
        RawRecord::new(
            PROVIDER,
            source.as_str(),
            v["id"].to_string().trim_matches('"').to_owned(),
            serde_json::value::to_raw_value(v).unwrap(),
        )
    }

    #[test]
    fn a_deal_maps_to_the_canonical_lead_with_its_stage_name() {
        let stages = HashMap::from([(3, "Proposal Made".to_owned())]);
        let m = DealMapper { stages: &stages }
            .map(&raw(
                Source::Deals,
                &json!({ "id": 42, "title": "Réseau <b>Lyon</b>", "value": 12500.5, "currency": "EUR",
                    "status": "open", "stage_id": 3, "owner_id": 7, "expected_close_date": "2027-01-31",
                    "add_time": "2026-11-01T08:00:00Z", "update_time": "2026-11-02T09:00:00Z",
                    "person_id": null, "org_id": false }),
            ))
            .unwrap();
        assert_eq!(m.fields["stage"], Field::Text("Proposal Made".into()));
        assert_eq!(
            m.fields["value"],
            Field::Decimal(rust_decimal::Decimal::new(125_005, 1))
        );
        assert_eq!(m.fields["owner_external_id"], Field::Text("7".into()));
        assert!(!m.deleted);
    }

    #[test]
    fn a_bad_deal_is_refused_with_every_reason_and_a_deleted_one_reads_as_gone() {
        let stages = HashMap::new();
        let r = DealMapper { stages: &stages }
            .map(&raw(
                Source::Deals,
                &json!({ "id": 1, "title": "x", "value": "beaucoup", "expected_close_date": "31/01/2027" }),
            ))
            .unwrap_err();
        let codes: Vec<&str> = r.reasons.iter().map(|r| r.code).collect();
        assert_eq!(codes, vec!["invalid_number", "invalid_date"]);
        let gone = DealMapper { stages: &stages }
            .map(&raw(
                Source::Deals,
                &json!({ "id": 2, "title": "y", "status": "deleted" }),
            ))
            .unwrap();
        assert!(gone.deleted);
    }

    #[test]
    fn persons_keep_their_primary_email_and_phone_and_their_organization() {
        let m = PersonMapper
            .map(&raw(
                Source::Persons,
                &json!({ "id": 5, "name": "Élodie Marchand", "org_id": 9,
                    "emails": [{ "value": "old@x.fr", "primary": false }, { "value": "Elodie@X.fr", "primary": true }],
                    "phones": [{ "value": "06 12 34 56 78", "primary": true }] }),
            ))
            .unwrap();
        assert_eq!(m.fields["email"], Field::Text("Elodie@X.fr".into()));
        assert_eq!(m.fields["phone"], Field::Text("06 12 34 56 78".into()));
        assert_eq!(m.fields["organization"], Field::Ref("9".into()));
    }

    #[test]
    fn an_archived_inbox_item_reads_as_gone() {
        let m = InboxMapper
            .map(&raw(
                Source::Leads,
                &json!({ "id": "2b1c8a70-5a3e-11ef-9c1d-0b8d7e2a4c11", "title": "Salon",
                    "value": { "amount": 900, "currency": "EUR" }, "is_archived": true,
                    "organization_id": false }),
            ))
            .unwrap();
        assert!(m.deleted);
        assert_eq!(m.fields["currency"], Field::Text("EUR".into()));
    }

    #[test]
    fn deal_changes_read_stage_names_and_statuses_as_lead_states() {
        let settings: pipedrive::PipedriveSettings = serde_json::from_value(json!({})).unwrap();
        let deal = json!({ "id": 8, "status": "open", "update_time": "2026-11-02T09:00:00Z",
            "value": 100, "currency": "EUR" });
        let c = deal_change(&settings, Some("Proposal Made"), &deal).unwrap();
        assert_eq!(c.state.as_deref(), Some("proposal"));
        assert_eq!(c.external_id, "8");
        let c = deal_change(&settings, Some("Demo Scheduled"), &deal).unwrap();
        assert_eq!(c.state, None, "a stage outside the mapping says nothing");
        let lost = json!({ "id": 8, "status": "lost", "lost_reason": "Prix", "update_time": "2026-11-02T09:00:00Z" });
        let c = deal_change(&settings, None, &lost).unwrap();
        assert_eq!(
            (c.state.as_deref(), c.lost_reason.as_deref()),
            (Some("lost"), Some("Prix"))
        );
        assert!(
            deal_change(&settings, None, &json!({ "id": 8 })).is_none(),
            "no update time, no change"
        );
    }

    #[test]
    fn positions_round_trip() {
        let p = Position {
            cursor: Some("b2Zmc2V0OjUwMA==".into()),
            start: 0,
            since: Some(Utc::now()),
        };
        let back = Position::parse(&p.stored());
        assert_eq!(back.cursor, p.cursor);
        assert_eq!(
            back.since.map(|t| t.timestamp()),
            p.since.map(|t| t.timestamp())
        );
        assert_eq!(Position::parse("start:500").start, 500);
    }
}
