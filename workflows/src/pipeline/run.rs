//! A sync run from Odoo: connector → mapper → validator → normalizer → loader → logger,
//! page by page. Memory holds a few pages (two loading on two lanes, one queued for each,
//! one being read and staged — every record of them, changed or not). Each page commits
//! in one transaction with the run's counts and its checkpoint, in page order, so a
//! killed run resumes after the last committed page: nothing lost (the keyset restarts
//! strictly after what committed), nothing doubled (every write is keyed by external
//! id: upserts, and plain inserts only for keys the page's own raw write found new).

use std::collections::{BTreeMap, HashSet};
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

pub const PROVIDER: &str = "odoo";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Full,
    Incremental,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Incremental => "incremental",
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
    let id = Uuid::now_v7();
    sql::query(
        "INSERT INTO sync_runs (id, provider, entity, mode, requested_by) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(Bind::Uuid(id))
    .bind(Bind::Text(PROVIDER.to_owned()))
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
    let result = execute_locked(db, &mut conn, client, run_id, options).await;
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
    client: &mut OdooClient,
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
        let after = start_point(conn, &run, options.look_back).await?;
        let policy = super::policy::policy(conn, PROVIDER, options.default_country.as_deref()).await?;
        let reference = read_reference(conn, client, run_id, model).await?;
        let mapper = OdooMapper::with(model, Arc::new(reference), Arc::new(policy));
        // Records of this model wait in quarantine: pages release those that load.
        let open_quarantine = Arc::new(AtomicBool::new(
            load::has_open_quarantine(conn, PROVIDER, model).await?,
        ));
        // The estimate: what is left to read, plus what an earlier attempt already read.
        let left = client.count(model, after).await.map_err(connector_error)?;
        sql::query("UPDATE sync_runs SET estimate = fetched + $2 WHERE id = $1")
            .bind(Bind::Uuid(run_id))
            .bind(Bind::BigInt(left))
            .execute(conn)
            .await?;
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
            mapper: mapper.clone(),
            open_quarantine,
            mostly_unchanged: Arc::new(AtomicBool::new(false)),
        };
        totals = load_pages(lanes, client, job, mapper, after, page_size).await?;
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

/// Reads the reference models of `model` whole (a few hundred records at most) into the
/// raw zone, and the mapper's view of them.
async fn read_reference(
    conn: &mut AsyncPgConnection,
    client: &mut OdooClient,
    run_id: Uuid,
    model: &str,
) -> Result<Reference, WorkflowError> {
    let mut reference = Reference::default();
    for source in reference_models(model) {
        let records = client
            .page(source, fields_of(source), Keyset::default(), 10_000)
            .await
            .map_err(connector_error)?;
        let raws: Vec<RawRecord> = records
            .into_iter()
            .map(|r| RawRecord::new(PROVIDER, source, r.id.to_string(), r.raw))
            .collect();
        let bodies: Vec<&str> = raws.iter().map(|r| r.body.get()).collect();
        reference.add(source, &bodies);
        load::upsert_raw(conn, run_id, &raws).await?;
    }
    Ok(reference)
}

#[derive(diesel::QueryableByName)]
struct Body {
    #[diesel(sql_type = Text)]
    entity: String,
    #[diesel(sql_type = Text)]
    body: String,
}

/// The reference data of `model` as the raw zone holds it (for re-processing records
/// without a call to the source).
pub async fn stored_reference(
    conn: &mut AsyncPgConnection,
    model: &str,
) -> Result<Reference, WorkflowError> {
    let sources: Vec<String> = reference_models(model)
        .iter()
        .map(|m| (*m).to_owned())
        .collect();
    let mut reference = Reference::default();
    if sources.is_empty() {
        return Ok(reference);
    }
    let rows: Vec<Body> = sql::query(
        "SELECT entity, body::text AS body FROM raw_records WHERE provider = $1 AND entity = ANY($2)",
    )
    .bind(Bind::Text(PROVIDER.to_owned()))
    .bind(Bind::Texts(sources))
    .load(conn)
    .await?;
    for source in reference_models(model) {
        let bodies: Vec<&str> = rows
            .iter()
            .filter(|r| r.entity == *source)
            .map(|r| r.body.as_str())
            .collect();
        reference.add(source, &bodies);
    }
    Ok(reference)
}

