//! The product catalogue (products, their price lists and history, durations) and quote
//! previews, which price a basket with the engine without storing anything.

use std::collections::HashMap;

use chrono::Utc;
use diesel::{
    BoolExpressionMethods, ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use serde_json::json;
use tentabo_schema::models::catalogue::{
    DurationRow, NewPriceHistory, PriceHistoryRow, PriceTierRow, ProductRow,
};
use tentabo_schema::schema::{durations, product_price_history, product_price_tiers, products};
use uuid::Uuid;

use crate::WorkflowError;
use crate::audit::{self, AuditContext};
use crate::error::{FieldErrors, map_unique};
use crate::identity::Name;
use crate::pagination::{Cursor, Page};
use crate::pricing::{self, LineQuote, Period, PriceList, PricingMode, Terms, Tier, Totals};

#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub row: ProductRow,
    pub mode: PricingMode,
    pub price_list: PriceList,
}

fn tiers_of(rows: &[PriceTierRow]) -> Result<PriceList, WorkflowError> {
    let tiers = rows
        .iter()
        .map(|r| {
            Ok(Tier {
                min_quantity: u64::try_from(r.min_quantity)
                    .map_err(|_| WorkflowError::Internal("negative tier bound".into()))?,
                max_quantity: r
                    .max_quantity
                    .map(u64::try_from)
                    .transpose()
                    .map_err(|_| WorkflowError::Internal("negative tier bound".into()))?,
                price_per_unit: r.price_per_unit,
                period: Period::parse(&r.period)
                    .ok_or_else(|| WorkflowError::Internal(format!("bad period {}", r.period)))?,
            })
        })
        .collect::<Result<Vec<_>, WorkflowError>>()?;
    // Stored lists were validated on the way in; a failure here is corruption.
    pricing::parse_price_list(tiers)
        .map_err(|e| WorkflowError::internal("stored price list is invalid", e))
}

fn assemble(row: ProductRow, tiers: &[PriceTierRow]) -> Result<Product, WorkflowError> {
    let mode = PricingMode::parse(&row.pricing_mode)
        .ok_or_else(|| WorkflowError::Internal("bad pricing mode".into()))?;
    Ok(Product {
        price_list: tiers_of(tiers)?,
        mode,
        row,
    })
}

async fn load_tiers(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<PriceTierRow>>, WorkflowError> {
    let rows: Vec<PriceTierRow> = product_price_tiers::table
        .filter(product_price_tiers::product_id.eq_any(ids))
        .order((
            product_price_tiers::product_id,
            product_price_tiers::position,
        ))
        .select(PriceTierRow::as_select())
        .load(conn)
        .await?;
    let mut by_product: HashMap<Uuid, Vec<PriceTierRow>> = HashMap::new();
    for r in rows {
        by_product.entry(r.product_id).or_default().push(r);
    }
    Ok(by_product)
}

/// Products by name, a page at a time. `include_inactive` is for admins.
pub async fn list_products(
    conn: &mut AsyncPgConnection,
    include_inactive: bool,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<Product>, WorkflowError> {
    let mut q = products::table.select(ProductRow::as_select()).into_boxed();
    if !include_inactive {
        q = q.filter(products::is_active.eq(true));
    }
    if let Some(c) = cursor {
        q = q.filter(
            products::name
                .gt(c.k.clone())
                .or(products::name.eq(c.k.clone()).and(products::id.gt(c.id))),
        );
    }
    let rows: Vec<ProductRow> = q
        .order((products::name, products::id))
        .limit(limit + 1)
        .load(conn)
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let tiers = load_tiers(conn, &ids).await?;
    let products = rows
        .into_iter()
        .map(|r| {
            let t = tiers.get(&r.id).map(Vec::as_slice).unwrap_or_default();
            assemble(r, t)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(products, limit, |p| Cursor {
        k: p.row.name.clone(),
        id: p.row.id,
    }))
}

pub async fn get_product(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    include_inactive: bool,
) -> Result<Product, WorkflowError> {
    let mut q = products::table
        .filter(products::id.eq(id))
        .select(ProductRow::as_select())
        .into_boxed();
    if !include_inactive {
        q = q.filter(products::is_active.eq(true));
    }
    let row = q
        .first(conn)
        .await
        .optional()?
        .ok_or(WorkflowError::NotFound)?;
    let tiers = load_tiers(conn, &[id]).await?;
    assemble(row, tiers.get(&id).map(Vec::as_slice).unwrap_or_default())
}

#[derive(Debug, Clone)]
pub struct NewProduct {
    pub name: Name,
    pub product_type: Name,
    pub unit: Name,
    pub mode: PricingMode,
    pub currency: String,
    pub price_list: PriceList,
}

#[derive(Debug, Clone, Default)]
pub struct ProductPatch {
    pub name: Option<Name>,
    pub product_type: Option<Name>,
    pub unit: Option<Name>,
    pub is_active: Option<bool>,
    pub mode: Option<PricingMode>,
    pub price_list: Option<PriceList>,
}

/// Checks an ISO-4217 code against the supported list.
pub fn parse_currency(raw: &str) -> Result<String, &'static str> {
    let c = raw.trim().to_ascii_uppercase();
    if pricing::CURRENCIES.iter().any(|(code, _)| *code == c) {
        Ok(c)
    } else {
        Err("unsupported_currency")
    }
}

fn price_list_json(mode: PricingMode, list: &PriceList) -> serde_json::Value {
    json!({ "pricing_mode": mode.as_str(), "tiers": list.tiers() })
}

async fn write_tiers(
    conn: &mut AsyncPgConnection,
    product_id: Uuid,
    list: &PriceList,
) -> Result<(), WorkflowError> {
    diesel::delete(
        product_price_tiers::table.filter(product_price_tiers::product_id.eq(product_id)),
    )
    .execute(conn)
    .await?;
    let rows: Vec<PriceTierRow> = list
        .tiers()
        .iter()
        .enumerate()
        .map(|(i, t)| PriceTierRow {
            product_id,
            position: i32::try_from(i).unwrap_or(i32::MAX),
            min_quantity: i64::try_from(t.min_quantity).unwrap_or(i64::MAX),
            max_quantity: t.max_quantity.map(|m| i64::try_from(m).unwrap_or(i64::MAX)),
            price_per_unit: t.price_per_unit,
            period: t.period.as_str().to_owned(),
        })
        .collect();
    diesel::insert_into(product_price_tiers::table)
        .values(&rows)
        .execute(conn)
        .await?;
    Ok(())
}

const NAME_TAKEN: (&str, &str, &str) = (
    "products_name_key",
    "name_taken",
    "A product with this name exists",
);

pub async fn create_product(
    conn: &mut AsyncPgConnection,
    new: &NewProduct,
    ctx: &AuditContext,
) -> Result<Product, WorkflowError> {
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        let now = Utc::now();
        let row = ProductRow {
            id: Uuid::now_v7(),
            name: new.name.as_str().to_owned(),
            product_type: new.product_type.as_str().to_owned(),
            unit: new.unit.as_str().to_owned(),
            pricing_mode: new.mode.as_str().to_owned(),
            currency: new.currency.clone(),
            is_active: true,
            created_at: now,
            updated_at: now,
        };
        diesel::insert_into(products::table)
            .values(&row)
            .execute(conn)
            .await
            .map_err(|e| map_unique(e, &[NAME_TAKEN]))?;
        write_tiers(conn, row.id, &new.price_list).await?;
        diesel::insert_into(product_price_history::table)
            .values(NewPriceHistory {
                product_id: row.id,
                changed_by: ctx.actor_id,
                pricing_mode: new.mode.as_str().to_owned(),
                price_list: price_list_json(new.mode, &new.price_list),
            })
            .execute(conn)
            .await?;
        audit::record(
            conn,
            ctx.entry(
                "product_created",
                "product",
                row.id,
                json!({ "name": row.name }),
            ),
        )
        .await?;
        Ok(Product {
            row,
            mode: new.mode,
            price_list: new.price_list.clone(),
        })
    })
    .await
}

