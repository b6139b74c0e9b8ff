//! `/api/v1/products`, `/api/v1/durations` and `/api/v1/quotes/preview`.
//! Money travels as exact decimal strings (`"12000.00"`); labels are formatted for the
//! caller's language.

use crate::extract::Path;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tentabo_schema::models::catalogue::{DurationRow, PriceHistoryRow};
use tentabo_workflows::WorkflowError;
use tentabo_workflows::authz::{Action, Object};
use tentabo_workflows::catalogue::{self, BasketLine, NewProduct, Product, ProductPatch};
use tentabo_workflows::error::FieldErrors;
use tentabo_workflows::identity::Name;
use tentabo_workflows::pagination::{self, Cursor};
use tentabo_workflows::pricing::{self, Period, PriceList, PricingMode, Tier};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{AuthUser, Json, Query, RequestMeta};
use crate::i18n::{self, Lang};
use crate::routes::dto::List;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_products, create_product))
        .routes(routes!(get_product, update_product))
        .routes(routes!(price_history))
        .routes(routes!(list_durations, create_duration))
        .routes(routes!(update_duration))
        .routes(routes!(preview_quote))
}

/// A tier of a progressive price list. Covers units `min_quantity + 1 … max_quantity`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierDto {
    #[schema(maximum = 1_000_000_000_000_u64)]
    pub min_quantity: u64,
    /// Empty on the last tier for an open end.
    #[schema(minimum = 1, maximum = 1_000_000_000_000_u64)]
    pub max_quantity: Option<u64>,
    /// Per unit per period, a decimal string (`"12.50"`).
    #[serde(
        serialize_with = "rust_decimal::serde::str::serialize",
        deserialize_with = "super::dto::money::deserialize"
    )]
    #[schema(value_type = String, example = "12.50", pattern = r"^(0|[1-9][0-9]{0,8})(\.[0-9]{1,4})?$")]
    pub price_per_unit: Decimal,
    /// `month` or `year`.
    #[schema(value_type = String, pattern = r"^(month|year)$")]
    pub period: Period,
}

impl From<&Tier> for TierDto {
    fn from(t: &Tier) -> Self {
        TierDto {
            min_quantity: t.min_quantity,
            max_quantity: t.max_quantity,
            price_per_unit: t.price_per_unit,
            period: t.period,
        }
    }
}

