//! A sync run from Odoo: connector → mapper → validator → normalizer → loader → logger,
//! page by page. Memory holds a few pages (two loading on two lanes, one queued for each,
//! one being read and staged — every record of them, changed or not). Each page commits
//! in one transaction with the run's counts and its checkpoint, in page order, so a
//! killed run resumes after the last committed page: nothing lost (the keyset restarts
//! strictly after what committed), nothing doubled (every write is keyed by external
//! id: upserts, and plain inserts only for keys the page's own raw write found new).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{mpsc, oneshot};

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::sql_types::{Nullable, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use tentabo_schema::DbPool;
use uuid::Uuid;

use super::load::{self, ConflictPolicy, PageCounts, Rows};
use super::odoo::{OdooMapper, Reference, fields_of, reference_models};
use super::validate::validate;
use super::{Entity, Mapper, Normalized, RawRecord, Rejected, normalize};
use crate::WorkflowError;
use crate::providers::odoo::{DATETIME_FORMAT, Keyset, OdooClient, OdooError};
use crate::sql::{self, Bind};

mod keys;
mod pages;
mod reference;
mod replay;
mod views;

pub(crate) use keys::validate_with_refs;
use keys::*;
use pages::*;
pub use reference::stored_reference;
use reference::*;
pub use replay::{ReplayOutcome, replay_version};
use replay::{raw_count, raw_page};
use views::log;
pub use views::{
    RunView, SYNC_SOURCES, UnknownSource, ZoneHealth, abandon, get, lake_health, recent, request,
    request_for, source_of,
};

pub const PROVIDER: &str = "odoo";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Full,
    Incremental,
    /// The canonical rows rebuilt from the raw zone with the active mapping: no call
    /// to the source.
    Replay,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Incremental => "incremental",
            Mode::Replay => "replay",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Totals {
    pub fetched: i64,
    pub unchanged: i64,
    pub loaded: i64,
    pub quarantined: i64,
    pub deleted: i64,
    pub conflicts: i64,
    pub pages: i64,
    /// Records loaded with warnings, and per code.
    pub warned: i64,
    pub warnings: BTreeMap<String, i64>,
    /// Quarantined records per reason code.
    pub reasons: BTreeMap<String, i64>,
    /// Time spent in each stage by this attempt (the logger's timings).
    pub timings: StageTimes,
}

/// Microseconds spent per stage. The loader's share covers laying out a page's canonical
/// rows, every database write of the page (raw, canonical, quarantine, counts,
/// checkpoint) and its commit, summed over the lanes (two lanes load at once: their sum
/// can pass the run's duration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct StageTimes {
    pub connector_us: u64,
    pub mapper_us: u64,
    pub validator_us: u64,
    pub normalizer_us: u64,
    pub loader_us: u64,
}

impl StageTimes {
    fn add(&mut self, o: StageTimes) {
        self.connector_us += o.connector_us;
        self.mapper_us += o.mapper_us;
        self.validator_us += o.validator_us;
        self.normalizer_us += o.normalizer_us;
        self.loader_us += o.loader_us;
    }
}

fn micros(since: std::time::Instant) -> u64 {
    since.elapsed().as_micros() as u64
}

impl Totals {
    fn merge(&mut self, o: Totals) {
        self.warned += o.warned;
        load::add_counts(&mut self.warnings, &o.warnings);
        load::add_counts(&mut self.reasons, &o.reasons);
        self.fetched += o.fetched;
        self.unchanged += o.unchanged;
        self.loaded += o.loaded;
        self.quarantined += o.quarantined;
        self.deleted += o.deleted;
        self.conflicts += o.conflicts;
        self.pages += o.pages;
        self.timings.add(o.timings);
    }

    /// Counts one loaded page.
    fn add(&mut self, c: PageCounts, t: StageTimes) {
        self.merge(Totals {
            fetched: c.fetched,
            unchanged: c.unchanged,
            loaded: c.loaded,
            quarantined: c.quarantined,
            deleted: 0,
            conflicts: c.conflicts,
            pages: 1,
            timings: t,
            warned: c.warned,
            warnings: c.warnings,
            reasons: c.reasons,
        });
    }
}