/// Bad credentials or an Odoo-side error will not pass by retrying; an unreachable
/// source may.
fn connector_error(e: OdooError) -> WorkflowError {
    match e {
        OdooError::Unavailable { .. } => WorkflowError::Upstream(format!("connector: {e}")),
        _ => WorkflowError::Invalid(format!("connector: {e}")),
    }
}

/// A page after the stages that need no database.
enum Staged {
    /// Mapped only, record by record: the page refers to other records, so the loader
    /// validates it (referential rules read the database) and normalizes it.
    Mapped(Vec<Result<super::Mapped, Rejected>>),
    /// Validated and normalized: the canonical rows of each entity, ready to bind, and
    /// the refused records by position in the page.
    Ready {
        rows: Vec<Rows>,
        refused: Vec<(usize, Rejected)>,
    },
    /// Hashed only: the lane first reads the stored hashes of the page's records and
    /// stages only those that changed (a run finding most records unchanged — a full
    /// run over a synced source — then neither maps them nor writes their raw rows).
    Deferred,
}

/// A page as read from the source and staged, with the keyset after it.
struct Page {
    raws: Vec<RawRecord>,
    staged: Staged,
    /// Whether the page may load only once the page before it committed: its
    /// references are validated against what that page loaded, or it holds a record
    /// that page holds too (edited in the source between the two fetches).
    after_previous: bool,
    next: Keyset,
    times: StageTimes,
}

/// Reads the page after `after` and runs the pure stages on it; `None` past the end.
async fn read_page(
    client: &mut OdooClient,
    model: &'static str,
    mapper: OdooMapper,
    after: Keyset,
    page_size: usize,
    defer: bool,
) -> Result<Option<Page>, WorkflowError> {
    let t = std::time::Instant::now();
    let records = client
        .page(model, fields_of(model), after, page_size)
        .await
        .map_err(connector_error)?;
    let Some(last) = records.last() else {
        return Ok(None);
    };
    let next = Keyset {
        write_date: Some(last.write_date),
        id: last.id,
    };
    let mut times = StageTimes {
        connector_us: micros(t),
        ..Default::default()
    };
    // Hashing and the pure stages are CPU work: on a blocking thread, so that the page
    // being loaded meanwhile is driven without waiting for them.
    let (raws, staged, stage_times) = tokio::task::spawn_blocking(move || {
        let raws: Vec<RawRecord> = records
            .into_iter()
            .map(|r| RawRecord::new(PROVIDER, model, r.id.to_string(), r.raw))
            .collect();
        if defer {
            return (raws, Staged::Deferred, StageTimes::default());
        }
        let (staged, times) = stage(&mapper, &raws);
        (raws, staged, times)
    })
    .await
    .map_err(staging_failed)?;
    times.add(stage_times);
    let after_previous = matches!(staged, Staged::Mapped(_));
    Ok(Some(Page {
        raws,
        staged,
        after_previous,
        next,
        times,
    }))
}

/// A staging thread that panicked or was cancelled.
fn staging_failed(e: tokio::task::JoinError) -> WorkflowError {
    WorkflowError::Invalid(format!("staging a page failed: {e}"))
}

/// Maps a page and, when it refers to no other record, validates and normalizes it and
/// lays its canonical rows out as the loader binds them.
fn stage(mapper: &OdooMapper, raws: &[RawRecord]) -> (Staged, StageTimes) {
    let mut times = StageTimes::default();
    let t = std::time::Instant::now();
    let mapped: Vec<Result<super::Mapped, Rejected>> = raws.iter().map(|r| mapper.map(r)).collect();
    times.mapper_us = micros(t);
    if mapped.iter().flatten().any(|m| !refs_of(m).is_empty()) {
        return (Staged::Mapped(mapped), times);
    }
    // No reference: the validator never asks the database.
    let t = std::time::Instant::now();
    let policy = mapper.policy();
    let validated: Vec<Result<super::Validated, Rejected>> = mapped
        .into_iter()
        .map(|m| m.and_then(|m| validate(m, &|_, _| false, policy)))
        .collect();
    times.validator_us = micros(t);
    let t = std::time::Instant::now();
    let (good, refused) = split(
        validated
            .into_iter()
            .map(|v| v.and_then(|v| normalize(v, policy)))
            .enumerate(),
    );
    times.normalizer_us = micros(t);
    let t = std::time::Instant::now();
    let rows = Rows::by_entity(good);
    times.loader_us = micros(t);
    (Staged::Ready { rows, refused }, times)
}

