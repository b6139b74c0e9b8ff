use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::schema::{distributor_partners, distributors, partners, users};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = distributors, check_for_backend(diesel::pg::Pg))]
pub struct Distributor {
    pub id: Uuid,
    pub name: String,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = partners, check_for_backend(diesel::pg::Pg))]
pub struct Partner {
    pub id: Uuid,
    pub name: String,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = distributor_partners, check_for_backend(diesel::pg::Pg))]
pub struct DistributorPartner {
    pub distributor_id: Uuid,
    pub partner_id: Uuid,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub full_name: String,
    pub password_hash: Option<String>,
    pub role: String,
    pub distributor_id: Option<Uuid>,
    pub partner_id: Option<Uuid>,
    pub auth_provider: String,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `en` or `fr`: what Tentabo writes to the user (notification emails).
    pub language: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser {
    pub id: Uuid,
    pub email: String,
    pub full_name: String,
    pub password_hash: Option<String>,
    pub role: String,
    pub distributor_id: Option<Uuid>,
    pub partner_id: Option<Uuid>,
    pub auth_provider: String,
}