/// Creates a queued run of `model` (one active run per model: a second is refused).
pub async fn create(
    conn: &mut AsyncPgConnection,
    model: &str,
    mode: Mode,
    requested_by: Option<Uuid>,
) -> Result<Uuid, WorkflowError> {
    create_for(conn, PROVIDER, model, mode, requested_by).await
}

/// Creates a queued run of `provider`'s `source` (one active run per source).
pub async fn create_for(
    conn: &mut AsyncPgConnection,
    provider: &str,
    model: &str,
    mode: Mode,
    requested_by: Option<Uuid>,
) -> Result<Uuid, WorkflowError> {
    let id = Uuid::now_v7();
    sql::query(
        "INSERT INTO sync_runs (id, provider, entity, mode, requested_by) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(Bind::Uuid(id))
    .bind(Bind::Text(provider.to_owned()))
    .bind(Bind::Text(model.to_owned()))
    .bind(Bind::Text(mode.as_str().to_owned()))
    .bind(Bind::OptUuid(requested_by))
    .execute(conn)
    .await
    .map_err(|e| {
        crate::error::map_unique(
            e,
            &[("sync_runs_one_active", "sync_already_running", "a run of this entity is already queued or running")],
        )
    })?;
    Ok(id)
}

#[derive(diesel::QueryableByName)]
struct Cursor {
    #[diesel(sql_type = Nullable<Text>)]
    cursor_value: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    cursor_id: Option<String>,
}

fn keyset(c: Option<Cursor>) -> Keyset {
    let Some(c) = c else { return Keyset::default() };
    Keyset {
        write_date: c
            .cursor_value
            .and_then(|v| NaiveDateTime::parse_from_str(&v, DATETIME_FORMAT).ok())
            .map(|t| t.and_utc()),
        id: c.cursor_id.and_then(|i| i.parse().ok()).unwrap_or(0),
    }
}

#[derive(diesel::QueryableByName)]
struct RunRow {
    #[diesel(sql_type = Text)]
    entity: String,
    #[diesel(sql_type = Text)]
    mode: String,
    #[diesel(sql_type = Nullable<Text>)]
    cursor_value: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    cursor_id: Option<String>,
}

/// How a run reads its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Records per page (one transaction each).
    pub page_size: usize,
    /// An incremental run re-reads this much before the watermark: a source transaction
    /// can commit after a later one with an older `write_date`. Unchanged records cost
    /// a hash comparison.
    pub look_back: std::time::Duration,
    /// What the loader does when a record changed both in the source and locally.
    pub conflicts: ConflictPolicy,
    /// Connections loading pages at once (1 or 2): with two, page k+1 loads while
    /// page k does, and they still commit in order.
    pub lanes: usize,
    /// The installation's default country (`TENTABO_DEFAULT_COUNTRY`): the region of
    /// national phone numbers when neither the record nor the provider's settings name
    /// one.
    pub default_country: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            page_size: 1_000,
            look_back: std::time::Duration::from_secs(300),
            conflicts: ConflictPolicy::SourceWins,
            lanes: 2,
            default_country: None,
        }
    }
}

/// Where a run starts: a resumed run from its own cursor; a new incremental run from
/// the model's checkpoint less the look-back window; a new full run from the beginning.
async fn start_point(
    conn: &mut AsyncPgConnection,
    run: &RunRow,
    look_back: std::time::Duration,
) -> Result<Keyset, WorkflowError> {
    if run.cursor_value.is_some() {
        return Ok(keyset(Some(Cursor {
            cursor_value: run.cursor_value.clone(),
            cursor_id: run.cursor_id.clone(),
        })));
    }
    if run.mode == "full" {
        return Ok(Keyset::default());
    }
    let c: Option<Cursor> = diesel::OptionalExtension::optional(
        sql::query(
            "SELECT cursor_value, cursor_id FROM sync_checkpoints WHERE provider = $1 AND entity = $2",
        )
        .bind(Bind::Text(PROVIDER.to_owned()))
        .bind(Bind::Text(run.entity.clone()))
        .get_result(conn)
        .await,
    )?;
    let mut from = keyset(c);
    if let Some(wm) = from.write_date {
        let back = chrono::Duration::from_std(look_back).unwrap_or(chrono::Duration::zero());
        from = Keyset {
            write_date: Some(wm - back),
            id: 0,
        };
    }
    Ok(from)
}