/// Normalized records apart, refused ones (with their position in the page) apart.
fn split(
    results: impl Iterator<Item = (usize, Result<Normalized, Rejected>)>,
) -> (Vec<Normalized>, Vec<(usize, Rejected)>) {
    let mut good = Vec::new();
    let mut refused = Vec::new();
    for (i, r) in results {
        match r {
            Ok(n) => good.push(n),
            Err(r) => refused.push((i, r)),
        }
    }
    (good, refused)
}

fn refs_of(m: &super::Mapped) -> Vec<String> {
    m.fields
        .values()
        .filter_map(|f| match f {
            super::Field::Ref(id) => Some(id.clone()),
            _ => None,
        })
        .collect()
}

/// What every page of a run is loaded for.
#[derive(Debug, Clone)]
struct PageJob {
    run_id: Uuid,
    model: &'static str,
    policy: ConflictPolicy,
    full: bool,
    /// The stages' policy (for pages validated at load time).
    mapper: OdooMapper,
    /// Whether records of the model may be waiting in quarantine (then a page releases
    /// those it loads).
    open_quarantine: Arc<AtomicBool>,
    /// Whether the last page loaded found most of its records unchanged.
    mostly_unchanged: Arc<AtomicBool>,
}

/// A page handed to a lane, with the signal of the page before it (none for the first)
/// and its own, sent once it committed (dropped unsent if it failed).
struct Turn {
    page: Page,
    previous: Option<oneshot::Receiver<()>>,
    done: oneshot::Sender<()>,
}

/// The error of a page that stopped because another part of the run failed first.
fn aborted() -> WorkflowError {
    WorkflowError::Conflict {
        code: "sync_page_aborted",
        message: "an earlier page of the run failed".to_owned(),
    }
}

/// Waits until the page before committed; an error when it failed.
async fn committed(previous: Option<oneshot::Receiver<()>>) -> Result<(), WorkflowError> {
    match previous {
        Some(signal) => signal.await.map_err(|_| aborted()),
        None => Ok(()),
    }
}

