//! The transition service: one Postgres transaction per accepted event.
//!
//! Lock the row (in the caller's view, else 404), check the permission for the event
//! (403), the expected version (409 `stale_version`) and the machine (409
//! `illegal_transition` with the events allowed now), apply the pure machine, then write
//! the new state and version, a history row, an audit row and one outbox row per effect.
//! With an `Idempotency-Key` the first answer is stored in the same transaction and
//! replayed for the same key; the same key with a different request is refused (422).

use chrono::{DateTime, Utc};
use diesel::OptionalExtension;
use diesel::sql_types::{Bytea, Integer, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

pub use super::resource::{Resource, allowed, parse_state, state_name};
use super::{Caller, Kind, Owners, scope_sql};
use crate::WorkflowError;
use crate::audit::{self, AuditContext};
use crate::error::FieldErrors;
use crate::identity::listing::scope_binds;
use crate::jobs::{self, JobKind, JobRequest};
use crate::lifecycle::Effect;
use crate::sql::{self, Bind};

/// What the caller asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub id: Uuid,
    pub event: String,
    pub expected_version: Option<i32>,
    pub payload: Option<Value>,
    /// `Idempotency-Key` and a fingerprint of the whole request (method, path, body).
    pub idempotency: Option<(String, Vec<u8>)>,
}

/// The answer: the rendered resource, and whether it was replayed from an earlier
/// request with the same idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub body: Value,
    pub replayed: bool,
}

#[derive(Debug, diesel::QueryableByName)]
struct Locked {
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = Integer)]
    version: i32,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    partner_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    distributor_id: Option<Uuid>,
}

#[derive(Debug, diesel::QueryableByName)]
struct Stored {
    #[diesel(sql_type = Bytea)]
    fingerprint: Vec<u8>,
    #[diesel(sql_type = Jsonb)]
    response_body: Value,
}

const IDEMPOTENCY_PKEY: &str = "idempotency_keys_pkey";
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

/// Applies the event in one transaction and renders the result with `render`.
pub async fn apply<R: Resource>(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    audit_ctx: &AuditContext,
    req: &Request,
    render: &(dyn Fn(&R::Record) -> Value + Sync),
) -> Result<Answer, WorkflowError> {
    if let Some((key, _)) = &req.idempotency
        && (key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY)
    {
        return Err(FieldErrors::single(
            "Idempotency-Key",
            "invalid_idempotency_key",
        ));
    }
    let event: R::Event = serde_json::from_value(Value::String(req.event.clone()))
        .map_err(|_| FieldErrors::single("event", "unknown_event"))?;
    let payload = match &req.payload {
        None | Some(Value::Null) => json!({}),
        Some(p @ Value::Object(_)) => p.clone(),
        Some(_) => return Err(FieldErrors::single("payload", "must_be_object")),
    };
    // Two requests with one new key may race: the loser's insert of the key fails, its
    // transaction rolls back, and the second pass replays the winner's answer.
    let mut pass = 0;
    loop {
        pass += 1;
        let result = conn
            .transaction::<_, WorkflowError, _>(async |conn| {
                apply_once::<R>(conn, caller, audit_ctx, req, event, &payload, render).await
            })
            .await;
        match result {
            Err(WorkflowError::Database(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                info,
            ))) if pass == 1 && info.constraint_name() == Some(IDEMPOTENCY_PKEY) => continue,
            other => return other,
        }
    }
}

