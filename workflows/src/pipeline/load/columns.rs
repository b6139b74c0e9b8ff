//! Each entity's canonical columns, how a field is written to its column (its SQL
//! type and cast), and the row as JSON.

use super::*;

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
pub(super) enum Kind {
    Text,
    Bool,
    Decimal,
    Date,
    Time,
}

impl Kind {
    pub(super) fn of(field: &str) -> Kind {
        match field {
            "is_customer" | "is_supplier" | "active" => Kind::Bool,
            "value" | "probability" | "amount_untaxed" | "amount_tax" | "amount_total"
            | "amount_due" | "list_price" | "cost_price" => Kind::Decimal,
            "expected_close_date" | "issue_date" | "due_date" => Kind::Date,
            "created_at" | "updated_at" | "order_date" | "paid_at" | "closed_at" => Kind::Time,
            _ => Kind::Text,
        }
    }

    pub(super) fn sql(self) -> &'static str {
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
pub(super) enum Column {
    Texts(Vec<Option<String>>),
    Bools(Vec<bool>),
    Decimals(Vec<Option<rust_decimal::Decimal>>),
    Dates(Vec<Option<chrono::NaiveDate>>),
    Times(Vec<Option<chrono::DateTime<chrono::Utc>>>),
}

impl Column {
    /// The column's values, moved out of the records' fields.
    pub(super) fn take(field: &str, values: impl Iterator<Item = Field>) -> Column {
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

    pub(super) fn select(&self, keep: &[usize]) -> Column {
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
    pub(super) fn json(&self, i: usize) -> serde_json::Value {
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

    pub(super) fn into_bind(self) -> Bind {
        match self {
            Column::Texts(v) => Bind::OptTexts(v),
            Column::Bools(v) => Bind::Bools(v),
            Column::Decimals(v) => Bind::OptDecimals(v),
            Column::Dates(v) => Bind::OptDates(v),
            Column::Times(v) => Bind::OptTimes(v),
        }
    }
}