/// Runs (or resumes) run `run_id` to its end. The run row records the outcome:
/// `succeeded`, `partial` (some records quarantined) or `failed` (with the error).
///
/// One execution per run at a time: it holds a session lock on the run, which Postgres
/// releases when the execution ends or when its process dies (a killed worker's
/// redelivered job then resumes the run). A second execution meanwhile is refused
/// (`sync_run_busy`, retried later); one of a run that already ended does nothing.
pub async fn execute(
    db: &DbPool,
    client: &mut OdooClient,
    run_id: Uuid,
    options: Options,
) -> Result<Totals, WorkflowError> {
    execute_from(db, Source::Odoo(client), run_id, options).await
}

/// Runs (or resumes) replay run `run_id`: the model's raw records, in raw id order,
/// through the active mapping and the stages after it, with the same conflict and
/// quarantine rules as a sync run — no call to Odoo.
pub async fn replay(db: &DbPool, run_id: Uuid, options: Options) -> Result<Totals, WorkflowError> {
    execute_from(db, Source::Raw(None), run_id, options).await
}

async fn execute_from(
    db: &DbPool,
    mut source: Source<'_>,
    run_id: Uuid,
    options: Options,
) -> Result<Totals, WorkflowError> {
    let mut conn = db.get().await?;
    let locked: Flag = sql::query("SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS flag")
        .bind(Bind::Text(run_id.to_string()))
        .get_result(&mut conn)
        .await?;
    if !locked.flag {
        return Err(WorkflowError::Conflict {
            code: "sync_run_busy",
            message: format!("sync run {run_id} is being executed elsewhere"),
        });
    }
    let result = execute_locked(db, &mut conn, &mut source, run_id, options).await;
    let unlocked = sql::query("SELECT pg_advisory_unlock(hashtextextended($1, 0)) AS flag")
        .bind(Bind::Text(run_id.to_string()))
        .get_result::<Flag>(&mut conn)
        .await;
    // The run's connections leave the pool and close: each grew its buffers to a page's
    // statements (a megabyte and more), which a pooled connection would keep for good —
    // run after run, on whichever connections the runs happened to take. The pool opens
    // fresh ones when it needs them.
    drop(diesel_async::pooled_connection::deadpool::Object::take(
        conn,
    ));
    // The run's own error tells more than a failed unlock (which a broken connection
    // makes moot: its session, and the lock, end with it).
    let totals = result?;
    unlocked?;
    Ok(totals)
}

#[derive(diesel::QueryableByName)]
struct Flag {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    flag: bool,
}