/// Reads the pages after `after` in order and loads them on the lanes (connections)
/// given, page k on lane k mod n: while one lane loads a page the other loads the next
/// and the reader reads and stages the one after. Pages still commit in order (each
/// waits, before its counts and checkpoint, for the page before), so the checkpoint
/// never passes a page that did not commit; when one fails, the pages after it roll
/// back and the reader stops. Each lane queues at most one page: memory holds a few
/// pages, whatever the size of the source.
async fn load_pages(
    lanes: Vec<&mut AsyncPgConnection>,
    client: &mut OdooClient,
    job: PageJob,
    mapper: OdooMapper,
    after: Keyset,
    page_size: usize,
) -> Result<Totals, WorkflowError> {
    let (senders, receivers): (Vec<_>, Vec<_>) =
        (0..lanes.len()).map(|_| mpsc::channel::<Turn>(1)).unzip();
    let mostly_unchanged = job.mostly_unchanged.clone();
    let model = job.model;
    let reader = async move {
        let mut after = after;
        let mut previous: Option<oneshot::Receiver<()>> = None;
        let mut previous_ids: HashSet<String> = HashSet::new();
        for lane in senders.iter().cycle() {
            // Pages are staged here, ahead of the lanes, while the source mostly brings
            // new or changed records; once most of a page turns out unchanged, the lanes
            // check hashes first and stage only what changed.
            let defer = AtomicBool::load(&mostly_unchanged, Ordering::Acquire);
            let Some(mut page) =
                read_page(client, model, mapper.clone(), after, page_size, defer).await?
            else {
                return Ok(());
            };
            let last = page.raws.len() < page_size;
            after = page.next;
            let ids: HashSet<String> = page.raws.iter().map(|r| r.external_id.clone()).collect();
            page.after_previous |= !ids.is_disjoint(&previous_ids);
            previous_ids = ids;
            let (done, signal) = oneshot::channel();
            let turn = Turn {
                page,
                previous: previous.replace(signal),
                done,
            };
            lane.send(turn).await.map_err(|_| aborted())?;
            if last {
                break;
            }
        }
        Ok::<(), WorkflowError>(())
    };
    let loaders = lanes.into_iter().zip(receivers).map(|(conn, mut queue)| {
        let job = job.clone();
        async move {
            let mut totals = Totals::default();
            while let Some(Turn {
                page,
                previous,
                done,
            }) = queue.recv().await
            {
                let read_times = page.times;
                let (counts, times) = load_page(conn, &job, page, previous).await?;
                // The page after may have failed already and dropped its signal.
                let _ = done.send(());
                totals.add(counts, times);
                totals.timings.add(read_times);
            }
            Ok::<Totals, WorkflowError>(totals)
        }
    });
    let (read, loaded) = tokio::join!(reader, futures::future::join_all(loaders));
    // The error that stopped the run, not one of the pages it stopped.
    let is_aborted = |e: &WorkflowError| {
        matches!(
            e,
            WorkflowError::Conflict {
                code: "sync_page_aborted",
                ..
            }
        )
    };
    let mut failure: Option<WorkflowError> = None;
    let mut totals = Totals::default();
    let results = loaded
        .into_iter()
        .map(|r| r.map(Some))
        .chain(std::iter::once(read.map(|()| None)));
    for result in results {
        match result {
            Ok(Some(lane)) => totals.merge(lane),
            Ok(None) => {}
            Err(e) if failure.as_ref().is_none_or(is_aborted) => failure = Some(e),
            Err(_) => {}
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(totals)
}

/// Loads one page in one transaction: raw upsert (an unchanged hash stops a record
/// there), the stages left for records whose page has references, conflicts, canonical
/// upserts, quarantine, counts and checkpoint.
async fn load_page(
    conn: &mut AsyncPgConnection,
    job: &PageJob,
    page: Page,
    mut previous: Option<oneshot::Receiver<()>>,
) -> Result<(PageCounts, StageTimes), WorkflowError> {
    let PageJob {
        run_id,
        model,
        policy,
        full,
        ..
    } = *job;
    let stages = job.mapper.policy();
    let Page {
        raws,
        staged,
        after_previous,
        next,
        ..
    } = page;
    if after_previous {
        committed(previous.take()).await?;
    }
    let started = std::time::Instant::now();
    let mut times = StageTimes::default();
    let fetched = raws.len() as i64;
    let keys: Vec<String> = if full {
        raws.iter().map(|r| r.external_id.clone()).collect()
    } else {
        Vec::new()
    };
    // A deferred page: only the records whose hash differs from the stored one go on,
    // staged here (timed as their stages, not as the loader's).
    let mut staging_us = 0;
    let (raws, staged, skipped) = match staged {
        Staged::Deferred => {
            let stored = stored_hashes(conn, model, &raws).await?;
            let total = raws.len();
            let changed: Vec<RawRecord> = raws
                .into_iter()
                .filter(|r| stored.get(&r.external_id) != Some(&r.hash))
                .collect();
            let skipped = (total - changed.len()) as i64;
            let t = std::time::Instant::now();
            let mapper = job.mapper.clone();
            let (changed, staged, stage_times) = tokio::task::spawn_blocking(move || {
                let (staged, t) = stage(&mapper, &changed);
                (changed, staged, t)
            })
            .await
            .map_err(staging_failed)?;
            staging_us = micros(t);
            times.add(stage_times);
            if matches!(staged, Staged::Mapped(_)) {
                // Its references are checked against what the page before loaded.
                committed(previous.take()).await?;
            }
            (changed, staged, skipped)
        }
        other => (raws, other, 0),
    };
    let (mut txn_validator_us, mut txn_normalizer_us) = (0, 0);
    let counts = conn
        .transaction::<_, WorkflowError, _>(async |conn| {
            // A page's commit need not wait for its WAL flush: the page and its
            // checkpoint commit together, so a server crash loses both or neither (the
            // run resumes from the checkpoint that survived), and the run's final,
            // synchronous status commit flushes every page before it.
            //
            // Pages on two lanes never wait on each other's rows (a page sharing a
            // record with the one before it waits for its commit before starting), but
            // should a lock ever be waited on while that page waits for this one, the
            // lock timeout ends the page, and the run resumes from its checkpoint.
            sql::query(
                "SELECT set_config('synchronous_commit', 'off', true), \
                        set_config('lock_timeout', '60s', true)",
            )
            .execute(conn)
            .await?;
            let raw_changes = load::upsert_raw(conn, run_id, &raws).await?;
            let changed = |i: usize| raw_changes.changed.contains_key(&raws[i].external_id);
            let (rows, refused) = match staged {
                Staged::Ready { rows, refused } => (rows, refused),
                Staged::Deferred => (Vec::new(), Vec::new()),
                Staged::Mapped(mapped) => {
                    // Only what changed goes further: the rest is not validated again.
                    let t = std::time::Instant::now();
                    let pending: Vec<(usize, Result<super::Mapped, Rejected>)> = mapped
                        .into_iter()
                        .enumerate()
                        .filter(|(i, _)| changed(*i))
                        .collect();
                    let validated = validate_with_refs(conn, pending, stages).await?;
                    txn_validator_us = micros(t);
                    let t = std::time::Instant::now();
                    let (good, refused) = split(
                        validated
                            .into_iter()
                            .map(|(i, v)| (i, v.and_then(|v| normalize(v, stages)))),
                    );
                    txn_normalizer_us = micros(t);
                    (Rows::by_entity(good), refused)
                }
            };
            let refused: Vec<(&RawRecord, Rejected)> = refused
                .into_iter()
                .filter(|(i, _)| changed(*i))
                .map(|(i, r)| (&raws[i], r))
                .collect();
            let unchanged: Vec<&RawRecord> = (0..raws.len())
                .filter(|i| !changed(*i))
                .map(|i| &raws[i])
                .collect();

            let mut loaded = 0;
            let mut conflicts = 0;
            let mut warned = 0;
            let mut warnings = BTreeMap::new();
            let release = AtomicBool::load(&job.open_quarantine, Ordering::Acquire);
            let mut released: Vec<String> = Vec::new();
            for mut rows in rows {
                // First seen: nothing to conflict with, a plain insert. Seen before and
                // changed: conflicts first, then an upsert. Unchanged: nothing.
                rows.set_raw_ids(&raw_changes.changed);
                let (fresh, known) = raw_changes.split(rows);
                for part in [&fresh, &known] {
                    warned += part.warned();
                    load::add_counts(&mut warnings, &part.warnings());
                    if release {
                        released.extend(part.external_ids.iter().cloned());
                    }
                }
                loaded += load::write_canonical(conn, PROVIDER, fresh, load::Write::Insert).await?;
                if known.is_empty() {
                    continue;
                }
                let kept =
                    load::resolve_conflicts(conn, Some(run_id), PROVIDER, known, policy).await?;
                conflicts += kept.conflicts;
                loaded +=
                    load::write_canonical(conn, PROVIDER, kept.apply, load::Write::Upsert).await?;
            }
            // A full run keeps the keys it read (a page's worth in one row): at its end,
            // what it did not read is gone. Nothing is written for unchanged records.
            if full {
                save_keys(conn, run_id, keys).await?;
            }
            load::release(conn, PROVIDER, model, &released).await?;
            if !refused.is_empty() {
                job.open_quarantine.store(true, Ordering::Release);
            }
            load::quarantine(conn, Some(run_id), &refused).await?;
            let mut reasons = BTreeMap::new();
            for (_, r) in &refused {
                let mut codes: Vec<&str> = r.reasons.iter().map(|x| x.code).collect();
                codes.sort_unstable();
                codes.dedup();
                for code in codes {
                    *reasons.entry(code.to_owned()).or_default() += 1;
                }
            }
            let counts = PageCounts {
                fetched,
                unchanged: skipped + unchanged.len() as i64,
                loaded: loaded as i64,
                quarantined: refused.len() as i64,
                conflicts,
                warned,
                warnings,
                reasons,
            };
            // Pages commit in order: the checkpoint never passes a page that did not.
            committed(previous.take()).await?;
            save_progress(conn, run_id, model, &counts, next).await?;
            Ok(counts)
        })
        .await?;
    let total = micros(started);
    times.validator_us += txn_validator_us;
    times.normalizer_us += txn_normalizer_us;
    times.loader_us = total.saturating_sub(staging_us + txn_validator_us + txn_normalizer_us);
    job.mostly_unchanged
        .store(counts.unchanged * 2 > counts.fetched, Ordering::Release);
    Ok((counts, times))
}

/// The run's counts and cursor, and the model's watermark (which only moves forward),
/// in the page's transaction.
async fn save_progress(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    model: &str,
    counts: &PageCounts,
    next: Keyset,
) -> Result<(), WorkflowError> {
    let cursor_value = next
        .write_date
        .map(|t| t.format(DATETIME_FORMAT).to_string());
    let cursor_id = next.id.to_string();
    sql::query(
        "UPDATE sync_runs SET fetched = fetched + $2, unchanged = unchanged + $3, \
             loaded = loaded + $4, quarantined = quarantined + $5, conflicts = conflicts + $6, \
             cursor_value = $7, cursor_id = $8, warned = warned + $9, \
             warnings = CASE WHEN $10 = '{}'::jsonb THEN warnings ELSE tentabo_add_counts(warnings, $10) END, \
             quarantine_reasons = CASE WHEN $11 = '{}'::jsonb THEN quarantine_reasons \
                 ELSE tentabo_add_counts(quarantine_reasons, $11) END \
         WHERE id = $1",
    )
    .bind(Bind::Uuid(run_id))
    .bind(Bind::BigInt(counts.fetched))
    .bind(Bind::BigInt(counts.unchanged))
    .bind(Bind::BigInt(counts.loaded))
    .bind(Bind::BigInt(counts.quarantined))
    .bind(Bind::BigInt(counts.conflicts))
    .bind(Bind::OptText(cursor_value.clone()))
    .bind(Bind::Text(cursor_id.clone()))
    .bind(Bind::BigInt(counts.warned))
    .bind(Bind::Json(serde_json::to_value(&counts.warnings)?))
    .bind(Bind::Json(serde_json::to_value(&counts.reasons)?))
    .execute(conn)
    .await?;
    sql::query(
        "INSERT INTO sync_checkpoints (provider, entity, cursor_value, cursor_id, last_run_id) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (provider, entity) DO UPDATE SET cursor_value = EXCLUDED.cursor_value, \
             cursor_id = EXCLUDED.cursor_id, last_run_id = EXCLUDED.last_run_id, updated_at = now() \
         WHERE sync_checkpoints.cursor_value IS NULL \
               OR (sync_checkpoints.cursor_value, lpad(sync_checkpoints.cursor_id, 20, '0')) \
                  < (EXCLUDED.cursor_value, lpad(EXCLUDED.cursor_id, 20, '0'))",
    )
    .bind(Bind::Text(PROVIDER.to_owned()))
    .bind(Bind::Text(model.to_owned()))
    .bind(Bind::OptText(cursor_value))
    .bind(Bind::Text(cursor_id))
    .bind(Bind::Uuid(run_id))
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(diesel::QueryableByName)]
struct Known {
    #[diesel(sql_type = Text)]
    external_id: String,
}

/// Which of the organizations a page refers to are known: in the canonical zone, or in
/// the raw zone (fetched — this page included, its raw rows are written first).
async fn known_refs(
    conn: &mut AsyncPgConnection,
    refs: Vec<String>,
) -> Result<HashSet<(Entity, String)>, WorkflowError> {
    if refs.is_empty() {
        return Ok(HashSet::new());
    }
    let rows: Vec<Known> = sql::query(
        "SELECT external_id FROM canonical_organizations \
             WHERE provider = $1 AND external_id = ANY($2) AND deleted_at IS NULL \
         UNION SELECT external_id FROM raw_records \
             WHERE provider = $1 AND entity = 'res.partner' AND external_id = ANY($2)",
    )
    .bind(Bind::Text(PROVIDER.to_owned()))
    .bind(Bind::Texts(refs))
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|k| (Entity::Organization, k.external_id))
        .collect())
}

