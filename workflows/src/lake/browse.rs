//! Browsing the three zones, cursor-paged: the raw zone (admins), the canonical zone
//! (leads and orders in the caller's scope), the serving tables.

use super::*;

/// Where a lake listing stands: the last row's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct LakeCursor {
    pub(super) p: String,
    pub(super) x: String,
}

pub(super) fn decode_cursor(raw: Option<&str>) -> Result<Option<LakeCursor>, WorkflowError> {
    raw.map(crate::pagination::decode).transpose()
}

/// A page of lake rows, each as JSON with the table's column names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowPage {
    pub items: Vec<serde_json::Value>,
    pub next_cursor: Option<String>,
}

#[derive(diesel::QueryableByName)]
pub(super) struct LakeRow {
    #[diesel(sql_type = Text)]
    pub(super) k_provider: String,
    #[diesel(sql_type = Text)]
    pub(super) k_id: String,
    #[diesel(sql_type = Jsonb)]
    pub(super) row: serde_json::Value,
}

pub(super) fn page(rows: Vec<LakeRow>, limit: i64) -> RowPage {
    let p = crate::pagination::Page::from_rows(rows, limit, |r| LakeCursor {
        p: r.k_provider.clone(),
        x: r.k_id.clone(),
    });
    RowPage {
        items: p.items.into_iter().map(|r| r.row).collect(),
        next_cursor: p.next_cursor,
    }
}

/// What to list from a zone.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub provider: Option<String>,
    /// The source's object (raw zone only).
    pub source: Option<String>,
    pub include_deleted: bool,
    pub cursor: Option<String>,
    pub limit: i64,
}

/// Raw records as received (admins: the raw zone has every field of every record).
pub async fn raw(
    conn: &mut AsyncPgConnection,
    authz: &Authorizer,
    who: &Principal,
    l: &Listing,
) -> Result<RowPage, WorkflowError> {
    authz.authorize(who, Object::Job, Action::View)?;
    let after = decode_cursor(l.cursor.as_deref())?;
    let after_id = after
        .map(|c| c.x.parse::<i64>())
        .transpose()
        .map_err(|_| FieldErrors::single("cursor", "invalid_cursor"))?;
    let rows: Vec<LakeRow> = sql::query(
        "SELECT '' AS k_provider, id::text AS k_id, \
                jsonb_build_object('id', id, 'provider', provider, 'entity', entity, \
                    'external_id', external_id, 'sync_run_id', sync_run_id, 'fetched_at', fetched_at, \
                    'content_hash', encode(content_hash, 'hex'), 'body', body) AS row \
         FROM raw_records WHERE ($1::text IS NULL OR provider = $1) AND ($2::text IS NULL OR entity = $2) \
              AND ($3::bigint IS NULL OR id > $3) ORDER BY id LIMIT $4",
    )
    .bind(Bind::OptText(l.provider.clone()))
    .bind(Bind::OptText(l.source.clone()))
    .bind(Bind::OptBigInt(after_id))
    .bind(Bind::BigInt(l.limit + 1))
    .load(conn)
    .await?;
    Ok(page(rows, l.limit))
}

/// The caller's scope on canonical rows of `entity`: leads and orders by their owner's
/// link (the view permission of the lifecycle resource); organizations, contacts,
/// products and invoices carry no owner and are for admins.
pub(super) fn canonical_scope(
    authz: &Authorizer,
    who: &Principal,
    entity: Entity,
) -> Result<Option<RowScope>, WorkflowError> {
    match entity {
        Entity::Lead => authz.view_scope(who, Object::Lead).map(Some),
        Entity::Order => authz.view_scope(who, Object::Order).map(Some),
        _ => authz
            .authorize(who, Object::Job, Action::View)
            .map(|_| None),
    }
}

