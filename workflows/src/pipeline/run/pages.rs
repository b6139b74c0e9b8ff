//! A page's way through the run: read from the source, staged (mapper, validator,
//! normalizer) off the async threads, loaded on one of two lanes in page order, and its
//! progress saved with it.

use super::*;

/// Bad credentials or an Odoo-side error will not pass by retrying; an unreachable
/// source may.
pub(super) fn connector_error(e: OdooError) -> WorkflowError {
    match e {
        OdooError::Unavailable { .. } => WorkflowError::Upstream(format!("connector: {e}")),
        _ => WorkflowError::Invalid(format!("connector: {e}")),
    }
}

/// Where a run reads its records: Odoo, or the raw zone (a replay: on a connection of
/// its own, opened once the run starts).
pub(super) enum Source<'a> {
    Odoo(&'a mut OdooClient),
    Raw(Option<Box<diesel_async::pooled_connection::deadpool::Object<AsyncPgConnection>>>),
}

/// A page after the stages that need no database.
pub(super) enum Staged {
    /// Mapped only, record by record: the page refers to other records, so the loader
    /// validates it (referential rules read the database) and normalizes it.
    Mapped(Vec<Result<crate::pipeline::Mapped, Rejected>>),
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
pub(super) struct Page {
    pub(super) raws: Vec<RawRecord>,
    pub(super) staged: Staged,
    /// Whether the page may load only once the page before it committed: its
    /// references are validated against what that page loaded, or it holds a record
    /// that page holds too (edited in the source between the two fetches).
    pub(super) after_previous: bool,
    pub(super) next: Keyset,
    pub(super) times: StageTimes,
    /// A replayed page's raw record ids, by external id (empty when read from Odoo).
    pub(super) raw_ids: HashMap<String, i64>,
}

/// Reads the page after `after` and runs the pure stages on it; `None` past the end.
pub(super) async fn read_page(
    source: &mut Source<'_>,
    model: &'static str,
    mapper: OdooMapper,
    after: Keyset,
    page_size: usize,
    defer: bool,
) -> Result<Option<Page>, WorkflowError> {
    let t = std::time::Instant::now();
    let (records, next, raw_ids) = match source {
        Source::Odoo(client) => {
            let fields = mapper.fields();
            let records = client
                .page(model, &fields, after, page_size)
                .await
                .map_err(connector_error)?;
            let Some(last) = records.last() else {
                return Ok(None);
            };
            let next = Keyset {
                write_date: Some(last.write_date),
                id: last.id,
            };
            let records: Vec<(String, Box<serde_json::value::RawValue>)> = records
                .into_iter()
                .map(|r| (r.id.to_string(), r.raw))
                .collect();
            (records, next, HashMap::new())
        }
        Source::Raw(conn) => {
            let conn = conn.as_deref_mut().map(|c| &mut **c).ok_or_else(|| {
                WorkflowError::Internal("replay: the raw zone reader has no connection".into())
            })?;
            let rows = raw_page(conn, model, after.id, page_size).await?;
            let Some(last) = rows.last() else {
                return Ok(None);
            };
            let next = Keyset {
                write_date: None,
                id: last.id,
            };
            let mut raw_ids = HashMap::with_capacity(rows.len());
            let mut records = Vec::with_capacity(rows.len());
            for r in rows {
                raw_ids.insert(r.external_id.clone(), r.id);
                let body = serde_json::value::RawValue::from_string(r.body)?;
                records.push((r.external_id, body));
            }
            (records, next, raw_ids)
        }
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
            .map(|(id, raw)| RawRecord::new(PROVIDER, model, id, raw))
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
        raw_ids,
    }))
}

/// A staging thread that panicked or was cancelled.
pub(super) fn staging_failed(e: tokio::task::JoinError) -> WorkflowError {
    WorkflowError::internal("staging a page failed", e)
}

