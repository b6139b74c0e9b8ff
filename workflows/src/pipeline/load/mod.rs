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

mod columns;
mod conflicts;
mod rows;
mod writes;

pub use columns::*;
pub use conflicts::*;
pub use rows::*;
pub use writes::*;

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