/// Canonical rows of one entity within the caller's scope, by (provider, external id).
pub async fn canonical(
    conn: &mut AsyncPgConnection,
    authz: &Authorizer,
    who: &Principal,
    entity: Entity,
    l: &Listing,
) -> Result<RowPage, WorkflowError> {
    let scope = canonical_scope(authz, who, entity)?;
    let after = decode_cursor(l.cursor.as_deref())?;
    let (join, filter) = match scope {
        Some(_) => (OWNER_JOIN, scope_sql(1)),
        // Admins only (checked above): the scope binds are `all` and no organisation.
        None => ("", "($1 = 'all' AND $2::uuid IS NULL)".to_owned()),
    };
    let q = sql::query(format!(
        "SELECT t.provider AS k_provider, t.external_id AS k_id, {row} AS row \
         FROM {table} t {join} WHERE {filter} \
              AND ($3::text IS NULL OR t.provider = $3) AND ($4 OR t.deleted_at IS NULL) \
              AND ($5::text IS NULL OR (t.provider, t.external_id) > ($5, $6)) \
         ORDER BY t.provider, t.external_id LIMIT $7",
        table = entity.table(),
        row = load::row_json(entity)
    ));
    let rows: Vec<LakeRow> = scoped(q, scope.unwrap_or(RowScope::All))
        .bind(Bind::OptText(l.provider.clone()))
        .bind(Bind::Bool(l.include_deleted))
        .bind(Bind::OptText(after.as_ref().map(|c| c.p.clone())))
        .bind(Bind::OptText(after.map(|c| c.x)))
        .bind(Bind::BigInt(l.limit + 1))
        .load(conn)
        .await?;
    Ok(page(rows, l.limit))
}

/// The serving tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serving {
    Pipeline,
    WonRevenue,
}

impl Serving {
    pub fn parse(s: &str) -> Option<Serving> {
        match s {
            "pipeline" => Some(Serving::Pipeline),
            "won_revenue" => Some(Serving::WonRevenue),
            _ => None,
        }
    }
    pub(super) fn table(self) -> &'static str {
        match self {
            Serving::Pipeline => "serving_pipeline",
            Serving::WonRevenue => "serving_won_revenue",
        }
    }
    /// A row as JSON, money as a string (exact, never a float).
    pub(super) fn row_json(self) -> &'static str {
        match self {
            Serving::Pipeline => "(to_jsonb(t) || jsonb_build_object('value', t.value::text))",
            Serving::WonRevenue => {
                "(to_jsonb(t) || jsonb_build_object('revenue', t.revenue::text))"
            }
        }
    }
    /// The key after the provider, as text (for the cursor).
    pub(super) fn key(self) -> &'static str {
        match self {
            Serving::Pipeline => "concat_ws('/', t.status, t.owner_external_id, t.currency)",
            Serving::WonRevenue => "concat_ws('/', t.month, t.owner_external_id, t.currency)",
        }
    }
}

/// Serving rows within the caller's dashboard scope.
pub async fn serving(
    conn: &mut AsyncPgConnection,
    authz: &Authorizer,
    who: &Principal,
    table: Serving,
    l: &Listing,
) -> Result<RowPage, WorkflowError> {
    let scope = dashboard_scope(authz, who)?;
    let after = decode_cursor(l.cursor.as_deref())?;
    let q = sql::query(format!(
        "SELECT t.provider AS k_provider, {key} AS k_id, {row} AS row \
         FROM {table} WHERE {scope} \
              AND ($3::text IS NULL OR t.provider = $3) \
              AND ($4::text IS NULL OR (t.provider, {key}) > ($4, $5)) \
         ORDER BY t.provider, {key} LIMIT $6",
        key = table.key(),
        row = table.row_json(),
        table = scoped_table(table.table()),
        scope = scope_sql(1)
    ));
    let rows: Vec<LakeRow> = scoped(q, scope)
        .bind(Bind::OptText(l.provider.clone()))
        .bind(Bind::OptText(after.as_ref().map(|c| c.p.clone())))
        .bind(Bind::OptText(after.map(|c| c.x)))
        .bind(Bind::BigInt(l.limit + 1))
        .load(conn)
        .await?;
    Ok(page(rows, l.limit))
}
