//! A page's normalized records as column arrays, bound to one multi-row statement.

use super::*;

/// Canonical rows of one entity, one array per column — what the loader binds. Built
/// by moving the normalized records' values (no copy), on the thread that staged them,
/// so the loader only sends them.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    pub entity: Entity,
    pub external_ids: Vec<String>,
    pub(super) hashes: Vec<Vec<u8>>,
    /// The raw record each row comes from (set once the raw write tells).
    pub(super) raw_ids: Vec<Option<i64>>,
    /// Archived in the source: written soft-deleted.
    pub(super) deleted: Vec<bool>,
    /// The warnings of each row as JSON text (`None`: none).
    pub(super) issues: Vec<Option<String>>,
    /// Each row's extras as a JSON object's text (`None`: none).
    pub(super) extras: Vec<Option<String>>,
    /// The codes of each row's warnings, once each (for the run's counts).
    pub(super) codes: Vec<Vec<&'static str>>,
    /// In the order of [`columns`].
    pub(super) columns: Vec<Column>,
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
        let (mut external_ids, mut hashes, mut deleted, mut issues, mut codes, mut extras) = (
            Vec::with_capacity(n),
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
            extras.push(r.extras);
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
            extras,
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
    pub(super) fn select(&self, keep: &[usize]) -> Rows {
        Rows {
            entity: self.entity,
            external_ids: keep.iter().map(|&i| self.external_ids[i].clone()).collect(),
            hashes: keep.iter().map(|&i| self.hashes[i].clone()).collect(),
            raw_ids: keep.iter().map(|&i| self.raw_ids[i]).collect(),
            deleted: keep.iter().map(|&i| self.deleted[i]).collect(),
            issues: keep.iter().map(|&i| self.issues[i].clone()).collect(),
            extras: keep.iter().map(|&i| self.extras[i].clone()).collect(),
            codes: keep.iter().map(|&i| self.codes[i].clone()).collect(),
            columns: self.columns.iter().map(|c| c.select(keep)).collect(),
        }
    }

    /// The rows at the positions `keep` (ascending): these rows themselves when that is
    /// all of them, a copy of those positions otherwise.
    pub(super) fn keep(self, keep: &[usize]) -> Rows {
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
        row.insert(
            "extras".into(),
            self.extras[i]
                .as_deref()
                .and_then(|e| serde_json::from_str(e).ok())
                .unwrap_or_else(|| serde_json::json!({})),
        );
        serde_json::Value::Object(row)
    }
}
