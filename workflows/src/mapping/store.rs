//! Mapping versions in the database: the seeded defaults, proposed versions with their
//! decisions, activation (which asks for a replay of the raw zone), and what people's
//! decisions taught the engine (`mapping_feedback`). Every write is one transaction with
//! its audit row.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Double, Integer, Jsonb, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::engine::{Learned, Proposal, SourceField, keys};
use super::rules::{Mapping, Rule, Transform, compile, defaults, objects};
use crate::WorkflowError;
use crate::audit::{self, AuditContext};
use crate::error::FieldErrors;
use crate::pipeline::Entity;
use crate::sql::{self, Bind};

/// Proposals at or above this confidence are approved by themselves
/// (`TENTABO_MAPPING_AUTO_APPROVE`).
pub const DEFAULT_AUTO_APPROVE: f64 = 0.9;

/// A version as listed.
#[derive(Debug, Clone, PartialEq, Serialize, diesel::QueryableByName)]
pub struct VersionView {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub provider: String,
    #[diesel(sql_type = Text)]
    pub object: String,
    #[diesel(sql_type = Text)]
    pub entity: String,
    #[diesel(sql_type = Integer)]
    pub version: i32,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Text)]
    pub origin: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub created_by: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Text>)]
    pub decided_by: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub decided_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub activated_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    pub replay_run_id: Option<Uuid>,
    #[diesel(sql_type = BigInt)]
    pub proposed: i64,
    #[diesel(sql_type = BigInt)]
    pub approved: i64,
    #[diesel(sql_type = BigInt)]
    pub rejected: i64,
}

/// One rule of a version, with its proposal and decision.
#[derive(Debug, Clone, PartialEq, Serialize, diesel::QueryableByName)]
pub struct RuleView {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Integer)]
    pub position: i32,
    #[diesel(sql_type = Text)]
    pub source_field: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub source_label: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub source_type: Option<String>,
    #[diesel(sql_type = Jsonb)]
    pub samples: serde_json::Value,
    #[diesel(sql_type = Nullable<Text>)]
    pub target_field: Option<String>,
    #[diesel(sql_type = Text)]
    pub transform: String,
    #[diesel(sql_type = Jsonb)]
    pub value_map: serde_json::Value,
    #[diesel(sql_type = Double)]
    pub confidence: f64,
    #[diesel(sql_type = Text)]
    pub reason: String,
    #[diesel(sql_type = Text)]
    pub engine: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub decided_by: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub decided_at: Option<DateTime<Utc>>,
}

/// A version with its rules.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionDetail {
    #[serde(flatten)]
    pub version: VersionView,
    pub rules: Vec<RuleView>,
}

const VERSION_SELECT: &str = "SELECT v.id, v.provider, v.object, v.entity, v.version, v.status, v.origin, \
        cu.email AS created_by, v.created_at, du.email AS decided_by, v.decided_at, v.activated_at, \
        v.replay_run_id, \
        (SELECT count(*) FROM mapping_rules r WHERE r.version_id = v.id AND r.status = 'proposed') AS proposed, \
        (SELECT count(*) FROM mapping_rules r WHERE r.version_id = v.id AND r.status = 'approved') AS approved, \
        (SELECT count(*) FROM mapping_rules r WHERE r.version_id = v.id AND r.status = 'rejected') AS rejected \
     FROM mapping_versions v \
     LEFT JOIN users cu ON cu.id = v.created_by LEFT JOIN users du ON du.id = v.decided_by";

/// The (object, entity) a mapping of `provider` is kept for, or 404.
pub fn object_entity(
    provider: &str,
    object: &str,
    entity: Option<&str>,
) -> Result<Entity, WorkflowError> {
    let known: Vec<Entity> = objects(provider)
        .iter()
        .filter(|(o, _)| *o == object)
        .map(|(_, e)| *e)
        .collect();
    if known.is_empty() {
        return Err(WorkflowError::NotFound);
    }
    match entity {
        None if known.len() == 1 => Ok(known[0]),
        None => Err(FieldErrors::single("entity", "required")),
        Some(e) => match Entity::parse(e) {
            Some(e) if known.contains(&e) => Ok(e),
            Some(_) => Err(FieldErrors::single("entity", "not_mapped_from_object")),
            None => Err(FieldErrors::single("entity", "unknown_entity")),
        },
    }
}