/// Validates mapped records whose references need the database (each keeps its tag `T`,
/// e.g. its position in the page): the organizations they refer to are looked up once
/// for all of them.
pub(crate) async fn validate_with_refs<T>(
    conn: &mut AsyncPgConnection,
    mapped: Vec<(T, Result<super::Mapped, Rejected>)>,
    policy: &super::policy::Policy,
) -> Result<Vec<(T, Result<super::Validated, Rejected>)>, WorkflowError> {
    let refs: Vec<String> = mapped
        .iter()
        .filter_map(|(_, m)| m.as_ref().ok())
        .flat_map(refs_of)
        .collect();
    let known = known_refs(conn, refs).await?;
    Ok(mapped
        .into_iter()
        .map(|(t, m)| {
            let v =
                m.and_then(|m| validate(m, &|e, id| known.contains(&(e, id.to_owned())), policy));
            (t, v)
        })
        .collect())
}

/// The external ids a page of a full run read, in the page's transaction.
async fn save_keys(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    keys: Vec<String>,
) -> Result<(), WorkflowError> {
    sql::query("INSERT INTO sync_run_keys (sync_run_id, external_ids) VALUES ($1, $2)")
        .bind(Bind::Uuid(run_id))
        .bind(Bind::Texts(keys))
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(diesel::QueryableByName)]
struct StoredHash {
    #[diesel(sql_type = Text)]
    external_id: String,
    #[diesel(sql_type = diesel::sql_types::Bytea)]
    content_hash: Vec<u8>,
}

