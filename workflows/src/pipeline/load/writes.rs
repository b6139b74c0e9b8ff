//! A page's writes: the raw zone's upsert, the canonical rows, the quarantine and its
//! release.

use super::*;

#[derive(diesel::QueryableByName)]
pub(super) struct Written {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub(super) id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub(super) external_id: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub(super) inserted: bool,
}

/// What a page's raw write changed: the external ids whose content is new or different
/// (with their raw record's id), and among them those seen for the first time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawChanges {
    pub changed: HashMap<String, i64>,
    pub inserted: HashSet<String>,
}

impl RawChanges {
    /// Splits canonical rows by what the raw write found: those of new keys (a plain
    /// insert), those of changed keys (conflict check, then an upsert); the rows of
    /// unchanged keys are left out.
    pub fn split(&self, rows: Rows) -> (Rows, Rows) {
        let (mut fresh, mut known) = (Vec::new(), Vec::new());
        for (i, id) in rows.external_ids.iter().enumerate() {
            if self.inserted.contains(id) {
                fresh.push(i);
            } else if self.changed.contains_key(id) {
                known.push(i);
            }
        }
        let known = rows.select(&known);
        (rows.keep(&fresh), known)
    }
}

/// Writes the raw records of a page in one statement (`unnest` of one array per
/// column: one bind each, however many records); returns which records changed (new,
/// or a different hash) and which were new.
pub async fn upsert_raw(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    records: &[RawRecord],
) -> Result<RawChanges, WorkflowError> {
    let Some(first) = records.first() else {
        return Ok(RawChanges::default());
    };
    // `xmax = 0`: the row version was inserted by this statement, not updated.
    let written: Vec<Written> = sql::query(
        "INSERT INTO raw_records (provider, entity, external_id, sync_run_id, content_hash, body) \
         SELECT $1, $2, u.external_id, $3, u.content_hash, u.body::json \
         FROM unnest($4::text[], $5::bytea[], $6::text[]) AS u (external_id, content_hash, body) \
         ON CONFLICT (provider, entity, external_id) DO UPDATE SET \
             sync_run_id = EXCLUDED.sync_run_id, fetched_at = now(), \
             content_hash = EXCLUDED.content_hash, body = EXCLUDED.body \
         WHERE raw_records.content_hash <> EXCLUDED.content_hash \
         RETURNING id, external_id, (xmax = 0) AS inserted",
    )
    .bind(Bind::Text(first.provider.clone()))
    .bind(Bind::Text(first.source.clone()))
    .bind(Bind::Uuid(run_id))
    .bind(Bind::Texts(
        records.iter().map(|r| r.external_id.clone()).collect(),
    ))
    .bind(Bind::Byteas(
        records.iter().map(|r| r.hash.to_vec()).collect(),
    ))
    .bind(Bind::Texts(
        records.iter().map(|r| r.body.get().to_owned()).collect(),
    ))
    .load(conn)
    .await?;
    let mut changes = RawChanges::default();
    for w in written {
        if w.inserted {
            changes.inserted.insert(w.external_id.clone());
        }
        changes.changed.insert(w.external_id, w.id);
    }
    Ok(changes)
}

/// How canonical rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// Records whose raw row this page inserted: no canonical row can exist yet (every
    /// canonical row comes from a raw one), so a plain `INSERT` — which Postgres runs
    /// without the speculative insertion of `ON CONFLICT`. A row there anyway is a
    /// unique violation: the page fails rather than write twice.
    Insert,
    /// Records seen before: an upsert (a row that was soft deleted comes back; a local
    /// edit's mark is cleared).
    Upsert,
    /// A replay from the raw zone: an upsert that never brings back a row a full run
    /// found gone (the raw zone still holds its last body).
    Replay,
}