async fn execute_locked(
    db: &DbPool,
    conn: &mut AsyncPgConnection,
    source: &mut Source<'_>,
    run_id: Uuid,
    options: Options,
) -> Result<Totals, WorkflowError> {
    let page_size = options.page_size.max(1);
    let run: Option<RunRow> = diesel::OptionalExtension::optional(
        sql::query(
            "UPDATE sync_runs SET status = 'running', started_at = COALESCE(started_at, now()) \
             WHERE id = $1 AND status IN ('queued', 'running', 'failed') \
             RETURNING entity, mode, cursor_value, cursor_id",
        )
        .bind(Bind::Uuid(run_id))
        .get_result(conn)
        .await,
    )?;
    let Some(run) = run else {
        // Ended already (a stale delivery), or unknown.
        get(conn, run_id).await?;
        return Ok(Totals::default());
    };
    let mut totals = Totals::default();
    // Whatever fails from here on ends the run `failed`, so it never blocks the next one.
    let result: Result<(), WorkflowError> = async {
        let model: &'static str = super::odoo::known_model(&run.entity)
            .ok_or_else(|| {
                WorkflowError::Invalid(format!("no Odoo mapping for `{}`", run.entity))
            })?;
        let replay = run.mode == "replay";
        if replay != matches!(source, Source::Raw(_)) {
            return Err(WorkflowError::Invalid(format!(
                "run {run_id} is a {} run: it reads {}",
                run.mode,
                if replay { "the raw zone" } else { "Odoo" }
            )));
        }
        let after = if replay {
            Keyset {
                write_date: None,
                id: run.cursor_id.as_deref().and_then(|c| c.parse().ok()).unwrap_or(0),
            }
        } else {
            start_point(conn, &run, options.look_back).await?
        };
        let policy = super::policy::policy(conn, PROVIDER, options.default_country.as_deref()).await?;
        let reference = match source {
            Source::Odoo(client) => read_reference(conn, client, run_id, model).await?,
            Source::Raw(_) => stored_reference(conn, model).await?,
        };
        let mappings = crate::mapping::store::active_mappings(conn, PROVIDER, model).await?;
        let also = crate::mapping::store::source_fields(conn, PROVIDER, model).await?;
        let mapper = OdooMapper::with(model, Arc::new(reference), Arc::new(policy))
            .with_mappings(mappings)
            .also_reading(also);
        // Records of this model wait in quarantine: pages release those that load.
        let open_quarantine = Arc::new(AtomicBool::new(
            load::has_open_quarantine(conn, PROVIDER, model).await?,
        ));
        // The estimate: what is left to read, plus what an earlier attempt already read.
        let left = match source {
            Source::Odoo(client) => client.count(model, after).await.map_err(connector_error)?,
            Source::Raw(_) => raw_count(conn, model, after.id).await?,
        };
        sql::query("UPDATE sync_runs SET estimate = fetched + $2 WHERE id = $1")
            .bind(Bind::Uuid(run_id))
            .bind(Bind::BigInt(left))
            .execute(conn)
            .await?;
        if let Source::Raw(reader) = source {
            // The raw zone is read on a connection of its own.
            *reader = Some(Box::new(db.get().await?));
        }
        // A second lane: one more connection, for the run's duration — one free now:
        // a busy pool is not made to wait for it. Without one the run goes on a single
        // lane, only slower.
        let mut second = if options.lanes > 1 {
            let mut now = db.timeouts();
            now.wait = Some(std::time::Duration::ZERO);
            db.timeout_get(&now)
                .await
                .inspect_err(|e| {
                    tracing::warn!(error = %e, "sync run: no second connection, loading on one lane");
                })
                .ok()
        } else {
            None
        };
        let mut lanes: Vec<&mut AsyncPgConnection> = vec![&mut *conn];
        if let Some(c) = second.as_deref_mut() {
            lanes.push(c);
        }
        let job = PageJob {
            run_id,
            model,
            policy: options.conflicts,
            full: run.mode == "full",
            replay,
            mapper: mapper.clone(),
            open_quarantine,
            mostly_unchanged: Arc::new(AtomicBool::new(false)),
        };
        totals = load_pages(lanes, source, job, mapper, after, page_size).await?;
        if let Some(c) = second {
            drop(diesel_async::pooled_connection::deadpool::Object::take(c));
        }
        if run.mode == "full" {
            totals.deleted = soft_delete_unseen(conn, run_id, model).await?;
        }
        Ok(())
    }
    .await;
    let (status, error) = match &result {
        Ok(()) if totals.quarantined > 0 => ("partial", None),
        Ok(()) => ("succeeded", None),
        Err(e) => ("failed", Some(e.to_string())),
    };
    // The run's end, and — when leads changed — the serving zone's refresh, commit
    // together: the aggregates follow every load that changed what they count.
    let changed_leads =
        entities_of(&run.entity).contains(&Entity::Lead) && totals.loaded + totals.deleted > 0;
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        sql::query(
            "UPDATE sync_runs SET status = $2, error = $3, deleted = $4, timings = $5, finished_at = now() \
             WHERE id = $1",
        )
        .bind(Bind::Uuid(run_id))
        .bind(Bind::Text(status.to_owned()))
        .bind(Bind::OptText(error.clone()))
        .bind(Bind::BigInt(totals.deleted))
        .bind(Bind::Json(serde_json::to_value(totals.timings)?))
        .execute(conn)
        .await?;
        if changed_leads {
            super::request_refresh(conn, PROVIDER, &format!("sync_run:{run_id}")).await?;
        }
        Ok(())
    })
    .await?;
    log(
        conn,
        run_id,
        if error.is_some() { "error" } else { "info" },
        &format!("run {status}"),
        serde_json::to_value(&totals)?,
    )
    .await?;
    result.map(|()| totals)
}
