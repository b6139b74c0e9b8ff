//! What organisation and user lists share: the scope as SQL bind values, sorting, and
//! the keyset condition for the cursor. SQL text is assembled from static fragments
//! only; every value is a bind parameter.

use std::str::FromStr;

use crate::WorkflowError;
use crate::error::FieldErrors;
use crate::identity::RowScope;
use crate::pagination::Cursor;
use uuid::Uuid;

/// `(kind, id)` for `$1` / `$2` of a scoped query.
pub fn scope_binds(scope: RowScope) -> (&'static str, Option<Uuid>) {
    match scope {
        RowScope::All => ("all", None),
        RowScope::DistributorAndAttached(d) => ("attached", Some(d)),
        RowScope::Distributor(d) => ("distributor", Some(d)),
        RowScope::Partner(p) => ("partner", Some(p)),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    /// A column expression from a fixed list (never user text).
    pub column: &'static str,
    /// How the cursor's text key is cast back (`text`, `timestamptz`).
    pub cast: &'static str,
    pub descending: bool,
}

impl Sort {
    /// Parses `field` or `-field` against the allowed `(name, column, cast)` list.
    pub fn parse(
        raw: Option<&str>,
        allowed: &[(&str, &'static str, &'static str)],
    ) -> Result<Sort, WorkflowError> {
        let raw = raw.unwrap_or(allowed[0].0);
        let (descending, name) = match raw.strip_prefix('-') {
            Some(n) => (true, n),
            None => (false, raw),
        };
        allowed
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, column, cast)| Sort {
                column,
                cast,
                descending,
            })
            .ok_or_else(|| FieldErrors::single("sort", "unknown_sort"))
    }

    /// The cursor of a row: its `created_at` when sorting by it, else `text_key` (the
    /// value of the sort column as the SQL compares it).
    pub fn cursor(
        &self,
        created_at: chrono::DateTime<chrono::Utc>,
        text_key: String,
        id: Uuid,
    ) -> Cursor {
        let k = if self.column == "created_at" {
            created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        } else {
            text_key
        };
        Cursor { k, id }
    }

    pub fn order_by(&self) -> String {
        let dir = if self.descending { "DESC" } else { "ASC" };
        format!("ORDER BY {c} {dir}, id {dir}", c = self.column)
    }

    /// The keyset condition on binds `$k` (key) and `$k+1` (id); true when no cursor.
    pub fn after(&self, k: usize) -> String {
        let op = if self.descending { "<" } else { ">" };
        format!(
            "(${k}::text IS NULL OR ({c}, id) {op} (${k}::{cast}, ${n}::uuid))",
            c = self.column,
            cast = self.cast,
            n = k + 1
        )
    }
}

/// `%term%` for ILIKE, with the pattern characters escaped.
pub fn like_pattern(q: &str) -> String {
    let escaped = q
        .trim()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

pub fn cursor_binds(cursor: Option<&Cursor>) -> (Option<String>, Option<Uuid>) {
    cursor.map_or((None, None), |c| (Some(c.k.clone()), Some(c.id)))
}

/// Parses a query-string value, reporting a field error on failure.
pub fn parse_field<T: FromStr>(
    field: &str,
    raw: Option<&str>,
    code: &'static str,
) -> Result<Option<T>, WorkflowError> {
    raw.map(|v| v.parse::<T>().map_err(|_| FieldErrors::single(field, code)))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_parses_known_fields_only() {
        let allowed = [
            ("name", "lower(name)", "text"),
            ("created_at", "created_at", "timestamptz"),
        ];
        let s = Sort::parse(Some("-created_at"), &allowed).unwrap_or_else(|e| panic!("{e}"));
        assert!(s.descending && s.column == "created_at");
        assert!(Sort::parse(Some("password_hash"), &allowed).is_err());
        assert_eq!(
            Sort::parse(None, &allowed).map(|s| s.column).ok(),
            Some("lower(name)")
        );
        assert!(s.after(5).contains("$5::timestamptz, $6::uuid") && s.after(5).contains('<'));
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern(" 50%_off "), "%50\\%\\_off%");
    }
}
