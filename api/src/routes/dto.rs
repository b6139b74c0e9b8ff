//! JSON shapes shared by several routes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use tentabo_schema::models::organisations::User;
use tentabo_workflows::identity::organisations::Organisation;
use tentabo_workflows::pagination::Page;
use uuid::Uuid;

/// A page of a list: `{ "items": [...], "next_cursor": string|null }`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct List<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T, U: From<T>> From<Page<T>> for List<U> {
    fn from(p: Page<T>) -> List<U> {
        List {
            items: p.items.into_iter().map(U::from).collect(),
            next_cursor: crate::cursor::seal(p.next_cursor),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrganisationDto {
    pub id: Uuid,
    pub name: String,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Organisation> for OrganisationDto {
    fn from(o: Organisation) -> Self {
        OrganisationDto {
            id: o.id,
            name: o.name,
            is_active: o.is_active,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

/// A user as the API shows it: never the password hash.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserDto {
    pub id: Uuid,
    pub email: String,
    pub full_name: String,
    /// admin | restricted_admin | partner | distributor | fulfiller
    pub role: String,
    pub partner_id: Option<Uuid>,
    pub distributor_id: Option<Uuid>,
    pub auth_provider: String,
    pub is_active: bool,
    /// `en` or `fr`: the language of what Tentabo writes to the user (emails).
    pub language: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<User> for UserDto {
    fn from(u: User) -> Self {
        UserDto {
            id: u.id,
            email: u.email,
            full_name: u.full_name,
            role: u.role,
            partner_id: u.partner_id,
            distributor_id: u.distributor_id,
            auth_provider: u.auth_provider,
            is_active: u.is_active,
            language: u.language,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

/// Common list parameters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Free-text search.
    pub q: Option<String>,
    pub is_active: Option<bool>,
    /// Sort field, `-` prefix for descending.
    #[param(pattern = r"^-?(name|created_at)$")]
    pub sort: Option<String>,
    #[param(min_length = 1, pattern = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$")]
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
pub fn double_option<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

/// Decimal strings in one canonical form: an optional `-`, digits without leading zeros,
/// an optional `.` and digits (`"12000.00"`, `"0.5"`, `"-3"`). A JSON number, `"+5"`,
/// `"1e3"`, `" 5"`, `"5."` or `"007"` is refused, so a value means one thing to
/// every client. Used with `deserialize_with`; answers are written with
/// `rust_decimal::serde::str`.
pub mod money {
    use std::str::FromStr;

    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, de::Error};

    pub const PATTERN: &str = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$";

    pub fn parse(s: &str) -> Option<Decimal> {
        let digits = s.strip_prefix('-').unwrap_or(s);
        let (int, frac) = match digits.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (digits, None),
        };
        let int_ok = int == "0"
            || (!int.is_empty()
                && !int.starts_with('0')
                && int.bytes().all(|b| b.is_ascii_digit()));
        let frac_ok = frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
        if int_ok && frac_ok {
            Decimal::from_str(s).ok()
        } else {
            None
        }
    }

    fn from_text<E: Error>(s: &str) -> Result<Decimal, E> {
        parse(s).ok_or_else(|| {
            E::custom(format!(
                "{s:?} is not a decimal string in canonical form (e.g. \"12000.00\")"
            ))
        })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Decimal, D::Error> {
        from_text(&String::deserialize(de)?)
    }

    /// Absent or `null` → `None`.
    pub fn option<'de, D: Deserializer<'de>>(de: D) -> Result<Option<Decimal>, D::Error> {
        Option::<String>::deserialize(de)?
            .map(|s| from_text(&s))
            .transpose()
    }

    /// Absent → `None` (with `#[serde(default)]`), `null` → `Some(None)`.
    pub fn double_option<'de, D: Deserializer<'de>>(
        de: D,
    ) -> Result<Option<Option<Decimal>>, D::Error> {
        option(de).map(Some)
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn only_the_canonical_form_is_money() {
            for ok in ["0", "12000.00", "0.5", "-3", "10.0001"] {
                assert!(super::parse(ok).is_some(), "{ok}");
            }
            for bad in [
                "+5", "1e3", " 5", "5.", ".5", "007", "1,5", "", "-", "NaN", "0x10",
            ] {
                assert!(super::parse(bad).is_none(), "{bad}");
            }
        }
    }
}

/// A list of objects, refusing the array form serde would otherwise accept for each
/// (`[["…", 12, 5]]` for `[{"product_id": …}]`): what the schema says is what is read.
pub fn objects<'de, D, T>(de: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    use serde::de::Error;
    Vec::<serde_json::Value>::deserialize(de)?
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            if !v.is_object() {
                return Err(D::Error::custom(format!("item {i}: expected an object")));
            }
            T::deserialize(v).map_err(|e| D::Error::custom(format!("item {i}: {e}")))
        })
        .collect()
}

/// [`objects`] for an optional list.
pub fn optional_objects<'de, D, T>(de: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    #[derive(Deserialize)]
    #[serde(transparent)]
    struct Wrap<T: serde::de::DeserializeOwned>(#[serde(deserialize_with = "objects")] Vec<T>);
    Ok(Option::<Wrap<T>>::deserialize(de)?.map(|w| w.0))
}
