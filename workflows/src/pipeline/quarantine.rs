//! The quarantine as people act on it: records a stage refused, listed with every reason
//! and filtered (run, entity, source object, stage, reason code, open or resolved), and
//! retried — re-processed through mapper, validator, normalizer and loader from the raw
//! zone (no call to the source), under the provider's settings of now. A record that
//! loads leaves the quarantine (`resolution = loaded`); one refused again keeps its open
//! row with its new reasons.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Integer, Jsonb, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use serde_json::value::RawValue;
use uuid::Uuid;

use super::load::{self, ConflictPolicy, Rows};
use super::odoo::{self as odoo_map, OdooMapper};
use super::{Entity, Mapper, Normalized, RawRecord, Reason, Rejected, normalize, run};
use crate::WorkflowError;
use crate::audit::{self, AuditContext};
use crate::authz::{Action, Authorizer, Object};
use crate::error::FieldErrors;
use crate::identity::Principal;
use crate::sql::{self, Bind};

/// Which quarantine rows to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Status {
    /// Waiting for a fix (the default).
    #[default]
    Open,
    Resolved,
    All,
}

impl Status {
    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "open" => Some(Status::Open),
            "resolved" => Some(Status::Resolved),
            "all" => Some(Status::All),
            _ => None,
        }
    }
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub run: Option<Uuid>,
    pub provider: Option<String>,
    /// The canonical entity (when the mapper got that far).
    pub entity: Option<Entity>,
    /// The source's object (Odoo model).
    pub source: Option<String>,
    pub stage: Option<String>,
    /// A reason code the record was refused for.
    pub code: Option<String>,
    pub status: Status,
    pub cursor: Option<String>,
    pub limit: i64,
}

/// The stages a record can be refused at.
pub const STAGES: &[&str] = &["connector", "mapper", "validator", "normalizer", "loader"];

/// A quarantined record with its reasons and its fields as received.
#[derive(Debug, Clone, PartialEq, Serialize, diesel::QueryableByName)]
pub struct Item {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    pub sync_run_id: Option<Uuid>,
    #[diesel(sql_type = Text)]
    pub provider: String,
    /// The source's object.
    #[diesel(sql_type = Text)]
    pub source: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub entity: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub external_id: Option<String>,
    #[diesel(sql_type = Text)]
    pub stage: String,
    /// `[{field, code, detail}]`, every reason.
    #[diesel(sql_type = Jsonb)]
    pub reasons: serde_json::Value,
    /// The record's fields as the source sent them.
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub record: Option<serde_json::Value>,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub resolved_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Text>)]
    pub resolution: Option<String>,
}

const ITEM_COLUMNS: &str = "q.id, q.sync_run_id, q.provider, q.entity AS source, \
    q.canonical_entity AS entity, q.external_id, q.stage, q.reasons, q.body::jsonb AS record, \
    q.attempts, q.created_at, q.updated_at, q.resolved_at, q.resolution";

/// A page of quarantined records, oldest first (admins).
pub async fn list(
    conn: &mut AsyncPgConnection,
    authz: &Authorizer,
    who: &Principal,
    f: &Filter,
) -> Result<crate::pagination::Page<Item>, WorkflowError> {
    authz.authorize(who, Object::Job, Action::View)?;
    if let Some(stage) = &f.stage
        && !STAGES.contains(&stage.as_str())
    {
        return Err(FieldErrors::single("stage", "unknown_stage"));
    }
    let after: Option<i64> = f
        .cursor
        .as_deref()
        .map(crate::pagination::decode)
        .transpose()?;
    let rows: Vec<Item> = sql::query(format!(
        "SELECT {ITEM_COLUMNS} FROM quarantine q \
         WHERE ($1::uuid IS NULL OR q.sync_run_id = $1) \
           AND ($2::text IS NULL OR q.provider = $2) \
           AND ($3::text IS NULL OR q.canonical_entity = $3) \
           AND ($4::text IS NULL OR q.entity = $4) \
           AND ($5::text IS NULL OR q.stage = $5) \
           AND ($6::text IS NULL OR q.reasons @> jsonb_build_array(jsonb_build_object('code', $6::text))) \
           AND ($7 = 'all' OR ($7 = 'open') = (q.resolved_at IS NULL)) \
           AND ($8::bigint IS NULL OR q.id > $8) \
         ORDER BY q.id LIMIT $9"
    ))
    .bind(Bind::OptUuid(f.run))
    .bind(Bind::OptText(f.provider.clone()))
    .bind(Bind::OptText(f.entity.map(|e| e.as_str().to_owned())))
    .bind(Bind::OptText(f.source.clone()))
    .bind(Bind::OptText(f.stage.clone()))
    .bind(Bind::OptText(f.code.clone()))
    .bind(Bind::Text(
        match f.status {
            Status::Open => "open",
            Status::Resolved => "resolved",
            Status::All => "all",
        }
        .to_owned(),
    ))
    .bind(Bind::OptBigInt(after))
    .bind(Bind::BigInt(f.limit + 1))
    .load(conn)
    .await?;
    Ok(crate::pagination::Page::from_rows(rows, f.limit, |r| r.id))
}