/// Seeds the default version of every (object, entity) of `provider` that has none
/// (active, approved rules, no author).
pub async fn ensure_defaults(
    conn: &mut AsyncPgConnection,
    provider: &str,
) -> Result<(), WorkflowError> {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let have: Count = sql::query(
        "SELECT count(DISTINCT (object, entity)) AS n FROM mapping_versions WHERE provider = $1",
    )
    .bind(Bind::Text(provider.to_owned()))
    .get_result(conn)
    .await?;
    if have.n as usize >= objects(provider).len() {
        return Ok(());
    }
    for (object, entity) in objects(provider) {
        let Some(rules) = defaults(provider, object, *entity) else {
            continue;
        };
        conn.transaction::<_, WorkflowError, _>(async |conn| {
            #[derive(diesel::QueryableByName)]
            struct Id {
                #[diesel(sql_type = diesel::sql_types::Uuid)]
                id: Uuid,
            }
            let inserted: Option<Id> = diesel::OptionalExtension::optional(
                sql::query(
                    "INSERT INTO mapping_versions (id, provider, object, entity, version, status, origin, activated_at) \
                     SELECT $1, $2, $3, $4, 1, 'active', 'default', now() \
                     WHERE NOT EXISTS (SELECT 1 FROM mapping_versions \
                                       WHERE provider = $2 AND object = $3 AND entity = $4) \
                     ON CONFLICT DO NOTHING RETURNING id",
                )
                .bind(Bind::Uuid(Uuid::now_v7()))
                .bind(Bind::Text(provider.to_owned()))
                .bind(Bind::Text((*object).to_owned()))
                .bind(Bind::Text(entity.as_str().to_owned()))
                .get_result(conn)
                .await,
            )?;
            if let Some(Id { id }) = inserted {
                let rows: Vec<NewRule> = rules
                    .iter()
                    .map(|r| NewRule {
                        source_field: r.source.clone(),
                        source_label: None,
                        source_type: None,
                        samples: Vec::new(),
                        target_field: r.target.clone(),
                        transform: r.transform,
                        value_map: r.values.clone(),
                        confidence: 1.0,
                        reason: "the built-in default mapping".into(),
                        engine: "default".into(),
                        status: "approved",
                    })
                    .collect();
                insert_rules(conn, id, &rows, None).await?;
            }
            Ok(())
        })
        .await?;
    }
    Ok(())
}

struct NewRule {
    source_field: String,
    source_label: Option<String>,
    source_type: Option<String>,
    samples: Vec<String>,
    target_field: Option<String>,
    transform: Transform,
    value_map: BTreeMap<String, String>,
    confidence: f64,
    reason: String,
    engine: String,
    status: &'static str,
}

async fn insert_rules(
    conn: &mut AsyncPgConnection,
    version: Uuid,
    rules: &[NewRule],
    decided_by: Option<Uuid>,
) -> Result<(), WorkflowError> {
    let rows: Vec<serde_json::Value> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            json!({
                "position": i, "source_field": r.source_field, "source_label": r.source_label,
                "source_type": r.source_type, "samples": r.samples, "target_field": r.target_field,
                "transform": r.transform.as_str(), "value_map": r.value_map,
                "confidence": r.confidence.clamp(0.0, 1.0), "reason": r.reason, "engine": r.engine,
                "status": r.status,
            })
        })
        .collect();
    sql::query(
        "INSERT INTO mapping_rules (version_id, position, source_field, source_label, source_type, samples, \
             target_field, transform, value_map, confidence, reason, engine, status, decided_by, decided_at) \
         SELECT $1, r.position, r.source_field, r.source_label, r.source_type, r.samples, r.target_field, \
             r.transform, r.value_map, r.confidence, r.reason, r.engine, r.status, \
             CASE WHEN r.status <> 'proposed' THEN $3::uuid END, \
             CASE WHEN r.status <> 'proposed' THEN now() END \
         FROM jsonb_to_recordset($2) AS r (position int, source_field text, source_label text, \
             source_type text, samples jsonb, target_field text, transform text, value_map jsonb, \
             confidence float8, reason text, engine text, status text)",
    )
    .bind(Bind::Uuid(version))
    .bind(Bind::Json(serde_json::Value::Array(rows)))
    .bind(Bind::OptUuid(decided_by))
    .execute(conn)
    .await?;
    Ok(())
}