/// Writes canonical rows of one entity in one statement, one array per column.
pub async fn write_canonical(
    conn: &mut AsyncPgConnection,
    provider: &str,
    rows: Rows,
    how: Write,
) -> Result<usize, WorkflowError> {
    if rows.is_empty() {
        return Ok(0);
    }
    let entity = rows.entity;
    let table = entity.table();
    let cols = columns(entity);
    let sql_cols: Vec<String> = cols.iter().map(|c| column(entity, c)).collect();
    let arrays: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| format!("${}::{}", i + 8, Kind::of(c).sql()))
        .collect();
    let values: Vec<String> = sql_cols.iter().map(|c| format!("u.{c}")).collect();
    let keep_deleted = how == Write::Replay;
    let on_conflict = match how {
        Write::Insert => String::new(),
        Write::Upsert | Write::Replay => {
            let updates: Vec<String> = sql_cols
                .iter()
                .map(|c| format!("{c} = EXCLUDED.{c}"))
                .collect();
            format!(
                " ON CONFLICT (provider, external_id) DO UPDATE SET {}, \
                 content_hash = EXCLUDED.content_hash, raw_record_id = EXCLUDED.raw_record_id, \
                 issues = EXCLUDED.issues, extras = EXCLUDED.extras, last_synced_at = now(), \
                 deleted_at = CASE WHEN EXCLUDED.deleted_at IS NULL THEN {undeleted} \
                     ELSE COALESCE({table}.deleted_at, EXCLUDED.deleted_at) END, \
                 local_modified_at = NULL",
                updates.join(", "),
                undeleted = if keep_deleted {
                    format!("{table}.deleted_at")
                } else {
                    "NULL".to_owned()
                },
            )
        }
    };
    let mut q = sql::query(format!(
        "INSERT INTO {table} (provider, external_id, content_hash, raw_record_id, deleted_at, issues, extras, {cols}) \
         SELECT $1, u.external_id, u.content_hash, u.raw_record_id, \
                CASE WHEN u.deleted THEN now() END, u.issues::jsonb, COALESCE(u.extras::jsonb, '{{}}'::jsonb), {values} \
         FROM unnest($2::text[], $3::bytea[], $4::bigint[], $5::boolean[], $6::text[], $7::text[], {arrays}) \
              AS u (external_id, content_hash, raw_record_id, deleted, issues, extras, {cols}){on_conflict}",
        cols = sql_cols.join(", "),
        values = values.join(", "),
        arrays = arrays.join(", "),
    ))
    .bind(Bind::Text(provider.to_owned()))
    .bind(Bind::Texts(rows.external_ids))
    .bind(Bind::Byteas(rows.hashes))
    .bind(Bind::OptBigInts(rows.raw_ids))
    .bind(Bind::Bools(rows.deleted))
    .bind(Bind::OptTexts(rows.issues))
    .bind(Bind::OptTexts(rows.extras));
    for c in rows.columns {
        q = q.bind(c.into_bind());
    }
    Ok(q.execute(conn).await?)
}

/// Stores refused records with their stage and reasons: one open row per record (a
/// record refused again refreshes it: its run, stage, reasons, body and attempts).
pub async fn quarantine(
    conn: &mut AsyncPgConnection,
    run_id: Option<Uuid>,
    refused: &[(&RawRecord, Rejected)],
) -> Result<(), WorkflowError> {
    for (raw, r) in refused {
        sql::query(
            "INSERT INTO quarantine \
                 (sync_run_id, provider, entity, external_id, stage, reasons, body, canonical_entity) \
             VALUES ($1, $2, $3, $4, $5, $6, $7::text::json, $8) \
             ON CONFLICT (provider, entity, external_id) WHERE resolved_at IS NULL DO UPDATE SET \
                 sync_run_id = COALESCE(EXCLUDED.sync_run_id, quarantine.sync_run_id), \
                 stage = EXCLUDED.stage, reasons = EXCLUDED.reasons, body = EXCLUDED.body, \
                 canonical_entity = EXCLUDED.canonical_entity, attempts = quarantine.attempts + 1, \
                 updated_at = now()",
        )
        .bind(Bind::OptUuid(run_id))
        .bind(Bind::Text(raw.provider.clone()))
        .bind(Bind::Text(raw.source.clone()))
        .bind(Bind::OptText(r.external_id.clone()))
        .bind(Bind::Text(r.stage.to_owned()))
        .bind(Bind::Json(serde_json::to_value(&r.reasons)?))
        .bind(Bind::Text(raw.body.get().to_owned()))
        .bind(Bind::OptText(r.entity.map(|e| e.as_str().to_owned())))
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// Closes the open quarantine rows of records that loaded (`resolution = 'loaded'`).
pub async fn release(
    conn: &mut AsyncPgConnection,
    provider: &str,
    source: &str,
    loaded: &[String],
) -> Result<usize, WorkflowError> {
    if loaded.is_empty() {
        return Ok(0);
    }
    Ok(sql::query(
        "UPDATE quarantine SET resolved_at = now(), resolution = 'loaded', updated_at = now() \
         WHERE provider = $1 AND entity = $2 AND resolved_at IS NULL AND external_id = ANY($3)",
    )
    .bind(Bind::Text(provider.to_owned()))
    .bind(Bind::Text(source.to_owned()))
    .bind(Bind::Texts(loaded.to_vec()))
    .execute(conn)
    .await?)
}

/// Whether `provider`'s `source` has open quarantine rows.
pub async fn has_open_quarantine(
    conn: &mut AsyncPgConnection,
    provider: &str,
    source: &str,
) -> Result<bool, WorkflowError> {
    #[derive(diesel::QueryableByName)]
    struct Flag {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        open: bool,
    }
    let f: Flag = sql::query(
        "SELECT EXISTS (SELECT 1 FROM quarantine WHERE provider = $1 AND entity = $2 \
         AND resolved_at IS NULL) AS open",
    )
    .bind(Bind::Text(provider.to_owned()))
    .bind(Bind::Text(source.to_owned()))
    .get_result(conn)
    .await?;
    Ok(f.open)
}
