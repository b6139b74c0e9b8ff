//! Invoices from Pennylane through the six stages: connector (the customer-invoice
//! changelog, each changed invoice read whole; a full run lists every invoice) →
//! mapper ([`InvoiceMapper`]: Pennylane's invoice → the canonical `invoice`) →
//! validator → normalizer → loader (raw and canonical zones, one transaction per page
//! with the run's counts and its checkpoint) → logger (`sync_runs`).
//!
//! The checkpoint is the changelog's own cursor (`cursor:<opaque>`), or — after a full
//! run, or at the changelog's end — the time to start from (`since:<RFC 3339>`), so an
//! incremental run reads only what changed since (Pennylane keeps four weeks of
//! changes). A killed run resumes from its last committed page: nothing lost, nothing
//! doubled (every write is keyed by the invoice's id).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::sql_types::{Nullable, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use serde_json::Value;
use tentabo_schema::DbPool;
use uuid::Uuid;

use super::load::{self, ConflictPolicy, Rows};
use super::run::{Mode, Totals};
use super::{
    Entity, Field, Fields, Mapped, Mapper, RawRecord, Reason, Rejected, normalize, validate,
};
use crate::WorkflowError;
use crate::providers::ProviderError;
use crate::providers::pennylane::Pennylane;
use crate::sql::{self, Bind};

pub const PROVIDER: &str = "pennylane";
/// The source object, as the raw zone and the run name it.
pub const SOURCE: &str = "customer_invoices";
/// Changelog entries (and invoices) per page.
pub const PAGE: u32 = 100;

/// Pennylane's invoice status → the canonical one (what a contract shows).
pub fn status(pennylane: &str) -> &'static str {
    match pennylane {
        "draft" => "draft",
        "paid" => "paid",
        "late" => "late",
        "partially_paid" => "partially_paid",
        "cancelled" | "partially_cancelled" => "cancelled",
        "credit_note" => "credit_note",
        // upcoming, incomplete, proforma…: issued and not yet due.
        _ => "finalized",
    }
}

pub struct InvoiceMapper;

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn decimal(v: &Value, key: &str) -> Result<Field, Reason> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(Field::Null),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Field::Null),
        Some(Value::String(s)) => s
            .trim()
            .parse::<Decimal>()
            .map(Field::Decimal)
            .map_err(|_| Reason::field(canonical_name(key), "invalid_number")),
        Some(_) => Err(Reason::field(canonical_name(key), "invalid_number")),
    }
}

fn canonical_name(key: &str) -> &'static str {
    match key {
        "currency_amount_before_tax" => "amount_untaxed",
        "currency_tax" => "amount_tax",
        "currency_amount" => "amount_total",
        "remaining_amount_with_tax" => "amount_due",
        _ => "amount_total",
    }
}

fn date(v: &Value, key: &'static str, field: &'static str) -> Result<Field, Reason> {
    match text(v, key) {
        None => Ok(Field::Null),
        Some(s) => NaiveDate::parse_from_str(&s, "%Y-%m-%d")
            .map(Field::Date)
            .map_err(|_| Reason::field(field, "invalid_date")),
    }
}

impl Mapper for InvoiceMapper {
    fn map(&self, raw: &RawRecord) -> Result<Mapped, Rejected> {
        let reject = |reasons: Vec<Reason>| Rejected {
            stage: "mapper",
            entity: Some(Entity::Invoice),
            external_id: Some(raw.external_id.clone()),
            reasons,
        };
        let v: Value = serde_json::from_str(raw.body.get())
            .map_err(|e| reject(vec![Reason::record("malformed_record", e.to_string())]))?;
        let mut fields = Fields::new();
        let mut reasons = Vec::new();
        let draft = v.get("draft").and_then(Value::as_bool).unwrap_or(false);
        let number = text(&v, "invoice_number")
            .or_else(|| draft.then(|| format!("draft {}", raw.external_id)));
        fields.insert("number", number.map_or(Field::Null, Field::Text));
        // Customers are not synced yet: the invoice keeps no reference to one.
        fields.insert("customer", Field::Null);
        let pennylane_status = text(&v, "status").unwrap_or_default();
        fields.insert("status", Field::Text(status(&pennylane_status).to_owned()));
        for (key, field) in [("date", "issue_date"), ("deadline", "due_date")] {
            match date(&v, key, field) {
                Ok(f) => {
                    fields.insert(field, f);
                }
                Err(r) => reasons.push(r),
            }
        }
        fields.insert(
            "currency",
            text(&v, "currency").map_or(Field::Null, Field::Text),
        );
        for key in [
            "currency_amount_before_tax",
            "currency_tax",
            "currency_amount",
            "remaining_amount_with_tax",
        ] {
            match decimal(&v, key) {
                Ok(f) => {
                    fields.insert(canonical_name(key), f);
                }
                Err(r) => reasons.push(r),
            }
        }
        let paid = v.get("paid").and_then(Value::as_bool).unwrap_or(false);
        let updated_at = text(&v, "updated_at")
            .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|t| t.with_timezone(&Utc));
        fields.insert(
            "paid_at",
            match (paid, updated_at) {
                (true, Some(t)) => Field::Time(t),
                _ => Field::Null,
            },
        );
        if !reasons.is_empty() {
            return Err(reject(reasons));
        }
        let mut mapped = Mapped::new(Entity::Invoice, raw.external_id.clone(), raw.hash, fields);
        mapped.deleted = text(&v, "archived_at").is_some() || pennylane_status == "archived";
        Ok(mapped)
    }
}