/// The active versions of `provider`'s `object`, compiled for the mapper (one per
/// entity; the defaults seeded first when missing).
pub async fn active_mappings(
    conn: &mut AsyncPgConnection,
    provider: &str,
    object: &str,
) -> Result<Vec<Mapping>, WorkflowError> {
    ensure_defaults(conn, provider).await?;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        entity: String,
        #[diesel(sql_type = Jsonb)]
        rules: serde_json::Value,
    }
    let rows: Vec<Row> = sql::query(
        "SELECT v.entity, COALESCE(jsonb_agg(jsonb_build_object('source', r.source_field, \
                 'target', r.target_field, 'transform', r.transform, 'values', r.value_map) \
                 ORDER BY r.position) FILTER (WHERE r.id IS NOT NULL), '[]'::jsonb) AS rules \
         FROM mapping_versions v \
         LEFT JOIN mapping_rules r ON r.version_id = v.id AND r.status = 'approved' \
         WHERE v.provider = $1 AND v.object = $2 AND v.status = 'active' GROUP BY v.entity",
    )
    .bind(Bind::Text(provider.to_owned()))
    .bind(Bind::Text(object.to_owned()))
    .load(conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(entity) = Entity::parse(&row.entity) else {
            continue;
        };
        let rules: Vec<Rule> = serde_json::from_value(row.rules)?;
        let mapping = compile(provider, object, entity, &rules).map_err(|e| {
            WorkflowError::Invalid(format!(
                "the active mapping of {provider} {object} → {} does not compile: {:?}",
                entity.as_str(),
                e.0
            ))
        })?;
        out.push(mapping);
    }
    Ok(out)
}

/// The source fields every approved rule of an active or retired version of
/// `provider`'s `object` reads: a run asks the source for all of them, so the raw zone
/// holds what any of those versions needs when it is re-activated and replayed.
pub async fn source_fields(
    conn: &mut AsyncPgConnection,
    provider: &str,
    object: &str,
) -> Result<Vec<String>, WorkflowError> {
    #[derive(diesel::QueryableByName)]
    struct Field {
        #[diesel(sql_type = Text)]
        source_field: String,
    }
    let rows: Vec<Field> = sql::query(
        "SELECT DISTINCT r.source_field FROM mapping_rules r JOIN mapping_versions v ON v.id = r.version_id \
         WHERE v.provider = $1 AND v.object = $2 AND v.status IN ('active', 'retired') \
           AND r.status = 'approved' AND r.transform <> 'ignore' ORDER BY 1",
    )
    .bind(Bind::Text(provider.to_owned()))
    .bind(Bind::Text(object.to_owned()))
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.source_field).collect())
}

/// What this installation's decisions taught the engine.
pub async fn learned(conn: &mut AsyncPgConnection) -> Result<Learned, WorkflowError> {
    #[derive(diesel::QueryableByName)]
    struct Vote {
        #[diesel(sql_type = Text)]
        entity: String,
        #[diesel(sql_type = Text)]
        key: String,
        #[diesel(sql_type = Text)]
        target_field: String,
        #[diesel(sql_type = Integer)]
        votes: i32,
    }
    let rows: Vec<Vote> = sql::query(
        "SELECT entity, key, target_field, votes FROM mapping_feedback WHERE votes <> 0",
    )
    .load(conn)
    .await?;
    let mut learned = Learned::default();
    for v in rows {
        learned.add(&v.entity, &v.key, &v.target_field, v.votes);
    }
    Ok(learned)
}

/// Records a decision for the engine: +1 for an approval, −1 for a rejection, under
/// the field's normalised name and label.
async fn teach(
    conn: &mut AsyncPgConnection,
    entity: &str,
    field: &SourceField,
    target: &str,
    approved: bool,
) -> Result<(), WorkflowError> {
    sql::query(
        "INSERT INTO mapping_feedback (entity, key, target_field, votes) \
         SELECT $1, k, $3, $4 FROM unnest($2::text[]) AS k \
         ON CONFLICT (entity, key, target_field) DO UPDATE \
             SET votes = mapping_feedback.votes + EXCLUDED.votes, updated_at = now()",
    )
    .bind(Bind::Text(entity.to_owned()))
    .bind(Bind::Texts(keys(field)))
    .bind(Bind::Text(target.to_owned()))
    .bind(Bind::Int(if approved { 1 } else { -1 }))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    provider: &str,
    object: &str,
    entity: Entity,
) -> Result<Vec<VersionView>, WorkflowError> {
    ensure_defaults(conn, provider).await?;
    Ok(sql::query(format!(
        "{VERSION_SELECT} WHERE v.provider = $1 AND v.object = $2 AND v.entity = $3 ORDER BY v.version DESC"
    ))
    .bind(Bind::Text(provider.to_owned()))
    .bind(Bind::Text(object.to_owned()))
    .bind(Bind::Text(entity.as_str().to_owned()))
    .load(conn)
    .await?)
}