/// Updates a product. A new price list or mode is kept in the price history; placed
/// orders keep the prices they were created with.
pub async fn update_product(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    patch: &ProductPatch,
    ctx: &AuditContext,
) -> Result<Product, WorkflowError> {
    conn.transaction::<_, WorkflowError, _>(async |conn| {
        let before = get_product(conn, id, true).await?;
        let mode = patch.mode.unwrap_or(before.mode);
        let price_list = patch
            .price_list
            .clone()
            .unwrap_or_else(|| before.price_list.clone());
        let pricing_changed = mode != before.mode || price_list != before.price_list;
        let row: ProductRow = diesel::update(products::table.find(id))
            .set((
                products::name.eq(patch
                    .name
                    .as_ref()
                    .map_or(before.row.name.clone(), |n| n.as_str().to_owned())),
                products::product_type.eq(patch
                    .product_type
                    .as_ref()
                    .map_or(before.row.product_type.clone(), |n| n.as_str().to_owned())),
                products::unit.eq(patch
                    .unit
                    .as_ref()
                    .map_or(before.row.unit.clone(), |n| n.as_str().to_owned())),
                products::is_active.eq(patch.is_active.unwrap_or(before.row.is_active)),
                products::pricing_mode.eq(mode.as_str()),
                products::updated_at.eq(Utc::now()),
            ))
            .returning(ProductRow::as_returning())
            .get_result(conn)
            .await
            .map_err(|e| map_unique(e, &[NAME_TAKEN]))?;
        if pricing_changed {
            write_tiers(conn, id, &price_list).await?;
            diesel::insert_into(product_price_history::table)
                .values(NewPriceHistory {
                    product_id: id,
                    changed_by: ctx.actor_id,
                    pricing_mode: mode.as_str().to_owned(),
                    price_list: price_list_json(mode, &price_list),
                })
                .execute(conn)
                .await?;
        }
        audit::record(
            conn,
            ctx.entry(
                "product_updated",
                "product",
                id,
                json!({ "pricing_changed": pricing_changed }),
            ),
        )
        .await?;
        Ok(Product {
            row,
            mode,
            price_list,
        })
    })
    .await
}

pub async fn price_history(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> Result<Vec<PriceHistoryRow>, WorkflowError> {
    get_product(conn, id, true).await?;
    Ok(product_price_history::table
        .filter(product_price_history::product_id.eq(id))
        .order(product_price_history::id.asc())
        .select(PriceHistoryRow::as_select())
        .load(conn)
        .await?)
}

mod quotes;
mod seed;
mod terms;

pub use quotes::*;
pub use seed::*;
pub use terms::*;
