//! The loader: one transaction per page. Raw records are upserted keyed by
//! (provider, entity, external id) and kept byte-exact; an unchanged hash skips the
//! canonical write; canonical rows of records seen for the first time are inserted, the
//! others upserted, one statement each (`unnest` of one array per column), each with its
//! raw record's id (lineage), its warnings (`issues`) and, for a record the source
//! archived, its soft delete; quarantined records are stored with their reasons, one
//! open row per record; the run's counts and the checkpoint move in the same
//! transaction, so a page is loaded entirely or not at all and a killed run resumes
//! after the last page that committed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Entity, Field, Normalized, RawRecord, Rejected};
use crate::WorkflowError;
use crate::sql::{self, Bind};

/// The canonical columns of each entity, in the order of the migration (common columns
/// excepted). A `Ref` field `x` is stored in `x_external_id`.
pub fn columns(entity: Entity) -> &'static [&'static str] {
    match entity {
        Entity::Organization => &[
            "name",
            "legal_name",
            "vat_number",
            "email",
            "phone",
            "website",
            "street",
            "street2",
            "city",
            "postal_code",
            "state",
            "country_code",
            "industry",
            "is_customer",
            "is_supplier",
            "created_at",
            "updated_at",
        ],
        Entity::Contact => &[
            "name",
            "first_name",
            "last_name",
            "email",
            "phone",
            "mobile",
            "job_title",
            "organization",
            "country_code",
            "created_at",
            "updated_at",
        ],
        Entity::Lead => &[
            "title",
            "organization",
            "contact_name",
            "contact_email",
            "contact_phone",
            "value",
            "currency",
            "status",
            "probability",
            "expected_close_date",
            "owner",
            "owner_external_id",
            "source",
            "lost_reason",
            "stage",
            "closed_at",
            "created_at",
            "updated_at",
        ],
        Entity::Order => &[
            "reference",
            "customer",
            "status",
            "order_date",
            "currency",
            "amount_untaxed",
            "amount_tax",
            "amount_total",
            "owner",
            "owner_external_id",
            "created_at",
            "updated_at",
        ],
        Entity::Product => &[
            "name",
            "sku",
            "barcode",
            "unit",
            "list_price",
            "cost_price",
            "product_type",
            "active",
            "description",
            "created_at",
            "updated_at",
        ],
        Entity::Invoice => &[
            "number",
            "customer",
            "status",
            "issue_date",
            "due_date",
            "currency",
            "amount_untaxed",
            "amount_tax",
            "amount_total",
            "amount_due",
            "paid_at",
        ],
    }
}

/// The SQL column of a canonical field.
pub fn column(entity: Entity, field: &str) -> String {
    match (entity, field) {
        (Entity::Contact, "organization") | (_, "customer") => format!("{field}_external_id"),
        _ => field.to_owned(),
    }
}

/// The SQL type of a canonical column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Bool,
    Decimal,
    Date,
    Time,
}

impl Kind {
    fn of(field: &str) -> Kind {
        match field {
            "is_customer" | "is_supplier" | "active" => Kind::Bool,
            "value" | "probability" | "amount_untaxed" | "amount_tax" | "amount_total"
            | "amount_due" | "list_price" | "cost_price" => Kind::Decimal,
            "expected_close_date" | "issue_date" | "due_date" => Kind::Date,
            "created_at" | "updated_at" | "order_date" | "paid_at" | "closed_at" => Kind::Time,
            _ => Kind::Text,
        }
    }

    fn sql(self) -> &'static str {
        match self {
            Kind::Text => "text[]",
            Kind::Bool => "boolean[]",
            Kind::Decimal => "numeric[]",
            Kind::Date => "date[]",
            Kind::Time => "timestamptz[]",
        }
    }
}