async fn apply_once<R: Resource>(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    audit_ctx: &AuditContext,
    req: &Request,
    event: R::Event,
    payload: &Value,
    render: &(dyn Fn(&R::Record) -> Value + Sync),
) -> Result<Answer, WorkflowError> {
    let kind = R::KIND;
    let (scope_kind, scope_id) = scope_binds(caller.view_scope(kind)?);
    let row: Locked = sql::query(format!(
        "SELECT state, version, partner_id, distributor_id FROM {} WHERE {} AND id = $3 FOR UPDATE",
        kind.table(),
        scope_sql(1)
    ))
    .bind(Bind::Text(scope_kind.to_string()))
    .bind(Bind::OptUuid(scope_id))
    .bind(Bind::Uuid(req.id))
    .get_result(conn)
    .await
    .map_err(super::not_found)?;
    // The key is looked up with the row locked: a second request with the same key waits
    // for the first to commit, then replays its answer instead of meeting the new state.
    if let Some((key, fingerprint)) = &req.idempotency {
        let stored: Option<Stored> = sql::query(
            "SELECT fingerprint, response_body FROM idempotency_keys WHERE user_id = $1 AND key = $2",
        )
        .bind(Bind::Uuid(caller.who.user_id))
        .bind(Bind::Text(key.to_string()))
        .get_result(conn)
        .await
        .optional()?;
        if let Some(stored) = stored {
            if &stored.fingerprint != fingerprint {
                return Err(WorkflowError::Unprocessable {
                    code: "idempotency_key_reused",
                    details: json!({ "idempotency_key": key }),
                });
            }
            return Ok(Answer {
                body: stored.response_body,
                replayed: true,
            });
        }
    }

    let owners = Owners {
        partner_id: row.partner_id,
        distributor_id: row.distributor_id,
    };
    if !caller.may(kind, R::action(event), owners) {
        return Err(WorkflowError::Forbidden);
    }
    let from: R::State = parse_state(&row.state)?;
    let refused = |code: &'static str| WorkflowError::Refused {
        code,
        details: json!({
            "state": row.state,
            "version": row.version,
            "allowed_events": allowed::<R>(caller, &row.state, owners),
        }),
    };
    if req.expected_version.is_some_and(|v| v != row.version) {
        return Err(refused("stale_version"));
    }
    let transition =
        R::apply(from, event, caller.role()).map_err(|_| refused("illegal_transition"))?;
    R::guard(conn, caller, req.id, event, payload).await?;

    let version = row.version + 1;
    let to = state_name(transition.to);
    let event_name = state_name(event);
    sql::query(format!(
        "UPDATE {} SET state = $2, version = $3, updated_at = now() WHERE id = $1",
        kind.table()
    ))
    .bind(Bind::Uuid(req.id))
    .bind(Bind::Text(to.clone()))
    .bind(Bind::Int(version))
    .execute(conn)
    .await?;
    sql::query(
        "INSERT INTO lifecycle_history (object_type, object_id, version, event, from_state, \
             to_state, actor_id, payload) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(Bind::Text(kind.as_str().to_string()))
    .bind(Bind::Uuid(req.id))
    .bind(Bind::Int(version))
    .bind(Bind::Text(event_name.clone()))
    .bind(Bind::Text(row.state.clone()))
    .bind(Bind::Text(to.clone()))
    .bind(Bind::Uuid(caller.who.user_id))
    .bind(Bind::Json(payload.clone()))
    .execute(conn)
    .await?;
    audit::record(
        conn,
        audit_ctx.entry(
            &format!("{}.transition", kind.as_str()),
            kind.as_str(),
            req.id,
            json!({ "event": event_name, "from": row.state, "to": to, "version": version }),
        ),
    )
    .await?;
    let mut jobs: Vec<JobRequest> = transition
        .effects
        .iter()
        .map(|e| job_for(kind, *e, req.id, version, payload))
        .collect::<Result<_, _>>()?;
    // The dashboards count states: they follow every transition (in the same statement
    // as the effects' jobs).
    jobs.push(crate::lake::own_refresh(&format!(
        "{}:{}:v{version}",
        kind.as_str(),
        req.id
    )));
    jobs::enqueue(conn, &jobs).await?;

    let record = R::load(conn, caller, req.id).await?;
    let body = render(&record);
    if let Some((key, fingerprint)) = &req.idempotency {
        sql::query(
            "INSERT INTO idempotency_keys (user_id, key, fingerprint, response_status, response_body) \
             VALUES ($1, $2, $3, 200, $4)",
        )
        .bind(Bind::Uuid(caller.who.user_id))
        .bind(Bind::Text(key.to_string()))
        .bind(Bind::Bytes(fingerprint.clone()))
        .bind(Bind::Json(body.clone()))
        .execute(conn)
        .await?;
    }
    Ok(Answer {
        body,
        replayed: false,
    })
}