/// The raw zone's hashes of a page's records (those it holds): one point lookup in the
/// key's index per record (a `LATERAL … LIMIT 1` the planner cannot turn into a scan).
/// `external_id = ANY($3)` reads the same, but a planner whose statistics predate the
/// table's growth (a lake loaded minutes ago, not analyzed yet) prefers a bitmap scan of
/// the whole model filtered by the array: measured at 870 ms a page at a million
/// records, against 7 ms for this.
async fn stored_hashes(
    conn: &mut AsyncPgConnection,
    model: &str,
    raws: &[RawRecord],
) -> Result<std::collections::HashMap<String, [u8; 32]>, WorkflowError> {
    let ids: Vec<String> = raws.iter().map(|r| r.external_id.clone()).collect();
    let rows: Vec<StoredHash> = sql::query(
        "SELECT r.external_id, r.content_hash FROM unnest($3::text[]) AS k (id) \
         CROSS JOIN LATERAL (SELECT external_id, content_hash FROM raw_records \
             WHERE provider = $1 AND entity = $2 AND external_id = k.id LIMIT 1) r",
    )
    .bind(Bind::Text(PROVIDER.to_owned()))
    .bind(Bind::Text(model.to_owned()))
    .bind(Bind::Texts(ids))
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| Some((r.external_id, r.content_hash.try_into().ok()?)))
        .collect())
}