/// A canonical row of `entity` (aliased `t`) as JSON for readers: the table's columns
/// without the hash, money and other decimals as strings (exact, never a float).
pub fn row_json(entity: Entity) -> String {
    let decimals: Vec<String> = columns(entity)
        .iter()
        .filter(|c| Kind::of(c) == Kind::Decimal)
        .map(|c| format!("'{c}', t.{c}::text"))
        .collect();
    format!(
        "(to_jsonb(t) - 'content_hash' || jsonb_build_object({}))",
        decimals.join(", ")
    )
}

/// One column's values for a batch of records, as the array `unnest` reads.
#[derive(Debug, Clone, PartialEq)]
enum Column {
    Texts(Vec<Option<String>>),
    Bools(Vec<bool>),
    Decimals(Vec<Option<rust_decimal::Decimal>>),
    Dates(Vec<Option<chrono::NaiveDate>>),
    Times(Vec<Option<chrono::DateTime<chrono::Utc>>>),
}

impl Column {
    /// The column's values, moved out of the records' fields.
    fn take(field: &str, values: impl Iterator<Item = Field>) -> Column {
        match Kind::of(field) {
            // An absent flag is false, as in the source.
            Kind::Bool => Column::Bools(values.map(|v| matches!(v, Field::Bool(true))).collect()),
            Kind::Decimal => Column::Decimals(
                values
                    .map(|v| match v {
                        Field::Decimal(d) => Some(d),
                        Field::Int(i) => Some(rust_decimal::Decimal::from(i)),
                        _ => None,
                    })
                    .collect(),
            ),
            Kind::Date => Column::Dates(
                values
                    .map(|v| match v {
                        Field::Date(d) => Some(d),
                        _ => None,
                    })
                    .collect(),
            ),
            Kind::Time => Column::Times(
                values
                    .map(|v| match v {
                        Field::Time(t) => Some(t),
                        _ => None,
                    })
                    .collect(),
            ),
            Kind::Text => Column::Texts(
                values
                    .map(|v| match v {
                        Field::Text(t) | Field::Ref(t) => Some(t),
                        Field::Int(i) => Some(i.to_string()),
                        _ => None,
                    })
                    .collect(),
            ),
        }
    }

    fn select(&self, keep: &[usize]) -> Column {
        fn pick<T: Clone>(v: &[T], keep: &[usize]) -> Vec<T> {
            keep.iter().map(|&i| v[i].clone()).collect()
        }
        match self {
            Column::Texts(v) => Column::Texts(pick(v, keep)),
            Column::Bools(v) => Column::Bools(pick(v, keep)),
            Column::Decimals(v) => Column::Decimals(pick(v, keep)),
            Column::Dates(v) => Column::Dates(pick(v, keep)),
            Column::Times(v) => Column::Times(pick(v, keep)),
        }
    }

    /// Row `i`'s value in JSON, as `jsonb_populate_record` reads it (money as a string).
    fn json(&self, i: usize) -> serde_json::Value {
        use serde_json::Value;
        let json = |v: Option<String>| v.map_or(Value::Null, Value::String);
        match self {
            Column::Texts(v) => json(v[i].clone()),
            Column::Bools(v) => Value::Bool(v[i]),
            Column::Decimals(v) => json(v[i].map(|d| d.to_string())),
            Column::Dates(v) => json(v[i].map(|d| d.to_string())),
            Column::Times(v) => json(v[i].map(|t| t.to_rfc3339())),
        }
    }

    fn into_bind(self) -> Bind {
        match self {
            Column::Texts(v) => Bind::OptTexts(v),
            Column::Bools(v) => Bind::Bools(v),
            Column::Decimals(v) => Bind::OptDecimals(v),
            Column::Dates(v) => Bind::OptDates(v),
            Column::Times(v) => Bind::OptTimes(v),
        }
    }
}