fn parse_list(dtos: &[TierDto]) -> Result<PriceList, WorkflowError> {
    pricing::parse_price_list(
        dtos.iter()
            .map(|t| Tier {
                min_quantity: t.min_quantity,
                max_quantity: t.max_quantity,
                price_per_unit: t.price_per_unit,
                period: t.period,
            })
            .collect(),
    )
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProductDto {
    pub id: Uuid,
    pub name: String,
    #[serde(rename = "type")]
    pub product_type: String,
    pub unit: String,
    /// `graduated` (each unit in its own tier) or `volume` (all units at the reached tier).
    #[schema(value_type = String, pattern = r"^(graduated|volume)$")]
    pub pricing_mode: PricingMode,
    pub currency: String,
    pub is_active: bool,
    pub progressive_price_list: Vec<TierDto>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Product> for ProductDto {
    fn from(p: Product) -> Self {
        ProductDto {
            progressive_price_list: p.price_list.tiers().iter().map(TierDto::from).collect(),
            pricing_mode: p.mode,
            id: p.row.id,
            name: p.row.name,
            product_type: p.row.product_type,
            unit: p.row.unit,
            currency: p.row.currency,
            is_active: p.row.is_active,
            created_at: p.row.created_at,
            updated_at: p.row.updated_at,
        }
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ProductListParams {
    #[param(min_length = 1, pattern = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$")]
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// The catalogue: active products for everyone; admins also see inactive ones.
#[utoipa::path(get, path = "/api/v1/products", tag = "catalogue", params(ProductListParams), security(("bearer" = [])),
    responses((status = 200, body = List<ProductDto>)))]
async fn list_products(
    State(s): State<AppState>,
    who: AuthUser,
    Query(p): Query<ProductListParams>,
) -> Result<Json<List<ProductDto>>, ApiError> {
    s.authz.authorize(&who.0, Object::Product, Action::View)?;
    let admin = s.may_manage(&who.0, Object::Product);
    let cursor = p.cursor.as_deref().map(Cursor::decode).transpose()?;
    let limit = pagination::limit(p.limit)?;
    let mut conn = s.conn().await?;
    Ok(Json(
        catalogue::list_products(&mut conn, admin, cursor.as_ref(), limit)
            .await?
            .into(),
    ))
}

/// One product with its price list (404 for inactive ones unless admin).
#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "catalogue", security(("bearer" = [])),
    responses((status = 200, body = ProductDto), (status = 404, body = ErrorBody)))]
async fn get_product(
    State(s): State<AppState>,
    who: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<Json<ProductDto>, ApiError> {
    s.authz.authorize(&who.0, Object::Product, Action::View)?;
    let admin = s.may_manage(&who.0, Object::Product);
    let mut conn = s.conn().await?;
    Ok(Json(
        catalogue::get_product(&mut conn, id, admin).await?.into(),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProduct {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    #[serde(rename = "type")]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub product_type: String,
    /// TB, GB, seat …
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub unit: String,
    #[serde(default)]
    #[schema(value_type = String, pattern = r"^(graduated|volume)$")]
    pub pricing_mode: PricingMode,
    /// ISO 4217 (EUR, USD, GBP, CHF); EUR by default.
    #[schema(pattern = r"^[A-Z]{3}$")]
    #[schema(pattern = r"^(EUR|USD|GBP|CHF)$")]
    pub currency: Option<String>,
    #[serde(deserialize_with = "super::dto::objects")]
    #[schema(min_items = 1)]
    pub progressive_price_list: Vec<TierDto>,
}

fn name_field(field: &str, raw: &str, errors: &mut FieldErrors) -> Option<Name> {
    Name::parse(raw).map_err(|c| errors.add(field, c)).ok()
}

/// Adds a product (admin). The price list is checked tier by tier.
#[utoipa::path(post, path = "/api/v1/products", tag = "catalogue", request_body = CreateProduct, security(("bearer" = [])),
    responses((status = 201, body = ProductDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_product(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Json(b): Json<CreateProduct>,
) -> Result<(StatusCode, Json<ProductDto>), ApiError> {
    s.authz.authorize(&who.0, Object::Product, Action::Manage)?;
    let mut errors = FieldErrors::default();
    let name = name_field("name", &b.name, &mut errors);
    let product_type = name_field("type", &b.product_type, &mut errors);
    let unit = name_field("unit", &b.unit, &mut errors);
    let currency = catalogue::parse_currency(b.currency.as_deref().unwrap_or("EUR"))
        .map_err(|c| errors.add("currency", c))
        .ok();
    let price_list = match parse_list(&b.progressive_price_list) {
        Ok(l) => Some(l),
        Err(WorkflowError::Validation(e)) => {
            errors.0.extend(e.0);
            None
        }
        Err(e) => return Err(e.into()),
    };
    let (Some(name), Some(product_type), Some(unit), Some(currency), Some(price_list)) =
        (name, product_type, unit, currency, price_list)
    else {
        return Err(WorkflowError::Validation(errors).into());
    };
    let new = NewProduct {
        name,
        product_type,
        unit,
        mode: b.pricing_mode,
        currency,
        price_list,
    };
    let mut conn = s.conn().await?;
    let product =
        catalogue::create_product(&mut conn, &new, &meta.audit(Some(who.0.user_id))).await?;
    Ok((StatusCode::CREATED, Json(product.into())))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct UpdateProduct {
    #[schema(nullable = false, min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
    #[serde(rename = "type")]
    #[schema(nullable = false, min_length = 1, max_length = 200, pattern = r"\S")]
    pub product_type: Option<String>,
    #[schema(nullable = false, min_length = 1, max_length = 200, pattern = r"\S")]
    pub unit: Option<String>,
    #[schema(nullable = false)]
    pub is_active: Option<bool>,
    #[schema(nullable = false, value_type = Option<String>, pattern = r"^(graduated|volume)$")]
    pub pricing_mode: Option<PricingMode>,
    /// Replaces the whole price list; the previous one stays in the price history.
    #[serde(default, deserialize_with = "super::dto::optional_objects")]
    #[schema(nullable = false, min_items = 1)]
    pub progressive_price_list: Option<Vec<TierDto>>,
}

/// Updates a product (admin). Orders already placed keep their prices.
#[utoipa::path(patch, path = "/api/v1/products/{id}", tag = "catalogue", request_body = UpdateProduct, security(("bearer" = [])),
    responses((status = 200, body = ProductDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_product(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path(id): Path<Uuid>,
    Json(b): Json<UpdateProduct>,
) -> Result<Json<ProductDto>, ApiError> {
    s.authz.authorize(&who.0, Object::Product, Action::Manage)?;
    let mut errors = FieldErrors::default();
    let patch = ProductPatch {
        name: b
            .name
            .as_deref()
            .and_then(|n| name_field("name", n, &mut errors)),
        product_type: b
            .product_type
            .as_deref()
            .and_then(|n| name_field("type", n, &mut errors)),
        unit: b
            .unit
            .as_deref()
            .and_then(|n| name_field("unit", n, &mut errors)),
        is_active: b.is_active,
        mode: b.pricing_mode,
        price_list: match b
            .progressive_price_list
            .as_deref()
            .map(parse_list)
            .transpose()
        {
            Ok(l) => l,
            Err(WorkflowError::Validation(e)) => {
                errors.0.extend(e.0);
                None
            }
            Err(e) => return Err(e.into()),
        },
    };
    errors.into_result()?;
    if patch.name.is_none()
        && patch.product_type.is_none()
        && patch.unit.is_none()
        && patch.is_active.is_none()
        && patch.mode.is_none()
        && patch.price_list.is_none()
    {
        return Err(FieldErrors::single("body", "empty_patch").into());
    }
    let mut conn = s.conn().await?;
    Ok(Json(
        catalogue::update_product(&mut conn, id, &patch, &meta.audit(Some(who.0.user_id)))
            .await?
            .into(),
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PriceHistoryDto {
    pub changed_at: DateTime<Utc>,
    pub changed_by: Option<Uuid>,
    pub pricing_mode: String,
    #[schema(value_type = Object)]
    pub price_list: serde_json::Value,
}

impl From<PriceHistoryRow> for PriceHistoryDto {
    fn from(r: PriceHistoryRow) -> Self {
        PriceHistoryDto {
            changed_at: r.changed_at,
            changed_by: r.changed_by,
            pricing_mode: r.pricing_mode,
            price_list: r.price_list,
        }
    }
}

/// Every price list the product has had, oldest first (admin).
#[utoipa::path(get, path = "/api/v1/products/{id}/price-history", tag = "catalogue", security(("bearer" = [])),
    responses((status = 200, body = [PriceHistoryDto]), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn price_history(
    State(s): State<AppState>,
    who: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<Json<Vec<PriceHistoryDto>>, ApiError> {
    s.authz.authorize(&who.0, Object::Product, Action::Manage)?;
    let mut conn = s.conn().await?;
    Ok(Json(
        catalogue::price_history(&mut conn, id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DurationDto {
    pub id: Uuid,
    pub months: i32,
    #[schema(value_type = String, example = "5.00")]
    pub discount_percentage: Decimal,
    pub is_active: bool,
}

impl From<DurationRow> for DurationDto {
    fn from(d: DurationRow) -> Self {
        DurationDto {
            id: d.id,
            months: d.months,
            discount_percentage: d.discount_percentage,
            is_active: d.is_active,
        }
    }
}

/// Subscription durations and their discounts (admins also see inactive ones).
#[utoipa::path(get, path = "/api/v1/durations", tag = "catalogue", security(("bearer" = [])), responses((status = 200, body = [DurationDto])))]
async fn list_durations(
    State(s): State<AppState>,
    who: AuthUser,
) -> Result<Json<Vec<DurationDto>>, ApiError> {
    s.authz.authorize(&who.0, Object::Product, Action::View)?;
    let admin = s.may_manage(&who.0, Object::Product);
    let mut conn = s.conn().await?;
    Ok(Json(
        catalogue::list_durations(&mut conn, admin)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDuration {
    #[schema(minimum = 1, maximum = 120)]
    pub months: i64,
    #[serde(deserialize_with = "super::dto::money::deserialize")]
    #[schema(value_type = String, example = "5", pattern = r"^(100(\.0{1,2})?|[1-9]?[0-9](\.[0-9]{1,2})?)$")]
    pub discount_percentage: Decimal,
}

/// Adds a duration (admin): 1–120 months, discount 0–100 %.
#[utoipa::path(post, path = "/api/v1/durations", tag = "catalogue", request_body = CreateDuration, security(("bearer" = [])),
    responses((status = 201, body = DurationDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_duration(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Json(b): Json<CreateDuration>,
) -> Result<(StatusCode, Json<DurationDto>), ApiError> {
    s.authz.authorize(&who.0, Object::Product, Action::Manage)?;
    let terms = pricing::parse_duration(b.months, b.discount_percentage)?;
    let mut conn = s.conn().await?;
    Ok((
        StatusCode::CREATED,
        Json(
            catalogue::create_duration(&mut conn, terms, &meta.audit(Some(who.0.user_id)))
                .await?
                .into(),
        ),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct UpdateDuration {
    #[serde(default, deserialize_with = "super::dto::money::option")]
    #[schema(nullable = false, value_type = Option<String>, pattern = r"^(100(\.0{1,2})?|[1-9]?[0-9](\.[0-9]{1,2})?)$")]
    pub discount_percentage: Option<Decimal>,
    #[schema(nullable = false)]
    pub is_active: Option<bool>,
}

/// Changes a duration's discount or retires it (admin).
#[utoipa::path(patch, path = "/api/v1/durations/{id}", tag = "catalogue", request_body = UpdateDuration, security(("bearer" = [])),
    responses((status = 200, body = DurationDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_duration(
    State(s): State<AppState>,
    who: AuthUser,
    meta: RequestMeta,
    Path(id): Path<Uuid>,
    Json(b): Json<UpdateDuration>,
) -> Result<Json<DurationDto>, ApiError> {
    s.authz.authorize(&who.0, Object::Product, Action::Manage)?;
    if let Some(d) = b.discount_percentage {
        pricing::parse_duration(1, d)?;
    }
    let mut conn = s.conn().await?;
    Ok(Json(
        catalogue::update_duration(
            &mut conn,
            id,
            b.discount_percentage,
            b.is_active,
            &meta.audit(Some(who.0.user_id)),
        )
        .await?
        .into(),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BasketLineDto {
    pub product_id: Uuid,
    #[schema(minimum = 1, maximum = 120)]
    pub duration_months: i64,
    /// At most `TENTABO_MAX_LINE_QUANTITY` (1,000,000 unless the installation says).
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub quantity: i64,
    /// How the recurring amount is expressed: `month` (default) or `year`.
    #[schema(value_type = Option<String>, pattern = r"^(month|year)$")]
    pub billing_period: Option<Period>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteRequest {
    #[serde(deserialize_with = "super::dto::objects")]
    #[schema(min_items = 1, max_items = 500)]
    pub lines: Vec<BasketLineDto>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TierChargeDto {
    pub min_quantity: u64,
    pub max_quantity: Option<u64>,
    pub units: u64,
    #[schema(value_type = String)]
    pub price_per_unit: Decimal,
    #[schema(value_type = String, pattern = r"^(month|year)$")]
    pub period: Period,
    /// units × price over the whole duration, exact.
    #[schema(value_type = String)]
    pub amount: Decimal,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QuoteLineDto {
    pub product_id: Uuid,
    pub product_name: String,
    pub unit: String,
    pub quantity: u64,
    pub duration_months: u32,
    #[schema(value_type = String, pattern = r"^(month|year)$")]
    pub billing_period: Period,
    #[schema(value_type = String, pattern = r"^(graduated|volume)$")]
    pub pricing_mode: PricingMode,
    pub tiers: Vec<TierChargeDto>,
    #[schema(value_type = String)]
    pub recurring_amount: Decimal,
    #[schema(value_type = String)]
    pub subtotal: Decimal,
    #[schema(value_type = String)]
    pub discount_percentage: Decimal,
    #[schema(value_type = String)]
    pub discount: Decimal,
    #[schema(value_type = String)]
    pub total: Decimal,
    /// `total` formatted for the caller's language (`€1,234.50` / `1 234,50 €`).
    pub total_label: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QuoteDto {
    pub currency: String,
    pub lines: Vec<QuoteLineDto>,
    #[schema(value_type = String)]
    pub subtotal: Decimal,
    #[schema(value_type = String)]
    pub discount: Decimal,
    #[schema(value_type = String)]
    pub total: Decimal,
    pub total_label: String,
}

/// Prices a basket with the current catalogue without creating anything.
#[utoipa::path(post, path = "/api/v1/quotes/preview", tag = "catalogue", request_body = QuoteRequest, security(("bearer" = [])),
    responses((status = 200, body = QuoteDto), (status = 422, body = ErrorBody)))]
async fn preview_quote(
    State(s): State<AppState>,
    who: AuthUser,
    headers: HeaderMap,
    Json(b): Json<QuoteRequest>,
) -> Result<Json<QuoteDto>, ApiError> {
    s.authz.authorize(&who.0, Object::Product, Action::View)?;
    let french = i18n::negotiate(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    ) == Lang::Fr;
    let basket: Vec<BasketLine> = b
        .lines
        .iter()
        .map(|l| BasketLine {
            product_id: l.product_id,
            duration_months: l.duration_months,
            quantity: l.quantity,
            billing_period: l.billing_period.unwrap_or(Period::Month),
        })
        .collect();
    let mut conn = s.conn().await?;
    let q = catalogue::quote(&mut conn, &basket).await?;
    let label = |d: Decimal| pricing::format_money(d, &q.currency, french);
    Ok(Json(QuoteDto {
        lines: q
            .lines
            .iter()
            .map(|l| QuoteLineDto {
                product_id: l.product_id,
                product_name: l.product_name.clone(),
                unit: l.unit.clone(),
                quantity: l.quote.quantity,
                duration_months: l.quote.months,
                billing_period: l.quote.billing_period,
                pricing_mode: l.quote.mode,
                tiers: l
                    .quote
                    .tiers
                    .iter()
                    .map(|t| TierChargeDto {
                        min_quantity: t.min_quantity,
                        max_quantity: t.max_quantity,
                        units: t.units,
                        price_per_unit: t.price_per_unit,
                        period: t.period,
                        amount: t.amount,
                    })
                    .collect(),
                recurring_amount: l.quote.recurring_amount,
                subtotal: l.quote.subtotal,
                discount_percentage: l.quote.discount_percentage,
                discount: l.quote.discount,
                total: l.quote.total,
                total_label: label(l.quote.total),
            })
            .collect(),
        subtotal: q.totals.subtotal,
        discount: q.totals.discount,
        total: q.totals.total,
        total_label: label(q.totals.total),
        currency: q.currency,
    }))
}