/// Maps a page and, when it refers to no other record, validates and normalizes it and
/// lays its canonical rows out as the loader binds them.
pub(super) fn stage(mapper: &OdooMapper, raws: &[RawRecord]) -> (Staged, StageTimes) {
    let mut times = StageTimes::default();
    let t = std::time::Instant::now();
    let mapped: Vec<Result<crate::pipeline::Mapped, Rejected>> =
        raws.iter().map(|r| mapper.map(r)).collect();
    times.mapper_us = micros(t);
    if mapped.iter().flatten().any(|m| !refs_of(m).is_empty()) {
        return (Staged::Mapped(mapped), times);
    }
    // No reference: the validator never asks the database.
    let t = std::time::Instant::now();
    let policy = mapper.policy();
    let validated: Vec<Result<crate::pipeline::Validated, Rejected>> = mapped
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
pub(super) fn split(
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

pub(super) fn refs_of(m: &crate::pipeline::Mapped) -> Vec<String> {
    m.fields
        .values()
        .filter_map(|f| match f {
            crate::pipeline::Field::Ref(id) => Some(id.clone()),
            _ => None,
        })
        .collect()
}

/// What every page of a run is loaded for.
#[derive(Debug, Clone)]
pub(super) struct PageJob {
    pub(super) run_id: Uuid,
    pub(super) model: &'static str,
    pub(super) policy: ConflictPolicy,
    pub(super) full: bool,
    /// A replay: records come from the raw zone (written as they are), every one is
    /// mapped again, and the model's checkpoint is left alone.
    pub(super) replay: bool,
    /// The stages' policy (for pages validated at load time).
    pub(super) mapper: OdooMapper,
    /// Whether records of the model may be waiting in quarantine (then a page releases
    /// those it loads).
    pub(super) open_quarantine: Arc<AtomicBool>,
    /// Whether the last page loaded found most of its records unchanged.
    pub(super) mostly_unchanged: Arc<AtomicBool>,
}

/// A page handed to a lane, with the signal of the page before it (none for the first)
/// and its own, sent once it committed (dropped unsent if it failed).
pub(super) struct Turn {
    pub(super) page: Page,
    pub(super) previous: Option<oneshot::Receiver<()>>,
    pub(super) done: oneshot::Sender<()>,
}

/// The error of a page that stopped because another part of the run failed first.
pub(super) fn aborted() -> WorkflowError {
    WorkflowError::Conflict {
        code: "sync_page_aborted",
        message: "an earlier page of the run failed".to_owned(),
    }
}

/// Waits until the page before committed; an error when it failed.
pub(super) async fn committed(
    previous: Option<oneshot::Receiver<()>>,
) -> Result<(), WorkflowError> {
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
pub(super) async fn load_pages(
    lanes: Vec<&mut AsyncPgConnection>,
    source: &mut Source<'_>,
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
                read_page(source, model, mapper.clone(), after, page_size, defer).await?
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
pub(super) async fn load_page(
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
        replay,
        ..
    } = *job;
    let stages = job.mapper.policy();
    let Page {
        raws,
        staged,
        after_previous,
        next,
        raw_ids,
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
            let raw_changes = if replay {
                // Every record is mapped again and written over its canonical row.
                load::RawChanges {
                    changed: raw_ids,
                    inserted: Default::default(),
                }
            } else {
                load::upsert_raw(conn, run_id, &raws).await?
            };
            let changed = |i: usize| raw_changes.changed.contains_key(&raws[i].external_id);
            let (rows, refused) = match staged {
                Staged::Ready { rows, refused } => (rows, refused),
                Staged::Deferred => (Vec::new(), Vec::new()),
                Staged::Mapped(mapped) => {
                    // Only what changed goes further: the rest is not validated again.
                    let t = std::time::Instant::now();
                    let pending: Vec<(usize, Result<crate::pipeline::Mapped, Rejected>)> = mapped
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
                let how = if replay {
                    load::Write::Replay
                } else {
                    load::Write::Upsert
                };
                loaded += load::write_canonical(conn, PROVIDER, kept.apply, how).await?;
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
            save_progress(conn, run_id, (!replay).then_some(model), &counts, next).await?;
            Ok(counts)
        })
        .await?;
    let total = micros(started);
    times.validator_us += txn_validator_us;
    times.normalizer_us += txn_normalizer_us;
    times.loader_us = total.saturating_sub(staging_us + txn_validator_us + txn_normalizer_us);
    job.mostly_unchanged.store(
        !replay && counts.unchanged * 2 > counts.fetched,
        Ordering::Release,
    );
    Ok((counts, times))
}

/// The run's counts and cursor, and the model's watermark (which only moves forward;
/// none for a replay), in the page's transaction.
pub(super) async fn save_progress(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    model: Option<&str>,
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
    let Some(model) = model else {
        return Ok(());
    };
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
