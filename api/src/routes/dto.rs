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
    pub sort: Option<String>,
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
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