/// Canonical rows of one entity, one array per column — what the loader binds. Built
/// by moving the normalized records' values (no copy), on the thread that staged them,
/// so the loader only sends them.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    pub entity: Entity,
    pub external_ids: Vec<String>,
    hashes: Vec<Vec<u8>>,
    /// The raw record each row comes from (set once the raw write tells).
    raw_ids: Vec<Option<i64>>,
    /// Archived in the source: written soft-deleted.
    deleted: Vec<bool>,
    /// The warnings of each row as JSON text (`None`: none).
    issues: Vec<Option<String>>,
    /// The codes of each row's warnings, once each (for the run's counts).
    codes: Vec<Vec<&'static str>>,
    /// In the order of [`columns`].
    columns: Vec<Column>,
}

impl Rows {
    /// The records of each entity, in the order of [`Entity::ALL`] (none left empty).
    pub fn by_entity(records: Vec<Normalized>) -> Vec<Rows> {
        let mut groups: BTreeMap<Entity, Vec<Normalized>> = BTreeMap::new();
        for n in records {
            groups.entry(n.entity).or_default().push(n);
        }
        groups
            .into_iter()
            .map(|(entity, records)| Rows::new(entity, records))
            .collect()
    }

    /// Rows of `entity` (every record must be of that entity).
    pub fn new(entity: Entity, mut records: Vec<Normalized>) -> Rows {
        debug_assert!(records.iter().all(|n| n.entity == entity));
        let columns = columns(entity)
            .iter()
            .map(|c| {
                Column::take(
                    c,
                    records
                        .iter_mut()
                        .map(|n| n.fields.remove(c).unwrap_or(Field::Null)),
                )
            })
            .collect();
        let n = records.len();
        let (mut external_ids, mut hashes, mut deleted, mut issues, mut codes) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for r in records {
            external_ids.push(r.external_id);
            hashes.push(r.hash.to_vec());
            deleted.push(r.deleted);
            let mut c: Vec<&'static str> = r.issues.iter().map(|i| i.code).collect();
            c.sort_unstable();
            c.dedup();
            codes.push(c);
            issues.push(
                (!r.issues.is_empty())
                    .then(|| serde_json::to_string(&r.issues).unwrap_or_else(|_| "[]".to_owned())),
            );
        }
        Rows {
            entity,
            external_ids,
            hashes,
            raw_ids: vec![None; n],
            deleted,
            issues,
            codes,
            columns,
        }
    }

    /// Sets each row's raw record id from `raw_ids` (external id → raw id).
    pub fn set_raw_ids(&mut self, raw_ids: &HashMap<String, i64>) {
        for (slot, id) in self.raw_ids.iter_mut().zip(&self.external_ids) {
            *slot = raw_ids.get(id).copied();
        }
    }

    /// Rows loaded with warnings, and their count per code.
    pub fn warnings(&self) -> BTreeMap<String, i64> {
        let mut out: BTreeMap<String, i64> = BTreeMap::new();
        for code in self.codes.iter().flatten() {
            *out.entry((*code).to_owned()).or_default() += 1;
        }
        out
    }

    /// How many rows carry warnings.
    pub fn warned(&self) -> i64 {
        self.issues.iter().flatten().count() as i64
    }

    pub fn len(&self) -> usize {
        self.external_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.external_ids.is_empty()
    }

    /// The rows at the positions `keep`, in that order.
    fn select(&self, keep: &[usize]) -> Rows {
        Rows {
            entity: self.entity,
            external_ids: keep.iter().map(|&i| self.external_ids[i].clone()).collect(),
            hashes: keep.iter().map(|&i| self.hashes[i].clone()).collect(),
            raw_ids: keep.iter().map(|&i| self.raw_ids[i]).collect(),
            deleted: keep.iter().map(|&i| self.deleted[i]).collect(),
            issues: keep.iter().map(|&i| self.issues[i].clone()).collect(),
            codes: keep.iter().map(|&i| self.codes[i].clone()).collect(),
            columns: self.columns.iter().map(|c| c.select(keep)).collect(),
        }
    }