/// Which open records to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// These quarantine rows (every one must be open).
    Ids(Vec<i64>),
    /// Every open record of this canonical entity (and those of its source object the
    /// mapper could not place).
    Entity(Entity),
}

/// What a retry did, record by record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub retried: i64,
    pub loaded: i64,
    pub quarantined: i64,
    pub items: Vec<Retried>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Retried {
    pub id: i64,
    pub external_id: Option<String>,
    pub loaded: bool,
    /// Why it is still refused (empty when it loaded).
    pub reasons: Vec<Reason>,
}

#[derive(diesel::QueryableByName)]
struct Open {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    provider: String,
    #[diesel(sql_type = Text)]
    source: String,
    #[diesel(sql_type = Nullable<Text>)]
    external_id: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    raw_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    body: Option<String>,
}

/// Records retried per statement batch.
const BATCH: i64 = 1_000;

/// Retries open quarantined records from the raw zone (admins), in batches of a
/// thousand, each in one transaction with its audit row. `installation_country` is
/// `TENTABO_DEFAULT_COUNTRY`.
pub async fn retry(
    conn: &mut AsyncPgConnection,
    authz: &Authorizer,
    who: &Principal,
    audit_ctx: &AuditContext,
    selection: &Selection,
    installation_country: Option<&str>,
) -> Result<Outcome, WorkflowError> {
    authz.authorize(who, Object::Job, Action::Manage)?;
    if let Selection::Ids(ids) = selection {
        check_open(conn, ids).await?;
    }
    let mut outcome = Outcome {
        retried: 0,
        loaded: 0,
        quarantined: 0,
        items: Vec::new(),
    };
    let mut after = 0_i64;
    loop {
        let rows = open_rows(conn, selection, after).await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        let mut by_source: HashMap<(String, String), Vec<Open>> = HashMap::new();
        for r in rows {
            by_source
                .entry((r.provider.clone(), r.source.clone()))
                .or_default()
                .push(r);
        }
        for ((provider, source), rows) in by_source {
            let done = retry_batch(
                conn,
                audit_ctx,
                &provider,
                &source,
                rows,
                installation_country,
            )
            .await?;
            outcome.retried += done.len() as i64;
            outcome.loaded += done.iter().filter(|r| r.loaded).count() as i64;
            outcome.quarantined += done.iter().filter(|r| !r.loaded).count() as i64;
            outcome.items.extend(done);
        }
    }
    outcome.items.sort_by_key(|r| r.id);
    Ok(outcome)
}

/// Every id must name an open quarantine row; otherwise nothing is retried.
async fn check_open(conn: &mut AsyncPgConnection, ids: &[i64]) -> Result<(), WorkflowError> {
    if ids.is_empty() {
        return Err(FieldErrors::single("ids", "empty"));
    }
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let open: Vec<Id> =
        sql::query("SELECT id FROM quarantine WHERE id = ANY($1) AND resolved_at IS NULL")
            .bind(Bind::BigInts(ids.to_vec()))
            .load(conn)
            .await?;
    let open: std::collections::HashSet<i64> = open.into_iter().map(|r| r.id).collect();
    let mut errors = FieldErrors::default();
    for (i, id) in ids.iter().enumerate() {
        if !open.contains(id) {
            errors.add(&format!("ids.{i}"), "not_open");
        }
    }
    errors.into_result()
}

async fn open_rows(
    conn: &mut AsyncPgConnection,
    selection: &Selection,
    after: i64,
) -> Result<Vec<Open>, WorkflowError> {
    let (ids, entity, source) = match selection {
        Selection::Ids(ids) => (Some(ids.clone()), None, None),
        Selection::Entity(e) => (
            None,
            Some(e.as_str().to_owned()),
            odoo_map::model_of(*e).map(str::to_owned),
        ),
    };
    Ok(sql::query(
        "SELECT q.id, q.provider, q.entity AS source, q.external_id, r.id AS raw_id, r.body::text AS body \
         FROM quarantine q LEFT JOIN raw_records r \
              ON r.provider = q.provider AND r.entity = q.entity AND r.external_id = q.external_id \
         WHERE q.resolved_at IS NULL AND q.id > $1 \
           AND ($2 OR q.id = ANY($3)) \
           AND ($4::text IS NULL OR q.canonical_entity = $4 \
                OR (q.canonical_entity IS NULL AND q.entity = $5)) \
         ORDER BY q.id LIMIT $6",
    )
    .bind(Bind::BigInt(after))
    .bind(Bind::Bool(ids.is_none()))
    .bind(Bind::BigInts(ids.unwrap_or_default()))
    .bind(Bind::OptText(entity))
    .bind(Bind::OptText(source))
    .bind(Bind::BigInt(BATCH))
    .load(conn)
    .await?)
}