/// Where the run reads from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum From {
    /// A changelog cursor.
    Cursor(String),
    /// Changes processed at or after this time.
    Since(DateTime<Utc>),
    /// Every invoice (a full run, or no checkpoint yet): the list, page by page.
    List(Option<String>),
}

impl From {
    fn parse(s: &str) -> Option<From> {
        if let Some(c) = s.strip_prefix("cursor:") {
            return Some(From::Cursor(c.to_owned()));
        }
        if let Some(t) = s.strip_prefix("since:") {
            return DateTime::parse_from_rfc3339(t)
                .ok()
                .map(|t| From::Since(t.with_timezone(&Utc)));
        }
        s.strip_prefix("list:")
            .map(|c| From::List((!c.is_empty()).then(|| c.to_owned())))
    }
    fn stored(&self) -> String {
        match self {
            From::Cursor(c) => format!("cursor:{c}"),
            From::Since(t) => format!("since:{}", t.to_rfc3339()),
            From::List(c) => format!("list:{}", c.as_deref().unwrap_or("")),
        }
    }
}

#[derive(diesel::QueryableByName)]
struct RunRow {
    #[diesel(sql_type = Text)]
    mode: String,
    #[diesel(sql_type = Nullable<Text>)]
    cursor_value: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    cursor_id: Option<String>,
}

#[derive(diesel::QueryableByName)]
struct Checkpoint {
    #[diesel(sql_type = Nullable<Text>)]
    cursor_value: Option<String>,
}

fn connector(e: ProviderError) -> WorkflowError {
    match e {
        ProviderError::Transient(m) => WorkflowError::Upstream(format!("connector: {m}")),
        ProviderError::Permanent(m) => WorkflowError::Invalid(format!("connector: {m}")),
    }
}

/// Runs (or resumes) Pennylane invoice run `run_id` to its end; the run row records
/// the outcome (`succeeded`, `partial`, `failed` with the error).
pub async fn execute(
    db: &DbPool,
    client: &Pennylane,
    run_id: Uuid,
    conflicts: ConflictPolicy,
    default_country: Option<&str>,
) -> Result<Totals, WorkflowError> {
    let mut conn = db.get().await?;
    let run: Option<RunRow> = diesel::OptionalExtension::optional(
        sql::query(
            "UPDATE sync_runs SET status = 'running', started_at = COALESCE(started_at, now()) \
             WHERE id = $1 AND status IN ('queued', 'running', 'failed') \
             RETURNING mode, cursor_value, cursor_id",
        )
        .bind(Bind::Uuid(run_id))
        .get_result(&mut conn)
        .await,
    )?;
    let Some(run) = run else {
        return Ok(Totals::default());
    };
    let mut totals = Totals::default();
    let result = read_all(
        &mut conn,
        client,
        run_id,
        &run,
        conflicts,
        default_country,
        &mut totals,
    )
    .await;
    let (status, error) = match &result {
        Ok(()) if totals.quarantined > 0 => ("partial", None),
        Ok(()) => ("succeeded", None),
        Err(e) => ("failed", Some(e.to_string())),
    };
    sql::query(
        "UPDATE sync_runs SET status = $2, error = $3, timings = $4, finished_at = now() WHERE id = $1",
    )
    .bind(Bind::Uuid(run_id))
    .bind(Bind::Text(status.to_owned()))
    .bind(Bind::OptText(error))
    .bind(Bind::Json(serde_json::to_value(totals.timings)?))
    .execute(&mut conn)
    .await?;
    result.map(|()| totals)
}