fn entities_of(model: &str) -> &'static [Entity] {
    super::odoo::MODELS
        .iter()
        .find(|(m, _)| *m == model)
        .map_or(&[], |(_, es)| *es)
}

/// After a full run: live rows of the model's entities whose key the run did not read
/// are gone from the source (soft-deleted); the run's key set goes with the same
/// transaction.
async fn soft_delete_unseen(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    model: &str,
) -> Result<i64, WorkflowError> {
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        // The anti-join hashes the run's keys: room for a million of them. The tables
        // are new to the planner's statistics (a first run, never analyzed): without
        // this it may take them for a few rows and pick a nested loop — quadratic.
        sql::query(
            "SELECT set_config('work_mem', '64MB', true), set_config('enable_nestloop', 'off', true)",
        )
        .execute(conn)
        .await?;
        let mut n = 0;
        for entity in entities_of(model) {
            n += sql::query(format!(
                "WITH seen AS MATERIALIZED ( \
                     SELECT DISTINCT unnest(external_ids) AS external_id FROM sync_run_keys \
                     WHERE sync_run_id = $2) \
                 UPDATE {} t SET deleted_at = now() \
                 WHERE t.provider = $1 AND t.deleted_at IS NULL \
                   AND NOT EXISTS (SELECT 1 FROM seen s WHERE s.external_id = t.external_id)",
                entity.table()
            ))
            .bind(Bind::Text(PROVIDER.to_owned()))
            .bind(Bind::Uuid(run_id))
            .execute(conn)
            .await? as i64;
        }
        sql::query("DELETE FROM sync_run_keys WHERE sync_run_id = $1")
            .bind(Bind::Uuid(run_id))
            .execute(conn)
            .await?;
        Ok(n)
    })
    .await
}

async fn log(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    level: &str,
    message: &str,
    details: serde_json::Value,
) -> Result<(), WorkflowError> {
    sql::query(
        "INSERT INTO provider_sync_logs (sync_run_id, level, message, details) VALUES ($1, $2, $3, $4)",
    )
    .bind(Bind::Uuid(run_id))
    .bind(Bind::Text(level.to_owned()))
    .bind(Bind::Text(message.to_owned()))
    .bind(Bind::Json(details))
    .execute(conn)
    .await?;
    Ok(())
}