/// What the jobs of lifecycle effects receive: ids only.
/// The job of an effect. The idempotency key names the object, the step and the
/// effect, so a transition can never request the same effect twice.
pub fn job_for(
    kind: Kind,
    effect: Effect,
    id: Uuid,
    version: i32,
    payload: &Value,
) -> Result<JobRequest, WorkflowError> {
    use crate::jobs::payloads as p;
    let key = |job: JobKind| format!("{}:{id}:v{version}:{}", kind.as_str(), job.queue());
    Ok(match effect {
        Effect::PushLeadStatusToCrm => JobRequest::new(
            &p::PushLeadStatus {
                lead_id: id,
                version,
            },
            key(JobKind::CrmPushLeadStatus),
        ),
        Effect::CreateOrderFromLead => JobRequest::new(
            &p::CreateOrderFromLead { lead_id: id },
            key(JobKind::CreateOrderFromLead),
        ),
        Effect::RequestBillingQuote => JobRequest::new(
            &p::RequestQuote { order_id: id },
            key(JobKind::BillingRequestQuote),
        ),
        Effect::CreateActiveContract => JobRequest::new(
            &p::CreateActiveContract { order_id: id },
            key(JobKind::CreateActiveContract),
        ),
        Effect::RequestInvoice => JobRequest::new(
            &p::RequestInvoice { order_id: id },
            key(JobKind::BillingRequestInvoice),
        ),
        Effect::LinkReplacementOrder => {
            // The event's `order_id` was checked before the transition was applied.
            let order_id: Uuid = payload
                .get("order_id")
                .and_then(|v| serde_json::from_value(v.clone()).ok())
                .ok_or_else(|| {
                    WorkflowError::Internal("a replacement without its order_id".into())
                })?;
            JobRequest::new(
                &p::LinkReplacementOrder {
                    contract_id: id,
                    order_id,
                },
                key(JobKind::LinkReplacementOrder),
            )
        }
    })
}

/// One step of a resource's history.
#[derive(Debug, Clone, PartialEq, Serialize, diesel::QueryableByName)]
pub struct HistoryEntry {
    #[diesel(sql_type = Integer)]
    pub version: i32,
    #[diesel(sql_type = Text)]
    pub event: String,
    #[diesel(sql_type = Text)]
    pub from_state: String,
    #[diesel(sql_type = Text)]
    pub to_state: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub actor_id: Option<Uuid>,
    #[diesel(sql_type = Timestamptz)]
    pub occurred_at: DateTime<Utc>,
    #[diesel(sql_type = Jsonb)]
    pub payload: Value,
}

/// The history of a row the caller can see, oldest first.
pub async fn history<R: Resource>(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<Vec<HistoryEntry>, WorkflowError> {
    R::load(conn, caller, id).await?;
    Ok(diesel::sql_query(
        "SELECT version, event, from_state, to_state, actor_id, occurred_at, payload \
         FROM lifecycle_history WHERE object_type = $1 AND object_id = $2 ORDER BY version",
    )
    .bind::<Text, _>(R::KIND.as_str())
    .bind::<SqlUuid, _>(id)
    .load(conn)
    .await?)
}

/// An effect a transition of the row queued (an outbox row) and how it went.
#[derive(Debug, Clone, PartialEq, Serialize, diesel::QueryableByName)]
pub struct EffectEntry {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub id: i64,
    /// The version the transition that queued it produced.
    #[diesel(sql_type = Integer)]
    pub version: i32,
    /// The job's queue (`billing_request_quote`, `crm_push_lead_status`, …).
    #[diesel(sql_type = Text)]
    pub queue: String,
    /// pending | enqueued | running | done | dead | discarded
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Integer)]
    pub max_attempts: i32,
    #[diesel(sql_type = Nullable<Text>)]
    pub last_error: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub finished_at: Option<DateTime<Utc>>,
}

/// The effects the transitions of a row the caller can see queued, oldest first (their
/// outbox keys are `<kind>:<id>:v<version>:<queue>`, see `job_for`).
pub async fn effects<R: Resource>(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<Vec<EffectEntry>, WorkflowError> {
    R::load(conn, caller, id).await?;
    let prefix = format!("{}:{id}:v", R::KIND.as_str());
    Ok(diesel::sql_query(
        "SELECT id, split_part(substr(idempotency_key, length($1) + 1), ':', 1)::int AS version, \
                queue, status, attempts, max_attempts, last_error, created_at, finished_at \
         FROM outbox WHERE idempotency_key LIKE $1 || '%' ORDER BY id",
    )
    .bind::<Text, _>(prefix)
    .load(conn)
    .await?)
}