pub async fn get(conn: &mut AsyncPgConnection, id: Uuid) -> Result<VersionDetail, WorkflowError> {
    let version = version_row(conn, id, false).await?;
    let rules: Vec<RuleView> = sql::query(
        "SELECT r.id, r.position, r.source_field, r.source_label, r.source_type, r.samples, r.target_field, \
             r.transform, r.value_map, r.confidence, r.reason, r.engine, r.status, u.email AS decided_by, r.decided_at \
         FROM mapping_rules r LEFT JOIN users u ON u.id = r.decided_by \
         WHERE r.version_id = $1 ORDER BY r.position, r.id",
    )
    .bind(Bind::Uuid(id))
    .load(conn)
    .await?;
    Ok(VersionDetail { version, rules })
}

/// A proposed version of `provider`'s `object` → `entity` from the engines' proposals
/// for `fields`: proposals at or above `auto_approve` (with a target) are approved by
/// themselves, the rest wait for a person. When none waits, the version is activated
/// at once (and its replay asked for).
#[allow(clippy::too_many_arguments)]
pub async fn create_proposed(
    conn: &mut AsyncPgConnection,
    ctx: &AuditContext,
    provider: &str,
    object: &str,
    entity: Entity,
    fields: &[SourceField],
    proposals: Vec<Proposal>,
    auto_approve: f64,
) -> Result<VersionDetail, WorkflowError> {
    ensure_defaults(conn, provider).await?;
    let rules: Vec<NewRule> = fields
        .iter()
        .zip(proposals)
        .map(|(f, p)| {
            let transform = Transform::parse(p.transform).unwrap_or(Transform::KeepInExtras);
            let approved = p.target_field.is_some() && p.confidence >= auto_approve;
            NewRule {
                source_field: f.name.trim().to_owned(),
                source_label: f.label.clone(),
                source_type: f.kind.clone(),
                samples: f.samples.iter().take(5).cloned().collect(),
                target_field: p.target_field,
                transform,
                value_map: BTreeMap::new(),
                confidence: p.confidence,
                reason: p.reason,
                engine: p.engine.to_owned(),
                status: if approved { "approved" } else { "proposed" },
            }
        })
        .collect();
    let waiting = rules.iter().any(|r| r.status == "proposed");
    let id = Uuid::now_v7();
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        sql::query(
            "INSERT INTO mapping_versions (id, provider, object, entity, version, status, origin, created_by) \
             SELECT $1, $2, $3, $4, COALESCE(max(version), 0) + 1, 'draft', 'auto_map', $5 \
             FROM mapping_versions WHERE provider = $2 AND object = $3 AND entity = $4",
        )
        .bind(Bind::Uuid(id))
        .bind(Bind::Text(provider.to_owned()))
        .bind(Bind::Text(object.to_owned()))
        .bind(Bind::Text(entity.as_str().to_owned()))
        .bind(Bind::OptUuid(ctx.actor_id))
        .execute(conn)
        .await
        .map_err(|e| {
            crate::error::map_unique(
                e,
                &[("mapping_versions_number", "mapping_version_race", "another version was proposed at the same time; try again")],
            )
        })?;
        insert_rules(conn, id, &rules, None).await?;
        audit::record(
            conn,
            ctx.entry(
                "mapping_proposed",
                "mapping_version",
                id,
                json!({ "provider": provider, "object": object, "entity": entity.as_str(),
                        "rules": rules.len(), "waiting": rules.iter().filter(|r| r.status == "proposed").count() }),
            ),
        )
        .await?;
        if !waiting {
            activate(conn, ctx, id).await?;
        }
        Ok(())
    })
    .await?;
    get(conn, id).await
}