/// Asks for a run: the run row and its job's outbox row commit together.
pub async fn request(
    conn: &mut AsyncPgConnection,
    model: &str,
    mode: Mode,
    requested_by: Option<Uuid>,
    key: Option<String>,
) -> Result<Uuid, WorkflowError> {
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        let id = create(conn, model, mode, requested_by).await?;
        crate::jobs::enqueue(
            conn,
            &[crate::jobs::JobRequest::new(
                &crate::jobs::payloads::SyncRun { run_id: id },
                key.unwrap_or_else(|| format!("sync_run:{id}")),
            )],
        )
        .await?;
        Ok(id)
    })
    .await
}

/// A sync run as ops see it.
#[derive(Debug, Clone, PartialEq, Serialize, diesel::QueryableByName)]
pub struct RunView {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub provider: String,
    #[diesel(sql_type = Text)]
    pub entity: String,
    #[diesel(sql_type = Text)]
    pub mode: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Nullable<diesel::sql_types::Timestamptz>)]
    pub started_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Timestamptz>)]
    pub finished_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<diesel::sql_types::BigInt>)]
    pub estimate: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub fetched: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub unchanged: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub loaded: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub quarantined: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub deleted: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub conflicts: i64,
    /// Records loaded with warnings.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub warned: i64,
    /// Warned records per code.
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub warnings: serde_json::Value,
    /// Quarantined records per reason code.
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub quarantine_reasons: serde_json::Value,
    /// Microseconds per stage of the last attempt.
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub timings: serde_json::Value,
    #[diesel(sql_type = Nullable<Text>)]
    pub error: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub created_at: DateTime<Utc>,
}

const RUN_COLUMNS: &str = "id, provider, entity, mode, status, started_at, finished_at, estimate, \
    fetched, unchanged, loaded, quarantined, deleted, conflicts, warned, warnings, quarantine_reasons, \
    timings, error, created_at";

/// The most recent runs, newest first.
pub async fn recent(
    conn: &mut AsyncPgConnection,
    limit: i64,
) -> Result<Vec<RunView>, WorkflowError> {
    Ok(sql::query(format!(
        "SELECT {RUN_COLUMNS} FROM sync_runs ORDER BY created_at DESC, id DESC LIMIT $1"
    ))
    .bind(Bind::BigInt(limit))
    .load(conn)
    .await?)
}

pub async fn get(conn: &mut AsyncPgConnection, id: Uuid) -> Result<RunView, WorkflowError> {
    sql::query(format!("SELECT {RUN_COLUMNS} FROM sync_runs WHERE id = $1"))
        .bind(Bind::Uuid(id))
        .get_result(conn)
        .await
        .map_err(crate::error::not_found)
}

/// Per zone: how many rows, and when the newest arrived.
#[derive(Debug, Clone, PartialEq, Serialize, diesel::QueryableByName)]
pub struct ZoneHealth {
    #[diesel(sql_type = Text)]
    pub zone: String,
    #[diesel(sql_type = Text)]
    pub table: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub rows: i64,
    #[diesel(sql_type = Nullable<diesel::sql_types::Timestamptz>)]
    pub newest: Option<DateTime<Utc>>,
}

pub async fn lake_health(conn: &mut AsyncPgConnection) -> Result<Vec<ZoneHealth>, WorkflowError> {
    let mut parts = vec![
        "SELECT 'raw' AS zone, 'raw_records' AS \"table\", count(*) AS rows, max(fetched_at) AS newest FROM raw_records".to_owned(),
        "SELECT 'quarantine', 'quarantine', count(*), max(created_at) FROM quarantine".to_owned(),
    ];
    for e in Entity::ALL {
        parts.push(format!(
            "SELECT 'canonical', '{t}', count(*) FILTER (WHERE deleted_at IS NULL), max(last_synced_at) FROM {t}",
            t = e.table()
        ));
    }
    parts.push(
        "SELECT 'serving', 'serving_pipeline', count(*), max(refreshed_at) FROM serving_pipeline"
            .to_owned(),
    );
    parts.push("SELECT 'serving', 'serving_won_revenue', count(*), max(refreshed_at) FROM serving_won_revenue".to_owned());
    Ok(sql::query(parts.join(" UNION ALL ")).load(conn).await?)
}
