//! Demo sales data for `seed-demo`: a few leads in different organisations and one
//! priced order, created through the same functions as the API (so they are valid and
//! audited). Runs once: nothing is added when leads already exist.

use diesel::OptionalExtension;
use diesel::sql_types::{BigInt, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::Caller;
use super::leads::{self, NewLead};
use super::orders::{self, NewOrder};
use crate::WorkflowError;
use crate::audit::AuditContext;
use crate::authz::Authorizer;
use crate::catalogue::BasketLine;
use crate::identity::Principal;
use crate::pricing::Period;

#[derive(diesel::QueryableByName)]
struct UserRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    role: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    partner_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    distributor_id: Option<Uuid>,
}

async fn caller(
    conn: &mut AsyncPgConnection,
    authz: &Authorizer,
    email: &str,
) -> Result<Caller, WorkflowError> {
    let u: UserRow = diesel::sql_query(
        "SELECT id, role, partner_id, distributor_id FROM users WHERE email = $1",
    )
    .bind::<Text, _>(email)
    .get_result(conn)
    .await
    .map_err(super::not_found)?;
    let who = Principal {
        user_id: u.id,
        session_id: Uuid::nil(),
        email: email.to_owned(),
        role: u
            .role
            .parse()
            .map_err(|()| WorkflowError::Internal(format!("bad role {}", u.role)))?,
        partner_id: u.partner_id,
        distributor_id: u.distributor_id,
    };
    Caller::load(conn, authz, &who).await
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Returns how many leads and orders were created (0 when there were leads already).
pub async fn seed_demo(conn: &mut AsyncPgConnection) -> Result<usize, WorkflowError> {
    let existing: Count = diesel::sql_query("SELECT count(*) AS n FROM leads")
        .get_result(conn)
        .await?;
    if existing.n > 0 {
        return Ok(0);
    }
    let authz = Authorizer::load().await?;
    let ctx = AuditContext {
        request_id: Some("seed-demo".into()),
        ..Default::default()
    };
    let leads_to_make = [
        (
            "am1@salescommand.com",
            "Backup for 40 branch offices",
            "Boulangeries Martin",
            "18000.00",
            40,
        ),
        (
            "am2@salescommand.com",
            "Collaboration suite roll-out",
            "Transports Petit",
            "6400.00",
            25,
        ),
        (
            "distributor@salescommand.com",
            "Regional archive storage",
            "Mairie de Lyon",
            "32000.00",
            60,
        ),
    ];
    let mut created = 0;
    for (email, title, organization, value, probability) in leads_to_make {
        let c = caller(conn, &authz, email).await?;
        leads::create(
            conn,
            &c,
            &AuditContext {
                actor_id: Some(c.who.user_id),
                ..ctx.clone()
            },
            NewLead {
                title: title.into(),
                organization: organization.into(),
                contact_name: "Camille Durand".into(),
                contact_email: "camille.durand@example.com".into(),
                value: value.parse::<Decimal>().ok(),
                probability: Some(probability),
                source: Some("demo".into()),
                ..Default::default()
            },
        )
        .await?;
        created += 1;
    }
    #[derive(diesel::QueryableByName)]
    struct Product {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    let product: Option<Product> =
        diesel::sql_query("SELECT id FROM products WHERE name = 'Backup Storage'")
            .get_result(conn)
            .await
            .optional()?;
    if let Some(p) = product {
        let c = caller(conn, &authz, "am1@salescommand.com").await?;
        orders::create(
            conn,
            &c,
            &AuditContext {
                actor_id: Some(c.who.user_id),
                ..ctx.clone()
            },
            NewOrder {
                lines: vec![BasketLine {
                    product_id: p.id,
                    duration_months: 24,
                    quantity: 15,
                    billing_period: Period::Month,
                }],
                ..Default::default()
            },
        )
        .await?;
        created += 1;
    }
    Ok(created)
}