/// Re-processes one batch of one source object and writes the outcome.
async fn retry_batch(
    conn: &mut AsyncPgConnection,
    audit_ctx: &AuditContext,
    provider: &str,
    source: &str,
    rows: Vec<Open>,
    installation_country: Option<&str>,
) -> Result<Vec<Retried>, WorkflowError> {
    let model = odoo_map::known_model(source).filter(|_| provider == run::PROVIDER);
    let policy = super::policy::policy(conn, provider, installation_country).await?;
    let reference = match model {
        Some(m) => run::stored_reference(conn, m).await?,
        None => odoo_map::Reference::default(),
    };
    // The records as the raw zone holds them now (the latest version fetched).
    let mut raws: Vec<(i64, RawRecord)> = Vec::new();
    let mut refused: Vec<(i64, Option<RawRecord>, Rejected)> = Vec::new();
    let mut raw_db_ids: HashMap<String, i64> = HashMap::new();
    for r in rows {
        if let (Some(ext), Some(raw_id)) = (&r.external_id, r.raw_id) {
            raw_db_ids.insert(ext.clone(), raw_id);
        }
        let raw = match (&r.external_id, &r.body) {
            (Some(ext), Some(body)) => serde_json::from_str::<Box<RawValue>>(body)
                .ok()
                .map(|b| RawRecord::new(provider, source, ext.clone(), b)),
            _ => None,
        };
        match (raw, model) {
            (Some(raw), Some(_)) => raws.push((r.id, raw)),
            (raw, _) => refused.push((
                r.id,
                raw,
                Rejected {
                    stage: "loader",
                    entity: None,
                    external_id: r.external_id.clone(),
                    reasons: vec![Reason::record(
                        if model.is_none() {
                            "unknown_model"
                        } else {
                            "no_raw_record"
                        },
                        format!("nothing to re-process {source} {:?} from", r.external_id),
                    )],
                },
            )),
        }
    }
    let mut good: Vec<(i64, Normalized)> = Vec::new();
    if let Some(model) = model {
        let mappings = crate::mapping::store::active_mappings(conn, "odoo", model).await?;
        let mapper =
            OdooMapper::with(model, reference.into(), policy.into()).with_mappings(mappings);
        let mapped: Vec<_> = raws
            .iter()
            .map(|(id, raw)| ((*id, raw), mapper.map(raw)))
            .collect();
        for ((id, raw), v) in run::validate_with_refs(conn, mapped, mapper.policy()).await? {
            let result = v.and_then(|v| normalize(v, mapper.policy()));
            match result {
                Ok(n) => good.push((id, n)),
                Err(r) => refused.push((id, Some(raw.clone()), r)),
            }
        }
    }
    let loaded_ext: Vec<String> = good.iter().map(|(_, n)| n.external_id.clone()).collect();
    let mut items: Vec<Retried> = good
        .iter()
        .map(|(id, n)| Retried {
            id: *id,
            external_id: Some(n.external_id.clone()),
            loaded: true,
            reasons: Vec::new(),
        })
        .collect();
    items.extend(refused.iter().map(|(id, _, r)| Retried {
        id: *id,
        external_id: r.external_id.clone(),
        loaded: false,
        reasons: r.reasons.clone(),
    }));
    let leads = good.iter().any(|(_, n)| n.entity == Entity::Lead);
    let details = serde_json::json!({
        "provider": provider, "source": source,
        "retried": items.len(), "loaded": loaded_ext.len(),
        "ids": items.iter().map(|i| i.id).collect::<Vec<_>>(),
    });
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        for mut rows in Rows::by_entity(good.into_iter().map(|(_, n)| n).collect()) {
            rows.set_raw_ids(&raw_db_ids);
            // A retry never overwrites a local edit: the conflict waits for a decision.
            let kept =
                load::resolve_conflicts(conn, None, provider, rows, ConflictPolicy::Manual).await?;
            load::write_canonical(conn, provider, kept.apply, load::Write::Upsert).await?;
        }
        load::release(conn, provider, source, &loaded_ext).await?;
        let still: Vec<(&RawRecord, Rejected)> = refused
            .iter()
            .filter_map(|(_, raw, r)| raw.as_ref().map(|raw| (raw, r.clone())))
            .collect();
        load::quarantine(conn, None, &still).await?;
        // Rows with nothing to re-process from count an attempt too.
        let orphans: Vec<i64> = refused
            .iter()
            .filter(|(_, raw, _)| raw.is_none())
            .map(|(id, _, _)| *id)
            .collect();
        if !orphans.is_empty() {
            sql::query(
                "UPDATE quarantine SET attempts = attempts + 1, updated_at = now() WHERE id = ANY($1)",
            )
            .bind(Bind::BigInts(orphans))
            .execute(conn)
            .await?;
        }
        if leads {
            super::request_refresh(conn, provider, &format!("quarantine_retry:{}", Uuid::now_v7()))
                .await?;
        }
        audit::record(
            conn,
            audit_ctx.entry("sync.quarantine.retry", "quarantine", source, details),
        )
        .await
    })
    .await?;
    Ok(items)
}