    /// The rows at the positions `keep` (ascending): these rows themselves when that is
    /// all of them, a copy of those positions otherwise.
    fn keep(self, keep: &[usize]) -> Rows {
        if keep.len() == self.len() {
            self
        } else {
            self.select(keep)
        }
    }

    /// Row `i` in JSON with the table's column names, as stored in
    /// `sync_conflicts.remote` and applied by `jsonb_populate_record` when resolved.
    pub fn json(&self, i: usize) -> serde_json::Value {
        let mut row: serde_json::Map<String, serde_json::Value> = columns(self.entity)
            .iter()
            .zip(&self.columns)
            .map(|(c, values)| (column(self.entity, c), values.json(i)))
            .collect();
        let hex = self.hashes[i].iter().fold(String::from("\\x"), |mut h, b| {
            let _ = write!(h, "{b:02x}");
            h
        });
        row.insert("content_hash".into(), serde_json::Value::String(hex));
        serde_json::Value::Object(row)
    }
}

/// What loading one page did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageCounts {
    pub fetched: i64,
    pub unchanged: i64,
    pub loaded: i64,
    pub quarantined: i64,
    pub conflicts: i64,
    /// Records loaded with warnings, and per code.
    pub warned: i64,
    pub warnings: BTreeMap<String, i64>,
    /// Quarantined records per reason code.
    pub reasons: BTreeMap<String, i64>,
}

/// Adds `more` to the counts per code in `to`.
pub fn add_counts(to: &mut BTreeMap<String, i64>, more: &BTreeMap<String, i64>) {
    for (k, v) in more {
        *to.entry(k.clone()).or_default() += v;
    }
}

/// What the loader does with a record changed in the source while its canonical row
/// carries a local edit not yet overwritten (`local_modified_at` set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictPolicy {
    /// The source's version replaces the local edit.
    #[default]
    SourceWins,
    /// The local edit stays; later source changes keep conflicting until it is dropped.
    LocalWins,
    /// The local edit stays and the conflict waits, pending, for someone to decide.
    Manual,
}

impl ConflictPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictPolicy::SourceWins => "source_wins",
            ConflictPolicy::LocalWins => "local_wins",
            ConflictPolicy::Manual => "manual",
        }
    }
    pub fn parse(s: &str) -> Option<ConflictPolicy> {
        [
            ConflictPolicy::SourceWins,
            ConflictPolicy::LocalWins,
            ConflictPolicy::Manual,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
    fn resolution(self) -> &'static str {
        match self {
            ConflictPolicy::SourceWins => "source_applied",
            ConflictPolicy::LocalWins => "local_kept",
            ConflictPolicy::Manual => "pending",
        }
    }
}

/// A batch after conflict resolution: the rows to write, and how many conflicted.
pub struct Resolved {
    pub apply: Rows,
    pub conflicts: i64,
}

#[derive(diesel::QueryableByName)]
struct LocalRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    external_id: String,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    local: serde_json::Value,
}