async fn read_all(
    conn: &mut AsyncPgConnection,
    client: &Pennylane,
    run_id: Uuid,
    run: &RunRow,
    conflicts: ConflictPolicy,
    default_country: Option<&str>,
    totals: &mut Totals,
) -> Result<(), WorkflowError> {
    let started = Utc::now();
    let checkpoint: Option<Checkpoint> = diesel::OptionalExtension::optional(
        sql::query("SELECT cursor_value FROM sync_checkpoints WHERE provider = $1 AND entity = $2")
            .bind(Bind::Text(PROVIDER.to_owned()))
            .bind(Bind::Text(SOURCE.to_owned()))
            .get_result(conn)
            .await,
    )?;
    // A resumed run goes on from its own cursor; a full run, or a first one, lists.
    let mut from = match (&run.cursor_value, run.mode.as_str()) {
        (Some(c), _) => From::parse(c).unwrap_or(From::List(None)),
        (None, "full") => From::List(None),
        (None, _) => checkpoint
            .and_then(|c| c.cursor_value)
            .and_then(|c| From::parse(&c))
            .unwrap_or(From::List(None)),
    };
    // Where a list ends, the changelog takes over: from when the run (or its first
    // attempt) began.
    let list_started = run
        .cursor_id
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map_or(started, |t| t.with_timezone(&Utc));
    let policy = super::policy::policy(conn, PROVIDER, default_country).await?;
    loop {
        let t = std::time::Instant::now();
        // The page, what the source deleted, where to go next (none: the end), and
        // where a later run or attempt resumes.
        let (raws, gone, next, resume) = match &from {
            From::List(cursor) => {
                let (items, next_cursor) = client
                    .invoices_page(cursor.as_deref(), PAGE)
                    .await
                    .map_err(connector)?;
                let raws = items
                    .into_iter()
                    .map(|(id, body)| RawRecord::new(PROVIDER, SOURCE, id, body))
                    .collect::<Vec<_>>();
                // Once the list is read, the changes made since it began come next.
                let next = next_cursor.map_or(From::Since(list_started), |c| From::List(Some(c)));
                (raws, Vec::new(), Some(next.clone()), next)
            }
            From::Cursor(_) | From::Since(_) => {
                let (cursor, since) = match &from {
                    From::Cursor(c) => (Some(c.as_str()), None),
                    From::Since(t) => (None, Some(*t)),
                    From::List(_) => (None, None),
                };
                let page = client
                    .invoice_changes(cursor, since, PAGE)
                    .await
                    .map_err(connector)?;
                let mut ids: Vec<i64> = Vec::new();
                let mut gone = Vec::new();
                for change in &page.items {
                    if change.operation == "delete" {
                        gone.push(change.id.to_string());
                    } else if !ids.contains(&change.id) {
                        ids.push(change.id);
                    }
                }
                let mut raws = Vec::new();
                for id in ids {
                    match client.invoice_raw(id).await.map_err(connector)? {
                        Some(body) => {
                            raws.push(RawRecord::new(PROVIDER, SOURCE, id.to_string(), body));
                        }
                        None => gone.push(id.to_string()),
                    }
                }
                let last = page
                    .items
                    .iter()
                    .filter_map(|c| DateTime::parse_from_rfc3339(&c.processed_at).ok())
                    .map(|t| t.with_timezone(&Utc))
                    .max();
                match (page.next_cursor, page.has_more) {
                    (Some(c), true) => (raws, gone, Some(From::Cursor(c.clone())), From::Cursor(c)),
                    // The end: a later run resumes at the cursor, or at the last change
                    // seen (re-read then, and found unchanged).
                    (Some(c), false) => (raws, gone, None, From::Cursor(c)),
                    (None, _) => {
                        let resume = last.map_or_else(|| from.clone(), From::Since);
                        (raws, gone, None, resume)
                    }
                }
            }
        };
        totals.timings.connector_us += t.elapsed().as_micros() as u64;
        load_page(
            conn,
            run_id,
            &raws,
            &gone,
            &policy,
            conflicts,
            &resume.stored(),
            &list_started.to_rfc3339(),
            totals,
        )
        .await?;
        match next {
            // A cursor that does not move would page forever.
            Some(n) if n != from => from = n,
            _ => return Ok(()),
        }
    }
}