/// A person's decision on one rule of a draft version.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Decision {
    pub rule_id: i64,
    /// `approved` or `rejected`.
    pub status: String,
    /// A change of target (`Some(None)`: keep the field in extras instead).
    #[serde(default, with = "serde_with_double_option")]
    pub target_field: Option<Option<String>>,
    pub transform: Option<String>,
    /// A selection's source value → canonical value (replaces the rule's).
    #[serde(default)]
    pub value_map: Option<BTreeMap<String, String>>,
}

mod serde_with_double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

async fn version_row(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    lock: bool,
) -> Result<VersionView, WorkflowError> {
    if lock {
        sql::query("SELECT 1 FROM mapping_versions WHERE id = $1 FOR UPDATE")
            .bind(Bind::Uuid(id))
            .execute(conn)
            .await?;
    }
    sql::query(format!("{VERSION_SELECT} WHERE v.id = $1"))
        .bind(Bind::Uuid(id))
        .get_result(conn)
        .await
        .map_err(crate::error::not_found)
}

fn not_draft(v: &VersionView) -> WorkflowError {
    WorkflowError::Conflict {
        code: "mapping_version_not_draft",
        message: format!(
            "version {} is {}: only a draft takes decisions",
            v.version, v.status
        ),
    }
}

/// Applies decisions to rules of a draft version, all or none: approvals, rejections
/// and changes of target; each teaches the engine (a changed target is an approval of
/// the new one and a rejection of the old one). 422 with field errors
/// (`decisions.<i>.<part>`) for an unknown rule, status or transform, a target outside
/// SPEC §10, derived by the connector or already written by another rule.
pub async fn decide(
    conn: &mut AsyncPgConnection,
    ctx: &AuditContext,
    id: Uuid,
    decisions: &[Decision],
) -> Result<VersionDetail, WorkflowError> {
    let mut errors = FieldErrors::default();
    if decisions.is_empty() {
        errors.add("decisions", "required");
    }
    if decisions.len() > super::rules::MAX_RULES {
        errors.add("decisions", "too_many");
    }
    errors.into_result()?;
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        let v = version_row(conn, id, true).await?;
        if v.status != "draft" {
            return Err(not_draft(&v));
        }
        let entity = Entity::parse(&v.entity).ok_or(WorkflowError::NotFound)?;
        let detail = get(conn, id).await?;
        let mut rules = detail.rules.clone();
        let mut errors = FieldErrors::default();
        let mut seen = std::collections::HashSet::new();
        let mut lessons: Vec<(SourceField, String, bool)> = Vec::new();
        for (i, d) in decisions.iter().enumerate() {
            let key = |part: &str| format!("decisions.{i}.{part}");
            let Some(rule) = rules.iter_mut().find(|r| r.id == d.rule_id) else {
                errors.add(&key("rule_id"), "unknown_rule");
                continue;
            };
            if !seen.insert(d.rule_id) {
                errors.add(&key("rule_id"), "duplicate");
                continue;
            }
            let approve = match d.status.as_str() {
                "approved" => true,
                "rejected" => false,
                _ => {
                    errors.add(&key("status"), "invalid_choice");
                    continue;
                }
            };
            let field = SourceField {
                name: rule.source_field.clone(),
                label: rule.source_label.clone(),
                ..SourceField::default()
            };
            let before = rule.target_field.clone();
            if let Some(t) = &d.transform {
                match Transform::parse(t) {
                    Some(t) => rule.transform = t.as_str().to_owned(),
                    None => errors.add(&key("transform"), "invalid_choice"),
                }
            }
            if let Some(target) = &d.target_field {
                let changed = *target != rule.target_field;
                rule.target_field = target.clone();
                match target {
                    None => rule.transform = Transform::KeepInExtras.as_str().to_owned(),
                    // A new target without a transform: the one its kind and the
                    // source's type call for.
                    Some(t) if changed && d.transform.is_none() => {
                        rule.transform = Transform::AsIs.as_str().to_owned();
                        if let Some(kind) = super::vocabulary::targets(&v.entity)
                            .unwrap_or_default()
                            .iter()
                            .find(|x| x.name == t)
                            .map(|x| x.kind)
                        {
                            rule.transform =
                                super::engine::transform(rule.source_type.as_deref(), kind)
                                    .to_owned();
                        }
                    }
                    Some(_) => {}
                }
            }
            if let Some(values) = &d.value_map {
                if values.len() > super::engine::MAX_SELECTION {
                    errors.add(&key("value_map"), "too_many");
                } else if values
                    .iter()
                    .any(|(k, v)| k.chars().count() > 200 || v.chars().count() > 200)
                {
                    errors.add(&key("value_map"), "too_long");
                } else {
                    rule.value_map = serde_json::to_value(values)?;
                }
            }
            rule.status = d.status.clone();
            if approve {
                if let Some(t) = &rule.target_field {
                    lessons.push((field.clone(), t.clone(), true));
                }
                if let Some(old) = before.filter(|b| Some(b) != rule.target_field.as_ref()) {
                    lessons.push((field, old, false));
                }
            } else if let Some(t) = &rule.target_field {
                lessons.push((field, t.clone(), false));
            }
        }
        // The version as it would stand, checked whole: targets known, not derived,
        // written once.
        let standing: Vec<(usize, Rule)> = rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.status != "rejected")
            .map(|(i, r)| {
                (
                    i,
                    Rule {
                        source: r.source_field.clone(),
                        target: r.target_field.clone(),
                        transform: Transform::parse(&r.transform).unwrap_or(Transform::KeepInExtras),
                        values: serde_json::from_value(r.value_map.clone()).unwrap_or_default(),
                    },
                )
            })
            .collect();
        let only: Vec<Rule> = standing.iter().map(|(_, r)| r.clone()).collect();
        if let Err(e) = compile(&v.provider, &v.object, entity, &only) {
            // Name the decision that caused it when there is one, else the rule.
            for (k, codes) in e.0 {
                let mut parts = k.splitn(3, '.');
                let (_, idx, part) = (parts.next(), parts.next(), parts.next().unwrap_or(""));
                let rule_id = idx
                    .and_then(|i| i.parse::<usize>().ok())
                    .and_then(|i| standing.get(i))
                    .map(|(ri, _)| rules[*ri].id);
                let at = decisions
                    .iter()
                    .position(|d| Some(d.rule_id) == rule_id)
                    .map(|p| {
                        let part = match part {
                            "source" => "rule_id",
                            "target" => "target_field",
                            other => other,
                        };
                        format!("decisions.{p}.{part}")
                    })
                    .unwrap_or_else(|| format!("rules.{}.{part}", rule_id.unwrap_or(0)));
                for c in codes {
                    errors.add(&at, c);
                }
            }
        }
        errors.into_result()?;
        for d in decisions {
            let r = rules.iter().find(|r| r.id == d.rule_id).expect("checked above");
            sql::query(
                "UPDATE mapping_rules SET status = $2, target_field = $3, transform = $4, \
                     decided_by = $5, decided_at = now(), value_map = $6, \
                     engine = CASE WHEN target_field IS DISTINCT FROM $3 THEN 'person' ELSE engine END, \
                     confidence = CASE WHEN target_field IS DISTINCT FROM $3 THEN 1 ELSE confidence END, \
                     reason = CASE WHEN target_field IS DISTINCT FROM $3 THEN 'chosen by a person' ELSE reason END \
                 WHERE id = $1",
            )
            .bind(Bind::BigInt(r.id))
            .bind(Bind::Text(r.status.clone()))
            .bind(Bind::OptText(r.target_field.clone()))
            .bind(Bind::Text(r.transform.clone()))
            .bind(Bind::OptUuid(ctx.actor_id))
            .bind(Bind::Json(r.value_map.clone()))
            .execute(conn)
            .await?;
        }
        for (field, target, approved) in &lessons {
            teach(conn, &v.entity, field, target, *approved).await?;
        }
        audit::record(
            conn,
            ctx.entry(
                "mapping_decided",
                "mapping_version",
                id,
                json!({ "decisions": decisions.iter().map(|d| json!({
                    "rule_id": d.rule_id, "status": d.status,
                    "target_field": rules.iter().find(|r| r.id == d.rule_id).and_then(|r| r.target_field.clone()),
                })).collect::<Vec<_>>() }),
            ),
        )
        .await?;
        Ok(())
    })
    .await?;
    get(conn, id).await
}