/// Finds the rows of a batch whose canonical row was edited locally, records each
/// conflict in `sync_conflicts` by the policy, and returns what to write: everything
/// under `source_wins`, the rows without a local edit otherwise (a full run knows the
/// kept ones were seen from its key set).
pub async fn resolve_conflicts(
    conn: &mut AsyncPgConnection,
    run_id: Option<Uuid>,
    provider: &str,
    batch: Rows,
    policy: ConflictPolicy,
) -> Result<Resolved, WorkflowError> {
    let entity = batch.entity;
    let edited: Vec<LocalRow> = sql::query(format!(
        "SELECT external_id, {} AS local FROM {} t \
         WHERE provider = $1 AND external_id = ANY($2) AND local_modified_at IS NOT NULL",
        row_json(entity),
        entity.table()
    ))
    .bind(Bind::Text(provider.to_owned()))
    .bind(Bind::Texts(batch.external_ids.clone()))
    .load(conn)
    .await?;
    if edited.is_empty() {
        return Ok(Resolved {
            apply: batch,
            conflicts: 0,
        });
    }
    let local: std::collections::HashMap<String, serde_json::Value> = edited
        .into_iter()
        .map(|r| (r.external_id, r.local))
        .collect();
    let mut apply = Vec::with_capacity(batch.len());
    for (i, id) in batch.external_ids.iter().enumerate() {
        let Some(l) = local.get(id) else {
            apply.push(i);
            continue;
        };
        sql::query(
            "INSERT INTO sync_conflicts \
                 (sync_run_id, provider, entity, external_id, policy, local, remote, resolution, resolved_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $8 = 'pending' THEN NULL ELSE now() END) \
             ON CONFLICT (provider, entity, external_id) WHERE resolution = 'pending' \
             DO UPDATE SET sync_run_id = EXCLUDED.sync_run_id, local = EXCLUDED.local, \
                 remote = EXCLUDED.remote, created_at = now()",
        )
        .bind(Bind::OptUuid(run_id))
        .bind(Bind::Text(provider.to_owned()))
        .bind(Bind::Text(entity.as_str().to_owned()))
        .bind(Bind::Text(id.clone()))
        .bind(Bind::Text(policy.as_str().to_owned()))
        .bind(Bind::Json(l.clone()))
        .bind(Bind::Json(batch.json(i)))
        .bind(Bind::Text(policy.resolution().to_owned()))
        .execute(conn)
        .await?;
        if policy == ConflictPolicy::SourceWins {
            apply.push(i);
        }
    }
    Ok(Resolved {
        apply: batch.select(&apply),
        conflicts: local.len() as i64,
    })
}

#[derive(diesel::QueryableByName)]
struct Written {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    external_id: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    inserted: bool,
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
        .map(|(i, c)| format!("${}::{}", i + 7, Kind::of(c).sql()))
        .collect();
    let values: Vec<String> = sql_cols.iter().map(|c| format!("u.{c}")).collect();
    let on_conflict = match how {
        Write::Insert => String::new(),
        Write::Upsert => {
            let updates: Vec<String> = sql_cols
                .iter()
                .map(|c| format!("{c} = EXCLUDED.{c}"))
                .collect();
            format!(
                " ON CONFLICT (provider, external_id) DO UPDATE SET {}, \
                 content_hash = EXCLUDED.content_hash, raw_record_id = EXCLUDED.raw_record_id, \
                 issues = EXCLUDED.issues, last_synced_at = now(), \
                 deleted_at = CASE WHEN EXCLUDED.deleted_at IS NULL THEN NULL \
                     ELSE COALESCE({table}.deleted_at, EXCLUDED.deleted_at) END, \
                 local_modified_at = NULL",
                updates.join(", ")
            )
        }
    };
    let mut q = sql::query(format!(
        "INSERT INTO {table} (provider, external_id, content_hash, raw_record_id, deleted_at, issues, {cols}) \
         SELECT $1, u.external_id, u.content_hash, u.raw_record_id, \
                CASE WHEN u.deleted THEN now() END, u.issues::jsonb, {values} \
         FROM unnest($2::text[], $3::bytea[], $4::bigint[], $5::boolean[], $6::text[], {arrays}) \
              AS u (external_id, content_hash, raw_record_id, deleted, issues, {cols}){on_conflict}",
        cols = sql_cols.join(", "),
        values = values.join(", "),
        arrays = arrays.join(", "),
    ))
    .bind(Bind::Text(provider.to_owned()))
    .bind(Bind::Texts(rows.external_ids))
    .bind(Bind::Byteas(rows.hashes))
    .bind(Bind::OptBigInts(rows.raw_ids))
    .bind(Bind::Bools(rows.deleted))
    .bind(Bind::OptTexts(rows.issues));
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
