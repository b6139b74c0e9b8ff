//! Hand-written SQL that Postgres prepares once per connection.
//!
//! `diesel::sql_query` marks its statement unsafe to cache, so every run is parsed,
//! planned and prepared again: an extra round trip and server CPU per statement. The
//! hot paths (a transition, reading a resource) use [`Cached`] instead: the same
//! `$n`-numbered SQL text and bind values, cached by diesel-async's statement cache under
//! its SQL text. Only SQL assembled from fixed fragments may go through it (never user
//! text), which is the rule for every query in this crate anyway.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{
    Array, BigInt, Bool, Bytea, Integer, Jsonb, Nullable, Text, Timestamptz, Untyped,
    Uuid as SqlUuid,
};
use uuid::Uuid;

/// One bind value with its SQL type.
#[derive(Debug, Clone)]
pub enum Bind {
    Uuid(Uuid),
    Uuids(Vec<Uuid>),
    OptUuid(Option<Uuid>),
    Text(String),
    OptText(Option<String>),
    Int(i32),
    BigInt(i64),
    Bool(bool),
    Bytes(Vec<u8>),
    Json(serde_json::Value),
    Time(DateTime<Utc>),
    OptTime(Option<DateTime<Utc>>),
    Texts(Vec<String>),
    BigInts(Vec<i64>),
    Interval(diesel::pg::data_types::PgInterval),
    OptBool(Option<bool>),
    OptDecimal(Option<rust_decimal::Decimal>),
    OptDate(Option<chrono::NaiveDate>),
    OptBigInt(Option<i64>),
    /// Arrays, one per column, for `unnest` bulk statements.
    Byteas(Vec<Vec<u8>>),
    Bools(Vec<bool>),
    OptTexts(Vec<Option<String>>),
    OptDecimals(Vec<Option<rust_decimal::Decimal>>),
    OptTimes(Vec<Option<DateTime<Utc>>>),
    OptDates(Vec<Option<chrono::NaiveDate>>),
    OptBigInts(Vec<Option<i64>>),
}

/// A statement with `$1 … $n` placeholders and their values.
#[derive(Debug, Clone)]
pub struct Cached {
    sql: String,
    binds: Vec<Bind>,
}

/// Starts a cacheable statement.
pub fn query(sql: impl Into<String>) -> Cached {
    Cached {
        sql: sql.into(),
        binds: Vec::new(),
    }
}

impl Cached {
    pub fn bind(mut self, value: Bind) -> Cached {
        self.binds.push(value);
        self
    }
}

impl QueryId for Cached {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Cached {
    type SqlType = Untyped;
}

impl QueryFragment<Pg> for Cached {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        let bytes = self.sql.as_bytes();
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'$' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                let mut j = i + 1;
                while j < bytes.len() && bytes[j].is_ascii_digit() {
                    j += 1;
                }
                out.push_sql(&self.sql[start..i]);
                let n: usize = self.sql[i + 1..j].parse().unwrap_or(0);
                let bind = n
                    .checked_sub(1)
                    .and_then(|k| self.binds.get(k))
                    .ok_or_else(|| {
                        diesel::result::Error::QueryBuilderError(
                            format!("placeholder ${n} has no bind value").into(),
                        )
                    })?;
                push(&mut out, bind)?;
                start = j;
                i = j;
            } else {
                i += 1;
            }
        }
        out.push_sql(&self.sql[start..]);
        Ok(())
    }
}

fn push<'b>(out: &mut AstPass<'_, 'b, Pg>, bind: &'b Bind) -> diesel::QueryResult<()> {
    match bind {
        Bind::Uuid(v) => out.push_bind_param::<SqlUuid, _>(v),
        Bind::Uuids(v) => out.push_bind_param::<diesel::sql_types::Array<SqlUuid>, _>(v),
        Bind::OptUuid(v) => out.push_bind_param::<Nullable<SqlUuid>, _>(v),
        Bind::Text(v) => out.push_bind_param::<Text, _>(v),
        Bind::OptText(v) => out.push_bind_param::<Nullable<Text>, _>(v),
        Bind::Int(v) => out.push_bind_param::<Integer, _>(v),
        Bind::BigInt(v) => out.push_bind_param::<BigInt, _>(v),
        Bind::Bool(v) => out.push_bind_param::<Bool, _>(v),
        Bind::Bytes(v) => out.push_bind_param::<Bytea, _>(v),
        Bind::Json(v) => out.push_bind_param::<Jsonb, _>(v),
        Bind::Time(v) => out.push_bind_param::<Timestamptz, _>(v),
        Bind::OptTime(v) => out.push_bind_param::<Nullable<Timestamptz>, _>(v),
        Bind::Texts(v) => out.push_bind_param::<diesel::sql_types::Array<Text>, _>(v),
        Bind::BigInts(v) => out.push_bind_param::<diesel::sql_types::Array<BigInt>, _>(v),
        Bind::Interval(v) => out.push_bind_param::<diesel::sql_types::Interval, _>(v),
        Bind::OptBool(v) => out.push_bind_param::<Nullable<Bool>, _>(v),
        Bind::OptDecimal(v) => out.push_bind_param::<Nullable<diesel::sql_types::Numeric>, _>(v),
        Bind::OptDate(v) => out.push_bind_param::<Nullable<diesel::sql_types::Date>, _>(v),
        Bind::OptBigInt(v) => out.push_bind_param::<Nullable<BigInt>, _>(v),
        Bind::Byteas(v) => out.push_bind_param::<Array<Bytea>, _>(v),
        Bind::Bools(v) => out.push_bind_param::<Array<Bool>, _>(v),
        Bind::OptTexts(v) => out.push_bind_param::<Array<Nullable<Text>>, _>(v),
        Bind::OptDecimals(v) => {
            out.push_bind_param::<Array<Nullable<diesel::sql_types::Numeric>>, _>(v)
        }
        Bind::OptTimes(v) => out.push_bind_param::<Array<Nullable<Timestamptz>>, _>(v),
        Bind::OptDates(v) => out.push_bind_param::<Array<Nullable<diesel::sql_types::Date>>, _>(v),
        Bind::OptBigInts(v) => out.push_bind_param::<Array<Nullable<BigInt>>, _>(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_binds_in_order_and_may_repeat() {
        let q = query("SELECT $1 = $2 OR $1 IS NULL, '$x'")
            .bind(Bind::Int(1))
            .bind(Bind::Int(2));
        let sql = diesel::debug_query::<Pg, _>(&q).to_string();
        assert!(
            sql.starts_with("SELECT $1 = $2 OR $3 IS NULL, '$x'"),
            "{sql}"
        );
    }

    #[test]
    fn a_missing_bind_is_an_error_not_a_panic() {
        let q = query("SELECT $2").bind(Bind::Int(1));
        let mut qb = <Pg as diesel::backend::Backend>::QueryBuilder::default();
        assert!(q.to_sql(&mut qb, &Pg).is_err());
    }
}
