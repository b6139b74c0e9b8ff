use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::schema::{durations, product_price_history, product_price_tiers, products};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = products, check_for_backend(diesel::pg::Pg))]
pub struct ProductRow {
    pub id: Uuid,
    pub name: String,
    pub product_type: String,
    pub unit: String,
    pub pricing_mode: String,
    pub currency: String,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = product_price_tiers, check_for_backend(diesel::pg::Pg))]
pub struct PriceTierRow {
    pub product_id: Uuid,
    pub position: i32,
    pub min_quantity: i64,
    pub max_quantity: Option<i64>,
    pub price_per_unit: Decimal,
    pub period: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = durations, check_for_backend(diesel::pg::Pg))]
pub struct DurationRow {
    pub id: Uuid,
    pub months: i32,
    pub discount_percentage: Decimal,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = product_price_history, check_for_backend(diesel::pg::Pg))]
pub struct PriceHistoryRow {
    pub id: i64,
    pub product_id: Uuid,
    pub changed_at: DateTime<Utc>,
    pub changed_by: Option<Uuid>,
    pub pricing_mode: String,
    pub price_list: serde_json::Value,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = product_price_history)]
pub struct NewPriceHistory {
    pub product_id: Uuid,
    pub changed_by: Option<Uuid>,
    pub pricing_mode: String,
    pub price_list: serde_json::Value,
}