/// One page in one transaction: raw upsert (an unchanged hash stops a record there),
/// the pure stages for what changed, canonical writes, quarantine, soft deletes, the
/// run's counts, its cursor and the source's checkpoint.
#[allow(clippy::too_many_arguments)]
async fn load_page(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    raws: &[RawRecord],
    gone: &[String],
    policy: &super::policy::Policy,
    conflicts: ConflictPolicy,
    position: &str,
    list_started: &str,
    totals: &mut Totals,
) -> Result<(), WorkflowError> {
    let started = std::time::Instant::now();
    let mut counts = load::PageCounts {
        fetched: raws.len() as i64,
        ..Default::default()
    };
    let mut times = super::run::StageTimes::default();
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        let changes = load::upsert_raw(conn, run_id, raws).await?;
        let mut good = Vec::new();
        let mut refused: Vec<(&RawRecord, Rejected)> = Vec::new();
        for raw in raws
            .iter()
            .filter(|r| changes.changed.contains_key(&r.external_id))
        {
            let t = std::time::Instant::now();
            let mapped = InvoiceMapper.map(raw);
            times.mapper_us += t.elapsed().as_micros() as u64;
            let t = std::time::Instant::now();
            let validated = mapped.and_then(|m| validate(m, &|_, _| true, policy));
            times.validator_us += t.elapsed().as_micros() as u64;
            let t = std::time::Instant::now();
            match validated.and_then(|v| normalize(v, policy)) {
                Ok(n) => good.push(n),
                Err(r) => refused.push((raw, r)),
            }
            times.normalizer_us += t.elapsed().as_micros() as u64;
        }
        counts.unchanged = counts.fetched - changes.changed.len() as i64;
        if !good.is_empty() {
            let mut rows = Rows::new(Entity::Invoice, good);
            rows.set_raw_ids(&changes.changed);
            counts.warned = rows.warned();
            counts.warnings = rows.warnings();
            let (fresh, known) = changes.split(rows);
            let mut loaded =
                load::write_canonical(conn, PROVIDER, fresh, load::Write::Insert).await?;
            if !known.is_empty() {
                let kept =
                    load::resolve_conflicts(conn, Some(run_id), PROVIDER, known, conflicts).await?;
                counts.conflicts = kept.conflicts;
                loaded +=
                    load::write_canonical(conn, PROVIDER, kept.apply, load::Write::Upsert).await?;
            }
            counts.loaded = loaded as i64;
        }
        let ids: Vec<String> = raws.iter().map(|r| r.external_id.clone()).collect();
        load::release(conn, PROVIDER, SOURCE, &ids).await?;
        load::quarantine(conn, Some(run_id), &refused).await?;
        counts.quarantined = refused.len() as i64;
        let mut reasons = BTreeMap::new();
        for (_, r) in &refused {
            for reason in &r.reasons {
                *reasons.entry(reason.code.to_owned()).or_insert(0) += 1;
            }
        }
        counts.reasons = reasons;
        let deleted = if gone.is_empty() {
            0
        } else {
            sql::query(
                "UPDATE canonical_invoices SET deleted_at = now() \
                 WHERE provider = $1 AND external_id = ANY($2) AND deleted_at IS NULL",
            )
            .bind(Bind::Text(PROVIDER.to_owned()))
            .bind(Bind::Texts(gone.to_vec()))
            .execute(conn)
            .await? as i64
        };
        totals.deleted += deleted;
        sql::query(
            "UPDATE sync_runs SET fetched = fetched + $2, unchanged = unchanged + $3, \
                 loaded = loaded + $4, quarantined = quarantined + $5, conflicts = conflicts + $6, \
                 deleted = deleted + $7, cursor_value = $8, cursor_id = $9, warned = warned + $10 \
             WHERE id = $1",
        )
        .bind(Bind::Uuid(run_id))
        .bind(Bind::BigInt(counts.fetched))
        .bind(Bind::BigInt(counts.unchanged))
        .bind(Bind::BigInt(counts.loaded))
        .bind(Bind::BigInt(counts.quarantined))
        .bind(Bind::BigInt(counts.conflicts))
        .bind(Bind::BigInt(deleted))
        .bind(Bind::Text(position.to_owned()))
        .bind(Bind::Text(list_started.to_owned()))
        .bind(Bind::BigInt(counts.warned))
        .execute(conn)
        .await?;
        sql::query(
            "INSERT INTO sync_checkpoints (provider, entity, cursor_value, last_run_id) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (provider, entity) DO UPDATE SET \
                 cursor_value = EXCLUDED.cursor_value, last_run_id = EXCLUDED.last_run_id, \
                 updated_at = now()",
        )
        .bind(Bind::Text(PROVIDER.to_owned()))
        .bind(Bind::Text(SOURCE.to_owned()))
        .bind(Bind::Text(position.to_owned()))
        .bind(Bind::Uuid(run_id))
        .execute(conn)
        .await?;
        Ok(())
    })
    .await?;
    times.loader_us = (started.elapsed().as_micros() as u64)
        .saturating_sub(times.mapper_us + times.validator_us + times.normalizer_us);
    totals.fetched += counts.fetched;
    totals.unchanged += counts.unchanged;
    totals.loaded += counts.loaded;
    totals.quarantined += counts.quarantined;
    totals.conflicts += counts.conflicts;
    totals.warned += counts.warned;
    totals.pages += 1;
    let t = &mut totals.timings;
    t.mapper_us += times.mapper_us;
    t.validator_us += times.validator_us;
    t.normalizer_us += times.normalizer_us;
    t.loader_us += times.loader_us;
    Ok(())
}