/// Approves a version as a whole: a draft's waiting rules are approved (and taught) and
/// the version becomes the active one; a retired version is re-activated. Either way
/// the previous active version retires and a replay of the raw zone is asked for.
pub async fn approve(
    conn: &mut AsyncPgConnection,
    ctx: &AuditContext,
    id: Uuid,
) -> Result<VersionDetail, WorkflowError> {
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        let v = version_row(conn, id, true).await?;
        match v.status.as_str() {
            "draft" => {
                let waiting: Vec<RuleView> = get(conn, id)
                    .await?
                    .rules
                    .into_iter()
                    .filter(|r| r.status == "proposed")
                    .collect();
                sql::query(
                    "UPDATE mapping_rules SET status = 'approved', decided_by = $2, decided_at = now() \
                     WHERE version_id = $1 AND status = 'proposed'",
                )
                .bind(Bind::Uuid(id))
                .bind(Bind::OptUuid(ctx.actor_id))
                .execute(conn)
                .await?;
                for r in waiting {
                    if let Some(t) = &r.target_field {
                        let field = SourceField {
                            name: r.source_field,
                            label: r.source_label,
                            ..SourceField::default()
                        };
                        teach(conn, &v.entity, &field, t, true).await?;
                    }
                }
            }
            "retired" => {}
            _ => {
                return Err(WorkflowError::Conflict {
                    code: "mapping_version_not_approvable",
                    message: format!(
                        "version {} is {}: only a draft or a retired version can be approved",
                        v.version, v.status
                    ),
                });
            }
        }
        activate(conn, ctx, id).await
    })
    .await?;
    get(conn, id).await
}