/// Creates a queued Pennylane invoice run and its job, in one transaction.
pub async fn request(
    conn: &mut AsyncPgConnection,
    mode: Mode,
    requested_by: Option<Uuid>,
    key: Option<String>,
) -> Result<Uuid, WorkflowError> {
    super::run::request_for(conn, PROVIDER, SOURCE, mode, requested_by, key).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(v: &Value) -> Box<serde_json::value::RawValue> {
        serde_json::value::to_raw_value(v).unwrap_or_else(|e| panic!("{e}"))
    }

    fn record(v: Value) -> RawRecord {
        RawRecord::new(PROVIDER, SOURCE, "2147483901".into(), raw(&v))
    }

    #[test]
    fn an_invoice_maps_to_the_canonical_invoice() {
        let m = InvoiceMapper
            .map(&record(json!({
                "id": 2147483901_i64, "invoice_number": "F-2026-0007", "status": "late", "paid": false,
                "draft": false, "currency": "EUR", "date": "2026-10-01", "deadline": "2026-10-31",
                "currency_amount_before_tax": "1000.00", "currency_tax": "200.00",
                "currency_amount": "1200.00", "remaining_amount_with_tax": "1200.00",
                "updated_at": "2026-11-02T10:00:00Z", "archived_at": null,
            })))
            .unwrap();
        assert_eq!(m.fields["number"], Field::Text("F-2026-0007".into()));
        assert_eq!(m.fields["status"], Field::Text("late".into()));
        assert_eq!(
            m.fields["amount_total"],
            Field::Decimal(Decimal::new(120_000, 2))
        );
        assert_eq!(
            m.fields["due_date"],
            Field::Date(NaiveDate::from_ymd_opt(2026, 10, 31).unwrap())
        );
        assert_eq!(m.fields["paid_at"], Field::Null);
        assert!(!m.deleted);
    }

    #[test]
    fn a_paid_draft_and_an_archived_invoice_read_as_pennylane_means_them() {
        let paid = InvoiceMapper
            .map(&record(
                json!({ "invoice_number": "F-1", "status": "paid", "paid": true, "currency": "EUR",
                "updated_at": "2026-11-02T10:00:00Z" }),
            ))
            .unwrap();
        assert!(matches!(paid.fields["paid_at"], Field::Time(_)));
        let draft = InvoiceMapper
            .map(&record(json!({ "invoice_number": "", "status": "draft", "draft": true, "currency": "EUR" })))
            .unwrap();
        assert_eq!(
            draft.fields["number"],
            Field::Text("draft 2147483901".into())
        );
        let archived = InvoiceMapper
            .map(&record(
                json!({ "invoice_number": "F-2", "status": "upcoming", "currency": "EUR",
                "archived_at": "2026-11-03T00:00:00Z" }),
            ))
            .unwrap();
        assert!(archived.deleted);
        assert_eq!(archived.fields["status"], Field::Text("finalized".into()));
    }

    #[test]
    fn bad_amounts_and_dates_are_refused_with_their_field() {
        let r = InvoiceMapper
            .map(&record(json!({ "invoice_number": "F-3", "currency": "EUR",
                "currency_amount": 12.5, "deadline": "31/10/2026" })))
            .unwrap_err();
        let codes: Vec<(Option<&str>, &str)> =
            r.reasons.iter().map(|r| (r.field, r.code)).collect();
        assert!(
            codes.contains(&(Some("amount_total"), "invalid_number")),
            "{codes:?}"
        );
        assert!(
            codes.contains(&(Some("due_date"), "invalid_date")),
            "{codes:?}"
        );
        assert_eq!(r.stage, "mapper");
    }

    #[test]
    fn checkpoints_round_trip() {
        for f in [
            From::Cursor("abc=".into()),
            From::Since(
                DateTime::parse_from_rfc3339("2026-11-30T10:00:00Z")
                    .unwrap()
                    .with_timezone(&Utc),
            ),
            From::List(None),
            From::List(Some("p2".into())),
        ] {
            assert_eq!(From::parse(&f.stored()), Some(f));
        }
    }
}