/// Rejects a draft as a whole (nothing is taught: the person said no to the version,
/// not to each field).
pub async fn reject(
    conn: &mut AsyncPgConnection,
    ctx: &AuditContext,
    id: Uuid,
) -> Result<VersionDetail, WorkflowError> {
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        let v = version_row(conn, id, true).await?;
        if v.status != "draft" {
            return Err(not_draft(&v));
        }
        sql::query(
            "UPDATE mapping_versions SET status = 'rejected', decided_by = $2, decided_at = now() WHERE id = $1",
        )
        .bind(Bind::Uuid(id))
        .bind(Bind::OptUuid(ctx.actor_id))
        .execute(conn)
        .await?;
        audit::record(
            conn,
            ctx.entry("mapping_rejected", "mapping_version", id, json!({ "version": v.version })),
        )
        .await?;
        Ok(())
    })
    .await?;
    get(conn, id).await
}

/// Makes version `id` the active one of its (provider, object, entity), in the
/// caller's transaction: it must compile; the active one retires; the replay job of the
/// object is asked for (outbox).
async fn activate(
    conn: &mut AsyncPgConnection,
    ctx: &AuditContext,
    id: Uuid,
) -> Result<(), WorkflowError> {
    let v = version_row(conn, id, false).await?;
    let entity = Entity::parse(&v.entity).ok_or(WorkflowError::NotFound)?;
    let rules: Vec<Rule> = get(conn, id)
        .await?
        .rules
        .into_iter()
        .filter(|r| r.status == "approved")
        .map(|r| Rule {
            source: r.source_field,
            target: r.target_field,
            transform: Transform::parse(&r.transform).unwrap_or(Transform::KeepInExtras),
            values: serde_json::from_value(r.value_map).unwrap_or_default(),
        })
        .collect();
    compile(&v.provider, &v.object, entity, &rules).map_err(WorkflowError::Validation)?;
    sql::query(
        "UPDATE mapping_versions SET status = 'retired' \
         WHERE provider = $1 AND object = $2 AND entity = $3 AND status = 'active' AND id <> $4",
    )
    .bind(Bind::Text(v.provider.clone()))
    .bind(Bind::Text(v.object.clone()))
    .bind(Bind::Text(v.entity.clone()))
    .bind(Bind::Uuid(id))
    .execute(conn)
    .await?;
    sql::query(
        "UPDATE mapping_versions SET status = 'active', activated_at = now(), replay_run_id = NULL, \
             decided_by = COALESCE($2, decided_by), decided_at = now() WHERE id = $1",
    )
    .bind(Bind::Uuid(id))
    .bind(Bind::OptUuid(ctx.actor_id))
    .execute(conn)
    .await?;
    crate::jobs::enqueue(
        conn,
        &[crate::jobs::JobRequest::new(
            &crate::jobs::payloads::ReplayMapping { version_id: id },
            format!("replay_mapping:{id}:{}", Uuid::now_v7()),
        )],
    )
    .await?;
    audit::record(
        conn,
        ctx.entry(
            "mapping_activated",
            "mapping_version",
            id,
            json!({ "provider": v.provider, "object": v.object, "entity": v.entity, "version": v.version }),
        ),
    )
    .await?;
    Ok(())
}
